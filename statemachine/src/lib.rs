//! An embeddable Amazon States Language engine that behaves like AWS Step Functions. It knows nothing of
//! pipelines.
//!
//! - [`read`] turns a definition (JSONPath query language) into a typed [`definition::StateMachine`], or
//!   lists every problem with the JSON Pointer of the field at fault.
//! - [`path`] and [`intrinsic`] are the path and intrinsic-function languages definitions embed;
//!   [`dataflow`] and [`choice`] apply them as Step Functions does.
//! - [`run`] moves an execution: a pure function of its persisted state, one event and the time, so the
//!   engine persists every transition before acting on it and tests run in virtual time.

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

/// The SQLite adapter under its earlier path (`sluice_statemachine::sqlite::SqliteStore`); it lives in
/// [`store`], below the port it implements.
pub mod sqlite {
    pub use crate::store::SqliteStore;
}

pub use definition::StateMachine;
pub use read::{InvalidDefinition, Problem, read, read_str};
