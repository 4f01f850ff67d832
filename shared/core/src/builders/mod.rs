//! Pure builders: records and events derived from records, with no effects. [`event`] builds CodePipeline's
//! state-change events, [`notice`] an approval's notification, [`execution`] a new execution record and an
//! output artifact's location.

pub mod event;
pub mod execution;
pub mod notice;
