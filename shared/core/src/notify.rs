//! The Notifier port: one message (a subject and a body) published to a topic — an SNS topic ARN on AWS,
//! any name locally — and the message CodePipeline publishes when a manual approval starts waiting.
//!
//! The rules SNS puts on a message (a subject of at most 100 characters on one line, a body of 1 byte to
//! 256 KiB) are checked here, once, by [`check_message`] and [`subject_line`], so every adapter refuses and
//! shortens the same way and the contract suite ([`crate::contract::notifier_contract`]) holds them all to it.

use std::future::Future;

use serde_json::json;

use crate::pipeline::declaration::Configuration;
use crate::time::Timestamp;

/// SNS's longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// SNS's largest message body: 256 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// SNS's longest topic name.
const MAX_TOPIC_NAME: usize = 256;

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One line for an email's subject; adapters send [`subject_line`] of it, and none when that is empty.
    pub subject: String,
    /// The text subscribers get (JSON for an approval).
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The topic is not one this adapter can publish to (named by `field`: `topic`, or `NotificationArn`
    /// in an approval action's configuration).
    #[error("{field} {topic:?} is not valid: {rule}")]
    InvalidTopic {
        field: &'static str,
        topic: String,
        rule: String,
    },
    /// The topic does not exist (SNS's NotFound).
    #[error("the topic {topic} does not exist")]
    TopicNotFound { topic: String },
    /// The message breaks one of SNS's rules; nothing was published.
    #[error("the message's {field} is not valid: {rule}")]
    InvalidMessage { field: &'static str, rule: String },
    /// The notifier itself failed.
    #[error("publishing to {topic} failed: {message}")]
    Backend {
        topic: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Publishes messages to topics: SNS on AWS, a log file locally.
pub trait Notifier: Send + Sync {
    /// Publishes `message` to `topic` and returns its message id. A message [`check_message`] refuses is
    /// [`NotifyError::InvalidMessage`], and nothing is published.
    fn publish(
        &self,
        topic: &str,
        message: &Message,
    ) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// No notifier: a runtime that sends no notifications yet. It has no values, so a
/// [`crate::approval::ManualApproval`] built without a notifier can never publish.
#[derive(Debug, Clone, Copy)]
pub enum NoNotifier {}

impl Notifier for NoNotifier {
    async fn publish(&self, _topic: &str, _message: &Message) -> Result<String, NotifyError> {
        match *self {}
    }
}

/// The subject as SNS takes it: one line (line breaks and other control characters become spaces, runs
/// of spaces one), at most [`MAX_SUBJECT_CHARS`] characters. A longer one is cut at a word boundary where
/// one is near, and ends with "...", so a reader sees it was cut.
pub fn subject_line(subject: &str) -> String {
    let mut line = String::with_capacity(subject.len());
    for c in subject.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (line.is_empty() || line.ends_with(' ')) {
            continue;
        }
        line.push(c);
    }
    let line = line.trim_end();
    if line.chars().count() <= MAX_SUBJECT_CHARS {
        return line.to_string();
    }
    const ELLIPSIS: &str = "...";
    let room = MAX_SUBJECT_CHARS - ELLIPSIS.len();
    let cut: String = line.chars().take(room).collect();
    // Prefer ending at a space in the last fifth, rather than mid-word.
    let kept = match cut.rfind(' ') {
        Some(space) if cut[..space].chars().count() >= room * 4 / 5 => cut[..space].trim_end(),
        _ => cut.as_str(),
    };
    format!("{kept}{ELLIPSIS}")
}

/// SNS's rules for a message: a body of 1 to [`MAX_BODY_BYTES`] bytes. (The subject is shortened by
/// [`subject_line`], never refused.)
pub fn check_message(message: &Message) -> Result<(), NotifyError> {
    if message.body.is_empty() {
        return Err(NotifyError::InvalidMessage {
            field: "body",
            rule: "it must not be empty".to_string(),
        });
    }
    if message.body.len() > MAX_BODY_BYTES {
        return Err(NotifyError::InvalidMessage {
            field: "body",
            rule: format!(
                "it is {} bytes; SNS takes at most {MAX_BODY_BYTES} (256 KiB)",
                message.body.len()
            ),
        });
    }
    Ok(())
}

/// Checks that `topic` is an SNS topic ARN, `arn:<partition>:sns:<region>:<12-digit account>:<name>`
/// with a name of 1 to 256 letters, digits, hyphens and underscores (and `.fifo` at the end of a FIFO
/// topic). `field` names where the ARN came from in the error.
pub fn check_topic_arn(field: &'static str, topic: &str) -> Result<(), NotifyError> {
    let invalid = |rule: &str| NotifyError::InvalidTopic {
        field,
        topic: topic.to_string(),
        rule: rule.to_string(),
    };
    let parts: Vec<&str> = topic.splitn(6, ':').collect();
    let [arn, partition, service, region, account, name] = parts.as_slice() else {
        return Err(invalid(
            "an SNS topic ARN has the form arn:aws:sns:<region>:<account>:<topic name>",
        ));
    };
    if *arn != "arn" || *service != "sns" {
        return Err(invalid(
            "an SNS topic ARN has the form arn:aws:sns:<region>:<account>:<topic name>",
        ));
    }
    if partition.is_empty()
        || !partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
    {
        return Err(invalid("the partition must be aws, aws-cn, aws-us-gov, …"));
    }
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(
            "the region must be a region name such as us-east-1",
        ));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("the account must be 12 digits"));
    }
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if base.is_empty()
        || name.len() > MAX_TOPIC_NAME
        || !base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "the topic name must be 1 to 256 letters, digits, hyphens and underscores (and .fifo for a FIFO topic)",
        ));
    }
    Ok(())
}

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
    /// Where the console and approval pages are: links are `<base>/view/<pipeline>` and
    /// `<base>/view/<pipeline>/<stage>/<action>/approve/<token>`.
    pub review_link_base: &'a str,
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
    let base = needed.review_link_base.trim_end_matches('/');
    let console = format!("{base}/view/{}", path_segment(needed.pipeline));
    let review = format!(
        "{console}/{}/{}/approve/{}",
        path_segment(needed.stage),
        path_segment(needed.action),
        path_segment(needed.token)
    );
    let optional = |key: &str| {
        needed
            .configuration
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let body = json!({
        "region": needed.region,
        "consoleLink": console,
        "approval": {
            "pipelineName": needed.pipeline,
            "stageName": needed.stage,
            "actionName": needed.action,
            "token": needed.token,
            "expires": minute_utc(needed.expires),
            "externalEntityLink": optional("ExternalEntityLink"),
            "approvalReviewLink": review,
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

/// A name as one URL path segment: unreserved characters as they are, anything else percent-encoded
/// (pipeline, stage and action names allow only `[A-Za-z0-9.@_-]`, so this changes only `@`).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
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
            review_link_base: "https://sluice.example.com/",
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

    #[test]
    fn subjects_become_one_line_of_at_most_100_characters() {
        assert_eq!(subject_line("  Build\r\n  failed\t "), "Build failed");
        let long = format!(
            "APPROVAL NEEDED: AWS CodePipeline {} for action Approve",
            "a-very-long-pipeline-name-".repeat(4)
        );
        let line = subject_line(&long);
        assert_eq!(line.chars().count(), MAX_SUBJECT_CHARS, "{line}");
        assert!(line.ends_with("..."), "{line}");
        assert!(long.starts_with(line.trim_end_matches("...")));
        let words = format!("{} tail", "word ".repeat(30));
        let cut = subject_line(&words);
        assert!(cut.chars().count() <= MAX_SUBJECT_CHARS);
        assert!(cut.ends_with("word..."), "cut at a word boundary: {cut}");
        let accents = "é".repeat(150);
        let cut = subject_line(&accents);
        assert_eq!(
            cut.chars().count(),
            MAX_SUBJECT_CHARS,
            "characters, not bytes"
        );
        assert_eq!(subject_line(&"x".repeat(100)), "x".repeat(100));
    }

    #[test]
    fn bodies_must_have_1_byte_to_256_kib() {
        let message = |body: String| Message {
            subject: "s".to_string(),
            body,
        };
        assert!(matches!(
            check_message(&message(String::new())),
            Err(NotifyError::InvalidMessage { field: "body", .. })
        ));
        check_message(&message("x".repeat(MAX_BODY_BYTES))).unwrap();
        assert!(matches!(
            check_message(&message("x".repeat(MAX_BODY_BYTES + 1))),
            Err(NotifyError::InvalidMessage { field: "body", .. })
        ));
    }
}
