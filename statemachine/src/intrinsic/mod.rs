//! Amazon States Language intrinsic functions (JSONPath mode): parser, static
//! checks and evaluator.
//!
//! Intrinsics appear in `.$` values of payload templates, for example
//! `"greeting.$": "States.Format('Hello, {}', $.name)"`. This module turns such a
//! value into an [`Intrinsic`] syntax tree ([`parse`](fn@parse)), refuses definitions that
//! can never run (unknown names, wrong arity, literal arguments of the wrong
//! type), and evaluates a tree against the engine's data ([`evaluate`]).
//!
//! Sources, referred to in comments as:
//! * **DG** the AWS Step Functions developer guide page "Intrinsic functions
//!   for JSONPath states" (`intrinsic-functions.html`);
//! * **SPEC** the Amazon States Language specification (states-language.net),
//!   "Intrinsic Functions" and Appendix B;
//! * **LS** LocalStack's Step Functions test snapshots, which are recorded
//!   against real AWS (`tests/aws/services/stepfunctions/v2/intrinsic_functions`).
//!   They settle the cases that the guide leaves open.
//!
//! Paths are left as unparsed strings ([`Arg::Path`]). The engine resolves them
//! through the `resolve` callback that it passes to [`evaluate`].
//!
//! Where things live:
//! * `syntax`: the tree ([`Intrinsic`], [`Function`] with its names and [`Arity`], [`Arg`], [`PathKind`]);
//! * `error`: [`IntrinsicError`], for the definition and at run time;
//! * `parse`: the call syntax, text to tree ([`parse`](fn@parse), [`is_intrinsic_call`]);
//! * `check`: the static checks of each call (arity, literal argument types), shared by the parser
//!   and [`evaluate`];
//! * `eval`: [`evaluate`], and the dispatch to one function per call;
//! * `random`: [`Randomness`], the source the engine passes in for States.UUID and States.MathRandom;
//! * `args`: evaluated arguments with typed accessors, and the integer rounding AWS applies;
//! * one file per function family of the guide: `array` (States.Array…), `encoding` (Base64 and
//!   States.Hash), `json` (StringToJson, JsonToString, JsonMerge), `math` (MathAdd, MathRandom) and
//!   `string` (Format, StringSplit);
//! * `tests`: the guide's, the specification's and LocalStack's examples, and the edges.

mod args;
mod array;
mod check;
mod encoding;
mod error;
mod eval;
mod json;
mod math;
mod parse;
mod random;
mod string;
mod syntax;
#[cfg(test)]
mod tests;

pub use error::{ArgCount, IntrinsicError};
pub use eval::evaluate;
pub use parse::{is_intrinsic_call, parse};
pub use random::Randomness;
pub use syntax::{Arg, Arity, Function, Intrinsic, PathKind, path_kind};

/// DG: "You can nest up to 10 intrinsic functions within a field". The guide
/// calls its own example, which is 5 calls deep and has 9 calls in all,
/// "nine nested intrinsic functions". So the limit counts every call in the
/// field, the outermost one included, and not the depth.
pub const MAX_CALLS_PER_FIELD: usize = 10;

/// DG States.ArrayRange: "The newly generated array can't contain more than 1000 items."
pub const MAX_ARRAY_RANGE_ITEMS: usize = 1000;

/// DG States.Base64Encode / Base64Decode / Hash: input data of "up to 10,000 characters".
pub const MAX_ENCODING_INPUT_CHARS: usize = 10_000;

/// DG States.Hash: the algorithms that the guide lists, spelled exactly as they must appear.
pub const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];
