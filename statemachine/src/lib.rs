//! An embeddable Amazon States Language engine that behaves like AWS Step Functions. It knows nothing of
//! pipelines.
//!
//! - [`read`](mod@read) turns a definition (JSONPath query language) into a typed
//!   [`definition::StateMachine`], or lists every problem with the JSON Pointer of the field at fault.
//! - [`path`] and [`intrinsic`] are the path and intrinsic-function languages definitions embed;
//!   [`dataflow`] and [`choice`] apply them as Step Functions does.
//! - [`run`] moves an execution: a pure function of its persisted state, one event and the time, so the
//!   engine persists every transition before acting on it and tests run in virtual time.
//!
//! Code map, one line per module:
//!
//! - [`definition`]: the typed definition (states, paths, templates, retriers, catchers); built only by `read`.
//! - [`read`](mod@read): JSON to a [`definition::StateMachine`], every problem with its AWS code and pointer.
//! - [`path`]: JSONPath as Step Functions reads it: Reference Paths, general Paths, `$`/`$$`/`$name`.
//! - [`intrinsic`]: the `States.*` intrinsic functions: call syntax, static checks, evaluation.
//! - [`dataflow`]: InputPath → Parameters → ResultSelector → ResultPath → OutputPath, templates, Assign.
//! - [`choice`]: how a Choice state's rules are evaluated.
//! - [`error`]: Step Functions' error names, and how Retry and Catch match them.
//! - [`program`]: a definition prepared to run, with states and transitions resolved to indexes.
//! - [`execution`]: the persisted state of one execution: its threads, phases and history events.
//! - [`run`]: the pure step function of an execution, (program, state, event, time) to new state and tasks.
//! - [`engine`]: Step Functions' operations (start, stop, describe, task tokens) over a store and a clock.
//! - [`store`]: the persistence port ([`store::Store`]) and its adapters, in memory and SQLite.
//! - [`clock`]: time, injected: the system clock, or a manual one for tests.
//! - [`entropy`]: randomness for task tokens, UUIDs and jitter: the OS's, or seeded for tests.

pub mod choice;
pub mod clock;
pub mod dataflow;
pub mod definition;
pub mod engine;
pub mod entropy;
pub mod error;
pub mod execution;
pub mod intrinsic;
pub mod path;
pub mod program;
pub mod read;
pub mod run;
pub mod store;

pub use definition::StateMachine;
pub use read::{InvalidDefinition, Problem, read, read_str};
