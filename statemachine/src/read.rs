//! Reading a definition: every field of every state is checked and every problem is kept, each with the
//! JSON Pointer of the field at fault, in the form AWS's CreateStateMachine reports
//! (`MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next`).
//!
//! The checks are at least those of the npm asl-validator 4 (schema, transition targets, reachability,
//! terminal states, Wait's one-of, intrinsic names) and those AWS adds: `States.ALL` alone and last,
//! unique state names across the machine, names of at most 80 characters, operand types of Choice rules,
//! paths and intrinsic calls in `.$` values, HeartbeatSeconds below TimeoutSeconds, reserved error names.

use std::collections::{HashMap, HashSet};
use std::fmt;

use indexmap::IndexMap;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::definition::*;
use crate::intrinsic;
use crate::path::{PathRef, ReferencePath};

/// The longest state name AWS accepts.
pub const MAX_STATE_NAME: usize = 80;
/// The largest TimeoutSeconds, IntervalSeconds or MaxAttempts AWS accepts.
pub const MAX_SECONDS: u64 = 99_999_999;

/// The error names Step Functions defines; a definition may name no other `States.` error.
pub const BUILTIN_ERRORS: &[&str] = &[
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
    "States.BranchFailed",
    "States.QueryEvaluationError",
];

/// The kind of a problem, named as AWS names them in InvalidDefinition messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// JSON that is not valid or not an object.
    InvalidJson,
    /// A field is missing, unknown, of the wrong type, or out of range.
    SchemaValidationFailed,
    /// StartAt, Next, Default or a catcher's Next names no state of its flow.
    MissingTransitionTarget,
    /// No transition leads to a state.
    UnreachableState,
    /// A flow has no state that ends it.
    MissingTerminalState,
    /// Two states share a name.
    DuplicateStateName,
    /// A path does not parse or is not allowed where it stands.
    InvalidJsonPath,
    /// An intrinsic function call does not parse, or names an unknown function, or has the wrong arity.
    InvalidIntrinsicFunction,
    /// A feature Step Functions has that this engine does not run yet.
    Unsupported,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidJson => "INVALID_JSON_DESCRIPTION",
            Code::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            Code::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            Code::UnreachableState => "UNREACHABLE_STATE",
            Code::MissingTerminalState => "MISSING_TERMINAL_STATE",
            Code::DuplicateStateName => "DUPLICATE_STATE_NAME",
            Code::InvalidJsonPath => "INVALID_JSON_PATH",
            Code::InvalidIntrinsicFunction => "INVALID_INTRINSIC_FUNCTION",
            Code::Unsupported => "UNSUPPORTED_FEATURE",
        }
    }
}

/// One problem with a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    /// JSON Pointer of the field at fault (`/States/Build/Retry/0/ErrorEquals`).
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.at.is_empty() { "/" } else { &self.at };
        write!(f, "{}: {} at {at}", self.code.name(), self.message)
    }
}

/// Why a definition was refused: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the state machine definition has {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidDefinition(pub Vec<Problem>);

/// Reads a definition from its JSON text.
pub fn read_str(text: &str) -> Result<StateMachine, InvalidDefinition> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        InvalidDefinition(vec![Problem {
            code: Code::InvalidJson,
            at: String::new(),
            message: format!("the definition is not valid JSON: {e}"),
        }])
    })?;
    read(&value)
}

/// Reads a definition, or lists every problem with it.
pub fn read(value: &Value) -> Result<StateMachine, InvalidDefinition> {
    let mut reader = Reader::default();
    let machine = reader.machine(value);
    reader.unique_names();
    match machine {
        Some(machine) if reader.problems.is_empty() => Ok(machine),
        _ => Err(InvalidDefinition(reader.problems)),
    }
}

/// The fields a state of each type may have.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const PASS_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultPath",
    "Result",
    "Next",
    "End",
    "Assign",
];
const TASK_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Next",
    "End",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Assign",
];
const CHOICE_FIELDS: &[&str] = &["InputPath", "OutputPath", "Choices", "Default", "Assign"];
const WAIT_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Seconds",
    "Timestamp",
    "SecondsPath",
    "TimestampPath",
    "Next",
    "End",
    "Assign",
];
const SUCCEED_FIELDS: &[&str] = &["InputPath", "OutputPath"];
const FAIL_FIELDS: &[&str] = &["Error", "ErrorPath", "Cause", "CausePath"];
const PARALLEL_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Branches",
    "Next",
    "End",
    "Assign",
];
const MAP_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "ItemSelector",
    "Parameters",
    "ItemProcessor",
    "Iterator",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Next",
    "End",
    "Assign",
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

/// The transitions read from one flow, for the graph checks.
#[derive(Default)]
struct Graph {
    /// Per state: the targets it can go to, each with the pointer of the field naming it.
    edges: IndexMap<String, Vec<(String, String)>>,
    /// States that end the flow (End: true, Succeed, Fail).
    terminal: HashSet<String>,
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
    /// Every state name with the pointer of its declaration, across all flows.
    names: Vec<(String, String)>,
}

fn pointer(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn kind(value: &Value) -> &'static str {
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
    fn problem(&mut self, code: Code, at: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            code,
            at: at.into(),
            message: message.into(),
        });
    }

    fn schema(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.problem(Code::SchemaValidationFailed, at, message);
    }

    fn object<'v>(
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

    fn known_fields(
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

    fn string(&mut self, object: &Map<String, Value>, key: &str, at: &str) -> Option<String> {
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

    fn required_string(
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
    fn integer(
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

    fn boolean(&mut self, object: &Map<String, Value>, key: &str, at: &str) -> Option<bool> {
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

    fn machine(&mut self, value: &Value) -> Option<StateMachine> {
        let object = self.object(value, "", "A state machine definition")?;
        self.known_fields(
            object,
            "",
            &[&[
                "StartAt",
                "States",
                "Comment",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ]],
            "A state machine",
        );
        self.query_language(object, "");
        let comment = self.string(object, "Comment", "");
        let version = self.string(object, "Version", "");
        let timeout_seconds = self.integer(object, "TimeoutSeconds", "", true, MAX_SECONDS);
        let flow = self.flow(object, "");
        Some(StateMachine {
            comment,
            flow: flow?,
            timeout_seconds,
            version,
        })
    }

    fn query_language(&mut self, object: &Map<String, Value>, at: &str) {
        if let Some(language) = self.string(object, "QueryLanguage", at) {
            match language.as_str() {
                "JSONPath" => {}
                "JSONata" => self.problem(
                    Code::Unsupported,
                    pointer(at, "QueryLanguage"),
                    "the JSONata query language is not supported yet; use JSONPath",
                ),
                other => self.schema(
                    pointer(at, "QueryLanguage"),
                    format!("'QueryLanguage' must be JSONPath or JSONata, not '{other}'"),
                ),
            }
        }
    }

    /// A `{StartAt, States}` pair: the machine, a branch or a processor.
    fn flow(&mut self, object: &Map<String, Value>, at: &str) -> Option<Flow> {
        let start_at = self.required_string(object, "StartAt", at, "A state machine");
        let Some(states_value) = object.get("States") else {
            self.schema(at, "A state machine must have 'States'");
            return None;
        };
        let states_at = pointer(at, "States");
        let states_object = self.object(states_value, &states_at, "'States'")?;
        if states_object.is_empty() {
            self.schema(&states_at, "'States' must have at least one state");
        }
        let mut graph = Graph::default();
        let mut states = IndexMap::new();
        let mut all_read = true;
        for (name, state_value) in states_object {
            let state_at = pointer(&states_at, name);
            self.names.push((name.clone(), state_at.clone()));
            if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
                self.schema(
                    &state_at,
                    format!(
                        "State names must have 1 to {MAX_STATE_NAME} characters; '{name}' has {}",
                        name.chars().count()
                    ),
                );
            }
            let mut edges = Vec::new();
            let mut terminal = false;
            match self.state(state_value, &state_at, &mut edges, &mut terminal) {
                Some(state) => {
                    states.insert(name.clone(), state);
                }
                None => all_read = false,
            }
            graph.edges.insert(name.clone(), edges);
            if terminal {
                graph.terminal.insert(name.clone());
            }
        }
        if let Some(start_at) = &start_at {
            self.check_graph(start_at, &graph, at);
        }
        if all_read && self.problems.is_empty() {
            Some(Flow {
                start_at: start_at?,
                states,
            })
        } else {
            start_at.map(|start_at| Flow { start_at, states })
        }
    }

    /// Targets exist, every state is reachable from StartAt, and something ends the flow.
    fn check_graph(&mut self, start_at: &str, graph: &Graph, at: &str) {
        if !graph.edges.contains_key(start_at) {
            self.problem(
                Code::MissingTransitionTarget,
                pointer(at, "StartAt"),
                format!("Missing 'StartAt' target: {start_at}"),
            );
        }
        for (state, edges) in &graph.edges {
            for (target, field_at) in edges {
                if !graph.edges.contains_key(target) {
                    let field = field_at.rsplit('/').next().unwrap_or("Next");
                    self.problem(
                        Code::MissingTransitionTarget,
                        field_at.clone(),
                        format!("Missing '{field}' target: {target} (from state '{state}')"),
                    );
                }
            }
        }
        let mut reached: HashSet<&str> = HashSet::new();
        let mut frontier = vec![start_at];
        while let Some(state) = frontier.pop() {
            if !reached.insert(state) {
                continue;
            }
            if let Some(edges) = graph.edges.get(state) {
                frontier.extend(edges.iter().map(|(target, _)| target.as_str()));
            }
        }
        for state in graph.edges.keys() {
            if graph.edges.contains_key(start_at) && !reached.contains(state.as_str()) {
                self.problem(
                    Code::UnreachableState,
                    pointer(&pointer(at, "States"), state),
                    format!("State '{state}' is not reachable from StartAt '{start_at}'"),
                );
            }
        }
        if !graph.edges.is_empty() && graph.terminal.is_empty() {
            self.problem(
                Code::MissingTerminalState,
                pointer(at, "States"),
                "No state ends the flow: one needs \"End\": true, or must be a Succeed or Fail state",
            );
        }
    }

    /// Names are unique across the whole machine, branches and processors included.
    fn unique_names(&mut self) {
        let mut first: HashMap<String, String> = HashMap::new();
        let names = std::mem::take(&mut self.names);
        for (name, at) in names {
            match first.get(&name) {
                Some(original) => self.problem(
                    Code::DuplicateStateName,
                    at,
                    format!("Duplicate state name: '{name}' (first declared at {original})"),
                ),
                None => {
                    first.insert(name, at);
                }
            }
        }
    }

    fn state(
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
        let fields: &[&str] = match type_name.as_str() {
            "Pass" => PASS_FIELDS,
            "Task" => TASK_FIELDS,
            "Choice" => CHOICE_FIELDS,
            "Wait" => WAIT_FIELDS,
            "Succeed" => SUCCEED_FIELDS,
            "Fail" => FAIL_FIELDS,
            "Parallel" => PARALLEL_FIELDS,
            "Map" => MAP_FIELDS,
            other => {
                self.schema(
                    pointer(at, "Type"),
                    format!("'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map, not '{other}'"),
                );
                return None;
            }
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
        let allowed: &[&[&str]] = if type_name == "Map" {
            &[COMMON, fields, DISTRIBUTED_MAP_FIELDS]
        } else {
            &[COMMON, fields]
        };
        self.known_fields(object, at, allowed, &format!("A {type_name} state"));
        let before = self.problems.len();
        let kind = match type_name.as_str() {
            "Pass" => self.pass(object, at, edges, terminal).map(StateKind::Pass),
            "Task" => self.task(object, at, edges, terminal).map(StateKind::Task),
            "Choice" => self.choice(object, at, edges).map(StateKind::Choice),
            "Wait" => self.wait(object, at, edges, terminal).map(StateKind::Wait),
            "Succeed" => {
                *terminal = true;
                Some(StateKind::Succeed(Succeed {
                    io: self.io(object, at),
                }))
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

    fn selection(&mut self, object: &Map<String, Value>, key: &str, at: &str) -> Selection {
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

    fn result_placement(
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
    fn reference(&mut self, text: &str, at: &str, key: &str) -> Option<PathRef> {
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

    fn template_field(
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
    fn computed(&mut self, value: &Value, at: &str, key: &str) -> Template {
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

    fn pass(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
        terminal: &mut bool,
    ) -> Option<Pass> {
        Some(Pass {
            io: self.io(object, at),
            parameters: self.template_field(object, "Parameters", at),
            result: object.get("Result").cloned(),
            result_path: self.result_placement(object, "ResultPath", at),
            assign: self.template_field(object, "Assign", at),
            transition: self.transition(object, at, edges, terminal)?,
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
        let retry = self.retriers(object, at);
        let catch = self.catchers(object, at, edges);
        Some(Task {
            io: self.io(object, at),
            resource: resource?,
            parameters: self.template_field(object, "Parameters", at),
            result_selector: self.template_field(object, "ResultSelector", at),
            result_path: self.result_placement(object, "ResultPath", at),
            retry,
            catch,
            timeout,
            heartbeat,
            assign: self.template_field(object, "Assign", at),
            transition: self.transition(object, at, edges, terminal)?,
        })
    }

    /// Which of two fields that exclude each other the object has, if either; both is a problem.
    fn either<'k>(
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

    /// The objects of an array field (Retry, Catch), each with its index and pointer; a field that is
    /// not an array, and members that are not objects, are problems.
    fn objects<'v>(
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

    fn choice(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
    ) -> Option<Choice> {
        let default = self.string(object, "Default", at);
        if let Some(default) = &default {
            edges.push((default.clone(), pointer(at, "Default")));
        }
        let choices_at = pointer(at, "Choices");
        let mut choices = Vec::new();
        match object.get("Choices") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{choices_at}/{i}");
                    let Some(rule_object) = self.object(item, &item_at, "A choice rule") else {
                        continue;
                    };
                    let next = self.required_string(
                        rule_object,
                        "Next",
                        &item_at,
                        "A top-level choice rule",
                    );
                    if let Some(next) = &next {
                        edges.push((next.clone(), pointer(&item_at, "Next")));
                    }
                    let assign = self.template_field(rule_object, "Assign", &item_at);
                    let rule = self.choice_rule(rule_object, &item_at, true);
                    if let (Some(rule), Some(next)) = (rule, next) {
                        choices.push(ChoiceBranch { rule, next, assign });
                    }
                }
            }
            Some(_) => self.schema(
                &choices_at,
                "'Choices' must be a non-empty array of choice rules",
            ),
            None => self.schema(at, "A Choice state must have 'Choices'"),
        }
        Some(Choice {
            io: self.io(object, at),
            choices,
            default,
            assign: self.template_field(object, "Assign", at),
        })
    }

    fn choice_rule(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        top_level: bool,
    ) -> Option<ChoiceRule> {
        let mut allowed: Vec<&str> = vec!["Variable", "And", "Or", "Not", "Comment"];
        allowed.extend(COMPARISONS.iter().map(|(name, _)| *name));
        if top_level {
            allowed.extend(["Next", "Assign"]);
        } else if object.contains_key("Next") {
            self.schema(
                pointer(at, "Next"),
                "Only top-level choice rules may have 'Next'",
            );
        }
        self.known_fields(object, at, &[&allowed], "A choice rule");
        let combinators: Vec<&str> = ["And", "Or", "Not"]
            .into_iter()
            .filter(|k| object.contains_key(*k))
            .collect();
        let comparisons: Vec<&(&str, OperandKind)> = COMPARISONS
            .iter()
            .filter(|(name, _)| object.contains_key(*name))
            .collect();
        match (combinators.as_slice(), comparisons.as_slice()) {
            ([combinator], []) => {
                if object.contains_key("Variable") {
                    self.schema(
                        pointer(at, "Variable"),
                        format!("A rule with '{combinator}' has no 'Variable'"),
                    );
                }
                let field_at = pointer(at, combinator);
                let value = &object[*combinator];
                if *combinator == "Not" {
                    let inner = self.object(value, &field_at, "'Not'")?;
                    return self
                        .choice_rule(inner, &field_at, false)
                        .map(|rule| ChoiceRule::Not(Box::new(rule)));
                }
                let Value::Array(items) = value else {
                    self.schema(
                        &field_at,
                        format!(
                            "'{combinator}' must be a non-empty array of rules, not {}",
                            kind(value)
                        ),
                    );
                    return None;
                };
                if items.is_empty() {
                    self.schema(
                        &field_at,
                        format!("'{combinator}' must have at least one rule"),
                    );
                    return None;
                }
                let mut rules = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{field_at}/{i}");
                    if let Some(inner) = self.object(item, &item_at, "A choice rule")
                        && let Some(rule) = self.choice_rule(inner, &item_at, false)
                    {
                        rules.push(rule);
                    }
                }
                if rules.len() != items.len() {
                    return None;
                }
                Some(if *combinator == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                })
            }
            ([], [(operator, operand_kind)]) => {
                let variable_text =
                    self.required_string(object, "Variable", at, "A data-test rule")?;
                let variable =
                    self.reference(&variable_text, &pointer(at, "Variable"), "Variable")?;
                let comparison = self.comparison(object, at, operator, *operand_kind)?;
                Some(ChoiceRule::Test {
                    variable,
                    comparison,
                })
            }
            ([], []) => {
                self.schema(at, "A choice rule needs a comparison operator (such as StringEquals) with 'Variable', or one of And, Or, Not");
                None
            }
            _ => {
                let mut found: Vec<&str> = combinators.clone();
                found.extend(comparisons.iter().map(|(name, _)| *name));
                self.schema(
                    at,
                    format!(
                        "A choice rule has exactly one operator, not {}",
                        found.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn comparison(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        operator: &str,
        operand_kind: OperandKind,
    ) -> Option<Comparison> {
        let value = &object[operator];
        let field_at = pointer(at, operator);
        let ordering = ordering_of(operator);
        let string = |v: &Value| v.as_str().map(str::to_string);
        let timestamp = |v: &Value| v.as_str().filter(|s| is_timestamp(s)).map(str::to_string);
        Some(match operand_kind {
            OperandKind::String => Comparison::String(
                ordering,
                self.operand(value, &field_at, operator, string, "a string")?,
            ),
            OperandKind::Number => Comparison::Numeric(
                ordering,
                self.operand(value, &field_at, operator, Value::as_f64, "a number")?,
            ),
            OperandKind::Boolean => Comparison::Boolean(self.operand(
                value,
                &field_at,
                operator,
                Value::as_bool,
                "true or false",
            )?),
            OperandKind::Timestamp => Comparison::Timestamp(
                ordering,
                self.operand(
                    value,
                    &field_at,
                    operator,
                    timestamp,
                    "an RFC 3339 timestamp string",
                )?,
            ),
            OperandKind::Pattern => match value {
                Value::String(pattern) => Comparison::StringMatches(pattern.clone()),
                other => {
                    self.schema(
                        &field_at,
                        format!("'{operator}' must be a string pattern, not {}", kind(other)),
                    );
                    return None;
                }
            },
            OperandKind::Test => {
                let Value::Bool(b) = value else {
                    self.schema(
                        &field_at,
                        format!("'{operator}' must be true or false, not {}", kind(value)),
                    );
                    return None;
                };
                match operator {
                    "IsNull" => Comparison::IsNull(*b),
                    "IsPresent" => Comparison::IsPresent(*b),
                    "IsNumeric" => Comparison::IsNumeric(*b),
                    "IsString" => Comparison::IsString(*b),
                    "IsBoolean" => Comparison::IsBoolean(*b),
                    _ => Comparison::IsTimestamp(*b),
                }
            }
        })
    }

    /// The right-hand side of a comparison: a constant, or for the `…Path` operators a reference path.
    fn operand<T>(
        &mut self,
        value: &Value,
        at: &str,
        operator: &str,
        literal: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Option<Operand<T>> {
        if operator.ends_with("Path") {
            let Value::String(text) = value else {
                self.schema(
                    at,
                    format!("'{operator}' must be a path, not {}", kind(value)),
                );
                return None;
            };
            return self.reference(text, at, operator).map(Operand::Path);
        }
        match literal(value) {
            Some(v) => Some(Operand::Value(v)),
            None => {
                self.schema(at, format!("'{operator}' must be {expected}, not {value}"));
                None
            }
        }
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
        let io = self.io(object, at);
        let assign = self.template_field(object, "Assign", at);
        let transition = self.transition(object, at, edges, terminal);
        Some(Wait {
            io,
            until: until?,
            assign,
            transition: transition?,
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
        let retry = self.retriers(object, at);
        let catch = self.catchers(object, at, edges);
        Some(Parallel {
            io: self.io(object, at),
            branches,
            parameters: self.template_field(object, "Parameters", at),
            result_selector: self.template_field(object, "ResultSelector", at),
            result_path: self.result_placement(object, "ResultPath", at),
            retry,
            catch,
            assign: self.template_field(object, "Assign", at),
            transition: self.transition(object, at, edges, terminal)?,
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
        let retry = self.retriers(object, at);
        let catch = self.catchers(object, at, edges);
        Some(MapState {
            io: self.io(object, at),
            items_path,
            item_selector,
            processor: processor?,
            max_concurrency,
            result_selector: self.template_field(object, "ResultSelector", at),
            result_path: self.result_placement(object, "ResultPath", at),
            retry,
            catch,
            assign: self.template_field(object, "Assign", at),
            transition: self.transition(object, at, edges, terminal)?,
        })
    }
}

/// What a comparison operator compares.
#[derive(Debug, Clone, Copy)]
enum OperandKind {
    String,
    Pattern,
    Number,
    Boolean,
    Timestamp,
    Test,
}

/// Every data-test operator of a choice rule.
const COMPARISONS: &[(&str, OperandKind)] = &[
    ("StringEquals", OperandKind::String),
    ("StringEqualsPath", OperandKind::String),
    ("StringLessThan", OperandKind::String),
    ("StringLessThanPath", OperandKind::String),
    ("StringGreaterThan", OperandKind::String),
    ("StringGreaterThanPath", OperandKind::String),
    ("StringLessThanEquals", OperandKind::String),
    ("StringLessThanEqualsPath", OperandKind::String),
    ("StringGreaterThanEquals", OperandKind::String),
    ("StringGreaterThanEqualsPath", OperandKind::String),
    ("StringMatches", OperandKind::Pattern),
    ("NumericEquals", OperandKind::Number),
    ("NumericEqualsPath", OperandKind::Number),
    ("NumericLessThan", OperandKind::Number),
    ("NumericLessThanPath", OperandKind::Number),
    ("NumericGreaterThan", OperandKind::Number),
    ("NumericGreaterThanPath", OperandKind::Number),
    ("NumericLessThanEquals", OperandKind::Number),
    ("NumericLessThanEqualsPath", OperandKind::Number),
    ("NumericGreaterThanEquals", OperandKind::Number),
    ("NumericGreaterThanEqualsPath", OperandKind::Number),
    ("BooleanEquals", OperandKind::Boolean),
    ("BooleanEqualsPath", OperandKind::Boolean),
    ("TimestampEquals", OperandKind::Timestamp),
    ("TimestampEqualsPath", OperandKind::Timestamp),
    ("TimestampLessThan", OperandKind::Timestamp),
    ("TimestampLessThanPath", OperandKind::Timestamp),
    ("TimestampGreaterThan", OperandKind::Timestamp),
    ("TimestampGreaterThanPath", OperandKind::Timestamp),
    ("TimestampLessThanEquals", OperandKind::Timestamp),
    ("TimestampLessThanEqualsPath", OperandKind::Timestamp),
    ("TimestampGreaterThanEquals", OperandKind::Timestamp),
    ("TimestampGreaterThanEqualsPath", OperandKind::Timestamp),
    ("IsNull", OperandKind::Test),
    ("IsPresent", OperandKind::Test),
    ("IsNumeric", OperandKind::Test),
    ("IsString", OperandKind::Test),
    ("IsBoolean", OperandKind::Test),
    ("IsTimestamp", OperandKind::Test),
];

fn ordering_of(operator: &str) -> Ordering {
    let operator = operator.strip_suffix("Path").unwrap_or(operator);
    if operator.ends_with("LessThanEquals") {
        Ordering::LessThanEquals
    } else if operator.ends_with("GreaterThanEquals") {
        Ordering::GreaterThanEquals
    } else if operator.ends_with("LessThan") {
        Ordering::LessThan
    } else if operator.ends_with("GreaterThan") {
        Ordering::GreaterThan
    } else {
        Ordering::Equals
    }
}

/// Whether a string is a timestamp as Step Functions reads them (RFC 3339).
pub fn is_timestamp(text: &str) -> bool {
    OffsetDateTime::parse(text, &Rfc3339).is_ok()
}
