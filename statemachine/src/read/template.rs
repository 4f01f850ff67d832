//! Payload templates (Parameters, ResultSelector, ItemSelector, Assign) and the values of their `.$`
//! keys: paths and intrinsic calls, parsed when the definition is read.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::problem::Code;
use super::reader::{Reader, kind, pointer};
use crate::definition::{Call, Template};
use crate::intrinsic;
use crate::path::PathRef;

impl Reader {
    pub(super) fn template_field(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Option<Template> {
        let value = object.get(key)?;
        let field_at = pointer(at, key);
        if key == "Assign" {
            let assigned = self.object(value, &field_at, "'Assign'")?;
            for name in assigned.keys() {
                let variable = name.strip_suffix(".$").unwrap_or(name);
                let valid = variable
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && variable
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    self.schema(
                        pointer(&field_at, name),
                        format!("'{variable}' is not a valid variable name (a letter or _, then letters, digits or _)"),
                    );
                }
            }
        } else if !value.is_object() && key != "Result" {
            self.schema(
                &field_at,
                format!("'{key}' must be an object, not {}", kind(value)),
            );
            return None;
        }
        Some(self.template(value, &field_at))
    }

    fn template(&mut self, value: &Value, at: &str) -> Template {
        match value {
            Value::Object(object) => {
                let mut members = Vec::new();
                let mut seen = HashSet::new();
                for (key, member) in object {
                    let member_at = pointer(at, key);
                    let (name, computed) = match key.strip_suffix(".$") {
                        Some(name) => (name.to_string(), true),
                        None => (key.clone(), false),
                    };
                    if !seen.insert(name.clone()) {
                        self.schema(
                            &member_at,
                            format!("The field '{name}' is given twice (with and without '.$')"),
                        );
                    }
                    let template = if computed {
                        self.computed(member, &member_at, key)
                    } else {
                        self.template(member, &member_at)
                    };
                    members.push((name, template));
                }
                Template::Object(members)
            }
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.template(item, &format!("{at}/{i}")))
                    .collect(),
            ),
            literal => Template::Literal(literal.clone()),
        }
    }

    /// The value of a `.$` key: a path or an intrinsic function call.
    pub(super) fn computed(&mut self, value: &Value, at: &str, key: &str) -> Template {
        let Value::String(text) = value else {
            self.schema(
                at,
                format!(
                    "The value of '{key}' must be a path or an intrinsic function call, not {}",
                    kind(value)
                ),
            );
            return Template::Literal(Value::Null);
        };
        if intrinsic::is_intrinsic_call(text) {
            match intrinsic::parse(text) {
                Ok(call) => match Call::new(call) {
                    Ok(call) => Template::Intrinsic(call),
                    Err((path, e)) => {
                        self.problem(
                            Code::InvalidJsonPath,
                            at,
                            format!("'{path}' in '{text}' is not a valid path: {e}"),
                        );
                        Template::Literal(Value::Null)
                    }
                },
                Err(e) => {
                    self.problem(
                        Code::InvalidIntrinsicFunction,
                        at,
                        format!("'{text}' is not a valid intrinsic function call: {e}"),
                    );
                    Template::Literal(Value::Null)
                }
            }
        } else if text.starts_with('$') {
            match PathRef::parse(text) {
                Ok(path) => Template::Path(path),
                Err(e) => {
                    self.problem(
                        Code::InvalidJsonPath,
                        at,
                        format!("'{text}' is not a valid path: {e}"),
                    );
                    Template::Literal(Value::Null)
                }
            }
        } else {
            self.schema(at, format!("The value of '{key}' must be a path (starting with $) or an intrinsic function call (States.…), not '{text}'"));
            Template::Literal(Value::Null)
        }
    }
}
