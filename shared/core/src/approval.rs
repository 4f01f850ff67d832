//! Manual approvals: PutApprovalResult. The approval token is the waiting attempt's action execution id
//! (a UUID, as the API model's ApprovalToken pattern requires); it is also the attempt's
//! externalExecutionId, which PARALLEL-mode pipelines approve with.

use crate::execution::{ActionExecution, ActionExecutionStatus, LOCAL_ACCOUNT};
use crate::pipeline::declaration::ActionCategory;
use crate::port::{ActionExecutionStore, PipelineStore, Ports, StoreError};
use crate::time::Timestamp;
use crate::worker::{JobFailure, JobSuccess, WorkerError, complete_action};

/// `ApprovalStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Approved,
    Rejected,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error(
        "PipelineNotFoundException: Account '{account}' does not have a pipeline with name '{name}'"
    )]
    PipelineNotFound { account: String, name: String },
    #[error("StageNotFoundException: Pipeline '{pipeline}' does not have a stage named '{stage}'")]
    StageNotFound { pipeline: String, stage: String },
    #[error(
        "ActionNotFoundException: Stage '{stage}' of pipeline '{pipeline}' does not have an approval action named '{action}'"
    )]
    ActionNotFound {
        pipeline: String,
        stage: String,
        action: String,
    },
    #[error(
        "InvalidApprovalTokenException: The token {token} for approval action {action} in stage {stage} of pipeline {pipeline} is not valid: it already received a response or has expired"
    )]
    InvalidToken {
        pipeline: String,
        stage: String,
        action: String,
        token: String,
    },
    #[error(
        "ApprovalAlreadyCompletedException: Approval action {action} in stage {stage} of pipeline {pipeline} already completed: {status}"
    )]
    AlreadyCompleted {
        pipeline: String,
        stage: String,
        action: String,
        status: String,
    },
    #[error("ValidationException: {0}")]
    Validation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// The approvals of an action waiting for a decision, newest first.
pub async fn waiting_approvals<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    action: &str,
) -> Result<Vec<ActionExecution>, ApprovalError> {
    check_action(ports, pipeline, stage, action).await?;
    let mut waiting: Vec<ActionExecution> = ports
        .store()
        .action_executions(pipeline, None)
        .await?
        .into_iter()
        .filter(|a| {
            a.stage_name == stage
                && a.action_name == action
                && a.status == ActionExecutionStatus::InProgress
        })
        .collect();
    waiting.reverse();
    Ok(waiting)
}

async fn check_action<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    action: &str,
) -> Result<(), ApprovalError> {
    let stored =
        ports
            .store()
            .pipeline(pipeline)
            .await?
            .ok_or_else(|| ApprovalError::PipelineNotFound {
                account: LOCAL_ACCOUNT.to_string(),
                name: pipeline.to_string(),
            })?;
    let declared_stage = stored
        .declaration
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| ApprovalError::StageNotFound {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
        })?;
    if !declared_stage
        .actions
        .iter()
        .any(|a| a.name == action && a.action_type_id.category == ActionCategory::Approval)
    {
        return Err(ApprovalError::ActionNotFound {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
            action: action.to_string(),
        });
    }
    Ok(())
}

/// PutApprovalResult: approves or rejects the waiting approval `token` names. Returns when it was decided.
pub async fn put_approval_result<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    action: &str,
    token: &str,
    status: ApprovalStatus,
    summary: &str,
) -> Result<Timestamp, ApprovalError> {
    if summary.chars().count() > 512 {
        return Err(ApprovalError::Validation(
            "1 validation error detected: Value at 'result.summary' failed to satisfy constraint: Member must have length less than or equal to 512".to_string(),
        ));
    }
    check_action(ports, pipeline, stage, action).await?;
    let attempt = ports
        .store()
        .action_executions(pipeline, None)
        .await?
        .into_iter()
        .find(|a| {
            a.action_execution_id == token && a.stage_name == stage && a.action_name == action
        })
        .ok_or_else(|| ApprovalError::InvalidToken {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
            action: action.to_string(),
            token: token.to_string(),
        })?;
    match attempt.status {
        ActionExecutionStatus::InProgress => {}
        ActionExecutionStatus::Abandoned => {
            return Err(ApprovalError::InvalidToken {
                pipeline: pipeline.to_string(),
                stage: stage.to_string(),
                action: action.to_string(),
                token: token.to_string(),
            });
        }
        done => {
            return Err(ApprovalError::AlreadyCompleted {
                pipeline: pipeline.to_string(),
                stage: stage.to_string(),
                action: action.to_string(),
                status: done.name().to_string(),
            });
        }
    }
    let summary = (!summary.is_empty()).then(|| summary.to_string());
    let outcome = match status {
        ApprovalStatus::Approved => Ok(JobSuccess {
            summary: summary.clone(),
            ..JobSuccess::default()
        }),
        ApprovalStatus::Rejected => Err(JobFailure::job_failed(match &summary {
            Some(text) => format!("Rejected: {text}"),
            None => "Rejected".to_string(),
        })),
    };
    let decided = complete_action(ports, attempt, outcome).await?;
    Ok(decided.last_update_time)
}

/// The Manual approval action's provider, the same in both runtimes: the action waits, and
/// PutApprovalResult (`sluice approve|reject` locally) decides it.
pub struct ManualApproval;

impl crate::worker::ActionProvider for ManualApproval {
    fn run<'a>(
        &'a self,
        _job: &'a crate::worker::Job,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::worker::JobOutcome> + Send + 'a>>
    {
        Box::pin(async { crate::worker::JobOutcome::Waiting })
    }
}
