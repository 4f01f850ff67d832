//! The orchestrator: runs compiled state machines (Step Functions on AWS, the embedded engine locally).

use serde_json::Value;

use crate::problem::{Coded, Exception};

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

impl Coded for OrchestratorError {
    fn exception(&self) -> Exception {
        Exception::InternalFailure
    }
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
