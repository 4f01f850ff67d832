//! Pipeline executions, stage executions and action executions as the stores keep them, with
//! CodePipeline's status values, and starting and stopping an execution.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::compile::{self, CompileOptions};
use crate::events::{action_event, pipeline_event, publish, stage_event};
use crate::pipeline::declaration::{
    ActionTypeId, Configuration, ExecutionMode, PipelineDeclaration,
};
use crate::port::{
    ActionExecutionStore, ArtifactLocation, Clock, ExecutionStore, Ids, Orchestrator,
    OrchestratorError, PipelineStore, Ports, StageStore, StoreError, StoredPipeline,
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
    /// ([`run_attempt`]). With the execution, stage and action it is the attempt's natural key.
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
}

impl ActionExecution {
    /// The attempt with its summary and failure message cut to the model's maxima
    /// ([`crate::model::limit`]), as every write stores it; `None` when it fits as it is. An empty summary
    /// is dropped and an empty message says there was none: the model wants at least one character.
    pub fn fitted_to_model(&self) -> Option<ActionExecution> {
        use crate::model::limit::{EXECUTION_SUMMARY, MESSAGE, fit};
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

/// Why a pipeline execution could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error(
        "PipelineNotFoundException: Account '{account}' does not have a pipeline with name '{name}'"
    )]
    PipelineNotFound { account: String, name: String },
    #[error(
        "PipelineExecutionNotFoundException: Pipeline execution ID {id} does not exist in pipeline {pipeline}"
    )]
    ExecutionNotFound { pipeline: String, id: String },
    #[error("ValidationException: {0}")]
    Validation(String),
    #[error("PipelineExecutionNotStoppableException: Pipeline execution {0} is not in progress")]
    NotStoppable(String),
    #[error("DuplicatedStopRequestException: Pipeline execution {0} is already stopping")]
    DuplicatedStop(String),
    #[error("StageNotFoundException: Pipeline '{pipeline}' does not have a stage named '{stage}'")]
    StageNotFound { pipeline: String, stage: String },
    #[error("StageNotRetryableException: {0}")]
    StageNotRetryable(String),
    #[error("NotLatestPipelineExecutionException: {0}")]
    NotLatest(String),
    #[error("ConflictException: {0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    #[error(transparent)]
    Dispatch(#[from] crate::dispatcher::DispatchError),
    #[error(transparent)]
    Scheduler(#[from] crate::trigger::SchedulerError),
}

/// The account id local pipelines are reported under (the one moto and the docs use).
pub const LOCAL_ACCOUNT: &str = "123456789012";

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

/// The machine input of an execution: references only.
pub fn machine_input(pipeline: &str, execution_id: &str) -> serde_json::Value {
    json!({ "pipeline": pipeline, "pipelineExecutionId": execution_id })
}

/// Stores a new pipeline version and deploys its compiled machine. `declaration` must have passed
/// validation. Returns the stored pipeline (version 1 on create, the next one on update).
pub async fn put_pipeline<P: Ports>(
    ports: &P,
    declaration: &PipelineDeclaration,
    options: &CompileOptions,
) -> Result<StoredPipeline, ExecutionError> {
    // Change detection follows the source actions (an S3 source that does not poll, an ECR source);
    // a trigger that cannot be made refuses the pipeline before anything is written.
    let triggers = crate::trigger::event_triggers(declaration);
    for trigger in &triggers {
        trigger
            .validate()
            .map_err(|error| crate::trigger::SchedulerError::invalid(trigger, error))?;
    }
    let existing = ports.store().pipeline(&declaration.name).await?;
    let definition = compile::compile(declaration, options);
    let machine = ports
        .orchestrator()
        .deploy(&declaration.name, &definition)
        .await?;
    let now = ports.clock().now();
    let mut stored_declaration = declaration.clone();
    let (version, created, expected) = match &existing {
        Some(old) => (old.version() + 1, old.created, Some(old.version())),
        None => (1, now, None),
    };
    stored_declaration.version = Some(version);
    let stored = StoredPipeline {
        declaration: stored_declaration,
        created,
        updated: now,
        machine,
    };
    ports.store().put_pipeline(&stored, expected).await?;
    crate::trigger::sync_triggers(
        ports.scheduler(),
        &declaration.name,
        &triggers,
        crate::trigger::is_source_trigger,
    )
    .await?;
    Ok(stored)
}

/// DeletePipeline: removes the pipeline's triggers (so nothing starts it again), its compiled machine
/// (stopping what still runs on it, so no execution is left waiting on a callback or writing records of a
/// pipeline that is gone), then its records.
/// A missing pipeline is not an error, as in CodePipeline; a failure leaves the records for a retry.
pub async fn delete_pipeline<P: Ports>(ports: &P, name: &str) -> Result<(), ExecutionError> {
    crate::trigger::Scheduler::delete_pipeline_triggers(ports.scheduler(), name).await?;
    if let Some(stored) = ports.store().pipeline(name).await? {
        ports.orchestrator().remove(&stored.machine).await?;
    }
    ports.store().delete_pipeline(name).await?;
    Ok(())
}

/// StartPipelineExecution: records the execution, then starts its machine. Pipeline variables given must
/// be declared; declared ones not given take their defaults; one without either is an error.
pub async fn start_execution<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    request: StartRequest,
) -> Result<PipelineExecution, ExecutionError> {
    let pipeline = ports
        .store()
        .pipeline(pipeline_name)
        .await?
        .ok_or_else(|| ExecutionError::PipelineNotFound {
            account: LOCAL_ACCOUNT.to_string(),
            name: pipeline_name.to_string(),
        })?;
    let variables = resolve_variables(&pipeline.declaration, &request.variables)?;
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

/// A new execution of the pipeline's version `pipeline`, in progress, with no machine yet: the record
/// StartPipelineExecution writes, and the one the dispatcher writes for an execution an EventBridge rule
/// started (`dispatcher`'s `ExecutionStarted`).
pub fn new_execution(
    pipeline: &StoredPipeline,
    execution_id: String,
    trigger: ExecutionTrigger,
    variables: BTreeMap<String, String>,
    now: Timestamp,
) -> PipelineExecution {
    PipelineExecution {
        pipeline_name: pipeline.declaration.name.clone(),
        pipeline_version: pipeline.version(),
        pipeline_execution_id: execution_id,
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        execution_mode: pipeline.declaration.execution_mode(),
        trigger,
        variables,
        source_revisions: Vec::new(),
        orchestration: None,
        client_request_token: None,
        retry: None,
        start_time: now,
        last_update_time: now,
        record_version: 0,
    }
}

/// Creates an execution record and announces it: every execution is created through here. It is
/// announced STARTED, as every execution is before its first stage; a record created already ended (an
/// execution a rule started that cannot run) is then announced as it ended, in the same batch. Fails
/// with [`StoreError::AlreadyExists`], announcing nothing, when the id is taken.
pub async fn record_execution<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
) -> Result<(), StoreError> {
    ports.store().create_execution(execution).await?;
    let started = PipelineExecution {
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        ..execution.clone()
    };
    let mut events: Vec<_> = pipeline_event(&started, None).into_iter().collect();
    events.extend(pipeline_event(
        execution,
        Some(PipelineExecutionStatus::InProgress),
    ));
    publish(ports, &events).await;
    Ok(())
}

/// The declared variables with defaults, overridden by the given ones (codepipeline-api.md §5.11).
pub fn resolve_variables(
    declaration: &PipelineDeclaration,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ExecutionError> {
    for name in given.keys() {
        if !declaration.variables.iter().any(|v| &v.name == name) {
            return Err(ExecutionError::Validation(format!(
                "Variable '{name}' is not declared in pipeline '{}'; declare it under pipeline.variables",
                declaration.name
            )));
        }
    }
    let mut resolved = BTreeMap::new();
    for declared in &declaration.variables {
        match given
            .get(&declared.name)
            .or(declared.default_value.as_ref())
        {
            Some(value) => {
                resolved.insert(declared.name.clone(), value.clone());
            }
            None => {
                return Err(ExecutionError::Validation(format!(
                    "Variable '{}' of pipeline '{}' has no default value, so it must be given a value when the execution starts",
                    declared.name, declaration.name
                )));
            }
        }
    }
    Ok(resolved)
}

/// Reads the execution again and applies `change` until the write wins. Returns `None` when the
/// execution is gone; the record as written otherwise.
pub async fn update_execution<S: ExecutionStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    execution: &PipelineExecution,
    mut change: impl FnMut(&mut PipelineExecution),
) -> Result<Option<PipelineExecution>, StoreError> {
    loop {
        let Some(mut current) = store
            .execution(&execution.pipeline_name, &execution.pipeline_execution_id)
            .await?
        else {
            return Ok(None);
        };
        change(&mut current);
        current.last_update_time = clock.now();
        match store.update_execution(&current).await {
            Ok(()) => {
                current.record_version += 1;
                return Ok(Some(current));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(other) => return Err(other),
        }
    }
}

/// [`update_execution`] over the ports, announcing the change when the status changed: every status
/// change of a pipeline execution after its creation goes through here.
pub async fn change_execution<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    mut change: impl FnMut(&mut PipelineExecution),
) -> Result<Option<PipelineExecution>, StoreError> {
    // The status the winning write started from (each retry of the write reads it again).
    let mut before = None;
    let written = update_execution(ports.store(), ports.clock(), execution, |e| {
        before = Some(e.status);
        change(e);
    })
    .await?;
    if let Some(written) = &written {
        publish(ports, pipeline_event(written, before).as_slice()).await;
    }
    Ok(written)
}

/// Writes a stage execution and announces its status: every stage execution write goes through here.
/// Idempotent: an entry (`stage.entry`) already recorded, or a status the stage already has, leaves the
/// record as it is, unannounced, so a step run again after its write (or an admission carried out
/// twice) changes nothing and counts nothing twice. A write without an entry keeps the recorded one.
pub async fn record_stage<P: Ports>(ports: &P, stage: &StageExecution) -> Result<(), StoreError> {
    let stored = ports
        .store()
        .stage_executions(&stage.pipeline_name, &stage.pipeline_execution_id)
        .await?
        .into_iter()
        .find(|s| s.stage_name == stage.stage_name);
    let mut stage = stage.clone();
    if let Some(stored) = stored {
        let recorded = match &stage.entry {
            Some(_) => stored.entry == stage.entry,
            None => stored.status == stage.status,
        };
        if recorded {
            return Ok(());
        }
        if stage.entry.is_none() {
            stage.entry = stored.entry;
        }
    }
    let stage = &stage;
    ports.store().put_stage_execution(stage).await?;
    let execution = ports
        .store()
        .execution(&stage.pipeline_name, &stage.pipeline_execution_id)
        .await;
    match execution {
        Ok(Some(execution)) => publish(ports, stage_event(&execution, stage).as_slice()).await,
        Ok(None) => {}
        // The stage is written; only its event is lost (events are best effort).
        Err(error) => eprintln!(
            "sluice: the event of stage {} of execution {} not published: {error}",
            stage.stage_name, stage.pipeline_execution_id
        ),
    }
    Ok(())
}

/// Writes an action attempt and announces its status: every action execution write goes through here.
/// `execution` is the attempt's pipeline execution when the caller has it at hand (read otherwise). What
/// is written and announced has its summary and message cut to the model's maxima
/// ([`ActionExecution::fitted_to_model`]).
pub async fn record_action<P: Ports>(
    ports: &P,
    action: &ActionExecution,
    execution: Option<&PipelineExecution>,
) -> Result<(), StoreError> {
    let fitted = action.fitted_to_model();
    let action = fitted.as_ref().unwrap_or(action);
    ports.store().put_action_execution(action).await?;
    let read;
    let execution = match execution {
        Some(execution) => Some(execution),
        None => {
            read = ports
                .store()
                .execution(&action.pipeline_name, &action.pipeline_execution_id)
                .await;
            match &read {
                Ok(found) => found.as_ref(),
                Err(error) => {
                    eprintln!(
                        "sluice: the event of action {} of execution {} not published: {error}",
                        action.action_name, action.pipeline_execution_id
                    );
                    None
                }
            }
        }
    };
    if let Some(execution) = execution {
        publish(ports, &[action_event(execution, action)]).await;
    }
    Ok(())
}

/// Produces the key CodePipeline gives an output artifact: `<pipeline name, 20 chars>/<artifact name,
/// 10 chars>/<7 random characters>` in the artifact store's bucket.
pub fn artifact_location(
    declaration: &PipelineDeclaration,
    artifact: &str,
    ids: &dyn Ids,
) -> ArtifactLocation {
    let bucket = declaration
        .artifact_store
        .as_ref()
        .map(|store| store.location.clone())
        .or_else(|| {
            declaration
                .artifact_stores
                .as_ref()
                .and_then(|stores| stores.values().next().map(|s| s.location.clone()))
        })
        .unwrap_or_else(|| "codepipeline-artifacts".to_string());
    let pipeline: String = declaration.name.chars().take(20).collect();
    let name: String = artifact.chars().take(10).collect();
    ArtifactLocation {
        bucket_name: bucket,
        object_key: format!("{pipeline}/{name}/{}", ids.token(7)),
    }
}

/// The error a stopped execution's machine ends with.
pub const STOPPED_ERROR: &str = "Sluice.Stopped";

/// The error a dispatcher or worker step fails with when it may pass if run again (the store was
/// throttled, timed out or busy, a conditional write lost a race): the compiled machine retries it.
pub const TRANSIENT_ERROR: &str = "Sluice.Transient";

/// StopPipelineExecution. `abandon`: in-progress actions are marked Abandoned and the execution stops
/// now; otherwise it is Stopping until its running actions finish (no new action starts).
pub async fn stop_execution<P: Ports>(
    ports: &P,
    pipeline_name: &str,
    execution_id: &str,
    abandon: bool,
    reason: Option<&str>,
) -> Result<PipelineExecution, ExecutionError> {
    let execution = ports
        .store()
        .execution(pipeline_name, execution_id)
        .await?
        .ok_or_else(|| ExecutionError::ExecutionNotFound {
            pipeline: pipeline_name.to_string(),
            id: execution_id.to_string(),
        })?;
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

/// The name of the machine's execution that runs a pipeline execution's `attempt`-th stage retry.
pub fn retry_run_name(execution_id: &str, attempt: u32) -> String {
    format!("{execution_id}{RETRY_RUN}{attempt}")
}

const RETRY_RUN: &str = "-retry-";

/// Which run of its pipeline execution a machine's execution is, from its name: `<id>-retry-<n>` is
/// the n-th stage retry ([`retry_run_name`]); any other name (the execution id, or the name an
/// EventBridge rule gave) is the first run, 0.
pub fn run_attempt(name: &str) -> u32 {
    name.rsplit_once(RETRY_RUN)
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
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
    let pipeline = ports
        .store()
        .pipeline(pipeline_name)
        .await?
        .ok_or_else(|| ExecutionError::PipelineNotFound {
            account: LOCAL_ACCOUNT.to_string(),
            name: pipeline_name.to_string(),
        })?;
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
    let execution = ports
        .store()
        .execution(pipeline_name, execution_id)
        .await?
        .ok_or_else(|| ExecutionError::ExecutionNotFound {
            pipeline: pipeline_name.to_string(),
            id: execution_id.to_string(),
        })?;
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
