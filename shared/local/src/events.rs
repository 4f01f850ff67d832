//! The EventPublisher port on one machine: every state-change event is one line of
//! `<data_dir>/events.jsonl`, in the envelope EventBridge delivers to a rule's target (`version`, `id`,
//! `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`), so what consumes
//! CodePipeline's events reads these lines as they are. A user follows them with `tail -f`.
//!
//! Several tasks of the runtime publish at once, and other processes on the same data directory too
//! (`sluice approve` ends an action from another terminal). A batch is written with one `write(2)` to a
//! file opened for appending: the kernel puts each such write at the end of the file whole, so batches
//! never interleave, and a batch's events stay together and in order.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sluice_core::port::{Event, EventError, EventPublisher, Ids, check_events};
use sluice_core::record::LOCAL_ACCOUNT;
use sluice_core::system::RandomIds;

/// The file's name in the data directory.
pub const EVENTS_FILE: &str = "events.jsonl";
/// The `region` of local events (the embedded engine's region).
pub const LOCAL_REGION: &str = "local";

/// State-change events as lines of a file in the data directory.
#[derive(Debug, Clone)]
pub struct EventFile {
    path: PathBuf,
}

impl EventFile {
    /// Writes to `<data_dir>/events.jsonl`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(EVENTS_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every event published so far, oldest first (none when the file does not exist yet). A last line
    /// still being written (no line end yet) is left for the next read.
    pub fn events(&self) -> io::Result<Vec<Event>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        complete
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(index, line)| {
                let envelope = serde_json::from_str(line).map_err(|e| e.to_string());
                envelope
                    .and_then(|envelope| Event::from_envelope(&envelope).map_err(|e| e.to_string()))
                    .map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{} line {}: not a state-change event: {e}",
                                self.path.display(),
                                index + 1
                            ),
                        )
                    })
            })
            .collect()
    }
}

impl EventPublisher for EventFile {
    async fn publish(&self, events: &[Event]) -> Result<(), EventError> {
        check_events(events)?;
        if events.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for event in events {
            lines.push_str(
                &event
                    .envelope(&RandomIds.uuid(), LOCAL_ACCOUNT, LOCAL_REGION)
                    .to_string(),
            );
            lines.push('\n');
        }
        let path = self.path.clone();
        let backend =
            |message: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
                EventError::Backend {
                    published: 0,
                    message,
                    source,
                }
            };
        tokio::task::spawn_blocking(move || append(&path, lines.as_bytes()))
            .await
            .map_err(|e| backend(format!("the file work stopped: {e}"), None))?
            .map_err(|e| {
                backend(
                    format!("cannot append to {}: {e}", self.path.display()),
                    Some(Box::new(e)),
                )
            })
    }
}

/// One write of the whole batch to a file opened for appending (see the module's note).
fn append(path: &Path, lines: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(lines)
}
