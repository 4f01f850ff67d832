//! Fields that hold paths: InputPath and OutputPath, ResultPath, and the reference paths of other
//! fields (Variable, ItemsPath, the `…Path` fields).

use serde_json::{Map, Value};

use super::problem::Code;
use super::reader::{Reader, kind, pointer};
use crate::definition::{ResultPlacement, Selection};
use crate::path::{PathRef, ReferencePath};

impl Reader {
    pub(super) fn selection(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Selection {
        match object.get(key) {
            None => Selection::All,
            Some(Value::Null) => Selection::Nothing,
            Some(Value::String(text)) if text == "$" => Selection::All,
            Some(Value::String(text)) => match crate::path::Path::parse(text) {
                Ok(path) => Selection::Select(path),
                Err(e) => {
                    self.problem(
                        Code::InvalidJsonPath,
                        pointer(at, key),
                        format!("'{key}' is not a valid path: {e}"),
                    );
                    Selection::All
                }
            },
            Some(other) => {
                self.schema(
                    pointer(at, key),
                    format!("'{key}' must be a path or null, not {}", kind(other)),
                );
                Selection::All
            }
        }
    }

    pub(super) fn result_placement(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> ResultPlacement {
        match object.get(key) {
            None => ResultPlacement::Replace,
            Some(Value::Null) => ResultPlacement::Discard,
            Some(Value::String(text)) if text == "$" => ResultPlacement::Replace,
            Some(Value::String(text)) => match ReferencePath::parse(text) {
                Ok(path) => ResultPlacement::At(path),
                Err(e) => {
                    self.problem(
                        Code::InvalidJsonPath,
                        pointer(at, key),
                        format!("'{key}' must be a reference path into the state's input: {e}"),
                    );
                    ResultPlacement::Replace
                }
            },
            Some(other) => {
                self.schema(
                    pointer(at, key),
                    format!(
                        "'{key}' must be a reference path or null, not {}",
                        kind(other)
                    ),
                );
                ResultPlacement::Replace
            }
        }
    }

    /// A field that must name one value: a reference path, into the input, the context or a variable.
    pub(super) fn reference(&mut self, text: &str, at: &str, key: &str) -> Option<PathRef> {
        match PathRef::parse(text) {
            Ok(path) if path.path().is_definite() => Some(path),
            Ok(_) => {
                self.problem(
                    Code::InvalidJsonPath,
                    at,
                    format!("'{key}' must be a reference path that names one value, not '{text}'"),
                );
                None
            }
            Err(e) => {
                self.problem(
                    Code::InvalidJsonPath,
                    at,
                    format!("'{key}' is not a valid path: {e}"),
                );
                None
            }
        }
    }
}
