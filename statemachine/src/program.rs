//! A state machine prepared for running: flows in a vector, states by index, every transition resolved to
//! an index, so that a step of an execution never looks a state up by name. Executions refer to states
//! as (flow, state) index pairs, which stay valid for as long as the definition does (an execution keeps
//! the definition it started with).

use crate::definition::{Flow, State, StateKind, StateMachine, Template, Text, Transition};
use crate::path::PathRef;

/// A state machine ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    pub machine: StateMachine,
    /// `flows[0]` is the machine's own flow; the others are Parallel branches and Map processors.
    pub flows: Vec<FlowCode>,
}

#[derive(Debug, Clone)]
pub struct FlowCode {
    pub start: usize,
    pub states: Vec<StateCode>,
}

/// One state with its transitions resolved.
#[derive(Debug, Clone)]
pub struct StateCode {
    pub name: String,
    pub state: State,
    /// Where `Next` goes, if the state has one.
    pub next: Option<usize>,
    /// Where each top-level choice rule goes, in order.
    pub choice_targets: Vec<usize>,
    pub default_target: Option<usize>,
    /// Where each catcher goes, in order.
    pub catch_targets: Vec<usize>,
    /// The flows of a Parallel's branches or a Map's processor.
    pub children: Vec<usize>,
    /// Whether any template or path of the state reads the context object (`$$`), which is then built.
    pub reads_context: bool,
}

impl Program {
    /// Prepares a definition that [`crate::read()`] accepted; every name it refers to exists.
    pub fn new(machine: StateMachine) -> Program {
        let mut flows = Vec::new();
        lower(&machine.flow, &mut flows);
        Program { machine, flows }
    }

    pub fn state(&self, flow: usize, state: usize) -> &StateCode {
        &self.flows[flow].states[state]
    }
}

/// Lowers a flow and, depth first, the flows inside it; returns the flow's index.
fn lower(flow: &Flow, flows: &mut Vec<FlowCode>) -> usize {
    let index = flows.len();
    flows.push(FlowCode {
        start: 0,
        states: Vec::new(),
    });
    let position = |name: &str| flow.states.get_index_of(name).unwrap_or(0);
    let mut states = Vec::with_capacity(flow.states.len());
    for (name, state) in &flow.states {
        let mut code = StateCode {
            name: name.clone(),
            state: state.clone(),
            next: None,
            choice_targets: Vec::new(),
            default_target: None,
            catch_targets: Vec::new(),
            children: Vec::new(),
            reads_context: reads_context(&state.kind),
        };
        let transition = match &state.kind {
            StateKind::Pass(s) => Some(&s.transition),
            StateKind::Task(s) => Some(&s.transition),
            StateKind::Wait(s) => Some(&s.transition),
            StateKind::Parallel(s) => Some(&s.transition),
            StateKind::Map(s) => Some(&s.transition),
            StateKind::Choice(_) | StateKind::Succeed(_) | StateKind::Fail(_) => None,
        };
        if let Some(Transition::Next(next)) = transition {
            code.next = Some(position(next));
        }
        match &state.kind {
            StateKind::Choice(choice) => {
                code.choice_targets = choice.choices.iter().map(|c| position(&c.next)).collect();
                code.default_target = choice.default.as_deref().map(position);
            }
            StateKind::Task(task) => {
                code.catch_targets = task.catch.iter().map(|c| position(&c.next)).collect();
            }
            StateKind::Parallel(parallel) => {
                code.catch_targets = parallel.catch.iter().map(|c| position(&c.next)).collect();
                code.children = parallel.branches.iter().map(|b| lower(b, flows)).collect();
            }
            StateKind::Map(map) => {
                code.catch_targets = map.catch.iter().map(|c| position(&c.next)).collect();
                code.children = vec![lower(&map.processor, flows)];
            }
            _ => {}
        }
        states.push(code);
    }
    flows[index] = FlowCode {
        start: position(&flow.start_at),
        states,
    };
    index
}

fn reads_context(kind: &StateKind) -> bool {
    let templates: Vec<&Option<Template>> = match kind {
        StateKind::Pass(s) => vec![&s.parameters, &s.assign],
        StateKind::Task(s) => vec![&s.parameters, &s.result_selector, &s.assign],
        StateKind::Choice(s) => {
            // Choice rules may compare against $$ paths too; be generous and build the context.
            return s.choices.iter().any(|c| rule_reads_context(&c.rule))
                || template_reads_context(&s.assign)
                || s.choices.iter().any(|c| template_reads_context(&c.assign));
        }
        StateKind::Wait(s) => {
            if let crate::definition::WaitFor::SecondsPath(p)
            | crate::definition::WaitFor::TimestampPath(p) = &s.until
                && matches!(p, PathRef::Context(_))
            {
                return true;
            }
            vec![&s.assign]
        }
        StateKind::Parallel(s) => vec![&s.parameters, &s.result_selector, &s.assign],
        StateKind::Map(s) => vec![&s.item_selector, &s.result_selector, &s.assign],
        StateKind::Fail(s) => {
            return [&s.error, &s.cause].into_iter().any(|text| match text {
                Some(Text::Path(PathRef::Context(_))) => true,
                Some(Text::Intrinsic(call)) => call.reads_context(),
                _ => false,
            });
        }
        StateKind::Succeed(_) => vec![],
    };
    templates.into_iter().any(template_reads_context)
}

fn template_reads_context(template: &Option<Template>) -> bool {
    fn walk(template: &Template) -> bool {
        match template {
            Template::Literal(_) => false,
            Template::Object(members) => members.iter().any(|(_, t)| walk(t)),
            Template::Array(items) => items.iter().any(walk),
            Template::Path(path) => matches!(path, PathRef::Context(_)),
            Template::Intrinsic(call) => call.reads_context(),
        }
    }
    template.as_ref().is_some_and(walk)
}

fn rule_reads_context(rule: &crate::definition::ChoiceRule) -> bool {
    use crate::definition::{ChoiceRule, Comparison, Operand};
    match rule {
        ChoiceRule::And(rules) | ChoiceRule::Or(rules) => rules.iter().any(rule_reads_context),
        ChoiceRule::Not(rule) => rule_reads_context(rule),
        ChoiceRule::Test {
            variable,
            comparison,
        } => {
            let operand_is_context = match comparison {
                Comparison::String(_, Operand::Path(p))
                | Comparison::Numeric(_, Operand::Path(p))
                | Comparison::Boolean(Operand::Path(p))
                | Comparison::Timestamp(_, Operand::Path(p)) => matches!(p, PathRef::Context(_)),
                _ => false,
            };
            matches!(variable, PathRef::Context(_)) || operand_is_context
        }
    }
}
