//! Manual approvals: PutApprovalResult. The approval token is the waiting attempt's action execution id
//! (a UUID, as the API model's ApprovalToken pattern requires); it is also the attempt's
//! externalExecutionId, which PARALLEL-mode pipelines approve with.

use std::sync::Arc;

use crate::builders::notice::{ApprovalNeeded, approval_needed};
use crate::pipeline::declaration::ActionCategory;
use crate::port::{
    ActionExecutionStore, Clock, Job, JobFailure, JobOutcome, JobSuccess, NoNotifier, Notifier,
    NotifyError, PipelineStore, Ports, StoreError,
};
use crate::problem::{Coded, Exception, no_pipeline, no_stage};
use crate::record::{ActionExecution, ActionExecutionStatus, LOCAL_ACCOUNT};
use crate::time::Timestamp;
use crate::worker::{WorkerError, complete_action};

/// `ApprovalStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Approved,
    Rejected,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("{}", no_pipeline(account, name))]
    PipelineNotFound { account: String, name: String },
    #[error("{}", no_stage(pipeline, stage))]
    StageNotFound { pipeline: String, stage: String },
    #[error(
        "Stage '{stage}' of pipeline '{pipeline}' does not have an approval action named '{action}'"
    )]
    ActionNotFound {
        pipeline: String,
        stage: String,
        action: String,
    },
    #[error(
        "The token {token} for approval action {action} in stage {stage} of pipeline {pipeline} is not valid: it already received a response or has expired"
    )]
    InvalidToken {
        pipeline: String,
        stage: String,
        action: String,
        token: String,
    },
    #[error(
        "Approval action {action} in stage {stage} of pipeline {pipeline} already completed: {status}"
    )]
    AlreadyCompleted {
        pipeline: String,
        stage: String,
        action: String,
        status: String,
    },
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

impl Coded for ApprovalError {
    fn exception(&self) -> Exception {
        match self {
            Self::PipelineNotFound { .. } => Exception::PipelineNotFoundException,
            Self::StageNotFound { .. } => Exception::StageNotFoundException,
            Self::ActionNotFound { .. } => Exception::ActionNotFoundException,
            Self::InvalidToken { .. } => Exception::InvalidApprovalTokenException,
            Self::AlreadyCompleted { .. } => Exception::ApprovalAlreadyCompletedException,
            Self::Validation(_) => Exception::ValidationException,
            Self::Store(error) => error.exception(),
            // The decision could not be delivered to the machine: Sluice failed, not the request.
            Self::Worker(_) => Exception::InternalFailure,
        }
    }
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

/// Where a manual approval's notifications go, and what they say about the runtime they come from.
pub struct ApprovalNotices<N> {
    pub notifier: N,
    /// The region the message reports (`AWS_REGION` on AWS).
    pub region: String,
    /// The base of the console and review links in the message ([`ApprovalNeeded::review_link_base`]).
    pub review_link_base: String,
    /// When the approval starts waiting: its expiry is this plus the action's timeout.
    pub clock: Arc<dyn Clock>,
}

/// The Manual approval action's provider, the same in both runtimes: the action waits, and
/// PutApprovalResult (`sluice approve|reject` locally) decides it. When the action names a
/// `NotificationArn`, CodePipeline's approval-needed message ([`approval_needed`]) is published there
/// first; a topic that is not an SNS topic ARN or does not exist fails the action as a configuration
/// error, and a notifier that fails fails it as JobFailed, so no approval waits for a reviewer nobody told.
///
/// A handed-over-again task (after a restart) publishes again: a reviewer may get the message twice, as
/// SNS itself delivers at least once.
pub struct ManualApproval<N = NoNotifier> {
    notices: Option<ApprovalNotices<N>>,
}

impl ManualApproval {
    /// An approval that sends no notifications: an action naming a `NotificationArn` fails with a
    /// configuration error saying this runtime cannot send it yet.
    pub fn without_notifier() -> Self {
        Self { notices: None }
    }
}

impl<N: Notifier> ManualApproval<N> {
    pub fn with_notifier(notices: ApprovalNotices<N>) -> Self {
        Self {
            notices: Some(notices),
        }
    }

    /// Publishes the approval-needed message when the action names a topic.
    async fn notify(&self, job: &Job) -> Result<(), JobOutcome> {
        let named = job
            .configuration
            .get("NotificationArn")
            .is_some_and(|t| !t.is_empty());
        if !named {
            return Ok(());
        }
        let Some(notices) = &self.notices else {
            return Err(JobOutcome::configuration_error(format!(
                "Action {} names a NotificationArn, but Sluice cannot send approval notifications \
                 in this runtime yet (no notifier is configured)",
                job.action.name
            )));
        };
        let started = notices.clock.now();
        let timeout = i64::try_from(job.timeout.as_millis()).unwrap_or(i64::MAX);
        let needed = ApprovalNeeded {
            pipeline: &job.pipeline,
            stage: &job.stage,
            action: &job.action.name,
            token: &job.action_execution_id,
            expires: Timestamp::from_epoch_millis(started.epoch_millis().saturating_add(timeout)),
            configuration: &job.configuration,
            region: &notices.region,
            review_link_base: &notices.review_link_base,
        };
        let (topic, message) = match approval_needed(&needed) {
            Ok(Some(notice)) => notice,
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(JobOutcome::configuration_error(format!(
                    "Action {}: {error}",
                    job.action.name
                )));
            }
        };
        match notices.notifier.publish(&topic, &message).await {
            Ok(_) => Ok(()),
            Err(error @ (NotifyError::InvalidTopic { .. } | NotifyError::TopicNotFound { .. })) => {
                Err(JobOutcome::configuration_error(format!(
                    "Action {} cannot send its approval notification (NotificationArn): {error}",
                    job.action.name
                )))
            }
            Err(error) => Err(JobOutcome::job_failed(format!(
                "Action {} cannot send its approval notification: {error}",
                job.action.name
            ))),
        }
    }
}

impl<N: Notifier + 'static> crate::port::ActionProvider for ManualApproval<N> {
    fn run<'a>(
        &'a self,
        job: &'a Job,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async move {
            match self.notify(job).await {
                Ok(()) => JobOutcome::Waiting,
                Err(failed) => failed,
            }
        })
    }
}
