//! The JSON functions: States.StringToJson, States.JsonToString and States.JsonMerge.

use serde_json::Value;

use super::args::{Args, describe};
use super::check::DEEP_MERGE_UNSUPPORTED;
use super::error::IntrinsicError;

/// SPEC "takes a single argument whose Value MUST be a string. The interpreter
/// applies a JSON parser to the Value and returns its parsed JSON form."
pub(super) fn string_to_json(args: &Args) -> Result<Value, IntrinsicError> {
    let text = args.string(0)?;
    serde_json::from_str(text)
        .map_err(|e| args.fail(0, format!("the string is not valid JSON: {e}")))
}

/// SPEC "returns a string which is a JSON text representing the data". This
/// is the compact form, as in the spec's example `{"name":"Foo","year":2020}`.
/// (The guide prints `{\"foo\": \"bar\"}` with a space, which looks like typesetting.)
pub(super) fn json_to_string(args: &Args) -> Result<Value, IntrinsicError> {
    let value = args.get(0)?;
    serde_json::to_string(value)
        .map(Value::String)
        .map_err(|e| args.fail(0, format!("could not serialise the value: {e}")))
}

/// DG "In the shallow mode, if the same key exists in both JSON objects, the
/// latter object's key overrides the same key in the first object", and nested
/// objects are not merged. A key keeps its position from the first object, as
/// `dict.update` and `LinkedHashMap.putAll` both do.
pub(super) fn json_merge(args: &Args) -> Result<Value, IntrinsicError> {
    let first = args.object(0)?;
    let second = args.object(1)?;
    match args.get(2)? {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(args.fail(2, DEEP_MERGE_UNSUPPORTED)),
        v => {
            return Err(args.fail(
                2,
                format!("expected the boolean false, got {}", describe(v)),
            ));
        }
    }
    let mut merged = first.clone();
    for (key, value) in second {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}
