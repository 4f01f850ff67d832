//! The notification a manual approval sends when it starts waiting, in CodePipeline's JSON shape.

use serde_json::json;

use crate::pipeline::declaration::Configuration;
use crate::port::{Message, NotifyError, check_topic_arn, subject_line};
use crate::time::Timestamp;

/// What an approval-needed message is built from: the waiting attempt and where the runtime is.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalNeeded<'a> {
    pub pipeline: &'a str,
    pub stage: &'a str,
    pub action: &'a str,
    /// The approval token (the attempt's action execution id).
    pub token: &'a str,
    /// When the approval times out (its start plus the action's timeout).
    pub expires: Timestamp,
    /// The action's resolved configuration: `NotificationArn`, `CustomData`, `ExternalEntityLink`.
    pub configuration: &'a Configuration,
    /// The region reported in the message (`AWS_REGION` on AWS).
    pub region: &'a str,
    /// The pipeline's console page (`consoleLink`).
    pub console_link: &'a str,
    /// The attempt's approval page (`approvalReviewLink`), signed for it (`approval::link`).
    pub review_link: &'a str,
}

/// The message CodePipeline publishes to the action's `NotificationArn` when a manual approval starts
/// waiting: the topic and the message, or `None` when the action names no topic. The body is
/// CodePipeline's JSON (userguide `approvals-json-format`): `{region, consoleLink, approval:
/// {pipelineName, stageName, actionName, token, expires, externalEntityLink, approvalReviewLink,
/// customData}}`, with `expires` to the minute in UTC ("2016-07-07T20:22Z") and null for a missing
/// `ExternalEntityLink` or `CustomData`.
pub fn approval_needed(
    needed: &ApprovalNeeded<'_>,
) -> Result<Option<(String, Message)>, NotifyError> {
    let Some(topic) = needed
        .configuration
        .get("NotificationArn")
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    check_topic_arn("NotificationArn", topic)?;
    let optional = |key: &str| {
        needed
            .configuration
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let body = json!({
        "region": needed.region,
        "consoleLink": needed.console_link,
        "approval": {
            "pipelineName": needed.pipeline,
            "stageName": needed.stage,
            "actionName": needed.action,
            "token": needed.token,
            "expires": minute_utc(needed.expires),
            "externalEntityLink": optional("ExternalEntityLink"),
            "approvalReviewLink": needed.review_link,
            "customData": optional("CustomData"),
        }
    });
    Ok(Some((
        topic.clone(),
        Message {
            subject: subject_line(&format!(
                "APPROVAL NEEDED: AWS CodePipeline {} for action {}",
                needed.pipeline, needed.action
            )),
            body: body.to_string(),
        },
    )))
}

/// `2016-07-07T20:22Z`: CodePipeline's `expires`, to the minute in UTC.
fn minute_utc(at: Timestamp) -> String {
    let seconds = at.epoch_millis().div_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        // Beyond year 9999: no approval waits that long; say so rather than invent a date.
        Err(_) => "never".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:us-east-2:123456789012:MyFirstPipeline-us-east-2-approval";

    fn configuration(pairs: &[(&str, &str)]) -> Configuration {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn needed(configuration: &Configuration) -> ApprovalNeeded<'_> {
        ApprovalNeeded {
            pipeline: "MyFirstPipeline",
            stage: "MyApprovalStage",
            action: "MyApprovalAction",
            token: "1a2b3c4d-573f-4ea7-a67e-000000000000",
            // 2016-07-07T20:22:41.5Z
            expires: Timestamp::from_epoch_millis(1_467_922_961_500),
            configuration,
            region: "us-east-2",
            console_link: "https://sluice.example.com/view/MyFirstPipeline",
            review_link: "https://sluice.example.com/view/MyFirstPipeline/MyApprovalStage/MyApprovalAction/approve/1a2b3c4d-573f-4ea7-a67e-000000000000",
        }
    }

    #[test]
    fn the_approval_message_has_codepipelines_json_shape() {
        let configuration = configuration(&[
            ("NotificationArn", TOPIC),
            (
                "CustomData",
                "Review the latest changes and approve or reject within seven days.",
            ),
            ("ExternalEntityLink", "http://example.com"),
        ]);
        let (topic, message) = approval_needed(&needed(&configuration)).unwrap().unwrap();
        assert_eq!(topic, TOPIC);
        assert_eq!(
            message.subject,
            "APPROVAL NEEDED: AWS CodePipeline MyFirstPipeline for action MyApprovalAction"
        );
        let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(
            body,
            json!({
                "region": "us-east-2",
                "consoleLink": "https://sluice.example.com/view/MyFirstPipeline",
                "approval": {
                    "pipelineName": "MyFirstPipeline",
                    "stageName": "MyApprovalStage",
                    "actionName": "MyApprovalAction",
                    "token": "1a2b3c4d-573f-4ea7-a67e-000000000000",
                    "expires": "2016-07-07T20:22Z",
                    "externalEntityLink": "http://example.com",
                    "approvalReviewLink": "https://sluice.example.com/view/MyFirstPipeline/MyApprovalStage/MyApprovalAction/approve/1a2b3c4d-573f-4ea7-a67e-000000000000",
                    "customData": "Review the latest changes and approve or reject within seven days."
                }
            })
        );
    }

    #[test]
    fn missing_custom_data_and_link_are_null_and_no_topic_means_no_message() {
        let with_topic = configuration(&[("NotificationArn", TOPIC)]);
        let (_, message) = approval_needed(&needed(&with_topic)).unwrap().unwrap();
        let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(body["approval"]["customData"], serde_json::Value::Null);
        assert_eq!(
            body["approval"]["externalEntityLink"],
            serde_json::Value::Null
        );
        let without = configuration(&[("CustomData", "look")]);
        assert!(approval_needed(&needed(&without)).unwrap().is_none());
        let empty = configuration(&[("NotificationArn", "")]);
        assert!(approval_needed(&needed(&empty)).unwrap().is_none());
    }

    #[test]
    fn a_notification_arn_that_is_not_an_sns_topic_arn_is_refused_by_name() {
        for bad in [
            "my-topic",
            "arn:aws:sqs:us-east-1:123456789012:queue",
            "arn:aws:sns:us-east-1:12345:topic",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:bad name",
            "arn:aws:sns::123456789012:topic",
        ] {
            let configuration = configuration(&[("NotificationArn", bad)]);
            let error = approval_needed(&needed(&configuration)).unwrap_err();
            assert!(
                matches!(&error, NotifyError::InvalidTopic { field: "NotificationArn", topic, .. } if topic == bad),
                "{bad}: {error}"
            );
            assert!(error.to_string().starts_with("NotificationArn "), "{error}");
        }
        for good in [
            TOPIC,
            "arn:aws-cn:sns:cn-north-1:123456789012:t_1",
            "arn:aws:sns:us-east-1:123456789012:orders.fifo",
        ] {
            check_topic_arn("topic", good).unwrap();
        }
    }
}
