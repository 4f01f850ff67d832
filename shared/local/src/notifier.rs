//! The Notifier port on one machine. Every message is one JSON line appended to
//! `<data_dir>/notifications.jsonl` (`{"messageId","topic","subject","body"}`), which a user follows with
//! `tail -f` and tools read line by line: the record ([`LogNotifier`]). `sluice.json`'s `notifications`
//! ([`config`]) adds where a topic's messages are delivered too: a Slack-compatible webhook, mail through
//! SMTP ([`LocalNotifier`]). A topic is any name; one that looks like an ARN (`arn:…`) must be an SNS
//! topic ARN, as on AWS, so a pipeline that notifies here notifies there.
//!
//! The approval token is written as part of an approval's message: it is what a reviewer approves with,
//! CodePipeline puts it in the SNS message too, and it decides nothing without credentials for
//! PutApprovalResult. The file is created private to its owner (0600) all the same.

pub mod config;
mod render;
mod slack;
mod smtp;

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use sluice_core::port::{
    Ids, Message, Notifier, NotifyError, check_message, check_topic_arn, subject_line,
};
use sluice_core::system::RandomIds;

use config::{NotifierConfig, selects, topics};

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

/// How long one delivery may take in all: an approval starts waiting at the latest this long after it
/// was recorded, however slow a mail server or webhook is.
const DELIVER_WITHIN: Duration = Duration::from_secs(30);

/// Reports a delivery that failed (standard error by default).
pub type FailureReport = Arc<dyn Fn(&DeliveryFailure) + Send + Sync>;

/// A delivery that failed: which notifier (`notifications[i]`, its type), the topic, the message id in
/// the log, and why. It holds no secret: webhook URLs are shown without their path, passwords never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    pub notifier: String,
    pub topic: String,
    pub message_id: String,
    pub reason: String,
}

impl std::fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} could not deliver message {} (topic {}), which is in the notifications log: {}",
            self.notifier, self.message_id, self.topic, self.reason
        )
    }
}

/// The local runtime's notifier: the log first, as the record, then every configured notifier whose
/// `topics` select the topic, at the same time.
///
/// The log decides the publish: a message it refuses, or cannot write, is an error, as on SNS. A
/// delivery that fails afterwards (the mail server is down, the webhook answers 500) is reported
/// ([`DeliveryFailure`], on standard error) and the publish still succeeds: the message is in the log, a
/// reviewer can still decide with `sluice approve`, and an approval that failed because a mail server was
/// down would need its whole execution retried.
pub struct LocalNotifier {
    log: LogNotifier,
    deliveries: Vec<Arc<Delivery>>,
    report: FailureReport,
}

struct Delivery {
    /// `notifications[1] (smtp)`.
    name: String,
    topics: Vec<String>,
    channel: Result<Channel, String>,
}

enum Channel {
    Slack(slack::SlackWebhook),
    Smtp(smtp::SmtpMailer),
}

impl Delivery {
    /// Sends one message through this notifier, within [`DELIVER_WITHIN`].
    async fn deliver(&self, subject: &str, body: &str) -> Result<(), String> {
        let channel = self.channel.as_ref().map_err(Clone::clone)?;
        let send = async {
            match channel {
                Channel::Slack(webhook) => webhook.post(&render::slack(subject, body)).await,
                Channel::Smtp(mailer) => mailer.send(subject, body).await,
            }
        };
        tokio::time::timeout(DELIVER_WITHIN, send)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "it did not finish within {} s",
                    DELIVER_WITHIN.as_secs()
                ))
            })
    }
}

impl LocalNotifier {
    /// The log in `data_dir` and the notifiers `configs` describe (checked by [`config::check`]).
    /// `environment` looks up the variables they name (`urlEnv`, `usernameEnv`, `passwordEnv`), read
    /// once here. A notifier that cannot be built (a variable unset since the check) reports why at each
    /// delivery.
    pub fn new(
        data_dir: &Path,
        configs: &[NotifierConfig],
        environment: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let variable = |name: &str| {
            environment(name).ok_or_else(|| format!("the environment variable {name} is not set"))
        };
        let deliveries = configs
            .iter()
            .enumerate()
            .filter_map(|(index, config)| {
                let (kind, topics, channel) = match config {
                    NotifierConfig::Log {} => return None,
                    NotifierConfig::Slack(slack) => {
                        let url = match (&slack.url, &slack.url_env) {
                            (Some(url), _) => Ok(url.clone()),
                            (None, Some(name)) => variable(name),
                            (None, None) => Err("it has no url".to_string()),
                        };
                        let channel = url
                            .and_then(|url| slack::SlackWebhook::new(&url))
                            .map(Channel::Slack);
                        ("slack", topics(&slack.topics), channel)
                    }
                    NotifierConfig::Smtp(mail) => {
                        let login = match (&mail.username_env, &mail.password_env) {
                            (Some(user), Some(password)) => variable(user).and_then(|username| {
                                variable(password)
                                    .map(|password| Some(smtp::Login { username, password }))
                            }),
                            _ => Ok(None),
                        };
                        let channel = login
                            .and_then(|login| smtp::SmtpMailer::new(mail, login))
                            .map(Channel::Smtp);
                        ("smtp", topics(&mail.topics), channel)
                    }
                };
                Some(Arc::new(Delivery {
                    name: format!("notifications[{index}] ({kind})"),
                    topics,
                    channel,
                }))
            })
            .collect();
        Self {
            log: LogNotifier::new(data_dir),
            deliveries,
            report: Arc::new(|failure| eprintln!("sluice: {failure}")),
        }
    }

    /// Reports failed deliveries to `report` instead of standard error.
    pub fn with_failure_report(mut self, report: FailureReport) -> Self {
        self.report = report;
        self
    }

    /// The log every message is written to.
    pub fn log(&self) -> &LogNotifier {
        &self.log
    }
}

impl Notifier for LocalNotifier {
    async fn publish(&self, topic: &str, message: &Message) -> Result<String, NotifyError> {
        let message_id = self.log.publish(topic, message).await?;
        let subject = subject_line(&message.subject);
        let mut sending = tokio::task::JoinSet::new();
        let mut names = std::collections::HashMap::new();
        for delivery in &self.deliveries {
            if !delivery.topics.iter().any(|entry| selects(entry, topic)) {
                continue;
            }
            let (delivery, subject, body) =
                (delivery.clone(), subject.clone(), message.body.clone());
            let name = delivery.name.clone();
            let task = sending.spawn(async move { delivery.deliver(&subject, &body).await });
            names.insert(task.id(), name);
        }
        while let Some(done) = sending.join_next_with_id().await {
            let (id, reason) = match done {
                Ok((_, Ok(()))) => continue,
                Ok((id, Err(reason))) => (id, reason),
                Err(stopped) => (stopped.id(), format!("its delivery stopped: {stopped}")),
            };
            (self.report)(&DeliveryFailure {
                notifier: names.remove(&id).unwrap_or_default(),
                topic: topic.to_string(),
                message_id: message_id.clone(),
                reason,
            });
        }
        Ok(message_id)
    }
}

/// An error and its causes on one line (hyper's and lettre's own messages leave the cause out).
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
