//! The notifier: sends a message to an SNS topic (SNS on AWS, a file or a mail server locally), and the
//! rules every adapter checks a message and a topic against.

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

#[cfg(test)]
mod tests {
    use super::*;

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
