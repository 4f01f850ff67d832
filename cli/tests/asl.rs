//! `sluice asl validate` and `sluice asl run`: the contract other tests and users rely on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .expect("sluice runs")
}

fn definition(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-asl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const PIPELINE: &str = r#"{"StartAt": "Build", "States": {
  "Build": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"name.$": "$.name"}, "ResultPath": "$.build", "Next": "Approve"},
  "Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"token.$": "$$.Task.Token"}, "ResultPath": "$.approval", "TimeoutSeconds": 5, "Next": "Done"},
  "Done": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('{} built, approved {}', $.build.name, $.approval.ok)"}, "End": true}}}"#;

#[test]
fn validate_prints_valid_or_every_problem_with_its_pointer() {
    let good = definition("good.asl.json", PIPELINE);
    let output = sluice(&["asl", "validate", path(&good)]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "valid\n");
    assert_eq!(output.status.code(), Some(0));

    let bad = definition(
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}}}"#,
    );
    let output = sluice(&["asl", "validate", path(&bad)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere (from state 'A') at /States/A/Next\nUNREACHABLE_STATE: State 'B' is not reachable from StartAt 'A' at /States/B\n"
    );
}

#[test]
fn run_feeds_each_task_its_input_and_prints_the_output() {
    let file = definition("run.asl.json", PIPELINE);
    let output = sluice(&[
        "asl",
        "run",
        path(&file),
        "--input",
        r#"{"name": "web"}"#,
        "--task",
        "Build=cat",
        "--task",
        r#"Approve=echo '{"ok": true}'"#,
    ]);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"greeting\":\"web built, approved true\"}\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn run_reads_input_from_a_file() {
    let file = definition(
        "pass.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    );
    let input = definition("input.json", r#"{"from": "file"}"#);
    let output = sluice(&[
        "asl",
        "run",
        path(&file),
        "--input",
        &format!("@{}", path(&input)),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"from\":\"file\"}\n"
    );
}

#[test]
fn a_failing_command_fails_the_task_with_its_stderr_as_cause() {
    let file = definition("fail.asl.json", PIPELINE);
    let output = sluice(&[
        "asl",
        "run",
        path(&file),
        "--input",
        r#"{"name": "web"}"#,
        "--task",
        "Build=echo 'compiler exploded' >&2; exit 3",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"Error\":\"States.TaskFailed\",\"Cause\":\"compiler exploded\"}\n"
    );
}

#[test]
fn a_state_without_a_task_command_fails_by_name() {
    let file = definition("missing.asl.json", PIPELINE);
    let output = sluice(&[
        "asl",
        "run",
        path(&file),
        "--input",
        r#"{"name": "web"}"#,
        "--task",
        "Build=cat",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("No --task was given for Task state 'Approve'"),
        "{stdout}"
    );
}

#[test]
fn a_refused_definition_or_misuse_exits_2() {
    let bad = definition("empty.asl.json", r#"{"StartAt": "A", "States": {}}"#);
    let output = sluice(&["asl", "run", path(&bad)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SCHEMA_VALIDATION_FAILED"));
    let good = definition("good2.asl.json", PIPELINE);
    assert_eq!(
        sluice(&["asl", "run", path(&good), "--input", "not json"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        sluice(&["asl", "run", path(&good), "--task", "no-equals-sign"])
            .status
            .code(),
        Some(2)
    );
}
