//! The Notifier port on one machine: every message is one JSON line appended to
//! `<data_dir>/notifications.jsonl` (`{"messageId","topic","subject","body"}`), which a user follows with
//! `tail -f` and tools read line by line. A topic is any name; one that looks like an ARN (`arn:…`) must be
//! an SNS topic ARN, as on AWS, so a pipeline that notifies here notifies there.
//!
//! The approval token is written as part of an approval's message: it is what a reviewer approves with,
//! CodePipeline puts it in the SNS message too, and it decides nothing without credentials for
//! PutApprovalResult. The file is created private to its owner (0600) all the same.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sluice_core::port::{
    Ids, Message, Notifier, NotifyError, check_message, check_topic_arn, subject_line,
};
use sluice_core::system::RandomIds;

/// The file's name in the data directory.
pub const NOTIFICATIONS_FILE: &str = "notifications.jsonl";

/// One line of the notifications file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedMessage {
    pub message_id: String,
    pub topic: String,
    /// As [`subject_line`] made it; empty when there was none.
    pub subject: String,
    pub body: String,
}

/// Notifications as lines of a file in the data directory.
#[derive(Debug, Clone)]
pub struct LogNotifier {
    path: PathBuf,
}

impl LogNotifier {
    /// Writes to `<data_dir>/notifications.jsonl`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(NOTIFICATIONS_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every message published so far, oldest first (none when the file does not exist yet).
    pub fn messages(&self) -> io::Result<Vec<LoggedMessage>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        text.lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: a line is not a message: {e}", self.path.display()),
                    )
                })
            })
            .collect()
    }
}

impl Notifier for LogNotifier {
    async fn publish(&self, topic: &str, message: &Message) -> Result<String, NotifyError> {
        if topic.is_empty() {
            return Err(NotifyError::InvalidTopic {
                field: "topic",
                topic: String::new(),
                rule: "it must not be empty".to_string(),
            });
        }
        if topic.starts_with("arn:") {
            check_topic_arn("topic", topic)?;
        }
        check_message(message)?;
        let logged = LoggedMessage {
            message_id: RandomIds.uuid(),
            topic: topic.to_string(),
            subject: subject_line(&message.subject),
            body: message.body.clone(),
        };
        let mut line = serde_json::to_string(&logged).map_err(|e| NotifyError::Backend {
            topic: topic.to_string(),
            message: format!("cannot write the message as JSON: {e}"),
            source: Some(Box::new(e)),
        })?;
        line.push('\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append(&path, line.as_bytes()))
            .await
            .map_err(|e| NotifyError::Backend {
                topic: topic.to_string(),
                message: format!("the file work stopped: {e}"),
                source: None,
            })?
            .map_err(|e| NotifyError::Backend {
                topic: topic.to_string(),
                message: format!("cannot append to {}: {e}", self.path.display()),
                source: Some(Box::new(e)),
            })?;
        Ok(logged.message_id)
    }
}

/// One write of the whole line to a file opened for appending: the kernel places each such write at the
/// end, so lines from concurrent publishers (other processes on the same data directory too) never mix.
fn append(path: &Path, line: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(line)
}
