//! Every example pipeline compiles to the state machine in its golden file, byte for byte, and every
//! golden file is a definition both this project's engine and the npm asl-validator accept.
//! Regenerate the golden files after a deliberate change with `SLUICE_UPDATE_GOLDEN=1 cargo test -p
//! sluice-core --test compile`, and review them like code.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_core::compile::{CompileOptions, compile};
use sluice_core::pipeline::PipelineFile;
use sluice_core::validate::{ValidationContext, validate};

fn examples() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("pipeline.json").exists())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().join("pipeline.json"),
            )
        })
        .collect();
    found.sort();
    found
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.asl.json"))
}

fn compiled(path: &Path) -> String {
    let file = PipelineFile::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(validate(&file, &ValidationContext::default()).is_empty());
    serde_json::to_string_pretty(&compile(&file.pipeline, &CompileOptions::default())).unwrap()
        + "\n"
}

#[test]
fn every_example_compiles_to_its_golden_file() {
    let update = std::env::var_os("SLUICE_UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (name, path) in examples() {
        let text = compiled(&path);
        let golden = golden(&name);
        if update {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == text => {}
            _ => stale.push(name),
        }
        // Deterministic: compiling again gives the same text.
        assert_eq!(compiled(&path), text);
    }
    assert!(
        stale.is_empty(),
        "the compiled machines of {stale:?} differ from their golden files; if the change is meant, regenerate them with SLUICE_UPDATE_GOLDEN=1"
    );
}

#[test]
fn every_golden_file_is_a_valid_state_machine() {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/.bin/asl-validator");
    assert!(
        bin.exists(),
        "{} is missing: run `npm ci` in the repository root (`make test` does)",
        bin.display()
    );
    let files: Vec<PathBuf> = examples()
        .into_iter()
        .map(|(name, _)| golden(&name))
        .collect();
    assert!(files.len() >= 6);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if let Err(problems) = sluice_statemachine::read_str(&text) {
            panic!("{}: {problems}", file.display());
        }
    }
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(&bin)
                .arg("--json-path")
                .arg(file)
                .output()
                .expect("asl-validator runs")
        })
        .collect();
    for (file, output) in files.iter().zip(children) {
        assert!(
            output.status.success(),
            "asl-validator refuses {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs a compiled pipeline in the embedded engine's core, answering every dispatcher and worker call
/// at once (failing the action named `failing`), and returns the calls in order as "kind stage action".
fn run_compiled(
    example: &str,
    input: serde_json::Value,
    failing: Option<&str>,
) -> (Vec<String>, sluice_statemachine::execution::ExecutionStatus) {
    let (payloads, status, _) = run_compiled_answering(example, input, &|payload| {
        failing
            .filter(|f| payload["action"] == *f)
            .map(|_| ("Action.Failed".to_string(), "exit code 1".to_string()))
    });
    let calls = payloads
        .iter()
        .map(|payload| {
            let text = |key: &str| payload[key].as_str().unwrap_or("").to_string();
            format!("{} {} {}", text("kind"), text("stage"), text("action"))
                .trim_end()
                .to_string()
        })
        .collect();
    (calls, status)
}

/// Runs a compiled pipeline (execution ARN `arn:ex`) in the embedded engine's core, answering each call
/// at once: with the error `fail` gives for its payload, else with success. Returns the payloads in
/// order, the execution's status and its output.
fn run_compiled_answering(
    example: &str,
    input: serde_json::Value,
    fail: &dyn Fn(&serde_json::Value) -> Option<(String, String)>,
) -> (
    Vec<serde_json::Value>,
    sluice_statemachine::execution::ExecutionStatus,
    Option<serde_json::Value>,
) {
    let run = drive(example, input, 5, &mut |payload| fail(payload));
    (
        run.calls.into_iter().map(|(_, payload)| payload).collect(),
        run.status,
        run.output,
    )
}

/// A compiled pipeline's run in virtual time.
struct Driven {
    /// Each call's time (milliseconds since the start) and payload, in order.
    calls: Vec<(i64, serde_json::Value)>,
    status: sluice_statemachine::execution::ExecutionStatus,
    output: Option<serde_json::Value>,
    /// The error the execution failed with, if it failed.
    error: Option<String>,
}

/// Runs a compiled pipeline in the engine's core with jitter from `seed`, answering each call at once as
/// `fail` says, and moving virtual time to the next deadline (a retry's backoff) whenever nothing else
/// is left to do.
fn drive(
    example: &str,
    input: serde_json::Value,
    seed: u64,
    fail: &mut dyn FnMut(&serde_json::Value) -> Option<(String, String)>,
) -> Driven {
    use sluice_statemachine::entropy::SeededEntropy;
    use sluice_statemachine::program::Program;
    use sluice_statemachine::run::{self, Event};

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../examples/{example}/pipeline.json"));
    let file = PipelineFile::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let definition = compile(&file.pipeline, &CompileOptions::default());
    let program = Program::new(sluice_statemachine::read(&definition).unwrap());
    let mut entropy = SeededEntropy::new(seed);
    let mut now = 0;
    let (mut execution, effects) =
        run::start(&program, "arn:sm", "arn:ex", "ex", input, now, &mut entropy);
    let mut pending = effects.dispatch;
    let mut calls = Vec::new();
    for _ in 0..100_000 {
        let Some(task) = (!pending.is_empty()).then(|| pending.remove(0)) else {
            match run::next_deadline(&execution) {
                Some(deadline) if execution.status.is_open() => {
                    now = now.max(deadline);
                    pending.extend(
                        run::apply(&program, &mut execution, Event::Tick, now, &mut entropy)
                            .unwrap()
                            .dispatch,
                    );
                    continue;
                }
                _ => break,
            }
        };
        let payload = task.input["Payload"].clone();
        let event = match fail(&payload) {
            Some((error, cause)) => Event::TaskFailed {
                token: task.token,
                error,
                cause,
            },
            None => Event::TaskSucceeded {
                token: task.token,
                output: serde_json::json!({}),
            },
        };
        calls.push((now, payload));
        pending.extend(
            run::apply(&program, &mut execution, event, now, &mut entropy)
                .unwrap()
                .dispatch,
        );
    }
    Driven {
        calls,
        status: execution.status,
        output: execution.output.clone(),
        error: execution.error.as_ref().map(|e| e.error.clone()),
    }
}

/// Fails the first `times` calls `matching` with `Sluice.Transient`.
fn transient_failures(
    times: usize,
    matching: impl Fn(&serde_json::Value) -> bool,
) -> impl FnMut(&serde_json::Value) -> Option<(String, String)> {
    let mut failed = 0;
    move |payload| {
        (matching(payload) && failed < times).then(|| {
            failed += 1;
            (
                "Sluice.Transient".to_string(),
                "the store is unavailable for now: throttled".to_string(),
            )
        })
    }
}

fn is_call(payload: &serde_json::Value, kind: &str, stage: &str) -> bool {
    payload["kind"] == kind && payload["stage"] == stage
}

/// Every Task state of a definition, nested Parallel branches included, by name.
fn tasks(definition: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut found = Vec::new();
    for (name, state) in definition["States"].as_object().unwrap() {
        match state["Type"].as_str() {
            Some("Task") => found.push((name.clone(), state.clone())),
            Some("Parallel") => {
                for branch in state["Branches"].as_array().unwrap() {
                    found.extend(tasks(branch));
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn every_dispatcher_and_worker_task_retries_transient_failures_before_anything_else() {
    let transient = serde_json::json!({
        "ErrorEquals": ["Sluice.Transient"],
        "IntervalSeconds": 1,
        "BackoffRate": 2.0,
        "MaxAttempts": 8,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL"
    });
    for transport in [
        sluice_core::compile::Transport::Lambda,
        sluice_core::compile::Transport::TestBridge,
    ] {
        let options = CompileOptions {
            transport,
            ..CompileOptions::default()
        };
        for (example, path) in examples() {
            let file = PipelineFile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let tasks = tasks(&compile(&file.pipeline, &options));
            let stages = file.pipeline.stages.len();
            let actions: usize = file.pipeline.stages.iter().map(|s| s.actions.len()).sum();
            // Start and Finish, then per stage Enter, Exit and Failed, and one Task per action.
            assert_eq!(tasks.len(), 2 + 3 * stages + actions, "{example}");
            for (name, task) in tasks {
                assert_eq!(
                    task["Retry"][0], transient,
                    "{example} {transport:?}: {name} retries Sluice.Transient first"
                );
            }
        }
    }
}

#[test]
fn a_step_failing_transiently_is_run_again_after_a_jittered_backoff_and_the_execution_carries_on() {
    use sluice_statemachine::execution::ExecutionStatus;
    let input = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1"});
    let mut seen_waits = Vec::new();
    for seed in 1..=20 {
        let mut fail = transient_failures(3, |p| is_call(p, "StageExit", "Build"));
        let run = drive("simple-web-app", input.clone(), seed, &mut fail);
        assert_eq!(run.status, ExecutionStatus::Succeeded, "seed {seed}");
        let exits: Vec<i64> = run
            .calls
            .iter()
            .filter(|(_, p)| is_call(p, "StageExit", "Build"))
            .map(|(at, _)| *at)
            .collect();
        assert_eq!(exits.len(), 4, "three failures and the try that passed");
        let waits: Vec<i64> = exits.windows(2).map(|w| w[1] - w[0]).collect();
        // FULL jitter: each wait is a random part of 1 s, 2 s, 4 s.
        for (wait, cap) in waits.iter().zip([1_000, 2_000, 4_000]) {
            assert!((0..=cap).contains(wait), "seed {seed}: waits {waits:?}");
        }
        seen_waits.push(waits);
        assert_eq!(
            run.calls
                .iter()
                .filter(|(_, p)| p["kind"] == "StageFailed")
                .count(),
            0,
            "no Catch saw the error"
        );
    }
    seen_waits.sort();
    seen_waits.dedup();
    assert!(seen_waits.len() > 10, "the waits vary: {seen_waits:?}");
}

#[test]
fn a_step_that_keeps_failing_transiently_fails_its_stage_once_the_retries_are_spent() {
    use sluice_statemachine::execution::ExecutionStatus;
    let input = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1"});
    let mut fail = transient_failures(usize::MAX, |p| {
        p["kind"] == "Action" && p["action"] == "Build"
    });
    let run = drive("simple-web-app", input, 7, &mut fail);
    assert_eq!(run.status, ExecutionStatus::Failed);
    assert_eq!(run.error.as_deref(), Some("Sluice.Transient"));
    let tries: Vec<i64> = run
        .calls
        .iter()
        .filter(|(_, p)| p["kind"] == "Action" && p["action"] == "Build")
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(tries.len(), 9, "the first try and 8 retries");
    let longest = tries.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest <= 30_000,
        "no wait is over MaxDelaySeconds: {longest}"
    );
    let (_, failed) = run.calls.last().unwrap();
    assert!(is_call(failed, "StageFailed", "Build"), "{failed}");
    assert_eq!(failed["error"]["Error"], "Sluice.Transient");
}

#[test]
fn a_transient_failure_of_the_start_is_retried_not_taken_for_a_duplicate() {
    use sluice_statemachine::execution::ExecutionStatus;
    let input = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1"});
    let mut fail = transient_failures(2, |p| p["kind"] == "ExecutionStarted");
    let run = drive("simple-web-app", input, 3, &mut fail);
    assert_eq!(run.status, ExecutionStatus::Succeeded);
    assert!(run.output.is_some_and(|o| o.get("error").is_none()));
}

#[test]
fn a_compiled_pipeline_runs_its_stages_in_order_and_its_run_orders_in_turn() {
    use sluice_statemachine::execution::ExecutionStatus;
    let input = serde_json::json!({"pipeline": "MyWebAppPipeline", "pipelineExecutionId": "e-1"});
    let (calls, status) = run_compiled("infrastructure-as-code", input.clone(), None);
    assert_eq!(status, ExecutionStatus::Succeeded);
    let deploy_production: Vec<&String> = calls
        .iter()
        .filter(|c| c.contains("Deploy-Production"))
        .collect();
    assert_eq!(deploy_production.len(), 4, "{calls:?}");
    assert!(deploy_production[0].starts_with("StageEnter"));
    assert!(
        deploy_production[1].starts_with("Action Deploy-Production"),
        "{deploy_production:?}"
    );
    assert!(
        deploy_production[2].starts_with("Action Deploy-Production"),
        "{deploy_production:?}"
    );
    assert_ne!(
        deploy_production[1], deploy_production[2],
        "run order 1, then run order 2"
    );
    assert!(deploy_production[3].starts_with("StageExit"));
    assert_eq!(calls.first().map(String::as_str), Some("ExecutionStarted"));
    assert_eq!(calls.last().map(String::as_str), Some("ExecutionSucceeded"));
}

#[test]
fn a_retried_execution_resumes_at_the_stage_it_names() {
    let input = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1", "resumeFrom": "Deploy-Prod"});
    let (calls, _) = run_compiled("multi-environment", input, None);
    assert_eq!(calls[0], "ExecutionStarted");
    assert_eq!(calls[1], "StageEnter Deploy-Prod");
}

#[test]
fn a_failed_action_is_recorded_by_the_dispatcher_and_fails_the_execution() {
    use sluice_statemachine::execution::ExecutionStatus;
    let input = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1"});
    let (calls, status) = run_compiled("simple-web-app", input, Some("Build"));
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(calls.last().map(String::as_str), Some("StageFailed Build"));
    assert!(!calls.iter().any(|c| c.contains("Deploy")), "{calls:?}");
}

/// What an EventBridge rule's target gives the machine (`sluice_aws::eventbridge::input_template`).
fn rule_input() -> serde_json::Value {
    serde_json::json!({
        "pipeline": "p",
        "pipelineExecutionId": "6f9619ff-8b86-4011-b42d-00c04fc964ff",
        "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:123456789012:rule/sluice-p-nightly"}
    })
}

#[test]
fn the_start_gives_the_dispatcher_the_whole_input_and_the_machines_own_id() {
    use sluice_statemachine::execution::ExecutionStatus;
    let (payloads, status, _) = run_compiled_answering("simple-web-app", rule_input(), &|_| None);
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(payloads[0]["kind"], "ExecutionStarted");
    assert_eq!(
        payloads[0]["input"],
        rule_input(),
        "the trigger reaches the dispatcher"
    );
    assert_eq!(payloads[0]["execution"], "arn:ex");
    // A start without a trigger (StartPipelineExecution's input) still runs: no path is required.
    let plain = serde_json::json!({"pipeline": "p", "pipelineExecutionId": "e-1"});
    let (payloads, status, _) = run_compiled_answering("simple-web-app", plain.clone(), &|_| None);
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(payloads[0]["input"], plain);
}

#[test]
fn a_duplicate_start_ends_the_machine_quietly_and_any_other_start_failure_fails_it() {
    use sluice_statemachine::execution::ExecutionStatus;
    let failing_start = |error: &'static str| {
        move |payload: &serde_json::Value| {
            (payload["kind"] == "ExecutionStarted")
                .then(|| (error.to_string(), "the dispatcher said so".to_string()))
        }
    };
    let duplicate = failing_start(sluice_core::protocol::DUPLICATE_START_ERROR);
    let (payloads, status, output) =
        run_compiled_answering("simple-web-app", rule_input(), &duplicate);
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "a duplicate is no failure"
    );
    assert_eq!(payloads.len(), 1, "nothing after the start: {payloads:?}");
    assert_eq!(
        output.unwrap()["error"]["Error"],
        "Sluice.DuplicateStart",
        "the output says why it ended"
    );
    let refused = failing_start(sluice_core::protocol::START_FAILED_ERROR);
    let (payloads, status, _) = run_compiled_answering("simple-web-app", rule_input(), &refused);
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(payloads.len(), 1, "no stage is entered: {payloads:?}");
}
