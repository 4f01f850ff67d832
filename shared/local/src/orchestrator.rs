//! The embedded ASL engine as the [`Orchestrator`]: the compiled pipeline machine runs here exactly as
//! it runs on Step Functions.
//!
//! One process runs the engine over a data directory (`sluice run`, `sluice serve`). Another process on
//! the same directory (`sluice approve` from a second terminal) is *attached*: its task answers go to the
//! store's `task_answers` table, and the engine's process delivers them ([`deliver_task_answers`]).

use std::sync::Arc;

use serde_json::Value;

use sluice_core::port::{Orchestrator, OrchestratorError, Run, RunStatus};
use sluice_statemachine::engine::{Engine, EngineError};
use sluice_statemachine::execution::ExecutionStatus;

use crate::store::{SqliteStore, TaskAnswer};

#[derive(Clone)]
pub enum LocalOrchestrator {
    /// This process runs the engine.
    Engine(Engine),
    /// Another process runs it; answers are passed on through the store.
    Attached(Arc<SqliteStore>),
}

/// The state machine of a pipeline: `sluice-<pipeline>`, within Step Functions' 80 characters (pipeline
/// names hold only characters machine names may hold too).
pub fn machine_name(pipeline: &str) -> String {
    format!("sluice-{pipeline}").chars().take(80).collect()
}

fn engine_error(error: EngineError) -> OrchestratorError {
    match error {
        EngineError::InvalidToken(message) | EngineError::TaskTimedOut(message) => {
            OrchestratorError::TaskClosed(message)
        }
        EngineError::ExecutionDoesNotExist(arn) => OrchestratorError::NoExecution(arn),
        other => OrchestratorError::Backend {
            message: other.to_string(),
            source: Some(Box::new(other)),
        },
    }
}

impl LocalOrchestrator {
    fn engine(&self) -> Result<&Engine, OrchestratorError> {
        match self {
            Self::Engine(engine) => Ok(engine),
            Self::Attached(_) => Err(OrchestratorError::Backend {
                message: "pipelines run in the process that runs the engine (sluice run or sluice serve); this one only passes answers on".to_string(),
                source: None,
            }),
        }
    }

    fn pass_on(&self, token: &str, answer: TaskAnswer) -> Option<Result<(), OrchestratorError>> {
        match self {
            Self::Engine(_) => None,
            Self::Attached(store) => Some(store.push_task_answer(token, &answer).map_err(|e| {
                OrchestratorError::Backend {
                    message: e.to_string(),
                    source: Some(Box::new(e)),
                }
            })),
        }
    }
}

impl Orchestrator for LocalOrchestrator {
    async fn deploy(
        &self,
        pipeline: &str,
        definition: &Value,
    ) -> Result<String, OrchestratorError> {
        let engine = self.engine()?;
        let name = machine_name(pipeline);
        let text = serde_json::to_string(definition).map_err(|e| OrchestratorError::Backend {
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        match engine.create_state_machine(&name, &text) {
            Ok(arn) => Ok(arn),
            Err(EngineError::StateMachineAlreadyExists(_)) => {
                let arn = engine.state_machine_arn(&name);
                engine
                    .update_state_machine(&arn, &text)
                    .map_err(engine_error)?;
                Ok(arn)
            }
            Err(other) => Err(engine_error(other)),
        }
    }

    async fn remove(&self, machine: &str) -> Result<(), OrchestratorError> {
        self.engine()?
            .delete_state_machine(machine)
            .await
            .map_err(engine_error)
    }

    async fn start(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, OrchestratorError> {
        let started = self
            .engine()?
            .start_execution(machine, Some(name), input.clone())
            .await
            .map_err(engine_error)?;
        Ok(started.execution_arn)
    }

    async fn stop(
        &self,
        execution: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        self.engine()?
            .stop_execution(execution, Some(error.to_string()), Some(cause.to_string()))
            .await
            .map_err(engine_error)
    }

    async fn task_succeeded(&self, token: &str, output: &Value) -> Result<(), OrchestratorError> {
        if let Some(passed) = self.pass_on(
            token,
            TaskAnswer::Succeeded {
                output: output.clone(),
            },
        ) {
            return passed;
        }
        self.engine()?
            .send_task_success(token, &output.to_string())
            .await
            .map_err(engine_error)
    }

    async fn task_failed(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        if let Some(passed) = self.pass_on(
            token,
            TaskAnswer::Failed {
                error: error.to_string(),
                cause: cause.to_string(),
            },
        ) {
            return passed;
        }
        self.engine()?
            .send_task_failure(token, error, cause)
            .await
            .map_err(engine_error)
    }

    async fn task_heartbeat(&self, token: &str) -> Result<(), OrchestratorError> {
        if let Some(passed) = self.pass_on(token, TaskAnswer::Heartbeat) {
            return passed;
        }
        self.engine()?
            .send_task_heartbeat(token)
            .await
            .map_err(engine_error)
    }

    async fn describe(&self, execution: &str) -> Result<Run, OrchestratorError> {
        let state = self
            .engine()?
            .describe_execution(execution)
            .map_err(engine_error)?;
        Ok(Run {
            status: match state.status {
                ExecutionStatus::Running => RunStatus::Running,
                ExecutionStatus::Succeeded => RunStatus::Succeeded,
                ExecutionStatus::Failed => RunStatus::Failed,
                ExecutionStatus::TimedOut => RunStatus::TimedOut,
                ExecutionStatus::Aborted => RunStatus::Aborted,
            },
            output: state.output,
            error: state.error.as_ref().map(|e| e.error.clone()),
            cause: state.error.map(|e| e.cause),
        })
    }
}

/// Delivers the answers attached processes left in the store. Answers for tasks that no longer wait are
/// dropped: the action's record already says what was decided.
pub async fn deliver_task_answers(engine: &Engine, store: &SqliteStore) -> usize {
    let Ok(answers) = store.take_task_answers() else {
        return 0;
    };
    let count = answers.len();
    for (token, answer) in answers {
        let _ = match answer {
            TaskAnswer::Succeeded { output } => {
                engine.send_task_success(&token, &output.to_string()).await
            }
            TaskAnswer::Failed { error, cause } => {
                engine.send_task_failure(&token, &error, &cause).await
            }
            TaskAnswer::Heartbeat => engine.send_task_heartbeat(&token).await,
        };
    }
    count
}
