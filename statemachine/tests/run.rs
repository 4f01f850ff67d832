//! Executions move as Step Functions moves them: data flow, Choice, Parallel, Map, Wait, Retry and Catch,
//! timeouts and error names, all in virtual time. The examples come from the Step Functions developer
//! guide with their documented results.

use std::collections::HashMap;

use serde_json::{Value, json};
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::execution::{ExecutionState, ExecutionStatus, Phase};
use sluice_statemachine::program::Program;
use sluice_statemachine::read;
use sluice_statemachine::run::{self, Dispatch, Event, Refusal};

/// How a fake task resource answers.
#[derive(Clone)]
enum Answer {
    Succeed(Value),
    Fail(&'static str, &'static str),
    /// Fails this many times with the error, then succeeds with the value.
    FailThen(u32, &'static str, Value),
    /// Never answers.
    Silent,
}

/// Drives one execution in virtual time, answering tasks by resource.
struct Driver {
    program: Program,
    execution: ExecutionState,
    now: i64,
    entropy: SeededEntropy,
    answers: HashMap<String, Answer>,
    calls: HashMap<String, u32>,
    pending: Vec<Dispatch>,
    /// The inputs each resource received, in order.
    received: Vec<(String, Value)>,
}

impl Driver {
    fn start(definition: Value, input: Value, answers: &[(&str, Answer)]) -> Driver {
        Driver::start_seeded(definition, input, answers, 1)
    }

    /// [`Driver::start`] with the entropy (tokens, jitter) seeded by `seed`.
    fn start_seeded(
        definition: Value,
        input: Value,
        answers: &[(&str, Answer)],
        seed: u64,
    ) -> Driver {
        let machine = read(&definition).unwrap_or_else(|e| panic!("{e}"));
        let program = Program::new(machine);
        let mut entropy = SeededEntropy::new(seed);
        let (execution, effects) = run::start(
            &program,
            "arn:aws:states:local:000000000000:stateMachine:test",
            "arn:aws:states:local:000000000000:execution:test:one",
            "one",
            input,
            0,
            &mut entropy,
        );
        let mut driver = Driver {
            program,
            execution,
            now: 0,
            entropy,
            answers: answers
                .iter()
                .map(|(r, a)| (r.to_string(), a.clone()))
                .collect(),
            calls: HashMap::new(),
            pending: effects.dispatch,
            received: Vec::new(),
        };
        driver.settle();
        driver
    }

    fn apply(&mut self, event: Event) -> Result<(), Refusal> {
        let effects = run::apply(
            &self.program,
            &mut self.execution,
            event,
            self.now,
            &mut self.entropy,
        )?;
        self.pending.extend(effects.dispatch);
        Ok(())
    }

    /// Answers every task that has an answer, until nothing more happens now.
    fn settle(&mut self) {
        while let Some(task) = self.pending.pop() {
            self.received
                .push((task.resource.clone(), task.input.clone()));
            let calls = self.calls.entry(task.resource.clone()).or_insert(0);
            *calls += 1;
            let event = match self
                .answers
                .get(&task.resource)
                .cloned()
                .unwrap_or(Answer::Silent)
            {
                Answer::Succeed(output) => Event::TaskSucceeded {
                    token: task.token,
                    output,
                },
                Answer::Fail(error, cause) => Event::TaskFailed {
                    token: task.token,
                    error: error.into(),
                    cause: cause.into(),
                },
                Answer::FailThen(times, error, _) if *calls <= times => Event::TaskFailed {
                    token: task.token,
                    error: error.into(),
                    cause: "try again".into(),
                },
                Answer::FailThen(_, _, output) => Event::TaskSucceeded {
                    token: task.token,
                    output,
                },
                Answer::Silent => continue,
            };
            self.apply(event).expect("the task is waiting");
        }
    }

    /// Moves virtual time to the next deadline and wakes what is due, until the execution ends or
    /// nothing is scheduled.
    fn finish(&mut self) -> &ExecutionState {
        for _ in 0..10_000 {
            self.settle();
            if !self.execution.status.is_open() {
                break;
            }
            let Some(deadline) = run::next_deadline(&self.execution) else {
                break;
            };
            self.now = self.now.max(deadline);
            self.apply(Event::Tick).unwrap();
        }
        &self.execution
    }
}

fn output_of(definition: Value, input: Value, answers: &[(&str, Answer)]) -> Value {
    let mut driver = Driver::start(definition, input, answers);
    let execution = driver.finish().clone();
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error
    );
    execution.output.unwrap()
}

fn failure_of(definition: Value, input: Value, answers: &[(&str, Answer)]) -> (String, String) {
    let mut driver = Driver::start(definition, input, answers);
    let execution = driver.finish().clone();
    assert_eq!(
        execution.status,
        ExecutionStatus::Failed,
        "{:?}",
        execution.output
    );
    let error = execution.error.unwrap();
    (error.error, error.cause)
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction";

#[test]
fn result_path_adds_the_task_result_to_the_input() {
    // Developer guide, "Specifying state output using ResultPath": ResultPath "$.taskresult".
    let definition = json!({"StartAt": "Hello", "States": {"Hello": {"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.taskresult", "End": true}}});
    let input = json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"});
    let output = output_of(
        definition,
        input,
        &[(LAMBDA, Answer::Succeed(json!("Hello, AWS Step Functions!")))],
    );
    assert_eq!(
        output,
        json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions", "taskresult": "Hello, AWS Step Functions!"})
    );
}

#[test]
fn result_path_null_discards_the_result_and_a_deep_path_creates_objects() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": LAMBDA, "ResultPath": null, "Next": "B"},
        "B": {"Type": "Pass", "Result": "deep", "ResultPath": "$.a.b.c", "End": true}}});
    let output = output_of(
        definition,
        json!({"keep": 1}),
        &[(LAMBDA, Answer::Succeed(json!("dropped")))],
    );
    assert_eq!(output, json!({"keep": 1, "a": {"b": {"c": "deep"}}}));
}

#[test]
fn result_selector_then_result_path_as_in_the_guide() {
    // Developer guide, "Filtering state output using ResultSelector" (EMR createCluster example).
    let result = json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112"}, "HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234"}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}});
    let definition = json!({"StartAt": "Create", "States": {"Create": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, "ResultPath": "$.EMROutput", "End": true}}});
    let output = output_of(
        definition,
        json!({"cluster": "c"}),
        &[(
            "arn:aws:states:::elasticmapreduce:createCluster.sync",
            Answer::Succeed(result),
        )],
    );
    assert_eq!(
        output,
        json!({"cluster": "c", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

#[test]
fn input_path_parameters_and_output_path_in_order() {
    // InputPath picks dataset2, Parameters reshape it, OutputPath keeps one member of the result.
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.dataset2",
        "Parameters": {"picked.$": "$.val2", "static": "x", "first.$": "$$.Execution.Name"}, "ResultPath": "$.out", "OutputPath": "$.out", "End": true}}});
    let input = json!({"comment": "Example for InputPath.", "dataset1": {"val1": 1, "val2": 2, "val3": 3}, "dataset2": {"val1": "a", "val2": "b", "val3": "c"}});
    assert_eq!(
        output_of(definition, input, &[]),
        json!({"picked": "b", "static": "x", "first": "one"})
    );
}

#[test]
fn a_definite_path_yields_the_scalar_not_a_list() {
    // `$[0].v` on [{"v":7}] is 7 on AWS (moto answers [7]).
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"first.$": "$[0].v", "all.$": "$[*].v"}, "End": true}}});
    assert_eq!(
        output_of(definition, json!([{"v": 7}, {"v": 8}]), &[]),
        json!({"first": 7, "all": [7, 8]})
    );
}

#[test]
fn a_missing_path_is_a_runtime_error_that_states_all_does_not_catch() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"v.$": "$.missing"}, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let (error, cause) = failure_of(
        definition,
        json!({}),
        &[(LAMBDA, Answer::Succeed(json!(1)))],
    );
    assert_eq!(error, "States.Runtime");
    assert_eq!(
        cause,
        "An error occurred while executing the state 'A' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'v.$' could not be found in the input '{}'"
    );
}

#[test]
fn choice_takes_the_first_matching_rule_and_fails_without_a_match() {
    let definition = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.n", "IsPresent": true}, {"Variable": "$.n", "NumericGreaterThanEquals": 10}], "Next": "Big"},
            {"Variable": "$.n", "NumericLessThan": 10, "Next": "Small"},
            {"Variable": "$.name", "StringMatches": "log-*.txt", "Next": "Log"}]},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true},
        "Log": {"Type": "Pass", "Result": "log", "End": true}}});
    assert_eq!(
        output_of(definition.clone(), json!({"n": 12}), &[]),
        json!("big")
    );
    assert_eq!(
        output_of(definition.clone(), json!({"n": 3}), &[]),
        json!("small")
    );
    // A type mismatch is false, not an error: "3" is no number.
    assert_eq!(
        output_of(
            definition.clone(),
            json!({"n": "3", "name": "log-1.txt"}),
            &[]
        ),
        json!("log")
    );
    let (error, _) = failure_of(definition.clone(), json!({"n": "x", "name": "other"}), &[]);
    assert_eq!(error, "States.NoChoiceMatched");
    // Reading an absent Variable outside IsPresent is an error, not a mismatch (developer guide).
    let (error, cause) = failure_of(definition, json!({"name": "other"}), &[]);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.n"), "{cause}");
}

#[test]
fn parallel_results_come_in_branch_order() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 5, "Next": "SlowDone"}, "SlowDone": {"Type": "Pass", "Result": "slow", "End": true}}},
        {"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Result": "fast", "End": true}}}]}}});
    let mut driver = Driver::start(definition, json!({}), &[]);
    let execution = driver.finish();
    assert_eq!(execution.output, Some(json!(["slow", "fast"])));
    assert_eq!(driver.now, 5_000, "the Wait took five virtual seconds");
}

#[test]
fn a_failing_branch_fails_the_parallel_with_its_own_error_which_catch_sees() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Catch": [{"ErrorEquals": ["Branch.Broke"], "ResultPath": "$.error", "Next": "Handled"}], "Branches": [
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 100, "End": true}}},
            {"StartAt": "Broke", "States": {"Broke": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "on purpose"}}}]},
        "Done": {"Type": "Succeed"},
        "Handled": {"Type": "Pass", "End": true}}});
    let mut driver = Driver::start(definition, json!({"in": 1}), &[]);
    let execution = driver.finish();
    assert_eq!(
        execution.output,
        Some(json!({"in": 1, "error": {"Error": "Branch.Broke", "Cause": "on purpose"}}))
    );
    assert_eq!(
        driver.now, 0,
        "the other branch was stopped, not waited for"
    );
}

#[test]
fn map_runs_each_item_with_its_index_and_value_in_order() {
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "shared.$": "$.shared"},
        "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.value, $.value)", "at.$": "$.index", "shared.$": "$.shared"}, "End": true}}},
        "End": true}}});
    let output = output_of(definition, json!({"items": [1, 2, 3], "shared": "s"}), &[]);
    assert_eq!(
        output,
        json!([{"doubled": 2, "at": 0, "shared": "s"}, {"doubled": 4, "at": 1, "shared": "s"}, {"doubled": 6, "at": 2, "shared": "s"}])
    );
}

#[test]
fn map_concurrency_one_runs_items_one_after_another() {
    let items = json!([1, 2, 3]);
    let body = |concurrency: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": concurrency,
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}, "End": true}}})
    };
    let mut one = Driver::start(body(1), items.clone(), &[]);
    one.finish();
    assert_eq!(one.now, 3_000);
    let mut unlimited = Driver::start(body(0), items, &[]);
    unlimited.finish();
    assert_eq!(unlimited.now, 1_000);
}

#[test]
fn retry_backs_off_by_the_rate_and_caps_at_max_delay() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true,
        "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3, "MaxDelaySeconds": 3}]}}});
    let mut driver = Driver::start(
        definition,
        json!({}),
        &[(LAMBDA, Answer::FailThen(3, "Busy", json!("ok")))],
    );
    let execution = driver.finish().clone();
    assert_eq!(execution.output, Some(json!("ok")));
    // 1 s, then 2 s, then 4 s capped to 3 s.
    assert_eq!(driver.now, 6_000);
    assert_eq!(driver.calls[LAMBDA], 4);
}

#[test]
fn full_jitter_waits_a_random_part_of_each_capped_backoff() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true,
        "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3, "MaxDelaySeconds": 3, "JitterStrategy": "FULL"}]}}});
    let mut totals = Vec::new();
    for seed in 1..=20 {
        let mut driver = Driver::start_seeded(
            definition.clone(),
            json!({}),
            &[(LAMBDA, Answer::FailThen(3, "Busy", json!("ok")))],
            seed,
        );
        assert_eq!(driver.finish().output, Some(json!("ok")));
        assert_eq!(driver.calls[LAMBDA], 4);
        // Without jitter the waits are 1 s, 2 s and 3 s (4 s capped); with it, a part of each.
        assert!(driver.now <= 6_000, "seed {seed}: {} ms", driver.now);
        totals.push(driver.now);
    }
    totals.sort_unstable();
    totals.dedup();
    assert!(totals.len() > 10, "the waits differ by seed: {totals:?}");
}

#[test]
fn exhausted_retries_fall_through_to_catch_with_the_error_output() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "Next": "Done",
              "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}]},
        "Recover": {"Type": "Pass", "Parameters": {"recovered.$": "$.error.Error"}, "End": true},
        "Done": {"Type": "Succeed"}}});
    let mut driver = Driver::start(
        definition,
        json!({"x": 1}),
        &[(LAMBDA, Answer::Fail("Lambda.Unknown", "boom"))],
    );
    let execution = driver.finish().clone();
    assert_eq!(
        execution.output,
        Some(json!({"recovered": "Lambda.Unknown"}))
    );
    assert_eq!(driver.calls[LAMBDA], 2, "one try and one retry");
}

#[test]
fn a_task_that_outlives_its_timeout_fails_with_states_timeout() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 30, "End": true, "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}]},
        "Late": {"Type": "Pass", "End": true}}});
    let mut driver = Driver::start(definition, json!({}), &[(LAMBDA, Answer::Silent)]);
    let execution = driver.finish().clone();
    assert_eq!(
        execution.output,
        Some(
            json!({"Error": "States.Timeout", "Cause": "The task ran longer than its TimeoutSeconds"})
        )
    );
    assert_eq!(driver.now, 30_000);
}

#[test]
fn a_late_answer_to_a_timed_out_task_is_refused() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "TimeoutSeconds": 5,
        "Parameters": {"token.$": "$$.Task.Token"}, "End": true}}});
    let mut driver = Driver::start(definition, json!({}), &[]);
    let token = driver.received[0].1["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43);
    driver.finish();
    assert_eq!(driver.execution.status, ExecutionStatus::Failed);
    assert_eq!(
        driver.apply(Event::TaskSucceeded {
            token,
            output: json!(1)
        }),
        Err(Refusal::TaskClosed)
    );
}

#[test]
fn heartbeats_keep_a_task_alive_until_they_stop() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "HeartbeatSeconds": 10, "End": true}}});
    let mut driver = Driver::start(definition, json!({}), &[]);
    let token = match &driver.execution.threads[0].phase {
        Phase::Task(task) => task.token.clone(),
        other => panic!("{other:?}"),
    };
    for _ in 0..3 {
        driver.now += 9_000;
        driver.apply(Event::Tick).unwrap();
        driver
            .apply(Event::TaskHeartbeat {
                token: token.clone(),
            })
            .unwrap();
    }
    assert!(driver.execution.status.is_open());
    let (error, _) = {
        let execution = driver.finish().clone();
        let error = execution.error.unwrap();
        (error.error, error.cause)
    };
    assert_eq!(error, "States.HeartbeatTimeout");
    assert_eq!(driver.now, 37_000);
}

#[test]
fn the_machine_timeout_ends_the_execution_as_timed_out() {
    let definition = json!({"TimeoutSeconds": 2, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let mut driver = Driver::start(definition, json!({}), &[]);
    let execution = driver.finish();
    assert_eq!(execution.status, ExecutionStatus::TimedOut);
    assert_eq!(driver.now, 2_000);
}

#[test]
fn fail_states_compute_error_and_cause() {
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.kind", "CausePath": "States.Format('stage {} failed', $.stage)"}}});
    let (error, cause) = failure_of(
        definition,
        json!({"kind": "Deploy.Failed", "stage": "Prod"}),
        &[],
    );
    assert_eq!(
        (error.as_str(), cause.as_str()),
        ("Deploy.Failed", "stage Prod failed")
    );
}

#[test]
fn assigned_variables_are_read_by_later_states() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"who.$": "$.name", "fixed": 42}, "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"hello.$": "$who", "n.$": "$fixed"}, "End": true}}});
    assert_eq!(
        output_of(definition, json!({"name": "ada"}), &[]),
        json!({"hello": "ada", "n": 42})
    );
}

#[test]
fn an_output_over_256_kib_is_a_data_limit_error_catch_cannot_stop() {
    let big = "x".repeat(300_000);
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Succeed"}}});
    let (error, _) = failure_of(
        definition,
        json!({}),
        &[(LAMBDA, Answer::Succeed(json!(big)))],
    );
    assert_eq!(error, "States.DataLimitExceeded");
}

#[test]
fn history_records_sfn_event_types_in_order() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let machine = read(&definition).unwrap();
    let program = Program::new(machine);
    let mut entropy = SeededEntropy::new(3);
    let (mut execution, first) = run::start(
        &program,
        "arn:sm",
        "arn:exec",
        "exec",
        json!({}),
        0,
        &mut entropy,
    );
    let token = first.dispatch[0].token.clone();
    let mut events = first.events;
    events.extend(
        run::apply(
            &program,
            &mut execution,
            Event::TaskDispatched {
                token: token.clone(),
            },
            5,
            &mut entropy,
        )
        .unwrap()
        .events,
    );
    events.extend(
        run::apply(
            &program,
            &mut execution,
            Event::TaskSucceeded {
                token,
                output: json!({"r": 1}),
            },
            10,
            &mut entropy,
        )
        .unwrap()
        .events,
    );
    events.extend(
        run::apply(&program, &mut execution, Event::Tick, 1_010, &mut entropy)
            .unwrap()
            .events,
    );
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=9).collect::<Vec<u64>>());
    assert_eq!(
        events[2].details["taskScheduledEventDetails"]["resourceType"],
        "lambda"
    );
}
