//! Bad input never panics: arbitrary bytes, arbitrary JSON, and valid pipelines with random damage go
//! through the loader and the structural rules, which must answer with problems, never a crash.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sluice_core::pipeline::PipelineFile;
use sluice_core::validate::{ValidationContext, validate};

fn load_and_validate(text: &str) {
    if let Ok(file) = PipelineFile::from_json(text) {
        let _ = validate(&file, &ValidationContext::default());
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("S3"),
            Just("Source"),
            Just("AWS"),
            Just("#{a.b}"),
            Just("#{"),
            Just("V1"),
            Just("PARALLEL"),
            Just("ROLLBACK")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((member_name(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Member names drawn mostly from the model, so random objects reach deep into the checks.
fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "pipeline",
            "name",
            "roleArn",
            "artifactStore",
            "artifactStores",
            "stages",
            "actions",
            "actionTypeId",
            "category",
            "owner",
            "provider",
            "version",
            "configuration",
            "inputArtifacts",
            "outputArtifacts",
            "runOrder",
            "namespace",
            "region",
            "commands",
            "triggers",
            "gitConfiguration",
            "push",
            "variables",
            "onFailure",
            "conditions",
            "rules",
            "beforeEntry",
            "tags",
            "key",
            "value",
            "type",
            "location",
            "executionMode",
            "pipelineType",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z]{1,6}",
    ]
}

/// One of the example pipelines, with damage done at a random place.
fn damaged_example() -> impl Strategy<Value = Value> {
    let examples = example_pipelines();
    (
        proptest::sample::select(examples),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any_json()), 1..4),
    )
        .prop_map(|(mut document, damages)| {
            for (index, kind, replacement) in damages {
                damage(&mut document, index, kind, replacement);
            }
            document
        })
}

fn damage(document: &mut Value, index: prop::sample::Index, kind: u8, replacement: Value) {
    let mut places = Vec::new();
    collect_places(document, &mut Vec::new(), &mut places);
    let place = index.get(&places).clone();
    let Some(target) = navigate(document, &place) else {
        return;
    };
    match kind {
        0 => *target = replacement,
        1 => {
            if let Value::Object(members) = target
                && let Some(first) = members.keys().next().cloned()
            {
                members.remove(&first);
            }
        }
        2 => {
            if let Value::Array(items) = target
                && let Some(first) = items.first().cloned()
            {
                items.push(first);
            }
        }
        _ => {
            if let Value::Object(members) = target
                && let Some(first) = members.keys().next().cloned()
                && let Some(value) = members.remove(&first)
            {
                members.insert(first.to_lowercase() + "x", value);
            }
        }
    }
}

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect_places(value: &Value, path: &mut Vec<Step>, places: &mut Vec<Vec<Step>>) {
    places.push(path.clone());
    match value {
        Value::Object(members) => {
            for (key, child) in members {
                path.push(Step::Key(key.clone()));
                collect_places(child, path, places);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect_places(child, path, places);
                path.pop();
            }
        }
        _ => {}
    }
}

fn navigate<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut current = value;
    for step in path {
        current = match step {
            Step::Key(key) => current.get_mut(key.as_str())?,
            Step::Index(i) => current.get_mut(*i)?,
        };
    }
    Some(current)
}

fn example_pipelines() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path().join("pipeline.json");
            if let Ok(text) = std::fs::read_to_string(&path) {
                found.push(serde_json::from_str(&text).expect("examples are JSON"));
            }
        }
    }
    // A small pipeline of our own, so the test stands without the examples folder.
    found.push(json!({"pipeline": {
        "name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
            {"name": "Source", "actions": [{"name": "S", "namespace": "SV",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [{"name": "R",
                "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
                "configuration": {"Variable": "#{SV.ETag}", "Value": "x", "Operator": "EQ"}}]}]},
             "actions": [{"name": "B",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p #{SV.VersionId}"}, "inputArtifacts": [{"name": "Src"}]}]}
        ],
        "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "S",
            "push": [{"branches": {"includes": ["main"]}}]}}],
        "variables": [{"name": "V", "defaultValue": "d"}]
    }, "tags": [{"key": "k", "value": "v"}]}));
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        load_and_validate(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        load_and_validate(&value.to_string());
        load_and_validate(&json!({"pipeline": value}).to_string());
    }

    #[test]
    fn damaged_pipelines_never_panic(document in damaged_example()) {
        load_and_validate(&document.to_string());
    }
}

#[test]
fn deeply_nested_json_is_refused_not_overflowed() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert!(PipelineFile::from_json(&deep).is_err());
}
