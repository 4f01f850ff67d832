//! The contract every store adapter keeps, written once and run against each adapter (SQLite here, the
//! DynamoDB one against moto): `sluice_core::contract::store_contract(adapter).await`. A broken promise
//! panics with what was expected, as a test assertion does.

use std::collections::BTreeMap;

use crate::execution::{
    ActionExecution, ActionExecutionStatus, ExecutionTrigger, PipelineExecution,
    PipelineExecutionStatus, StageExecution, StageExecutionStatus,
};
use crate::pipeline::declaration::{
    ActionCategory, ActionOwner, ActionTypeId, ExecutionMode, PipelineDeclaration,
};
use crate::port::{ArtifactLocation, Store, StoreError, StoredPipeline};
use crate::stage::{Arrival, Gate};
use crate::time::Timestamp;

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
        output_artifacts: vec![crate::execution::ArtifactDetail {
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
