//! The events file keeps sluice-core's event publisher contract, batches appended at once from many
//! tasks stay whole, and a pipeline run by the local runtime leaves CodePipeline's sequence of pipeline,
//! stage and action state changes in `events.jsonl`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use sluice_core::approval::{ApprovalStatus, put_approval_result, waiting_approvals};
use sluice_core::compile::CompileOptions;
use sluice_core::contract::{PublishedEvents, event_publisher_contract};
use sluice_core::port::{DetailType, Event, EventPublisher, ExecutionStore};
use sluice_core::record::{PipelineExecution, PipelineExecutionStatus};
use sluice_core::time::Timestamp;
use sluice_core::usecase::execution::{StartRequest, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::events::{EVENTS_FILE, EventFile};
use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::LocalRuntime;

/// Reads the lines of the events file not read before.
struct FileEvents {
    file: EventFile,
    seen: Mutex<usize>,
}

impl PublishedEvents for FileEvents {
    async fn read(&self, _count: usize) -> Vec<Event> {
        // Publishing writes the lines before it returns: there is nothing to wait for.
        let all = self.file.events().unwrap();
        let mut seen = self.seen.lock().unwrap();
        let new = all[*seen..].to_vec();
        *seen = all.len();
        new
    }
}

#[tokio::test]
async fn the_events_file_keeps_the_event_publisher_contract() {
    let data = tempfile::tempdir().unwrap();
    let file = EventFile::new(data.path());
    event_publisher_contract(
        &file,
        &FileEvents {
            file: file.clone(),
            seen: Mutex::new(0),
        },
    )
    .await;
    // What a rule's target would get: EventBridge's envelope, one a line.
    let text = std::fs::read_to_string(data.path().join(EVENTS_FILE)).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail"
        ]
    );
    assert_eq!(first["source"], "sluice.codepipeline");
    assert_eq!(first["time"], "2026-01-01T00:00:00Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_published_at_once_from_many_tasks_stay_whole_and_in_order() {
    const TASKS: usize = 8;
    const BATCHES: usize = 40;
    let data = tempfile::tempdir().unwrap();
    let file = EventFile::new(data.path());
    let mut running = Vec::new();
    for task in 0..TASKS {
        let file = file.clone();
        running.push(tokio::spawn(async move {
            for batch in 0..BATCHES {
                let events: Vec<Event> = (0..3)
                    .map(|i| Event {
                        detail_type: DetailType::ALL[i],
                        time: Timestamp::from_epoch_millis(0),
                        // Lines of different lengths, so a torn write would show.
                        detail: json!({"task": task, "batch": batch, "i": i, "pad": "p".repeat(task * 97)}),
                    })
                    .collect();
                file.publish(&events).await.unwrap();
            }
        }));
    }
    for task in running {
        task.await.unwrap();
    }
    let events = file.events().expect("every line is a whole event");
    assert_eq!(events.len(), TASKS * BATCHES * 3);
    let mut next_batch: HashMap<u64, u64> = HashMap::new();
    for (n, triple) in events.chunks(3).enumerate() {
        let id = |e: &Event| (e.detail["task"].as_u64(), e.detail["batch"].as_u64());
        let positions: Vec<u64> = triple
            .iter()
            .map(|e| e.detail["i"].as_u64().unwrap())
            .collect();
        assert_eq!(positions, [0, 1, 2], "batch {n} is whole and in order");
        assert!(
            triple.iter().all(|e| id(e) == id(&triple[0])),
            "batch {n} is one publisher's: {triple:?}"
        );
        let (Some(task), Some(batch)) = id(&triple[0]) else {
            panic!("batch {n} names its task and batch: {triple:?}");
        };
        let expected = next_batch.entry(task).or_insert(0);
        assert_eq!(
            batch, *expected,
            "task {task}'s batches in the order it published them"
        );
        *expected += 1;
    }
}

/// (detail-type, state, stage, action) of an event, short.
fn step(event: &Event) -> (String, String) {
    let kind = match event.detail_type {
        DetailType::PipelineExecution => "pipeline",
        DetailType::StageExecution => "stage",
        DetailType::ActionExecution => "action",
    };
    let text = |key: &str| event.detail[key].as_str().unwrap_or_default().to_string();
    let name = match event.detail_type {
        DetailType::PipelineExecution => text("pipeline"),
        DetailType::StageExecution => text("stage"),
        DetailType::ActionExecution => format!("{}.{}", text("stage"), text("action")),
    };
    (format!("{kind} {name}"), text("state"))
}

fn steps(events: &[Event], execution_id: &str) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.detail["execution-id"] == execution_id)
        .map(step)
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(what, state)| (what.to_string(), state.to_string()))
        .collect()
}

async fn waiting_token(runtime: &LocalRuntime) -> String {
    for _ in 0..300 {
        let waiting = waiting_approvals(&runtime.ports, "Announced", "Gate", "Approve")
            .await
            .unwrap();
        if let Some(approval) = waiting.first() {
            return approval.action_execution_id.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the approval does not wait within 15 s");
}

async fn ended(runtime: &LocalRuntime, id: &str) -> PipelineExecution {
    for _ in 0..600 {
        let execution = runtime
            .ports
            .store
            .execution("Announced", id)
            .await
            .unwrap()
            .unwrap();
        if !execution.status.is_open() {
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("execution {id} does not end within 30 s");
}

fn write_source(data: &Path) {
    std::fs::create_dir_all(data.join("s3/sources")).unwrap();
    std::fs::write(data.join("s3/sources/app.zip"), b"not really a zip").unwrap();
}

#[tokio::test]
async fn a_local_run_leaves_codepipelines_state_changes_in_events_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_source(&data);
    let runtime = LocalRuntime::open_default(
        &data,
        providers_for(LocalConfig::default(), BTreeMap::new()),
    )
    .await
    .unwrap();
    let pipeline = serde_json::from_value(json!({
        "name": "Announced",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "announced-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "sources", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "App"}]
            }]},
            {"name": "Gate", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    }))
    .unwrap();
    put_pipeline(&runtime.ports, &pipeline, &CompileOptions::default())
        .await
        .unwrap();
    let file = EventFile::new(&data);

    // Approved: every stage and action starts and succeeds, and so does the execution.
    let approved = start_execution(&runtime.ports, "Announced", StartRequest::default())
        .await
        .unwrap()
        .pipeline_execution_id;
    let token = waiting_token(&runtime).await;
    put_approval_result(
        &runtime.ports,
        "Announced",
        "Gate",
        "Approve",
        &token,
        ApprovalStatus::Approved,
        "looks good",
    )
    .await
    .unwrap();
    assert_eq!(
        ended(&runtime, &approved).await.status,
        PipelineExecutionStatus::Succeeded
    );
    let events = file.events().unwrap();
    assert_eq!(
        steps(&events, &approved),
        expected(&[
            ("pipeline Announced", "STARTED"),
            ("stage Source", "STARTED"),
            ("action Source.Fetch", "STARTED"),
            ("action Source.Fetch", "SUCCEEDED"),
            ("stage Source", "SUCCEEDED"),
            ("stage Gate", "STARTED"),
            ("action Gate.Approve", "STARTED"),
            ("action Gate.Approve", "SUCCEEDED"),
            ("stage Gate", "SUCCEEDED"),
            ("pipeline Announced", "SUCCEEDED"),
        ])
    );
    let fetched = events
        .iter()
        .find(|e| e.detail["action"] == "Fetch" && e.detail["state"] == "SUCCEEDED")
        .unwrap();
    assert_eq!(fetched.detail["output-artifacts"][0]["name"], "App");
    assert_eq!(
        fetched.detail["type"],
        json!({"owner": "AWS", "provider": "S3", "category": "Source", "version": "1"})
    );
    assert_eq!(events[0].detail["version"], json!(1.0));
    assert_eq!(
        events[0].detail["execution-trigger"]["trigger-type"],
        "StartPipelineExecution"
    );
    let approval = events
        .iter()
        .find(|e| e.detail["action"] == "Approve" && e.detail["state"] == "SUCCEEDED")
        .unwrap();
    assert_eq!(
        approval.detail["execution-result"]["external-execution-summary"],
        "looks good"
    );

    // Rejected from another process's ports (`sluice approve` in a second terminal): its event is in the
    // same file, and the stage and the execution fail.
    let rejected = start_execution(&runtime.ports, "Announced", StartRequest::default())
        .await
        .unwrap()
        .pipeline_execution_id;
    let token = waiting_token(&runtime).await;
    let attached = LocalRuntime::attach(&data).unwrap();
    put_approval_result(
        &attached,
        "Announced",
        "Gate",
        "Approve",
        &token,
        ApprovalStatus::Rejected,
        "not today",
    )
    .await
    .unwrap();
    assert_eq!(
        ended(&runtime, &rejected).await.status,
        PipelineExecutionStatus::Failed
    );
    let events = file.events().unwrap();
    assert_eq!(
        steps(&events, &rejected),
        expected(&[
            ("pipeline Announced", "STARTED"),
            ("stage Source", "STARTED"),
            ("action Source.Fetch", "STARTED"),
            ("action Source.Fetch", "SUCCEEDED"),
            ("stage Source", "SUCCEEDED"),
            ("stage Gate", "STARTED"),
            ("action Gate.Approve", "STARTED"),
            ("action Gate.Approve", "FAILED"),
            ("stage Gate", "FAILED"),
            ("pipeline Announced", "FAILED"),
        ])
    );
    assert_eq!(
        events.len(),
        20,
        "two executions' events and nothing else: {events:?}"
    );
    runtime.shutdown();
}
