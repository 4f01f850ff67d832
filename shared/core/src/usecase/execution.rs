//! StartPipelineExecution, StopPipelineExecution and RetryStageExecution.

use std::collections::BTreeMap;

use serde_json::json;

use crate::builders::execution::new_execution;
use crate::port::{
    ExecutionStore, Orchestrator, OrchestratorError, PipelineStore, Ports, StageStore, StoreError,
};
use crate::problem::{Coded, Exception, no_execution, no_pipeline, no_stage};
use crate::protocol::{machine_input, retry_run_name};
use crate::record::{
    ExecutionTrigger, LOCAL_ACCOUNT, PipelineExecution, PipelineExecutionStatus,
    SourceRevisionOverride, StageExecutionStatus, StageRetry, StoredPipeline,
};
use crate::recorder::{change_execution, record_execution, update_execution};
use crate::variable::resolve_variables;

/// Why a pipeline execution could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error("{}", no_pipeline(account, name))]
    PipelineNotFound { account: String, name: String },
    #[error("{}", no_execution(pipeline, id))]
    ExecutionNotFound { pipeline: String, id: String },
    #[error("{0}")]
    Validation(String),
    #[error("Pipeline execution {0} is not in progress")]
    NotStoppable(String),
    #[error("Pipeline execution {0} is already stopping")]
    DuplicatedStop(String),
    #[error("{}", no_stage(pipeline, stage))]
    StageNotFound { pipeline: String, stage: String },
    #[error("{0}")]
    StageNotRetryable(String),
    #[error("{0}")]
    NotLatest(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    #[error(transparent)]
    Dispatch(#[from] crate::dispatcher::DispatchError),
    #[error(transparent)]
    Scheduler(#[from] crate::port::SchedulerError),
}

impl Coded for ExecutionError {
    fn exception(&self) -> Exception {
        match self {
            Self::PipelineNotFound { .. } => Exception::PipelineNotFoundException,
            Self::ExecutionNotFound { .. } => Exception::PipelineExecutionNotFoundException,
            Self::Validation(_) => Exception::ValidationException,
            Self::NotStoppable(_) => Exception::PipelineExecutionNotStoppableException,
            Self::DuplicatedStop(_) => Exception::DuplicatedStopRequestException,
            Self::StageNotFound { .. } => Exception::StageNotFoundException,
            Self::StageNotRetryable(_) => Exception::StageNotRetryableException,
            Self::NotLatest(_) => Exception::NotLatestPipelineExecutionException,
            Self::Conflict(_) => Exception::ConflictException,
            Self::Store(error) => error.exception(),
            Self::Orchestrator(error) => error.exception(),
            Self::Dispatch(error) => error.exception(),
            Self::Scheduler(error) => error.exception(),
        }
    }
}

/// What a new execution is started with.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// The id to give the execution (the API reserves it for a clientRequestToken); a new one if `None`.
    pub pipeline_execution_id: Option<String>,
    pub variables: BTreeMap<String, String>,
    pub client_request_token: Option<String>,
    pub source_revisions: Vec<SourceRevisionOverride>,
    pub trigger: Option<ExecutionTrigger>,
}

/// The pipeline's latest version, or PipelineNotFoundException.
async fn stored_pipeline<P: Ports>(
    ports: &P,
    name: &str,
) -> Result<StoredPipeline, ExecutionError> {
    ports
        .store()
        .pipeline(name)
        .await?
        .ok_or_else(|| ExecutionError::PipelineNotFound {
            account: LOCAL_ACCOUNT.to_string(),
            name: name.to_string(),
        })
}

/// The execution, or PipelineExecutionNotFoundException.
async fn stored_execution<P: Ports>(
    ports: &P,
    pipeline: &str,
    id: &str,
) -> Result<PipelineExecution, ExecutionError> {
    ports
        .store()
        .execution(pipeline, id)
        .await?
        .ok_or_else(|| ExecutionError::ExecutionNotFound {
            pipeline: pipeline.to_string(),
            id: id.to_string(),
        })
}

/// StartPipelineExecution: records the execution, then starts its machine. Pipeline variables given must
/// be declared; declared ones not given take their defaults; one without either is an error.
pub async fn start_execution<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    request: StartRequest,
) -> Result<PipelineExecution, ExecutionError> {
    let pipeline = stored_pipeline(ports, pipeline_name).await?;
    let variables = resolve_variables(&pipeline.declaration, &request.variables)
        .map_err(|error| ExecutionError::Validation(error.to_string()))?;
    let execution_id = request
        .pipeline_execution_id
        .unwrap_or_else(|| ports.ids().uuid());
    let trigger = request.trigger.unwrap_or_else(|| ExecutionTrigger {
        trigger_type: "StartPipelineExecution".to_string(),
        trigger_detail: None,
    });
    let mut execution = PipelineExecution {
        source_revisions: request.source_revisions,
        client_request_token: request.client_request_token,
        ..new_execution(
            &pipeline,
            execution_id,
            trigger,
            variables,
            ports.clock().now(),
        )
    };
    // Announced before the machine starts, so STARTED comes before the first stage's event.
    record_execution(ports, &execution).await?;
    let input = machine_input(pipeline_name, &execution.pipeline_execution_id);
    let started = ports
        .orchestrator()
        .start(&pipeline.machine, &execution.pipeline_execution_id, &input)
        .await;
    match started {
        Ok(orchestration) => {
            if let Some(updated) = update_execution(ports.store(), ports.clock(), &execution, |e| {
                e.orchestration = Some(orchestration.clone());
            })
            .await?
            {
                execution = updated;
            }
            Ok(execution)
        }
        Err(error) => {
            let summary = format!("The execution could not be started: {error}");
            change_execution(ports, &execution, |e| {
                e.status = PipelineExecutionStatus::Failed;
                e.status_summary = Some(summary.clone());
            })
            .await?;
            Err(error.into())
        }
    }
}

/// StopPipelineExecution. `abandon`: in-progress actions are marked Abandoned and the execution stops
/// now; otherwise it is Stopping until its running actions finish (no new action starts).
pub async fn stop_execution<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    execution_id: &str,
    abandon: bool,
    reason: Option<&str>,
) -> Result<PipelineExecution, ExecutionError> {
    let execution = stored_execution(ports, pipeline_name, execution_id).await?;
    match execution.status {
        PipelineExecutionStatus::InProgress => {}
        PipelineExecutionStatus::Stopping if abandon => {}
        PipelineExecutionStatus::Stopping => {
            return Err(ExecutionError::DuplicatedStop(execution_id.to_string()));
        }
        _ => return Err(ExecutionError::NotStoppable(execution_id.to_string())),
    }
    let summary = reason.map(str::to_string);
    if !abandon {
        let stopping = change_execution(ports, &execution, |e| {
            if e.status == PipelineExecutionStatus::InProgress {
                e.status = PipelineExecutionStatus::Stopping;
                e.status_summary = summary.clone();
            }
        })
        .await?;
        return Ok(stopping.unwrap_or(execution));
    }
    Ok(crate::dispatcher::finish_stopped(ports, &execution, summary).await?)
}

/// RetryStageExecution: runs a failed (or stopped) stage of an execution again, and the stages after it.
/// `FAILED_ACTIONS` re-runs the actions that did not succeed; `ALL_ACTIONS` re-runs every action.
pub async fn retry_stage<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    stage_name: &str,
    execution_id: &str,
    retry_mode: &str,
) -> Result<PipelineExecution, ExecutionError> {
    let pipeline = stored_pipeline(ports, pipeline_name).await?;
    if !pipeline
        .declaration
        .stages
        .iter()
        .any(|s| s.name == stage_name)
    {
        return Err(ExecutionError::StageNotFound {
            pipeline: pipeline_name.to_string(),
            stage: stage_name.to_string(),
        });
    }
    let execution = stored_execution(ports, pipeline_name, execution_id).await?;
    if execution.status.is_open() {
        return Err(ExecutionError::Conflict(format!(
            "Pipeline execution {execution_id} is still {}; a stage can be retried once it has failed",
            execution.status.name()
        )));
    }
    if execution.pipeline_version != pipeline.version() {
        return Err(ExecutionError::StageNotRetryable(format!(
            "The pipeline was updated (version {} → {}) after execution {execution_id} ran; its stages cannot be retried",
            execution.pipeline_version,
            pipeline.version()
        )));
    }
    let stages = ports
        .store()
        .stage_executions(pipeline_name, execution_id)
        .await?;
    let failed = stages.iter().any(|s| {
        s.stage_name == stage_name
            && matches!(
                s.status,
                StageExecutionStatus::Failed | StageExecutionStatus::Stopped
            )
    });
    if !failed {
        return Err(ExecutionError::StageNotRetryable(format!(
            "Stage {stage_name} of pipeline execution {execution_id} has not failed, so there is nothing to retry"
        )));
    }
    // A newer execution that entered the stage since makes this one stale.
    for other in ports.store().executions(pipeline_name).await? {
        if other.start_time <= execution.start_time || other.pipeline_execution_id == execution_id {
            continue;
        }
        let entered = ports
            .store()
            .stage_executions(pipeline_name, &other.pipeline_execution_id)
            .await?
            .iter()
            .any(|s| s.stage_name == stage_name);
        if entered {
            return Err(ExecutionError::NotLatest(format!(
                "Pipeline execution {} entered stage {stage_name} after {execution_id}; only the latest execution can be retried",
                other.pipeline_execution_id
            )));
        }
    }
    let attempt = execution.retry.as_ref().map_or(0, |r| r.attempt) + 1;
    let retry = StageRetry {
        stage_name: stage_name.to_string(),
        retry_mode: retry_mode.to_string(),
        attempt,
    };
    let mut retried = change_execution(ports, &execution, |e| {
        e.status = PipelineExecutionStatus::InProgress;
        e.status_summary = None;
        e.retry = Some(retry.clone());
    })
    .await?
    .unwrap_or(execution);
    let mut input = machine_input(pipeline_name, execution_id);
    input["resumeFrom"] = json!(stage_name);
    let orchestration = ports
        .orchestrator()
        .start(
            &pipeline.machine,
            &retry_run_name(execution_id, attempt),
            &input,
        )
        .await?;
    if let Some(updated) = update_execution(ports.store(), ports.clock(), &retried, |e| {
        e.orchestration = Some(orchestration.clone());
    })
    .await?
    {
        retried = updated;
    }
    Ok(retried)
}

/// Starts an execution whose id was chosen and written down beforehand (a schedule's firing, a webhook
/// delivery), so that doing it again after a crash starts nothing twice: when the execution is already
/// recorded, only its machine is started if it has none yet (the orchestrator's start is idempotent on
/// the execution id).
pub async fn start_once<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    request: StartRequest,
) -> Result<(), ExecutionError> {
    let Some(execution_id) = request.pipeline_execution_id.clone() else {
        return start_execution(ports, pipeline_name, request)
            .await
            .map(|_| ());
    };
    match start_execution(ports, pipeline_name, request).await {
        Ok(_) => Ok(()),
        Err(ExecutionError::Store(StoreError::AlreadyExists { .. })) => {
            resume_recorded(ports, pipeline_name, &execution_id).await
        }
        Err(other) => Err(other),
    }
}

/// Starts the machine of an execution recorded without one.
async fn resume_recorded<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
) -> Result<(), ExecutionError> {
    let store = ports.store();
    let Some(execution) = store.execution(pipeline, execution_id).await? else {
        return Ok(());
    };
    if execution.orchestration.is_some() || execution.status != PipelineExecutionStatus::InProgress
    {
        return Ok(());
    }
    let Some(stored) = store
        .pipeline_version(pipeline, execution.pipeline_version)
        .await?
    else {
        return Ok(());
    };
    let orchestration = ports
        .orchestrator()
        .start(
            &stored.machine,
            execution_id,
            &machine_input(pipeline, execution_id),
        )
        .await?;
    update_execution(store, ports.clock(), &execution, |e| {
        e.orchestration = Some(orchestration.clone());
    })
    .await?;
    Ok(())
}
