//! Action providers: what runs one action attempt of a type (a build, a deploy, an approval, a custom job
//! worker), the job it is given, and how it answers. Providers are looked up in a [`Providers`] registry by
//! (category, owner, provider); [`crate::worker`] runs them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::declaration::{
    ActionCategory, ActionDeclaration, ActionTypeId, Configuration,
};
use crate::record::{ArtifactDetail, SourceRevisionOverride};
use crate::time::Timestamp;

/// Everything a provider needs to run one action attempt (CodePipeline's job data).
#[derive(Debug, Clone)]
pub struct Job {
    pub pipeline: String,
    pub pipeline_execution_id: String,
    pub stage: String,
    pub action: ActionDeclaration,
    pub action_execution_id: String,
    /// The action's configuration with variable references resolved.
    pub configuration: Configuration,
    /// The Commands action's environment variables, resolved.
    pub environment_variables: Vec<(String, String)>,
    pub input_artifacts: Vec<ArtifactDetail>,
    /// Where each declared output artifact must be written.
    pub output_artifacts: Vec<ArtifactDetail>,
    /// The revision the execution is pinned to for this (source) action.
    pub source_revision: Option<SourceRevisionOverride>,
    pub timeout: Duration,
    /// When the attempt started (its record's `start_time`, kept when a task is handed over again): with
    /// `timeout`, when it times out.
    pub started: Timestamp,
    /// Pipeline variables of the execution, for providers that pass them on.
    pub variables: BTreeMap<String, String>,
    /// Fires when the attempt's outcome is no longer wanted; a provider still working stops.
    pub stop: StopSignal,
}

/// Tells a provider that its job's outcome is no longer wanted: the execution was stopped or ended, or
/// the action timed out. A provider that started processes ends them when it fires.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Option<tokio::sync::watch::Receiver<bool>>);

impl StopSignal {
    /// One that never fires (the Lambda functions, whose own timeout ends their work).
    pub fn never() -> StopSignal {
        StopSignal(None)
    }

    /// Fires once the channel holds `true`, or its sender is gone.
    pub fn from_channel(receiver: tokio::sync::watch::Receiver<bool>) -> StopSignal {
        StopSignal(Some(receiver))
    }

    /// Resolves when the job should stop; never, for [`StopSignal::never`].
    pub async fn stopped(&self) {
        match &self.0 {
            None => std::future::pending().await,
            Some(receiver) => {
                let _ = receiver.clone().wait_for(|stop| *stop).await;
            }
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|r| *r.borrow() || r.has_changed().is_err())
    }
}

/// How a finished job went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobSuccess {
    pub output_variables: BTreeMap<String, String>,
    pub summary: Option<String>,
    pub external_execution_id: Option<String>,
    pub log: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// `FailureType`: JobFailed, ConfigurationError, PermissionError, RevisionUnavailable, …
    pub failure_type: String,
    pub message: String,
    pub log: Option<String>,
}

impl JobFailure {
    pub fn job_failed(message: impl Into<String>) -> Self {
        Self {
            failure_type: "JobFailed".to_string(),
            message: message.into(),
            log: None,
        }
    }

    pub fn configuration(message: impl Into<String>) -> Self {
        Self {
            failure_type: "ConfigurationError".to_string(),
            message: message.into(),
            log: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded(JobSuccess),
    Failed(JobFailure),
    /// The job waits for a decision from outside (an approval); [`crate::worker::complete_action`] ends it.
    Waiting,
}

impl JobOutcome {
    /// The action failed (JobFailed): the work was tried and did not succeed.
    pub fn job_failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(JobFailure::job_failed(message.to_string()))
    }

    /// The action is declared wrong (ConfigurationError): trying again will not help.
    pub fn configuration_error(message: impl Into<String>) -> Self {
        Self::Failed(JobFailure::configuration(message))
    }
}

impl Job {
    /// A configuration value the action must have, or a ConfigurationError naming the action and key.
    pub fn required(&self, key: &str) -> Result<&str, JobOutcome> {
        self.configuration
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                JobOutcome::configuration_error(format!(
                    "Action {} needs the configuration key {key}",
                    self.action.name
                ))
            })
    }
}

/// One action provider. Boxed futures, so providers of every kind sit in one registry.
pub trait ActionProvider: Send + Sync {
    fn run<'a>(&'a self, job: &'a Job) -> Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>>;
}

/// Providers by action type: (category, owner, provider).
#[derive(Default, Clone)]
pub struct Providers {
    providers: BTreeMap<(String, String, String), Arc<dyn ActionProvider>>,
    /// The provider of every action type owned by `Custom` (the job-worker protocol).
    custom: Option<Arc<dyn ActionProvider>>,
}

impl Providers {
    pub fn register(
        &mut self,
        category: ActionCategory,
        owner: &str,
        provider: &str,
        implementation: Arc<dyn ActionProvider>,
    ) {
        self.providers.insert(
            (
                category.name().to_string(),
                owner.to_string(),
                provider.to_string(),
            ),
            implementation,
        );
    }

    /// Runs every action whose type is owned by `Custom`.
    pub fn register_custom(&mut self, implementation: Arc<dyn ActionProvider>) {
        self.custom = Some(implementation);
    }

    pub fn get(&self, type_id: &ActionTypeId) -> Option<Arc<dyn ActionProvider>> {
        if type_id.owner == crate::pipeline::declaration::ActionOwner::Custom
            && let Some(custom) = &self.custom
        {
            return Some(custom.clone());
        }
        self.providers
            .get(&(
                type_id.category.name().to_string(),
                type_id.owner.name().to_string(),
                type_id.provider.clone(),
            ))
            .cloned()
    }
}
