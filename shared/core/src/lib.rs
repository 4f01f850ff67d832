//! Sluice's domain, shared by the Lambda functions and the local runtime: CodePipeline's pipeline model and
//! its validation, the action-type catalog, and the API model everything is checked against.
//!
//! Modules are named for what a CodePipeline user would name: [`pipeline`] (declaration, loading,
//! validation), [`action`] (action types), [`condition`] (stage-condition rule types), [`variable`]
//! (`#{namespace.name}` references), [`compile`] (a pipeline into its state machine), [`stage`] (who may enter a stage: locks, transitions,
//! execution modes). [`model`] is the botocore API model; [`problem`] the findings.

pub mod action;
pub mod approval;
pub mod compile;
pub mod condition;
pub mod contract;
pub mod dispatcher;
pub mod events;
pub mod execution;
pub mod job;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod port;
pub mod problem;
pub mod schedule;
pub mod secret;
pub mod stage;
pub mod system;
pub mod time;
pub mod transient;
pub mod trigger;
pub mod variable;
pub mod worker;
