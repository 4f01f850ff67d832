//! The recorder: every write of an execution, stage execution or action attempt goes through here, and
//! announces its status change on the bus ([`publish`], best effort, as CodePipeline's events are: a
//! failure is reported and the caller goes on, so an unreachable bus never fails a pipeline).

use crate::builders::event::{action_event, pipeline_event, stage_event};
use crate::port::{
    ActionExecutionStore, Clock, Event, EventPublisher, ExecutionStore, Ports, StageStore,
    StoreError,
};
use crate::record::{ActionExecution, PipelineExecution, PipelineExecutionStatus, StageExecution};

/// Publishes the events best effort, as CodePipeline's are: a failure is reported on standard error (the
/// functions' log on AWS) and the caller goes on — a state change that was written stays written.
pub async fn publish<P: Ports>(ports: &P, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    if let Err(error) = ports.events().publish(events).await {
        eprintln!(
            "sluice: {} state-change event(s) not published; the execution goes on: {error}",
            events.len()
        );
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
