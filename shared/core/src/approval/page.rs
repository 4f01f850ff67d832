//! What the approval page shows and what its form does, over the records (docs/decisions.md, "The
//! approval page"); the HTML and the status codes are the host's (`sluice_api::approval`).
//!
//! [`view`] (a GET) only reads: whatever fetches the link — a reviewer, a mail scanner, a chat unfurler —
//! changes nothing. [`submit`] (a POST of the page's form) checks the link, the form token and the
//! fields before it reads a record, and decides through [`super::decide`], so a decision is recorded
//! once whichever way it comes.

use std::net::IpAddr;

use crate::pipeline::declaration::ActionCategory;
use crate::port::{ActionExecutionStore, PipelineStore, Ports};
use crate::record::ActionExecutionStatus;
use crate::time::Timestamp;

use super::link::{
    ApprovalKey, FormTokenError, LinkError, VerifiedLink, check_form_token, form_token, verify,
};
use super::{
    ApprovalError, ApprovalStatus, Decision, RecordedDecision, Reviewer, decide, recorded_decision,
};

/// The most characters of the name a reviewer gives.
pub const MAX_NAME_CHARS: usize = 100;
/// The most characters of a summary: PutApprovalResult's `result.summary`.
pub const MAX_SUMMARY_CHARS: usize = 512;

/// The page's address: the approval the path names and the link token.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub pipeline: &'a str,
    pub stage: &'a str,
    pub action: &'a str,
    pub link: &'a str,
}

/// Everything the page shows of one approval attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPage {
    pub pipeline: String,
    pub stage: String,
    pub action: String,
    pub execution_id: String,
    pub token: String,
    /// When the link, and the approval, expire.
    pub expires: Timestamp,
    /// The action's `CustomData` and `ExternalEntityLink`, as resolved for the attempt.
    pub custom_data: Option<String>,
    pub external_entity_link: Option<String>,
    /// What the execution's source actions fetched.
    pub sources: Vec<SourceShown>,
    pub state: PageState,
}

/// The revision one source action of the execution fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceShown {
    pub action: String,
    /// The commit id, object version or key the action recorded.
    pub revision: Option<String>,
    /// The commit message (the `CommitMessage` variable), else the action's summary.
    pub message: Option<String>,
}

/// Where the approval stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageState {
    /// Waiting for a decision: the page shows the form, with the token it must be posted with.
    Waiting {
        form: FormTokens,
    },
    Decided(RecordedDecision),
    /// The link's time is up and no decision came.
    Expired,
    /// The attempt failed without a decision: it timed out (or could not wait, its notification
    /// failing), with the message its record gives.
    Closed {
        at: Timestamp,
        message: String,
    },
    /// The attempt no longer waits: its execution was stopped or superseded, or the stage retried
    /// (a new attempt has a link of its own).
    Abandoned {
        at: Timestamp,
    },
}

/// The hidden fields of the page's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormTokens {
    pub nonce: String,
    pub token: String,
}

/// The fields of a posted form, as given (each at most once).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageForm<'a> {
    /// `approve` or `reject`: the button pressed.
    pub decision: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub name: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub form_token: Option<&'a str>,
}

/// What a posted form came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// This form's decision is recorded and carried out.
    Recorded,
    /// A decision was recorded before (a second POST, or PutApprovalResult): it stands.
    AlreadyDecided,
    /// The approval expired, timed out or no longer waits: nothing was recorded.
    Closed,
}

/// Why the page cannot be shown or its form not taken. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    FormToken(#[from] FormTokenError),
    /// A field of the form breaks its rule.
    #[error("{0}")]
    Field(String),
    /// The link is Sluice's, but what it names is gone (the pipeline or its execution was deleted).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
}

impl PageError {
    /// Whether this is the store's failure, which may pass when tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Approval(ApprovalError::Store(store)) if store.is_retryable())
    }
}

/// The page a GET of the link shows. Reads only.
pub async fn view<P: Ports>(
    ports: &P,
    key: &ApprovalKey,
    request: &PageRequest<'_>,
) -> Result<ApprovalPage, PageError> {
    let link = verify(
        key,
        request.pipeline,
        request.stage,
        request.action,
        request.link,
    )?;
    let mut page = load(ports, request, &link).await?;
    if let PageState::Waiting { form } = &mut page.state {
        let nonce = ports.ids().token(32);
        form.token = form_token(key, request.link, &nonce);
        form.nonce = nonce;
    }
    Ok(page)
}

/// Takes a posted form: checks the link, the form token and the fields, then decides. Returns the page
/// as it stands afterwards and what the form came to.
pub async fn submit<P: Ports>(
    ports: &P,
    key: &ApprovalKey,
    request: &PageRequest<'_>,
    form: &PageForm<'_>,
    address: Option<IpAddr>,
) -> Result<(ApprovalPage, Submitted), PageError> {
    let link = verify(
        key,
        request.pipeline,
        request.stage,
        request.action,
        request.link,
    )?;
    check_form_token(key, request.link, form.nonce, form.form_token)?;
    let status = match form.decision {
        Some("approve") => ApprovalStatus::Approved,
        Some("reject") => ApprovalStatus::Rejected,
        Some(_) => {
            return Err(PageError::Field(
                "The field decision must be approve or reject".to_string(),
            ));
        }
        None => {
            return Err(PageError::Field(
                "The form has no decision: press Approve or Reject".to_string(),
            ));
        }
    };
    let name = form.name.unwrap_or_default().trim();
    if name.is_empty() {
        return Err(PageError::Field(
            "The field name (your name) is required: it is recorded with the decision".to_string(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(PageError::Field(format!(
            "The field name (your name) must be at most {MAX_NAME_CHARS} characters, without control characters"
        )));
    }
    let summary = form.summary.unwrap_or_default().trim();
    if summary.chars().count() > MAX_SUMMARY_CHARS
        || summary
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(PageError::Field(format!(
            "The field summary must be at most {MAX_SUMMARY_CHARS} characters, without control characters other than line breaks and tabs"
        )));
    }
    let page = load(ports, request, &link).await?;
    let submitted = match page.state {
        // A recorded decision may not have been carried out yet (its request stopped half-way):
        // deciding again carries it out, and says it was there first.
        PageState::Waiting { .. } | PageState::Decided(_) => {
            let decision = Decision {
                pipeline: request.pipeline,
                stage: request.stage,
                action: request.action,
                token: &link.token,
                execution_id: Some(&link.execution_id),
                status,
                summary,
                reviewer: Some(Reviewer {
                    name: name.to_string(),
                    address: address.map(|a| a.to_string()),
                }),
            };
            match decide(ports, &decision).await {
                Ok(_) => Submitted::Recorded,
                Err(ApprovalError::AlreadyCompleted { .. }) => Submitted::AlreadyDecided,
                Err(ApprovalError::InvalidToken { .. }) => Submitted::Closed,
                Err(other) => return Err(other.into()),
            }
        }
        PageState::Expired | PageState::Closed { .. } | PageState::Abandoned { .. } => {
            return Ok((page, Submitted::Closed));
        }
    };
    Ok((load(ports, request, &link).await?, submitted))
}

/// The attempt the verified link names, and where it stands.
async fn load<P: Ports>(
    ports: &P,
    request: &PageRequest<'_>,
    link: &VerifiedLink,
) -> Result<ApprovalPage, PageError> {
    let attempts = ports
        .store()
        .action_executions(request.pipeline, Some(&link.execution_id))
        .await
        .map_err(ApprovalError::from)?;
    let Some(attempt) = attempts.iter().find(|a| {
        a.action_execution_id == link.token
            && a.stage_name == request.stage
            && a.action_name == request.action
    }) else {
        let pipeline_exists = ports
            .store()
            .pipeline(request.pipeline)
            .await
            .map_err(ApprovalError::from)?
            .is_some();
        return Err(PageError::NotFound(if pipeline_exists {
            format!(
                "Execution {} of pipeline {} is no longer kept, so this approval cannot be shown",
                link.execution_id, request.pipeline
            )
        } else {
            format!(
                "Pipeline {} no longer exists, so this approval cannot be shown",
                request.pipeline
            )
        }));
    };
    let decision = recorded_decision(ports, &link.token).await?;
    let now = ports.clock().now();
    let state = match (attempt.status, decision) {
        (_, Some(decision)) => PageState::Decided(decision),
        (ActionExecutionStatus::InProgress, None) if now >= link.expires => PageState::Expired,
        (ActionExecutionStatus::InProgress, None) => PageState::Waiting {
            form: FormTokens {
                nonce: String::new(),
                token: String::new(),
            },
        },
        // Approved before decisions were recorded apart: the record says what it can.
        (ActionExecutionStatus::Succeeded, None) => PageState::Decided(RecordedDecision {
            pipeline: request.pipeline.to_string(),
            stage: request.stage.to_string(),
            action: request.action.to_string(),
            status: ApprovalStatus::Approved,
            summary: attempt.summary.clone().unwrap_or_default(),
            reviewer: None,
            decided: attempt.last_update_time,
        }),
        (ActionExecutionStatus::Failed, None) => PageState::Closed {
            at: attempt.last_update_time,
            message: attempt
                .error_details
                .as_ref()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "the approval failed".to_string()),
        },
        (ActionExecutionStatus::Abandoned, None) => PageState::Abandoned {
            at: attempt.last_update_time,
        },
    };
    let shown = |key: &str| {
        attempt
            .resolved_configuration
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let sources = attempts
        .iter()
        .filter(|a| {
            a.action_type_id.category == ActionCategory::Source
                && a.status == ActionExecutionStatus::Succeeded
        })
        .map(|a| SourceShown {
            action: a.action_name.clone(),
            revision: a
                .external_execution_id
                .clone()
                .or_else(|| a.output_artifacts.iter().find_map(|o| o.revision.clone())),
            message: a
                .output_variables
                .get("CommitMessage")
                .cloned()
                .or_else(|| a.summary.clone()),
        })
        .collect();
    Ok(ApprovalPage {
        pipeline: request.pipeline.to_string(),
        stage: request.stage.to_string(),
        action: request.action.to_string(),
        execution_id: link.execution_id.clone(),
        token: link.token.clone(),
        expires: link.expires,
        custom_data: shown("CustomData"),
        external_entity_link: shown("ExternalEntityLink"),
        sources,
        state,
    })
}
