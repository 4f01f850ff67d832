//! The scheduler: keeps pipelines' [`Trigger`]s and makes them fire (EventBridge rules on AWS, a table and an
//! in-process cron locally). What a trigger is, and its rules, are in [`crate::trigger`].

use crate::problem::{Coded, Exception};
use crate::trigger::{Trigger, TriggerError};

/// Why the scheduler did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The trigger broke a rule; nothing was changed.
    #[error("trigger {name} of pipeline {pipeline}: {error}")]
    Invalid {
        pipeline: String,
        name: String,
        #[source]
        error: TriggerError,
    },
    /// The trigger's rule is owned by another trigger (two names that share a hashed rule name, or a rule
    /// someone else made); nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The storage or the service failed.
    #[error("the scheduler failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Coded for SchedulerError {
    fn exception(&self) -> Exception {
        match self {
            Self::Invalid { .. } => Exception::ValidationException,
            Self::Conflict(_) => Exception::ConflictException,
            Self::Backend { .. } => Exception::InternalFailure,
        }
    }
}

impl SchedulerError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend {
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }

    /// The invalid-trigger error for `trigger`.
    pub fn invalid(trigger: &Trigger, error: TriggerError) -> Self {
        Self::Invalid {
            pipeline: trigger.pipeline.clone(),
            name: trigger.name.clone(),
            error,
        }
    }
}

/// Keeps pipelines' triggers and makes them fire: EventBridge rules on AWS, a table and an in-process cron
/// locally. Its promises are checked by [`crate::contract::scheduler_contract`] against every adapter.
pub trait Scheduler: Send + Sync {
    /// Creates the trigger, or replaces the pipeline's trigger of the same name. Putting the same trigger
    /// again changes nothing. An invalid trigger is [`SchedulerError::Invalid`], and nothing is changed.
    fn put_trigger(
        &self,
        trigger: &Trigger,
    ) -> impl Future<Output = Result<(), SchedulerError>> + Send;
    /// Removes the trigger. Removing a missing one is not an error.
    fn delete_trigger(
        &self,
        pipeline: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), SchedulerError>> + Send;
    /// The pipeline's triggers, by name.
    fn triggers(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<Vec<Trigger>, SchedulerError>> + Send;
    /// Removes every trigger of the pipeline (when the pipeline is deleted). Not an error when it has none.
    fn delete_pipeline_triggers(
        &self,
        pipeline: &str,
    ) -> impl Future<Output = Result<(), SchedulerError>> + Send;
}
