//! The orchestrator on AWS Step Functions: one Standard state machine per pipeline, compiled from it
//! (docs/architecture.md, "The compiled state machine"), and one execution per pipeline execution attempt,
//! named after it.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};

use crate::error::{code, describe};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use serde_json::Value;

use sluice_core::port::{Orchestrator, OrchestratorError, Run, RunStatus};

/// Step Functions limits: a state machine name, a SendTaskFailure error and cause.
const MAX_NAME: usize = 80;
const MAX_ERROR: usize = 256;
const MAX_CAUSE: usize = 32_768;

/// The state machine of a pipeline in the stack `prefix`: `<prefix>-<pipeline>`, cut to Step Functions'
/// 80 characters (pipeline names hold only characters machine names may hold).
pub fn machine_name(prefix: &str, pipeline: &str) -> String {
    format!("{prefix}-{pipeline}")
        .chars()
        .take(MAX_NAME)
        .collect()
}

/// Step Functions as the [`Orchestrator`]. Machines are named `<prefix>-<pipeline>` and run as `role_arn`
/// (the stack's state machine role, which may invoke the dispatcher and the workers).
#[derive(Clone, Debug)]
pub struct StepFunctions {
    client: Client,
    role_arn: String,
    prefix: String,
}

impl StepFunctions {
    pub fn new(client: Client, role_arn: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            client,
            role_arn: role_arn.into(),
            prefix: prefix.into(),
        }
    }

    /// The state machine of a pipeline ([`machine_name`]).
    pub fn machine_name(&self, pipeline: &str) -> String {
        machine_name(&self.prefix, pipeline)
    }

    /// The ARN of a machine that exists, by name: CreateStateMachine's conflict does not carry it.
    async fn machine_arn(&self, name: &str) -> Result<String, OrchestratorError> {
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_state_machines()
                .set_next_token(next)
                .send()
                .await
                .map_err(sdk)?;
            if let Some(found) = page.state_machines().iter().find(|m| m.name() == name) {
                return Ok(found.state_machine_arn().to_string());
            }
            match page.next_token {
                Some(token) => next = Some(token),
                None => {
                    return Err(backend(format!(
                        "state machine {name} exists but is not listed"
                    )));
                }
            }
        }
    }
}

impl Orchestrator for StepFunctions {
    async fn deploy(
        &self,
        pipeline: &str,
        definition: &Value,
    ) -> Result<String, OrchestratorError> {
        let name = self.machine_name(pipeline);
        let definition = definition.to_string();
        let created = self
            .client
            .create_state_machine()
            .name(&name)
            .definition(&definition)
            .role_arn(&self.role_arn)
            // Standard: approvals wait for days (Express workflows run at most 5 minutes), and task-token
            // callbacks need it.
            .r#type(StateMachineType::Standard)
            .send()
            .await;
        match created {
            Ok(output) => Ok(output.state_machine_arn().to_string()),
            Err(error) if code(&error) == Some("StateMachineAlreadyExists") => {
                let arn = self.machine_arn(&name).await?;
                self.client
                    .update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(&definition)
                    .role_arn(&self.role_arn)
                    .send()
                    .await
                    .map_err(sdk)?;
                Ok(arn)
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn remove(&self, machine: &str) -> Result<(), OrchestratorError> {
        // Stop the running executions first: a Standard machine stays DELETING while one waits on a
        // callback, and its executions would fail only at their next transition.
        let mut next: Option<String> = None;
        loop {
            let listed = self
                .client
                .list_executions()
                .state_machine_arn(machine)
                .status_filter(ExecutionStatus::Running)
                .set_next_token(next)
                .send()
                .await;
            let page = match listed {
                Ok(page) => page,
                Err(e) if code(&e) == Some("StateMachineDoesNotExist") => return Ok(()),
                Err(e) => return Err(sdk(e)),
            };
            for execution in page.executions() {
                let name = machine.rsplit(':').next().unwrap_or_default();
                match self
                    .stop(
                        execution.execution_arn(),
                        "States.Runtime",
                        &format!("State machine {name} has been deleted."),
                    )
                    .await
                {
                    Ok(()) | Err(OrchestratorError::NoExecution(_)) => {}
                    Err(other) => return Err(other),
                }
            }
            match page.next_token {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        let deleted = self
            .client
            .delete_state_machine()
            .state_machine_arn(machine)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("StateMachineDoesNotExist") => Ok(()),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn start(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, OrchestratorError> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(output) => Ok(output.execution_arn().to_string()),
            // The name is the pipeline execution's id: a repeated start is the same execution.
            Err(error) if code(&error) == Some("ExecutionAlreadyExists") => {
                Ok(execution_arn(machine, name))
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn stop(
        &self,
        execution: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        let stopped = self
            .client
            .stop_execution()
            .execution_arn(execution)
            .error(truncate(error, MAX_ERROR))
            .cause(truncate(cause, MAX_CAUSE))
            .send()
            .await;
        match stopped {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ExecutionDoesNotExist") => {
                Err(OrchestratorError::NoExecution(execution.to_string()))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn task_succeeded(&self, token: &str, output: &Value) -> Result<(), OrchestratorError> {
        let sent = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        sent.map(|_| ()).map_err(task_error)
    }

    async fn task_failed(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        let sent = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(truncate(error, MAX_ERROR))
            .cause(truncate(cause, MAX_CAUSE))
            .send()
            .await;
        sent.map(|_| ()).map_err(task_error)
    }

    async fn task_heartbeat(&self, token: &str) -> Result<(), OrchestratorError> {
        let sent = self
            .client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await;
        sent.map(|_| ()).map_err(task_error)
    }

    async fn describe(&self, execution: &str) -> Result<Run, OrchestratorError> {
        let described = self
            .client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await;
        let output = match described {
            Ok(output) => output,
            Err(e) if code(&e) == Some("ExecutionDoesNotExist") => {
                return Err(OrchestratorError::NoExecution(execution.to_string()));
            }
            Err(e) => return Err(sdk(e)),
        };
        let status = match output.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => RunStatus::Running,
            ExecutionStatus::Succeeded => RunStatus::Succeeded,
            ExecutionStatus::Failed => RunStatus::Failed,
            ExecutionStatus::TimedOut => RunStatus::TimedOut,
            ExecutionStatus::Aborted => RunStatus::Aborted,
            other => return Err(backend(format!("unknown execution status {other}"))),
        };
        Ok(Run {
            status,
            output: output
                .output()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| backend(format!("the execution's output is not JSON: {e}")))?,
            error: output.error().map(str::to_string),
            cause: output.cause().map(str::to_string),
        })
    }
}

/// An execution's ARN from its machine's: `…:stateMachine:<machine>` → `…:execution:<machine>:<name>`.
fn execution_arn(machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// Cuts to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An answer to a task that no longer waits (decided, timed out, stopped) or never existed: the domain
/// reads it as "already decided" (`TaskClosed`).
fn task_error<E, R>(error: SdkError<E, R>) -> OrchestratorError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match code(&error) {
        Some(code @ ("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")) => {
            let message = error
                .as_service_error()
                .and_then(|e| e.message())
                .unwrap_or("the task no longer waits");
            OrchestratorError::TaskClosed(format!("{code}: {message}"))
        }
        _ => sdk(error),
    }
}

fn backend(message: String) -> OrchestratorError {
    OrchestratorError::Backend {
        message,
        source: None,
    }
}

/// Any other SDK failure. The error itself stays the source.
fn sdk<E, R>(error: SdkError<E, R>) -> OrchestratorError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    OrchestratorError::Backend {
        message: describe("Step Functions", &error),
        source: Some(Box::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_arn_follows_from_its_machine() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:sluice-P",
                "e1"
            ),
            "arn:aws:states:us-east-1:123456789012:execution:sluice-P:e1"
        );
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate(&"x".repeat(300), MAX_ERROR).len(), MAX_ERROR);
    }
}
