//! The example pipelines are what a newcomer runs first: each must pass `sluice validate` exactly as the
//! README promises, alone and together.

use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .flatten()
        .map(|entry| entry.path().join("pipeline.json"))
        .filter(|path| path.exists())
        .collect();
    files.sort();
    files
}

#[test]
fn the_seed_patterns_the_seed_pipeline_and_a_v2_pipeline_are_all_examples() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| {
            p.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for expected in [
        "simple-web-app",
        "multi-environment",
        "infrastructure-as-code",
        "microservices",
        "seed-mywebapp",
        "v2-triggers",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "examples/{expected} is missing: {names:?}"
        );
    }
}

#[test]
fn each_example_prints_valid_and_exits_zero() {
    for file in examples() {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("validate")
            .arg(&file)
            .output()
            .expect("sluice runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout,
            "valid\n",
            "{}: {stdout}{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0), "{}", file.display());
    }
}

#[test]
fn several_files_are_reported_one_line_each_with_the_file_name_first() {
    let files = examples();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("validate")
        .args(&files)
        .output()
        .expect("sluice runs");
    let expected: String = files
        .iter()
        .map(|f| format!("{}: valid\n", f.display()))
        .collect();
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn render_prints_the_golden_state_machine_of_each_example() {
    for file in examples() {
        let name = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("render")
            .arg(&file)
            .output()
            .expect("sluice runs");
        assert_eq!(output.status.code(), Some(0), "{name}");
        let golden = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/core/tests/golden"
        ))
        .join(format!("{name}.asl.json"));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            std::fs::read_to_string(golden).unwrap(),
            "{name}"
        );
    }
}
