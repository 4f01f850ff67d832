//! What the reader reports: each problem with its AWS code and the JSON Pointer of the field at fault.

use std::fmt;

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
