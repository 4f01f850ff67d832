//! A machine and its flows (`{StartAt, States}`: the machine, a branch, a processor): the states in
//! them, and the checks on the graph of their transitions and on names across the machine.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::problem::Code;
use super::reader::{Reader, pointer};
use super::{MAX_SECONDS, MAX_STATE_NAME};
use crate::definition::{Flow, StateMachine};

#[derive(Default)]
struct Graph {
    /// Per state: the targets it can go to, each with the pointer of the field naming it.
    edges: IndexMap<String, Vec<(String, String)>>,
    /// States that end the flow (End: true, Succeed, Fail).
    terminal: HashSet<String>,
}

impl Reader {
    pub(super) fn machine(&mut self, value: &Value) -> Option<StateMachine> {
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

    pub(super) fn query_language(&mut self, object: &Map<String, Value>, at: &str) {
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
    pub(super) fn flow(&mut self, object: &Map<String, Value>, at: &str) -> Option<Flow> {
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
    pub(super) fn unique_names(&mut self) {
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
}
