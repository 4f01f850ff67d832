//! Action workers: the `sluice-worker-<category>` step of every action. A worker resolves the action's
//! variables and artifacts, records the attempt, runs the provider of the action's type and answers the
//! machine with the action's task token.
//!
//! Providers are looked up in a [`Providers`] registry by (category, owner, provider). A provider either
//! finishes the job ([`JobOutcome::Succeeded`] / [`JobOutcome::Failed`]) or leaves it waiting for an
//! outside decision ([`JobOutcome::Waiting`]: a manual approval), which [`complete_action`] delivers later.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::action::ActionTypes;
use crate::action::catalog::timeout_minutes;
use crate::builders::execution::artifact_location;
use crate::pipeline::declaration::{
    ActionCategory, ActionDeclaration, ActionOwner, Configuration, PipelineDeclaration,
};
use crate::port::{
    ActionExecutionStore, ActionProvider, ExecutionStore, Job, JobFailure, JobOutcome, JobSuccess,
    Orchestrator, OrchestratorError, PipelineStore, Ports, Providers, ResourceStore, StopSignal,
    StoreError,
};
use crate::problem::{Coded, Exception};
use crate::protocol::SluiceError;
use crate::protocol::{ACTION_FAILED_ERROR, ActionEvent, STOPPED_ERROR, run_attempt};
use crate::record::{
    ActionExecution, ActionExecutionStatus, ArtifactDetail, ErrorDetails, PipelineExecution,
    PipelineExecutionStatus,
};
use crate::recorder::record_action;
use crate::variable::Scope;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the worker event is malformed: {0}")]
    BadEvent(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    #[error("{0}")]
    Missing(String),
    /// The provider ran, and its outcome could not be recorded however often it was tried: running the
    /// step again would run the action again, so the step fails for good.
    #[error("the outcome of action {action} ran but could not be recorded: {source}")]
    Unrecorded {
        action: String,
        #[source]
        source: Box<WorkerError>,
    },
}

/// A step's failure reaches the API only through a use case that ran it: its store's answer, else
/// Sluice's own failure.
impl Coded for WorkerError {
    fn exception(&self) -> Exception {
        match self {
            Self::Store(error) => error.exception(),
            _ => Exception::InternalFailure,
        }
    }
}

impl crate::port::Transient for WorkerError {
    fn is_transient(&self) -> bool {
        self.error_type() == SluiceError::Transient
    }
}

impl WorkerError {
    /// [`SluiceError::Transient`] errors may succeed when tried again (the machine retries them); the others
    /// will not.
    pub fn error_type(&self) -> SluiceError {
        match self {
            Self::Store(error) if error.is_retryable() => SluiceError::Transient,
            Self::Orchestrator(OrchestratorError::Backend { .. }) => SluiceError::Transient,
            _ => SluiceError::WorkerFailed,
        }
    }
}

/// Handles one action step: prepares the job, records the attempt, runs the provider and answers the
/// machine. Returns the recorded action execution.
pub async fn handle<P: Ports>(
    ports: &P,
    providers: &Providers,
    payload: Value,
) -> Result<ActionExecution, WorkerError> {
    handle_until(ports, providers, payload, StopSignal::never()).await
}

/// [`handle`], with the signal that stops the provider (the embedded engine's cancellation of the task).
///
/// The step is idempotent on its natural key, (execution, stage, action, attempt): the attempt is the
/// run of the pipeline execution (0, then one more per RetryStageExecution). Run again, by the machine's
/// retry (with a new token) or by the engine after a restart (with the same one), it answers an attempt
/// already decided with its outcome, leaves an abandoned one alone, and takes over an attempt still in
/// progress with its action execution id. Until the provider runs, a transient failure is tried again in
/// process and then left to the machine; once the provider ran, its outcome is recorded and answered
/// however often that takes ([`crate::transient::OUTCOME`]), never by running the provider again.
pub async fn handle_until<P: Ports>(
    ports: &P,
    providers: &Providers,
    payload: Value,
    stop: StopSignal,
) -> Result<ActionExecution, WorkerError> {
    let event: ActionEvent = serde_json::from_value(payload)?;
    let claimed = crate::transient::STEP
        .retry(&stop, || claim(ports, providers, &event, &stop))
        .await?;
    let (mut record, execution, outcome) = match claimed {
        Claim::Done(record) => return Ok(record),
        Claim::Decided {
            record,
            execution,
            failure,
        } => (record, execution, JobOutcome::Failed(failure)),
        Claim::Run {
            record,
            execution,
            job,
            provider,
        } => {
            let outcome = provider.run(&job).await;
            (record, execution, outcome)
        }
    };
    match outcome {
        // Recorded before the provider ran; a decision from outside may already have ended it.
        JobOutcome::Waiting => return Ok(record),
        JobOutcome::Succeeded(success) => {
            if record.action_type_id.category == ActionCategory::Source {
                for output in &mut record.output_artifacts {
                    output.revision = success.external_execution_id.clone();
                }
            }
            record.status = ActionExecutionStatus::Succeeded;
            record.output_variables = success.output_variables;
            record.summary = success.summary;
            record.external_execution_id = success.external_execution_id;
            record.log = success.log;
        }
        JobOutcome::Failed(failure) => {
            record.status = ActionExecutionStatus::Failed;
            record.output_artifacts.clear();
            record.log = failure.log;
            record.error_details = Some(ErrorDetails {
                code: failure.failure_type,
                message: failure.message,
            });
        }
    }
    finish(ports, &mut record, Some(&execution), &stop).await?;
    Ok(record)
}

/// What the first part of a worker step found.
enum Claim {
    /// Nothing to run: the attempt was decided (and is answered again), abandoned, or kept from an
    /// earlier run (a FAILED_ACTIONS retry).
    Done(ActionExecution),
    /// The attempt fails before any provider runs (a configuration error, a stopped execution).
    Decided {
        record: ActionExecution,
        execution: PipelineExecution,
        failure: JobFailure,
    },
    /// The attempt is recorded in progress: run its provider.
    Run {
        record: ActionExecution,
        execution: PipelineExecution,
        job: Box<Job>,
        provider: Arc<dyn ActionProvider>,
    },
}

/// Reads what the step needs, and records the attempt in progress when its provider is to run.
async fn claim<P: Ports>(
    ports: &P,
    providers: &Providers,
    event: &ActionEvent,
    stop: &StopSignal,
) -> Result<Claim, WorkerError> {
    let store = ports.store();
    let execution = store
        .execution(&event.pipeline, &event.execution_id)
        .await?
        .ok_or_else(|| {
            WorkerError::Missing(format!(
                "pipeline execution {} of pipeline {} does not exist",
                event.execution_id, event.pipeline
            ))
        })?;
    let pipeline = store
        .pipeline_version(&event.pipeline, execution.pipeline_version)
        .await?
        .ok_or_else(|| {
            WorkerError::Missing(format!(
                "pipeline {} version {} does not exist",
                event.pipeline, execution.pipeline_version
            ))
        })?;
    let declaration = pipeline
        .declaration
        .stages
        .iter()
        .find(|s| s.name == event.stage)
        .and_then(|s| s.actions.iter().find(|a| a.name == event.action))
        .cloned()
        .ok_or_else(|| {
            WorkerError::Missing(format!(
                "pipeline {} has no action {} in stage {}",
                event.pipeline, event.action, event.stage
            ))
        })?;
    let attempt = match &event.run {
        Some(run) => run_attempt(run),
        None => execution.retry.as_ref().map_or(0, |r| r.attempt),
    };

    let history = store
        .action_executions(&event.pipeline, Some(&event.execution_id))
        .await?;
    // This attempt as an earlier run of the step left it: by its token (the engine hands a task over
    // again after a restart), or by its key (the machine's retry gave the step a new token).
    let earlier = history.iter().find(|a| a.token == event.token).or_else(|| {
        history.iter().rev().find(|a| {
            a.stage_name == event.stage && a.action_name == event.action && a.attempt == attempt
        })
    });
    if let Some(earlier) = earlier {
        match earlier.status {
            ActionExecutionStatus::Succeeded | ActionExecutionStatus::Failed => {
                // Decided: answer the task that waits now, rather than run the action twice.
                let mut done = earlier.clone();
                done.token = event.token.clone();
                answer(ports, &done).await?;
                return Ok(Claim::Done(done));
            }
            // Stopped with its execution: nothing waits for it.
            ActionExecutionStatus::Abandoned => return Ok(Claim::Done(earlier.clone())),
            // Recorded, and its provider never ran: the earlier run failed at (or after) that write.
            ActionExecutionStatus::InProgress => {}
        }
    }

    // A FAILED_ACTIONS retry of this stage keeps what already succeeded in it.
    if let Some(retry) = &execution.retry
        && retry.stage_name == event.stage
        && retry.retry_mode == "FAILED_ACTIONS"
        && let Some(succeeded) = history.iter().rev().find(|a| {
            a.stage_name == event.stage
                && a.action_name == event.action
                && a.status == ActionExecutionStatus::Succeeded
        })
    {
        let mut kept = succeeded.clone();
        kept.token = event.token.clone();
        answer(ports, &kept).await?;
        return Ok(Claim::Done(kept));
    }

    // The record is what ListActionExecutions and the events show, and it is kept for as long as the
    // execution's history: secret values go into it masked. The provider gets them from the job.
    let types = if declaration.action_type_id.owner == ActionOwner::Custom {
        store.action_types().await?
    } else {
        ActionTypes::default()
    };
    let shown = |configuration: &Configuration| {
        types.masked_configuration(&declaration.action_type_id, configuration)
    };
    let now = ports.clock().now();
    let mut record = ActionExecution {
        pipeline_name: event.pipeline.clone(),
        pipeline_execution_id: event.execution_id.clone(),
        pipeline_version: execution.pipeline_version,
        stage_name: event.stage.clone(),
        action_name: event.action.clone(),
        action_execution_id: earlier
            .map(|a| a.action_execution_id.clone())
            .unwrap_or_else(|| ports.ids().uuid()),
        attempt,
        action_type_id: declaration.action_type_id.clone(),
        status: ActionExecutionStatus::InProgress,
        start_time: earlier.map_or(now, |a| a.start_time),
        last_update_time: now,
        configuration: shown(&declaration.configuration),
        resolved_configuration: shown(&declaration.configuration),
        namespace: declaration.namespace.clone(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        output_variables: BTreeMap::new(),
        summary: None,
        external_execution_id: None,
        log: None,
        error_details: None,
        token: event.token.clone(),
        last_updated_by: None,
    };

    let mut job = match prepare(
        ports,
        &pipeline.declaration,
        &execution,
        &history,
        event,
        &declaration,
    ) {
        Err(failure) => {
            return Ok(Claim::Decided {
                record,
                execution,
                failure,
            });
        }
        Ok(job) => job,
    };
    if let Some(earlier) = earlier {
        // The attempt keeps the artifact locations it was recorded with.
        job.output_artifacts.clone_from(&earlier.output_artifacts);
    }
    job.action_execution_id = record.action_execution_id.clone();
    job.started = record.start_time;
    job.stop = stop.clone();
    record.resolved_configuration = shown(&job.configuration);
    record.input_artifacts = job.input_artifacts.clone();
    record.output_artifacts = job.output_artifacts.clone();
    if execution.status != PipelineExecutionStatus::InProgress {
        let failure = JobFailure {
            failure_type: STOPPED_ERROR.to_string(),
            message: format!(
                "Pipeline execution {} is {}; action {} does not start",
                execution.pipeline_execution_id,
                execution.status.name(),
                event.action
            ),
            log: None,
        };
        return Ok(Claim::Decided {
            record,
            execution,
            failure,
        });
    }
    let Some(provider) = providers.get(&declaration.action_type_id) else {
        let failure = JobFailure::configuration(format!(
            "Action {} has type {}/{}/{}, which Sluice cannot run here yet",
            event.action,
            declaration.action_type_id.category.name(),
            declaration.action_type_id.owner.name(),
            declaration.action_type_id.provider
        ));
        return Ok(Claim::Decided {
            record,
            execution,
            failure,
        });
    };
    // The attempt's id is its outside handle: the approval token, a custom job's action, PARALLEL
    // mode's externalExecutionId. Written before the provider runs, so an answer that comes back at once
    // finds the record.
    record.external_execution_id = Some(record.action_execution_id.clone());
    record_action(ports, &record, Some(&execution)).await?;
    Ok(Claim::Run {
        record,
        execution,
        job: Box::new(job),
        provider,
    })
}

/// Writes the decided attempt and answers the machine — unless the attempt was abandoned meanwhile (its
/// execution stopped), which stays as it is. `execution` is the attempt's, when the caller has it.
/// Transient failures are tried again ([`crate::transient::OUTCOME`]) until the stop fires: the outcome
/// exists only here. Each part is done once: a record written is not written (and announced) again
/// when only the answer failed.
async fn finish<P: Ports>(
    ports: &P,
    record: &mut ActionExecution,
    execution: Option<&PipelineExecution>,
    stop: &StopSignal,
) -> Result<(), WorkerError> {
    let backoff = crate::transient::OUTCOME;
    let started = tokio::time::Instant::now();
    let mut written = false;
    let mut tries = 0;
    loop {
        let result = finish_once(ports, record, execution, &mut written).await;
        let Err(error) = result else {
            return Ok(());
        };
        tries += 1;
        if !crate::port::Transient::is_transient(&error) {
            return Err(error);
        }
        if !backoff.allows(tries, started) || stop.is_stopped() {
            return Err(WorkerError::Unrecorded {
                action: record.action_name.clone(),
                source: Box::new(error),
            });
        }
        tokio::time::sleep(backoff.delay(tries)).await;
    }
}

async fn finish_once<P: Ports>(
    ports: &P,
    record: &mut ActionExecution,
    execution: Option<&PipelineExecution>,
    written: &mut bool,
) -> Result<(), WorkerError> {
    if !*written {
        record.last_update_time = ports.clock().now();
        // The machine is told what the record says: the message as cut to the model's maximum.
        if let Some(fitted) = record.fitted_to_model() {
            *record = fitted;
        }
        let stored = ports
            .store()
            .action_executions(&record.pipeline_name, Some(&record.pipeline_execution_id))
            .await?;
        if stored.iter().any(|a| {
            a.action_execution_id == record.action_execution_id
                && a.status == ActionExecutionStatus::Abandoned
        }) {
            record.status = ActionExecutionStatus::Abandoned;
            return Ok(());
        }
        record_action(ports, record, execution).await?;
        *written = true;
    }
    answer(ports, record).await
}

/// Tells the machine how the attempt ended.
async fn answer<P: Ports>(ports: &P, record: &ActionExecution) -> Result<(), WorkerError> {
    let result = match record.status {
        ActionExecutionStatus::Succeeded => {
            ports
                .orchestrator()
                .task_succeeded(
                    &record.token,
                    &json!({ "actionExecutionId": record.action_execution_id }),
                )
                .await
        }
        ActionExecutionStatus::Failed => {
            let (code, message) = record
                .error_details
                .as_ref()
                .map(|d| (d.code.as_str(), d.message.as_str()))
                .unwrap_or(("JobFailed", "the action failed"));
            let error = if code == STOPPED_ERROR {
                STOPPED_ERROR
            } else {
                ACTION_FAILED_ERROR
            };
            ports
                .orchestrator()
                .task_failed(
                    &record.token,
                    error,
                    &format!("Action {} failed: {message}", record.action_name),
                )
                .await
        }
        ActionExecutionStatus::InProgress | ActionExecutionStatus::Abandoned => Ok(()),
    };
    match result {
        // The machine moved on (timeout, stop): the record stands as the history of what happened.
        Ok(()) | Err(OrchestratorError::TaskClosed(_) | OrchestratorError::NoExecution(_)) => {
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

/// Resolves what the job needs from the execution's history: variables, input artifact locations, and
/// new output artifact locations.
fn prepare<P: Ports>(
    ports: &P,
    pipeline: &PipelineDeclaration,
    execution: &PipelineExecution,
    history: &[ActionExecution],
    event: &ActionEvent,
    action: &ActionDeclaration,
) -> Result<Job, JobFailure> {
    // Later attempts of an action replace earlier ones: the history is oldest first.
    let succeeded: Vec<&ActionExecution> = history
        .iter()
        .filter(|a| a.status == ActionExecutionStatus::Succeeded)
        .collect();
    let mut scope = Scope {
        pipeline_execution_id: execution.pipeline_execution_id.clone(),
        variables: execution.variables.clone(),
        namespaces: BTreeMap::new(),
    };
    for attempt in &succeeded {
        if let Some(namespace) = &attempt.namespace {
            scope
                .namespaces
                .insert(namespace.clone(), attempt.output_variables.clone());
        }
    }
    let configuration = scope
        .resolve_configuration(&action.configuration)
        .map_err(|e| JobFailure::configuration(e.to_string()))?;
    let mut environment_variables = Vec::new();
    for variable in &action.environment_variables {
        let value = scope
            .resolve(&variable.value)
            .map_err(|e| JobFailure::configuration(e.to_string()))?;
        environment_variables.push((variable.name.clone(), value));
    }
    // Commands actions' commands take references too.
    let mut action = action.clone();
    for command in &mut action.commands {
        *command = scope
            .resolve(command)
            .map_err(|e| JobFailure::configuration(e.to_string()))?;
    }
    let action = &action;
    let mut input_artifacts = Vec::new();
    for input in &action.input_artifacts {
        let produced = succeeded
            .iter()
            .rev()
            .flat_map(|a| a.output_artifacts.iter())
            .find(|o| o.name == input.name)
            .ok_or_else(|| {
                JobFailure::configuration(format!(
                    "Input artifact {} of action {} was not produced by any action of this execution",
                    input.name, action.name
                ))
            })?;
        input_artifacts.push(produced.clone());
    }
    let output_artifacts = action
        .output_artifacts
        .iter()
        .map(|output| ArtifactDetail {
            name: output.name.clone(),
            location: artifact_location(pipeline, &output.name, ports.ids()),
            revision: None,
        })
        .collect();
    Ok(Job {
        pipeline: event.pipeline.clone(),
        pipeline_execution_id: event.execution_id.clone(),
        stage: event.stage.clone(),
        action: action.clone(),
        action_execution_id: String::new(),
        configuration,
        environment_variables,
        input_artifacts,
        output_artifacts,
        source_revision: execution
            .source_revisions
            .iter()
            .find(|r| r.action_name == action.name)
            .cloned(),
        timeout: Duration::from_secs(timeout_minutes(action) * 60),
        started: ports.clock().now(),
        variables: execution.variables.clone(),
        stop: StopSignal::never(),
    })
}

/// Ends an action that waited for an outside decision (PutApprovalResult, PutJobSuccessResult …):
/// records the outcome and answers the machine.
pub async fn complete_action<P: Ports>(
    ports: &P,
    mut record: ActionExecution,
    outcome: Result<JobSuccess, JobFailure>,
) -> Result<ActionExecution, WorkerError> {
    match outcome {
        Ok(success) => {
            record.status = ActionExecutionStatus::Succeeded;
            record.output_variables = success.output_variables;
            record.summary = success.summary;
            if success.external_execution_id.is_some() {
                record.external_execution_id = success.external_execution_id;
            }
        }
        Err(failure) => {
            record.status = ActionExecutionStatus::Failed;
            record.summary = Some(failure.message.clone());
            record.error_details = Some(ErrorDetails {
                code: failure.failure_type,
                message: failure.message,
            });
        }
    }
    finish(ports, &mut record, None, &StopSignal::never()).await?;
    Ok(record)
}
