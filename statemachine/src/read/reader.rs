//! The reader's state (the problems found, the state names seen) and its readers of plain JSON fields,
//! each of which reports a field of the wrong type or range as a problem at its pointer.

use serde_json::{Map, Value};

use super::problem::{Code, Problem};

#[derive(Default)]
pub(super) struct Reader {
    pub(super) problems: Vec<Problem>,
    /// Every state name with the pointer of its declaration, across all flows.
    pub(super) names: Vec<(String, String)>,
}

pub(super) fn pointer(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Reader {
    pub(super) fn problem(
        &mut self,
        code: Code,
        at: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            code,
            at: at.into(),
            message: message.into(),
        });
    }

    pub(super) fn schema(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.problem(Code::SchemaValidationFailed, at, message);
    }

    pub(super) fn object<'v>(
        &mut self,
        value: &'v Value,
        at: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.schema(at, format!("{what} must be an object, not {}", kind(other)));
                None
            }
        }
    }

    pub(super) fn known_fields(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        allowed: &[&[&str]],
        what: &str,
    ) {
        for key in object.keys() {
            if !allowed.iter().any(|list| list.contains(&key.as_str())) {
                self.schema(pointer(at, key), format!("{what} has no field '{key}'"));
            }
        }
    }

    pub(super) fn string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<String> {
        match object.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.schema(
                    pointer(at, key),
                    format!("'{key}' must be a string, not {}", kind(other)),
                );
                None
            }
        }
    }

    pub(super) fn required_string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
        what: &str,
    ) -> Option<String> {
        if !object.contains_key(key) {
            self.schema(at, format!("{what} must have '{key}'"));
            return None;
        }
        self.string(object, key, at)
    }

    /// A non-negative integer no larger than `max`, or at least 1 when `positive`.
    pub(super) fn integer(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
        positive: bool,
        max: u64,
    ) -> Option<u64> {
        let value = object.get(key)?;
        let low = u64::from(positive);
        match value.as_u64() {
            Some(n) if n >= low && n <= max => Some(n),
            _ => {
                let range = if positive {
                    "a positive integer"
                } else {
                    "an integer of at least 0"
                };
                self.schema(
                    pointer(at, key),
                    format!("'{key}' must be {range} no larger than {max}, not {value}"),
                );
                None
            }
        }
    }

    pub(super) fn boolean(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<bool> {
        match object.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.schema(
                    pointer(at, key),
                    format!("'{key}' must be true or false, not {}", kind(other)),
                );
                None
            }
        }
    }

    /// Which of two fields that exclude each other the object has, if either; both is a problem.
    pub(super) fn either<'k>(
        &mut self,
        object: &Map<String, Value>,
        first: &'k str,
        second: &'k str,
        at: &str,
        what: &str,
    ) -> Result<Option<&'k str>, ()> {
        match (object.contains_key(first), object.contains_key(second)) {
            (true, true) => {
                self.schema(
                    at,
                    format!("{what} may have '{first}' or '{second}', not both"),
                );
                Err(())
            }
            (true, false) => Ok(Some(first)),
            (false, true) => Ok(Some(second)),
            (false, false) => Ok(None),
        }
    }

    /// The objects of an array field (Retry, Catch), each with its index and pointer; a field that is
    /// not an array, and members that are not objects, are problems.
    pub(super) fn objects<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        key: &str,
        at: &str,
        what: &str,
    ) -> Vec<(usize, String, &'v Map<String, Value>)> {
        let Some(value) = object.get(key) else {
            return Vec::new();
        };
        let field_at = pointer(at, key);
        let Value::Array(items) = value else {
            self.schema(
                &field_at,
                format!("'{key}' must be an array, not {}", kind(value)),
            );
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let item_at = format!("{field_at}/{i}");
                self.object(item, &item_at, what).map(|o| (i, item_at, o))
            })
            .collect()
    }
}
