//! Differential test against a second interpreter: every case of `tests/differential/` runs in our engine
//! (the pure `run` module, in virtual time) and in the npm package aws-local-stepfunctions 3.0.0 (through
//! `tests/differential/peer.mjs`, all cases in one node process), and the results must agree.
//!
//! A case is `NAME.asl.json` (definition), `NAME.input.json` (execution input) and, when the machine has
//! Task states, `NAME.tasks.json`: how each resource answers, the same way in both engines (see
//! peer.mjs). A success compares its output; a failure compares its Error and whether a Cause is present,
//! since the two engines word causes differently.
//!
//! Where the peer deviates from AWS, `deviations.json` gives the result AWS documents and why, as
//! `{"NAME": {"aws": {"status": "SUCCEEDED", "output": …} or {"status": "FAILED", "error": {"Error": …,
//! "Cause": … or null}}, "why": "…"}}`: for those cases our engine must give the AWS result and the peer
//! must still differ from it, so the list stays honest. In the `why` texts, "DG page.html" is a page of the
//! Step Functions developer guide (https://docs.aws.amazon.com/step-functions/latest/dg/page.html) and
//! "[SPEC]" the Amazon States Language specification (https://states-language.net/spec.html). Cases where
//! our engine is the one that is wrong wait in `pending/` (not run here), described in `KNOWN_ENGINE_BUGS.md`.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::execution::{ExecutionState, ExecutionStatus};
use sluice_statemachine::program::Program;
use sluice_statemachine::read;
use sluice_statemachine::run::{self, Dispatch, Event};

const STATE_MACHINE_ARN: &str = "arn:aws:states:local:000000000000:stateMachine:test";
const EXECUTION_ARN: &str = "arn:aws:states:local:000000000000:execution:test:one";
/// peer.mjs gives the peer the same execution name and state machine, as its context object.
const EXECUTION_NAME: &str = "one";
/// Virtual time starts on 2023-11-14, so a Wait on a timestamp in 2000 lies in the past.
const START_MILLIS: i64 = 1_700_000_000_000;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

/// How one execution ended, as both engines are compared.
#[derive(Debug, Clone)]
enum Outcome {
    Succeeded(Value),
    /// The error name and whether a cause was given.
    Failed {
        error: String,
        cause: Option<String>,
    },
    /// Anything else (still running, timed out, aborted, refused, panicked): never equal to anything.
    Other(String),
}

impl Outcome {
    /// Reads `{"status": "SUCCEEDED", "output": …}` or `{"status": "FAILED", "error": {"Error", "Cause"}}`.
    fn from_json(value: &Value) -> Outcome {
        match value["status"].as_str() {
            Some("SUCCEEDED") => Outcome::Succeeded(value["output"].clone()),
            Some("FAILED") => Outcome::Failed {
                error: value["error"]["Error"].as_str().unwrap_or("").to_string(),
                cause: value["error"]["Cause"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            },
            _ => Outcome::Other(value.to_string()),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Outcome::Succeeded(output) => json!({"status": "SUCCEEDED", "output": output}),
            Outcome::Failed { error, cause } => {
                json!({"status": "FAILED", "error": {"Error": error, "Cause": cause}})
            }
            Outcome::Other(what) => json!({"status": "OTHER", "what": what}),
        }
    }

    /// Outputs equal as JSON (numbers by value, so 1 and 1.0 agree); failures by Error and by whether a
    /// Cause is present.
    fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Succeeded(a), Outcome::Succeeded(b)) => same_json(a, b),
            (
                Outcome::Failed { error, cause },
                Outcome::Failed {
                    error: other_error,
                    cause: other_cause,
                },
            ) => error == other_error && cause.is_some() == other_cause.is_some(),
            _ => false,
        }
    }
}

fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// How a fake task resource answers (the tasks file of a case; peer.mjs reads the same file).
#[derive(Debug, Clone)]
enum Answer {
    Succeed(Value),
    Echo,
    Fail(String, String),
    /// Fails this many times with the error and cause, then succeeds with the value.
    FailThen(u64, String, String, Value),
}

impl Answer {
    fn from_json(value: &Value) -> Answer {
        let text = |v: &Value| v.as_str().expect("a string").to_string();
        if let Some(output) = value.get("Succeed") {
            Answer::Succeed(output.clone())
        } else if value.get("Echo").is_some() {
            Answer::Echo
        } else if let Some(fail) = value.get("Fail") {
            Answer::Fail(text(&fail["Error"]), text(&fail["Cause"]))
        } else if let Some(then) = value.get("FailThen") {
            Answer::FailThen(
                then["Times"].as_u64().expect("Times"),
                text(&then["Error"]),
                text(&then["Cause"]),
                then["Succeed"].clone(),
            )
        } else {
            panic!("unknown task answer {value}")
        }
    }
}

/// Runs one execution to its end in virtual time, answering tasks by resource.
fn run_ours(definition: &Value, input: Value, answers: &HashMap<String, Answer>) -> Outcome {
    let machine = match read(definition) {
        Ok(machine) => machine,
        Err(problems) => return Outcome::Other(format!("definition refused: {problems}")),
    };
    let program = Program::new(machine);
    let mut entropy = SeededEntropy::new(1);
    let mut now = START_MILLIS;
    let (mut execution, effects) = run::start(
        &program,
        STATE_MACHINE_ARN,
        EXECUTION_ARN,
        EXECUTION_NAME,
        input,
        now,
        &mut entropy,
    );
    let mut pending: Vec<Dispatch> = effects.dispatch;
    let mut calls: HashMap<String, u64> = HashMap::new();
    for _ in 0..100_000 {
        while let Some(task) = pending.pop() {
            let count = calls.entry(task.resource.clone()).or_default();
            *count += 1;
            let Some(answer) = answers.get(&task.resource) else {
                return Outcome::Other(format!("no answer for the resource {}", task.resource));
            };
            let event = match answer.clone() {
                Answer::Succeed(output) => Event::TaskSucceeded {
                    token: task.token,
                    output,
                },
                Answer::Echo => Event::TaskSucceeded {
                    token: task.token,
                    output: task.input,
                },
                Answer::Fail(error, cause) => Event::TaskFailed {
                    token: task.token,
                    error,
                    cause,
                },
                Answer::FailThen(times, error, cause, _) if *count <= times => Event::TaskFailed {
                    token: task.token,
                    error,
                    cause,
                },
                Answer::FailThen(_, _, _, output) => Event::TaskSucceeded {
                    token: task.token,
                    output,
                },
            };
            match run::apply(&program, &mut execution, event, now, &mut entropy) {
                Ok(effects) => pending.extend(effects.dispatch),
                Err(refusal) => return Outcome::Other(format!("task answer refused: {refusal}")),
            }
        }
        if !execution.status.is_open() {
            break;
        }
        let Some(deadline) = run::next_deadline(&execution) else {
            break;
        };
        now = now.max(deadline);
        match run::apply(&program, &mut execution, Event::Tick, now, &mut entropy) {
            Ok(effects) => pending.extend(effects.dispatch),
            Err(refusal) => return Outcome::Other(format!("tick refused: {refusal}")),
        }
    }
    outcome_of(&execution)
}

fn outcome_of(execution: &ExecutionState) -> Outcome {
    match execution.status {
        ExecutionStatus::Succeeded => {
            Outcome::Succeeded(execution.output.clone().unwrap_or(Value::Null))
        }
        ExecutionStatus::Failed => {
            let error = execution
                .error
                .clone()
                .expect("a failed execution has an error");
            Outcome::Failed {
                error: error.error,
                cause: Some(error.cause).filter(|c| !c.is_empty()),
            }
        }
        status => Outcome::Other(format!("ended {} ({:?})", status.name(), execution.error)),
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The cases of the directory, by name, in name order.
fn case_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            file.strip_suffix(".asl.json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn run_case_in_ours(dir: &Path, name: &str) -> Outcome {
    let definition = read_json(&dir.join(format!("{name}.asl.json")));
    let input = read_json(&dir.join(format!("{name}.input.json")));
    let tasks_file = dir.join(format!("{name}.tasks.json"));
    let answers: HashMap<String, Answer> = if tasks_file.exists() {
        read_json(&tasks_file)
            .as_object()
            .expect("a tasks file is an object")
            .iter()
            .map(|(resource, answer)| (resource.clone(), Answer::from_json(answer)))
            .collect()
    } else {
        HashMap::new()
    };
    catch_unwind(AssertUnwindSafe(|| run_ours(&definition, input, &answers))).unwrap_or_else(
        |panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Other(format!("the engine panicked: {message}"))
        },
    )
}

/// Starts peer.mjs on the directory; the caller collects its lines with [`peer_results`].
fn start_peer(dir: &Path) -> std::process::Child {
    let package =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/aws-local-stepfunctions");
    assert!(
        package.join("package.json").exists(),
        "{} is missing: run npm ci (make test does) in the workspace root",
        package.display()
    );
    Command::new("node")
        .arg(dir.join("peer.mjs"))
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node (it must be on PATH): {e}"))
}

fn peer_results(child: std::process::Child) -> BTreeMap<String, Outcome> {
    let output = child.wait_with_output().expect("node ends");
    let stdout = String::from_utf8(output.stdout).expect("peer.mjs prints UTF-8");
    assert!(
        output.status.success(),
        "peer.mjs failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("peer.mjs printed a line that is not JSON ({e}): {line}")
            });
            let name = value["name"].as_str().expect("a name").to_string();
            (name, Outcome::from_json(&value))
        })
        .collect()
}

#[test]
fn our_engine_agrees_with_aws_local_stepfunctions_or_with_aws_where_the_peer_deviates() {
    let dir = cases_dir();
    let peer = start_peer(&dir);

    let names = case_names(&dir);
    assert!(names.len() >= 25, "only {} cases", names.len());
    let ours: Vec<(String, Outcome)> = names
        .iter()
        .map(|name| (name.clone(), run_case_in_ours(&dir, name)))
        .collect();

    let deviations = read_json(&dir.join("deviations.json"));
    let deviations = deviations
        .as_object()
        .expect("deviations.json is an object");
    for (name, deviation) in deviations {
        assert!(
            names.contains(name),
            "deviations.json lists {name}, which is no case"
        );
        assert!(
            deviation["why"].as_str().is_some_and(|why| !why.is_empty()),
            "deviations.json gives no reason for {name}"
        );
    }

    let peer = peer_results(peer);
    let mut mismatches = Vec::new();
    for (name, our) in &ours {
        let Some(their) = peer.get(name) else {
            mismatches.push(format!("{name}: peer.mjs reported nothing"));
            continue;
        };
        match deviations.get(name) {
            Some(deviation) => {
                let aws = Outcome::from_json(&deviation["aws"]);
                if !our.agrees_with(&aws) {
                    mismatches.push(format!(
                        "{name}: our engine differs from the AWS result of deviations.json\n  ours: {}\n  aws:  {}",
                        our.to_json(),
                        aws.to_json()
                    ));
                }
                if their.agrees_with(&aws) {
                    mismatches.push(format!(
                        "{name}: the peer now agrees with AWS, so it is no deviation: remove it from deviations.json\n  peer: {}",
                        their.to_json()
                    ));
                }
            }
            None => {
                if !our.agrees_with(their) {
                    mismatches.push(format!(
                        "{name}: the engines differ\n  ours: {}\n  peer: {}",
                        our.to_json(),
                        their.to_json()
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} disagreement(s) over the {} differential cases:\n{}",
        mismatches.len(),
        names.len(),
        mismatches.join("\n")
    );
}
