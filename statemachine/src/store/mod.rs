//! Where executions live between transitions. Every change of an execution is one atomic write of its new
//! state and the history events that led to it, conditional on the version the writer read, so that a
//! second writer loses cleanly and a crash leaves either the old state or the new one.
//!
//! This module is the port: the [`Store`] trait and the records it keeps, which depend on no adapter. The
//! two adapters are its submodules, `memory` ([`MemoryStore`]) and `sqlite` ([`SqliteStore`]); they
//! import the port, and the port only re-exports them. Both pass the same contract suite
//! (`tests/store.rs`).

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

use crate::execution::{ExecutionState, ExecutionStatus, HistoryEvent};

/// A revision of a state machine's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineRecord {
    pub arn: String,
    pub name: String,
    pub revision: u64,
    /// The definition as JSON text.
    pub definition: String,
    /// Epoch milliseconds.
    pub created: i64,
}

/// What ListExecutions shows of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: i64,
    pub stop_date: Option<i64>,
}

impl From<&ExecutionState> for ExecutionSummary {
    fn from(e: &ExecutionState) -> Self {
        ExecutionSummary {
            execution_arn: e.execution_arn.clone(),
            state_machine_arn: e.state_machine_arn.clone(),
            name: e.name.clone(),
            status: e.status,
            start_date: e.start_date,
            stop_date: e.stop_date,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an execution with ARN {0} already exists")]
    AlreadyExists(String),
    #[error("execution {arn} was changed by another writer (expected version {expected})")]
    Conflict { arn: String, expected: u64 },
    #[error("no execution with ARN {0}")]
    NotFound(String),
    #[error("the store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The persistence port of the engine.
pub trait Store: Send + Sync + 'static {
    fn put_machine(&self, machine: &MachineRecord) -> Result<(), StoreError>;
    /// Every revision of every machine.
    fn machines(&self) -> Result<Vec<MachineRecord>, StoreError>;
    /// Removes every revision of a machine; its executions and their histories stay. Removing a missing
    /// machine is not an error.
    fn delete_machine(&self, arn: &str) -> Result<(), StoreError>;
    /// Records a new execution; `AlreadyExists` if its ARN is taken.
    fn insert_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError>;
    /// Replaces an execution whose stored version is `execution.version - 1` and appends `events`.
    fn update_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError>;
    fn execution(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError>;
    /// Every execution still running, to carry on after a restart.
    fn open_executions(&self) -> Result<Vec<ExecutionState>, StoreError>;
    /// A machine's executions, newest first.
    fn list_executions(&self, state_machine_arn: &str)
    -> Result<Vec<ExecutionSummary>, StoreError>;
    fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError>;
}
