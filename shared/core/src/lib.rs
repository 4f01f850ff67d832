//! Sluice's domain, shared by the Lambda functions and the local runtime: CodePipeline's pipeline model and
//! its validation, the compiler of a pipeline into its state machine, and the handlers that run it (the
//! dispatcher, the workers, the use cases of the API), all over the ports of [`port`].
//!
//! ## Layers
//!
//! The modules form layers that point one way: a module may use the modules of the layers above it in
//! this list, never one of its own layer or below it. `tests/layers.rs` reads this list and fails when a
//! `crate::` path breaks the rule, so a new module goes into the list first.
//!
//! 1. `time`, `problem`, `html`: timestamps; validation findings with their CodePipeline exception; HTML
//!    text escaped.
//! 2. `model`: the botocore models of CodePipeline's API (and EventBridge's), and checking a document
//!    against their shapes.
//! 3. `pipeline`: a pipeline as CodePipeline declares it, and reading it from a file.
//! 4. `schedule`, `variable`, `condition`, `stage`, `protocol`: the vocabulary over a pipeline (schedule
//!    expressions, `#{namespace.name}` references, condition rules, who may enter a stage), and the
//!    compiled machine's protocol (payload kinds, `Sluice.*` error names).
//! 5. `trigger`, `action`: what starts a pipeline; the action-type catalog.
//! 6. `validate`, `compile`, `record`: CodePipeline's structural rules; a pipeline into its state machine
//!    (pure); the records the stores keep (types only).
//! 7. `port`: every trait the domain uses to reach the world, and the types they exchange.
//! 8. `builders`, `system`, `transient`, `memory`, `webhook`: events and new records built from records (pure); the
//!    system clock and random ids; trying a step again in process; every port in memory, for tests (the
//!    `test-util` feature); webhook deliveries verified, read and matched (pure).
//! 9. `recorder`: every write of an execution, stage or action record, and the event it announces.
//! 10. `dispatcher`, `worker`: the machine's bookkeeping steps; running one action attempt.
//! 11. `usecase`, `job`: what the API asks (put, start, stop, retry, transitions, rules); the custom-action job
//!     worker protocol.
//! 12. `approval`: manual approvals, waiting and decided.
//! 13. `contract`: the suites every adapter of a port must pass.

pub mod action;
pub mod approval;
pub mod builders;
pub mod compile;
pub mod condition;
pub mod contract;
pub mod dispatcher;
pub mod html;
pub mod job;
#[cfg(feature = "test-util")]
pub mod memory;
pub mod model;
pub mod pipeline;
pub mod port;
pub mod problem;
pub mod protocol;
pub mod record;
pub mod recorder;
pub mod schedule;
pub mod stage;
pub mod system;
pub mod time;
pub mod transient;
pub mod trigger;
pub mod usecase;
pub mod validate;
pub mod variable;
pub mod webhook;
pub mod worker;
