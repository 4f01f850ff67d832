//! The bus CodePipeline's state-change events go on ([`EventPublisher`]: EventBridge PutEvents on AWS,
//! `events.jsonl` locally), the events' envelope, and PutEvents' limits, checked once here for every adapter.
//! The events themselves are built from the records by [`crate::builders::event`].
//!
//! The source is [`SOURCE`], not CodePipeline's `aws.codepipeline`: EventBridge refuses a PutEvents entry
//! whose source starts with `aws.`. A rule written for CodePipeline matches Sluice's events once its
//! `source` says `sluice.codepipeline`; the detail-types and details are CodePipeline's.

use std::ops::Range;

use serde_json::{Value, json};

use crate::time::{Timestamp, iso_seconds, parse_timestamp};

/// The `source` of every event Sluice publishes.
pub const SOURCE: &str = "sluice.codepipeline";

/// PutEvents takes at most this many entries per call.
pub const MAX_ENTRIES: usize = 10;

/// PutEvents takes at most this many bytes per call, and so per entry (256 KiB), counted as
/// [`Event::entry_size`] counts them.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// CodePipeline's three detail-types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetailType {
    PipelineExecution,
    StageExecution,
    ActionExecution,
}

impl DetailType {
    pub const ALL: [DetailType; 3] = [
        Self::PipelineExecution,
        Self::StageExecution,
        Self::ActionExecution,
    ];

    /// The detail-type exactly as CodePipeline writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::PipelineExecution => "CodePipeline Pipeline Execution State Change",
            Self::StageExecution => "CodePipeline Stage Execution State Change",
            Self::ActionExecution => "CodePipeline Action Execution State Change",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One state-change event: what a PutEvents entry carries besides the constant [`SOURCE`].
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub detail_type: DetailType,
    /// When the state changed. EventBridge keeps whole seconds of it.
    pub time: Timestamp,
    /// A JSON object (EventBridge refuses any other detail).
    pub detail: Value,
}

impl Event {
    /// The detail as PutEvents' `Detail` (a JSON text).
    pub fn detail_text(&self) -> String {
        self.detail.to_string()
    }

    /// The entry's size as EventBridge counts it against [`MAX_REQUEST_BYTES`]: 14 bytes for the time,
    /// and the UTF-8 bytes of the source, the detail-type and the detail.
    pub fn entry_size(&self) -> usize {
        14 + SOURCE.len() + self.detail_type.name().len() + self.detail_text().len()
    }

    /// The event as EventBridge delivers it to a rule's target (and as the local runtime writes it):
    /// `{"version": "0", "id", "detail-type", "source", "account", "time", "region", "resources",
    /// "detail"}`, the time in whole seconds.
    pub fn envelope(&self, id: &str, account: &str, region: &str) -> Value {
        json!({
            "version": "0",
            "id": id,
            "detail-type": self.detail_type.name(),
            "source": SOURCE,
            "account": account,
            "time": iso_seconds(self.time),
            "region": region,
            "resources": [],
            "detail": self.detail,
        })
    }

    /// Reads an event back from its envelope (a rule target's message, a line of `events.jsonl`).
    pub fn from_envelope(envelope: &Value) -> Result<Event, EnvelopeError> {
        let text = |field: &'static str| {
            envelope
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| EnvelopeError {
                    field,
                    rule: "must be a string".to_string(),
                })
        };
        let source = text("source")?;
        if source != SOURCE {
            return Err(EnvelopeError {
                field: "source",
                rule: format!("is {source:?}, not Sluice's {SOURCE:?}"),
            });
        }
        let name = text("detail-type")?;
        let detail_type = DetailType::from_name(name).ok_or_else(|| EnvelopeError {
            field: "detail-type",
            rule: format!("{name:?} is not one of CodePipeline's detail-types"),
        })?;
        let time = text("time")?;
        let time = parse_timestamp(time).ok_or_else(|| EnvelopeError {
            field: "time",
            rule: format!("{time:?} is not an RFC 3339 date and time"),
        })?;
        let detail = envelope
            .get("detail")
            .filter(|d| d.is_object())
            .cloned()
            .ok_or_else(|| EnvelopeError {
                field: "detail",
                rule: "must be a JSON object".to_string(),
            })?;
        Ok(Event {
            detail_type,
            time,
            detail,
        })
    }
}

/// An envelope that is not one of Sluice's events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event's {field} {rule}")]
pub struct EnvelopeError {
    pub field: &'static str,
    pub rule: String,
}

/// One entry the bus refused (PutEvents' `ErrorCode` and `ErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    /// Its position in the batch given to [`EventPublisher::publish`].
    pub index: usize,
    pub detail_type: DetailType,
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// An event breaks a rule of PutEvents; nothing of the batch was published.
    #[error("event {index} of the batch ({}) is not valid: its {field} {rule}", .detail_type.name())]
    Invalid {
        index: usize,
        detail_type: DetailType,
        field: &'static str,
        rule: String,
    },
    /// The bus answered but did not take some events (PutEvents' FailedEntryCount); the others were
    /// published.
    #[error("{} of {total} events were not published: {}", .failed.len(), describe_failed(.failed))]
    Rejected {
        total: usize,
        failed: Vec<FailedEvent>,
    },
    /// The publisher itself failed. `published` events of the batch (its first ones) had gone out.
    #[error("publishing events failed after {published} were published: {message}")]
    Backend {
        published: usize,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

fn describe_failed(failed: &[FailedEvent]) -> String {
    failed
        .iter()
        .map(|f| {
            format!(
                "event {} ({}): {}: {}",
                f.index,
                f.detail_type.name(),
                f.code,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Puts state-change events on a bus. Its promises are checked by
/// [`crate::contract::event_publisher_contract`] against every adapter.
pub trait EventPublisher: Send + Sync {
    /// Publishes `events` in order: a batch of any length (an adapter splits it into PutEvents calls of
    /// at most [`MAX_ENTRIES`] entries and [`MAX_REQUEST_BYTES`]). A batch [`check_events`] refuses is
    /// [`EventError::Invalid`], and none of it is published.
    fn publish(&self, events: &[Event]) -> impl Future<Output = Result<(), EventError>> + Send;
}

/// PutEvents' rules for an entry, checked once here for every adapter: the detail is a JSON object, and
/// the entry is at most [`MAX_REQUEST_BYTES`].
pub fn check_events(events: &[Event]) -> Result<(), EventError> {
    for (index, event) in events.iter().enumerate() {
        let invalid = |field, rule| EventError::Invalid {
            index,
            detail_type: event.detail_type,
            field,
            rule,
        };
        if !event.detail.is_object() {
            return Err(invalid("detail", "must be a JSON object".to_string()));
        }
        let size = event.entry_size();
        if size > MAX_REQUEST_BYTES {
            return Err(invalid(
                "size",
                format!("is {size} bytes; a PutEvents entry may be at most {MAX_REQUEST_BYTES}"),
            ));
        }
    }
    Ok(())
}

/// Splits a batch into PutEvents calls, in order: at most [`MAX_ENTRIES`] entries and
/// [`MAX_REQUEST_BYTES`] each. Every event must have passed [`check_events`] (one larger than a call
/// would still get a call of its own).
pub fn put_events_calls(events: &[Event]) -> Vec<Range<usize>> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, event) in events.iter().enumerate() {
        let size = event.entry_size();
        if index > start && (index - start == MAX_ENTRIES || bytes + size > MAX_REQUEST_BYTES) {
            calls.push(start..index);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        calls.push(start..events.len());
    }
    calls
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sized(bytes: usize) -> Event {
        let mut event = Event {
            detail_type: DetailType::StageExecution,
            time: Timestamp::from_epoch_millis(0),
            detail: json!({"pad": ""}),
        };
        let overhead = event.entry_size();
        event.detail = json!({"pad": "x".repeat(bytes - overhead)});
        assert_eq!(event.entry_size(), bytes);
        event
    }

    #[test]
    fn batches_split_at_ten_entries_and_at_256_kib() {
        let small: Vec<Event> = (0..23).map(|_| sized(100)).collect();
        assert_eq!(put_events_calls(&small), [0..10, 10..20, 20..23]);
        let exactly_ten = put_events_calls(&small[..10]);
        assert_eq!((exactly_ten.len(), &exactly_ten[0]), (1, &(0..10)));
        assert!(put_events_calls(&[]).is_empty());
        let large: Vec<Event> = (0..5).map(|_| sized(100 * 1024)).collect();
        assert_eq!(
            put_events_calls(&large),
            [0..2, 2..4, 4..5],
            "two 100 KiB entries fit in a call, three do not"
        );
        let exact = vec![
            sized(MAX_REQUEST_BYTES / 2),
            sized(MAX_REQUEST_BYTES / 2),
            sized(1_000),
        ];
        assert_eq!(
            put_events_calls(&exact),
            [0..2, 2..3],
            "256 KiB exactly fits"
        );
    }

    #[test]
    fn an_entry_over_256_kib_or_a_detail_that_is_no_object_is_refused() {
        let fine = vec![sized(MAX_REQUEST_BYTES)];
        assert!(check_events(&fine).is_ok());
        let batch = vec![sized(100), sized(MAX_REQUEST_BYTES + 1)];
        match check_events(&batch) {
            Err(
                error @ EventError::Invalid {
                    index: 1,
                    field: "size",
                    ..
                },
            ) => assert!(error.to_string().contains("262145 bytes"), "{error}"),
            other => panic!("expected the size to be refused, got {other:?}"),
        }
        let mut not_object = sized(100);
        not_object.detail = json!([1]);
        assert!(matches!(
            check_events(&[not_object]),
            Err(EventError::Invalid {
                field: "detail",
                ..
            })
        ));
    }

    #[test]
    fn rejected_events_are_named_with_their_codes() {
        let error = EventError::Rejected {
            total: 3,
            failed: vec![FailedEvent {
                index: 2,
                detail_type: DetailType::ActionExecution,
                code: "InternalFailure".to_string(),
                message: "try again".to_string(),
            }],
        };
        assert_eq!(
            error.to_string(),
            "1 of 3 events were not published: event 2 (CodePipeline Action Execution State Change): InternalFailure: try again"
        );
    }
}
