//! The corpus of invalid pipelines in `tests/corpus/invalid`: every file is a small valid pipeline with
//! one fault, and `manifest.json` says which rule it breaks, which exception CodePipeline answers with,
//! which names the message must mention, and how many lines `sluice validate` prints for it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sluice_core::problem::Rule;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/invalid");

/// Every exception a line of `sluice validate` may start with.
const EXCEPTIONS: [&str; 8] = [
    "ValidationException",
    "SerializationException",
    "InvalidStructureException",
    "InvalidStageDeclarationException",
    "InvalidActionDeclarationException",
    "InvalidBlockerDeclarationException",
    "InvalidTagsException",
    "TooManyTagsException",
];

/// S6 (a pipeline cannot be renamed) needs UpdatePipeline and an existing pipeline: one file cannot show it.
const RULES_NO_FILE_CAN_SHOW: [&str; 1] = ["S6"];

/// One entry of the manifest.
#[derive(Debug)]
struct Case {
    file: String,
    rule: String,
    exception: String,
    culprit: Vec<String>,
    lines: usize,
    args: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(CORPUS)
        .canonicalize()
        .unwrap_or_else(|e| panic!("corpus directory {CORPUS}: {e}"))
}

fn string(entry: &Value, key: &str, index: usize) -> String {
    entry[key]
        .as_str()
        .unwrap_or_else(|| panic!("manifest entry {index}: '{key}' must be a string: {entry}"))
        .to_string()
}

fn strings(entry: &Value, key: &str, index: usize) -> Vec<String> {
    match entry.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .unwrap_or_else(|| {
                        panic!("manifest entry {index}: '{key}' must list strings: {entry}")
                    })
                    .to_string()
            })
            .collect(),
        Some(_) => panic!("manifest entry {index}: '{key}' must be a list: {entry}"),
    }
}

fn cases() -> Vec<Case> {
    let path = corpus_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let entries = manifest
        .as_array()
        .unwrap_or_else(|| panic!("{} must hold a JSON list", path.display()));
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| Case {
            file: string(entry, "file", index),
            rule: string(entry, "rule", index),
            exception: string(entry, "exception", index),
            culprit: strings(entry, "culprit", index),
            lines: entry["lines"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or_else(|| {
                    panic!("manifest entry {index}: 'lines' must be a count: {entry}")
                }),
            args: strings(entry, "args", index),
        })
        .collect()
}

/// What is wrong with the way `sluice validate` refused a case; empty when it refused it as the
/// manifest says.
fn mismatches(case: &Case, dir: &Path) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("validate")
        .args(&case.args)
        .arg(dir.join(&case.file))
        .current_dir(dir)
        // The cross-region rules depend on the pipeline's Region: no ambient setting may change it.
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("the sluice binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let mut wrong = Vec::new();
    if output.status.code() != Some(1) {
        wrong.push(format!("exit code {:?}, expected 1", output.status.code()));
    }
    if lines.len() != case.lines {
        wrong.push(format!("{} line(s), expected {}", lines.len(), case.lines));
    }
    for line in &lines {
        if !EXCEPTIONS
            .iter()
            .any(|exception| line.starts_with(&format!("{exception}: ")))
        {
            wrong.push(format!(
                "line does not start with a known exception: {line}"
            ));
        }
    }
    let prefix = format!("{}: ", case.exception);
    let named = lines.iter().any(|line| {
        line.starts_with(&prefix) && case.culprit.iter().all(|c| line.contains(c.as_str()))
    });
    if !named {
        wrong.push(format!(
            "no line starts with '{prefix}' and contains all of {:?}",
            case.culprit
        ));
    }
    if wrong.is_empty() {
        return wrong;
    }
    wrong.push(format!("stdout:\n{}", indent(&stdout)));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        wrong.push(format!("stderr:\n{}", indent(&stderr)));
    }
    wrong
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("      {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_invalid_pipeline_is_refused_with_its_exception_and_culprit() {
    let dir = corpus_dir();
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let wrong = mismatches(case, &dir);
            (!wrong.is_empty()).then(|| {
                format!(
                    "{} (rule {}, args {:?}):\n    {}",
                    case.file,
                    case.rule,
                    case.args,
                    wrong.join("\n    ")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} invalid pipelines were not refused as the manifest says:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_manifest_lists_every_corpus_file_and_covers_every_rule() {
    let dir = corpus_dir();
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the corpus has {} cases, expected at least 40",
        cases.len()
    );

    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for case in &cases {
        if !listed.insert(case.file.as_str()) {
            problems.push(format!("{} is listed more than once", case.file));
        }
        if Rule::from_id(&case.rule).is_none() {
            problems.push(format!(
                "{} names an unknown rule '{}'",
                case.file, case.rule
            ));
        }
        if !EXCEPTIONS.contains(&case.exception.as_str()) {
            problems.push(format!(
                "{} names an unknown exception '{}'",
                case.file, case.exception
            ));
        }
        if case.culprit.is_empty() {
            problems.push(format!("{} names no culprit", case.file));
        }
        if case.lines == 0 {
            problems.push(format!("{} expects no output lines", case.file));
        }
    }

    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json") && name != "manifest.json")
        .collect();
    for file in &on_disk {
        if !listed.contains(file.as_str()) {
            problems.push(format!("{file} is in the corpus but not in the manifest"));
        }
    }
    for file in &listed {
        if !on_disk.contains(*file) {
            problems.push(format!("{file} is in the manifest but not in the corpus"));
        }
    }

    let covered: BTreeSet<&str> = cases.iter().map(|case| case.rule.as_str()).collect();
    for rule in Rule::ALL {
        let id = rule.id();
        if !RULES_NO_FILE_CAN_SHOW.contains(&id) && !covered.contains(id) {
            problems.push(format!("no case breaks rule {id}"));
        }
    }

    assert!(
        problems.is_empty(),
        "the corpus manifest is out of step:\n  {}",
        problems.join("\n  ")
    );
}
