//! In-memory adapters of the ports, for fast tests of the handlers (the `test-util` feature): a store with
//! the conditional writes of the SQLite and DynamoDB stores (it passes [`crate::contract::store_contract`]),
//! an orchestrator that records what the handlers asked of it, a clock that moves only when told, counted
//! ids, and in-memory artifacts, events, triggers and notifications. [`MemoryPorts`] bundles them.
//!
//! The orchestrator runs no machine: a test plays the machine's part, calling the dispatcher and the
//! workers with the payloads the compiled machine would send, and reads back which tasks were answered
//! and how.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::port::{
    ActionExecutionStore, ArtifactError, ArtifactStore, Clock, Event, EventError, EventPublisher,
    ExecutionStore, Ids, Message, Notifier, NotifyError, Orchestrator, OrchestratorError,
    PipelineStore, Ports, ResourceStore, Run, RunStatus, Scheduler, SchedulerError, StageStore,
    StoreError, check_events, check_message, check_topic_arn,
};
use crate::record::{
    ActionExecution, ArtifactLocation, PipelineExecution, StageExecution, StoredPipeline,
};
use crate::stage::Gate;
use crate::time::Timestamp;
use crate::trigger::{Trigger, rule_name};

/// Locks a table; a test that panicked while holding it has failed already, so its poison is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The store's tables. `seq` numbers rows in the order they were first written, as SQLite's rowid does:
/// "the latest" attempt or stage execution is the one written first most recently.
#[derive(Debug, Default)]
struct Tables {
    seq: u64,
    /// Every version of each pipeline, oldest first.
    pipelines: BTreeMap<String, Vec<StoredPipeline>>,
    /// By (pipeline, execution id): first-write order and the record.
    executions: BTreeMap<(String, String), (u64, PipelineExecution)>,
    gates: BTreeMap<(String, String), (Gate, u64)>,
    /// By (pipeline, execution id, stage).
    stages: BTreeMap<(String, String, String), (u64, StageExecution)>,
    /// By action execution id.
    actions: BTreeMap<String, (u64, ActionExecution)>,
    resources: BTreeMap<(String, String), (Value, u64)>,
}

impl Tables {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// The store, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl PipelineStore for MemoryStore {
    async fn pipeline(&self, name: &str) -> Result<Option<StoredPipeline>, StoreError> {
        Ok(lock(&self.tables)
            .pipelines
            .get(name)
            .and_then(|versions| versions.last().cloned()))
    }

    async fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<StoredPipeline>, StoreError> {
        Ok(lock(&self.tables).pipelines.get(name).and_then(|versions| {
            versions
                .iter()
                .find(|stored| stored.version() == version)
                .cloned()
        }))
    }

    async fn put_pipeline(
        &self,
        pipeline: &StoredPipeline,
        expected_version: Option<i32>,
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let name = &pipeline.declaration.name;
        let versions = tables.pipelines.entry(name.clone()).or_default();
        let latest = versions.last().map(StoredPipeline::version);
        if latest != expected_version {
            let what = format!("pipeline {name}");
            return Err(match expected_version {
                None => StoreError::AlreadyExists { what },
                Some(_) => StoreError::Conflict { what },
            });
        }
        versions.push(pipeline.clone());
        Ok(())
    }

    async fn pipelines(&self) -> Result<Vec<Arc<StoredPipeline>>, StoreError> {
        Ok(lock(&self.tables)
            .pipelines
            .values()
            .filter_map(|versions| versions.last().cloned().map(Arc::new))
            .collect())
    }

    async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        tables.pipelines.remove(name);
        tables
            .executions
            .retain(|(pipeline, _), _| pipeline != name);
        tables.gates.retain(|(pipeline, _), _| pipeline != name);
        tables.stages.retain(|(pipeline, _, _), _| pipeline != name);
        tables
            .actions
            .retain(|_, (_, action)| action.pipeline_name != name);
        Ok(())
    }
}

impl ExecutionStore for MemoryStore {
    async fn create_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let key = (
            execution.pipeline_name.clone(),
            execution.pipeline_execution_id.clone(),
        );
        if tables.executions.contains_key(&key) {
            return Err(StoreError::AlreadyExists {
                what: format!("pipeline execution {}", execution.pipeline_execution_id),
            });
        }
        let seq = tables.next();
        let record = PipelineExecution {
            record_version: 0,
            ..execution.clone()
        };
        tables.executions.insert(key, (seq, record));
        Ok(())
    }

    async fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Option<PipelineExecution>, StoreError> {
        Ok(lock(&self.tables)
            .executions
            .get(&(pipeline.to_string(), execution_id.to_string()))
            .map(|(_, record)| record.clone()))
    }

    async fn update_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let key = (
            execution.pipeline_name.clone(),
            execution.pipeline_execution_id.clone(),
        );
        match tables.executions.get_mut(&key) {
            Some((_, stored)) if stored.record_version == execution.record_version => {
                *stored = PipelineExecution {
                    record_version: execution.record_version + 1,
                    ..execution.clone()
                };
                Ok(())
            }
            _ => Err(StoreError::Conflict {
                what: format!("pipeline execution {}", execution.pipeline_execution_id),
            }),
        }
    }

    async fn executions(&self, pipeline: &str) -> Result<Vec<PipelineExecution>, StoreError> {
        let tables = lock(&self.tables);
        let mut found: Vec<&(u64, PipelineExecution)> = tables
            .executions
            .iter()
            .filter(|((name, _), _)| name == pipeline)
            .map(|(_, row)| row)
            .collect();
        // Newest first: by start time, then by the order they were created.
        found.sort_by(|(a_seq, a), (b_seq, b)| (b.start_time, b_seq).cmp(&(a.start_time, a_seq)));
        Ok(found
            .into_iter()
            .map(|(_, record)| record.clone())
            .collect())
    }
}

impl StageStore for MemoryStore {
    async fn gate(&self, pipeline: &str, stage: &str) -> Result<(Gate, u64), StoreError> {
        Ok(lock(&self.tables)
            .gates
            .get(&(pipeline.to_string(), stage.to_string()))
            .cloned()
            .unwrap_or_default())
    }

    async fn put_gate(
        &self,
        pipeline: &str,
        stage: &str,
        gate: &Gate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let key = (pipeline.to_string(), stage.to_string());
        let stored = tables.gates.get(&key).map_or(0, |(_, version)| *version);
        if stored != expected_version {
            return Err(StoreError::Conflict {
                what: format!("the gate of stage {stage} of pipeline {pipeline}"),
            });
        }
        tables
            .gates
            .insert(key, (gate.clone(), expected_version + 1));
        Ok(())
    }

    async fn put_stage_execution(&self, stage: &StageExecution) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let key = (
            stage.pipeline_name.clone(),
            stage.pipeline_execution_id.clone(),
            stage.stage_name.clone(),
        );
        let seq = match tables.stages.get(&key) {
            Some((seq, _)) => *seq,
            None => tables.next(),
        };
        tables.stages.insert(key, (seq, stage.clone()));
        Ok(())
    }

    async fn stage_executions(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        Ok(lock(&self.tables)
            .stages
            .iter()
            .filter(|((name, id, _), _)| name == pipeline && id == execution_id)
            .map(|(_, (_, stage))| stage.clone())
            .collect())
    }

    async fn latest_stage_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        let tables = lock(&self.tables);
        let mut latest: BTreeMap<&str, &(u64, StageExecution)> = BTreeMap::new();
        for ((name, _, stage), row) in &tables.stages {
            if name != pipeline {
                continue;
            }
            let newer = latest
                .get(stage.as_str())
                .is_none_or(|(seq, _)| row.0 > *seq);
            if newer {
                latest.insert(stage, row);
            }
        }
        Ok(latest
            .into_values()
            .map(|(_, stage)| stage.clone())
            .collect())
    }
}

impl ActionExecutionStore for MemoryStore {
    async fn put_action_execution(&self, action: &ActionExecution) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let seq = match tables.actions.get(&action.action_execution_id) {
            Some((seq, _)) => *seq,
            None => tables.next(),
        };
        tables
            .actions
            .insert(action.action_execution_id.clone(), (seq, action.clone()));
        Ok(())
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        execution_id: Option<&str>,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let tables = lock(&self.tables);
        let mut found: Vec<&(u64, ActionExecution)> = tables
            .actions
            .values()
            .filter(|(_, action)| {
                action.pipeline_name == pipeline
                    && execution_id.is_none_or(|id| action.pipeline_execution_id == id)
            })
            .collect();
        found.sort_by_key(|(seq, _)| *seq);
        Ok(found
            .into_iter()
            .map(|(_, action)| action.clone())
            .collect())
    }

    async fn latest_action_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let tables = lock(&self.tables);
        let mut latest: BTreeMap<(&str, &str), &(u64, ActionExecution)> = BTreeMap::new();
        for row in tables.actions.values() {
            let action = &row.1;
            if action.pipeline_name != pipeline {
                continue;
            }
            let key = (action.stage_name.as_str(), action.action_name.as_str());
            if latest.get(&key).is_none_or(|(seq, _)| row.0 > *seq) {
                latest.insert(key, row);
            }
        }
        let mut found: Vec<_> = latest.into_values().collect();
        found.sort_by_key(|(seq, _)| *seq);
        Ok(found
            .into_iter()
            .map(|(_, action)| action.clone())
            .collect())
    }
}

impl ResourceStore for MemoryStore {
    async fn resource(&self, kind: &str, id: &str) -> Result<Option<(Value, u64)>, StoreError> {
        Ok(lock(&self.tables)
            .resources
            .get(&(kind.to_string(), id.to_string()))
            .cloned())
    }

    async fn put_resource(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let key = (kind.to_string(), id.to_string());
        let stored = tables
            .resources
            .get(&key)
            .map_or(0, |(_, version)| *version);
        if stored != expected_version {
            let what = format!("{kind} {id}");
            return Err(if expected_version == 0 {
                StoreError::AlreadyExists { what }
            } else {
                StoreError::Conflict { what }
            });
        }
        tables
            .resources
            .insert(key, (document.clone(), expected_version + 1));
        Ok(())
    }

    async fn resources(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError> {
        Ok(lock(&self.tables)
            .resources
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, id), (document, _))| (id.clone(), document.clone()))
            .collect())
    }

    async fn delete_resource(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        lock(&self.tables)
            .resources
            .remove(&(kind.to_string(), id.to_string()));
        Ok(())
    }
}

/// How the handlers answered one task token.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    Succeeded { output: Value },
    Failed { error: String, cause: String },
}

/// One execution of a state machine the handlers started.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRun {
    pub machine: String,
    pub name: String,
    pub input: Value,
    pub status: RunStatus,
    /// The error and cause it was stopped with.
    pub stopped: Option<(String, String)>,
}

#[derive(Debug, Default)]
struct Machines {
    /// Deployed definitions by machine name.
    definitions: BTreeMap<String, Value>,
    /// Runs by id, which is `<machine>/<name>`.
    runs: BTreeMap<String, MemoryRun>,
    /// Every answer, in order, by token.
    answers: Vec<(String, TaskAnswer)>,
    heartbeats: Vec<String>,
    /// Tokens no answer is accepted for any more: answered, or closed by the test (a timed-out task).
    closed: BTreeSet<String>,
}

/// An orchestrator that runs nothing and records everything: the machines deployed, the runs started and
/// stopped, and every task answer. Like Step Functions, it accepts one answer per token.
#[derive(Debug, Default)]
pub struct MemoryOrchestrator {
    machines: Mutex<Machines>,
}

impl MemoryOrchestrator {
    /// The answer given to `token`, if any.
    pub fn answer(&self, token: &str) -> Option<TaskAnswer> {
        lock(&self.machines)
            .answers
            .iter()
            .find(|(answered, _)| answered == token)
            .map(|(_, answer)| answer.clone())
    }

    /// Every answer so far, in order, with its token.
    pub fn answers(&self) -> Vec<(String, TaskAnswer)> {
        lock(&self.machines).answers.clone()
    }

    pub fn heartbeats(&self) -> Vec<String> {
        lock(&self.machines).heartbeats.clone()
    }

    /// The run of that id ([`Orchestrator::start`]'s answer).
    pub fn run(&self, id: &str) -> Option<MemoryRun> {
        lock(&self.machines).runs.get(id).cloned()
    }

    /// Every run, by id.
    pub fn runs(&self) -> BTreeMap<String, MemoryRun> {
        lock(&self.machines).runs.clone()
    }

    /// The deployed definition of `machine`.
    pub fn definition(&self, machine: &str) -> Option<Value> {
        lock(&self.machines).definitions.get(machine).cloned()
    }

    /// Ends a run as the machine would (it succeeded, failed or timed out).
    pub fn end_run(&self, id: &str, status: RunStatus) {
        if let Some(run) = lock(&self.machines).runs.get_mut(id) {
            run.status = status;
        }
    }

    /// Closes a token without an answer, as a task's timeout does: later answers are refused.
    pub fn close_token(&self, token: &str) {
        lock(&self.machines).closed.insert(token.to_string());
    }

    fn answer_task(&self, token: &str, answer: TaskAnswer) -> Result<(), OrchestratorError> {
        let mut machines = lock(&self.machines);
        if !machines.closed.insert(token.to_string()) {
            return Err(OrchestratorError::TaskClosed(token.to_string()));
        }
        machines.answers.push((token.to_string(), answer));
        Ok(())
    }
}

impl Orchestrator for MemoryOrchestrator {
    async fn deploy(
        &self,
        pipeline: &str,
        definition: &Value,
    ) -> Result<String, OrchestratorError> {
        let machine = format!("machine:{pipeline}");
        lock(&self.machines)
            .definitions
            .insert(machine.clone(), definition.clone());
        Ok(machine)
    }

    async fn remove(&self, machine: &str) -> Result<(), OrchestratorError> {
        let mut machines = lock(&self.machines);
        machines.definitions.remove(machine);
        for run in machines.runs.values_mut() {
            if run.machine == machine && run.status == RunStatus::Running {
                run.status = RunStatus::Aborted;
            }
        }
        Ok(())
    }

    async fn start(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, OrchestratorError> {
        let mut machines = lock(&self.machines);
        if !machines.definitions.contains_key(machine) {
            return Err(OrchestratorError::Backend {
                message: format!("state machine {machine} does not exist"),
                source: None,
            });
        }
        let id = format!("{machine}/{name}");
        machines
            .runs
            .entry(id.clone())
            .or_insert_with(|| MemoryRun {
                machine: machine.to_string(),
                name: name.to_string(),
                input: input.clone(),
                status: RunStatus::Running,
                stopped: None,
            });
        Ok(id)
    }

    async fn stop(
        &self,
        execution: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        let mut machines = lock(&self.machines);
        match machines.runs.get_mut(execution) {
            Some(run) if run.status == RunStatus::Running => {
                run.status = RunStatus::Aborted;
                run.stopped = Some((error.to_string(), cause.to_string()));
                Ok(())
            }
            _ => Err(OrchestratorError::NoExecution(execution.to_string())),
        }
    }

    async fn task_succeeded(&self, token: &str, output: &Value) -> Result<(), OrchestratorError> {
        self.answer_task(
            token,
            TaskAnswer::Succeeded {
                output: output.clone(),
            },
        )
    }

    async fn task_failed(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), OrchestratorError> {
        self.answer_task(
            token,
            TaskAnswer::Failed {
                error: error.to_string(),
                cause: cause.to_string(),
            },
        )
    }

    async fn task_heartbeat(&self, token: &str) -> Result<(), OrchestratorError> {
        let mut machines = lock(&self.machines);
        if machines.closed.contains(token) {
            return Err(OrchestratorError::TaskClosed(token.to_string()));
        }
        machines.heartbeats.push(token.to_string());
        Ok(())
    }

    async fn describe(&self, execution: &str) -> Result<Run, OrchestratorError> {
        let machines = lock(&self.machines);
        let run = machines
            .runs
            .get(execution)
            .ok_or_else(|| OrchestratorError::NoExecution(execution.to_string()))?;
        Ok(Run {
            status: run.status,
            output: None,
            error: run.stopped.as_ref().map(|(error, _)| error.clone()),
            cause: run.stopped.as_ref().map(|(_, cause)| cause.clone()),
        })
    }
}

/// Artifacts as bytes by location.
#[derive(Debug, Default)]
pub struct MemoryArtifacts {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl MemoryArtifacts {
    fn key(location: &ArtifactLocation) -> (String, String) {
        (location.bucket_name.clone(), location.object_key.clone())
    }

    /// The bytes stored at `location`.
    pub fn bytes(&self, location: &ArtifactLocation) -> Option<Vec<u8>> {
        lock(&self.objects).get(&Self::key(location)).cloned()
    }
}

fn artifact_error(location: &ArtifactLocation, error: std::io::Error) -> ArtifactError {
    ArtifactError::Backend {
        location: location.clone(),
        message: error.to_string(),
        source: Some(Box::new(error)),
    }
}

impl ArtifactStore for MemoryArtifacts {
    async fn put_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> Result<(), ArtifactError> {
        let bytes = std::fs::read(file).map_err(|e| artifact_error(location, e))?;
        lock(&self.objects).insert(Self::key(location), bytes);
        Ok(())
    }

    async fn get_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> Result<(), ArtifactError> {
        let bytes = self
            .bytes(location)
            .ok_or_else(|| ArtifactError::NotFound {
                location: location.clone(),
            })?;
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| artifact_error(location, e))?;
        }
        std::fs::write(file, bytes).map_err(|e| artifact_error(location, e))
    }
}

/// The events published, in order.
#[derive(Debug, Default)]
pub struct MemoryEvents {
    events: Mutex<Vec<Event>>,
}

impl MemoryEvents {
    pub fn published(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }
}

impl EventPublisher for MemoryEvents {
    async fn publish(&self, events: &[Event]) -> Result<(), EventError> {
        check_events(events)?;
        lock(&self.events).extend_from_slice(events);
        Ok(())
    }
}

/// Triggers by (pipeline, name). Like the EventBridge and local schedulers, two triggers whose rule names
/// collide cannot both be kept.
#[derive(Debug, Default)]
pub struct MemoryScheduler {
    triggers: Mutex<BTreeMap<(String, String), Trigger>>,
}

/// The rule-name prefix the in-memory scheduler names rules with.
const RULE_PREFIX: &str = "sluice";

impl Scheduler for MemoryScheduler {
    async fn put_trigger(&self, trigger: &Trigger) -> Result<(), SchedulerError> {
        trigger
            .validate()
            .map_err(|error| SchedulerError::invalid(trigger, error))?;
        let mut triggers = lock(&self.triggers);
        let rule = rule_name(RULE_PREFIX, &trigger.pipeline, &trigger.name);
        let taken = triggers.values().any(|kept| {
            (kept.pipeline != trigger.pipeline || kept.name != trigger.name)
                && rule_name(RULE_PREFIX, &kept.pipeline, &kept.name) == rule
        });
        if taken {
            return Err(SchedulerError::Conflict(format!(
                "rule {rule} belongs to another trigger"
            )));
        }
        triggers.insert(
            (trigger.pipeline.clone(), trigger.name.clone()),
            trigger.clone(),
        );
        Ok(())
    }

    async fn delete_trigger(&self, pipeline: &str, name: &str) -> Result<(), SchedulerError> {
        lock(&self.triggers).remove(&(pipeline.to_string(), name.to_string()));
        Ok(())
    }

    async fn triggers(&self, pipeline: &str) -> Result<Vec<Trigger>, SchedulerError> {
        Ok(lock(&self.triggers)
            .values()
            .filter(|trigger| trigger.pipeline == pipeline)
            .cloned()
            .collect())
    }

    async fn delete_pipeline_triggers(&self, pipeline: &str) -> Result<(), SchedulerError> {
        lock(&self.triggers).retain(|(kept, _), _| kept != pipeline);
        Ok(())
    }
}

/// Messages sent, in order, with their topic.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<(String, Message)>>,
}

impl MemoryNotifier {
    pub fn sent(&self) -> Vec<(String, Message)> {
        lock(&self.sent).clone()
    }
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, topic: &str, message: &Message) -> Result<String, NotifyError> {
        check_topic_arn("topic", topic)?;
        check_message(message)?;
        let mut sent = lock(&self.sent);
        sent.push((topic.to_string(), message.clone()));
        Ok(format!("message-{}", sent.len()))
    }
}

/// A clock that moves only when told.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn at(now: Timestamp) -> Self {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut now = lock(&self.now);
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        *now = Timestamp::from_epoch_millis(now.epoch_millis().saturating_add(millis));
    }
}

impl Default for ManualClock {
    /// 2024-01-01T00:00:00Z.
    fn default() -> Self {
        ManualClock::at(Timestamp::from_epoch_millis(1_704_067_200_000))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *lock(&self.now)
    }
}

/// Ids from a counter: UUIDs of version 4's shape (`00000000-0000-4000-8000-000000000001`, …) and tokens
/// that count in base 62, so every run of a test sees the same ids.
#[derive(Debug, Default)]
pub struct CountedIds {
    next: AtomicU64,
}

impl Ids for CountedIds {
    fn uuid(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    fn token(&self, len: usize) -> String {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut token = vec![b'0'; len];
        for place in token.iter_mut().rev() {
            *place = DIGITS[usize::try_from(n % 62).unwrap_or_default()];
            n /= 62;
        }
        String::from_utf8(token).unwrap_or_default()
    }
}

/// Every port in memory.
#[derive(Debug, Default)]
pub struct MemoryPorts {
    pub store: MemoryStore,
    pub orchestrator: MemoryOrchestrator,
    pub artifacts: MemoryArtifacts,
    pub events: MemoryEvents,
    pub scheduler: MemoryScheduler,
    pub clock: ManualClock,
    pub ids: CountedIds,
}

impl Ports for MemoryPorts {
    type Store = MemoryStore;
    type Orchestrator = MemoryOrchestrator;
    type Artifacts = MemoryArtifacts;
    type Events = MemoryEvents;
    type Scheduler = MemoryScheduler;

    fn store(&self) -> &MemoryStore {
        &self.store
    }
    fn orchestrator(&self) -> &MemoryOrchestrator {
        &self.orchestrator
    }
    fn artifacts(&self) -> &MemoryArtifacts {
        &self.artifacts
    }
    fn events(&self) -> &MemoryEvents {
        &self.events
    }
    fn scheduler(&self) -> &MemoryScheduler {
        &self.scheduler
    }
    fn clock(&self) -> &dyn Clock {
        &self.clock
    }
    fn ids(&self) -> &dyn Ids {
        &self.ids
    }
}
