//! The output contract of `sluice validate` that tests outside this crate rely on: `valid` and 0; one
//! `Exception: message` line per problem and 1; a clear message on stderr and 2 for unreadable input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn validate(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("validate")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sluice runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-exit-codes-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_json_exits_2_naming_the_line_and_column() {
    let dir = scratch("json");
    std::fs::write(
        dir.join("broken.json"),
        "{\n  \"pipeline\": {\n    \"name\": \"p\",,\n  }\n}\n",
    )
    .unwrap();
    let output = validate(&["broken.json"], &dir);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.json"), "{stderr}");
    assert!(
        stderr.contains("not valid JSON at line 3, column 17"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_exits_2_with_the_reason() {
    let dir = scratch("missing");
    let output = validate(&["nowhere.json"], &dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nowhere.json: cannot read the file"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_pipeline_exits_1_with_one_exception_line_per_problem() {
    let dir = scratch("invalid");
    std::fs::write(
        dir.join("one-stage.json"),
        r#"{"pipeline": {"name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
            "artifactStore": {"type": "S3", "location": "bucket"},
            "stages": [{"name": "Source", "actions": [{"name": "S",
              "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
              "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Src"}]}]}]}}"#,
    )
    .unwrap();
    let output = validate(&["one-stage.json"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "InvalidStructureException: Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline\nInvalidStructureException: Pipeline 'p' has only Source actions; at least one stage must contain an action that is not a Source action\n"
    );
}

#[test]
fn the_worst_outcome_decides_the_exit_code_of_several_files() {
    let dir = scratch("mixed");
    std::fs::write(dir.join("list.json"), "[]").unwrap();
    std::fs::write(dir.join("text.json"), "not json").unwrap();
    let output = validate(&["list.json", "text.json"], &dir);
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("list.json: SerializationException: "),
        "{stdout}"
    );
}

#[test]
fn misuse_exits_2() {
    let output = validate(&[], Path::new("."));
    assert_eq!(output.status.code(), Some(2));
}
