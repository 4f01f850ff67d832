//! The store in memory: fast, and gone with the process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ExecutionSummary, MachineRecord, Store, StoreError};
use crate::execution::{ExecutionState, HistoryEvent};

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
