//! The contract every store adapter keeps, written once and run against each adapter (SQLite here, the
//! DynamoDB one against moto): `sluice_core::contract::store_contract(adapter).await`. A broken promise
//! panics with what was expected, as a test assertion does. [`artifact_contract`] does the same for the
//! artifact stores (files locally, S3 against moto).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::pipeline::declaration::{
    ActionCategory, ActionOwner, ActionTypeId, ExecutionMode, PipelineDeclaration,
};
use crate::port::{ArtifactError, ArtifactStore, Store, StoreError};
use crate::record::{
    ActionExecution, ActionExecutionStatus, ArtifactLocation, ExecutionTrigger, PipelineExecution,
    PipelineExecutionStatus, StageExecution, StageExecutionStatus, StoredPipeline,
};
use crate::stage::{Arrival, Gate};
use crate::time::Timestamp;

pub use events::*;
pub use faults::*;
pub use notifier::*;
pub use scheduler::*;
pub use secrets::*;

fn pipeline(name: &str, version: i32) -> StoredPipeline {
    let declaration: PipelineDeclaration = serde_json::from_value(serde_json::json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [],
        "version": version
    }))
    .expect("a minimal declaration reads");
    StoredPipeline {
        declaration,
        created: Timestamp::from_epoch_millis(1_000),
        updated: Timestamp::from_epoch_millis(1_000 + i64::from(version)),
        machine: format!("machine-{name}"),
    }
}

fn execution(pipeline: &str, id: &str, started: i64) -> PipelineExecution {
    PipelineExecution {
        pipeline_name: pipeline.to_string(),
        pipeline_version: 1,
        pipeline_execution_id: id.to_string(),
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        execution_mode: ExecutionMode::Superseded,
        trigger: ExecutionTrigger {
            trigger_type: "StartPipelineExecution".to_string(),
            trigger_detail: None,
        },
        variables: BTreeMap::from([("Env".to_string(), "dev".to_string())]),
        source_revisions: Vec::new(),
        orchestration: None,
        client_request_token: None,
        retry: None,
        start_time: Timestamp::from_epoch_millis(started),
        last_update_time: Timestamp::from_epoch_millis(started),
        record_version: 0,
    }
}

fn action(pipeline: &str, execution: &str, id: &str) -> ActionExecution {
    ActionExecution {
        pipeline_name: pipeline.to_string(),
        pipeline_execution_id: execution.to_string(),
        pipeline_version: 1,
        stage_name: "Build".to_string(),
        action_name: "Build".to_string(),
        action_execution_id: id.to_string(),
        attempt: 0,
        action_type_id: ActionTypeId {
            category: ActionCategory::Build,
            owner: ActionOwner::Aws,
            provider: "CodeBuild".to_string(),
            version: "1".to_string(),
        },
        status: ActionExecutionStatus::InProgress,
        start_time: Timestamp::from_epoch_millis(5),
        last_update_time: Timestamp::from_epoch_millis(5),
        configuration: BTreeMap::new(),
        resolved_configuration: BTreeMap::new(),
        namespace: None,
        input_artifacts: Vec::new(),
        output_artifacts: vec![crate::record::ArtifactDetail {
            name: "Out".to_string(),
            location: ArtifactLocation {
                bucket_name: "bucket".to_string(),
                object_key: "p/Out/abcdefg".to_string(),
            },
            revision: None,
        }],
        output_variables: BTreeMap::new(),
        summary: None,
        external_execution_id: None,
        log: None,
        error_details: None,
        token: format!("token-{id}"),
        last_updated_by: None,
    }
}

/// Runs every promise of the store ports against `store`, which must start empty.
pub async fn store_contract(store: &impl Store) {
    pipelines(store).await;
    executions(store).await;
    gates_and_stages(store).await;
    action_executions(store).await;
    deleting_a_pipeline_removes_everything_it_owns(store).await;
    resources(store).await;
}

async fn resources(store: &impl Store) {
    let document = serde_json::json!({"name": "hook", "n": 1});
    assert!(store.resource("webhook", "hook").await.unwrap().is_none());
    store
        .put_resource("webhook", "hook", &document, 0)
        .await
        .unwrap();
    assert!(matches!(
        store.put_resource("webhook", "hook", &document, 0).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let (read, version) = store.resource("webhook", "hook").await.unwrap().unwrap();
    assert_eq!((read, version), (document.clone(), 1));
    let changed = serde_json::json!({"name": "hook", "n": 2});
    store
        .put_resource("webhook", "hook", &changed, 1)
        .await
        .unwrap();
    assert!(
        matches!(
            store.put_resource("webhook", "hook", &document, 1).await,
            Err(StoreError::Conflict { .. })
        ),
        "a write from a stale version loses"
    );
    store
        .put_resource("webhook", "another", &document, 0)
        .await
        .unwrap();
    store
        .put_resource("tags", "hook", &document, 0)
        .await
        .unwrap();
    let ids: Vec<String> = store
        .resources("webhook")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        ["another", "hook"],
        "kinds are kept apart, ids in order"
    );
    store.delete_resource("webhook", "hook").await.unwrap();
    store.delete_resource("webhook", "hook").await.unwrap();
    assert!(store.resource("webhook", "hook").await.unwrap().is_none());
    assert!(store.resource("tags", "hook").await.unwrap().is_some());
}

async fn pipelines(store: &impl Store) {
    assert!(store.pipeline("P").await.unwrap().is_none());
    store.put_pipeline(&pipeline("P", 1), None).await.unwrap();
    assert!(
        matches!(
            store.put_pipeline(&pipeline("P", 1), None).await,
            Err(StoreError::AlreadyExists { .. })
        ),
        "creating a pipeline that exists must fail"
    );
    assert!(
        matches!(
            store.put_pipeline(&pipeline("P", 2), Some(5)).await,
            Err(StoreError::Conflict { .. })
        ),
        "an update from a stale version must fail"
    );
    store
        .put_pipeline(&pipeline("P", 2), Some(1))
        .await
        .unwrap();
    assert_eq!(store.pipeline("P").await.unwrap().unwrap().version(), 2);
    assert_eq!(
        store.pipeline_version("P", 1).await.unwrap(),
        Some(pipeline("P", 1)),
        "old versions are kept as written"
    );
    store.put_pipeline(&pipeline("A", 1), None).await.unwrap();
    let names: Vec<String> = store
        .pipelines()
        .await
        .unwrap()
        .iter()
        .map(|p| format!("{}@{}", p.declaration.name, p.version()))
        .collect();
    assert_eq!(
        names,
        ["A@1", "P@2"],
        "the listing has each pipeline's latest version, by name"
    );
}

async fn executions(store: &impl Store) {
    let first = execution("P", "e1", 10);
    store.create_execution(&first).await.unwrap();
    assert!(matches!(
        store.create_execution(&first).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    store
        .create_execution(&execution("P", "e2", 20))
        .await
        .unwrap();
    let read = store.execution("P", "e1").await.unwrap().unwrap();
    assert_eq!(read, first);
    let mut changed = read.clone();
    changed.status = PipelineExecutionStatus::Succeeded;
    store.update_execution(&changed).await.unwrap();
    assert!(
        matches!(
            store.update_execution(&changed).await,
            Err(StoreError::Conflict { .. })
        ),
        "a second write from the same read must lose"
    );
    let stored = store.execution("P", "e1").await.unwrap().unwrap();
    assert_eq!(stored.status, PipelineExecutionStatus::Succeeded);
    assert_eq!(stored.record_version, 1);
    let ids: Vec<String> = store
        .executions("P")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.pipeline_execution_id)
        .collect();
    assert_eq!(ids, ["e2", "e1"], "executions are listed newest first");
    assert!(store.execution("P", "missing").await.unwrap().is_none());
}

async fn gates_and_stages(store: &impl Store) {
    let (gate, version) = store.gate("P", "Build").await.unwrap();
    assert_eq!((gate, version), (Gate::default(), 0));
    let mut held = Gate::default();
    held.inside.push("e1".to_string());
    held.waiting.push(Arrival {
        execution_id: "e2".to_string(),
        token: "t2".to_string(),
    });
    store.put_gate("P", "Build", &held, 0).await.unwrap();
    assert!(
        matches!(
            store.put_gate("P", "Build", &Gate::default(), 0).await,
            Err(StoreError::Conflict { .. })
        ),
        "two first writers of a gate: the second loses"
    );
    let (read, version) = store.gate("P", "Build").await.unwrap();
    assert_eq!(read, held);
    store
        .put_gate("P", "Build", &Gate::default(), version)
        .await
        .unwrap();
    assert!(matches!(
        store.put_gate("P", "Build", &held, version).await,
        Err(StoreError::Conflict { .. })
    ));

    let mut stage = StageExecution {
        pipeline_name: "P".to_string(),
        pipeline_execution_id: "e1".to_string(),
        stage_name: "Build".to_string(),
        status: StageExecutionStatus::InProgress,
        last_update_time: Timestamp::from_epoch_millis(1),
        entry: Some("entry-token".to_string()),
    };
    store.put_stage_execution(&stage).await.unwrap();
    stage.status = StageExecutionStatus::Succeeded;
    store.put_stage_execution(&stage).await.unwrap();
    assert_eq!(
        store.stage_executions("P", "e1").await.unwrap(),
        vec![stage.clone()],
        "a stage execution is replaced, not added"
    );
    let later = StageExecution {
        pipeline_execution_id: "e2".to_string(),
        status: StageExecutionStatus::InProgress,
        ..stage.clone()
    };
    store.put_stage_execution(&later).await.unwrap();
    let other_stage = StageExecution {
        stage_name: "Deploy".to_string(),
        ..stage.clone()
    };
    store.put_stage_execution(&other_stage).await.unwrap();
    // e1 finishing Build after e2 entered it does not make e1 the latest there.
    store.put_stage_execution(&stage).await.unwrap();
    let mut latest = store.latest_stage_executions("P").await.unwrap();
    latest.sort_by(|a, b| a.stage_name.cmp(&b.stage_name));
    assert_eq!(
        latest,
        vec![later, other_stage],
        "the latest to enter each stage"
    );
}

async fn action_executions(store: &impl Store) {
    store
        .put_action_execution(&action("P", "e1", "a1"))
        .await
        .unwrap();
    store
        .put_action_execution(&action("P", "e2", "a2"))
        .await
        .unwrap();
    let mut first = action("P", "e1", "a1");
    first.status = ActionExecutionStatus::Succeeded;
    store.put_action_execution(&first).await.unwrap();
    let all: Vec<(String, ActionExecutionStatus)> = store
        .action_executions("P", None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.action_execution_id, a.status))
        .collect();
    assert_eq!(
        all,
        [
            ("a1".to_string(), ActionExecutionStatus::Succeeded),
            ("a2".to_string(), ActionExecutionStatus::InProgress)
        ],
        "attempts keep the order they were first written in"
    );
    assert_eq!(
        store.action_executions("P", Some("e2")).await.unwrap(),
        vec![action("P", "e2", "a2")]
    );
    let mut other = action("P", "e2", "a3");
    other.action_name = "Test".to_string();
    store.put_action_execution(&other).await.unwrap();
    let latest: Vec<String> = store
        .latest_action_executions("P")
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action_execution_id)
        .collect();
    assert_eq!(latest, ["a2", "a3"], "the newest attempt of each action");
}

async fn deleting_a_pipeline_removes_everything_it_owns(store: &impl Store) {
    store.delete_pipeline("P").await.unwrap();
    assert!(store.pipeline("P").await.unwrap().is_none());
    assert!(store.pipeline_version("P", 1).await.unwrap().is_none());
    assert!(store.executions("P").await.unwrap().is_empty());
    assert!(store.action_executions("P", None).await.unwrap().is_empty());
    assert_eq!(store.gate("P", "Build").await.unwrap().1, 0);
    assert!(store.pipeline("A").await.unwrap().is_some(), "others stay");
    store.delete_pipeline("never-existed").await.unwrap();
}

/// Runs every promise of [`ArtifactStore`] against `store`, in `bucket` (which must exist and hold none of
/// the contract's keys). `large_bytes` is the size of the large artifact: above the adapter's multipart
/// threshold where it has one, so that path is taken. Scratch files go to a fresh directory under the
/// system's temporary directory, removed at the end.
pub async fn artifact_contract(store: &impl ArtifactStore, bucket: &str, large_bytes: usize) {
    let scratch = Scratch::new();
    // CodePipeline's key shape: <pipeline name, 20 chars>/<artifact name, 10 chars>/<7 characters>.
    let location = |key: &str| ArtifactLocation {
        bucket_name: bucket.to_string(),
        object_key: key.to_string(),
    };
    let source = location("ArtifactContractPipe/SourceArti/x7Kq2Zb");

    // Every byte value, so an adapter that treats the file as text shows.
    let small: Vec<u8> = (0..=255u8).cycle().take(3_000).collect();
    let fetched = scratch.path("fetched.zip");
    put(store, &source, &scratch.file("small.zip", &small)).await;
    get(store, &source, &fetched).await;
    assert_same_bytes(
        &small,
        &fetched,
        "a put then a get returns the bytes exactly",
    );

    // Shorter than before: neither the stored object nor the file fetched over may keep a tail.
    let replacement = b"PK\x05\x06 replaced".to_vec();
    put(
        store,
        &source,
        &scratch.file("replacement.zip", &replacement),
    )
    .await;
    get(store, &source, &fetched).await;
    assert_same_bytes(
        &replacement,
        &fetched,
        "a put over a key replaces the artifact, and a get over a file replaces the file",
    );

    let empty = location("ArtifactContractPipe/EmptyOutpu/e0e0e0e");
    let fetched_empty = scratch.path("empty.zip");
    put(store, &empty, &scratch.file("empty-in.zip", &[])).await;
    get(store, &empty, &fetched_empty).await;
    assert_same_bytes(&[], &fetched_empty, "an empty artifact round-trips");

    let nested = scratch.path("not/yet/there/artifact.zip");
    get(store, &source, &nested).await;
    assert_same_bytes(
        &replacement,
        &nested,
        "a get creates the missing parent directories of its file",
    );

    let missing = location("ArtifactContractPipe/SourceArti/missing");
    let nowhere = scratch.path("missing.zip");
    match store.get_artifact(&missing, &nowhere).await {
        Err(ArtifactError::NotFound { location }) => assert_eq!(
            location, missing,
            "NotFound names the location that was asked for"
        ),
        other => panic!(
            "a get of s3://{bucket}/{} must be NotFound, not {other:?}",
            missing.object_key
        ),
    }
    assert!(
        !nowhere.exists(),
        "a get of a missing artifact writes no file at {}",
        nowhere.display()
    );

    let large_location = location("ArtifactContractPipe/BuildOutpu/L4rg3x1");
    let large = pseudo_random_bytes(large_bytes);
    let fetched_large = scratch.path("large-out.zip");
    put(store, &large_location, &scratch.file("large.zip", &large)).await;
    get(store, &large_location, &fetched_large).await;
    assert_same_bytes(
        &large,
        &fetched_large,
        "a large artifact (above the multipart threshold) round-trips",
    );
    get(store, &source, &fetched).await;
    assert_same_bytes(
        &replacement,
        &fetched,
        "artifacts under different keys are kept apart",
    );
}

async fn put(store: &impl ArtifactStore, location: &ArtifactLocation, file: &Path) {
    if let Err(e) = store.put_artifact(location, file).await {
        panic!("put of {} to {location:?} failed: {e:?}", file.display());
    }
}

async fn get(store: &impl ArtifactStore, location: &ArtifactLocation, file: &Path) {
    if let Err(e) = store.get_artifact(location, file).await {
        panic!("get of {location:?} into {} failed: {e:?}", file.display());
    }
}

/// Compares without printing megabytes: the lengths and the first differing offset.
fn assert_same_bytes(expected: &[u8], file: &Path, promise: &str) {
    let actual = std::fs::read(file)
        .unwrap_or_else(|e| panic!("{promise}: cannot read {}: {e}", file.display()));
    if actual != expected {
        let first_difference = expected
            .iter()
            .zip(&actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        panic!(
            "{promise}: expected {} bytes, {} holds {} bytes, first difference at offset {first_difference}",
            expected.len(),
            file.display(),
            actual.len()
        );
    }
}

/// Bytes with no repeating period near a part size (xorshift64), so a part sent twice or out of order shows.
fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "sluice-artifact-contract-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the orchestrator contract reads the token of an execution's waiting task: the engine's task
/// handler locally, the execution's history on Step Functions.
pub trait TaskTokens: Send + Sync {
    fn token(&self, execution: &str) -> impl std::future::Future<Output = String> + Send;
}

/// The machine the orchestrator contract deploys: one callback task (an EventBridge event carrying the
/// task token, which needs nothing but the default bus), whose answer is the execution's output; or, when
/// the input says `hold`, a long Wait to be stopped in. (Stopping in the Wait, not in the task: moto 5.2.5
/// fails an execution stopped during a callback task with States.Runtime instead of aborting it.)
pub fn contract_machine(comment: &str) -> serde_json::Value {
    serde_json::json!({
        "Comment": comment,
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.hold", "IsPresent": true, "Next": "Hold"},
                    {"Variable": "$.heartbeat", "IsPresent": true, "Next": "Work with heartbeats"}
                ],
                "Default": "Wait for the answer"
            },
            "Hold": {"Type": "Wait", "Seconds": 300, "End": true},
            "Wait for the answer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
                "Parameters": {"Entries": [{
                    "Source": "sluice.contract",
                    "DetailType": "task",
                    "Detail": {"token.$": "$$.Task.Token"}
                }]},
                "End": true
            },
            // moto takes a heartbeat only from a task that sets HeartbeatSeconds (Step Functions takes
            // one from any waiting task), and such a task of moto's misses an answer sent before it
            // started waiting: only the heartbeat check uses it.
            "Work with heartbeats": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
                "Parameters": {"Entries": [{
                    "Source": "sluice.contract",
                    "DetailType": "task",
                    "Detail": {"token.$": "$$.Task.Token"}
                }]},
                "HeartbeatSeconds": 600,
                "TimeoutSeconds": 3600,
                "End": true
            }
        }
    })
}

/// The contract every orchestrator adapter keeps (the embedded engine, Step Functions on moto).
pub async fn orchestrator_contract(
    orchestrator: &impl crate::port::Orchestrator,
    tokens: &impl TaskTokens,
) {
    let machine = orchestrator
        .deploy("Contract", &contract_machine("first"))
        .await
        .unwrap();
    let again = orchestrator
        .deploy("Contract", &contract_machine("second"))
        .await
        .unwrap();
    assert_eq!(machine, again, "deploying again updates the same machine");

    let input = serde_json::json!({"pipeline": "Contract", "pipelineExecutionId": "e1"});
    let run = orchestrator.start(&machine, "e1", &input).await.unwrap();
    assert_eq!(
        orchestrator.start(&machine, "e1", &input).await.unwrap(),
        run,
        "a start is idempotent on its name"
    );
    assert_eq!(
        orchestrator.describe(&run).await.unwrap().status,
        crate::port::RunStatus::Running
    );
    let token = tokens.token(&run).await;
    let answer = serde_json::json!({"answer": 42});
    orchestrator.task_succeeded(&token, &answer).await.unwrap();
    let succeeded = settled(orchestrator, &run).await;
    assert_eq!(
        (succeeded.status, succeeded.output),
        (crate::port::RunStatus::Succeeded, Some(answer.clone())),
        "the task's answer is the output"
    );
    assert!(
        matches!(
            orchestrator.task_succeeded(&token, &answer).await,
            Err(crate::port::OrchestratorError::TaskClosed(_))
        ),
        "a decided task takes no second answer"
    );

    let failing = orchestrator.start(&machine, "e2", &input).await.unwrap();
    let token = tokens.token(&failing).await;
    orchestrator
        .task_failed(&token, "Build.Failed", "exit status 1")
        .await
        .unwrap();
    let failed = settled(orchestrator, &failing).await;
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (crate::port::RunStatus::Failed, Some("Build.Failed")),
        "a failed task fails an execution that catches nothing"
    );

    let hold =
        serde_json::json!({"pipeline": "Contract", "pipelineExecutionId": "e3", "hold": true});
    let stopping = orchestrator.start(&machine, "e3", &hold).await.unwrap();
    orchestrator
        .stop(
            &stopping,
            crate::protocol::STOPPED_ERROR,
            "stopped by the contract",
        )
        .await
        .unwrap();
    let stopped = settled(orchestrator, &stopping).await;
    assert_eq!(
        stopped.status,
        crate::port::RunStatus::Aborted,
        "a stopped execution is aborted: {stopped:?}"
    );

    assert!(
        matches!(
            orchestrator
                .task_failed("no-such-token", "Build.Failed", "x")
                .await,
            Err(crate::port::OrchestratorError::TaskClosed(_))
        ),
        "an unknown token is refused as closed"
    );
    // A heartbeat keeps a waiting task alive; a decided one takes none.
    let beat =
        serde_json::json!({"pipeline": "Contract", "pipelineExecutionId": "e4", "heartbeat": true});
    let beating = orchestrator.start(&machine, "e4", &beat).await.unwrap();
    let token = tokens.token(&beating).await;
    // The token is in the history as the task is scheduled; its heartbeat clock starts a moment later,
    // when the task starts waiting (on moto, a heartbeat before that is InvalidToken).
    let mut beats = 0;
    while let Err(error) = orchestrator.task_heartbeat(&token).await {
        beats += 1;
        assert!(beats < 250, "a waiting task takes a heartbeat: {error}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    orchestrator.task_succeeded(&token, &answer).await.unwrap();
    assert_eq!(
        settled(orchestrator, &beating).await.status,
        crate::port::RunStatus::Succeeded
    );
    assert!(
        matches!(
            orchestrator.task_heartbeat(&token).await,
            Err(crate::port::OrchestratorError::TaskClosed(_))
        ),
        "a decided task takes no heartbeat"
    );

    let unknown = run.replace(":e1", ":never-started");
    assert!(
        matches!(
            orchestrator.describe(&unknown).await,
            Err(crate::port::OrchestratorError::NoExecution(_))
        ),
        "describing an execution that never started: {unknown}"
    );

    // Removing the machine stops what still runs on it; the name can then be deployed again.
    let held =
        serde_json::json!({"pipeline": "Contract", "pipelineExecutionId": "e5", "hold": true});
    let orphan = orchestrator.start(&machine, "e5", &held).await.unwrap();
    orchestrator.remove(&machine).await.unwrap();
    // Step Functions deletes a machine's executions with it (moto at once); the engine keeps them.
    match orchestrator.describe(&orphan).await {
        Ok(run) => assert_eq!(
            run.status,
            crate::port::RunStatus::Aborted,
            "removing a machine stops its running executions"
        ),
        Err(crate::port::OrchestratorError::NoExecution(_)) => {}
        Err(other) => panic!("describing an execution of a removed machine: {other}"),
    }
    assert!(
        orchestrator.start(&machine, "e6", &input).await.is_err(),
        "a removed machine starts nothing"
    );
    orchestrator.remove(&machine).await.unwrap();
    let recreated = orchestrator
        .deploy("Contract", &contract_machine("third"))
        .await
        .unwrap();
    assert_eq!(
        recreated, machine,
        "a removed pipeline's name can be deployed again"
    );
    orchestrator.remove(&recreated).await.unwrap();
}

/// The execution once it has ended (within 10 s).
async fn settled(
    orchestrator: &impl crate::port::Orchestrator,
    execution: &str,
) -> crate::port::Run {
    for _ in 0..500 {
        let run = orchestrator.describe(execution).await.unwrap();
        if run.status != crate::port::RunStatus::Running {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{execution} did not end within 10 s");
}

mod events;
mod faults;
mod notifier;
mod scheduler;
mod secrets;
