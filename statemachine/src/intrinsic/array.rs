//! The array functions: States.ArrayPartition, ArrayContains, ArrayRange, ArrayGetItem and ArrayUnique
//! (States.Array and States.ArrayLength are one line each in the dispatch).

use std::collections::HashSet;

use serde_json::Value;

use super::MAX_ARRAY_RANGE_ITEMS;
use super::args::Args;
use super::error::IntrinsicError;

/// DG "You must specify a non-zero, positive integer for the second argument"
/// (rounded when it is not an integer). The last chunk may be shorter.
pub(super) fn array_partition(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let size = args.rounded_integer(1)?;
    if size <= 0 {
        return Err(args.fail(
            1,
            format!("the chunk size must be a positive integer, got {size}"),
        ));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        array
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

/// DG "determine if a specific value is present in an array". This is JSON
/// equality: key order in objects does not matter, but 1 and 1.0 are different values.
pub(super) fn array_contains(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let needle = args.get(1)?;
    Ok(Value::Bool(array.iter().any(|item| item == needle)))
}

/// DG "The first argument is the first element of the new array, the second
/// argument is the final element of the new array, and the third argument is the
/// increment value". So the end is inclusive (`(1, 9, 2)` gives `[1,3,5,7,9]`).
/// The step must be non-zero, values are rounded, and the result may hold at most
/// 1000 items. A negative step counts down. A step that moves away from the end
/// gives `[]`, which the guide does not cover.
pub(super) fn array_range(args: &Args) -> Result<Value, IntrinsicError> {
    let start = args.rounded_integer(0)?;
    let end = args.rounded_integer(1)?;
    let step = args.rounded_integer(2)?;
    if step == 0 {
        return Err(args.fail(2, "the step must not be zero"));
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let span = end - start;
    let count = if span != 0 && (span > 0) != (step > 0) {
        0
    } else {
        span / step + 1
    };
    if count > MAX_ARRAY_RANGE_ITEMS as i128 {
        return Err(args.fail(
            2,
            format!(
                "the range would have {count} items, more than the limit of {MAX_ARRAY_RANGE_ITEMS}"
            ),
        ));
    }
    // The values lie between start and end, which are both i64, so they fit.
    Ok(Value::Array(
        (0..count)
            .map(|k| Value::from(i64::try_from(start + k * step).unwrap_or_default()))
            .collect(),
    ))
}

/// DG "returns a specified index's value" (0-based: index 5 of [1..9] is 6). An
/// index outside the array, negative indexes included, is a failure, not null.
/// The guide does not say which; this fails loudly.
pub(super) fn array_get_item(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let index = args.exact_integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| array.get(i))
        .cloned()
        .ok_or_else(|| {
            args.fail(
                1,
                format!(
                    "index {index} is out of range for an array of {} items",
                    array.len()
                ),
            )
        })
}

/// DG "removes duplicate values from an array". The first occurrence of each
/// value stays, in order (`[1,2,3,3,3,3,3,3,4]` gives `[1,2,3,4]`).
pub(super) fn array_unique(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let mut seen = HashSet::with_capacity(array.len());
    Ok(Value::Array(
        array
            .iter()
            .filter(|item| seen.insert(canonical_key(item)))
            .cloned()
            .collect(),
    ))
}

/// A string that is equal for two values exactly when the values are equal as
/// serde_json compares them: object key order is ignored, and 1 and 1.0 differ.
fn canonical_key(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (key, item) in entries {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(item, out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            // -0.0 == 0.0 for serde_json, so both get the same key.
            Value::Number(n) if n.is_f64() && n.as_f64() == Some(0.0) => out.push_str("0.0"),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}
