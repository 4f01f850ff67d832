//! Use cases: what the API and the CLI ask of the domain, each a function over the ports. [`pipeline`]
//! puts and deletes pipelines, [`execution`] starts, stops and retries executions, [`transition`]
//! disables and enables stage transitions, [`webhook`] receives webhook deliveries, [`rule`] turns
//! EventBridge rules of `sluice serve`'s own into triggers.

pub mod execution;
pub mod pipeline;
pub mod rule;
pub mod transition;
pub mod webhook;
