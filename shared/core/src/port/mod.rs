//! The ports: every trait the domain uses to reach the world, one small trait per capability, and the
//! types they exchange. Adapters implement them: shared/local (SQLite, files, the embedded engine) and
//! shared/aws (DynamoDB, S3, Step Functions, EventBridge, SNS, Secrets Manager). [`Ports`] bundles the ones
//! every handler needs; the contract suites in [`crate::contract`] check each adapter's promises.
//!
//! Every state change is a conditional write: a record carries the version it was read at, and a write
//! against a newer stored version fails with [`StoreError::Conflict`], so a second writer loses cleanly and
//! retries from a fresh read.

mod artifact;
mod events;
mod notifier;
mod orchestrator;
mod provider;
mod scheduler;
mod secrets;
mod store;

use crate::time::Timestamp;

pub use artifact::*;
pub use events::*;
pub use notifier::*;
pub use orchestrator::*;
pub use provider::*;
pub use scheduler::*;
pub use secrets::*;
pub use store::*;

/// An error that says whether trying again may help.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

/// Wall-clock time, injected so tests run on virtual time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Identifiers (execution ids, action execution ids, artifact key suffixes), injected so tests can seed them.
pub trait Ids: Send + Sync {
    /// A random UUID (version 4), as CodePipeline's execution ids are.
    fn uuid(&self) -> String;
    /// `len` random characters from [A-Za-z0-9], as CodePipeline's artifact keys end.
    fn token(&self, len: usize) -> String;
}

/// The ports a handler runs over, bundled so a handler's signature stays short. Each runtime builds one:
/// `sluice_local::LocalPorts`, and on AWS the Lambda functions' ports.
pub trait Ports: Send + Sync {
    type Store: Store;
    type Orchestrator: Orchestrator;
    type Artifacts: ArtifactStore;
    /// Where state-change events go (EventBridge on AWS, `events.jsonl` locally).
    type Events: crate::port::EventPublisher;
    /// Triggers: EventBridge rules on AWS, SQLite and the in-process cron locally.
    type Scheduler: crate::port::Scheduler;
    fn store(&self) -> &Self::Store;
    fn orchestrator(&self) -> &Self::Orchestrator;
    fn artifacts(&self) -> &Self::Artifacts;
    fn events(&self) -> &Self::Events;
    fn scheduler(&self) -> &Self::Scheduler;
    fn clock(&self) -> &dyn Clock;
    fn ids(&self) -> &dyn Ids;
}
