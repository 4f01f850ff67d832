//! The state of one execution, as it is persisted after every transition: its threads of control (the
//! machine's flow, and one per running Parallel branch or Map iteration), their phases, and the history
//! of Step Functions events it has produced so far.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StateError;

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn is_open(self) -> bool {
        self == ExecutionStatus::Running
    }

    pub fn name(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// Everything needed to carry an execution on after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionState {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// Which revision of the machine's definition the execution runs: an update does not change it.
    #[serde(default)]
    pub machine_revision: u64,
    pub status: ExecutionStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<FailureInfo>,
    /// Epoch milliseconds.
    pub start_date: i64,
    pub stop_date: Option<i64>,
    /// The machine's TimeoutSeconds, as a deadline.
    pub deadline: Option<i64>,
    /// Threads by id; a finished thread stays (as `Phase::Gone`) so ids never shift.
    pub threads: Vec<Thread>,
    /// How many history events exist; the next one gets this number plus one.
    pub event_count: u64,
    /// Bumped by every persisted change: the store's optimistic-concurrency version.
    pub version: u64,
}

/// The Error and Cause an execution failed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureInfo {
    pub error: String,
    pub cause: String,
}

impl From<&StateError> for FailureInfo {
    fn from(e: &StateError) -> Self {
        FailureInfo {
            error: e.error.clone(),
            cause: e.cause.clone(),
        }
    }
}

/// A thread of control: it runs one state of one flow at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    pub flow: usize,
    pub state: usize,
    /// The thread this one runs for (a Parallel branch or Map iteration), and its slot there.
    pub parent: Option<(usize, usize)>,
    /// The raw input of the current state.
    pub input: Value,
    pub phase: Phase,
    /// How often each retrier of the current state has retried; reset when the state is left.
    pub attempts: Vec<u64>,
    /// Workflow variables visible to this thread (set by Assign).
    pub variables: Map<String, Value>,
    /// When the current state was entered, epoch milliseconds.
    pub entered_at: i64,
    /// The id of the history event that entered the current state.
    #[serde(default)]
    pub entered_event: u64,
    /// For a Map iteration: the item's index and value (`$$.Map.Item`).
    pub map_item: Option<(u64, Value)>,
}

/// What a thread is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Phase {
    /// About to run its state.
    Ready,
    /// A Wait state or a retry backoff: until the deadline, then `Ready` again (retry) or done (Wait).
    Sleeping { until: i64, retry: bool },
    /// A Task handed to its handler, waiting for the result that comes with `token`.
    Task(TaskWait),
    /// A Parallel or Map waiting for its branches or iterations.
    Children(Children),
    /// Ended; the slot stays so thread ids do not shift.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskWait {
    pub token: String,
    pub resource: String,
    /// What the handler receives (after InputPath and Parameters).
    pub effective_input: Value,
    pub timeout_at: Option<i64>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_at: Option<i64>,
    /// Whether the handler has taken the task. Until then a restart hands it over again.
    pub dispatched: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Children {
    /// Per branch or item: the running thread, if started and not finished.
    pub running: Vec<Option<usize>>,
    /// Per branch or item: its output, once finished.
    pub results: Vec<Option<Value>>,
    /// Map only: the inputs of the iterations not started yet, from `next_item` on.
    pub items: Vec<Value>,
    pub next_item: usize,
    /// Map only: at most this many iterations at once (0: no limit).
    pub limit: usize,
    /// How many branches or iterations run now, and how many have finished.
    pub active: usize,
    pub done: usize,
}

/// One event of an execution's history, shaped as Step Functions' GetExecutionHistory shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's details (`stateEnteredEventDetails`, `taskScheduledEventDetails`, …), by their AWS name.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}
