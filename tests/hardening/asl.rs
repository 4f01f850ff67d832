//! Amazon States Language: definitions (`sluice asl`, and the engine's own input), reference paths,
//! JSONPath and intrinsic functions never panic.

use proptest::prelude::*;
use sluice_statemachine::intrinsic;
use sluice_statemachine::path::{PathRef, ReferencePath};

use crate::{config, json_value, mutate, text_from};

const DEFINITION: &str = r#"{
  "StartAt": "Pick",
  "States": {
    "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Map"}], "Default": "Done"},
    "Map": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "Next": "Wait"},
    "Wait": {"Type": "Wait", "SecondsPath": "$.w", "Next": "Task"},
    "Task": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"x.$": "States.Format('{}', $.a)"},
             "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
}"#;

const PATH_CHARS: &str = "$.[]*'\"@?()=<>!&|,:-0123456789abcXYZ_ \\";
const INTRINSIC_CHARS: &str = "States.FormatArrayJsonToStringHashUUIDMathAdd(),'{}$.\\ 0123456789-";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn definitions_with_one_value_replaced_never_panic(choice in any::<usize>(), with in json_value()) {
        let definition: serde_json::Value = serde_json::from_str(DEFINITION).unwrap();
        let _ = sluice_statemachine::read_str(&mutate(&definition, choice, with).to_string());
    }

    #[test]
    fn random_definitions_never_panic(value in json_value()) {
        let _ = sluice_statemachine::read_str(&value.to_string());
    }

    #[test]
    fn paths_never_panic(text in text_from(PATH_CHARS, 64)) {
        let _ = PathRef::parse(&text);
        let _ = ReferencePath::parse(&text);
        let _ = PathRef::parse(&format!("$.{text}"));
        let _ = ReferencePath::parse(&format!("$.{text}"));
    }

    #[test]
    fn intrinsics_never_panic(text in text_from(INTRINSIC_CHARS, 96)) {
        let _ = intrinsic::parse(&text);
        let _ = intrinsic::parse(&format!("States.Format({text})"));
    }
}

#[test]
fn the_definition_used_above_is_valid() {
    sluice_statemachine::read_str(DEFINITION).expect("valid");
}

/// Deep nesting in paths and intrinsics is refused or parsed, never a stack overflow.
#[test]
fn deep_nesting_is_not_a_stack_overflow() {
    let deep_call = format!(
        "{}1{}",
        "States.MathAdd(".repeat(20_000),
        ", 1)".repeat(20_000)
    );
    let _ = intrinsic::parse(&deep_call);
    let deep_filter = format!("$.a[?({}@.b{})]", "(".repeat(20_000), ")".repeat(20_000));
    let _ = PathRef::parse(&deep_filter);
}
