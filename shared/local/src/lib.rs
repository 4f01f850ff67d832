//! Sluice on one machine: the adapters behind sluice-core's ports (SQLite, files, the embedded ASL
//! engine) and the local action providers.

pub mod archive;
pub mod build;
pub mod environment;
pub mod events;
pub mod git;
pub mod guard;
pub mod notifier;
pub mod orchestrator;
pub mod private;
pub mod process;
pub mod provider;
pub mod runtime;
pub mod s3_folder;
pub mod scheduler;
pub mod sealing;
pub mod secrets;
pub mod store;
pub mod watcher;
pub mod webhook;
