//! The ports: what the domain needs from the world, one small trait per capability. Adapters implement
//! them: shared/local (SQLite, files, the embedded engine) and shared/aws (DynamoDB, S3, Step Functions).
//!
//! Every state change is a conditional write: a record carries the version it was read at, and a write
//! against a newer stored version fails with [`StoreError::Conflict`], so a second writer loses cleanly and
//! retries from a fresh read.

use std::future::Future;
use std::path::Path;

use serde_json::Value;

use crate::execution::{ActionExecution, PipelineExecution, StageExecution};
use crate::pipeline::declaration::PipelineDeclaration;
use crate::stage::Gate;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record changed since it was read (or exists, for a create): read again and retry.
    #[error("{what} was changed by another writer")]
    Conflict { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    /// The store could not answer now: throttled, timed out, busy, or a race the store itself lost
    /// (DynamoDB's TransactionConflict). The call may or may not have taken effect; the same call can
    /// pass when tried again, so the step it is part of fails with `Sluice.Transient` and is run again.
    #[error("the store is unavailable for now: {message}")]
    Transient {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The storage itself failed, in a way trying again will not mend (a missing table, a denied
    /// permission, a record that cannot be read).
    #[error("the store failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend {
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }

    pub fn transient(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transient {
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }

    /// Whether the step that met this error may pass when run again: a transient failure, or a
    /// conditional write lost to a concurrent writer (a fresh read decides again).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::Conflict { .. })
    }
}

impl crate::transient::Transient for StoreError {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }
}

/// A pipeline as stored: its declaration (whose `version` counts updates) and where it runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPipeline {
    pub declaration: PipelineDeclaration,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// The orchestrator's name for the compiled state machine (an ARN on AWS).
    pub machine: String,
}

impl StoredPipeline {
    pub fn version(&self) -> i32 {
        self.declaration.version.unwrap_or(1)
    }
}

/// Pipelines, with every version kept: an execution runs the version it started with.
pub trait PipelineStore: Send + Sync {
    /// The latest version.
    fn pipeline(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredPipeline>, StoreError>> + Send;
    fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> impl Future<Output = Result<Option<StoredPipeline>, StoreError>> + Send;
    /// Writes a new version. `expected_version` is the version the caller read (`None`: the pipeline must
    /// not exist yet); the stored one must still be it.
    fn put_pipeline(
        &self,
        pipeline: &StoredPipeline,
        expected_version: Option<i32>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn pipelines(&self) -> impl Future<Output = Result<Vec<StoredPipeline>, StoreError>> + Send;
    /// Removes the pipeline, its versions, gates and executions. Removing a missing pipeline is not an error.
    fn delete_pipeline(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Pipeline executions.
pub trait ExecutionStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the id is taken.
    fn create_execution(
        &self,
        execution: &PipelineExecution,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> impl Future<Output = Result<Option<PipelineExecution>, StoreError>> + Send;
    /// Writes `execution` if the stored record still has `execution.record_version`; the stored record
    /// then has the next version.
    fn update_execution(
        &self,
        execution: &PipelineExecution,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The pipeline's executions, newest first.
    fn executions(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<Vec<PipelineExecution>, StoreError>> + Send;
}

/// Stage gates (lock, inbound transition, waiting executions) and stage executions.
pub trait StageStore: Send + Sync {
    /// The gate and its version (0 when never written: an open, empty gate).
    fn gate(
        &self,
        pipeline: &str,
        stage: &str,
    ) -> impl Future<Output = Result<(Gate, u64), StoreError>> + Send;
    /// Writes the gate if its stored version is still `expected_version`.
    fn put_gate(
        &self,
        pipeline: &str,
        stage: &str,
        gate: &Gate,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn put_stage_execution(
        &self,
        stage: &StageExecution,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The stage executions of one pipeline execution, in no particular order.
    fn stage_executions(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> impl Future<Output = Result<Vec<StageExecution>, StoreError>> + Send;
    /// For each stage of the pipeline, the stage execution of the execution that entered it last.
    fn latest_stage_executions(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<Vec<StageExecution>, StoreError>> + Send;
}

/// Action executions: one record per attempt.
pub trait ActionExecutionStore: Send + Sync {
    /// Creates or replaces the record with this `action_execution_id`.
    fn put_action_execution(
        &self,
        action: &ActionExecution,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The attempts of one pipeline execution (or of every execution), oldest first.
    fn action_executions(
        &self,
        pipeline: &str,
        execution_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ActionExecution>, StoreError>> + Send;
    /// For each (stage, action) of the pipeline, its newest attempt.
    fn latest_action_executions(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<Vec<ActionExecution>, StoreError>> + Send;
}

/// The smaller resources the API keeps beside pipelines (tags, webhooks, custom action types, jobs), as
/// JSON documents by kind and id with a version for conditional writes. Typed access lives with each
/// resource's module (`resource`).
pub trait ResourceStore: Send + Sync {
    /// The document and its version (1 after the first write).
    fn resource(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<(Value, u64)>, StoreError>> + Send;
    /// Writes the document if its stored version is still `expected_version` (0: it must not exist).
    fn put_resource(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every document of a kind, by id.
    fn resources(
        &self,
        kind: &str,
    ) -> impl Future<Output = Result<Vec<(String, Value)>, StoreError>> + Send;
    /// Removing a missing document is not an error.
    fn delete_resource(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Every store the handlers use; one adapter usually implements them all.
pub trait Store:
    PipelineStore + ExecutionStore + StageStore + ActionExecutionStore + ResourceStore
{
}
impl<T: PipelineStore + ExecutionStore + StageStore + ActionExecutionStore + ResourceStore> Store
    for T
{
}

/// Where an artifact lives: CodePipeline's S3 location (a bucket is a folder locally).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub bucket_name: String,
    pub object_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifact s3://{}/{} does not exist", .location.bucket_name, .location.object_key)]
    NotFound { location: ArtifactLocation },
    #[error("artifact s3://{}/{}: {message}", .location.bucket_name, .location.object_key)]
    Backend {
        location: ArtifactLocation,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// The artifact store: zip files by location. Its promises are checked by
/// [`crate::contract::artifact_contract`] against every adapter.
pub trait ArtifactStore: Send + Sync {
    /// Stores the bytes of `file` at `location`, replacing what was there.
    fn put_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> impl Future<Output = Result<(), ArtifactError>> + Send;
    /// Writes the artifact at `location` to `file`, creating its missing parent directories and replacing a
    /// file already there. A missing artifact is [`ArtifactError::NotFound`], and nothing is written.
    fn get_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> impl Future<Output = Result<(), ArtifactError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// The task token is unknown, or its task no longer waits (it ended, timed out, or was stopped).
    #[error("task token not accepted: {0}")]
    TaskClosed(String),
    #[error("the execution {0} does not exist or has ended")]
    NoExecution(String),
    #[error("the orchestrator failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// How a state machine execution stands (DescribeExecution).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub status: RunStatus,
    pub output: Option<Value>,
    /// For a failed, timed-out or stopped execution: its error name and cause.
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Step Functions' execution statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// Runs compiled state machines: Step Functions on AWS, the embedded engine locally. Its promises are
/// checked by [`crate::contract::orchestrator_contract`] against every adapter.
pub trait Orchestrator: Send + Sync {
    /// Creates or updates the pipeline's state machine; returns its name for [`Orchestrator::start`].
    fn deploy(
        &self,
        pipeline: &str,
        definition: &Value,
    ) -> impl Future<Output = Result<String, OrchestratorError>> + Send;
    /// Deletes the pipeline's state machine (`machine` as [`Orchestrator::deploy`] returned it), stopping
    /// its running executions first, so none is left waiting on a callback. Removing a missing machine is
    /// not an error.
    fn remove(&self, machine: &str) -> impl Future<Output = Result<(), OrchestratorError>> + Send;
    /// Starts an execution named `name` (idempotent on the name); returns its id (an ARN on AWS).
    fn start(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> impl Future<Output = Result<String, OrchestratorError>> + Send;
    fn stop(
        &self,
        execution: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), OrchestratorError>> + Send;
    /// SendTaskSuccess.
    fn task_succeeded(
        &self,
        token: &str,
        output: &Value,
    ) -> impl Future<Output = Result<(), OrchestratorError>> + Send;
    /// SendTaskFailure: `error` is what the machine's Catch matches, `cause` what a user reads.
    fn task_failed(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), OrchestratorError>> + Send;
    /// SendTaskHeartbeat: the task is still being worked on, so its `HeartbeatSeconds` clock starts again.
    fn task_heartbeat(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<(), OrchestratorError>> + Send;
    /// DescribeExecution: `execution` is what [`Orchestrator::start`] returned.
    fn describe(
        &self,
        execution: &str,
    ) -> impl Future<Output = Result<Run, OrchestratorError>> + Send;
}

/// Wall-clock time, injected so tests run on virtual time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Identifiers (execution ids, action execution ids, artifact key suffixes), injected so tests can seed them.
pub trait Ids: Send + Sync {
    /// A random UUID (version 4), as CodePipeline's execution ids are.
    fn uuid(&self) -> String;
    /// `len` random characters from [A-Za-z0-9], as CodePipeline's artifact keys end.
    fn token(&self, len: usize) -> String;
}

/// The ports a handler runs over, bundled so a handler's signature stays short. Each runtime builds one:
/// `sluice_local::LocalPorts`, and on AWS the Lambda functions' ports.
pub trait Ports: Send + Sync {
    type Store: Store;
    type Orchestrator: Orchestrator;
    type Artifacts: ArtifactStore;
    /// Where state-change events go (EventBridge on AWS, `events.jsonl` locally).
    type Events: crate::events::EventPublisher;
    /// Triggers: EventBridge rules on AWS, SQLite and the in-process cron locally.
    type Scheduler: crate::trigger::Scheduler;
    fn store(&self) -> &Self::Store;
    fn orchestrator(&self) -> &Self::Orchestrator;
    fn artifacts(&self) -> &Self::Artifacts;
    fn events(&self) -> &Self::Events;
    fn scheduler(&self) -> &Self::Scheduler;
    fn clock(&self) -> &dyn Clock;
    fn ids(&self) -> &dyn Ids;
}
