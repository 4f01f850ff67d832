//! `PipelineDeclaration` and every shape it reaches, V1 and V2, exactly as the CodePipeline model names
//! them (camelCase members, the model's enum values). Optional lists read an absent member and `[]` alike
//! and leave an empty list out when written, so parse → serialize → parse is the identity.
//!
//! These types hold a pipeline that has passed the model's shape checks (see [`super::file`]); the
//! structural rules live in [`crate::validate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// An action configuration or rule configuration: string keys to string values.
pub type Configuration = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineDeclaration {
    pub name: String,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_store: Option<ArtifactStore>,
    /// Keyed by AWS Region, for pipelines with cross-region actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_stores: Option<BTreeMap<String, ArtifactStore>>,
    pub stages: Vec<StageDeclaration>,
    /// Managed by the service: 1 on create, incremented by every update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<ExecutionMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_type: Option<PipelineType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<PipelineVariableDeclaration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<PipelineTriggerDeclaration>,
}

impl PipelineDeclaration {
    /// SUPERSEDED unless the declaration says otherwise (docs/codepipeline.md, "Execution modes").
    pub fn execution_mode(&self) -> ExecutionMode {
        self.execution_mode.unwrap_or(ExecutionMode::Superseded)
    }

    /// Every action with the stage that holds it, in declaration order.
    pub fn actions(&self) -> impl Iterator<Item = (&StageDeclaration, &ActionDeclaration)> {
        self.stages
            .iter()
            .flat_map(|stage| stage.actions.iter().map(move |action| (stage, action)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionMode {
    Queued,
    Superseded,
    Parallel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PipelineType {
    V1,
    V2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactStore {
    #[serde(rename = "type")]
    pub store_type: ArtifactStoreType,
    /// The S3 bucket (locally: a folder of the data directory).
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArtifactStoreType {
    S3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionKey {
    pub id: String,
    #[serde(rename = "type")]
    pub key_type: EncryptionKeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EncryptionKeyType {
    #[serde(rename = "KMS")]
    Kms,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageDeclaration {
    pub name: String,
    /// Reserved by CodePipeline for future use; validation rejects any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<BlockerDeclaration>,
    pub actions: Vec<ActionDeclaration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<FailureConditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<SuccessConditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_entry: Option<BeforeEntryConditions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockerDeclaration {
    pub name: String,
    #[serde(rename = "type")]
    pub blocker_type: BlockerType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockerType {
    Schedule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionDeclaration {
    pub name: String,
    pub action_type_id: ActionTypeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_order: Option<i32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configuration: Configuration,
    /// Shell commands of a compute (`Commands`) action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_artifacts: Vec<OutputArtifact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_artifacts: Vec<InputArtifact>,
    /// Variables a compute action exports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_variables: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Makes the action's output variables referable as `#{namespace.Variable}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<EnvironmentVariable>,
}

impl ActionDeclaration {
    /// Actions with the same run order run in parallel; 1 when omitted.
    pub fn run_order(&self) -> i32 {
        self.run_order.unwrap_or(1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActionTypeId {
    pub category: ActionCategory,
    pub owner: ActionOwner,
    pub provider: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActionCategory {
    Source,
    Build,
    Deploy,
    Test,
    Invoke,
    Approval,
    Compute,
}

impl ActionCategory {
    pub const ALL: [ActionCategory; 7] = [
        Self::Source,
        Self::Build,
        Self::Deploy,
        Self::Test,
        Self::Invoke,
        Self::Approval,
        Self::Compute,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Source => "Source",
            Self::Build => "Build",
            Self::Deploy => "Deploy",
            Self::Test => "Test",
            Self::Invoke => "Invoke",
            Self::Approval => "Approval",
            Self::Compute => "Compute",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActionOwner {
    #[serde(rename = "AWS")]
    Aws,
    ThirdParty,
    Custom,
}

impl ActionOwner {
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::ThirdParty => "ThirdParty",
            Self::Custom => "Custom",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputArtifact {
    pub name: String,
    /// Files a compute action exports into this artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputArtifact {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub variable_type: Option<EnvironmentVariableType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnvironmentVariableType {
    Plaintext,
    SecretsManager,
}

/// What happens when a stage fails: roll back, fail, or retry it (V2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureConditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ConditionResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_configuration: Option<RetryConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_mode: Option<StageRetryMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageRetryMode {
    FailedActions,
    AllActions,
}

/// The model's `Result` enum: what a condition or a failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConditionResult {
    Rollback,
    Fail,
    Retry,
    Skip,
}

impl ConditionResult {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rollback => "ROLLBACK",
            Self::Fail => "FAIL",
            Self::Retry => "RETRY",
            Self::Skip => "SKIP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ConditionResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDeclaration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleDeclaration {
    pub name: String,
    pub rule_type_id: RuleTypeId,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configuration: Configuration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_artifacts: Vec<InputArtifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTypeId {
    pub category: RuleCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<RuleOwner>,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleCategory {
    Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleOwner {
    #[serde(rename = "AWS")]
    Aws,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessConditions {
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeforeEntryConditions {
    pub conditions: Vec<Condition>,
}

/// A pipeline-level variable (V2), referenced as `#{variables.NAME}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineVariableDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineTriggerDeclaration {
    pub provider_type: TriggerProviderType,
    pub git_configuration: GitConfiguration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TriggerProviderType {
    CodeStarSourceConnection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitConfiguration {
    pub source_action_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<GitPushFilter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_request: Vec<GitPullRequestFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitPushFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<GitFilterCriteria>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<GitFilterCriteria>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_paths: Option<GitFilterCriteria>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitPullRequestFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<PullRequestEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<GitFilterCriteria>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_paths: Option<GitFilterCriteria>,
}

/// Glob patterns for tags, branches or file paths; an exclude wins over an include.
/// (The model has three shapes of this form; they differ only in name.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitFilterCriteria {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PullRequestEvent {
    Open,
    Updated,
    Closed,
}

/// What `get-pipeline` returns beside the declaration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_disabled_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}
