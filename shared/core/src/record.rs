//! Records: the types the stores keep (a stored pipeline, pipeline, stage and action executions with
//! CodePipeline's status values, artifact locations). Types only: no effects, no ports. Status changes are
//! written by [`crate::recorder`]; events and new records are derived from them by [`crate::builders`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pipeline::declaration::{
    ActionTypeId, Configuration, ExecutionMode, PipelineDeclaration,
};
use crate::time::Timestamp;

/// `PipelineExecutionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PipelineExecutionStatus {
    Cancelled,
    InProgress,
    Stopped,
    Stopping,
    Succeeded,
    Superseded,
    Failed,
}

impl PipelineExecutionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancelled => "Cancelled",
            Self::InProgress => "InProgress",
            Self::Stopped => "Stopped",
            Self::Stopping => "Stopping",
            Self::Succeeded => "Succeeded",
            Self::Superseded => "Superseded",
            Self::Failed => "Failed",
        }
    }

    /// Still running (or finishing what runs, when stopping).
    pub fn is_open(self) -> bool {
        matches!(self, Self::InProgress | Self::Stopping)
    }
}

/// `StageExecutionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StageExecutionStatus {
    Cancelled,
    InProgress,
    Failed,
    Stopped,
    Stopping,
    Succeeded,
    Skipped,
}

impl StageExecutionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancelled => "Cancelled",
            Self::InProgress => "InProgress",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
            Self::Stopping => "Stopping",
            Self::Succeeded => "Succeeded",
            Self::Skipped => "Skipped",
        }
    }
}

/// `ActionExecutionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActionExecutionStatus {
    InProgress,
    Abandoned,
    Succeeded,
    Failed,
}

impl ActionExecutionStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Abandoned => "Abandoned",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

/// What started an execution (`ExecutionTrigger`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionTrigger {
    /// `TriggerType`: StartPipelineExecution, CreatePipeline, Webhook, …
    pub trigger_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_detail: Option<String>,
}

/// A source revision the execution is pinned to (`SourceRevisionOverride`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRevisionOverride {
    pub action_name: String,
    /// COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID or S3_OBJECT_KEY.
    pub revision_type: String,
    pub revision_value: String,
}

/// One pipeline execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineExecution {
    pub pipeline_name: String,
    pub pipeline_version: i32,
    pub pipeline_execution_id: String,
    pub status: PipelineExecutionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    pub execution_mode: ExecutionMode,
    pub trigger: ExecutionTrigger,
    /// Pipeline variables as resolved at start: declared defaults with the values given at start over them.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub source_revisions: Vec<SourceRevisionOverride>,
    /// The orchestrator's execution (an SFN execution ARN on AWS), once started; a retry starts another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration: Option<String>,
    /// StartPipelineExecution's clientRequestToken: a second start with the same token is the same
    /// execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// The latest stage retry, which the workers read to skip succeeded actions (FAILED_ACTIONS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<StageRetry>,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    /// The version this record was read at; the store checks it on update.
    #[serde(default)]
    pub record_version: u64,
}

/// A retry of a failed stage (RetryStageExecution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRetry {
    pub stage_name: String,
    /// `FAILED_ACTIONS` or `ALL_ACTIONS`.
    pub retry_mode: String,
    /// 1 for the first retry of the execution.
    pub attempt: u32,
}

/// One stage of one pipeline execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageExecution {
    pub pipeline_name: String,
    pub pipeline_execution_id: String,
    pub stage_name: String,
    pub status: StageExecutionStatus,
    pub last_update_time: Timestamp,
    /// The entry token of the admission that let the execution into the stage (this attempt of it):
    /// an admission carried out again finds itself recorded and leaves the record as it is, whatever
    /// the stage went on to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

/// An input or output artifact of an action execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDetail {
    pub name: String,
    pub location: ArtifactLocation,
    /// The source revision the artifact holds (a commit id, an object version), set by source actions
    /// and carried to the actions that read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// Why an action failed (`ErrorDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// `FailureType`: JobFailed, ConfigurationError, …
    pub code: String,
    pub message: String,
}

/// One attempt of one action (`ActionExecutionDetail`), with what it resolved and produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecution {
    pub pipeline_name: String,
    pub pipeline_execution_id: String,
    pub pipeline_version: i32,
    pub stage_name: String,
    pub action_name: String,
    pub action_execution_id: String,
    /// Which run of the pipeline execution made this attempt: 0, then one more per RetryStageExecution
    /// ([`crate::protocol::run_attempt`]). With the execution, stage and action it is the attempt's natural key.
    #[serde(default)]
    pub attempt: u32,
    pub action_type_id: ActionTypeId,
    pub status: ActionExecutionStatus,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    /// The configuration as declared, and with its variable references resolved.
    pub configuration: Configuration,
    pub resolved_configuration: Configuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub input_artifacts: Vec<ArtifactDetail>,
    pub output_artifacts: Vec<ArtifactDetail>,
    #[serde(default)]
    pub output_variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_execution_id: Option<String>,
    /// Where the action's log is (a file locally, a log stream URL on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
    /// The task token the action's state waits on; approvals are decided with it.
    pub token: String,
    /// Who decided the attempt from outside: the reviewer of an approval who named themselves on the
    /// approval page, with the address they wrote from (GetPipelineState's `lastUpdatedBy`,
    /// ListActionExecutions' `updatedBy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
}

impl ActionExecution {
    /// The attempt with its summary and failure message cut to the model's maxima
    /// ([`crate::model::limit`]), as every write stores it; `None` when it fits as it is. An empty summary
    /// is dropped and an empty message says there was none: the model wants at least one character.
    pub fn fitted_to_model(&self) -> Option<ActionExecution> {
        use crate::model::limit::EXECUTION_SUMMARY;
        use crate::model::limit::MESSAGE;
        use crate::model::limit::fit;
        let summary = self.summary.as_deref().map(|s| fit(s, EXECUTION_SUMMARY));
        let message = self
            .error_details
            .as_ref()
            .map(|details| fit(&details.message, MESSAGE));
        let fits = |text: &Option<std::borrow::Cow<'_, str>>| {
            text.as_ref()
                .is_none_or(|t| matches!(t, std::borrow::Cow::Borrowed(_)) && !t.is_empty())
        };
        if fits(&summary) && fits(&message) {
            return None;
        }
        let mut fitted = self.clone();
        fitted.summary = summary
            .filter(|s| !s.is_empty())
            .map(std::borrow::Cow::into_owned);
        if let (Some(details), Some(message)) = (fitted.error_details.as_mut(), message) {
            details.message = if message.is_empty() {
                format!("The action failed with {} and no message", details.code)
            } else {
                message.into_owned()
            };
        }
        Some(fitted)
    }
}

/// The account id local pipelines are reported under (the one moto and the docs use).
pub const LOCAL_ACCOUNT: &str = "123456789012";

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

/// Where an artifact lives: CodePipeline's S3 location (a bucket is a folder locally).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    pub bucket_name: String,
    pub object_key: String,
}
