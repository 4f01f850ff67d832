//! The local CodeBuild: runs a buildspec (version 0.2) on this machine, in bash, for the
//! CodeBuild provider's Build and Test actions and for the Commands action (category Compute).
//!
//! - [`spec`]: the buildspec as typed data, parsed with CodeBuild's `YAML_FILE_ERROR` messages.
//! - [`runner`]: running it — phases, one shell session across commands, the log, the timeout,
//!   exported variables and output artifacts.

pub mod runner;
pub mod spec;

pub use runner::{BuildError, BuildJob, BuildOutput, InputSource, SpecSource, run_build};
pub use spec::{
    ArtifactFiles, Artifacts, Buildspec, Env, OnFailure, Phase, PhaseName, Phases, SpecError,
};
