//! Pipeline JSON, as CreatePipeline, UpdatePipeline and `sluice run` take it: load, shape-check and
//! validate never panic, on random documents or on the examples with one value replaced.

use proptest::prelude::*;
use sluice_core::pipeline::PipelineFile;
use sluice_core::validate::{ValidationContext, validate};

use crate::{config, json_value, mutate};

const EXAMPLE: &str = include_str!("../../examples/multi-environment/pipeline.json");

fn check(text: &str) {
    if let Ok(file) = PipelineFile::from_json(text) {
        let _ = validate(&file, &ValidationContext::default());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_documents_never_panic(value in json_value()) {
        check(&value.to_string());
        check(&serde_json::json!({"pipeline": value}).to_string());
    }

    #[test]
    fn the_example_with_one_value_replaced_never_panics(choice in any::<usize>(), with in json_value()) {
        let example: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        check(&mutate(&example, choice, with).to_string());
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }
}

/// JSON nested 100,000 deep is refused, not a stack overflow.
#[test]
fn deeply_nested_json_is_refused() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(PipelineFile::from_json(&deep).is_err());
    let deep_object = format!(
        "{{\"pipeline\":{}1{}}}",
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    assert!(PipelineFile::from_json(&deep_object).is_err());
}
