//! The compiled machine's protocol: what the state machine sends the dispatcher and the workers (the
//! payload kinds and fields), what it is started with, how its executions are named, which worker each
//! action category goes to, and the `Sluice.*` error names its Retry and Catch match. [`crate::compile`]
//! writes machines with these names and [`crate::dispatcher`] and [`crate::worker`] read them: one place,
//! so the two sides cannot drift apart.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::pipeline::declaration::ActionCategory;

/// The `Sluice.*` errors a step fails a task or the machine with, which the machine's Retry and Catch
/// match by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SluiceError {
    /// A dispatcher step for which trying again will not help (a malformed event, a record that is
    /// missing): the machine's Catch ends the stage or the execution as failed.
    DispatchFailed,
    /// A worker step for which trying again will not help.
    WorkerFailed,
    /// A superseded execution's entry task.
    Superseded,
    /// A duplicate start: a second machine for an execution an EventBridge rule started (the rule's event
    /// delivered again). The compiled machine's Start catches it and ends quietly.
    DuplicateStart,
    /// An execution a rule started that cannot run (a variable without a default, its pipeline gone); its
    /// record says why.
    StartFailed,
    /// A stopped execution's machine, and a step of it that no longer starts.
    Stopped,
    /// A dispatcher or worker step that may pass if run again (the store was throttled, timed out or
    /// busy, a conditional write lost a race): the compiled machine retries it.
    Transient,
    /// An action's failure, carried into the machine.
    ActionFailed,
}

impl SluiceError {
    pub const ALL: [SluiceError; 8] = [
        SluiceError::DispatchFailed,
        SluiceError::WorkerFailed,
        SluiceError::Superseded,
        SluiceError::DuplicateStart,
        SluiceError::StartFailed,
        SluiceError::Stopped,
        SluiceError::Transient,
        SluiceError::ActionFailed,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SluiceError::DispatchFailed => "Sluice.DispatchFailed",
            SluiceError::WorkerFailed => "Sluice.WorkerFailed",
            SluiceError::Superseded => "Sluice.Superseded",
            SluiceError::DuplicateStart => "Sluice.DuplicateStart",
            SluiceError::StartFailed => "Sluice.StartFailed",
            SluiceError::Stopped => "Sluice.Stopped",
            SluiceError::Transient => "Sluice.Transient",
            SluiceError::ActionFailed => "Sluice.ActionFailed",
        }
    }

    /// The error of that name, if it is one of Sluice's.
    pub fn named(name: &str) -> Option<SluiceError> {
        SluiceError::ALL
            .into_iter()
            .find(|error| error.name() == name)
    }
}

impl std::fmt::Display for SluiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An error compares equal to its name, as a Catch's `ErrorEquals` matches it.
impl PartialEq<&str> for SluiceError {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

// The names as constants, for the places (compiled machines, matches) that want a `&str`.
pub const DISPATCH_FAILED_ERROR: &str = SluiceError::DispatchFailed.name();
pub const WORKER_FAILED_ERROR: &str = SluiceError::WorkerFailed.name();
pub const SUPERSEDED_ERROR: &str = SluiceError::Superseded.name();
pub const DUPLICATE_START_ERROR: &str = SluiceError::DuplicateStart.name();
pub const START_FAILED_ERROR: &str = SluiceError::StartFailed.name();
pub const STOPPED_ERROR: &str = SluiceError::Stopped.name();
pub const TRANSIENT_ERROR: &str = SluiceError::Transient.name();
pub const ACTION_FAILED_ERROR: &str = SluiceError::ActionFailed.name();

/// Step Functions' error for a task that ran past its TimeoutSeconds.
pub const TIMEOUT_ERROR: &str = "States.Timeout";

/// The `kind` of a payload the machine sends: one per dispatcher step ([`DispatcherEvent`]'s variants,
/// by the same names) and `Action` for a worker's call ([`ActionEvent`]). [`crate::compile`] writes these
/// names; the dispatcher reads them as [`DispatcherEvent`]'s tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    ExecutionStarted,
    StageEnter,
    StageExit,
    StageFailed,
    ExecutionSucceeded,
    Action,
}

impl PayloadKind {
    pub const ALL: [PayloadKind; 6] = [
        PayloadKind::ExecutionStarted,
        PayloadKind::StageEnter,
        PayloadKind::StageExit,
        PayloadKind::StageFailed,
        PayloadKind::ExecutionSucceeded,
        PayloadKind::Action,
    ];

    /// The `kind` as the payload carries it.
    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::ExecutionStarted => "ExecutionStarted",
            PayloadKind::StageEnter => "StageEnter",
            PayloadKind::StageExit => "StageExit",
            PayloadKind::StageFailed => "StageFailed",
            PayloadKind::ExecutionSucceeded => "ExecutionSucceeded",
            PayloadKind::Action => "Action",
        }
    }
}

/// The machine's error as a Catch recorded it in `$.error`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MachineError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// What the machine asks of the dispatcher (the `kind` of its payload).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind")]
pub enum DispatcherEvent {
    /// The first step. `input` is the machine's whole input: an EventBridge rule's start carries a
    /// `trigger` there and has no record yet. `execution` is the orchestrator's id of this machine
    /// (`$$.Execution.Id`), which a rule's execution is recorded with. Both are absent from machines
    /// compiled before they were passed.
    ExecutionStarted {
        pipeline: String,
        #[serde(rename = "pipelineExecutionId")]
        execution_id: String,
        #[serde(default)]
        input: Option<Value>,
        #[serde(default)]
        execution: Option<String>,
    },
    /// A callback step: the token is answered when the execution may enter.
    StageEnter {
        pipeline: String,
        #[serde(rename = "pipelineExecutionId")]
        execution_id: String,
        stage: String,
        token: String,
    },
    StageExit {
        pipeline: String,
        #[serde(rename = "pipelineExecutionId")]
        execution_id: String,
        stage: String,
    },
    StageFailed {
        pipeline: String,
        #[serde(rename = "pipelineExecutionId")]
        execution_id: String,
        stage: String,
        #[serde(default)]
        error: Option<MachineError>,
    },
    ExecutionSucceeded {
        pipeline: String,
        #[serde(rename = "pipelineExecutionId")]
        execution_id: String,
    },
}

impl DispatcherEvent {
    pub fn kind(&self) -> PayloadKind {
        match self {
            DispatcherEvent::ExecutionStarted { .. } => PayloadKind::ExecutionStarted,
            DispatcherEvent::StageEnter { .. } => PayloadKind::StageEnter,
            DispatcherEvent::StageExit { .. } => PayloadKind::StageExit,
            DispatcherEvent::StageFailed { .. } => PayloadKind::StageFailed,
            DispatcherEvent::ExecutionSucceeded { .. } => PayloadKind::ExecutionSucceeded,
        }
    }
}

/// The machine's call for one action.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActionEvent {
    pub pipeline: String,
    #[serde(rename = "pipelineExecutionId")]
    pub execution_id: String,
    pub stage: String,
    pub action: String,
    pub token: String,
    /// The name of the machine's execution (`$$.Execution.Name`), which says which run of the pipeline
    /// execution this is ([`crate::protocol::run_attempt`]). Absent from machines compiled before it
    /// was passed.
    #[serde(default)]
    pub run: Option<String>,
}

/// The machine input of an execution: references only.
pub fn machine_input(pipeline: &str, execution_id: &str) -> serde_json::Value {
    json!({ "pipeline": pipeline, "pipelineExecutionId": execution_id })
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

/// The worker function of each action category. Four workers, one per kind of work and so per set of
/// permissions (infra/template.yaml): Build, Test and Compute all run builds; an Approval, like an Invoke,
/// hands the work to someone else (a person, a function) and waits for the answer.
pub fn worker_of(category: ActionCategory) -> &'static str {
    match category {
        ActionCategory::Source => "source",
        ActionCategory::Build | ActionCategory::Test | ActionCategory::Compute => "build",
        ActionCategory::Deploy => "deploy",
        ActionCategory::Approval | ActionCategory::Invoke => "invoke",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload of each kind with every field any kind needs.
    fn payload(kind: PayloadKind) -> Value {
        json!({
            "kind": kind.name(), "pipeline": "p", "pipelineExecutionId": "e", "stage": "s",
            "action": "a", "token": "t"
        })
    }

    #[test]
    fn the_dispatcher_reads_every_kind_the_compiler_writes_and_no_other() {
        for kind in PayloadKind::ALL {
            let read = serde_json::from_value::<DispatcherEvent>(payload(kind));
            match kind {
                PayloadKind::Action => {
                    assert!(read.is_err(), "an action's call is not a dispatcher step");
                    let action: ActionEvent = serde_json::from_value(payload(kind)).unwrap();
                    assert_eq!(action.action, "a");
                }
                _ => assert_eq!(read.unwrap().kind(), kind),
            }
        }
    }

    #[test]
    fn every_sluice_error_is_named_in_its_namespace_and_found_by_its_name() {
        for error in SluiceError::ALL {
            assert!(error.name().starts_with("Sluice."), "{error}");
            assert_eq!(SluiceError::named(error.name()), Some(error));
        }
        assert_eq!(SluiceError::named("States.Timeout"), None);
    }
}
