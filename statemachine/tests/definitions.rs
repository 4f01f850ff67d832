//! Definitions are read as strictly as the npm asl-validator 4 reads them, and more strictly where AWS is:
//! every invalid definition of the corpus is refused with the expected problem at the expected JSON
//! Pointer, every valid one is read, and asl-validator's own verdict on each file is recorded in the
//! manifest, so the cases where AWS (and this engine) refuse what asl-validator lets through stay visible.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use sluice_statemachine::{read, read_str};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

fn asl_validator() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/.bin/asl-validator");
    assert!(
        bin.exists(),
        "{} is missing: run `npm ci` in the repository root (`make test` does)",
        bin.display()
    );
    bin
}

/// Starts asl-validator on every file at once, then collects whether each was accepted.
fn asl_validator_verdicts(files: &[PathBuf]) -> Vec<bool> {
    let bin = asl_validator();
    let children: Vec<Child> = files
        .iter()
        .map(|file| {
            Command::new(&bin)
                .arg("--json-path")
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("asl-validator starts")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            child
                .wait_with_output()
                .expect("asl-validator ends")
                .status
                .success()
        })
        .collect()
}

#[test]
fn valid_definitions_are_read_and_asl_validator_agrees() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(CORPUS).join("valid"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if let Err(problems) = read_str(&text) {
            panic!("{} was refused: {problems}", file.display());
        }
    }
    let verdicts = asl_validator_verdicts(&files);
    for (file, accepted) in files.iter().zip(verdicts) {
        assert!(accepted, "asl-validator refuses {}", file.display());
    }
}

#[test]
fn invalid_definitions_are_refused_with_the_problem_at_its_json_pointer() {
    let dir = Path::new(CORPUS).join("invalid");
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 40, "{} cases", manifest.len());
    let files: Vec<PathBuf> = manifest
        .iter()
        .map(|case| dir.join(case["file"].as_str().unwrap()))
        .collect();
    let verdicts = asl_validator_verdicts(&files);
    let mut failures = Vec::new();
    for ((case, file), asl_validator_accepts) in manifest.iter().zip(&files).zip(verdicts) {
        let code = case["code"].as_str().unwrap();
        let at = case["at"].as_str().unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        match read_str(&text) {
            Ok(_) => failures.push(format!(
                "{}: accepted, expected {code} at {at}",
                file.display()
            )),
            Err(refused) => {
                let found = refused.0.iter().any(|p| {
                    p.code.name() == code && (p.at == at || (at == "/" && p.at.is_empty()))
                });
                if !found {
                    failures.push(format!(
                        "{}: expected {code} at {at}, got: {refused}",
                        file.display()
                    ));
                }
            }
        }
        let expected = case["asl_validator"].as_str().unwrap() == "accepts";
        if asl_validator_accepts != expected {
            failures.push(format!(
                "{}: asl-validator {} it; the manifest says it {}",
                file.display(),
                if asl_validator_accepts {
                    "accepts"
                } else {
                    "refuses"
                },
                case["asl_validator"]
            ));
        }
        if expected && case.get("note").is_none() {
            failures.push(format!(
                "{}: say in a note why AWS refuses what asl-validator accepts",
                file.display()
            ));
        }
    }
    let listed: Vec<&str> = manifest
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".asl.json") && !listed.contains(&name.as_str()) {
            failures.push(format!("{name} is not in the manifest"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A Task without Resource and a Map without ItemProcessor are still read field by field: their Next
/// counts for the graph (no unreachable state is made up) and their other fields are checked.
#[test]
fn a_state_missing_its_required_field_still_has_its_next_and_its_other_fields_read() {
    for (state, missing) in [
        (
            json!({"Type": "Task", "ResultPath": "x", "Next": "Done"}),
            "A Task state must have 'Resource'",
        ),
        (
            json!({"Type": "Map", "ResultPath": "x", "Next": "Done"}),
            "A Map state must have 'ItemProcessor'",
        ),
    ] {
        let definition =
            json!({"StartAt": "A", "States": {"A": state, "Done": {"Type": "Succeed"}}});
        let refused = read(&definition).expect_err("refused");
        let found: Vec<(&str, &str)> = refused
            .0
            .iter()
            .map(|p| (p.code.name(), p.at.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("SCHEMA_VALIDATION_FAILED", "/States/A"),
                ("INVALID_JSON_PATH", "/States/A/ResultPath")
            ],
            "{refused}"
        );
        assert_eq!(refused.0[0].message, missing);
    }
}
