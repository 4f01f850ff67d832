//! A state machine definition in the Amazon States Language (JSONPath query language), typed.
//!
//! Every path, payload template and intrinsic call is parsed when the definition is read, so a running
//! execution never meets a malformed one. Values are built only by [`crate::read::read`], which checks
//! everything AWS's CreateStateMachine checks, and more (see `read/`).

use indexmap::IndexMap;
use serde_json::Value;

use crate::intrinsic::{Arg, Intrinsic};
use crate::path::{Path, PathRef, ReferencePath};

/// A whole state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub flow: Flow,
    /// The execution fails with `States.Timeout` after this many seconds.
    pub timeout_seconds: Option<u64>,
    pub version: Option<String>,
}

/// A set of states and where to start: the machine itself, a Parallel branch, or a Map's processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub start_at: String,
    /// In definition order.
    pub states: IndexMap<String, State>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub comment: Option<String>,
    pub kind: StateKind,
}

/// Where control goes after a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// InputPath and OutputPath: the whole value (`$`, the default), nothing (`null`, which gives `{}`), or
/// what a path selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    All,
    Nothing,
    Select(Path),
}

/// ResultPath: replace the input (`$`, the default), discard the result (`null`), or write the result
/// into the input at a reference path.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPlacement {
    Replace,
    Discard,
    At(ReferencePath),
}

/// A payload template (Parameters, ResultSelector, ItemSelector, Assign): JSON whose `.$` keys are
/// evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value taken as written.
    Literal(Value),
    /// An object; each member either a template or, for a `.$` key (stored without the suffix), a value
    /// computed at run time.
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(PathRef),
    Intrinsic(Call),
}

/// An intrinsic function call with the paths among its arguments parsed once, when the definition is
/// read, rather than at every evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub intrinsic: Intrinsic,
    /// Every path argument, nested calls included, as written and parsed.
    pub paths: Vec<(String, PathRef)>,
}

impl Call {
    /// Parses the call's path arguments; the first that does not parse is the error.
    pub fn new(intrinsic: Intrinsic) -> Result<Call, (String, crate::path::PathError)> {
        fn collect(call: &Intrinsic, into: &mut Vec<String>) {
            for arg in &call.args {
                match arg {
                    Arg::Path(text) => into.push(text.clone()),
                    Arg::Call(inner) => collect(inner, into),
                    _ => {}
                }
            }
        }
        let mut texts = Vec::new();
        collect(&intrinsic, &mut texts);
        let mut paths = Vec::with_capacity(texts.len());
        for text in texts {
            match PathRef::parse(&text) {
                Ok(path) => paths.push((text, path)),
                Err(e) => return Err((text, e)),
            }
        }
        Ok(Call { intrinsic, paths })
    }

    /// Whether any path argument reads the context object.
    pub fn reads_context(&self) -> bool {
        self.paths
            .iter()
            .any(|(_, p)| matches!(p, PathRef::Context(_)))
    }
}

/// The input/output fields shared by the states that have them.
#[derive(Debug, Clone, PartialEq)]
pub struct Io {
    pub input_path: Selection,
    pub output_path: Selection,
}

impl Default for Io {
    fn default() -> Self {
        Self {
            input_path: Selection::All,
            output_path: Selection::All,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StateKind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed(Succeed),
    Fail(Fail),
    Parallel(Parallel),
    Map(MapState),
}

impl StateKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed(_) => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub io: Io,
    pub parameters: Option<Template>,
    /// A fixed result; without it, the effective input is the result.
    pub result: Option<Value>,
    pub result_path: ResultPlacement,
    pub assign: Option<Template>,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub io: Io,
    /// The resource ARN, which picks the handler the embedding program registered.
    pub resource: String,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPlacement,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
    pub assign: Option<Template>,
    pub transition: Transition,
}

/// A duration given in the definition or read from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    Fixed(u64),
    Path(PathRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub io: Io,
    pub choices: Vec<ChoiceBranch>,
    pub default: Option<String>,
    pub assign: Option<Template>,
}

/// A top-level choice rule: if it holds, go to `next`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: String,
    pub assign: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Test {
        variable: PathRef,
        comparison: Comparison,
    },
}

/// The comparison of a data-test rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    String(Ordering, Operand<String>),
    StringMatches(String),
    Numeric(Ordering, Operand<f64>),
    Boolean(Operand<bool>),
    Timestamp(Ordering, Operand<String>),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

/// Which way a comparison goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// What a value is compared with: a constant, or (the `…Path` operators) another value of the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<T> {
    Value(T),
    Path(PathRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub io: Io,
    pub until: WaitFor,
    pub assign: Option<Template>,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(u64),
    /// An RFC 3339 timestamp, checked when read.
    Timestamp(String),
    SecondsPath(PathRef),
    TimestampPath(PathRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Succeed {
    pub io: Io,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fail {
    pub error: Option<Text>,
    pub cause: Option<Text>,
}

/// Error or Cause of a Fail state: written out, or computed (ErrorPath / CausePath).
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Literal(String),
    Path(PathRef),
    Intrinsic(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parallel {
    pub io: Io,
    pub branches: Vec<Flow>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPlacement,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Template>,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    pub io: Io,
    /// Where the items are in the effective input (default `$`).
    pub items_path: Option<PathRef>,
    /// Builds each iteration's input (formerly `Parameters`).
    pub item_selector: Option<Template>,
    /// The states each item runs through (formerly `Iterator`).
    pub processor: Flow,
    /// At most this many iterations at once; 0 means no limit.
    pub max_concurrency: Concurrency,
    pub result_selector: Option<Template>,
    pub result_path: ResultPlacement,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Template>,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Concurrency {
    Fixed(u64),
    Path(PathRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPlacement,
    pub assign: Option<Template>,
}
