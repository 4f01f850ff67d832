//! DisableStageTransition and EnableStageTransition: a stage's inbound gate, closed and opened.

use crate::dispatcher::{DispatchError, admit, update_gate};
use crate::pipeline::declaration::ExecutionMode;
use crate::port::{PipelineStore, Ports};
use crate::problem::{Coded, Exception, no_pipeline, no_stage};

/// `StageTransitionType`: only inbound transitions hold executions in Sluice; an outbound transition is
/// the next stage's inbound one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionType {
    Inbound,
    Outbound,
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("{}", no_pipeline(account, name))]
    PipelineNotFound { account: String, name: String },
    #[error("{}", no_stage(pipeline, stage))]
    StageNotFound { pipeline: String, stage: String },
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

impl Coded for TransitionError {
    fn exception(&self) -> Exception {
        match self {
            Self::PipelineNotFound { .. } => Exception::PipelineNotFoundException,
            Self::StageNotFound { .. } => Exception::StageNotFoundException,
            Self::Validation(_) => Exception::ValidationException,
            Self::Dispatch(error) => error.exception(),
        }
    }
}

/// The stage whose inbound gate a transition is: the stage itself (Inbound) or the next one (Outbound).
async fn transition_gate<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    transition: TransitionType,
) -> Result<(String, ExecutionMode), TransitionError> {
    let stored = ports
        .store()
        .pipeline(pipeline)
        .await
        .map_err(DispatchError::from)?
        .ok_or_else(|| TransitionError::PipelineNotFound {
            account: crate::record::LOCAL_ACCOUNT.to_string(),
            name: pipeline.to_string(),
        })?;
    let stages = &stored.declaration.stages;
    let index = stages.iter().position(|s| s.name == stage).ok_or_else(|| {
        TransitionError::StageNotFound {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
        }
    })?;
    let gate_stage = match transition {
        TransitionType::Inbound => &stages[index].name,
        TransitionType::Outbound => match stages.get(index + 1) {
            Some(next) => &next.name,
            None => {
                return Err(TransitionError::Validation(format!(
                    "Stage {stage} is the last stage of pipeline {pipeline}: it has no outbound transition"
                )));
            }
        },
    };
    Ok((gate_stage.clone(), stored.declaration.execution_mode()))
}

/// DisableStageTransition: executions arriving at the stage wait in front of it.
pub async fn disable_transition<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    transition: TransitionType,
    reason: &str,
) -> Result<(), TransitionError> {
    let (gate_stage, _) = transition_gate(ports, pipeline, stage, transition).await?;
    let now = ports.clock().now();
    update_gate(ports, pipeline, &gate_stage, |gate| {
        gate.disable(reason);
        gate.last_changed_at = Some(now);
    })
    .await
    .map_err(DispatchError::from)?;
    Ok(())
}

/// EnableStageTransition: the executions waiting in front of the stage enter as its mode allows.
pub async fn enable_transition<P: Ports>(
    ports: &P,
    pipeline: &str,
    stage: &str,
    transition: TransitionType,
) -> Result<(), TransitionError> {
    let (gate_stage, mode) = transition_gate(ports, pipeline, stage, transition).await?;
    let now = ports.clock().now();
    let ((), pending) = update_gate(ports, pipeline, &gate_stage, |gate| {
        gate.last_changed_at = Some(now);
        gate.enable(mode);
    })
    .await
    .map_err(DispatchError::from)?;
    admit(
        ports,
        pipeline,
        mode,
        &gate_stage,
        pending,
        None,
        &mut false,
    )
    .await?;
    Ok(())
}
