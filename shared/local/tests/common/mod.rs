//! Action providers the local runtime's suites share.

// Each suite uses part of the module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use sluice_core::port::{ActionProvider, ArtifactStore, Job, JobOutcome, JobSuccess};
use sluice_local::runtime::FileArtifactStore;

pub(crate) type Run<'a> = Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>>;

/// A source that writes a small artifact and reports a revision (`r42`) at once.
pub(crate) struct InstantSource(pub(crate) FileArtifactStore);

impl ActionProvider for InstantSource {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), b"zip bytes").unwrap();
            for output in &job.output_artifacts {
                self.0
                    .put_artifact(&output.location, file.path())
                    .await
                    .unwrap();
            }
            JobOutcome::Succeeded(JobSuccess {
                output_variables: BTreeMap::from([("Rev".to_string(), "r42".to_string())]),
                summary: Some("revision r42".to_string()),
                external_execution_id: Some("r42".to_string()),
                log: None,
            })
        })
    }
}

/// An action that succeeds at once.
pub(crate) struct InstantSuccess;

impl ActionProvider for InstantSuccess {
    fn run<'a>(&'a self, _job: &'a Job) -> Run<'a> {
        Box::pin(async { JobOutcome::Succeeded(JobSuccess::default()) })
    }
}
