//! The static checks of one call: arity, and the literal arguments whose type the guide fixes.

use super::HASH_ALGORITHMS;
use super::error::{ArgCount, IntrinsicError};
use super::syntax::{Arg, Function};

/// What an argument position requires, where DG or SPEC fixes it.
#[derive(Clone, Copy)]
enum Expect {
    Any,
    String,
    Number,
    Array,
    Object,
    /// SPEC States.JsonToString: the argument "MUST be a Path". A nested call is
    /// also accepted, because its result is an ordinary value, as a path's is.
    NotLiteral,
    /// DG States.Hash: a string naming one of [`HASH_ALGORITHMS`].
    HashAlgorithm,
    /// DG States.JsonMerge: "you must specify the boolean value as false".
    False,
}

fn expectation(function: Function, index: usize) -> Expect {
    use Function as F;
    match (function, index) {
        (F::Format, 0) => Expect::String,
        (F::StringToJson, _) => Expect::String,
        (F::JsonToString, _) => Expect::NotLiteral,
        (F::ArrayPartition | F::ArrayContains | F::ArrayGetItem, 0) => Expect::Array,
        (F::ArrayPartition | F::ArrayGetItem, 1) => Expect::Number,
        (F::ArrayLength | F::ArrayUnique, _) => Expect::Array,
        (F::ArrayRange | F::MathRandom | F::MathAdd, _) => Expect::Number,
        (F::Base64Encode | F::Base64Decode | F::StringSplit, _) => Expect::String,
        (F::Hash, 0) => Expect::String,
        (F::Hash, _) => Expect::HashAlgorithm,
        (F::JsonMerge, 2) => Expect::False,
        (F::JsonMerge, _) => Expect::Object,
        _ => Expect::Any,
    }
}

/// Checks arity and the literal arguments of one call. Called by the parser for
/// every call, and by [`evaluate`](super::evaluate) for trees that were built by hand.
///
/// Only the *type* of a literal is checked, plus the two literal values that the
/// guide names (Hash's algorithm and JsonMerge's `false`). Range problems such as
/// `States.ArrayRange(1, 9, 0)` are left to run time. There is some evidence
/// that AWS accepts such a definition and fails only when it runs, and a
/// validator that is stricter than AWS would refuse working definitions.
pub(super) fn check_call(
    function: Function,
    args: &[Arg],
    offset: usize,
    arg_offsets: &[usize],
) -> Result<(), IntrinsicError> {
    let arity = function.arity();
    if !arity.accepts(args.len()) {
        return Err(IntrinsicError::Arity {
            offset,
            function,
            expected: arity,
            found: ArgCount(args.len()),
        });
    }
    for (i, arg) in args.iter().enumerate() {
        let Some(found) = arg.literal_type() else {
            continue;
        };
        let message = match expectation(function, i) {
            Expect::Any => None,
            Expect::String if found != "string" => {
                Some(format!("expected a string, found a {found} literal"))
            }
            Expect::Number if found != "number" => {
                Some(format!("expected a number, found a {found} literal"))
            }
            Expect::Array => Some(format!(
                "expected an array, but a {found} literal can never be one"
            )),
            Expect::Object => Some(format!(
                "expected a JSON object, but a {found} literal can never be one"
            )),
            Expect::NotLiteral => Some(format!(
                "expected a path (the specification requires a Path), found a {found} literal"
            )),
            Expect::HashAlgorithm => match arg {
                Arg::String { value, .. } => hash_algorithm_problem(value),
                _ => Some(format!(
                    "expected the algorithm name as a string, found a {found} literal"
                )),
            },
            Expect::False => match arg {
                Arg::Bool(false) => None,
                Arg::Bool(true) => Some(DEEP_MERGE_UNSUPPORTED.to_owned()),
                _ => Some(format!(
                    "expected the boolean false, found a {found} literal"
                )),
            },
            Expect::String | Expect::Number => None,
        };
        if let Some(message) = message {
            return Err(IntrinsicError::InvalidArgument {
                offset: arg_offsets.get(i).copied().unwrap_or(offset),
                function,
                index: i + 1,
                message,
            });
        }
    }
    Ok(())
}

pub(super) const DEEP_MERGE_UNSUPPORTED: &str = "deep merging is not supported: Step Functions only \
     supports shallow merging, so the third argument must be false";

pub(super) fn hash_algorithm_problem(name: &str) -> Option<String> {
    if HASH_ALGORITHMS.contains(&name) {
        None
    } else {
        Some(format!(
            "unsupported hash algorithm '{}': expected one of {}",
            name.escape_debug(),
            HASH_ALGORITHMS.join(", ")
        ))
    }
}
