//! The dispatcher: the bookkeeping steps of a compiled pipeline machine (`compile`): execution start and
//! finish, stage entry (inbound transition, stage lock, supersede or queue), stage exit and stage failure.
//! The same function runs as the `sluice-dispatcher` Lambda and inside the local runtime.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::builders::execution::new_execution;
use crate::pipeline::declaration::ExecutionMode;
use crate::port::{
    ActionExecutionStore, ExecutionStore, Orchestrator, OrchestratorError, PipelineStore, Ports,
    StageStore, StoreError,
};
use crate::problem::{Coded, Exception};
use crate::protocol::SluiceError;
use crate::protocol::{
    DispatcherEvent, MachineError, STOPPED_ERROR, SUPERSEDED_ERROR, TIMEOUT_ERROR,
};
use crate::record::{
    ActionExecutionStatus, ExecutionTrigger, PipelineExecution, PipelineExecutionStatus,
    StageExecution, StageExecutionStatus,
};
use crate::recorder::{change_execution, record_action, record_execution, record_stage};
use crate::stage::{Admission, Arrival, Gate};
use crate::variable::resolve_variables;

/// A dispatcher failure, with the error name a machine's Retry/Catch matches.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("the dispatcher event is malformed: {0}")]
    BadEvent(#[from] serde_json::Error),
    #[error("pipeline execution {execution_id} of pipeline {pipeline} does not exist")]
    NoExecution {
        pipeline: String,
        execution_id: String,
    },
    /// A rule's start whose payload lacks what its record needs.
    #[error(
        "the start of pipeline execution {execution_id} of pipeline {pipeline} by a trigger is malformed: {reason}"
    )]
    BadTrigger {
        pipeline: String,
        execution_id: String,
        reason: String,
    },
    /// A second machine for an execution a rule started: EventBridge delivered the event again.
    #[error(
        "pipeline execution {execution_id} of pipeline {pipeline} is run by {recorded}; this machine ({machine}) was started by a second delivery of the same event and ends without changing it"
    )]
    DuplicateStart {
        pipeline: String,
        execution_id: String,
        /// The machine the record names (or says none is recorded).
        recorded: String,
        machine: String,
    },
    /// An execution a rule started that cannot run; its record (when there is one) is Failed.
    #[error("pipeline execution {execution_id} of pipeline {pipeline} cannot start: {reason}")]
    StartFailed {
        pipeline: String,
        execution_id: String,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
}

/// A step's failure reaches the API only through a use case that ran it: its store's answer, else
/// Sluice's own failure.
impl Coded for DispatchError {
    fn exception(&self) -> Exception {
        match self {
            Self::Store(error) => error.exception(),
            _ => Exception::InternalFailure,
        }
    }
}

impl DispatchError {
    /// [`SluiceError::Transient`] errors may succeed when tried again (the machine retries them); the others
    /// will not.
    pub fn error_type(&self) -> SluiceError {
        match self {
            Self::Store(error) if error.is_retryable() => SluiceError::Transient,
            Self::Orchestrator(OrchestratorError::Backend { .. }) => SluiceError::Transient,
            Self::DuplicateStart { .. } => SluiceError::DuplicateStart,
            Self::StartFailed { .. } => SluiceError::StartFailed,
            _ => SluiceError::DispatchFailed,
        }
    }
}

impl crate::port::Transient for DispatchError {
    fn is_transient(&self) -> bool {
        self.error_type() == SluiceError::Transient
    }
}

/// Handles one dispatcher call, given the payload as the machine sent it. A step that fails
/// transiently is tried again in process ([`crate::transient::STEP`]) before the machine's retries;
/// each step is idempotent on (execution, stage): run again after some of its writes, it finishes what
/// the earlier run began and does nothing twice.
pub async fn handle<P: Ports>(ports: &P, payload: Value) -> Result<Value, DispatchError> {
    let event: DispatcherEvent = serde_json::from_value(payload)?;
    let mut tries = 0;
    crate::transient::STEP
        .retry(&crate::port::StopSignal::never(), || {
            tries += 1;
            step(ports, &event, tries > 1)
        })
        .await?;
    Ok(json!({}))
}

/// One try of a dispatcher step; `again` when an earlier try in this process failed.
async fn step<P: Ports>(
    ports: &P,
    event: &DispatcherEvent,
    again: bool,
) -> Result<(), DispatchError> {
    match event.clone() {
        DispatcherEvent::ExecutionStarted {
            pipeline,
            execution_id,
            input,
            execution,
        } => {
            let trigger = input
                .as_ref()
                .and_then(|input| input.get("trigger"))
                .filter(|trigger| !trigger.is_null());
            match trigger {
                Some(trigger) => {
                    triggered_start(ports, &pipeline, &execution_id, trigger, execution).await?
                }
                // StartPipelineExecution, a retry, the local cron: the record was written first.
                None => {
                    load(ports, &pipeline, &execution_id).await?;
                }
            }
        }
        DispatcherEvent::StageEnter {
            pipeline,
            execution_id,
            stage,
            token,
        } => stage_enter(ports, &pipeline, &execution_id, &stage, token, again).await?,
        DispatcherEvent::StageExit {
            pipeline,
            execution_id,
            stage,
        } => stage_exit(ports, &pipeline, &execution_id, &stage).await?,
        DispatcherEvent::StageFailed {
            pipeline,
            execution_id,
            stage,
            error,
        } => {
            stage_failed(
                ports,
                &pipeline,
                &execution_id,
                &stage,
                error.unwrap_or_default(),
            )
            .await?
        }
        DispatcherEvent::ExecutionSucceeded {
            pipeline,
            execution_id,
        } => {
            let execution = load(ports, &pipeline, &execution_id).await?;
            change_execution(ports, &execution, |e| {
                e.status = match e.status {
                    PipelineExecutionStatus::InProgress => PipelineExecutionStatus::Succeeded,
                    PipelineExecutionStatus::Stopping => PipelineExecutionStatus::Stopped,
                    other => other,
                };
            })
            .await?;
        }
    }
    Ok(())
}

async fn load<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
) -> Result<PipelineExecution, DispatchError> {
    ports
        .store()
        .execution(pipeline, execution_id)
        .await?
        .ok_or_else(|| DispatchError::NoExecution {
            pipeline: pipeline.to_string(),
            execution_id: execution_id.to_string(),
        })
}

/// `ExecutionStarted` of a machine an EventBridge rule started: its input names the trigger, and the
/// record may not exist yet. The first machine to get here records the execution, as StartPipelineExecution
/// would have, with itself as the orchestration; the record is the claim. A machine that finds the record
/// claimed by another is a duplicate delivery of the rule's event ([`DUPLICATE_START_ERROR`]) and changes
/// nothing; one that finds its own claim (its dispatcher call tried again) carries on.
async fn triggered_start<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    trigger: &Value,
    machine: Option<String>,
) -> Result<(), DispatchError> {
    let malformed = |reason: String| DispatchError::BadTrigger {
        pipeline: pipeline.to_string(),
        execution_id: execution_id.to_string(),
        reason,
    };
    let trigger: ExecutionTrigger = serde_json::from_value(trigger.clone()).map_err(|e| {
        malformed(format!(
            "its trigger is not {{\"triggerType\", \"triggerDetail\"?}}: {e}"
        ))
    })?;
    let machine = machine.ok_or_else(|| {
        malformed("the payload does not name the machine's execution (`execution`)".to_string())
    })?;
    let record = match ports.store().execution(pipeline, execution_id).await? {
        Some(record) => record,
        None => {
            if !is_execution_id(execution_id) {
                return Err(malformed(format!(
                    "pipelineExecutionId {execution_id:?} is not a lowercase UUID, as CodePipeline's execution ids (and EventBridge's event ids) are"
                )));
            }
            create_triggered(ports, pipeline, execution_id, trigger, &machine).await?
        }
    };
    if record.orchestration.as_deref() != Some(machine.as_str()) {
        return Err(DispatchError::DuplicateStart {
            pipeline: pipeline.to_string(),
            execution_id: execution_id.to_string(),
            recorded: record
                .orchestration
                .map_or_else(|| "no machine yet".to_string(), |m| format!("machine {m}")),
            machine,
        });
    }
    if record.status == PipelineExecutionStatus::Failed {
        // Recorded as failed by this machine's earlier call: fail the same way again.
        return Err(DispatchError::StartFailed {
            pipeline: pipeline.to_string(),
            execution_id: execution_id.to_string(),
            reason: record.status_summary.unwrap_or_default(),
        });
    }
    Ok(())
}

/// Records an execution a rule started, run by `machine`: the pipeline's latest version (the one its
/// machine runs) with the declared variables' defaults. A variable without a default cannot be given a
/// value by a rule, so the execution is recorded Failed, saying which. Returns the record as stored: the
/// one a concurrent duplicate wrote first when it won.
async fn create_triggered<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    trigger: ExecutionTrigger,
    machine: &str,
) -> Result<PipelineExecution, DispatchError> {
    let start_failed = |reason: String| DispatchError::StartFailed {
        pipeline: pipeline.to_string(),
        execution_id: execution_id.to_string(),
        reason,
    };
    let stored = ports
        .store()
        .pipeline(pipeline)
        .await?
        .ok_or_else(|| start_failed(format!("pipeline {pipeline} does not exist")))?;
    let (variables, failure) = match resolve_variables(&stored.declaration, &BTreeMap::new()) {
        Ok(variables) => (variables, None),
        Err(error) => {
            let reason = error.to_string();
            let defaults = stored
                .declaration
                .variables
                .iter()
                .filter_map(|v| Some((v.name.clone(), v.default_value.clone()?)))
                .collect();
            (defaults, Some(reason))
        }
    };
    let rule = trigger.trigger_detail.clone().unwrap_or_default();
    let mut execution = new_execution(
        &stored,
        execution_id.to_string(),
        trigger,
        variables,
        ports.clock().now(),
    );
    execution.orchestration = Some(machine.to_string());
    if let Some(reason) = &failure {
        execution.status = PipelineExecutionStatus::Failed;
        execution.status_summary = Some(format!(
            "The execution could not be started: {reason}; an execution started by a trigger ({rule}) is given no variable values, so declare a defaultValue"
        ));
    }
    match record_execution(ports, &execution).await {
        Ok(()) => Ok(execution),
        // A duplicate delivery's machine recorded it first: its claim decides.
        Err(StoreError::AlreadyExists { .. }) => load(ports, pipeline, execution_id).await,
        Err(other) => Err(other.into()),
    }
}

/// CodePipeline's `PipelineExecutionId` pattern: a UUID in lowercase hexadecimal.
fn is_execution_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => matches!(c, '0'..='9' | 'a'..='f'),
        })
}

/// Applies `change` to a stage's gate, reading it again until the conditional write wins; returns what
/// the change returned and the admissions pending in the gate as written.
pub(crate) async fn update_gate<P: Ports, R>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    change: impl Fn(&mut Gate) -> R,
) -> Result<(R, Vec<Admission>), StoreError> {
    loop {
        let (mut gate, version) = ports.store().gate(pipeline, stage).await?;
        let result = change(&mut gate);
        match ports
            .store()
            .put_gate(pipeline, stage, &gate, version)
            .await
        {
            Ok(()) => return Ok((result, gate.pending)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(other) => return Err(other),
        }
    }
}

/// Applies `change` to the stage's gate, then carries out what is pending there.
async fn change_gate<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    stage: &str,
    change: impl Fn(&mut Gate),
) -> Result<(), DispatchError> {
    let pipeline = &execution.pipeline_name;
    let ((), pending) = update_gate(ports, pipeline, stage, change).await?;
    let mode = execution.execution_mode;
    admit(ports, pipeline, mode, stage, pending, None, &mut false).await
}

/// Carries out the admissions pending at a stage's gate: lets admitted executions in (their stage
/// record, then their entry token) and fails superseded ones; then takes what was done off the gate, and
/// goes on with what that write left pending. Pending admissions another step left (it failed between
/// its gate write and its answers) are carried out too: each one is idempotent. An admitted execution
/// whose entry no longer waits and whose machine has ended (it was stopped meanwhile) leaves again at
/// once, so the lock passes on. `answered` is set once `own`, the calling step's entry token, is answered.
pub(crate) async fn admit<P: Ports>(
    ports: &P,
    pipeline: &str,
    mode: ExecutionMode,
    stage: &str,
    mut pending: Vec<Admission>,
    own: Option<&str>,
    answered: &mut bool,
) -> Result<(), DispatchError> {
    while !pending.is_empty() {
        let mut gone = Vec::new();
        for admission in &pending {
            match admission {
                Admission::Enter(arrival) => {
                    put_stage(
                        ports,
                        pipeline,
                        &arrival.execution_id,
                        stage,
                        StageExecutionStatus::InProgress,
                        Some(&arrival.token),
                    )
                    .await?;
                    match ports
                        .orchestrator()
                        .task_succeeded(&arrival.token, &json!({}))
                        .await
                    {
                        Ok(()) => *answered |= own == Some(arrival.token.as_str()),
                        Err(
                            OrchestratorError::TaskClosed(_) | OrchestratorError::NoExecution(_),
                        ) => {
                            if !runs(ports, pipeline, &arrival.execution_id).await? {
                                gone.push(arrival.execution_id.clone());
                            }
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
                Admission::Supersede { waiting, by } => {
                    supersede(ports, pipeline, by, stage, waiting.clone()).await?;
                }
            }
        }
        let done = pending;
        (_, pending) = update_gate(ports, pipeline, stage, |gate| {
            gate.carried_out(&done);
            for id in &gone {
                gate.leave(mode, id);
            }
        })
        .await?;
    }
    Ok(())
}

/// Whether an execution still runs: its record is open and its machine (when recorded) is running. An
/// entry token that is closed while the execution still runs was answered already (by an earlier run of
/// the admission), so the execution stays inside.
async fn runs<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
) -> Result<bool, DispatchError> {
    let Some(execution) = ports.store().execution(pipeline, execution_id).await? else {
        return Ok(false);
    };
    if !execution.status.is_open() {
        return Ok(false);
    }
    let Some(orchestration) = &execution.orchestration else {
        return Ok(true);
    };
    match ports.orchestrator().describe(orchestration).await {
        Ok(run) => Ok(run.status == crate::port::RunStatus::Running),
        Err(OrchestratorError::NoExecution(_)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

async fn supersede<P: Ports>(
    ports: &P,
    pipeline: &str,
    newer: &str,
    stage: &str,
    arrival: Arrival,
) -> Result<(), DispatchError> {
    let summary = format!("Superseded by execution {newer} while waiting to enter stage {stage}");
    if let Some(older) = ports
        .store()
        .execution(pipeline, &arrival.execution_id)
        .await?
    {
        change_execution(ports, &older, |e| {
            if e.status.is_open() {
                e.status = PipelineExecutionStatus::Superseded;
                e.status_summary = Some(summary.clone());
            }
        })
        .await?;
    }
    match ports
        .orchestrator()
        .task_failed(&arrival.token, SUPERSEDED_ERROR, &summary)
        .await
    {
        Ok(()) | Err(OrchestratorError::TaskClosed(_) | OrchestratorError::NoExecution(_)) => {
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

/// Records a stage's status ([`record_stage`]); `entry` is the admission's token when it enters.
async fn put_stage<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    stage: &str,
    status: StageExecutionStatus,
    entry: Option<&str>,
) -> Result<(), DispatchError> {
    let record = StageExecution {
        pipeline_name: pipeline.to_string(),
        pipeline_execution_id: execution_id.to_string(),
        stage_name: stage.to_string(),
        status,
        last_update_time: ports.clock().now(),
        entry: entry.map(str::to_string),
    };
    record_stage(ports, &record).await?;
    Ok(())
}

async fn stage_enter<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    stage: &str,
    token: String,
    again: bool,
) -> Result<(), DispatchError> {
    if again {
        // An earlier try may have answered the token before it failed (an answer reported failed that
        // went through): then the machine has moved on, maybe through the whole stage, and arriving
        // again would let the execution in once more. A heartbeat tells whether the entry still waits.
        match ports.orchestrator().task_heartbeat(&token).await {
            Ok(()) => {}
            Err(OrchestratorError::TaskClosed(_) | OrchestratorError::NoExecution(_)) => {
                return Ok(());
            }
            Err(other) => return Err(other.into()),
        }
    }
    let execution = load(ports, pipeline, execution_id).await?;
    if execution.status != PipelineExecutionStatus::InProgress {
        // Superseded (this step run again after the gate let a newer one in), Stopping (no new stage
        // starts) or already ended.
        let (error, cause) = match (execution.status, &execution.status_summary) {
            (PipelineExecutionStatus::Superseded, Some(summary)) => {
                (SUPERSEDED_ERROR, summary.clone())
            }
            (status, _) => (
                if status == PipelineExecutionStatus::Superseded {
                    SUPERSEDED_ERROR
                } else {
                    STOPPED_ERROR
                },
                format!(
                    "Pipeline execution {execution_id} is {}; stage {stage} does not start",
                    status.name()
                ),
            ),
        };
        return match ports
            .orchestrator()
            .task_failed(&token, error, &cause)
            .await
        {
            Ok(()) | Err(OrchestratorError::TaskClosed(_) | OrchestratorError::NoExecution(_)) => {
                Ok(())
            }
            Err(other) => Err(other.into()),
        };
    }
    let mode = execution.execution_mode;
    let arrival = Arrival {
        execution_id: execution_id.to_string(),
        token: token.clone(),
    };
    let ((), pending) = update_gate(ports, pipeline, stage, |gate| {
        gate.arrive(mode, arrival.clone());
    })
    .await?;
    let mut answered = false;
    match admit(
        ports,
        pipeline,
        mode,
        stage,
        pending,
        Some(&token),
        &mut answered,
    )
    .await
    {
        // The entry is answered: the machine has moved on, and this step must not run again (it would
        // arrive once more). What is left pending is carried out by the next step at this gate.
        Err(_) if answered => Ok(()),
        other => other,
    }
}

async fn release<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    stage: &str,
) -> Result<(), DispatchError> {
    let mode = execution.execution_mode;
    let id = execution.pipeline_execution_id.clone();
    change_gate(ports, execution, stage, |gate| {
        gate.leave(mode, &id);
    })
    .await
}

async fn stage_exit<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    stage: &str,
) -> Result<(), DispatchError> {
    let execution = load(ports, pipeline, execution_id).await?;
    put_stage(
        ports,
        pipeline,
        execution_id,
        stage,
        StageExecutionStatus::Succeeded,
        None,
    )
    .await?;
    release(ports, &execution, stage).await?;
    if execution.status == PipelineExecutionStatus::Stopping {
        // Stop and wait: what ran has finished; the next stage does not start.
        let summary = execution.status_summary.clone();
        finish_stopped(ports, &execution, summary).await?;
    }
    Ok(())
}

async fn stage_failed<P: Ports>(
    ports: &P,
    pipeline: &str,
    execution_id: &str,
    stage: &str,
    error: MachineError,
) -> Result<(), DispatchError> {
    let execution = load(ports, pipeline, execution_id).await?;
    if execution.status == PipelineExecutionStatus::Superseded {
        // It never entered: the newer execution already took its place at the gate.
        return Ok(());
    }
    let stopped = matches!(
        execution.status,
        PipelineExecutionStatus::Stopping | PipelineExecutionStatus::Stopped
    ) || error.error == STOPPED_ERROR;
    let entered = ports
        .store()
        .stage_executions(pipeline, execution_id)
        .await?
        .iter()
        .any(|s| s.stage_name == stage);
    if entered {
        put_stage(
            ports,
            pipeline,
            execution_id,
            stage,
            if stopped {
                StageExecutionStatus::Stopped
            } else {
                StageExecutionStatus::Failed
            },
            None,
        )
        .await?;
    }
    release(ports, &execution, stage).await?;
    if error.error == TIMEOUT_ERROR {
        // A timed-out action (an approval nobody answered, a build that ran too long) failed.
        fail_waiting_actions(ports, &execution, stage).await?;
    }
    abandon_waiting_actions(ports, &execution, Some(stage)).await?;
    let summary = failure_summary(ports, &execution, stage, &error).await?;
    change_execution(ports, &execution, |e| {
        e.status = match e.status {
            PipelineExecutionStatus::InProgress if !stopped => PipelineExecutionStatus::Failed,
            PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping => {
                PipelineExecutionStatus::Stopped
            }
            other => other,
        };
        if e.status == PipelineExecutionStatus::Failed {
            e.status_summary = Some(summary.clone());
        }
    })
    .await?;
    Ok(())
}

/// The failure as a user reads it: the failed action's own error when one is recorded, else the
/// machine's.
async fn failure_summary<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    stage: &str,
    error: &MachineError,
) -> Result<String, DispatchError> {
    let actions = ports
        .store()
        .action_executions(
            &execution.pipeline_name,
            Some(&execution.pipeline_execution_id),
        )
        .await?;
    let failed = actions
        .iter()
        .rev()
        .find(|a| a.stage_name == stage && a.status == ActionExecutionStatus::Failed);
    Ok(match failed {
        Some(action) => format!(
            "Stage {stage} failed: action {} failed: {}",
            action.action_name,
            action
                .error_details
                .as_ref()
                .map(|d| d.message.as_str())
                .unwrap_or("no details")
        ),
        None if error.cause.is_empty() && error.error.is_empty() => {
            format!("Stage {stage} failed")
        }
        None => format!("Stage {stage} failed: {}: {}", error.error, error.cause),
    })
}

/// Marks the stage's actions still in progress as Failed because they timed out.
async fn fail_waiting_actions<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    stage: &str,
) -> Result<(), StoreError> {
    let actions = ports
        .store()
        .action_executions(
            &execution.pipeline_name,
            Some(&execution.pipeline_execution_id),
        )
        .await?;
    for mut action in actions {
        if action.status == ActionExecutionStatus::InProgress && action.stage_name == stage {
            action.status = ActionExecutionStatus::Failed;
            action.last_update_time = ports.clock().now();
            action.error_details = Some(crate::record::ErrorDetails {
                code: "JobFailed".to_string(),
                message: format!(
                    "Action {} did not finish within its timeout",
                    action.action_name
                ),
            });
            record_action(ports, &action, Some(execution)).await?;
        }
    }
    Ok(())
}

/// Marks the execution's actions still in progress (in `stage`, or anywhere) as Abandoned.
async fn abandon_waiting_actions<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    stage: Option<&str>,
) -> Result<(), StoreError> {
    let actions = ports
        .store()
        .action_executions(
            &execution.pipeline_name,
            Some(&execution.pipeline_execution_id),
        )
        .await?;
    for mut action in actions {
        if action.status == ActionExecutionStatus::InProgress
            && stage.is_none_or(|s| s == action.stage_name)
        {
            action.status = ActionExecutionStatus::Abandoned;
            action.last_update_time = ports.clock().now();
            record_action(ports, &action, Some(execution)).await?;
        }
    }
    Ok(())
}

/// Ends a stopped execution now: in-progress actions are abandoned, the stages it holds or waits at are
/// released, and its machine is stopped.
pub(crate) async fn finish_stopped<P: Ports>(
    ports: &P,
    execution: &PipelineExecution,
    summary: Option<String>,
) -> Result<PipelineExecution, DispatchError> {
    let stopped = change_execution(ports, execution, |e| {
        if e.status.is_open() {
            e.status = PipelineExecutionStatus::Stopped;
            if summary.is_some() {
                e.status_summary = summary.clone();
            }
        }
    })
    .await?
    .unwrap_or_else(|| execution.clone());
    abandon_waiting_actions(ports, execution, None).await?;
    let pipeline = ports
        .store()
        .pipeline_version(&execution.pipeline_name, execution.pipeline_version)
        .await?;
    if let Some(orchestration) = &execution.orchestration {
        match ports
            .orchestrator()
            .stop(
                orchestration,
                STOPPED_ERROR,
                "The pipeline execution was stopped",
            )
            .await
        {
            Ok(()) | Err(OrchestratorError::NoExecution(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    for stage in ports
        .store()
        .stage_executions(&execution.pipeline_name, &execution.pipeline_execution_id)
        .await?
    {
        if stage.status == StageExecutionStatus::InProgress {
            put_stage(
                ports,
                &stage.pipeline_name,
                &stage.pipeline_execution_id,
                &stage.stage_name,
                StageExecutionStatus::Stopped,
                None,
            )
            .await?;
        }
    }
    if let Some(pipeline) = pipeline {
        for stage in &pipeline.declaration.stages {
            let (gate, _) = ports
                .store()
                .gate(&execution.pipeline_name, &stage.name)
                .await?;
            let id = &execution.pipeline_execution_id;
            if gate.inside.contains(id) || gate.waiting.iter().any(|w| &w.execution_id == id) {
                release(ports, &stopped, &stage.name).await?;
            }
        }
    }
    Ok(stopped)
}
