//! Input and output processing exactly as Step Functions does it in JSONPath mode:
//! InputPath → Parameters → (the state's work) → ResultSelector → ResultPath → OutputPath, with payload
//! templates (`.$` keys), the context object (`$$`) and workflow variables (`$name`, set by Assign).
//!
//! Failures carry AWS's error names and a Cause that names the state, the field and the path, as AWS
//! words them ("The JSONPath '$.missing' specified for the field 'v.$' could not be found in the input
//! '{}'").

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::definition::{ResultPlacement, Selection, Template};
use crate::error::{StateError, errors};
use crate::intrinsic::{self, Randomness};
use crate::path::{PathError, PathRef};

/// What a path may read besides the state's input.
pub struct Scope<'a> {
    /// The context object (`$$`): Execution, State, StateMachine, Task, Map.
    pub context: &'a Value,
    /// Workflow variables set by Assign.
    pub variables: &'a Map<String, Value>,
}

/// Reads the value a path names. `field` is the field the path stands in, for the Cause.
pub fn read_path(
    path: &PathRef,
    input: &Value,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Value, StateError> {
    let (document, what) = match path {
        PathRef::Input(_) => (Some(input), "input"),
        PathRef::Context(_) => (Some(scope.context), "context object"),
        PathRef::Variable { name, .. } => (scope.variables.get(name), "variables"),
    };
    let Some(document) = document else {
        return Err(StateError::new(
            errors::RUNTIME,
            format!(
                "The JSONPath '{path}' specified for the field '{field}' refers to a variable that has not been assigned"
            ),
        ));
    };
    let selected = match path {
        PathRef::Input(p) | PathRef::Context(p) => p.select(document),
        PathRef::Variable { path: p, .. } => p.select(document),
    };
    selected.map_err(|e| match e {
        PathError::NotFound { .. } => StateError::new(
            errors::RUNTIME,
            format!(
                "The JSONPath '{path}' specified for the field '{field}' could not be found in the {what} '{}'",
                compact(document)
            ),
        ),
        other => StateError::new(
            errors::RUNTIME,
            format!("The JSONPath '{path}' specified for the field '{field}' could not be read: {other}"),
        ),
    })
}

/// Evaluates a payload template against `input`.
pub fn evaluate(
    template: &Template,
    input: &Value,
    scope: &Scope<'_>,
    random: &mut dyn Randomness,
) -> Result<Value, StateError> {
    evaluate_at(template, input, scope, random, "")
}

fn evaluate_at(
    template: &Template,
    input: &Value,
    scope: &Scope<'_>,
    random: &mut dyn Randomness,
    field: &str,
) -> Result<Value, StateError> {
    match template {
        Template::Literal(value) => Ok(value.clone()),
        Template::Array(items) => items
            .iter()
            .map(|item| evaluate_at(item, input, scope, random, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Template::Object(members) => {
            let mut object = Map::new();
            for (name, member) in members {
                let member_field = match member {
                    Template::Path(_) | Template::Intrinsic(_) => format!("{name}.$"),
                    _ => name.clone(),
                };
                object.insert(
                    name.clone(),
                    evaluate_at(member, input, scope, random, &member_field)?,
                );
            }
            Ok(Value::Object(object))
        }
        Template::Path(path) => read_path(path, input, scope, field),
        Template::Intrinsic(call) => {
            let mut resolve = |text: &str| -> Result<Value, String> {
                let path = call
                    .paths
                    .iter()
                    .find(|(written, _)| written == text)
                    .map(|(_, path)| path)
                    .ok_or_else(|| format!("the path '{text}' was not parsed with its call"))?;
                read_path(path, input, scope, field).map_err(|e| e.cause)
            };
            intrinsic::evaluate(&call.intrinsic, &mut resolve, random).map_err(|e| {
                StateError::new(
                    errors::INTRINSIC_FAILURE,
                    format!("The intrinsic function for the field '{field}' failed: {e}"),
                )
            })
        }
    }
}

/// InputPath or OutputPath: the part of `input` a state works on or passes on, borrowed when it is
/// all of it.
pub fn select<'v>(
    selection: &Selection,
    input: &'v Value,
    field: &str,
) -> Result<Cow<'v, Value>, StateError> {
    match selection {
        Selection::All => Ok(Cow::Borrowed(input)),
        Selection::Nothing => Ok(Cow::Owned(Value::Object(Map::new()))),
        Selection::Select(path) => path
            .select(input)
            .map(Cow::Owned)
            .map_err(|e| selection_error(path, field, input, e)),
    }
}

/// [`select`] on a value the caller gives up: all of it moves. On an error the value comes back.
pub fn select_owned(
    selection: &Selection,
    input: Value,
    field: &str,
) -> Result<Value, (StateError, Value)> {
    match selection {
        Selection::All => Ok(input),
        Selection::Nothing => Ok(Value::Object(Map::new())),
        Selection::Select(path) => match path.select(&input) {
            Ok(selected) => Ok(selected),
            Err(e) => Err((selection_error(path, field, &input, e), input)),
        },
    }
}

fn selection_error(
    path: &crate::path::Path,
    field: &str,
    input: &Value,
    error: PathError,
) -> StateError {
    match error {
        PathError::NotFound { .. } => StateError::new(
            errors::RUNTIME,
            format!(
                "Invalid path '{path}' : The {field} could not be found in the input '{}'",
                compact(input)
            ),
        ),
        other => StateError::new(
            errors::RUNTIME,
            format!("Invalid path '{path}' for the {field}: {other}"),
        ),
    }
}

/// ResultPath: writes the effective result into the raw input, in place. On an error the input is
/// unchanged, so a catcher still sees it.
pub fn place_in(
    placement: &ResultPlacement,
    raw_input: &mut Value,
    result: Value,
) -> Result<(), StateError> {
    match placement {
        ResultPlacement::Replace => {
            *raw_input = result;
            Ok(())
        }
        ResultPlacement::Discard => Ok(()),
        ResultPlacement::At(path) => path.set_in_place(raw_input, result).map_err(|e| {
            StateError::new(
                errors::RESULT_PATH_MATCH_FAILURE,
                format!("Unable to apply ResultPath '{path}' to the state's input: {e}"),
            )
        }),
    }
}

/// A value as the Cause shows it, cut short so a Cause stays readable.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    const LIMIT: usize = 1024;
    if text.len() <= LIMIT {
        text
    } else {
        let mut end = LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }
}
