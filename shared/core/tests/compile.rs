//! Every example pipeline compiles to the state machine in its golden file, byte for byte, and every
//! golden file is a definition both this project's engine and the npm asl-validator accept.
//! Regenerate the golden files after a deliberate change with `SLUICE_UPDATE_GOLDEN=1 cargo test -p
//! sluice-core --test compile`, and review them like code.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_core::compile::{CompileOptions, compile};
use sluice_core::pipeline::{PipelineFile, ValidationContext, validate};

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
    use sluice_statemachine::entropy::SeededEntropy;
    use sluice_statemachine::program::Program;
    use sluice_statemachine::run::{self, Event};

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../examples/{example}/pipeline.json"));
    let file = PipelineFile::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let definition = compile(&file.pipeline, &CompileOptions::default());
    let program = Program::new(sluice_statemachine::read(&definition).unwrap());
    let mut entropy = SeededEntropy::new(5);
    let (mut execution, effects) =
        run::start(&program, "arn:sm", "arn:ex", "ex", input, 0, &mut entropy);
    let mut pending = effects.dispatch;
    let mut payloads = Vec::new();
    while let Some(task) = (!pending.is_empty()).then(|| pending.remove(0)) {
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
        payloads.push(payload);
        pending.extend(
            run::apply(&program, &mut execution, event, 0, &mut entropy)
                .unwrap()
                .dispatch,
        );
    }
    (payloads, execution.status, execution.output)
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
    let duplicate = failing_start(sluice_core::dispatcher::DUPLICATE_START_ERROR);
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
    let refused = failing_start(sluice_core::dispatcher::START_FAILED_ERROR);
    let (payloads, status, _) = run_compiled_answering("simple-web-app", rule_input(), &refused);
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(payloads.len(), 1, "no stage is entered: {payloads:?}");
}
