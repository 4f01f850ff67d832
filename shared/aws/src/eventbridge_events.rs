//! The EventPublisher port on EventBridge: PutEvents on one named bus (`SLUICE_EVENT_BUS`, the account's
//! default bus unless set), with source `sluice.codepipeline` and CodePipeline's detail-types. A batch is
//! sent in calls of at most ten entries and 256 KiB ([`put_events_calls`]), in order; entries the bus
//! refuses (PutEvents' FailedEntryCount) are reported by index with their error codes, after the rest of
//! the batch has been sent.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use sluice_core::port::{
    Event, EventError, EventPublisher, FailedEvent, SOURCE, check_events, put_events_calls,
};

use crate::error::describe;

/// State-change events put on an EventBridge bus.
#[derive(Clone, Debug)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    /// Puts events on `bus` (a bus name or ARN; `default` is the account's default bus).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    fn entry(&self, event: &Event) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(event.detail_type.name())
            .detail(event.detail_text())
            .time(DateTime::from_millis(event.time.epoch_millis()))
            .build()
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), EventError> {
        check_events(events)?;
        let mut failed = Vec::new();
        for call in put_events_calls(events) {
            let batch = &events[call.clone()];
            let output = self
                .client
                .put_events()
                .set_entries(Some(batch.iter().map(|e| self.entry(e)).collect()))
                .send()
                .await
                .map_err(|e| EventError::Backend {
                    published: call.start - failed.len(),
                    message: format!(
                        "PutEvents on bus {} failed: {}",
                        self.bus,
                        describe("EventBridge", &e)
                    ),
                    source: Some(Box::new(e)),
                })?;
            if output.failed_entry_count() == 0 {
                continue;
            }
            let refused = refused_entries(&output, batch, call.start);
            if refused.is_empty() {
                return Err(EventError::Backend {
                    published: call.start - failed.len(),
                    message: format!(
                        "PutEvents on bus {} reported {} failed entries of events {}..{} without naming them",
                        self.bus,
                        output.failed_entry_count(),
                        call.start,
                        call.end
                    ),
                    source: None,
                });
            }
            failed.extend(refused);
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(EventError::Rejected {
                total: events.len(),
                failed,
            })
        }
    }
}

/// The entries of one call the bus refused, by their index in the whole batch (the call's first event is
/// `start`): PutEvents answers one result entry per request entry, in order, and a refused one carries its
/// error code.
fn refused_entries(output: &PutEventsOutput, call: &[Event], start: usize) -> Vec<FailedEvent> {
    output
        .entries()
        .iter()
        .zip(call)
        .enumerate()
        .filter_map(|(offset, (result, event))| {
            result.error_code().map(|code| FailedEvent {
                index: start + offset,
                detail_type: event.detail_type,
                code: code.to_string(),
                message: result.error_message().unwrap_or("no message").to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use serde_json::json;
    use sluice_core::port::DetailType;
    use sluice_core::time::Timestamp;

    use super::*;

    #[test]
    fn refused_entries_are_named_by_their_place_in_the_batch_with_their_codes() {
        let event = |detail_type| Event {
            detail_type,
            time: Timestamp::from_epoch_millis(0),
            detail: json!({}),
        };
        let call = [
            event(DetailType::PipelineExecution),
            event(DetailType::StageExecution),
            event(DetailType::ActionExecution),
        ];
        // PutEvents' answer to a call of three whose second and third were refused.
        let output = PutEventsOutput::builder()
            .failed_entry_count(2)
            .entries(PutEventsResultEntry::builder().event_id("e-1").build())
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("InternalFailure")
                    .error_message("try again")
                    .build(),
            )
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("ThrottlingException")
                    .build(),
            )
            .build();
        let refused = refused_entries(&output, &call, 10);
        assert_eq!(
            refused,
            [
                FailedEvent {
                    index: 11,
                    detail_type: DetailType::StageExecution,
                    code: "InternalFailure".to_string(),
                    message: "try again".to_string(),
                },
                FailedEvent {
                    index: 12,
                    detail_type: DetailType::ActionExecution,
                    code: "ThrottlingException".to_string(),
                    message: "no message".to_string(),
                },
            ]
        );
        let error = EventError::Rejected {
            total: 13,
            failed: refused,
        };
        assert!(
            error.to_string().starts_with("2 of 13 events were not published: event 11 (CodePipeline Stage Execution State Change): InternalFailure: try again; event 12"),
            "{error}"
        );
    }
}
