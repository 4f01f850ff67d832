//! Manual approvals: PutApprovalResult and the approval page. The approval token is the waiting
//! attempt's action execution id (a UUID, as the API model's ApprovalToken pattern requires); it is also
//! the attempt's externalExecutionId, which PARALLEL-mode pipelines approve with.
//!
//! Every decision, from the API or from the page ([`page`]), goes through [`decide`]: it is recorded
//! once (a document of kind [`DECISION_KIND`] keyed by the approval token, created only if there is
//! none) and then carried out, so two decisions sent at once cannot both win, and a decision recorded by
//! a process that stopped before carrying it out is carried out by the next request for it.

pub mod link;
pub mod page;

use serde::{Deserialize, Serialize};

use crate::action::catalog::timeout_minutes;
use crate::builders::notice::{ApprovalNeeded, approval_needed};
use crate::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use crate::port::{
    ActionExecutionStore, Job, JobFailure, JobOutcome, JobSuccess, NoNotifier, Notifier,
    NotifyError, PipelineStore, Ports, ResourceStore, StoreError,
};
use crate::problem::{Coded, Exception, no_pipeline, no_stage};
use crate::record::{ActionExecution, ActionExecutionStatus, LOCAL_ACCOUNT};
use crate::time::Timestamp;
use crate::worker::{WorkerError, complete_action};

use link::{ApprovalAttempt, ReviewLinks, expiry};

/// `ApprovalStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    Approved,
    Rejected,
}

impl ApprovalStatus {
    /// The status the decided attempt gets.
    pub fn action_status(self) -> ActionExecutionStatus {
        match self {
            Self::Approved => ActionExecutionStatus::Succeeded,
            Self::Rejected => ActionExecutionStatus::Failed,
        }
    }
}

/// The resource kind decisions are recorded under, keyed by approval token.
pub const DECISION_KIND: &str = "approval-decision";

/// Who decided on the approval page: the name they gave and the address the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reviewer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Reviewer {
    /// As the attempt's `lastUpdatedBy` shows it: `Ada Lovelace (192.0.2.7)`.
    pub fn who(&self) -> String {
        match &self.address {
            Some(address) => format!("{} ({address})", self.name),
            None => self.name.clone(),
        }
    }
}

/// A decision as recorded, before it is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedDecision {
    pub pipeline: String,
    pub stage: String,
    pub action: String,
    pub status: ApprovalStatus,
    pub summary: String,
    /// `None`: decided through PutApprovalResult (`sluice approve`, the aws CLI), whose caller the
    /// record does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<Reviewer>,
    pub decided: Timestamp,
}

/// A decision to make: what PutApprovalResult takes, and who, when the page sends it.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub pipeline: &'a str,
    pub stage: &'a str,
    pub action: &'a str,
    pub token: &'a str,
    /// The pipeline execution of the attempt, when the caller knows it (the page's link names it): the
    /// attempt is looked for in it alone rather than in the pipeline's whole history.
    pub execution_id: Option<&'a str>,
    pub status: ApprovalStatus,
    pub summary: &'a str,
    pub reviewer: Option<Reviewer>,
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
    let decision = Decision {
        pipeline,
        stage,
        action,
        token,
        execution_id: None,
        status,
        summary,
        reviewer: None,
    };
    Ok(decide(ports, &decision).await?.last_update_time)
}

/// Decides the waiting approval `decision.token` names: records the decision once, then carries it out
/// (the attempt's record, the machine's answer). Returns the decided attempt. A decision already
/// recorded for the token wins: it is carried out if it was not yet, and this one is refused as
/// [`ApprovalError::AlreadyCompleted`].
pub async fn decide<P: Ports>(
    ports: &P,
    decision: &Decision<'_>,
) -> Result<ActionExecution, ApprovalError> {
    let Decision {
        pipeline,
        stage,
        action,
        token,
        status,
        summary,
        ..
    } = *decision;
    if summary.chars().count() > 512 {
        return Err(ApprovalError::Validation(
            "1 validation error detected: Value at 'result.summary' failed to satisfy constraint: Member must have length less than or equal to 512".to_string(),
        ));
    }
    check_action(ports, pipeline, stage, action).await?;
    let attempt = ports
        .store()
        .action_executions(pipeline, decision.execution_id)
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
    let recorded = RecordedDecision {
        pipeline: pipeline.to_string(),
        stage: stage.to_string(),
        action: action.to_string(),
        status,
        summary: summary.to_string(),
        reviewer: decision.reviewer.clone(),
        decided: ports.clock().now(),
    };
    let document = serde_json::to_value(&recorded).map_err(|e| {
        ApprovalError::Store(StoreError::Backend {
            message: format!("the decision cannot be written as JSON: {e}"),
            source: Some(Box::new(e)),
        })
    })?;
    match ports
        .store()
        .put_resource(DECISION_KIND, token, &document, 0)
        .await
    {
        Ok(()) => Ok(carry_out(ports, attempt, &recorded).await?),
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            let earlier = recorded_decision(ports, token).await?.ok_or_else(|| {
                ApprovalError::Store(StoreError::Conflict {
                    what: format!("the decision of approval {token}"),
                })
            })?;
            // Recorded by a request that did not get to carry it out: carry it out now.
            carry_out(ports, attempt, &earlier).await?;
            Err(ApprovalError::AlreadyCompleted {
                pipeline: pipeline.to_string(),
                stage: stage.to_string(),
                action: action.to_string(),
                status: earlier.status.action_status().name().to_string(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// The decision recorded for the approval `token`, if any.
pub async fn recorded_decision<P: Ports>(
    ports: &P,
    token: &str,
) -> Result<Option<RecordedDecision>, ApprovalError> {
    let Some((document, _)) = ports.store().resource(DECISION_KIND, token).await? else {
        return Ok(None);
    };
    serde_json::from_value(document).map(Some).map_err(|e| {
        ApprovalError::Store(StoreError::Backend {
            message: format!("the recorded decision of approval {token} cannot be read: {e}"),
            source: Some(Box::new(e)),
        })
    })
}

/// Ends the waiting attempt as `decision` says: its record (status, summary, who) and the machine's
/// answer.
async fn carry_out<P: Ports>(
    ports: &P,
    mut attempt: ActionExecution,
    decision: &RecordedDecision,
) -> Result<ActionExecution, WorkerError> {
    let summary = (!decision.summary.is_empty()).then(|| decision.summary.clone());
    let outcome = match decision.status {
        ApprovalStatus::Approved => Ok(JobSuccess {
            summary: summary.clone(),
            ..JobSuccess::default()
        }),
        ApprovalStatus::Rejected => Err(JobFailure::job_failed(match &summary {
            Some(text) => format!("Rejected: {text}"),
            None => "Rejected".to_string(),
        })),
    };
    attempt.last_updated_by = decision.reviewer.as_ref().map(Reviewer::who);
    complete_action(ports, attempt, outcome).await
}

/// When the approval attempt `attempt` expires, by the pipeline version it runs: its start and the
/// action's timeout (`None` when the version does not declare the action).
pub fn attempt_expiry(
    declaration: &PipelineDeclaration,
    attempt: &ActionExecution,
) -> Option<Timestamp> {
    let action = declaration
        .stages
        .iter()
        .find(|s| s.name == attempt.stage_name)?
        .actions
        .iter()
        .find(|a| a.name == attempt.action_name)?;
    Some(expiry(attempt.start_time, timeout_minutes(action)))
}

/// The review link of a waiting approval attempt, as GetPipelineState's `externalExecutionUrl` shows
/// it: `None` unless `links` are signed and `declaration` (the version the attempt runs) declares it.
pub fn attempt_review_link(
    links: &ReviewLinks,
    declaration: &PipelineDeclaration,
    attempt: &ActionExecution,
) -> Option<String> {
    links.key()?;
    let expires = attempt_expiry(declaration, attempt)?;
    Some(links.review(
        &ApprovalAttempt {
            pipeline: &attempt.pipeline_name,
            stage: &attempt.stage_name,
            action: &attempt.action_name,
            execution_id: &attempt.pipeline_execution_id,
            token: &attempt.action_execution_id,
        },
        expires,
    ))
}

/// Where a manual approval's notifications go, and what they say about the runtime they come from.
pub struct ApprovalNotices<N> {
    pub notifier: N,
    /// The region the message reports (`AWS_REGION` on AWS).
    pub region: String,
    /// The console and review links in the message.
    pub links: ReviewLinks,
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
        // The attempt's start and the action's timeout, as GetPipelineState's link has them, so the
        // message and the state link to the same page.
        let timeout = i64::try_from(job.timeout.as_millis()).unwrap_or(i64::MAX);
        let expires =
            Timestamp::from_epoch_millis(job.started.epoch_millis().saturating_add(timeout));
        let attempt = ApprovalAttempt {
            pipeline: &job.pipeline,
            stage: &job.stage,
            action: &job.action.name,
            execution_id: &job.pipeline_execution_id,
            token: &job.action_execution_id,
        };
        let console_link = notices.links.console(&job.pipeline);
        let review_link = notices.links.review(&attempt, expires);
        let needed = ApprovalNeeded {
            pipeline: &job.pipeline,
            stage: &job.stage,
            action: &job.action.name,
            token: &job.action_execution_id,
            expires,
            configuration: &job.configuration,
            region: &notices.region,
            console_link: &console_link,
            review_link: &review_link,
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
