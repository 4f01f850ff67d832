//! The engine's Step Functions operations: executions start, wait on task tokens, answer, stop, and carry
//! on after the process stops at any point, in virtual time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sluice_statemachine::clock::ManualClock;
use sluice_statemachine::engine::{
    Engine, EngineError, Location, TaskHandler, TaskOutcome, TaskRequest,
};
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::execution::{ExecutionState, ExecutionStatus, HistoryEvent};
use sluice_statemachine::store::{
    ExecutionSummary, MachineRecord, MemoryStore, SqliteStore, Store, StoreError,
};
use tokio::sync::{Notify, mpsc};

const CALLBACK: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";
const ECHO: &str = "arn:aws:lambda:local:000000000000:function:echo";

/// Answers at once with its input, counting calls per state.
#[derive(Default)]
struct Echo {
    calls: Mutex<HashMap<String, u64>>,
}

impl TaskHandler for Echo {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(task.state_name.clone())
            .or_default() += 1;
        Box::pin(async move { TaskOutcome::Succeeded(json!({"echo": task.input})) })
    }
}

/// Takes callback tasks and passes their requests to the test.
struct Inbox {
    tasks: mpsc::UnboundedSender<TaskRequest>,
}

impl TaskHandler for Inbox {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        let _ = self.tasks.send(task);
        Box::pin(async { TaskOutcome::Accepted })
    }
}

/// Each engine gets its own seed: two engines drawing the same tokens would be two processes sharing a
/// random generator, which the operating system's randomness never is.
fn seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

async fn engine_over(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) -> (Engine, mpsc::UnboundedReceiver<TaskRequest>, Arc<Echo>) {
    let engine = Engine::start(
        store,
        clock,
        Box::new(SeededEntropy::new(seed())),
        Location::default(),
    )
    .await
    .unwrap();
    let (tasks, inbox) = mpsc::unbounded_channel();
    let echo = Arc::new(Echo::default());
    engine.register(CALLBACK, Arc::new(Inbox { tasks }));
    engine.register("arn:aws:lambda:*:*:function:*", echo.clone());
    (engine, inbox, echo)
}

async fn memory_engine() -> (
    Engine,
    mpsc::UnboundedReceiver<TaskRequest>,
    Arc<Echo>,
    Arc<ManualClock>,
) {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let (engine, inbox, echo) = engine_over(Arc::new(MemoryStore::new()), clock.clone()).await;
    (engine, inbox, echo, clock)
}

fn callback_then_echo() -> String {
    json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": CALLBACK, "Parameters": {"token.$": "$$.Task.Token", "question.$": "$.q"}, "ResultPath": "$.answer", "Next": "Echo"},
        "Echo": {"Type": "Task", "Resource": ECHO, "End": true}}})
    .to_string()
}

#[tokio::test]
async fn a_callback_task_waits_for_its_token_and_a_late_answer_is_refused() {
    let (engine, mut inbox, echo, _) = memory_engine().await;
    let machine = engine
        .create_state_machine("ask", &callback_then_echo())
        .unwrap();
    let started = engine
        .start_execution(&machine, Some("one"), json!({"q": "ship it?"}))
        .await
        .unwrap();
    let task = inbox.recv().await.unwrap();
    assert_eq!(task.input["question"], "ship it?");
    assert_eq!(task.input["token"], json!(task.token));
    assert_eq!(
        engine
            .describe_execution(&started.execution_arn)
            .unwrap()
            .status,
        ExecutionStatus::Running
    );

    engine
        .send_task_success(&task.token, r#"{"approved": true}"#)
        .await
        .unwrap();
    let done = engine.wait(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"echo": {"q": "ship it?", "answer": {"approved": true}}}))
    );
    assert_eq!(echo.calls.lock().unwrap()["Echo"], 1);

    let late = engine
        .send_task_success(&task.token, "{}")
        .await
        .unwrap_err();
    assert_eq!(late.name(), "TaskTimedOut");
    let garbage = engine
        .send_task_success("not a token!", "{}")
        .await
        .unwrap_err();
    assert_eq!(garbage.name(), "InvalidToken");
}

#[tokio::test]
async fn send_task_failure_fails_the_task_with_the_given_error_for_catch_to_see() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": CALLBACK, "End": true, "Catch": [{"ErrorEquals": ["Approval.Rejected"], "Next": "Rejected"}]},
        "Rejected": {"Type": "Fail", "Error": "Rejected", "CausePath": "$.Cause"}}});
    let machine = engine
        .create_state_machine("reject", &definition.to_string())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({}))
        .await
        .unwrap();
    let task = inbox.recv().await.unwrap();
    engine
        .send_task_failure(&task.token, "Approval.Rejected", "not today")
        .await
        .unwrap();
    let done = engine.wait(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let error = done.error.unwrap();
    assert_eq!(
        (error.error.as_str(), error.cause.as_str()),
        ("Rejected", "not today")
    );
}

#[tokio::test]
async fn an_execution_name_is_idempotent_for_the_same_input_only() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let machine = engine
        .create_state_machine("ask", &callback_then_echo())
        .unwrap();
    let first = engine
        .start_execution(&machine, Some("build-7"), json!({"q": 1}))
        .await
        .unwrap();
    let again = engine
        .start_execution(&machine, Some("build-7"), json!({"q": 1}))
        .await
        .unwrap();
    assert_eq!(first, again);
    let other = engine
        .start_execution(&machine, Some("build-7"), json!({"q": 2}))
        .await
        .unwrap_err();
    assert_eq!(other.name(), "ExecutionAlreadyExists");
    let task = inbox.recv().await.unwrap();
    assert!(inbox.try_recv().is_err(), "the repeated start ran nothing");
    engine.send_task_success(&task.token, "{}").await.unwrap();
    engine.wait(&first.execution_arn).await.unwrap();
    let closed = engine
        .start_execution(&machine, Some("build-7"), json!({"q": 1}))
        .await
        .unwrap_err();
    assert_eq!(closed.name(), "ExecutionAlreadyExists");
    let bad = engine
        .start_execution(&machine, Some("has space"), json!({}))
        .await
        .unwrap_err();
    assert_eq!(bad.name(), "InvalidName");
}

#[tokio::test]
async fn deleting_a_machine_stops_its_executions_and_frees_its_name() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let machine = engine
        .create_state_machine("doomed", &callback_then_echo())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({"q": 1}))
        .await
        .unwrap();
    let task = inbox.recv().await.unwrap();

    engine.delete_state_machine(&machine).await.unwrap();

    let stopped = engine.describe_execution(&started.execution_arn).unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    let error = stopped.error.expect("the stop names its reason");
    assert_eq!(error.error, "States.Runtime");
    assert_eq!(error.cause, "State machine doomed has been deleted.");
    assert_eq!(
        engine
            .send_task_success(&task.token, "{}")
            .await
            .unwrap_err()
            .name(),
        "TaskTimedOut"
    );
    let refused = engine
        .start_execution(&machine, None, json!({"q": 2}))
        .await
        .unwrap_err();
    assert_eq!(refused.name(), "StateMachineDoesNotExist");
    // Deleting again is not an error, and the name can be used for another definition.
    engine.delete_state_machine(&machine).await.unwrap();
    let again = engine
        .create_state_machine(
            "doomed",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
        )
        .unwrap();
    assert_eq!(again, machine);
    let run = engine
        .start_execution(&again, None, json!({}))
        .await
        .unwrap();
    let ended = engine.wait(&run.execution_arn).await.unwrap();
    assert_eq!(ended.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn stopping_an_execution_aborts_it_and_closes_its_tokens() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let machine = engine
        .create_state_machine("ask", &callback_then_echo())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({"q": 1}))
        .await
        .unwrap();
    let task = inbox.recv().await.unwrap();
    engine
        .stop_execution(
            &started.execution_arn,
            Some("Cancelled".into()),
            Some("by a person".into()),
        )
        .await
        .unwrap();
    let stopped = engine.describe_execution(&started.execution_arn).unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(
        engine
            .send_task_success(&task.token, "{}")
            .await
            .unwrap_err()
            .name(),
        "TaskTimedOut"
    );
    let history: Vec<String> = engine
        .history(&started.execution_arn)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(history.last().map(String::as_str), Some("ExecutionAborted"));
    let listed = engine
        .list_executions(&machine, Some(ExecutionStatus::Aborted))
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn a_task_is_cancelled_when_its_execution_is_stopped_and_not_before() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let machine = engine
        .create_state_machine("ask", &callback_then_echo())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({"q": 1}))
        .await
        .unwrap();
    let task = inbox.recv().await.unwrap();
    engine.send_task_heartbeat(&task.token).await.unwrap();
    assert!(!task.cancellation.is_cancelled(), "still answerable");
    engine
        .stop_execution(&started.execution_arn, None, None)
        .await
        .unwrap();
    assert!(task.cancellation.is_cancelled());
    task.cancellation.cancelled().await;
}

#[tokio::test]
async fn a_timed_out_task_is_cancelled_and_its_retry_gets_a_live_cancellation() {
    let (engine, mut inbox, _, clock) = memory_engine().await;
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": CALLBACK, "TimeoutSeconds": 60, "End": true,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}]}}});
    let machine = engine
        .create_state_machine("retried", &definition.to_string())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({}))
        .await
        .unwrap();
    let first = inbox.recv().await.unwrap();
    clock.advance(60_000);
    first.cancellation.cancelled().await;
    clock.advance(1_000);
    let retry = inbox.recv().await.unwrap();
    assert_ne!(retry.token, first.token);
    assert!(
        !retry.cancellation.is_cancelled(),
        "the retry runs normally"
    );
    engine.send_task_success(&retry.token, "{}").await.unwrap();
    let done = engine.wait(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn a_failed_branch_cancels_the_tasks_of_the_other_branches() {
    let (engine, mut inbox, _, _) = memory_engine().await;
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Task", "Resource": CALLBACK, "End": true}}});
    let definition = json!({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [branch("Left"), branch("Right")], "End": true}}});
    let machine = engine
        .create_state_machine("both", &definition.to_string())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({}))
        .await
        .unwrap();
    let one = inbox.recv().await.unwrap();
    let other = inbox.recv().await.unwrap();
    engine
        .send_task_failure(&one.token, "Broken", "it broke")
        .await
        .unwrap();
    other.cancellation.cancelled().await;
    let done = engine.wait(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
}

#[tokio::test]
async fn a_task_handed_over_again_after_a_restart_has_a_live_cancellation() {
    let memory = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(0));
    let execution_arn = {
        let engine = Engine::start(
            memory.clone(),
            clock.clone(),
            Box::new(SeededEntropy::new(seed())),
            Location::default(),
        )
        .await
        .unwrap();
        let started = Arc::new(Notify::new());
        engine.register(
            "*",
            Arc::new(Stuck {
                started: started.clone(),
            }),
        );
        let machine = engine
            .create_state_machine("ask", &callback_then_echo())
            .unwrap();
        let run = engine
            .start_execution(&machine, None, json!({"q": 1}))
            .await
            .unwrap();
        started.notified().await;
        engine.shutdown();
        run.execution_arn
    };
    let (engine, mut inbox, _) = engine_over(memory, clock).await;
    engine.recover().await.unwrap();
    let task = inbox.recv().await.unwrap();
    assert!(!task.cancellation.is_cancelled());
    engine
        .stop_execution(&execution_arn, None, None)
        .await
        .unwrap();
    task.cancellation.cancelled().await;
}

#[tokio::test]
async fn waits_and_task_timeouts_follow_the_virtual_clock() {
    let (engine, mut inbox, _, clock) = memory_engine().await;
    let definition = json!({"StartAt": "Hold", "States": {
        "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": CALLBACK, "TimeoutSeconds": 60, "End": true}}});
    let machine = engine
        .create_state_machine("slow", &definition.to_string())
        .unwrap();
    let started = engine
        .start_execution(&machine, None, json!({}))
        .await
        .unwrap();
    clock.advance(3_599_000);
    tokio::task::yield_now().await;
    assert!(inbox.try_recv().is_err(), "an hour has not passed yet");
    clock.advance(1_000);
    let task = inbox.recv().await.unwrap();
    assert_eq!(task.state_name, "Ask");
    clock.advance(60_000);
    let done = engine.wait(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.unwrap().error, "States.Timeout");
}

#[tokio::test]
async fn a_restarted_engine_carries_on_executions_from_the_sqlite_file() {
    let path =
        std::env::temp_dir().join(format!("sluice-engine-restart-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let clock = Arc::new(ManualClock::new(0));
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": CALLBACK, "ResultPath": "$.answer", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Echo"},
        "Echo": {"Type": "Task", "Resource": ECHO, "End": true}}});
    let (token, execution_arn) = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let (engine, mut inbox, _) = engine_over(store, clock.clone()).await;
        let machine = engine
            .create_state_machine("durable", &definition.to_string())
            .unwrap();
        let started = engine
            .start_execution(&machine, Some("run-1"), json!({"n": 1}))
            .await
            .unwrap();
        let task = inbox.recv().await.unwrap();
        engine.shutdown();
        (task.token, started.execution_arn)
    };
    // A new process: the same file, the same token.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let (engine, mut inbox, echo) = engine_over(store, clock.clone()).await;
    assert_eq!(engine.recover().await.unwrap(), 1);
    assert!(
        inbox.try_recv().is_err(),
        "a task its handler took is not handed over again"
    );
    engine.send_task_success(&token, r#""yes""#).await.unwrap();
    clock.advance(60_000);
    let done = engine.wait(&execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"echo": {"n": 1, "answer": "yes"}}))
    );
    assert_eq!(echo.calls.lock().unwrap()["Echo"], 1);
}

/// A handler that never answers on its own: the task is "running" when the process stops.
struct Stuck {
    started: Arc<Notify>,
}

impl TaskHandler for Stuck {
    fn invoke(&self, _task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        self.started.notify_one();
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_request_response_task_running_at_a_crash_fails_and_runs_again_only_by_retry() {
    let memory = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(0));
    let definition = json!({"StartAt": "Build", "States": {"Build": {"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:build", "End": true,
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 5, "MaxAttempts": 1}]}}});
    let execution_arn = {
        let engine = Engine::start(
            memory.clone(),
            clock.clone(),
            Box::new(SeededEntropy::new(seed())),
            Location::default(),
        )
        .await
        .unwrap();
        let started = Arc::new(Notify::new());
        engine.register(
            "*",
            Arc::new(Stuck {
                started: started.clone(),
            }),
        );
        let machine = engine
            .create_state_machine("build", &definition.to_string())
            .unwrap();
        let run = engine
            .start_execution(&machine, None, json!({}))
            .await
            .unwrap();
        started.notified().await;
        engine.shutdown();
        run.execution_arn
    };
    let (engine, _inbox, echo) = engine_over(memory, clock.clone()).await;
    engine.recover().await.unwrap();
    assert_eq!(
        echo.calls.lock().unwrap().get("Build"),
        None,
        "not run again until the retry's interval"
    );
    clock.advance(5_000);
    let done = engine.wait(&execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(echo.calls.lock().unwrap()["Build"], 1);
    let history: Vec<String> = engine
        .history(&execution_arn)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(history.contains(&"TaskFailed".to_string()), "{history:?}");
}

/// A store that fails every write from the n-th on, as a process killed at that moment would.
struct Crashing {
    inner: Arc<MemoryStore>,
    writes_left: AtomicU64,
    crashed: Notify,
}

impl Crashing {
    fn write(&self) -> Result<(), StoreError> {
        let left = self.writes_left.load(Ordering::SeqCst);
        if left == 0 {
            self.crashed.notify_one();
            return Err(StoreError::Backend("the process was killed".into()));
        }
        self.writes_left.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

impl Store for Crashing {
    fn put_machine(&self, machine: &MachineRecord) -> Result<(), StoreError> {
        self.inner.put_machine(machine)
    }
    fn machines(&self) -> Result<Vec<MachineRecord>, StoreError> {
        self.inner.machines()
    }
    fn delete_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.inner.delete_machine(arn)
    }
    fn insert_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.insert_execution(execution, events)
    }
    fn update_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.update_execution(execution, events)
    }
    fn execution(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError> {
        self.inner.execution(arn)
    }
    fn open_executions(&self) -> Result<Vec<ExecutionState>, StoreError> {
        self.inner.open_executions()
    }
    fn list_executions(&self, machine: &str) -> Result<Vec<ExecutionSummary>, StoreError> {
        self.inner.list_executions(machine)
    }
    fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        self.inner.history(arn)
    }
}

fn pipeline_like() -> String {
    json!({"StartAt": "Source", "States": {
        "Source": {"Type": "Task", "Resource": CALLBACK, "Parameters": {"step": "source", "token.$": "$$.Task.Token"}, "ResultPath": "$.source", "Next": "Fan"},
        "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Deploy", "Branches": [
            {"StartAt": "Build", "States": {"Build": {"Type": "Task", "Resource": CALLBACK, "Parameters": {"step": "build"}, "End": true}}},
            {"StartAt": "Lint", "States": {"Lint": {"Type": "Pass", "Result": "clean", "End": true}}}]},
        "Deploy": {"Type": "Map", "ItemsPath": "$.targets", "ResultPath": "$.deployed", "Next": "Check",
            "ItemProcessor": {"StartAt": "Ship", "States": {"Ship": {"Type": "Task", "Resource": CALLBACK, "Parameters": {"step": "ship", "to.$": "$"}, "End": true}}}},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fan[1]", "StringEquals": "clean", "Next": "Done"}], "Default": "Broken"},
        "Broken": {"Type": "Fail", "Error": "Broken"},
        "Done": {"Type": "Succeed"}}})
    .to_string()
}

/// What a worker remembers: the tokens it was given per state, and answers the engine did not take
/// (a worker retries those, as it would retry a failed SendTaskSuccess call).
#[derive(Default)]
struct Worker {
    tokens: Mutex<HashMap<String, Vec<String>>>,
    unanswered: Mutex<Vec<(String, String)>>,
}

impl Worker {
    fn record(&self, task: &TaskRequest) {
        let key = format!(
            "{}:{}",
            task.state_name,
            task.input.get("to").cloned().unwrap_or(Value::Null)
        );
        let mut seen = self.tokens.lock().unwrap();
        let issued = seen.entry(key).or_default();
        if !issued.contains(&task.token) {
            issued.push(task.token.clone());
        }
    }
}

/// Runs the pipeline-like machine to its end, answering every callback task from its input, and
/// counts the tokens issued per state: more than one would mean a state ran twice.
async fn drive(
    engine: &Engine,
    inbox: &mut mpsc::UnboundedReceiver<TaskRequest>,
    arn: &str,
    worker: &Worker,
    crash: Option<&Notify>,
) -> Option<ExecutionState> {
    let retries: Vec<(String, String)> = std::mem::take(&mut *worker.unanswered.lock().unwrap());
    for (token, output) in retries {
        let _ = engine.send_task_success(&token, &output).await;
    }
    loop {
        let crashed = async {
            match crash {
                Some(crash) => crash.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            task = inbox.recv() => {
                let task = task?;
                worker.record(&task);
                let output = json!({"did": task.input["step"], "to": task.input.get("to")}).to_string();
                match engine.send_task_success(&task.token, &output).await {
                    Err(e) if e.name() != "TaskTimedOut" => worker.unanswered.lock().unwrap().push((task.token, output)),
                    _ => {}
                }
            }
            done = engine.wait(arn) => return done.ok(),
            () = crashed => {
                // Tasks already handed over are still done by their worker, which answers the next
                // engine.
                while let Ok(task) = inbox.try_recv() {
                    let output = json!({"did": task.input["step"], "to": task.input.get("to")}).to_string();
                    worker.record(&task);
                    worker.unanswered.lock().unwrap().push((task.token, output));
                }
                return None;
            }
        }
    }
}

#[tokio::test]
async fn a_process_killed_at_any_write_carries_on_and_runs_no_state_twice() {
    let input = json!({"targets": ["eu", "us", "ap"]});
    // Without a crash: the reference output and the number of writes it takes.
    let reference = {
        let (engine, mut inbox, _, _) = memory_engine().await;
        let machine = engine
            .create_state_machine("pipeline", &pipeline_like())
            .unwrap();
        let started = engine
            .start_execution(&machine, Some("run"), input.clone())
            .await
            .unwrap();
        let done = drive(
            &engine,
            &mut inbox,
            &started.execution_arn,
            &Worker::default(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        done
    };
    let writes = reference.version;
    assert!(writes > 8, "{writes} writes");
    for crash_at in 0..writes {
        let memory = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(0));
        let crashing = Arc::new(Crashing {
            inner: memory.clone(),
            writes_left: AtomicU64::new(crash_at),
            crashed: Notify::new(),
        });
        let worker = Worker::default();
        let arn = {
            let (engine, mut inbox, _) = engine_over(crashing.clone(), clock.clone()).await;
            let machine = engine
                .create_state_machine("pipeline", &pipeline_like())
                .unwrap();
            let arn = "arn:aws:states:local:000000000000:execution:pipeline:run".to_string();
            if engine
                .start_execution(&machine, Some("run"), input.clone())
                .await
                .is_ok()
            {
                let _ = drive(&engine, &mut inbox, &arn, &worker, Some(&crashing.crashed)).await;
            }
            engine.shutdown();
            arn
        };
        let (engine, mut inbox, _) = engine_over(memory.clone(), clock).await;
        engine.recover().await.unwrap();
        let done = match engine.describe_execution(&arn) {
            Ok(_) => drive(&engine, &mut inbox, &arn, &worker, None)
                .await
                .unwrap(),
            Err(EngineError::ExecutionDoesNotExist(_)) => {
                // Killed before the start was written: the caller starts it again.
                let machine = "arn:aws:states:local:000000000000:stateMachine:pipeline";
                engine
                    .start_execution(machine, Some("run"), input.clone())
                    .await
                    .unwrap();
                drive(&engine, &mut inbox, &arn, &worker, None)
                    .await
                    .unwrap()
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            done.status,
            ExecutionStatus::Succeeded,
            "crash at write {crash_at}"
        );
        assert_eq!(done.output, reference.output, "crash at write {crash_at}");
        for (state, issued) in worker.tokens.lock().unwrap().iter() {
            assert_eq!(
                issued.len(),
                1,
                "crash at write {crash_at}: {state} got {} tokens",
                issued.len()
            );
        }
    }
}
