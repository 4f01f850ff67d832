//! What can go wrong with an intrinsic call, from parsing to evaluation.

use std::fmt;

use super::MAX_CALLS_PER_FIELD;
use super::syntax::{Arity, Function};

/// Everything that can go wrong, from parsing to evaluation.
///
/// The first five variants are *definition* errors, found by [`parse`](fn@super::parse) before
/// anything runs. [`IntrinsicError::Failure`] and
/// [`IntrinsicError::PathResolution`] happen at run time. The engine reports
/// them as `States.IntrinsicFailure`. (AWS reports a missing path in a plain
/// `.$` field as `States.Runtime`, so the engine may prefer that name for
/// `PathResolution`.) All offsets count characters, not bytes, from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    #[error("invalid intrinsic function at character {offset}: {message}")]
    Syntax { offset: usize, message: String },

    #[error("unknown intrinsic function '{name}' at character {offset}")]
    UnknownFunction { offset: usize, name: String },

    #[error("{function} at character {offset} takes {expected}, but {found} given")]
    Arity {
        offset: usize,
        function: Function,
        expected: Arity,
        found: ArgCount,
    },

    #[error(
        "too many intrinsic functions in one field: {calls} counted by character {offset}, \
         but at most {MAX_CALLS_PER_FIELD} are allowed"
    )]
    TooManyCalls {
        /// The call at which counting stopped (the root call for [`evaluate`](super::evaluate)).
        offset: usize,
        calls: usize,
    },

    #[error("{function} argument {index} at character {offset}: {message}")]
    InvalidArgument {
        offset: usize,
        function: Function,
        index: usize,
        message: String,
    },

    #[error("{function}{}: {message}", argument.map(|i| format!(" argument {i}")).unwrap_or_default())]
    Failure {
        function: Function,
        /// 1-based position of the argument at fault, when one argument is at fault.
        argument: Option<usize>,
        message: String,
    },

    #[error("{function} argument {index}: path '{path}' could not be resolved: {message}")]
    PathResolution {
        function: Function,
        index: usize,
        path: String,
        message: String,
    },
}

impl IntrinsicError {
    /// True for errors that [`evaluate`](super::evaluate) reports at run time. False for errors in the definition itself.
    pub fn is_runtime(&self) -> bool {
        matches!(
            self,
            IntrinsicError::Failure { .. } | IntrinsicError::PathResolution { .. }
        )
    }

    pub(super) fn failure(function: Function, argument: usize, message: impl Into<String>) -> Self {
        IntrinsicError::Failure {
            function,
            argument: Some(argument),
            message: message.into(),
        }
    }
}

/// An argument count, shown as "1 was" / "2 were" in [`IntrinsicError::Arity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCount(pub usize);

impl fmt::Display for ArgCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 1 {
            f.write_str("1 was")
        } else {
            write!(f, "{} were", self.0)
        }
    }
}
