//! No definition panics the reader, and no accepted definition panics an execution: arbitrary JSON,
//! arbitrary text, and valid definitions with random damage.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::program::Program;
use sluice_statemachine::run::{self, Event};
use sluice_statemachine::{read, read_str};

const KEYS: &[&str] = &[
    "StartAt",
    "States",
    "Type",
    "Next",
    "End",
    "Resource",
    "Parameters",
    "ResultPath",
    "InputPath",
    "OutputPath",
    "ResultSelector",
    "Result",
    "Choices",
    "Default",
    "Variable",
    "StringEquals",
    "NumericGreaterThan",
    "And",
    "Or",
    "Not",
    "IsPresent",
    "Branches",
    "ItemProcessor",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "Retry",
    "Catch",
    "ErrorEquals",
    "MaxAttempts",
    "BackoffRate",
    "IntervalSeconds",
    "Error",
    "Cause",
    "ErrorPath",
    "Assign",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "x.$",
    "A",
    "B",
];

const TEXTS: &[&str] = &[
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Succeed",
    "Fail",
    "Parallel",
    "Map",
    "A",
    "B",
    "$",
    "$.a",
    "$$.Execution.Id",
    "$[0]",
    "$.a[*]",
    "$var",
    "States.ALL",
    "States.Format('{}', $.a)",
    "States.Array($, $$.Map.Item.Value)",
    "arn:aws:states:::lambda:invoke",
    "2026-01-01T00:00:00Z",
    "$..x",
    "$.a[?(@.b > 1)]",
    "States.",
    "$[",
    "\\",
    "",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..100).prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        proptest::sample::select(TEXTS).prop_map(|s| json!(s)),
        "[ -~]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    proptest::sample::select(KEYS).prop_map(str::to_string),
                    inner
                ),
                0..6
            )
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn valid_definitions() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/valid");
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect()
}

/// Replaces one node of `document`, chosen by `pick`, with `replacement`.
fn damage(document: &mut Value, pick: usize, replacement: Value) {
    fn pointers(value: &Value, at: String, all: &mut Vec<String>) {
        all.push(at.clone());
        match value {
            Value::Object(members) => {
                for (key, child) in members {
                    pointers(
                        child,
                        format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                        all,
                    );
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    pointers(child, format!("{at}/{i}"), all);
                }
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    pointers(document, String::new(), &mut all);
    if let Some(target) = document.pointer_mut(&all[pick % all.len()]) {
        *target = replacement;
    }
}

/// Runs an accepted definition a few steps with every task failing, then succeeding, then timing out.
fn exercise(definition: &Value, input: Value) {
    let Ok(machine) = read(definition) else {
        return;
    };
    let program = Program::new(machine);
    let mut entropy = SeededEntropy::new(9);
    let (mut execution, effects) =
        run::start(&program, "arn:sm", "arn:ex", "ex", input, 0, &mut entropy);
    let mut pending = effects.dispatch;
    let mut now = 0;
    for round in 0..50 {
        if !execution.status.is_open() {
            return;
        }
        let event = match pending.pop() {
            Some(task) if round % 3 == 0 => Event::TaskFailed {
                token: task.token,
                error: "E".into(),
                cause: "c".into(),
            },
            Some(task) => Event::TaskSucceeded {
                token: task.token,
                output: json!({"round": round, "items": [1, 2]}),
            },
            None => {
                now = run::next_deadline(&execution)
                    .unwrap_or(now + 1_000)
                    .max(now);
                Event::Tick
            }
        };
        if let Ok(effects) = run::apply(&program, &mut execution, event, now, &mut entropy) {
            pending.extend(effects.dispatch);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_reader(text in "\\PC{0,200}") {
        let _ = read_str(&text);
    }

    #[test]
    fn arbitrary_json_never_panics_the_reader_or_an_execution(definition in any_json(), input in any_json()) {
        let _ = read(&definition);
        exercise(&definition, input);
    }

    #[test]
    fn damaged_valid_definitions_never_panic(
        index in any::<prop::sample::Index>(),
        pick in any::<usize>(),
        replacement in any_json(),
        input in any_json(),
    ) {
        let definitions = valid_definitions();
        let mut definition = index.get(&definitions).clone();
        damage(&mut definition, pick, replacement);
        exercise(&definition, input);
    }
}

#[test]
fn the_valid_corpus_runs_under_the_exerciser() {
    for definition in valid_definitions() {
        assert!(read(&definition).is_ok());
        exercise(
            &definition,
            json!({"items": [1, 2, 3], "n": 3, "name": "bob", "delay": 1, "when": "2026-01-01T00:00:00Z", "flag": false, "result": 1}),
        );
    }
}
