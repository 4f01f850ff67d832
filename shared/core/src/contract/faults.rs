//! A store that fails as a throttled or busy one does, for tests of the steps' retries and idempotency:
//! [`FaultyStore`] wraps any store and fails a share of its calls with [`StoreError::Transient`], chosen
//! by a seeded generator. Most faults come before the call (nothing happened); a few come after a write
//! went through (the ambiguous case: the caller cannot tell that it did).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::port::{
    ActionExecutionStore, ExecutionStore, PipelineStore, ResourceStore, StageStore, Store,
    StoreError,
};
use crate::record::{ActionExecution, PipelineExecution, StageExecution, StoredPipeline};
use crate::stage::Gate;

/// How often calls fail, as fractions of the calls: `before` of every call, `after` of the writes that
/// went through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    pub before: f64,
    pub after: f64,
}

/// 10% of calls fail before they are made, and 1% of writes fail after they happened.
pub const FAULT_RATES: FaultRates = FaultRates {
    before: 0.10,
    after: 0.01,
};

/// How many calls the store saw and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub calls: u64,
    pub writes: u64,
    /// Calls failed before they were made.
    pub before: u64,
    /// Writes that went through and were then reported failed.
    pub after: u64,
}

/// What happens to one call of a scripted operation ([`FaultyStore::script`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call goes through.
    Pass,
    /// It fails before it is made.
    Before,
    /// It is made, and then reported failed (a write that went through).
    After,
}

/// A store whose calls fail transiently at [`FaultRates`], from a seeded generator (splitmix64), while
/// [`FaultyStore::set_failing`] is on (it starts on); and as scripted for an operation's next calls.
pub struct FaultyStore<S> {
    inner: Arc<S>,
    rates: FaultRates,
    script: Mutex<std::collections::HashMap<String, std::collections::VecDeque<Fault>>>,
    state: Mutex<u64>,
    failing: AtomicBool,
    calls: AtomicU64,
    writes: AtomicU64,
    before: AtomicU64,
    after: AtomicU64,
}

enum Kind {
    Read,
    Write,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: Arc<S>, seed: u64, rates: FaultRates) -> Self {
        Self {
            inner,
            rates,
            script: Mutex::new(std::collections::HashMap::new()),
            state: Mutex::new(seed),
            failing: AtomicBool::new(true),
            calls: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            before: AtomicU64::new(0),
            after: AtomicU64::new(0),
        }
    }

    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// The next calls of `operation` (a port method's name, `put_action_execution`) go as `faults`
    /// say, one each, before the rates apply again.
    pub fn script(&self, operation: &str, faults: &[Fault]) {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(operation.to_string())
            .or_default()
            .extend(faults);
    }

    fn scripted(&self, operation: &str) -> Option<Fault> {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(operation)
            .and_then(|faults| faults.pop_front())
    }

    /// Faults on or off (calls made while off are passed on untouched and not counted).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            calls: self.calls.load(Ordering::SeqCst),
            writes: self.writes.load(Ordering::SeqCst),
            before: self.before.load(Ordering::SeqCst),
            after: self.after.load(Ordering::SeqCst),
        }
    }

    /// The next number in [0, 1).
    fn draw(&self) -> f64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn call<T>(
        &self,
        operation: &str,
        kind: Kind,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if !self.failing.load(Ordering::SeqCst) {
            return call.await;
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        let write = matches!(kind, Kind::Write);
        if write {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        let scripted = self.scripted(operation);
        let before = match scripted {
            Some(fault) => fault == Fault::Before,
            None => self.draw() < self.rates.before,
        };
        if before {
            self.before.fetch_add(1, Ordering::SeqCst);
            return Err(injected(operation, "before it was made"));
        }
        let result = call.await;
        let after = match scripted {
            Some(fault) => fault == Fault::After,
            None => write && self.draw() < self.rates.after,
        };
        if after && result.is_ok() {
            self.after.fetch_add(1, Ordering::SeqCst);
            return Err(injected(operation, "after it was written"));
        }
        result
    }
}

fn injected(operation: &str, when: &str) -> StoreError {
    StoreError::Transient {
        message: format!("injected fault: {operation} failed {when}"),
        source: None,
    }
}

impl<S: Store> PipelineStore for FaultyStore<S> {
    async fn pipeline(&self, name: &str) -> Result<Option<StoredPipeline>, StoreError> {
        self.call("pipeline", Kind::Read, self.inner.pipeline(name))
            .await
    }

    async fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<StoredPipeline>, StoreError> {
        let call = self.inner.pipeline_version(name, version);
        self.call("pipeline_version", Kind::Read, call).await
    }

    async fn put_pipeline(
        &self,
        pipeline: &StoredPipeline,
        expected_version: Option<i32>,
    ) -> Result<(), StoreError> {
        let call = self.inner.put_pipeline(pipeline, expected_version);
        self.call("put_pipeline", Kind::Write, call).await
    }

    async fn pipelines(&self) -> Result<Vec<std::sync::Arc<StoredPipeline>>, StoreError> {
        self.call("pipelines", Kind::Read, self.inner.pipelines())
            .await
    }

    async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        let call = self.inner.delete_pipeline(name);
        self.call("delete_pipeline", Kind::Write, call).await
    }
}

impl<S: Store> ExecutionStore for FaultyStore<S> {
    async fn create_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let call = self.inner.create_execution(execution);
        self.call("create_execution", Kind::Write, call).await
    }

    async fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Option<PipelineExecution>, StoreError> {
        let call = self.inner.execution(pipeline, execution_id);
        self.call("execution", Kind::Read, call).await
    }

    async fn update_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let call = self.inner.update_execution(execution);
        self.call("update_execution", Kind::Write, call).await
    }

    async fn executions(&self, pipeline: &str) -> Result<Vec<PipelineExecution>, StoreError> {
        let call = self.inner.executions(pipeline);
        self.call("executions", Kind::Read, call).await
    }
}

impl<S: Store> StageStore for FaultyStore<S> {
    async fn gate(&self, pipeline: &str, stage: &str) -> Result<(Gate, u64), StoreError> {
        self.call("gate", Kind::Read, self.inner.gate(pipeline, stage))
            .await
    }

    async fn put_gate(
        &self,
        pipeline: &str,
        stage: &str,
        gate: &Gate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let call = self.inner.put_gate(pipeline, stage, gate, expected_version);
        self.call("put_gate", Kind::Write, call).await
    }

    async fn put_stage_execution(&self, stage: &StageExecution) -> Result<(), StoreError> {
        let call = self.inner.put_stage_execution(stage);
        self.call("put_stage_execution", Kind::Write, call).await
    }

    async fn stage_executions(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        let call = self.inner.stage_executions(pipeline, execution_id);
        self.call("stage_executions", Kind::Read, call).await
    }

    async fn latest_stage_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        let call = self.inner.latest_stage_executions(pipeline);
        self.call("latest_stage_executions", Kind::Read, call).await
    }
}

impl<S: Store> ActionExecutionStore for FaultyStore<S> {
    async fn put_action_execution(&self, action: &ActionExecution) -> Result<(), StoreError> {
        let call = self.inner.put_action_execution(action);
        self.call("put_action_execution", Kind::Write, call).await
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        execution_id: Option<&str>,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let call = self.inner.action_executions(pipeline, execution_id);
        self.call("action_executions", Kind::Read, call).await
    }

    async fn latest_action_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let call = self.inner.latest_action_executions(pipeline);
        self.call("latest_action_executions", Kind::Read, call)
            .await
    }
}

impl<S: Store> ResourceStore for FaultyStore<S> {
    async fn resource(&self, kind: &str, id: &str) -> Result<Option<(Value, u64)>, StoreError> {
        self.call("resource", Kind::Read, self.inner.resource(kind, id))
            .await
    }

    async fn put_resource(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let call = self
            .inner
            .put_resource(kind, id, document, expected_version);
        self.call("put_resource", Kind::Write, call).await
    }

    async fn resources(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError> {
        self.call("resources", Kind::Read, self.inner.resources(kind))
            .await
    }

    async fn delete_resource(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        let call = self.inner.delete_resource(kind, id);
        self.call("delete_resource", Kind::Write, call).await
    }
}
