//! Why a path could not be parsed, evaluated or written through.

/// Why a path could not be parsed, evaluated or written through.
///
/// Every message names the path text as it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is not a path this engine accepts; `reason` says which rule it
    /// breaks and where.
    #[error("invalid path '{path}': {reason}")]
    Syntax { path: String, reason: String },

    /// A definite path selected nothing. Step Functions reports this as
    /// `States.Runtime` with the cause "The JSONPath '…' specified for the
    /// field '…' could not be found in the input '…'"; the engine adds the
    /// field and the input.
    #[error("the JSONPath '{path}' could not be found in the input")]
    NotFound { path: String },

    /// A ResultPath write cannot be applied: a member step met something that
    /// is not an object, or an index step met something that is not an array
    /// or an index past its end. `found` says what was there. The engine maps
    /// this to `States.ResultPathMatchFailure` (\[SPEC] "Runtime Errors").
    #[error("cannot apply the reference path '{path}' to the input: {found}")]
    NotAnObject { path: String, found: String },
}
