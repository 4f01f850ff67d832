//! The shapes of the API's requests and answers the control commands send and read: the answers of
//! GetPipelineState, ListPipelines and ListPipelineExecutions, read with serde from the local handlers' JSON
//! (target/local.rs) and built from the SDK's types for an API (target/remote.rs); the decision
//! PutApprovalResult sends.

use serde::Deserialize;
use sluice_core::approval::ApprovalStatus;

/// A decision for PutApprovalResult.
pub(crate) struct Approval<'a> {
    pub(crate) pipeline: &'a str,
    pub(crate) stage: &'a str,
    pub(crate) action: &'a str,
    pub(crate) token: &'a str,
    pub(crate) status: ApprovalStatus,
    pub(crate) summary: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineState {
    pub(crate) pipeline_name: String,
    pub(crate) pipeline_version: Option<i64>,
    #[serde(default)]
    pub(crate) stage_states: Vec<StageState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageState {
    pub(crate) stage_name: String,
    pub(crate) inbound_transition_state: Option<Transition>,
    pub(crate) inbound_execution: Option<StageExecution>,
    pub(crate) latest_execution: Option<StageExecution>,
    #[serde(default)]
    pub(crate) action_states: Vec<ActionState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transition {
    pub(crate) enabled: bool,
    pub(crate) disabled_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageExecution {
    pub(crate) pipeline_execution_id: String,
    pub(crate) status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionState {
    pub(crate) action_name: String,
    pub(crate) latest_execution: Option<ActionExecution>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionExecution {
    pub(crate) status: Option<String>,
    pub(crate) summary: Option<String>,
    /// Epoch seconds.
    pub(crate) last_status_change: Option<f64>,
    pub(crate) token: Option<String>,
    pub(crate) error_details: Option<ErrorDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetails {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineList {
    #[serde(default)]
    pub(crate) pipelines: Vec<PipelineSummary>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineSummary {
    pub(crate) name: String,
    pub(crate) version: Option<i64>,
    pub(crate) pipeline_type: Option<String>,
    pub(crate) execution_mode: Option<String>,
    /// Epoch seconds.
    pub(crate) updated: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionList {
    #[serde(default)]
    pub(crate) pipeline_execution_summaries: Vec<ExecutionSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionSummary {
    pub(crate) pipeline_execution_id: String,
    pub(crate) status: String,
    pub(crate) status_summary: Option<String>,
    /// Epoch seconds.
    pub(crate) last_update_time: Option<f64>,
}
