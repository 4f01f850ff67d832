//! The fields several state types share, read for every state by one reader, [`Reader::shared`]: Retry,
//! Catch, InputPath and OutputPath, Parameters, ResultSelector, ResultPath, Assign, Next and End.

use serde_json::{Map, Value};

use super::BUILTIN_ERRORS;
use super::MAX_SECONDS;
use super::reader::{Reader, kind, pointer};
use crate::definition::{Catcher, Io, Jitter, ResultPlacement, Retrier, Template, Transition};

/// A field, or a pair of fields, that several state types share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SharedField {
    Retry,
    Catch,
    Io,
    Parameters,
    ResultSelector,
    ResultPath,
    Assign,
    Transition,
}

impl SharedField {
    /// The keys of the field in a definition.
    pub(super) fn keys(self) -> &'static [&'static str] {
        match self {
            SharedField::Retry => &["Retry"],
            SharedField::Catch => &["Catch"],
            SharedField::Io => &["InputPath", "OutputPath"],
            SharedField::Parameters => &["Parameters"],
            SharedField::ResultSelector => &["ResultSelector"],
            SharedField::ResultPath => &["ResultPath"],
            SharedField::Assign => &["Assign"],
            SharedField::Transition => &["Next", "End"],
        }
    }
}

/// The shared fields of one state, as read; a field its type does not have keeps its default.
pub(super) struct Shared {
    pub(super) retry: Vec<Retrier>,
    pub(super) catch: Vec<Catcher>,
    pub(super) io: Io,
    pub(super) parameters: Option<Template>,
    pub(super) result_selector: Option<Template>,
    pub(super) result_path: ResultPlacement,
    pub(super) assign: Option<Template>,
    /// `None` when the type has no Next or End, or they are wrong (a problem says so).
    pub(super) transition: Option<Transition>,
}

impl Reader {
    /// Reads the shared fields a state's type has (`fields`), after the reader of that type has read its
    /// own, and always in the order of [`SharedField`], so problems are listed in the same order for
    /// every type. Catchers' targets and then Next go into `edges`; `End` sets `terminal`.
    pub(super) fn shared(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        fields: &[SharedField],
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Shared {
        let has = |field| fields.contains(&field);
        let retry = if has(SharedField::Retry) {
            self.retriers(object, at)
        } else {
            Vec::new()
        };
        let catch = if has(SharedField::Catch) {
            self.catchers(object, at, edges)
        } else {
            Vec::new()
        };
        let io = if has(SharedField::Io) {
            self.io(object, at)
        } else {
            Io::default()
        };
        let parameters = if has(SharedField::Parameters) {
            self.template_field(object, "Parameters", at)
        } else {
            None
        };
        let result_selector = if has(SharedField::ResultSelector) {
            self.template_field(object, "ResultSelector", at)
        } else {
            None
        };
        let result_path = if has(SharedField::ResultPath) {
            self.result_placement(object, "ResultPath", at)
        } else {
            ResultPlacement::Replace
        };
        let assign = if has(SharedField::Assign) {
            self.template_field(object, "Assign", at)
        } else {
            None
        };
        let transition = if has(SharedField::Transition) {
            self.transition(object, at, edges, terminal)
        } else {
            None
        };
        Shared {
            retry,
            catch,
            io,
            parameters,
            result_selector,
            result_path,
            assign,
            transition,
        }
    }

    fn transition(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Transition> {
        let next = self.string(object, "Next", at);
        let end = self.boolean(object, "End", at).unwrap_or(false);
        match (next, end) {
            (Some(_), true) => {
                self.schema(at, "A state cannot have both 'Next' and \"End\": true");
                None
            }
            (Some(next), false) => {
                edges.push((next.clone(), pointer(at, "Next")));
                Some(Transition::Next(next))
            }
            (None, true) => {
                *terminal = true;
                Some(Transition::End)
            }
            (None, false) => {
                if !object.contains_key("Next") {
                    self.schema(at, "A state must have 'Next' or \"End\": true");
                }
                None
            }
        }
    }

    fn io(&mut self, object: &Map<String, Value>, at: &str) -> Io {
        Io {
            input_path: self.selection(object, "InputPath", at),
            output_path: self.selection(object, "OutputPath", at),
        }
    }

    fn error_names(&mut self, object: &Map<String, Value>, at: &str, what: &str) -> Vec<String> {
        let Some(value) = object.get("ErrorEquals") else {
            self.schema(at, format!("A {what} must have 'ErrorEquals'"));
            return Vec::new();
        };
        let field_at = pointer(at, "ErrorEquals");
        let names: Vec<String> = match value {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(name) => Some(name.clone()),
                    other => {
                        self.schema(
                            format!("{field_at}/{i}"),
                            format!("An error name must be a string, not {}", kind(other)),
                        );
                        None
                    }
                })
                .collect(),
            _ => {
                self.schema(
                    &field_at,
                    "'ErrorEquals' must be a non-empty array of error names",
                );
                return Vec::new();
            }
        };
        if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
            self.schema(&field_at, "'States.ALL' must appear alone in 'ErrorEquals'");
        }
        for name in &names {
            if name.starts_with("States.") && !BUILTIN_ERRORS.contains(&name.as_str()) {
                self.schema(&field_at, format!("'{name}' is not an error Step Functions defines; names starting with 'States.' are reserved"));
            }
        }
        names
    }

    fn retriers(&mut self, object: &Map<String, Value>, at: &str) -> Vec<Retrier> {
        let items = self.objects(object, "Retry", at, "A retrier");
        let count = items.len();
        let mut retriers = Vec::new();
        for (i, item_at, retrier) in items {
            self.known_fields(
                retrier,
                &item_at,
                &[&[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ]],
                "A retrier",
            );
            let error_equals = self.error_names(retrier, &item_at, "retrier");
            if error_equals.iter().any(|n| n == "States.ALL") && i + 1 != count {
                self.schema(
                    &item_at,
                    "A retrier with 'States.ALL' must be the last retrier",
                );
            }
            let backoff_rate = match retrier.get("BackoffRate") {
                None => 2.0,
                Some(value) => match value.as_f64() {
                    Some(rate) if rate >= 1.0 => rate,
                    _ => {
                        self.schema(
                            pointer(&item_at, "BackoffRate"),
                            format!("'BackoffRate' must be a number of at least 1.0, not {value}"),
                        );
                        2.0
                    }
                },
            };
            let jitter = match self.string(retrier, "JitterStrategy", &item_at).as_deref() {
                None | Some("NONE") => Jitter::None,
                Some("FULL") => Jitter::Full,
                Some(other) => {
                    self.schema(
                        pointer(&item_at, "JitterStrategy"),
                        format!("'JitterStrategy' must be FULL or NONE, not '{other}'"),
                    );
                    Jitter::None
                }
            };
            retriers.push(Retrier {
                error_equals,
                interval_seconds: self
                    .integer(retrier, "IntervalSeconds", &item_at, true, MAX_SECONDS)
                    .unwrap_or(1),
                max_attempts: self
                    .integer(retrier, "MaxAttempts", &item_at, false, MAX_SECONDS)
                    .unwrap_or(3),
                backoff_rate,
                max_delay_seconds: self.integer(
                    retrier,
                    "MaxDelaySeconds",
                    &item_at,
                    true,
                    MAX_SECONDS,
                ),
                jitter,
            });
        }
        retriers
    }

    fn catchers(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
    ) -> Vec<Catcher> {
        let items = self.objects(object, "Catch", at, "A catcher");
        let count = items.len();
        let mut catchers = Vec::new();
        for (i, item_at, catcher) in items {
            self.known_fields(
                catcher,
                &item_at,
                &[&["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]],
                "A catcher",
            );
            let error_equals = self.error_names(catcher, &item_at, "catcher");
            if error_equals.iter().any(|n| n == "States.ALL") && i + 1 != count {
                self.schema(
                    &item_at,
                    "A catcher with 'States.ALL' must be the last catcher",
                );
            }
            let next = self.required_string(catcher, "Next", &item_at, "A catcher");
            if let Some(next) = &next {
                edges.push((next.clone(), pointer(&item_at, "Next")));
            }
            let result_path = self.result_placement(catcher, "ResultPath", &item_at);
            let assign = self.template_field(catcher, "Assign", &item_at);
            if let Some(next) = next {
                catchers.push(Catcher {
                    error_equals,
                    next,
                    result_path,
                    assign,
                });
            }
        }
        catchers
    }
}
