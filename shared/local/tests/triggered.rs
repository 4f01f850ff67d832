//! Executions an EventBridge rule starts, as on AWS: the rule's target starts the compiled machine
//! itself with `{"pipeline", "pipelineExecutionId": <event id>, "trigger"}` and nothing has been
//! recorded. Here the tests start the machine in the embedded engine directly with that input, bypassing
//! `start_execution`, and check that the dispatcher's Start records the execution (announcing it like an
//! API start), that it runs to its end, and that a second delivery of the same event ends quietly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use sluice_core::compile::CompileOptions;
use sluice_core::dispatcher;
use sluice_core::dispatcher::DispatchError;
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    DetailType, Event, ExecutionStore, Orchestrator, PipelineStore, Providers, Run, RunStatus,
    StageStore,
};
use sluice_core::protocol::{DUPLICATE_START_ERROR, START_FAILED_ERROR};
use sluice_core::record::{
    ExecutionTrigger, PipelineExecution, PipelineExecutionStatus, StageExecutionStatus,
};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::events::EventFile;
use sluice_local::runtime::LocalRuntime;

use common::{InstantSource, InstantSuccess};

const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/sluice-Ruled-nightly";

fn declaration(name: &str, variables: Value) -> PipelineDeclaration {
    serde_json::from_value(json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "ruled-artifacts"},
        "pipelineType": "V2",
        "variables": variables,
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Deploy", "actions": [{
                "name": "Ship",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"BucketName": "site", "Extract": "true"},
                "inputArtifacts": [{"name": "Src"}]
            }]}
        ]
    }))
    .unwrap()
}

async fn open(dir: &Path) -> LocalRuntime {
    LocalRuntime::open_default(dir, |runtime| {
        let mut providers = Providers::default();
        providers.register(
            ActionCategory::Source,
            "AWS",
            "S3",
            Arc::new(InstantSource(runtime.ports.artifacts.clone())),
        );
        providers.register(
            ActionCategory::Deploy,
            "AWS",
            "S3",
            Arc::new(InstantSuccess),
        );
        providers
    })
    .await
    .unwrap()
}

/// The input an EventBridge rule's target gives the machine (`sluice_aws::eventbridge::input_template`
/// with the event's id).
fn rule_input(pipeline: &str, event_id: &str) -> Value {
    json!({
        "pipeline": pipeline,
        "pipelineExecutionId": event_id,
        "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": RULE_ARN}
    })
}

/// The Start call the compiled machine makes for that input, from the machine `machine`.
fn start_payload(pipeline: &str, event_id: &str, machine: Option<&str>) -> Value {
    let mut payload = json!({
        "kind": "ExecutionStarted",
        "pipeline": pipeline,
        "pipelineExecutionId": event_id,
        "input": rule_input(pipeline, event_id),
    });
    if let Some(machine) = machine {
        payload["execution"] = json!(machine);
    }
    payload
}

fn event_id() -> String {
    sluice_core::port::Ids::uuid(&sluice_core::system::RandomIds)
}

struct Fixture {
    runtime: LocalRuntime,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A runtime holding pipeline `name` at version 2 (put twice: a rule's execution runs the latest).
    async fn new(name: &str, variables: Value) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let runtime = open(dir.path()).await;
        let declaration = declaration(name, variables);
        for _ in 0..2 {
            put_pipeline(&runtime.ports, &declaration, &CompileOptions::default())
                .await
                .unwrap();
        }
        Fixture { runtime, dir }
    }

    /// Starts the pipeline's machine as a rule's target does: no record, the event's id as the
    /// execution id, `delivery` as the state machine execution's name.
    async fn deliver(&self, pipeline: &str, event_id: &str, delivery: &str) -> String {
        let stored = self
            .runtime
            .ports
            .store
            .pipeline(pipeline)
            .await
            .unwrap()
            .unwrap();
        self.runtime
            .ports
            .orchestrator
            .start(&stored.machine, delivery, &rule_input(pipeline, event_id))
            .await
            .unwrap()
    }

    /// Waits (up to 20 s) for the machine to end.
    async fn ended(&self, machine: &str) -> Run {
        for _ in 0..400 {
            let run = self
                .runtime
                .ports
                .orchestrator
                .describe(machine)
                .await
                .unwrap();
            if run.status != RunStatus::Running {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("machine {machine} does not end within 20 s");
    }

    async fn record(&self, pipeline: &str, id: &str) -> Option<PipelineExecution> {
        self.runtime
            .ports
            .store
            .execution(pipeline, id)
            .await
            .unwrap()
    }

    /// The pipeline-execution events of one execution, as (state, detail).
    fn execution_events(&self, id: &str) -> Vec<(String, Value)> {
        EventFile::new(self.dir.path())
            .events()
            .unwrap()
            .into_iter()
            .filter(|e: &Event| {
                e.detail_type == DetailType::PipelineExecution && e.detail["execution-id"] == id
            })
            .map(|e| (e.detail["state"].as_str().unwrap().to_string(), e.detail))
            .collect()
    }

    /// Every event of one execution, as "kind state".
    fn steps(&self, id: &str) -> Vec<String> {
        EventFile::new(self.dir.path())
            .events()
            .unwrap()
            .into_iter()
            .filter(|e| e.detail["execution-id"] == id)
            .map(|e| {
                let text = |key: &str| e.detail[key].as_str().unwrap_or_default().to_string();
                match e.detail_type {
                    DetailType::PipelineExecution => format!("pipeline {}", text("state")),
                    DetailType::StageExecution => {
                        format!("stage {} {}", text("stage"), text("state"))
                    }
                    DetailType::ActionExecution => {
                        format!("action {} {}", text("action"), text("state"))
                    }
                }
            })
            .collect()
    }
}

fn rule_trigger() -> ExecutionTrigger {
    ExecutionTrigger {
        trigger_type: "CloudWatchEvent".to_string(),
        trigger_detail: Some(RULE_ARN.to_string()),
    }
}

#[tokio::test]
async fn an_execution_a_rule_starts_is_recorded_by_its_machine_and_runs_to_its_end() {
    let f = Fixture::new("Ruled", json!([{"name": "Env", "defaultValue": "dev"}])).await;
    let id = event_id();
    let machine = f.deliver("Ruled", &id, "rule-delivery-1").await;

    let run = f.ended(&machine).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let record = f
        .record("Ruled", &id)
        .await
        .expect("the machine recorded it");
    assert_eq!(record.status, PipelineExecutionStatus::Succeeded);
    assert_eq!(record.trigger, rule_trigger());
    assert_eq!(record.orchestration.as_deref(), Some(machine.as_str()));
    assert_eq!(record.pipeline_version, 2, "the latest version");
    assert_eq!(
        record.variables,
        BTreeMap::from([("Env".to_string(), "dev".to_string())])
    );
    let stages = f
        .runtime
        .ports
        .store
        .stage_executions("Ruled", &id)
        .await
        .unwrap();
    assert_eq!(stages.len(), 2);
    assert!(
        stages
            .iter()
            .all(|s| s.status == StageExecutionStatus::Succeeded),
        "{stages:?}"
    );

    // Announced as an API start is: STARTED first, then every stage and action, then the end.
    assert_eq!(
        f.steps(&id),
        [
            "pipeline STARTED",
            "stage Source STARTED",
            "action Fetch STARTED",
            "action Fetch SUCCEEDED",
            "stage Source SUCCEEDED",
            "stage Deploy STARTED",
            "action Ship STARTED",
            "action Ship SUCCEEDED",
            "stage Deploy SUCCEEDED",
            "pipeline SUCCEEDED",
        ]
    );
    let (_, started) = &f.execution_events(&id)[0];
    assert_eq!(
        started["execution-trigger"],
        json!({"trigger-type": "CloudWatchEvent", "trigger-detail": RULE_ARN})
    );
    assert_eq!(started["version"], json!(2.0));
    f.runtime.shutdown();
}

#[tokio::test]
async fn a_second_delivery_of_the_rules_event_ends_its_machine_without_touching_the_record() {
    let f = Fixture::new("Ruled", json!([])).await;
    let id = event_id();

    // Two deliveries at once: both Starts race to record the execution; one machine runs it.
    let first = f.deliver("Ruled", &id, "delivery-1").await;
    let second = f.deliver("Ruled", &id, "delivery-2").await;
    let runs = [f.ended(&first).await, f.ended(&second).await];
    let record = f.record("Ruled", &id).await.unwrap();
    assert_eq!(record.status, PipelineExecutionStatus::Succeeded);
    let owner = record.orchestration.clone().unwrap();
    for (machine, run) in [&first, &second].into_iter().zip(&runs) {
        assert_eq!(run.status, RunStatus::Succeeded, "{machine}: {run:?}");
        let quiet = run.output.as_ref().map(|o| o["error"]["Error"].clone());
        if *machine == owner {
            assert_eq!(
                quiet,
                Some(Value::Null),
                "the owner ran the stages: {run:?}"
            );
        } else {
            assert_eq!(quiet, Some(json!(DUPLICATE_START_ERROR)), "{run:?}");
        }
    }
    assert!(owner == first || owner == second, "{owner}");
    let announced = f.steps(&id);
    assert_eq!(
        announced
            .iter()
            .filter(|s| *s == "pipeline STARTED")
            .count(),
        1,
        "{announced:?}"
    );
    assert_eq!(announced.len(), 10, "one run's events: {announced:?}");

    // A late delivery, after the execution ended: its machine ends quietly, nothing changes.
    let late = f.deliver("Ruled", &id, "delivery-3").await;
    let run = f.ended(&late).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(
        run.output.unwrap()["error"]["Error"],
        json!(DUPLICATE_START_ERROR)
    );
    assert_eq!(f.record("Ruled", &id).await.unwrap(), record, "untouched");
    assert_eq!(f.steps(&id), announced, "nothing announced");
    f.runtime.shutdown();
}

#[tokio::test]
async fn a_rule_start_with_a_variable_without_default_is_recorded_failed_and_fails_its_machine() {
    let f = Fixture::new(
        "Strict",
        json!([{"name": "Env", "defaultValue": "dev"}, {"name": "Region"}]),
    )
    .await;
    let id = event_id();
    let machine = f.deliver("Strict", &id, "rule-delivery-1").await;

    let run = f.ended(&machine).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.error.as_deref(), Some(START_FAILED_ERROR), "{run:?}");
    let record = f.record("Strict", &id).await.unwrap();
    assert_eq!(record.status, PipelineExecutionStatus::Failed);
    let summary = record.status_summary.clone().unwrap();
    assert!(
        summary.contains("Variable 'Region'") && summary.contains("defaultValue"),
        "{summary}"
    );
    assert!(run.cause.unwrap().contains("Variable 'Region'"));
    assert_eq!(record.trigger, rule_trigger());
    assert_eq!(record.orchestration.as_deref(), Some(machine.as_str()));
    assert!(
        f.runtime
            .ports
            .store
            .stage_executions("Strict", &id)
            .await
            .unwrap()
            .is_empty(),
        "no stage was entered"
    );
    let events = f.execution_events(&id);
    let states: Vec<&str> = events.iter().map(|(state, _)| state.as_str()).collect();
    assert_eq!(states, ["STARTED", "FAILED"]);
    assert_eq!(f.steps(&id).len(), 2, "nothing but the execution's events");

    // The same machine's call tried again fails the same way; another delivery ends quietly.
    let retried = dispatcher::handle(
        &f.runtime.ports,
        start_payload("Strict", &id, Some(&machine)),
    )
    .await
    .unwrap_err();
    assert_eq!(retried.error_type(), START_FAILED_ERROR, "{retried}");
    let duplicate = dispatcher::handle(
        &f.runtime.ports,
        start_payload("Strict", &id, Some("arn:other")),
    )
    .await
    .unwrap_err();
    assert_eq!(duplicate.error_type(), DUPLICATE_START_ERROR, "{duplicate}");
    assert_eq!(f.record("Strict", &id).await.unwrap(), record, "untouched");
    assert_eq!(f.execution_events(&id).len(), 2);
    f.runtime.shutdown();
}

#[tokio::test]
async fn the_dispatcher_claims_a_rules_execution_once_and_refuses_a_start_without_record_or_trigger()
 {
    let f = Fixture::new("Ruled", json!([])).await;
    let ports = &f.runtime.ports;

    // No record and no trigger: an API start whose record is gone stays an error, and records nothing.
    let id = event_id();
    let mut plain = start_payload("Ruled", &id, Some("arn:machine:1"));
    plain["input"] = json!({"pipeline": "Ruled", "pipelineExecutionId": id});
    let missing = dispatcher::handle(ports, plain).await.unwrap_err();
    assert!(
        matches!(missing, DispatchError::NoExecution { .. }),
        "{missing}"
    );
    assert_eq!(missing.error_type(), "Sluice.DispatchFailed");
    // A machine compiled before the Start carried the input fails the same way.
    let old = json!({"kind": "ExecutionStarted", "pipeline": "Ruled", "pipelineExecutionId": id});
    assert!(matches!(
        dispatcher::handle(ports, old).await,
        Err(DispatchError::NoExecution { .. })
    ));
    assert!(f.record("Ruled", &id).await.is_none());

    // The first call records it, claimed by its machine; the same call again only loads it.
    dispatcher::handle(ports, start_payload("Ruled", &id, Some("arn:machine:1")))
        .await
        .unwrap();
    let claimed = f.record("Ruled", &id).await.unwrap();
    assert_eq!(claimed.orchestration.as_deref(), Some("arn:machine:1"));
    assert_eq!(claimed.status, PipelineExecutionStatus::InProgress);
    assert_eq!(claimed.trigger, rule_trigger());
    dispatcher::handle(ports, start_payload("Ruled", &id, Some("arn:machine:1")))
        .await
        .unwrap();
    assert_eq!(f.record("Ruled", &id).await.unwrap(), claimed);

    // Another machine with the same event id is a duplicate.
    let duplicate = dispatcher::handle(ports, start_payload("Ruled", &id, Some("arn:machine:2")))
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, DispatchError::DuplicateStart { recorded, .. } if recorded.contains("arn:machine:1")),
        "{duplicate}"
    );
    assert_eq!(f.record("Ruled", &id).await.unwrap(), claimed);
    let states: Vec<String> = f
        .execution_events(&id)
        .into_iter()
        .map(|(state, _)| state)
        .collect();
    assert_eq!(states, ["STARTED"], "announced once");

    // A rule's start that cannot be recorded says why, and records nothing.
    let unnamed = dispatcher::handle(ports, start_payload("Ruled", &event_id(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(&unnamed, DispatchError::BadTrigger { reason, .. } if reason.contains("`execution`")),
        "{unnamed}"
    );
    let not_uuid = dispatcher::handle(ports, start_payload("Ruled", "e-1", Some("arn:machine:3")))
        .await
        .unwrap_err();
    assert!(
        matches!(&not_uuid, DispatchError::BadTrigger { reason, .. } if reason.contains("UUID")),
        "{not_uuid}"
    );
    assert!(f.record("Ruled", "e-1").await.is_none());
    let mut bad_trigger = start_payload("Ruled", &event_id(), Some("arn:machine:4"));
    bad_trigger["input"]["trigger"] = json!({"triggerDetail": RULE_ARN});
    let bad = dispatcher::handle(ports, bad_trigger).await.unwrap_err();
    assert!(
        matches!(&bad, DispatchError::BadTrigger { reason, .. } if reason.contains("triggerType")),
        "{bad}"
    );
    let gone = dispatcher::handle(
        ports,
        start_payload("Gone", &event_id(), Some("arn:machine:5")),
    )
    .await
    .unwrap_err();
    assert_eq!(gone.error_type(), START_FAILED_ERROR, "{gone}");
    f.runtime.shutdown();
}
