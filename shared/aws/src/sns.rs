//! The Notifier port on SNS: one Publish per message to a topic ARN, with the subject SNS takes (one line,
//! at most 100 characters: [`sluice_core::port::subject_line`]) and the body as it is.

use aws_sdk_sns::Client;

use sluice_core::port::{
    Message, Notifier, NotifyError, check_message, check_topic_arn, subject_line,
};

/// Messages published to SNS topics.
///
/// A FIFO topic (`….fifo`) needs a message group id, which this notifier does not send yet: SNS refuses
/// such a publish, and the error says so.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
}

impl SnsNotifier {
    /// The notifier over the process's SDK configuration.
    pub fn from_config(config: &crate::config::AwsConfig) -> Self {
        Self::new(aws_sdk_sns::Client::new(&config.sdk))
    }

    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, topic: &str, message: &Message) -> Result<String, NotifyError> {
        check_topic_arn("topic", topic)?;
        check_message(message)?;
        let subject = subject_line(&message.subject);
        let published = self
            .client
            .publish()
            .topic_arn(topic)
            .set_subject((!subject.is_empty()).then_some(subject))
            .message(&message.body)
            .send()
            .await
            .map_err(|e| match crate::error::code(&e) {
                Some("NotFound") => NotifyError::TopicNotFound {
                    topic: topic.to_string(),
                },
                _ => NotifyError::Backend {
                    topic: topic.to_string(),
                    message: format!("Publish failed: {}", crate::error::describe("SNS", &e)),
                    source: Some(Box::new(e)),
                },
            })?;
        published.message_id.ok_or_else(|| NotifyError::Backend {
            topic: topic.to_string(),
            message: "Publish answered without a message id".to_string(),
            source: None,
        })
    }
}
