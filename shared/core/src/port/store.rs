//! The store: pipelines, executions, stage gates, action attempts and other documents, one trait per table.

use serde_json::Value;

use crate::action::{ActionTypes, CUSTOM_ACTION_TYPE_KIND};
use crate::problem::{Coded, Exception};
use crate::record::{ActionExecution, PipelineExecution, StageExecution, StoredPipeline};
use crate::stage::Gate;

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

impl Coded for StoreError {
    fn exception(&self) -> Exception {
        match self {
            Self::Conflict { .. } => Exception::ConcurrentModificationException,
            Self::AlreadyExists { .. } => Exception::ConflictException,
            // A throttled or busy store: the SDKs and the aws CLI retry a 503.
            Self::Transient { .. } => Exception::ServiceUnavailable,
            Self::Backend { .. } => Exception::InternalFailure,
        }
    }
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

impl crate::port::Transient for StoreError {
    fn is_transient(&self) -> bool {
        self.is_retryable()
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
    /// The latest version of every pipeline, by name. Shared: a store may keep them decoded between
    /// calls (matching a webhook delivery reads them all).
    fn pipelines(
        &self,
    ) -> impl Future<Output = Result<Vec<std::sync::Arc<StoredPipeline>>, StoreError>> + Send;
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

    /// The built-in action types and every custom type registered with CreateCustomActionType (the
    /// documents of kind [`CUSTOM_ACTION_TYPE_KIND`]).
    fn action_types(&self) -> impl Future<Output = Result<ActionTypes, StoreError>> + Send {
        async move {
            let documents = self.resources(CUSTOM_ACTION_TYPE_KIND).await?;
            Ok(ActionTypes::from_documents(
                documents.iter().map(|(_, doc)| doc),
            ))
        }
    }
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
