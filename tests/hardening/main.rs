//! The standing hardening suite: every parser that takes outside input is fed generated inputs, and
//! none may panic (a panic fails the property). `SLUICE_HARDENING_CASES` sets how many inputs each
//! property tries (256 by default; CI runs the default). Each module also keeps the inputs that
//! probing found trouble with, as regressions.

mod approval;
mod archive;
mod asl;
mod buildspec;
mod cbor;
mod pipeline;
mod schedule;
mod sigv4;
mod variables;
mod webhook;

use proptest::prelude::*;

/// The suite's proptest configuration: [`sluice_tests::cases`] cases, no files of failures written
/// into the source tree (a failure prints its minimal input).
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: sluice_tests::cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text drawn mostly from `alphabet` (the characters a parser gives meaning to), with any other
/// character now and then, up to `max` characters.
pub(crate) fn text_from(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    let pick = prop_oneof![
        9 => proptest::sample::select(chars),
        1 => any::<char>(),
    ];
    proptest::collection::vec(pick, 0..max).prop_map(|cs| cs.into_iter().collect())
}

/// Any JSON value, a few levels deep.
pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `document` with the value at one place (picked by `choice`) replaced by `replacement`: inputs that
/// are almost valid reach deeper into a parser than random ones.
pub(crate) fn mutate(
    document: &serde_json::Value,
    choice: usize,
    replacement: serde_json::Value,
) -> serde_json::Value {
    fn places(value: &serde_json::Value) -> usize {
        1 + match value {
            serde_json::Value::Array(items) => items.iter().map(places).sum(),
            serde_json::Value::Object(members) => members.values().map(places).sum(),
            _ => 0,
        }
    }
    fn replace(value: &mut serde_json::Value, index: &mut usize, with: &serde_json::Value) -> bool {
        if *index == 0 {
            *value = with.clone();
            return true;
        }
        *index -= 1;
        match value {
            serde_json::Value::Array(items) => items.iter_mut().any(|v| replace(v, index, with)),
            serde_json::Value::Object(members) => {
                members.values_mut().any(|v| replace(v, index, with))
            }
            _ => false,
        }
    }
    let mut out = document.clone();
    let mut index = choice % places(document);
    replace(&mut out, &mut index, &replacement);
    out
}
