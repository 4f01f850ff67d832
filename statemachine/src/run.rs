//! How an execution moves: a pure function from (program, execution state, one input, the time) to the
//! new state, the history events it produced, and the tasks to hand to their handlers. It performs no
//! I/O and reads no clock, so the engine can persist each result before acting on it, a restart can carry
//! on from the last persisted state, and tests run in virtual time.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::choice;
use crate::dataflow::{self, Scope, compact, read_path};
use crate::definition::*;
use crate::error::{StateError, errors};
use crate::execution::*;
use crate::intrinsic::Randomness;
use crate::program::{Program, StateCode};

/// How a Cause raised while running a state begins, as on AWS.
const STATE_ERROR_PREFIX: &str = "An error occurred while executing the state";

/// The largest input or output of a state, task or execution: 256 KiB of UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// Where randomness comes from: task tokens, retry jitter, and the intrinsics' UUIDs and random numbers.
pub trait Entropy: Randomness {
    /// A new opaque, unguessable task token.
    fn token(&mut self) -> String;
    /// A uniformly random whole number in `0..=max`.
    fn below(&mut self, max: u64) -> u64;
    /// This entropy source as the intrinsics' randomness.
    fn as_randomness(&mut self) -> &mut dyn Randomness;
}

/// Something that happens to an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The task's handler has taken it.
    TaskDispatched {
        token: String,
    },
    TaskSucceeded {
        token: String,
        output: Value,
    },
    TaskFailed {
        token: String,
        error: String,
        cause: String,
    },
    TaskHeartbeat {
        token: String,
    },
    /// Time has passed: wake sleepers, time out tasks and the execution.
    Tick,
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// A task to hand to the handler registered for its resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub token: String,
    pub resource: String,
    pub input: Value,
    pub state_name: String,
    /// `.waitForTaskToken`: the handler answers later through send_task_success/failure.
    pub wait_for_token: bool,
}

/// What one step produced.
#[derive(Debug, Default)]
pub struct Effects {
    pub events: Vec<HistoryEvent>,
    pub dispatch: Vec<Dispatch>,
    /// Tokens no longer awaited: their tasks ended, timed out or were cancelled.
    pub closed_tokens: Vec<String>,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The token belongs to a task that is no longer waiting (SFN's TaskTimedOut).
    #[error(
        "the task for this token is no longer waiting for a result (it succeeded, failed, timed out or was stopped)"
    )]
    TaskClosed,
    #[error("the execution is not running")]
    NotRunning,
    #[error("the output is not valid: {0}")]
    InvalidOutput(String),
}

/// Starts an execution: the state as persisted first, and what it does right away.
#[allow(clippy::too_many_arguments)]
pub fn start(
    program: &Program,
    state_machine_arn: &str,
    execution_arn: &str,
    name: &str,
    input: Value,
    now: i64,
    entropy: &mut dyn Entropy,
) -> (ExecutionState, Effects) {
    let flow = &program.flows[0];
    let mut execution = ExecutionState {
        execution_arn: execution_arn.to_string(),
        name: name.to_string(),
        state_machine_arn: state_machine_arn.to_string(),
        machine_revision: 0,
        status: ExecutionStatus::Running,
        input: input.clone(),
        output: None,
        error: None,
        start_date: now,
        stop_date: None,
        deadline: program
            .machine
            .timeout_seconds
            .map(|s| now + seconds_to_millis(s)),
        threads: vec![Thread {
            flow: 0,
            state: flow.start,
            parent: None,
            input: input.clone(),
            phase: Phase::Ready,
            attempts: Vec::new(),
            variables: Map::new(),
            entered_at: now,
            entered_event: 0,
            map_item: None,
        }],
        event_count: 0,
        version: 0,
    };
    let mut step = Step::new(program, &mut execution, now, entropy);
    step.event(
        "ExecutionStarted",
        "executionStartedEventDetails",
        json!({ "input": json_text(&input) }),
    );
    if payload_too_large(&input) {
        step.end_execution_failed(&StateError::new(
            errors::DATA_LIMIT_EXCEEDED,
            format!("The execution input is larger than {MAX_PAYLOAD_BYTES} bytes"),
        ));
    } else {
        step.entered(0, None);
        step.run();
    }
    let effects = step.effects;
    (execution, effects)
}

/// Applies one event to a running execution.
pub fn apply(
    program: &Program,
    execution: &mut ExecutionState,
    event: Event,
    now: i64,
    entropy: &mut dyn Entropy,
) -> Result<Effects, Refusal> {
    if !execution.status.is_open() {
        return Err(match event {
            Event::Tick => return Ok(Effects::default()),
            Event::TaskSucceeded { .. }
            | Event::TaskFailed { .. }
            | Event::TaskHeartbeat { .. } => Refusal::TaskClosed,
            _ => Refusal::NotRunning,
        });
    }
    let mut step = Step::new(program, execution, now, entropy);
    match event {
        Event::TaskDispatched { token } => {
            let thread = step.awaiting(&token)?;
            if let Phase::Task(task) = &mut step.exec.threads[thread].phase
                && !task.dispatched
            {
                task.dispatched = true;
                let resource = task.resource.clone();
                step.event(
                    "TaskStarted",
                    "taskStartedEventDetails",
                    resource_details(&resource),
                );
            }
        }
        Event::TaskSucceeded { token, output } => {
            let thread = step.awaiting(&token)?;
            step.task_succeeded(thread, output);
        }
        Event::TaskFailed {
            token,
            error,
            cause,
        } => {
            let thread = step.awaiting(&token)?;
            step.task_failed(thread, StateError::new(error, cause));
        }
        Event::TaskHeartbeat { token } => {
            let thread = step.awaiting(&token)?;
            if let Phase::Task(task) = &mut step.exec.threads[thread].phase
                && let Some(seconds) = task.heartbeat_seconds
            {
                task.heartbeat_at = Some(now + seconds_to_millis(seconds));
            }
        }
        Event::Tick => step.tick(),
        Event::Stop { error, cause } => step.abort(error, cause),
    }
    step.run();
    Ok(step.effects)
}

/// The earliest time at which a `Tick` has something to do.
pub fn next_deadline(execution: &ExecutionState) -> Option<i64> {
    if !execution.status.is_open() {
        return None;
    }
    let threads = execution
        .threads
        .iter()
        .filter_map(|thread| match &thread.phase {
            Phase::Sleeping { until, .. } => Some(*until),
            Phase::Task(task) => match (task.timeout_at, task.heartbeat_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            _ => None,
        });
    threads.chain(execution.deadline).min()
}

fn seconds_to_millis(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Whether a value's JSON text is longer than [`MAX_PAYLOAD_BYTES`], without writing it out.
pub fn payload_too_large(value: &Value) -> bool {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            if self.0 > MAX_PAYLOAD_BYTES {
                // Stop serializing as soon as the limit is passed.
                return Err(std::io::Error::other("too large"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(&mut Count(0), value).is_err()
}

fn resource_details(resource: &str) -> Value {
    let (resource_type, short) = split_resource(resource);
    json!({ "resourceType": resource_type, "resource": short })
}

/// `arn:aws:states:::lambda:invoke.waitForTaskToken` → ("lambda", "invoke.waitForTaskToken"); a bare
/// function ARN → ("lambda", the ARN).
fn split_resource(resource: &str) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::")
        && let Some((service, action)) = rest.split_once(':')
    {
        return (service.to_string(), action.to_string());
    }
    let service = resource.split(':').nth(2).unwrap_or("").to_string();
    (service, resource.to_string())
}

struct Step<'a> {
    program: &'a Program,
    exec: &'a mut ExecutionState,
    now: i64,
    entropy: &'a mut dyn Entropy,
    effects: Effects,
    ready: std::collections::VecDeque<usize>,
}

impl<'a> Step<'a> {
    fn new(
        program: &'a Program,
        exec: &'a mut ExecutionState,
        now: i64,
        entropy: &'a mut dyn Entropy,
    ) -> Self {
        let ready = exec
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.phase == Phase::Ready)
            .map(|(i, _)| i)
            .collect();
        Step {
            program,
            exec,
            now,
            entropy,
            effects: Effects::default(),
            ready,
        }
    }

    fn code(&self, thread: usize) -> &'a StateCode {
        let t = &self.exec.threads[thread];
        self.program.state(t.flow, t.state)
    }

    fn event(&mut self, event_type: &str, details_key: &str, details: Value) {
        let id = self.exec.event_count + 1;
        let mut map = Map::new();
        if !details_key.is_empty() {
            map.insert(details_key.to_string(), details);
        }
        self.effects.events.push(HistoryEvent {
            id,
            previous_event_id: self.exec.event_count,
            timestamp: self.now,
            event_type: event_type.to_string(),
            details: map,
        });
        self.exec.event_count = id;
    }

    fn awaiting(&self, token: &str) -> Result<usize, Refusal> {
        self.exec
            .threads
            .iter()
            .position(|t| matches!(&t.phase, Phase::Task(task) if task.token == token))
            .ok_or(Refusal::TaskClosed)
    }

    /// Runs every ready thread until each waits or ends.
    fn run(&mut self) {
        while let Some(thread) = self.ready.pop_front() {
            if !self.exec.status.is_open() {
                break;
            }
            if self.exec.threads[thread].phase == Phase::Ready {
                self.execute(thread);
            }
        }
    }

    fn context(&self, thread: usize, token: Option<&str>) -> Value {
        let t = &self.exec.threads[thread];
        let code = self.code(thread);
        let retry_count: u64 = t.attempts.iter().sum();
        let mut context = json!({
            "Execution": {
                "Id": self.exec.execution_arn,
                "Name": self.exec.name,
                "Input": self.exec.input,
                "StartTime": iso(self.exec.start_date),
            },
            "State": {
                "Name": code.name,
                "EnteredTime": iso(t.entered_at),
                "RetryCount": retry_count,
            },
            "StateMachine": {
                "Id": self.exec.state_machine_arn,
                "Name": self.exec.state_machine_arn.rsplit(':').next().unwrap_or(""),
            },
        });
        if let Some(token) = token {
            context["Task"] = json!({ "Token": token });
        }
        if let Some((index, value)) = &t.map_item {
            context["Map"] = json!({ "Item": { "Index": index, "Value": value } });
        }
        context
    }

    /// The state-entered event; `input_text` is the input as JSON text when the caller has it already.
    /// The context object when the current state reads it (`$$`); building it costs, so only then.
    fn context_if_read(&self, thread: usize) -> Value {
        if self.code(thread).reads_context {
            self.context(thread, None)
        } else {
            Value::Null
        }
    }

    fn entered(&mut self, thread: usize, input_text: Option<String>) {
        let code = self.code(thread);
        let input = input_text.unwrap_or_else(|| json_text(&self.exec.threads[thread].input));
        self.event(
            entered_event(&code.state.kind),
            "stateEnteredEventDetails",
            json!({ "name": code.name, "input": input }),
        );
        self.exec.threads[thread].entered_event = self.exec.event_count;
    }

    fn exited(&mut self, thread: usize, output: &Value) {
        self.exited_as(thread, json_text(output));
    }

    /// The state-exited event, from the output already written as JSON text.
    fn exited_as(&mut self, thread: usize, output: String) {
        let code = self.code(thread);
        self.event(
            exited_event(&code.state.kind),
            "stateExitedEventDetails",
            json!({ "name": code.name, "output": output }),
        );
    }

    fn execute(&mut self, thread: usize) {
        if let Err(error) = self.try_execute(thread) {
            self.failed(thread, error);
        }
    }

    fn try_execute(&mut self, thread: usize) -> Result<(), StateError> {
        let code = self.code(thread);
        // The raw input leaves the thread while the state runs, so nothing copies it: it comes back
        // when the state stays (waits, fails) and moves on as the output otherwise.
        let raw = std::mem::take(&mut self.exec.threads[thread].input);
        let context = self.context_if_read(thread);
        match &code.state.kind {
            StateKind::Pass(pass) => {
                let passes_input_on = pass.result.is_none()
                    && pass.parameters.is_none()
                    && pass.io.input_path == Selection::All;
                if passes_input_on && pass.result_path == ResultPlacement::Replace {
                    return self.complete(
                        thread,
                        Value::Null,
                        raw,
                        None,
                        &pass.result_path,
                        &pass.io.output_path,
                        pass.assign.as_ref(),
                        &context,
                    );
                }
                let result = match &pass.result {
                    Some(result) => Ok(result.clone()),
                    None => dataflow::select(&pass.io.input_path, &raw, "InputPath").and_then(
                        |selected| {
                            self.template(thread, pass.parameters.as_ref(), &selected, &context)
                        },
                    ),
                };
                match result {
                    Ok(result) => self.complete(
                        thread,
                        raw,
                        result,
                        None,
                        &pass.result_path,
                        &pass.io.output_path,
                        pass.assign.as_ref(),
                        &context,
                    ),
                    Err(error) => self.restore(thread, raw, error),
                }
            }
            StateKind::Task(task) => {
                let scheduled = self.schedule(thread, code, task, &raw, context);
                self.exec.threads[thread].input = raw;
                scheduled
            }
            StateKind::Choice(choice) => {
                let chosen = self.choose(thread, code, choice, &raw, &context);
                let (next, assigned) = match chosen {
                    Ok(chosen) => chosen,
                    Err(error) => return self.restore(thread, raw, error),
                };
                let output = if choice.io.input_path == Selection::All {
                    dataflow::select_owned(&choice.io.output_path, raw, "OutputPath")
                } else {
                    dataflow::select(&choice.io.input_path, &raw, "InputPath")
                        .and_then(|selected| {
                            dataflow::select(&choice.io.output_path, &selected, "OutputPath")
                                .map(Cow::into_owned)
                        })
                        .map_err(|error| (error, raw))
                };
                let output = match output {
                    Ok(output) => output,
                    Err((error, raw)) => return self.restore(thread, raw, error),
                };
                if let Some(values) = assigned {
                    self.exec.threads[thread].variables.extend(values);
                }
                self.exited(thread, &output);
                self.move_to(thread, next, output);
                Ok(())
            }
            StateKind::Wait(wait) => {
                let until = self.wait_until(thread, code, wait, &raw, &context);
                self.exec.threads[thread].input = raw;
                match until? {
                    until if until <= self.now => self.wake(thread, false),
                    until => {
                        self.exec.threads[thread].phase = Phase::Sleeping {
                            until,
                            retry: false,
                        }
                    }
                }
                Ok(())
            }
            StateKind::Succeed(succeed) => {
                let output = dataflow::select(&succeed.io.input_path, &raw, "InputPath").and_then(
                    |selected| {
                        dataflow::select(&succeed.io.output_path, &selected, "OutputPath")
                            .map(Cow::into_owned)
                    },
                );
                match output {
                    Ok(output) => {
                        self.exited(thread, &output);
                        self.thread_succeeded(thread, output);
                        Ok(())
                    }
                    Err(error) => self.restore(thread, raw, error),
                }
            }
            StateKind::Fail(fail) => {
                let texts = {
                    let t = &self.exec.threads[thread];
                    let scope = Scope {
                        context: &context,
                        variables: &t.variables,
                    };
                    let random = self.entropy.as_randomness();
                    fail_text(&fail.error, "ErrorPath", &raw, &scope, random).and_then(|error| {
                        Ok((
                            error,
                            fail_text(&fail.cause, "CausePath", &raw, &scope, random)?,
                        ))
                    })
                };
                match texts {
                    // A Fail state's error goes straight to the end of the execution (or of its branch).
                    Ok((error, cause)) => {
                        self.propagate(
                            thread,
                            StateError::new(error.unwrap_or_default(), cause.unwrap_or_default()),
                        );
                        Ok(())
                    }
                    Err(error) => self.restore(thread, raw, error),
                }
            }
            StateKind::Parallel(parallel) => {
                let effective = dataflow::select(&parallel.io.input_path, &raw, "InputPath")
                    .and_then(|selected| {
                        self.template(thread, parallel.parameters.as_ref(), &selected, &context)
                    });
                self.exec.threads[thread].input = raw;
                let effective = effective?;
                self.event("ParallelStateStarted", "", Value::Null);
                let branches = code.children.len();
                let mut running = Vec::with_capacity(branches);
                for (slot, flow) in code.children.iter().enumerate() {
                    running.push(Some(self.spawn(
                        thread,
                        slot,
                        *flow,
                        effective.clone(),
                        None,
                    )));
                }
                self.exec.threads[thread].phase = Phase::Children(Children {
                    running,
                    results: vec![None; branches],
                    items: Vec::new(),
                    next_item: 0,
                    limit: 0,
                    active: branches,
                    done: 0,
                });
                Ok(())
            }
            StateKind::Map(map) => {
                let prepared = self.map_items(thread, code, map, &raw, &context);
                self.exec.threads[thread].input = raw;
                let (items, limit) = prepared?;
                self.event(
                    "MapStateStarted",
                    "mapStateStartedEventDetails",
                    json!({ "length": items.len() }),
                );
                if items.is_empty() {
                    self.event("MapStateSucceeded", "", Value::Null);
                    return self.children_done(thread, Vec::new());
                }
                let count = items.len();
                self.exec.threads[thread].phase = Phase::Children(Children {
                    running: vec![None; count],
                    results: vec![None; count],
                    items,
                    next_item: 0,
                    limit,
                    active: 0,
                    done: 0,
                });
                self.launch_iterations(thread)
            }
        }
    }

    /// Puts the raw input back in its thread and fails with `error`.
    fn restore(&mut self, thread: usize, raw: Value, error: StateError) -> Result<(), StateError> {
        self.exec.threads[thread].input = raw;
        Err(error)
    }

    /// A Task state: its effective input goes to its handler with a new token.
    fn schedule(
        &mut self,
        thread: usize,
        code: &StateCode,
        task: &Task,
        raw: &Value,
        context: Value,
    ) -> Result<(), StateError> {
        let selected = dataflow::select(&task.io.input_path, raw, "InputPath")?;
        let wait_for_token = task.resource.ends_with(".waitForTaskToken");
        let token = self.entropy.token();
        let context = if code.reads_context || wait_for_token {
            self.context(thread, Some(&token))
        } else {
            context
        };
        let effective = self.template(thread, task.parameters.as_ref(), &selected, &context)?;
        let parameters = json_text(&effective);
        if parameters.len() > MAX_PAYLOAD_BYTES {
            return Err(StateError::new(
                errors::DATA_LIMIT_EXCEEDED,
                format!(
                    "The input of Task state '{}' is larger than {MAX_PAYLOAD_BYTES} bytes",
                    code.name
                ),
            ));
        }
        let timeout = self.seconds(
            thread,
            task.timeout.as_ref(),
            &selected,
            &context,
            "TimeoutSecondsPath",
        )?;
        let heartbeat = self.seconds(
            thread,
            task.heartbeat.as_ref(),
            &selected,
            &context,
            "HeartbeatSecondsPath",
        )?;
        let (resource_type, resource) = split_resource(&task.resource);
        let mut scheduled = json!({
            "resourceType": resource_type,
            "resource": resource,
            "region": "local",
            "parameters": parameters,
        });
        if let Some(timeout) = timeout {
            scheduled["timeoutInSeconds"] = json!(timeout);
        }
        if let Some(heartbeat) = heartbeat {
            scheduled["heartbeatInSeconds"] = json!(heartbeat);
        }
        self.event("TaskScheduled", "taskScheduledEventDetails", scheduled);
        self.effects.dispatch.push(Dispatch {
            token: token.clone(),
            resource: task.resource.clone(),
            input: effective.clone(),
            state_name: code.name.clone(),
            wait_for_token,
        });
        self.exec.threads[thread].phase = Phase::Task(TaskWait {
            token,
            resource: task.resource.clone(),
            effective_input: effective,
            timeout_at: timeout.map(|s| self.now + seconds_to_millis(s)),
            heartbeat_seconds: heartbeat,
            heartbeat_at: heartbeat.map(|s| self.now + seconds_to_millis(s)),
            dispatched: false,
        });
        Ok(())
    }

    /// A Choice state: where it goes, and the variables its matching rule assigns.
    fn choose(
        &mut self,
        thread: usize,
        code: &StateCode,
        choice: &Choice,
        raw: &Value,
        context: &Value,
    ) -> Result<(usize, Option<Map<String, Value>>), StateError> {
        let selected = dataflow::select(&choice.io.input_path, raw, "InputPath")?;
        let t = &self.exec.threads[thread];
        let scope = Scope {
            context,
            variables: &t.variables,
        };
        let mut target = None;
        for (index, branch) in choice.choices.iter().enumerate() {
            if choice::holds(&branch.rule, &selected, &scope)? {
                target = Some((code.choice_targets[index], branch.assign.as_ref()));
                break;
            }
        }
        let (next, assign) = match target {
            Some(found) => found,
            None => match code.default_target {
                Some(default) => (default, choice.assign.as_ref()),
                None => {
                    return Err(StateError::new(
                        errors::NO_CHOICE_MATCHED,
                        format!(
                            "No Choice Rule of state '{}' matched, and it has no Default",
                            code.name
                        ),
                    ));
                }
            },
        };
        let assigned = match assign {
            None => None,
            Some(template) => {
                match dataflow::evaluate(template, &selected, &scope, self.entropy.as_randomness())?
                {
                    Value::Object(values) => Some(values),
                    _ => None,
                }
            }
        };
        Ok((next, assigned))
    }

    /// A Wait state: until when.
    fn wait_until(
        &self,
        thread: usize,
        code: &StateCode,
        wait: &Wait,
        raw: &Value,
        context: &Value,
    ) -> Result<i64, StateError> {
        let selected = dataflow::select(&wait.io.input_path, raw, "InputPath")?;
        let scope = Scope {
            context,
            variables: &self.exec.threads[thread].variables,
        };
        Ok(match &wait.until {
            WaitFor::Seconds(s) => self.now + seconds_to_millis(*s),
            WaitFor::Timestamp(stamp) => parse_millis(stamp).unwrap_or(self.now),
            WaitFor::SecondsPath(path) => {
                let value = read_path(path, &selected, &scope, "SecondsPath")?;
                let seconds = value.as_u64().ok_or_else(|| {
                    StateError::new(
                        errors::RUNTIME,
                        format!("The SecondsPath '{path}' of state '{}' must name a non-negative integer, not {}", code.name, compact(&value)),
                    )
                })?;
                self.now + seconds_to_millis(seconds)
            }
            WaitFor::TimestampPath(path) => {
                let value = read_path(path, &selected, &scope, "TimestampPath")?;
                value.as_str().and_then(parse_millis).ok_or_else(|| {
                    StateError::new(
                        errors::RUNTIME,
                        format!("The TimestampPath '{path}' of state '{}' must name an RFC 3339 timestamp, not {}", code.name, compact(&value)),
                    )
                })?
            }
        })
    }

    /// A Map state: its items and how many may run at once.
    fn map_items(
        &self,
        thread: usize,
        code: &StateCode,
        map: &MapState,
        raw: &Value,
        context: &Value,
    ) -> Result<(Vec<Value>, usize), StateError> {
        let selected = dataflow::select(&map.io.input_path, raw, "InputPath")?;
        let scope = Scope {
            context,
            variables: &self.exec.threads[thread].variables,
        };
        let items_value = match &map.items_path {
            None => selected.into_owned(),
            Some(path) => read_path(path, &selected, &scope, "ItemsPath")?,
        };
        let Value::Array(items) = items_value else {
            return Err(StateError::new(
                errors::RUNTIME,
                format!(
                    "The ItemsPath of Map state '{}' must name an array, not {}",
                    code.name,
                    compact(&items_value)
                ),
            ));
        };
        let limit = match &map.max_concurrency {
            Concurrency::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Concurrency::Path(path) => {
                let selected = dataflow::select(&map.io.input_path, raw, "InputPath")?;
                let value = read_path(path, &selected, &scope, "MaxConcurrencyPath")?;
                value.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
                    StateError::new(errors::RUNTIME, format!("The MaxConcurrencyPath of Map state '{}' must name a non-negative integer", code.name))
                })?
            }
        };
        Ok((items, limit))
    }

    /// Evaluates a state's payload template, or passes its input on when it has none.
    fn template(
        &mut self,
        thread: usize,
        template: Option<&Template>,
        input: &Value,
        context: &Value,
    ) -> Result<Value, StateError> {
        match template {
            None => Ok(input.clone()),
            Some(template) => {
                let variables = std::mem::take(&mut self.exec.threads[thread].variables);
                let scope = Scope {
                    context,
                    variables: &variables,
                };
                let result =
                    dataflow::evaluate(template, input, &scope, self.entropy.as_randomness());
                self.exec.threads[thread].variables = variables;
                result
            }
        }
    }

    fn seconds(
        &mut self,
        thread: usize,
        seconds: Option<&Seconds>,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Option<u64>, StateError> {
        match seconds {
            None => Ok(None),
            Some(Seconds::Fixed(s)) => Ok(Some(*s)),
            Some(Seconds::Path(path)) => {
                let variables = &self.exec.threads[thread].variables;
                let scope = Scope { context, variables };
                let value = read_path(path, input, &scope, field)?;
                match value.as_u64() {
                    Some(s) if s > 0 => Ok(Some(s)),
                    _ => Err(StateError::new(
                        errors::RUNTIME,
                        format!(
                            "The {field} '{path}' must name a positive integer, not {}",
                            compact(&value)
                        ),
                    )),
                }
            }
        }
    }

    fn assign(
        &mut self,
        thread: usize,
        assign: Option<&Template>,
        input: &Value,
        context: &Value,
    ) -> Result<(), StateError> {
        let Some(template) = assign else {
            return Ok(());
        };
        let values = self.template(thread, Some(template), input, context)?;
        if let Value::Object(values) = values {
            self.exec.threads[thread].variables.extend(values);
        }
        Ok(())
    }

    /// Ends a state with its result: ResultSelector → ResultPath → OutputPath, then Assign and the
    /// transition. `raw` is the state's raw input, which the thread gave up; on an error it goes back.
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        thread: usize,
        mut raw: Value,
        result: Value,
        result_selector: Option<&Template>,
        result_path: &ResultPlacement,
        output_path: &Selection,
        assign: Option<&Template>,
        context: &Value,
    ) -> Result<(), StateError> {
        let result = match result_selector {
            Some(selector) => match self.template(thread, Some(selector), &result, context) {
                Ok(selected) => selected,
                Err(error) => return self.restore(thread, raw, error),
            },
            None => result,
        };
        if let Err(error) = self.assign(thread, assign, &result, context) {
            return self.restore(thread, raw, error);
        }
        if let Err(error) = dataflow::place_in(result_path, &mut raw, result) {
            return self.restore(thread, raw, error);
        }
        let output = match dataflow::select_owned(output_path, raw, "OutputPath") {
            Ok(output) => output,
            Err((error, raw)) => return self.restore(thread, raw, error),
        };
        let code = self.code(thread);
        let text = json_text(&output);
        if text.len() > MAX_PAYLOAD_BYTES {
            return Err(StateError::new(
                errors::DATA_LIMIT_EXCEEDED,
                format!(
                    "The output of state '{}' is larger than {MAX_PAYLOAD_BYTES} bytes",
                    code.name
                ),
            ));
        }
        match code.next {
            Some(next) => {
                self.exited_as(thread, text.clone());
                self.move_to_with_text(thread, next, output, Some(text));
            }
            None => {
                self.exited_as(thread, text);
                self.thread_succeeded(thread, output);
            }
        }
        Ok(())
    }

    fn move_to(&mut self, thread: usize, next: usize, input: Value) {
        self.move_to_with_text(thread, next, input, None);
    }

    /// Moves on, with the new input's JSON text when the caller has it (the previous state's output).
    fn move_to_with_text(
        &mut self,
        thread: usize,
        next: usize,
        input: Value,
        input_text: Option<String>,
    ) {
        let t = &mut self.exec.threads[thread];
        t.state = next;
        t.input = input;
        t.phase = Phase::Ready;
        t.attempts.clear();
        t.entered_at = self.now;
        self.entered(thread, input_text);
        self.ready.push_back(thread);
    }

    fn spawn(
        &mut self,
        parent: usize,
        slot: usize,
        flow: usize,
        input: Value,
        map_item: Option<(u64, Value)>,
    ) -> usize {
        let id = self.exec.threads.len();
        let variables = self.exec.threads[parent].variables.clone();
        self.exec.threads.push(Thread {
            flow,
            state: self.program.flows[flow].start,
            parent: Some((parent, slot)),
            input,
            phase: Phase::Ready,
            attempts: Vec::new(),
            variables,
            entered_at: self.now,
            entered_event: 0,
            map_item,
        });
        self.entered(id, None);
        self.ready.push_back(id);
        id
    }

    /// Starts Map iterations while the concurrency limit allows.
    fn launch_iterations(&mut self, thread: usize) -> Result<(), StateError> {
        let code = self.code(thread);
        let StateKind::Map(map) = &code.state.kind else {
            return Ok(());
        };
        // ItemSelector reads the Map's input and the context: build both once for every iteration
        // started now (the context holds the execution's input, which may be large).
        let mut prepared: Option<(Value, Value)> = None;
        loop {
            let Phase::Children(children) = &mut self.exec.threads[thread].phase else {
                return Ok(());
            };
            let index = children.next_item;
            if index >= children.items.len()
                || (children.limit > 0 && children.active >= children.limit)
            {
                return Ok(());
            }
            let item = std::mem::take(&mut children.items[index]);
            children.next_item = index + 1;
            children.active += 1;
            let index_u64 = u64::try_from(index).unwrap_or(u64::MAX);
            let input = match &map.item_selector {
                None => item.clone(),
                Some(selector) => {
                    if prepared.is_none() {
                        let raw = &self.exec.threads[thread].input;
                        let selected =
                            dataflow::select(&map.io.input_path, raw, "InputPath")?.into_owned();
                        prepared = Some((selected, self.context(thread, None)));
                    }
                    let Some((selected, context)) = prepared.as_mut() else {
                        return Ok(());
                    };
                    context["Map"] = json!({ "Item": { "Index": index_u64, "Value": item } });
                    let (selected, context) = (&*selected, &*context);
                    self.template(thread, Some(selector), selected, context)?
                }
            };
            self.event(
                "MapIterationStarted",
                "mapIterationStartedEventDetails",
                json!({ "name": code.name, "index": index_u64 }),
            );
            let child = self.spawn(
                thread,
                index,
                code.children[0],
                input,
                Some((index_u64, item)),
            );
            if let Phase::Children(children) = &mut self.exec.threads[thread].phase {
                children.running[index] = Some(child);
            }
        }
    }

    /// Ends a thread's slot, dropping what it no longer needs (finished threads stay as `Gone`).
    fn retire(&mut self, thread: usize) {
        let t = &mut self.exec.threads[thread];
        t.phase = Phase::Gone;
        t.input = Value::Null;
        t.variables = Map::new();
        t.map_item = None;
        t.attempts = Vec::new();
    }

    fn thread_succeeded(&mut self, thread: usize, output: Value) {
        let parent = self.exec.threads[thread].parent;
        self.retire(thread);
        let Some((parent, slot)) = parent else {
            self.exec.status = ExecutionStatus::Succeeded;
            self.exec.stop_date = Some(self.now);
            self.event(
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({ "output": json_text(&output) }),
            );
            self.exec.output = Some(output);
            self.close_all();
            return;
        };
        let is_map = self.iteration_ended(
            parent,
            slot,
            "MapIterationSucceeded",
            "mapIterationSucceededEventDetails",
        );
        let Phase::Children(children) = &mut self.exec.threads[parent].phase else {
            return;
        };
        children.running[slot] = None;
        children.results[slot] = Some(output);
        children.active = children.active.saturating_sub(1);
        children.done += 1;
        let finished = children.done == children.results.len();
        if finished {
            let results: Vec<Value> = children
                .results
                .iter_mut()
                .map(|r| r.take().unwrap_or(Value::Null))
                .collect();
            let event = if is_map {
                "MapStateSucceeded"
            } else {
                "ParallelStateSucceeded"
            };
            self.event(event, "", Value::Null);
            if let Err(error) = self.children_done(parent, results) {
                self.failed(parent, error);
            }
        } else if is_map && let Err(error) = self.launch_iterations(parent) {
            self.failed(parent, error);
        }
    }

    /// A Parallel's branches or a Map's iterations have all finished.
    fn children_done(&mut self, thread: usize, results: Vec<Value>) -> Result<(), StateError> {
        let code = self.code(thread);
        let raw = std::mem::take(&mut self.exec.threads[thread].input);
        let context = self.context_if_read(thread);
        let results = Value::Array(results);
        let (selector, result_path, output_path, assign) = match &code.state.kind {
            StateKind::Parallel(p) => (
                p.result_selector.as_ref(),
                &p.result_path,
                &p.io.output_path,
                p.assign.as_ref(),
            ),
            StateKind::Map(m) => (
                m.result_selector.as_ref(),
                &m.result_path,
                &m.io.output_path,
                m.assign.as_ref(),
            ),
            _ => return Ok(()),
        };
        self.complete(
            thread,
            raw,
            results,
            selector,
            result_path,
            output_path,
            assign,
            &context,
        )
    }

    fn task_succeeded(&mut self, thread: usize, output: Value) {
        let Phase::Task(task) =
            std::mem::replace(&mut self.exec.threads[thread].phase, Phase::Ready)
        else {
            return;
        };
        self.effects.closed_tokens.push(task.token.clone());
        let mut details = resource_details(&task.resource);
        details["output"] = json!(json_text(&output));
        self.event("TaskSucceeded", "taskSucceededEventDetails", details);
        let code = self.code(thread);
        let StateKind::Task(state) = &code.state.kind else {
            return;
        };
        let raw = std::mem::take(&mut self.exec.threads[thread].input);
        let context = if code.reads_context {
            self.context(thread, Some(&task.token))
        } else {
            Value::Null
        };
        if let Err(error) = self.complete(
            thread,
            raw,
            output,
            state.result_selector.as_ref(),
            &state.result_path,
            &state.io.output_path,
            state.assign.as_ref(),
            &context,
        ) {
            self.failed(thread, error);
        }
    }

    fn task_failed(&mut self, thread: usize, error: StateError) {
        let Phase::Task(task) =
            std::mem::replace(&mut self.exec.threads[thread].phase, Phase::Ready)
        else {
            return;
        };
        self.effects.closed_tokens.push(task.token.clone());
        let mut details = resource_details(&task.resource);
        details["error"] = json!(error.error);
        details["cause"] = json!(error.cause);
        self.event("TaskFailed", "taskFailedEventDetails", details);
        self.failed(thread, error);
    }

    /// A state failed: retry it, catch the error, or fail the thread.
    fn failed(&mut self, thread: usize, mut error: StateError) {
        self.close_tasks_of(thread);
        let code = self.code(thread);
        // Errors the engine raises while running a state say which state, as AWS's causes do.
        let raised_here = [
            errors::RUNTIME,
            errors::INTRINSIC_FAILURE,
            errors::RESULT_PATH_MATCH_FAILURE,
        ];
        if raised_here.contains(&error.error.as_str())
            && !error.cause.starts_with(STATE_ERROR_PREFIX)
        {
            error.cause = format!(
                "{STATE_ERROR_PREFIX} '{}' (entered at the event id #{}). {}",
                code.name, self.exec.threads[thread].entered_event, error.cause
            );
        }
        let (retry, catch): (&[Retrier], &[Catcher]) = match &code.state.kind {
            StateKind::Task(t) => (&t.retry, &t.catch),
            StateKind::Parallel(p) => (&p.retry, &p.catch),
            StateKind::Map(m) => (&m.retry, &m.catch),
            _ => (&[], &[]),
        };
        if !error.is_terminal() {
            if let Some(index) = retry.iter().position(|r| error.matches(&r.error_equals)) {
                let retrier = &retry[index];
                let t = &mut self.exec.threads[thread];
                if t.attempts.len() < retry.len() {
                    t.attempts.resize(retry.len(), 0);
                }
                let done = t.attempts[index];
                if done < retrier.max_attempts {
                    t.attempts[index] = done + 1;
                    let delay = retry_delay_millis(retrier, done);
                    let delay = match retrier.jitter {
                        Jitter::None => delay,
                        Jitter::Full => self.entropy.below(delay),
                    };
                    self.exec.threads[thread].phase = Phase::Sleeping {
                        until: self.now + i64::try_from(delay).unwrap_or(i64::MAX),
                        retry: true,
                    };
                    return;
                }
            }
            if let Some(index) = catch.iter().position(|c| error.matches(&c.error_equals)) {
                let catcher = &catch[index];
                let mut raw = std::mem::take(&mut self.exec.threads[thread].input);
                let error_output = error.output();
                let caught = (|| -> Result<Value, StateError> {
                    let context = self.context_if_read(thread);
                    self.assign(thread, catcher.assign.as_ref(), &error_output, &context)?;
                    dataflow::place_in(&catcher.result_path, &mut raw, error_output.clone())?;
                    Ok(raw)
                })();
                match caught {
                    Ok(output) => {
                        self.exited(thread, &output);
                        let next = code.catch_targets[index];
                        self.move_to(thread, next, output);
                    }
                    Err(placement_error) => self.propagate(thread, placement_error),
                }
                return;
            }
        }
        self.propagate(thread, error);
    }

    /// Records the end of a Map iteration (when `parent` is a Map); returns whether it is one.
    fn iteration_ended(&mut self, parent: usize, slot: usize, event: &str, details: &str) -> bool {
        let code = self.code(parent);
        let is_map = matches!(code.state.kind, StateKind::Map(_));
        if is_map {
            self.event(event, details, json!({ "name": code.name, "index": slot }));
        }
        is_map
    }

    /// The thread ends with an error nothing in it handles: its parent state fails, or the execution.
    fn propagate(&mut self, thread: usize, error: StateError) {
        let parent = self.exec.threads[thread].parent;
        self.cancel(thread);
        let Some((parent, slot)) = parent else {
            self.end_execution_failed(&error);
            return;
        };
        let is_map = self.iteration_ended(
            parent,
            slot,
            "MapIterationFailed",
            "mapIterationFailedEventDetails",
        );
        // The other branches or iterations stop: their parent state has failed.
        if let Phase::Children(children) = &self.exec.threads[parent].phase {
            let others: Vec<usize> = children.running.iter().flatten().copied().collect();
            for other in others {
                self.cancel(other);
            }
        }
        self.exec.threads[parent].phase = Phase::Ready;
        self.event(
            if is_map {
                "MapStateFailed"
            } else {
                "ParallelStateFailed"
            },
            "",
            Value::Null,
        );
        self.failed(parent, error);
    }

    /// Ends a thread and everything under it without a result.
    fn cancel(&mut self, thread: usize) {
        self.close_tasks_of(thread);
        if let Phase::Children(children) = &self.exec.threads[thread].phase {
            let running: Vec<usize> = children.running.iter().flatten().copied().collect();
            for child in running {
                self.cancel(child);
            }
        }
        self.retire(thread);
    }

    fn close_tasks_of(&mut self, thread: usize) {
        if let Phase::Task(task) = &self.exec.threads[thread].phase {
            self.effects.closed_tokens.push(task.token.clone());
        }
    }

    fn close_all(&mut self) {
        for thread in 0..self.exec.threads.len() {
            self.close_tasks_of(thread);
            self.retire(thread);
        }
        self.ready.clear();
    }

    fn end_execution_failed(&mut self, error: &StateError) {
        self.exec.status = ExecutionStatus::Failed;
        self.exec.stop_date = Some(self.now);
        self.exec.error = Some(error.into());
        self.event(
            "ExecutionFailed",
            "executionFailedEventDetails",
            json!({ "error": error.error, "cause": error.cause }),
        );
        self.close_all();
    }

    fn abort(&mut self, error: Option<String>, cause: Option<String>) {
        self.exec.status = ExecutionStatus::Aborted;
        self.exec.stop_date = Some(self.now);
        let mut details = Map::new();
        if let Some(error) = &error {
            details.insert("error".into(), json!(error));
        }
        if let Some(cause) = &cause {
            details.insert("cause".into(), json!(cause));
        }
        self.exec.error = Some(FailureInfo {
            error: error.unwrap_or_default(),
            cause: cause.unwrap_or_default(),
        });
        self.event(
            "ExecutionAborted",
            "executionAbortedEventDetails",
            Value::Object(details),
        );
        self.close_all();
    }

    /// Wakes what is due: sleepers, timed-out tasks, and the execution's own deadline.
    fn tick(&mut self) {
        if let Some(deadline) = self.exec.deadline
            && deadline <= self.now
        {
            self.exec.status = ExecutionStatus::TimedOut;
            self.exec.stop_date = Some(self.now);
            let error = StateError::new(
                errors::TIMEOUT,
                "The execution ran longer than its TimeoutSeconds",
            );
            self.exec.error = Some((&error).into());
            self.event(
                "ExecutionTimedOut",
                "executionTimedOutEventDetails",
                json!({ "error": error.error, "cause": error.cause }),
            );
            self.close_all();
            return;
        }
        for thread in 0..self.exec.threads.len() {
            if !self.exec.status.is_open() {
                return;
            }
            match &self.exec.threads[thread].phase {
                Phase::Sleeping { until, retry } if *until <= self.now => {
                    let retry = *retry;
                    self.wake(thread, retry);
                }
                Phase::Task(task) => {
                    let timed_out = task.timeout_at.is_some_and(|t| t <= self.now);
                    let heartbeat_missed = task.heartbeat_at.is_some_and(|t| t <= self.now);
                    if timed_out || heartbeat_missed {
                        let Phase::Task(task) =
                            std::mem::replace(&mut self.exec.threads[thread].phase, Phase::Ready)
                        else {
                            continue;
                        };
                        self.effects.closed_tokens.push(task.token.clone());
                        let error = if timed_out {
                            StateError::new(
                                errors::TIMEOUT,
                                "The task ran longer than its TimeoutSeconds",
                            )
                        } else {
                            StateError::new(
                                errors::HEARTBEAT_TIMEOUT,
                                "The task sent no heartbeat within its HeartbeatSeconds",
                            )
                        };
                        let mut details = resource_details(&task.resource);
                        details["error"] = json!(error.error);
                        details["cause"] = json!(error.cause);
                        self.event("TaskTimedOut", "taskTimedOutEventDetails", details);
                        self.failed(thread, error);
                    }
                }
                _ => {}
            }
        }
    }

    fn wake(&mut self, thread: usize, retry: bool) {
        if retry {
            self.exec.threads[thread].phase = Phase::Ready;
            self.ready.push_back(thread);
            return;
        }
        // A Wait state's time is up: its output is its (processed) input.
        let code = self.code(thread);
        let StateKind::Wait(wait) = &code.state.kind else {
            return;
        };
        let raw = std::mem::take(&mut self.exec.threads[thread].input);
        let context = self.context_if_read(thread);
        let result = (|| -> Result<(), StateError> {
            let selected = dataflow::select(&wait.io.input_path, &raw, "InputPath")?;
            let output =
                dataflow::select(&wait.io.output_path, &selected, "OutputPath")?.into_owned();
            self.assign(thread, wait.assign.as_ref(), &selected, &context)?;
            self.exited(thread, &output);
            match code.next {
                Some(next) => self.move_to(thread, next, output),
                None => self.thread_succeeded(thread, output),
            }
            Ok(())
        })();
        if let Err(error) = result {
            self.failed(thread, error);
        }
    }
}

/// A value as JSON text. Serializing into a byte buffer is much faster than `Value`'s `Display`.
fn json_text(value: &Value) -> String {
    // A `Value` always serializes: its map keys are strings.
    serde_json::to_string(value).unwrap_or_default()
}

fn entered_event(kind: &StateKind) -> &'static str {
    match kind {
        StateKind::Pass(_) => "PassStateEntered",
        StateKind::Task(_) => "TaskStateEntered",
        StateKind::Choice(_) => "ChoiceStateEntered",
        StateKind::Wait(_) => "WaitStateEntered",
        StateKind::Succeed(_) => "SucceedStateEntered",
        StateKind::Fail(_) => "FailStateEntered",
        StateKind::Parallel(_) => "ParallelStateEntered",
        StateKind::Map(_) => "MapStateEntered",
    }
}

fn exited_event(kind: &StateKind) -> &'static str {
    match kind {
        StateKind::Pass(_) => "PassStateExited",
        StateKind::Task(_) => "TaskStateExited",
        StateKind::Choice(_) => "ChoiceStateExited",
        StateKind::Wait(_) => "WaitStateExited",
        StateKind::Succeed(_) => "SucceedStateExited",
        StateKind::Fail(_) => "FailStateExited",
        StateKind::Parallel(_) => "ParallelStateExited",
        StateKind::Map(_) => "MapStateExited",
    }
}

/// Error or Cause of a Fail state.
fn fail_text(
    text: &Option<Text>,
    field: &str,
    raw: &Value,
    scope: &Scope<'_>,
    random: &mut dyn crate::intrinsic::Randomness,
) -> Result<Option<String>, StateError> {
    Ok(match text {
        None => None,
        Some(Text::Literal(s)) => Some(s.clone()),
        Some(Text::Path(path)) => Some(as_text(read_path(path, raw, scope, field)?)),
        Some(Text::Intrinsic(call)) => {
            let template = Template::Intrinsic(call.clone());
            Some(as_text(dataflow::evaluate(&template, raw, scope, random)?))
        }
    })
}

/// IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, in milliseconds.
pub fn retry_delay_millis(retrier: &Retrier, attempt: u64) -> u64 {
    let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
    let seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    let seconds = match retrier.max_delay_seconds {
        Some(max) => seconds.min(max as f64),
        None => seconds,
    };
    let millis = (seconds * 1000.0).round();
    if millis.is_finite() && millis < u64::MAX as f64 {
        millis as u64
    } else {
        u64::MAX / 2
    }
}

fn as_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn iso(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn parse_millis(text: &str) -> Option<i64> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}
