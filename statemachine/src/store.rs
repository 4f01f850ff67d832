//! Where executions live between transitions. Every change of an execution is one atomic write of its new
//! state and the history events that led to it, conditional on the version the writer read, so that a
//! second writer loses cleanly and a crash leaves either the old state or the new one.
//!
//! Two adapters pass the same contract suite (`tests/store.rs`): [`MemoryStore`] and [`SqliteStore`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::execution::{ExecutionState, ExecutionStatus, HistoryEvent};

pub use crate::sqlite::SqliteStore;

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

/// Everything in memory: fast, and gone with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    machines: Vec<MachineRecord>,
    executions: HashMap<String, ExecutionState>,
    history: HashMap<String, Vec<HistoryEvent>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock leaves the maps consistent (each write is one insert).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn put_machine(&self, machine: &MachineRecord) -> Result<(), StoreError> {
        let mut memory = self.lock();
        memory
            .machines
            .retain(|m| !(m.arn == machine.arn && m.revision == machine.revision));
        memory.machines.push(machine.clone());
        Ok(())
    }

    fn machines(&self) -> Result<Vec<MachineRecord>, StoreError> {
        Ok(self.lock().machines.clone())
    }

    fn delete_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.lock().machines.retain(|m| m.arn != arn);
        Ok(())
    }

    fn insert_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        let mut memory = self.lock();
        if memory.executions.contains_key(&execution.execution_arn) {
            return Err(StoreError::AlreadyExists(execution.execution_arn.clone()));
        }
        memory
            .executions
            .insert(execution.execution_arn.clone(), execution.clone());
        memory
            .history
            .insert(execution.execution_arn.clone(), events);
        Ok(())
    }

    fn update_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        let mut memory = self.lock();
        let arn = &execution.execution_arn;
        let expected = execution.version.saturating_sub(1);
        match memory.executions.get(arn) {
            None => return Err(StoreError::NotFound(arn.clone())),
            Some(stored) if stored.version != expected => {
                return Err(StoreError::Conflict {
                    arn: arn.clone(),
                    expected,
                });
            }
            Some(_) => {}
        }
        memory.executions.insert(arn.clone(), execution.clone());
        memory
            .history
            .entry(arn.clone())
            .or_default()
            .extend(events);
        Ok(())
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError> {
        Ok(self.lock().executions.get(arn).cloned())
    }

    fn open_executions(&self) -> Result<Vec<ExecutionState>, StoreError> {
        Ok(self
            .lock()
            .executions
            .values()
            .filter(|e| e.status.is_open())
            .cloned()
            .collect())
    }

    fn list_executions(
        &self,
        state_machine_arn: &str,
    ) -> Result<Vec<ExecutionSummary>, StoreError> {
        let memory = self.lock();
        let mut found: Vec<ExecutionSummary> = memory
            .executions
            .values()
            .filter(|e| e.state_machine_arn == state_machine_arn)
            .map(ExecutionSummary::from)
            .collect();
        found.sort_by(|a, b| {
            b.start_date
                .cmp(&a.start_date)
                .then_with(|| b.name.cmp(&a.name))
        });
        Ok(found)
    }

    fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        self.lock()
            .history
            .get(arn)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(arn.to_string()))
    }
}
