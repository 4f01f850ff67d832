//! The contract every [`EventPublisher`] keeps: a batch arrives whole and in order with CodePipeline's
//! detail-types, however long it is (PutEvents takes ten entries and 256 KiB a call), each detail exactly as
//! it was sent, and a batch with an entry PutEvents would refuse is refused before any of it goes out. The
//! test reads what arrived through a [`PublishedEvents`] it supplies: the lines of `events.jsonl` locally,
//! an SQS queue that a rule on the bus delivers to on AWS.

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::{Value, json};

use crate::builders::event::{action_event, pipeline_event, stage_event};
use crate::pipeline::declaration::{ActionCategory, ActionOwner, ActionTypeId, ExecutionMode};
use crate::port::{DetailType, Event, EventError, EventPublisher, MAX_REQUEST_BYTES};
use crate::record::{
    ActionExecution, ActionExecutionStatus, ArtifactDetail, ArtifactLocation, ExecutionTrigger,
    PipelineExecution, PipelineExecutionStatus, StageExecution, StageExecutionStatus,
};
use crate::time::Timestamp;

/// Where a test reads the events that arrived.
pub trait PublishedEvents: Send + Sync {
    /// The events that arrived since the last call, in the order they arrived, once at least `count`
    /// have come or 10 s have passed. With `count` 0 it waits briefly (a second at most) for stragglers
    /// and returns whatever came.
    fn read(&self, count: usize) -> impl Future<Output = Vec<Event>> + Send;
}

/// Runs every promise of the EventPublisher port against `publisher`, reading what arrived from
/// `published`, which must start empty.
pub async fn event_publisher_contract(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    an_executions_events_arrive_in_order_with_codepipelines_detail_types(publisher, published)
        .await;
    a_batch_of_more_than_ten_arrives_whole_and_in_order(publisher, published).await;
    a_batch_of_more_than_256_kib_arrives_whole_and_in_order(publisher, published).await;
    details_arrive_exactly_as_they_were_sent(publisher, published).await;
    an_empty_batch_publishes_nothing(publisher, published).await;
    a_batch_with_an_entry_putevents_refuses_is_refused_whole(publisher, published).await;
    let stray = published.read(0).await;
    assert!(stray.is_empty(), "nothing else arrived: {stray:?}");
}

/// 2026-01-01T00:00:00Z plus `seconds`: whole seconds, which is what EventBridge keeps of a time.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_epoch_millis(1_767_225_600_000 + seconds * 1000)
}

fn execution(status: PipelineExecutionStatus, updated: i64) -> PipelineExecution {
    PipelineExecution {
        pipeline_name: "EventContract".to_string(),
        pipeline_version: 2,
        pipeline_execution_id: "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f".to_string(),
        status,
        status_summary: None,
        execution_mode: ExecutionMode::Superseded,
        trigger: ExecutionTrigger {
            trigger_type: "StartPipelineExecution".to_string(),
            trigger_detail: Some("arn:aws:iam::123456789012:user/reviewer".to_string()),
        },
        variables: BTreeMap::new(),
        source_revisions: Vec::new(),
        orchestration: None,
        client_request_token: None,
        retry: None,
        start_time: Timestamp::from_epoch_millis(1_767_225_600_123),
        last_update_time: at(updated),
        record_version: 0,
    }
}

fn stage(status: StageExecutionStatus, updated: i64) -> StageExecution {
    StageExecution {
        pipeline_name: "EventContract".to_string(),
        pipeline_execution_id: "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f".to_string(),
        stage_name: "Build".to_string(),
        status,
        last_update_time: at(updated),
        entry: None,
    }
}

fn action(status: ActionExecutionStatus, updated: i64) -> ActionExecution {
    let artifact = |name: &str| ArtifactDetail {
        name: name.to_string(),
        location: ArtifactLocation {
            bucket_name: "event-contract-artifacts".to_string(),
            object_key: format!("EventContract/{name}/Ab3dE5g"),
        },
        revision: None,
    };
    ActionExecution {
        pipeline_name: "EventContract".to_string(),
        pipeline_execution_id: "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f".to_string(),
        pipeline_version: 2,
        stage_name: "Build".to_string(),
        action_name: "Compile".to_string(),
        action_execution_id: "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b".to_string(),
        attempt: 0,
        action_type_id: ActionTypeId {
            category: ActionCategory::Build,
            owner: ActionOwner::Aws,
            provider: "CodeBuild".to_string(),
            version: "1".to_string(),
        },
        status,
        start_time: Timestamp::from_epoch_millis(1_767_225_602_456),
        last_update_time: at(updated),
        configuration: BTreeMap::new(),
        resolved_configuration: BTreeMap::new(),
        namespace: None,
        input_artifacts: vec![artifact("Source")],
        output_artifacts: vec![artifact("Built")],
        output_variables: BTreeMap::new(),
        summary: Some("built".to_string()),
        external_execution_id: Some("build:42".to_string()),
        log: None,
        error_details: None,
        token: "token".to_string(),
        last_updated_by: None,
    }
}

/// An event whose detail is `detail`.
fn event(detail_type: DetailType, seconds: i64, detail: Value) -> Event {
    Event {
        detail_type,
        time: at(seconds),
        detail,
    }
}

async fn publish(publisher: &impl EventPublisher, events: &[Event], what: &str) {
    if let Err(e) = publisher.publish(events).await {
        panic!("{what}: publishing {} events failed: {e}", events.len());
    }
}

/// Reads `count` events and checks they are `expected`, in order, comparing the detail-types and times
/// first so a mismatch is readable without the details.
async fn assert_arrived(published: &impl PublishedEvents, expected: &[Event], promise: &str) {
    let arrived = published.read(expected.len()).await;
    let summary = |events: &[Event]| -> Vec<(&'static str, i64)> {
        events
            .iter()
            .map(|e| (e.detail_type.name(), e.time.epoch_millis()))
            .collect()
    };
    assert_eq!(
        summary(&arrived),
        summary(expected),
        "{promise}: the detail-types and times, in order"
    );
    for (index, (got, sent)) in arrived.iter().zip(expected).enumerate() {
        assert_eq!(
            got.detail, sent.detail,
            "{promise}: the detail of event {index}"
        );
    }
}

async fn an_executions_events_arrive_in_order_with_codepipelines_detail_types(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    use ActionExecutionStatus as A;
    use PipelineExecutionStatus as P;
    let running = execution(P::InProgress, 0);
    let succeeded = execution(P::Succeeded, 5);
    let events: Vec<Event> = [
        pipeline_event(&running, None),
        stage_event(&running, &stage(StageExecutionStatus::InProgress, 1)),
        Some(action_event(&running, &action(A::InProgress, 2))),
        Some(action_event(&running, &action(A::Succeeded, 3))),
        stage_event(&running, &stage(StageExecutionStatus::Succeeded, 4)),
        pipeline_event(&succeeded, Some(P::InProgress)),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(events.len(), 6, "each record change makes an event");
    let names: Vec<&str> = events.iter().map(|e| e.detail_type.name()).collect();
    assert_eq!(
        names,
        [
            "CodePipeline Pipeline Execution State Change",
            "CodePipeline Stage Execution State Change",
            "CodePipeline Action Execution State Change",
            "CodePipeline Action Execution State Change",
            "CodePipeline Stage Execution State Change",
            "CodePipeline Pipeline Execution State Change",
        ]
    );
    publish(publisher, &events, "an execution's events").await;
    assert_arrived(
        published,
        &events,
        "an execution's events arrive once each, in order",
    )
    .await;
}

async fn a_batch_of_more_than_ten_arrives_whole_and_in_order(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    // 23: two full PutEvents calls and a partial one.
    let events: Vec<Event> = (0..23)
        .map(|n| {
            let detail_type = DetailType::ALL[n % 3];
            event(
                detail_type,
                10 + n as i64,
                json!({"pipeline": "EventContract", "n": n}),
            )
        })
        .collect();
    publish(publisher, &events, "23 events").await;
    assert_arrived(published, &events, "a batch of 23 arrives whole, in order").await;
}

async fn a_batch_of_more_than_256_kib_arrives_whole_and_in_order(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    // Twelve of 40 KiB: fewer than ten of them already pass PutEvents' 256 KiB a call.
    let events: Vec<Event> = (0..12)
        .map(|n| {
            let pad = char::from(b'a' + n as u8).to_string().repeat(40 * 1024);
            event(
                DetailType::StageExecution,
                40 + n as i64,
                json!({"n": n, "pad": pad}),
            )
        })
        .collect();
    let total: usize = events.iter().map(Event::entry_size).sum();
    assert!(total > MAX_REQUEST_BYTES, "{total} bytes");
    publish(publisher, &events, "480 KiB of events").await;
    assert_arrived(
        published,
        &events,
        "a batch over 256 KiB arrives whole, in order",
    )
    .await;
}

async fn details_arrive_exactly_as_they_were_sent(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    let detail = json!({
        "pipeline": "EventContract",
        "text": "Grüße → 🚀 \"quoted\" \\ back\tslash\nnew line \u{1} control",
        "version": 3.0,
        "pipeline-execution-attempt": 1.0,
        "small": 0.1,
        "huge": 1.0e300,
        "negative": -42,
        "big": u64::MAX,
        "flags": [true, false, null],
        "nested": {"empty-object": {}, "empty-array": [], "deep": [[{"k": "v"}]]},
        "large": "z".repeat(60 * 1024),
    });
    let events = vec![event(DetailType::ActionExecution, 60, detail)];
    publish(publisher, &events, "an unusual detail").await;
    assert_arrived(
        published,
        &events,
        "the detail round-trips exactly: text, numbers (3.0 stays 3.0), nesting",
    )
    .await;
}

async fn an_empty_batch_publishes_nothing(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    publish(publisher, &[], "an empty batch").await;
    let marker = vec![event(
        DetailType::PipelineExecution,
        70,
        json!({"marker": "after the empty batch"}),
    )];
    publish(publisher, &marker, "the marker").await;
    assert_arrived(published, &marker, "an empty batch published nothing").await;
}

async fn a_batch_with_an_entry_putevents_refuses_is_refused_whole(
    publisher: &impl EventPublisher,
    published: &impl PublishedEvents,
) {
    let fine = event(DetailType::StageExecution, 80, json!({"fine": true}));
    let mut oversized = event(DetailType::ActionExecution, 81, json!({"pad": ""}));
    let room = MAX_REQUEST_BYTES - oversized.entry_size();
    oversized.detail = json!({"pad": "o".repeat(room + 1)});
    match publisher.publish(&[fine.clone(), oversized]).await {
        Err(EventError::Invalid {
            index: 1,
            field: "size",
            ..
        }) => {}
        other => panic!("an entry of 256 KiB + 1 byte is refused, naming it; got {other:?}"),
    }
    let not_an_object = event(DetailType::StageExecution, 82, json!("just text"));
    match publisher.publish(&[fine, not_an_object]).await {
        Err(EventError::Invalid {
            index: 1,
            field: "detail",
            ..
        }) => {}
        other => panic!("a detail that is no JSON object is refused; got {other:?}"),
    }
    let marker = vec![event(
        DetailType::PipelineExecution,
        90,
        json!({"marker": "after the refusals"}),
    )];
    publish(publisher, &marker, "the marker").await;
    assert_arrived(
        published,
        &marker,
        "nothing of a refused batch was published, not even its valid events",
    )
    .await;
}
