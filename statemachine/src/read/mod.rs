//! Reading a definition: every field of every state is checked and every problem is kept, each with the
//! JSON Pointer of the field at fault, in the form AWS's CreateStateMachine reports
//! (`MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next`).
//!
//! The checks are at least those of the npm asl-validator 4 (schema, transition targets, reachability,
//! terminal states, Wait's one-of, intrinsic names) and those AWS adds: `States.ALL` alone and last,
//! unique state names across the machine, names of at most 80 characters, operand types of Choice rules,
//! paths and intrinsic calls in `.$` values, HeartbeatSeconds below TimeoutSeconds, reserved error names.
//!
//! Where things live: `flow` reads the machine and each `{StartAt, States}` and checks the graph (and
//! `state` calls it back for Parallel branches and Map processors, which are flows);
//! `state` reads one state: its type, then that type's own fields; `shared` then reads, in one reader
//! for every type, the fields several types share (Retry, Catch, InputPath/OutputPath, Parameters,
//! ResultSelector, ResultPath, Assign, Next/End); `choice` reads the Choice rules; `template` the payload
//! templates and `.$` values; `paths` the path fields; `reader` holds the reader and its plain JSON
//! field readers; `problem` the problems it reports. Tests are in `tests/definitions.rs` (the corpus) and
//! `tests/no_panic.rs`.

mod choice;
mod flow;
mod paths;
mod problem;
mod reader;
mod shared;
mod state;
mod template;

pub use choice::is_timestamp;
pub use problem::{Code, InvalidDefinition, Problem};

use serde_json::Value;

use crate::definition::StateMachine;
use reader::Reader;

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
