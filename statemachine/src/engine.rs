//! The engine: Step Functions' operations over a [`Store`], a [`Clock`] and the task handlers the
//! embedding program registers.
//!
//! Every change of an execution goes through [`run`] and is written to the store before anything it
//! causes happens (handing a task to its handler, answering the caller), so a process killed at any
//! moment carries on from its last written state when [`Engine::start`] runs again:
//! - a `.waitForTaskToken` task its handler had taken keeps waiting for its token; one not yet taken is
//!   handed over again with the same token (handlers must be idempotent per token);
//! - a request-response task that was running when the process died is failed with `States.TaskFailed`,
//!   because whether it ran is unknown: only a Retry in the definition may run it again.
//!
//! Every task handed to a handler carries a [`TaskCancellation`] that fires when its token closes, so a
//! handler still working for a task nobody can answer any more (a build it started) stops.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as SyncMutex, RwLock};

use serde_json::Value;
use tokio::sync::{Mutex, Notify, watch};

use crate::clock::Clock;
use crate::execution::{ExecutionState, ExecutionStatus, HistoryEvent, Phase};
use crate::program::Program;
use crate::read::InvalidDefinition;
use crate::run::{self, Dispatch, Effects, Entropy, Event, MAX_PAYLOAD_BYTES, Refusal};
use crate::store::{ExecutionSummary, MachineRecord, Store, StoreError};

/// What a handler is asked to do.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    pub execution_arn: String,
    pub state_name: String,
    pub resource: String,
    /// The task's effective input (after InputPath and Parameters).
    pub input: Value,
    pub token: String,
    /// `.waitForTaskToken`: the outcome comes later, through [`Engine::send_task_success`] or
    /// [`Engine::send_task_failure`].
    pub wait_for_token: bool,
    /// Fires when the task can no longer be answered.
    pub cancellation: TaskCancellation,
}

/// Fires when a dispatched task can no longer be answered: its token closed because the task ended
/// (answered, timed out, its branch cancelled) or because its execution did (stopped, failed, timed
/// out). A handler still working for the task (a process it started) stops when it fires. It does not
/// fire when the engine shuts down: a later engine carries the task on.
#[derive(Debug, Clone)]
pub struct TaskCancellation(watch::Receiver<bool>);

impl TaskCancellation {
    /// One that has fired already: for a task closed before it was handed over.
    fn fired() -> TaskCancellation {
        TaskCancellation(watch::channel(true).1)
    }

    /// Resolves when the task can no longer be answered.
    pub async fn cancelled(&self) {
        let mut receiver = self.0.clone();
        // An error is the engine gone without firing: nothing can answer the task either.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// The channel underneath (`true` once fired), for a host that passes the signal on in a type of
    /// its own.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }
}

/// How a handler answers.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(Value),
    Failed {
        error: String,
        cause: String,
    },
    /// The handler took the task; its result will come with the token.
    Accepted,
}

/// A task resource's implementation. Handlers may be called again with the same token after a restart.
pub trait TaskHandler: Send + Sync + 'static {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>>;
}

/// Step Functions' errors, by their API names.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("StateMachineDoesNotExist: {0}")]
    StateMachineDoesNotExist(String),
    #[error("StateMachineAlreadyExists: a state machine named {0} exists with another definition")]
    StateMachineAlreadyExists(String),
    #[error("InvalidDefinition: {0}")]
    InvalidDefinition(#[from] InvalidDefinition),
    #[error("InvalidName: {0}")]
    InvalidName(String),
    #[error("ExecutionAlreadyExists: {0}")]
    ExecutionAlreadyExists(String),
    #[error("ExecutionDoesNotExist: {0}")]
    ExecutionDoesNotExist(String),
    #[error("InvalidExecutionInput: {0}")]
    InvalidExecutionInput(String),
    #[error("InvalidToken: {0}")]
    InvalidToken(String),
    #[error("TaskTimedOut: {0}")]
    TaskTimedOut(String),
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
    #[error("the execution store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the engine has been shut down")]
    Stopped,
}

impl EngineError {
    /// The error's name in the Step Functions API.
    pub fn name(&self) -> &'static str {
        match self {
            EngineError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            EngineError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            EngineError::InvalidDefinition(_) => "InvalidDefinition",
            EngineError::InvalidName(_) => "InvalidName",
            EngineError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            EngineError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            EngineError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            EngineError::InvalidToken(_) => "InvalidToken",
            EngineError::TaskTimedOut(_) => "TaskTimedOut",
            EngineError::InvalidOutput(_) => "InvalidOutput",
            EngineError::Store(_) | EngineError::Stopped => "InternalFailure",
        }
    }
}

/// Where an engine's ARNs say it runs.
#[derive(Debug, Clone)]
pub struct Location {
    pub region: String,
    pub account: String,
}

impl Default for Location {
    fn default() -> Self {
        Self {
            region: "local".to_string(),
            account: "000000000000".to_string(),
        }
    }
}

/// What StartExecution answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    pub start_date: i64,
}

/// An embedded Step Functions. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: SyncMutex<Box<dyn Entropy + Send>>,
    location: Location,
    /// Programs by (machine ARN, revision); the latest revision of each machine by ARN.
    programs: RwLock<HashMap<(String, u64), Arc<Program>>>,
    latest: RwLock<HashMap<String, (u64, Arc<str>)>>,
    handlers: RwLock<Vec<(String, Arc<dyn TaskHandler>)>>,
    /// Open executions, each behind its own lock: one writer per execution at a time.
    open: SyncMutex<HashMap<String, Arc<Mutex<ExecutionState>>>>,
    /// Which execution waits on each open task token.
    tokens: SyncMutex<HashMap<String, String>>,
    /// The cancellation of each handed-over task whose token is open; fired as the token closes.
    cancellations: SyncMutex<HashMap<String, watch::Sender<bool>>>,
    timers: SyncMutex<BinaryHeap<Reverse<(i64, String)>>>,
    timer_changed: Notify,
    /// Notified after every written change, for callers waiting for an execution to end.
    changed: Notify,
    /// Set by [`Engine::shutdown`]: the engine changes nothing more.
    stopped: std::sync::atomic::AtomicBool,
    /// The runtime the engine was started on. Task handlers and timers run there, whichever runtime
    /// the call that dispatched them came from, so a host can keep executions' work off the threads
    /// that serve its API.
    runtime: tokio::runtime::Handle,
}

impl Engine {
    /// Starts an engine over a store: loads machines, carries on every open execution, and starts the
    /// timer loop. Must run inside a tokio runtime.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Box<dyn Entropy + Send>,
        location: Location,
    ) -> Result<Engine, EngineError> {
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                entropy: SyncMutex::new(entropy),
                location,
                programs: RwLock::new(HashMap::new()),
                latest: RwLock::new(HashMap::new()),
                handlers: RwLock::new(Vec::new()),
                open: SyncMutex::new(HashMap::new()),
                tokens: SyncMutex::new(HashMap::new()),
                cancellations: SyncMutex::new(HashMap::new()),
                timers: SyncMutex::new(BinaryHeap::new()),
                timer_changed: Notify::new(),
                changed: Notify::new(),
                stopped: std::sync::atomic::AtomicBool::new(false),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        for record in engine.inner.store.machines()? {
            let machine = crate::read::read_str(&record.definition)?;
            engine.remember(&record, Program::new(machine));
        }
        let timers = engine.clone();
        engine
            .inner
            .runtime
            .spawn(async move { timers.timer_loop().await });
        Ok(engine)
    }

    /// Carries on the executions that were open when the store was last written: re-arms their timers,
    /// hands untaken callback tasks over again, and fails request-response tasks that were running.
    /// Call after registering handlers.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let open = self.inner.store.open_executions()?;
        let count = open.len();
        for execution in open {
            let arn = execution.execution_arn.clone();
            let mut redispatch = Vec::new();
            let mut interrupted = Vec::new();
            for thread in &execution.threads {
                if let Phase::Task(task) = &thread.phase {
                    lock(&self.inner.tokens).insert(task.token.clone(), arn.clone());
                    let wait_for_token = task.resource.ends_with(".waitForTaskToken");
                    if !wait_for_token {
                        interrupted.push(task.token.clone());
                    } else if !task.dispatched {
                        let program =
                            self.program(&execution.state_machine_arn, execution.machine_revision)?;
                        let state_name = program.state(thread.flow, thread.state).name.clone();
                        lock(&self.inner.cancellations)
                            .insert(task.token.clone(), watch::channel(false).0);
                        redispatch.push(Dispatch {
                            token: task.token.clone(),
                            resource: task.resource.clone(),
                            input: task.effective_input.clone(),
                            state_name,
                            wait_for_token,
                        });
                    }
                }
            }
            let deadline = run::next_deadline(&execution);
            lock(&self.inner.open).insert(arn.clone(), Arc::new(Mutex::new(execution)));
            if let Some(deadline) = deadline {
                self.arm(deadline, &arn);
            }
            for token in interrupted {
                let event = Event::TaskFailed {
                    token,
                    error: crate::error::errors::TASK_FAILED.to_string(),
                    cause: "The engine stopped while this task ran; its outcome is unknown, so it is failed rather than run twice".to_string(),
                };
                let _ = self.advance(&arn, vec![event]).await;
            }
            for dispatch in redispatch {
                self.dispatch(&arn, dispatch);
            }
        }
        Ok(count)
    }

    /// Stops the engine: it writes nothing more and its timers stop. What is written stays; a new
    /// engine over the same store carries on from there.
    pub fn shutdown(&self) {
        self.inner
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.timer_changed.notify_one();
        self.inner.changed.notify_waiters();
    }

    fn is_stopped(&self) -> bool {
        self.inner.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether [`Engine::shutdown`] ran.
    pub fn is_shut_down(&self) -> bool {
        self.is_stopped()
    }

    /// Registers the handler for task resources matching `pattern` (`*` matches any run of characters).
    /// The first registered match wins.
    pub fn register(&self, pattern: &str, handler: Arc<dyn TaskHandler>) {
        write(&self.inner.handlers).push((pattern.to_string(), handler));
    }

    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The ARN a state machine named `name` has (or would have) in this engine.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.inner.location.region, self.inner.location.account
        )
    }

    /// CreateStateMachine: same name and definition returns the existing ARN; another definition is
    /// `StateMachineAlreadyExists`.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> Result<String, EngineError> {
        check_name(name)?;
        let machine = crate::read::read_str(definition)?;
        let arn = self.state_machine_arn(name);
        if let Some((_, existing)) = read(&self.inner.latest).get(&arn).cloned() {
            if *existing == *definition {
                return Ok(arn);
            }
            return Err(EngineError::StateMachineAlreadyExists(name.to_string()));
        }
        let record = MachineRecord {
            arn: arn.clone(),
            name: name.to_string(),
            revision: 1,
            definition: definition.to_string(),
            created: self.now(),
        };
        self.inner.store.put_machine(&record)?;
        self.remember(&record, Program::new(machine));
        Ok(arn)
    }

    /// UpdateStateMachine: new executions run the new definition; running ones keep theirs.
    pub fn update_state_machine(&self, arn: &str, definition: &str) -> Result<u64, EngineError> {
        let machine = crate::read::read_str(definition)?;
        let (revision, _) = read(&self.inner.latest)
            .get(arn)
            .cloned()
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))?;
        let name = arn.rsplit(':').next().unwrap_or_default().to_string();
        let record = MachineRecord {
            arn: arn.to_string(),
            name,
            revision: revision + 1,
            definition: definition.to_string(),
            created: self.now(),
        };
        self.inner.store.put_machine(&record)?;
        self.remember(&record, Program::new(machine));
        Ok(record.revision)
    }

    /// DeleteStateMachine: the machine takes no new executions, and its running ones are stopped
    /// (ABORTED, error `States.Runtime`). Step Functions instead fails them at their next state transition
    /// and stays DELETING while one waits on a callback (docs/decisions.md). The executions and their
    /// histories stay readable. Deleting a missing machine is not an error, as in Step Functions.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<(), EngineError> {
        let Some(_) = write(&self.inner.latest).remove(arn) else {
            return Ok(());
        };
        self.inner.store.delete_machine(arn)?;
        let name = arn.rsplit(':').next().unwrap_or_default();
        for summary in self.inner.store.list_executions(arn)? {
            if summary.status == ExecutionStatus::Running {
                self.stop_execution(
                    &summary.execution_arn,
                    Some(crate::error::errors::RUNTIME.to_string()),
                    Some(format!("State machine {name} has been deleted.")),
                )
                .await?;
            }
        }
        // Stopped executions no longer need their programs, and a machine created again under this name
        // numbers its revisions from 1.
        write(&self.inner.programs).retain(|(machine, _), _| machine != arn);
        Ok(())
    }

    fn remember(&self, record: &MachineRecord, program: Program) {
        write(&self.inner.programs)
            .insert((record.arn.clone(), record.revision), Arc::new(program));
        let mut latest = write(&self.inner.latest);
        let newer = latest
            .get(&record.arn)
            .is_none_or(|(r, _)| *r <= record.revision);
        if newer {
            latest.insert(
                record.arn.clone(),
                (record.revision, Arc::from(record.definition.as_str())),
            );
        }
    }

    fn program(&self, arn: &str, revision: u64) -> Result<Arc<Program>, EngineError> {
        read(&self.inner.programs)
            .get(&(arn.to_string(), revision))
            .cloned()
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(arn.to_string()))
    }

    /// StartExecution. A name is unique per machine: the same name with the same input while the
    /// execution runs answers with that execution; anything else with a used name is
    /// `ExecutionAlreadyExists`.
    pub async fn start_execution(
        &self,
        machine_arn: &str,
        name: Option<&str>,
        input: Value,
    ) -> Result<Started, EngineError> {
        if self.is_stopped() {
            return Err(EngineError::Stopped);
        }
        let (revision, _) = read(&self.inner.latest)
            .get(machine_arn)
            .cloned()
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(machine_arn.to_string()))?;
        let program = self.program(machine_arn, revision)?;
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_string()
            }
            None => lock(&self.inner.entropy).as_randomness().uuid_v4(),
        };
        if run::payload_too_large(&input) {
            return Err(EngineError::InvalidExecutionInput(format!(
                "the input is larger than {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        let machine_name = machine_arn.rsplit(':').next().unwrap_or_default();
        let execution_arn = format!(
            "arn:aws:states:{}:{}:execution:{machine_name}:{name}",
            self.inner.location.region, self.inner.location.account
        );
        if let Some(existing) = self.inner.store.execution(&execution_arn)? {
            return same_start(existing, &input);
        }
        let now = self.now();
        let (mut execution, mut effects) = {
            let mut entropy = lock(&self.inner.entropy);
            run::start(
                &program,
                machine_arn,
                &execution_arn,
                &name,
                input,
                now,
                entropy.as_mut(),
            )
        };
        execution.machine_revision = revision;
        execution.version = 1;
        let events = std::mem::take(&mut effects.events);
        match self.inner.store.insert_execution(&execution, events) {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                let existing = self
                    .inner
                    .store
                    .execution(&execution_arn)?
                    .ok_or_else(|| EngineError::ExecutionDoesNotExist(execution_arn.clone()))?;
                return same_start(existing, &execution.input);
            }
            Err(e) => return Err(e.into()),
        }
        let started = Started {
            execution_arn: execution_arn.clone(),
            start_date: execution.start_date,
        };
        let open = execution.status.is_open();
        let deadline = run::next_deadline(&execution);
        self.track_tokens(&execution_arn, &effects);
        if open {
            lock(&self.inner.open).insert(execution_arn.clone(), Arc::new(Mutex::new(execution)));
        }
        self.after_write(&execution_arn, effects, deadline);
        Ok(started)
    }

    /// DescribeExecution.
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionState, EngineError> {
        self.inner
            .store
            .execution(arn)?
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))
    }

    /// ListExecutions, newest first, optionally by status.
    pub fn list_executions(
        &self,
        machine_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionSummary>, EngineError> {
        if !read(&self.inner.latest).contains_key(machine_arn) {
            return Err(EngineError::StateMachineDoesNotExist(
                machine_arn.to_string(),
            ));
        }
        let mut all = self.inner.store.list_executions(machine_arn)?;
        if let Some(status) = status {
            all.retain(|e| e.status == status);
        }
        Ok(all)
    }

    /// GetExecutionHistory.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, EngineError> {
        self.inner.store.history(arn).map_err(|e| match e {
            StoreError::NotFound(arn) => EngineError::ExecutionDoesNotExist(arn),
            other => other.into(),
        })
    }

    /// StopExecution: the execution ends as ABORTED; its open tasks' tokens are closed.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), EngineError> {
        if self.describe_execution(arn)?.status.is_open() {
            match self.advance(arn, vec![Event::Stop { error, cause }]).await {
                Ok(()) | Err(EngineError::ExecutionDoesNotExist(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// SendTaskSuccess: `output` is the task's result, JSON text of at most 256 KiB.
    pub async fn send_task_success(&self, token: &str, output: &str) -> Result<(), EngineError> {
        let arn = self.token_owner(token)?;
        if output.len() > MAX_PAYLOAD_BYTES {
            return Err(EngineError::InvalidOutput(format!(
                "the output is larger than {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        let output: Value = serde_json::from_str(output).map_err(|e| {
            EngineError::InvalidOutput(format!("the output is not valid JSON: {e}"))
        })?;
        self.advance(
            &arn,
            vec![Event::TaskSucceeded {
                token: token.to_string(),
                output,
            }],
        )
        .await
    }

    /// SendTaskFailure.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), EngineError> {
        let arn = self.token_owner(token)?;
        self.advance(
            &arn,
            vec![Event::TaskFailed {
                token: token.to_string(),
                error: error.to_string(),
                cause: cause.to_string(),
            }],
        )
        .await
    }

    /// SendTaskHeartbeat.
    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), EngineError> {
        let arn = self.token_owner(token)?;
        self.advance(
            &arn,
            vec![Event::TaskHeartbeat {
                token: token.to_string(),
            }],
        )
        .await
    }

    /// Waits until the execution has ended, and returns it.
    pub async fn wait(&self, arn: &str) -> Result<ExecutionState, EngineError> {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let execution = self.describe_execution(arn)?;
            if !execution.status.is_open() {
                return Ok(execution);
            }
            if self.is_stopped() {
                return Err(EngineError::Stopped);
            }
            notified.await;
        }
    }

    /// The execution waiting on `token`: `InvalidToken` for text that cannot be a token, `TaskTimedOut`
    /// for a token whose task is no longer waiting.
    fn token_owner(&self, token: &str) -> Result<String, EngineError> {
        let well_formed = !token.is_empty()
            && token.len() <= 2048
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(EngineError::InvalidToken(
                "the task token is not a token this engine issues".to_string(),
            ));
        }
        lock(&self.inner.tokens).get(token).cloned().ok_or_else(|| {
            EngineError::TaskTimedOut("the task for this token is no longer waiting".to_string())
        })
    }

    /// Applies events to an open execution, writes the result, then acts on it.
    async fn advance(&self, arn: &str, events: Vec<Event>) -> Result<(), EngineError> {
        if self.is_stopped() {
            return Err(EngineError::Stopped);
        }
        let cell = lock(&self.inner.open)
            .get(arn)
            .cloned()
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))?;
        let mut execution = cell.lock().await;
        if self.is_stopped() {
            return Err(EngineError::Stopped);
        }
        if !execution.status.is_open() {
            return Err(EngineError::TaskTimedOut(
                "the execution has ended".to_string(),
            ));
        }
        let program = self.program(&execution.state_machine_arn, execution.machine_revision)?;
        let now = self.now();
        // A heartbeat moves a deadline without an event; everything else that changes the execution
        // leaves events, tasks or closed tokens behind.
        let mut changed = false;
        let mut effects = Effects::default();
        for event in events {
            changed |= matches!(event, Event::TaskHeartbeat { .. });
            let step = {
                let mut entropy = lock(&self.inner.entropy);
                run::apply(&program, &mut execution, event, now, entropy.as_mut())
            };
            match step {
                Ok(step) => {
                    effects.events.extend(step.events);
                    effects.dispatch.extend(step.dispatch);
                    effects.closed_tokens.extend(step.closed_tokens);
                }
                // A refused event changed nothing; what came before it in this batch still counts.
                Err(refusal) if effects.events.is_empty() && !changed => {
                    return Err(match refusal {
                        Refusal::TaskClosed => EngineError::TaskTimedOut(
                            "the task for this token is no longer waiting".to_string(),
                        ),
                        Refusal::NotRunning => {
                            EngineError::TaskTimedOut("the execution has ended".to_string())
                        }
                        Refusal::InvalidOutput(why) => EngineError::InvalidOutput(why),
                    });
                }
                Err(_) => break,
            }
        }
        changed |= !effects.events.is_empty()
            || !effects.dispatch.is_empty()
            || !effects.closed_tokens.is_empty();
        if !changed {
            return Ok(());
        }
        execution.version += 1;
        let events = std::mem::take(&mut effects.events);
        if let Err(e) = self.inner.store.update_execution(&execution, events) {
            // Nothing was written: go back to what the store holds, as if the events had not come.
            match self.inner.store.execution(arn) {
                Ok(Some(stored)) => *execution = stored,
                _ => {
                    lock(&self.inner.open).remove(arn);
                }
            }
            return Err(e.into());
        }
        let deadline = run::next_deadline(&execution);
        if !execution.status.is_open() {
            lock(&self.inner.open).remove(arn);
        }
        // Under the execution's lock, so no later event of this execution can close a token before
        // it is tracked.
        self.track_tokens(arn, &effects);
        drop(execution);
        self.after_write(arn, effects, deadline);
        Ok(())
    }

    /// Opens the tokens of tasks to hand over and closes the tokens of tasks that ended, firing the
    /// cancellation of each closed task that was handed over. Opening first: a task handed over and
    /// cancelled in the same change ends closed.
    fn track_tokens(&self, arn: &str, effects: &Effects) {
        let mut tokens = lock(&self.inner.tokens);
        let mut cancellations = lock(&self.inner.cancellations);
        for dispatch in &effects.dispatch {
            tokens.insert(dispatch.token.clone(), arn.to_string());
            cancellations.insert(dispatch.token.clone(), watch::channel(false).0);
        }
        for token in &effects.closed_tokens {
            tokens.remove(token);
            if let Some(cancellation) = cancellations.remove(token) {
                cancellation.send_replace(true);
            }
        }
    }

    /// What follows a written change (its tokens tracked): handing tasks over, timers, waiters.
    fn after_write(&self, arn: &str, effects: Effects, deadline: Option<i64>) {
        if let Some(deadline) = deadline {
            self.arm(deadline, arn);
        }
        for dispatch in effects.dispatch {
            self.dispatch(arn, dispatch);
        }
        self.inner.changed.notify_waiters();
    }

    fn handler_for(&self, resource: &str) -> Option<Arc<dyn TaskHandler>> {
        read(&self.inner.handlers)
            .iter()
            .find(|(pattern, _)| glob(pattern, resource))
            .map(|(_, handler)| handler.clone())
    }

    fn dispatch(&self, arn: &str, dispatch: Dispatch) {
        let engine = self.clone();
        let arn = arn.to_string();
        // No channel: the task closed between being written and being handed over.
        let cancellation = lock(&self.inner.cancellations)
            .get(&dispatch.token)
            .map_or_else(TaskCancellation::fired, |sender| {
                TaskCancellation(sender.subscribe())
            });
        self.inner.runtime.spawn(async move {
            let token = dispatch.token.clone();
            let wait_for_token = dispatch.wait_for_token;
            let outcome = match engine.handler_for(&dispatch.resource) {
                Some(handler) => {
                    handler
                        .invoke(TaskRequest {
                            execution_arn: arn.clone(),
                            state_name: dispatch.state_name,
                            resource: dispatch.resource,
                            input: dispatch.input,
                            token: token.clone(),
                            wait_for_token,
                            cancellation,
                        })
                        .await
                }
                None => TaskOutcome::Failed {
                    error: crate::error::errors::TASK_FAILED.to_string(),
                    cause: format!(
                        "No task handler is registered for the resource {}",
                        dispatch.resource
                    ),
                },
            };
            let dispatched = Event::TaskDispatched {
                token: token.clone(),
            };
            let events = match outcome {
                TaskOutcome::Failed { error, cause } => vec![
                    dispatched,
                    Event::TaskFailed {
                        token,
                        error,
                        cause,
                    },
                ],
                // A callback task's result comes with its token, whatever the handler returned.
                TaskOutcome::Accepted | TaskOutcome::Succeeded(_) if wait_for_token => {
                    vec![dispatched]
                }
                TaskOutcome::Succeeded(output) => {
                    vec![dispatched, Event::TaskSucceeded { token, output }]
                }
                TaskOutcome::Accepted => vec![dispatched],
            };
            // The task may have ended meanwhile (timeout, stop): then there is nothing to record.
            let _ = engine.advance(&arn, events).await;
        });
    }

    fn arm(&self, deadline: i64, arn: &str) {
        lock(&self.inner.timers).push(Reverse((deadline, arn.to_string())));
        self.inner.timer_changed.notify_one();
    }

    async fn timer_loop(self) {
        loop {
            let next = lock(&self.inner.timers).peek().map(|Reverse((at, _))| *at);
            match next {
                None => self.inner.timer_changed.notified().await,
                Some(at) if at > self.now() => {
                    let sleep = self.inner.clock.sleep_until(at);
                    tokio::select! {
                        () = sleep => {}
                        () = self.inner.timer_changed.notified() => {}
                    }
                }
                Some(_) => {
                    let now = self.now();
                    let mut due = Vec::new();
                    {
                        let mut timers = lock(&self.inner.timers);
                        while let Some(Reverse((at, _))) = timers.peek() {
                            if *at > now {
                                break;
                            }
                            if let Some(Reverse((_, arn))) = timers.pop() {
                                due.push(arn);
                            }
                        }
                    }
                    due.sort();
                    due.dedup();
                    for arn in due {
                        let _ = self.advance(&arn, vec![Event::Tick]).await;
                    }
                }
            }
            if self.is_stopped() {
                return;
            }
        }
    }
}

fn same_start(existing: ExecutionState, input: &Value) -> Result<Started, EngineError> {
    if existing.status.is_open() && existing.input == *input {
        Ok(Started {
            execution_arn: existing.execution_arn,
            start_date: existing.start_date,
        })
    } else {
        Err(EngineError::ExecutionAlreadyExists(format!(
            "an execution named {} exists{}",
            existing.name,
            if existing.status.is_open() {
                " with another input"
            } else {
                " and has ended"
            }
        )))
    }
}

/// Names of state machines and executions: 1–80 characters, none of whitespace, `< > { } [ ] ? * " # %
/// \ ^ | ~ ` $ & , ; : /` or control characters (Step Functions quotas).
fn check_name(name: &str) -> Result<(), EngineError> {
    let length = name.chars().count();
    if !(1..=80).contains(&length) {
        return Err(EngineError::InvalidName(format!(
            "'{name}' must have 1 to 80 characters, not {length}"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c))
    {
        return Err(EngineError::InvalidName(format!(
            "'{name}' contains '{bad}', which names may not contain"
        )));
    }
    Ok(())
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let escaped = pattern.replace('\\', "\\\\");
    crate::choice::wildcard_match(&escaped, text)
}

fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
