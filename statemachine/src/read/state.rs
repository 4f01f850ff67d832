//! One state: its type, the fields that type allows, and the reader of each type's own fields, which
//! takes the shared ones from [`Reader::shared`].

use serde_json::{Map, Value};

use super::MAX_SECONDS;
use super::choice::is_timestamp;
use super::problem::Code;
use super::reader::{Reader, kind, pointer};
use super::shared::SharedField::{self, *};
use crate::definition::*;

/// The fields every state has, whatever its type.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// What a state of one type may have besides [`COMMON`]: the shared fields, read by
/// [`Reader::shared`], and its own, read by its type's reader below.
struct StateType {
    name: &'static str,
    shared: &'static [SharedField],
    own: &'static [&'static str],
}

const PASS: StateType = StateType {
    name: "Pass",
    shared: &[Io, Parameters, ResultPath, Assign, Transition],
    own: &["Result"],
};
const TASK: StateType = StateType {
    name: "Task",
    shared: &[
        Retry,
        Catch,
        Io,
        Parameters,
        ResultSelector,
        ResultPath,
        Assign,
        Transition,
    ],
    own: &[
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
    ],
};
const CHOICE: StateType = StateType {
    name: "Choice",
    shared: &[Io, Assign],
    own: &["Choices", "Default"],
};
const WAIT: StateType = StateType {
    name: "Wait",
    shared: &[Io, Assign, Transition],
    own: &["Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
};
const SUCCEED: StateType = StateType {
    name: "Succeed",
    shared: &[Io],
    own: &[],
};
const FAIL: StateType = StateType {
    name: "Fail",
    shared: &[],
    own: &["Error", "ErrorPath", "Cause", "CausePath"],
};
const PARALLEL: StateType = StateType {
    name: "Parallel",
    shared: &[
        Retry,
        Catch,
        Io,
        Parameters,
        ResultSelector,
        ResultPath,
        Assign,
        Transition,
    ],
    own: &["Branches"],
};
/// A Map's `Parameters` is the older name of its ItemSelector, so it is the Map's own field here.
const MAP: StateType = StateType {
    name: "Map",
    shared: &[
        Retry,
        Catch,
        Io,
        ResultSelector,
        ResultPath,
        Assign,
        Transition,
    ],
    own: &[
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "ItemProcessor",
        "Iterator",
        "MaxConcurrency",
        "MaxConcurrencyPath",
    ],
};
const STATE_TYPES: [&StateType; 8] = [
    &PASS, &TASK, &CHOICE, &WAIT, &SUCCEED, &FAIL, &PARALLEL, &MAP,
];
/// Distributed Map fields: refused with a clear message rather than ignored.
const DISTRIBUTED_MAP_FIELDS: &[&str] = &[
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
];

impl Reader {
    pub(super) fn state(
        &mut self,
        value: &Value,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<State> {
        let object = self.object(value, at, "A state")?;
        let type_name = self.required_string(object, "Type", at, "A state")?;
        self.query_language(object, at);
        let comment = self.string(object, "Comment", at);
        let Some(state_type) = STATE_TYPES.into_iter().find(|t| t.name == type_name) else {
            self.schema(
                pointer(at, "Type"),
                format!("'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map, not '{type_name}'"),
            );
            return None;
        };
        if type_name == "Map" {
            for field in DISTRIBUTED_MAP_FIELDS {
                if object.contains_key(*field) {
                    self.problem(
                        Code::Unsupported,
                        pointer(at, field),
                        format!("'{field}' belongs to a distributed Map, which is not supported yet; only inline Map runs"),
                    );
                }
            }
        }
        let mut allowed: Vec<&[&str]> = vec![COMMON, state_type.own];
        allowed.extend(state_type.shared.iter().map(|field| field.keys()));
        if type_name == "Map" {
            allowed.push(DISTRIBUTED_MAP_FIELDS);
        }
        self.known_fields(object, at, &allowed, &format!("A {type_name} state"));
        let before = self.problems.len();
        let kind = match type_name.as_str() {
            "Pass" => self.pass(object, at, edges, terminal).map(StateKind::Pass),
            "Task" => self.task(object, at, edges, terminal).map(StateKind::Task),
            "Choice" => self
                .choice(object, at, edges, terminal)
                .map(StateKind::Choice),
            "Wait" => self.wait(object, at, edges, terminal).map(StateKind::Wait),
            "Succeed" => {
                *terminal = true;
                let shared = self.shared(object, at, SUCCEED.shared, edges, terminal);
                Some(StateKind::Succeed(Succeed { io: shared.io }))
            }
            "Fail" => {
                *terminal = true;
                self.fail(object, at).map(StateKind::Fail)
            }
            "Parallel" => self
                .parallel(object, at, edges, terminal)
                .map(StateKind::Parallel),
            _ => self.map(object, at, edges, terminal).map(StateKind::Map),
        };
        if self.problems.len() > before {
            return None;
        }
        Some(State {
            comment,
            kind: kind?,
        })
    }

    fn pass(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Pass> {
        let result = object.get("Result").cloned();
        let shared = self.shared(object, at, PASS.shared, edges, terminal);
        Some(Pass {
            io: shared.io,
            parameters: shared.parameters,
            result,
            result_path: shared.result_path,
            assign: shared.assign,
            transition: shared.transition?,
        })
    }

    fn task(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Task> {
        let resource = self.required_string(object, "Resource", at, "A Task state");
        if let Some(resource) = &resource
            && !resource.starts_with("arn:")
        {
            self.schema(
                pointer(at, "Resource"),
                format!("'Resource' must be an ARN, not '{resource}'"),
            );
        }
        let timeout = self.seconds(object, "TimeoutSeconds", "TimeoutSecondsPath", at);
        let heartbeat = self.seconds(object, "HeartbeatSeconds", "HeartbeatSecondsPath", at);
        if let (Some(Seconds::Fixed(timeout)), Some(Seconds::Fixed(heartbeat))) =
            (&timeout, &heartbeat)
            && heartbeat >= timeout
        {
            self.schema(
                pointer(at, "HeartbeatSeconds"),
                format!("'HeartbeatSeconds' ({heartbeat}) must be smaller than 'TimeoutSeconds' ({timeout})"),
            );
        }
        let shared = self.shared(object, at, TASK.shared, edges, terminal);
        Some(Task {
            io: shared.io,
            resource: resource?,
            parameters: shared.parameters,
            result_selector: shared.result_selector,
            result_path: shared.result_path,
            retry: shared.retry,
            catch: shared.catch,
            timeout,
            heartbeat,
            assign: shared.assign,
            transition: shared.transition?,
        })
    }

    fn seconds(
        &mut self,
        object: &Map<String, Value>,
        fixed: &str,
        path: &str,
        at: &str,
    ) -> Option<Seconds> {
        let chosen = self.either(object, fixed, path, at, "A state").ok()??;
        if chosen == fixed {
            return self
                .integer(object, fixed, at, true, MAX_SECONDS)
                .map(Seconds::Fixed);
        }
        match &object[path] {
            Value::String(text) => self
                .reference(text, &pointer(at, path), path)
                .map(Seconds::Path),
            other => {
                self.schema(
                    pointer(at, path),
                    format!("'{path}' must be a path, not {}", kind(other)),
                );
                None
            }
        }
    }

    fn choice(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Choice> {
        let (default, choices) = self.choice_branches(object, at, edges);
        let shared = self.shared(object, at, CHOICE.shared, edges, terminal);
        Some(Choice {
            io: shared.io,
            choices,
            default,
            assign: shared.assign,
        })
    }

    fn wait(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Wait> {
        let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .into_iter()
            .filter(|k| object.contains_key(*k))
            .collect();
        let until = match given.as_slice() {
            ["Seconds"] => self
                .integer(object, "Seconds", at, false, MAX_SECONDS)
                .map(WaitFor::Seconds),
            ["Timestamp"] => match self.string(object, "Timestamp", at) {
                Some(stamp) if is_timestamp(&stamp) => Some(WaitFor::Timestamp(stamp)),
                Some(stamp) => {
                    self.schema(pointer(at, "Timestamp"), format!("'Timestamp' must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z, not '{stamp}'"));
                    None
                }
                None => None,
            },
            [field @ ("SecondsPath" | "TimestampPath")] => {
                let text = self.string(object, field, at)?;
                let path = self.reference(&text, &pointer(at, field), field)?;
                Some(if *field == "SecondsPath" {
                    WaitFor::SecondsPath(path)
                } else {
                    WaitFor::TimestampPath(path)
                })
            }
            _ => {
                self.schema(at, format!(
                    "A Wait state must have exactly one of Seconds, Timestamp, SecondsPath, TimestampPath; it has {}",
                    if given.is_empty() { "none".to_string() } else { given.join(", ") }
                ));
                None
            }
        };
        let shared = self.shared(object, at, WAIT.shared, edges, terminal);
        Some(Wait {
            io: shared.io,
            until: until?,
            assign: shared.assign,
            transition: shared.transition?,
        })
    }

    fn fail(&mut self, object: &Map<String, Value>, at: &str) -> Option<Fail> {
        let error = self.fail_text(object, "Error", "ErrorPath", at);
        if let Some(Text::Literal(name)) = &error
            && name.starts_with("States.")
        {
            self.schema(
                pointer(at, "Error"),
                format!(
                    "'{name}': error names starting with 'States.' are reserved for Step Functions"
                ),
            );
        }
        let cause = self.fail_text(object, "Cause", "CausePath", at);
        Some(Fail { error, cause })
    }

    fn fail_text(
        &mut self,
        object: &Map<String, Value>,
        literal: &str,
        computed: &str,
        at: &str,
    ) -> Option<Text> {
        let chosen = self
            .either(object, literal, computed, at, "A Fail state")
            .ok()??;
        if chosen == literal {
            return self.string(object, literal, at).map(Text::Literal);
        }
        match self.computed(&object[computed], &pointer(at, computed), computed) {
            Template::Path(path) => Some(Text::Path(path)),
            Template::Intrinsic(call) => Some(Text::Intrinsic(call)),
            _ => None,
        }
    }

    fn parallel(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Parallel> {
        let branches_at = pointer(at, "Branches");
        let mut branches = Vec::new();
        match object.get("Branches") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{branches_at}/{i}");
                    if let Some(branch) = self.object(item, &item_at, "A branch") {
                        self.known_fields(
                            branch,
                            &item_at,
                            &[&["StartAt", "States", "Comment", "QueryLanguage"]],
                            "A branch",
                        );
                        if let Some(flow) = self.flow(branch, &item_at) {
                            branches.push(flow);
                        }
                    }
                }
            }
            Some(_) => self.schema(
                &branches_at,
                "'Branches' must be a non-empty array of {StartAt, States}",
            ),
            None => self.schema(at, "A Parallel state must have 'Branches'"),
        }
        let shared = self.shared(object, at, PARALLEL.shared, edges, terminal);
        Some(Parallel {
            io: shared.io,
            branches,
            parameters: shared.parameters,
            result_selector: shared.result_selector,
            result_path: shared.result_path,
            retry: shared.retry,
            catch: shared.catch,
            assign: shared.assign,
            transition: shared.transition?,
        })
    }

    fn map(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<MapState> {
        let processor_key =
            match self.either(object, "ItemProcessor", "Iterator", at, "A Map state") {
                Ok(Some(key)) => Some(key),
                Ok(None) => {
                    self.schema(at, "A Map state must have 'ItemProcessor'");
                    None
                }
                Err(()) => None,
            };
        let processor = processor_key.and_then(|key| {
            let processor_at = pointer(at, key);
            let processor = self.object(&object[key], &processor_at, &format!("'{key}'"))?;
            self.known_fields(
                processor,
                &processor_at,
                &[&[
                    "StartAt",
                    "States",
                    "Comment",
                    "ProcessorConfig",
                    "QueryLanguage",
                ]],
                &format!("'{key}'"),
            );
            if let Some(config) = processor.get("ProcessorConfig") {
                let config_at = pointer(&processor_at, "ProcessorConfig");
                if let Some(config) = self.object(config, &config_at, "'ProcessorConfig'") {
                    self.known_fields(
                        config,
                        &config_at,
                        &[&["Mode", "ExecutionType"]],
                        "'ProcessorConfig'",
                    );
                    match self.string(config, "Mode", &config_at).as_deref() {
                        None | Some("INLINE") => {}
                        Some("DISTRIBUTED") => self.problem(
                            Code::Unsupported,
                            pointer(&config_at, "Mode"),
                            "a distributed Map is not supported yet; only INLINE runs",
                        ),
                        Some(other) => self.schema(
                            pointer(&config_at, "Mode"),
                            format!("'Mode' must be INLINE or DISTRIBUTED, not '{other}'"),
                        ),
                    }
                }
            }
            self.flow(processor, &processor_at)
        });
        let item_selector =
            match self.either(object, "ItemSelector", "Parameters", at, "A Map state") {
                Ok(Some(key)) => self.template_field(object, key, at),
                _ => None,
            };
        let items_path = match object.get("ItemsPath") {
            None => None,
            Some(Value::String(text)) => {
                self.reference(text, &pointer(at, "ItemsPath"), "ItemsPath")
            }
            Some(other) => {
                self.schema(
                    pointer(at, "ItemsPath"),
                    format!("'ItemsPath' must be a reference path, not {}", kind(other)),
                );
                None
            }
        };
        let max_concurrency = match self.either(
            object,
            "MaxConcurrency",
            "MaxConcurrencyPath",
            at,
            "A Map state",
        ) {
            Ok(Some("MaxConcurrency")) => Concurrency::Fixed(
                self.integer(object, "MaxConcurrency", at, false, MAX_SECONDS)
                    .unwrap_or(0),
            ),
            Ok(Some(key)) => match &object[key] {
                Value::String(text) => self
                    .reference(text, &pointer(at, key), key)
                    .map_or(Concurrency::Fixed(0), Concurrency::Path),
                other => {
                    self.schema(
                        pointer(at, key),
                        format!("'{key}' must be a path, not {}", kind(other)),
                    );
                    Concurrency::Fixed(0)
                }
            },
            _ => Concurrency::Fixed(0),
        };
        let shared = self.shared(object, at, MAP.shared, edges, terminal);
        Some(MapState {
            io: shared.io,
            items_path,
            item_selector,
            processor: processor?,
            max_concurrency,
            result_selector: shared.result_selector,
            result_path: shared.result_path,
            retry: shared.retry,
            catch: shared.catch,
            assign: shared.assign,
            transition: shared.transition?,
        })
    }
}
