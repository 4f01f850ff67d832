//! Paths of the Amazon States Language in JSONPath query mode.
//!
//! A state machine definition uses path text in three ways:
//!
//! * [`ReferencePath`]: a path that identifies exactly one node. `ResultPath`
//!   writes through it; Choice `Variable`, `ItemsPath` and the `*Path` fields
//!   read through it.
//! * [`Path`]: a general path that may select many nodes (`InputPath`,
//!   `OutputPath`, the value of a key ending in `.$`).
//! * [`PathRef`]: the prefix of a path-valued field decides what it is applied
//!   to: `$$` the Context Object, `$name` a workflow variable, `$` the input.
//!
//! Step Functions follows Jayway JsonPath, not RFC 9535. General paths are
//! therefore parsed here with Jayway's syntax (including the backslash escapes
//! the spec uses), rewritten into RFC 9535 text and evaluated by
//! `serde_json_path`. Reference paths never need a query engine and are walked
//! directly, which is also what makes the ResultPath write possible.
//!
//! Sources cited below:
//!
//! * \[SPEC]: the States Language spec, <https://states-language.net/spec.html>,
//!   sections "Paths", "Reference Paths", "Using InputPath, Parameters,
//!   ResultSelector, ResultPath and OutputPath" and "Runtime Errors".
//! * \[DG-PATHS]: AWS Step Functions Developer Guide, "Paths",
//!   <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>.
//! * \[DG-RESULTPATH]: Developer Guide, "Specifying state output using
//!   ResultPath", `input-output-resultpath.html`.
//! * \[DG-INPUTPATH]: Developer Guide, "InputPath and Parameters",
//!   `input-output-inputpath-params.html`.
//! * \[LS-11369]: LocalStack PR #11369 / issue #11321 (AWS returns the scalar
//!   for a literal index access such as `$.items[0]`; moto keeps wrapping it).
//! * \[LS-12366]: LocalStack PR #12366 / issue #12318 (AWS returns `[]` when a
//!   wildcard or slice path matches nothing).
//! * \[SFN-LOCAL]: floci issue #3479 and PR #3483, which compare against
//!   AWS's Step Functions Local 2.0.0: a ResultPath such as `$[1].payload`
//!   writes into the existing array element; an index that does not exist is a
//!   `States.ResultPathMatchFailure`.
//! * \[ASL-PATH-VALIDATOR]: the path tests of asl-validator's path validator
//!   (`$.book[-2]` is not a Reference Path; a filter that reads `$` and the
//!   regex operator `=~` are invalid everywhere).
//!
//! Where things live: `syntax` reads the Jayway syntax both kinds of path share into segments;
//! `reference` is [`ReferencePath`] (read and ResultPath write); `query` is the general [`Path`] and its
//! evaluation; `path_ref` is [`PathRef`], the prefix of a path-valued field; `error` is [`PathError`];
//! `tests` holds the examples of the spec, the guide and the peers, and the property checks.

mod error;
mod path_ref;
mod query;
mod reference;
mod syntax;
#[cfg(test)]
mod tests;

pub use error::PathError;
pub use path_ref::PathRef;
pub use query::Path;
pub use reference::ReferencePath;
