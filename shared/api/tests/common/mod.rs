//! What the schedule suites share: a runtime on a manual clock whose actions never end, and the
//! pipeline they schedule.

use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::pipeline::declaration::ActionCategory;
use sluice_core::port::{ActionProvider, Job, JobOutcome, Providers};
use sluice_core::system::RandomIds;
use sluice_core::time::parse_timestamp;
use sluice_local::runtime::LocalRuntime;
use sluice_statemachine::clock::ManualClock;

/// An action that never ends: a started execution stays in progress.
pub(crate) struct Waits;

impl ActionProvider for Waits {
    fn run<'a>(
        &'a self,
        _job: &'a Job,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(std::future::pending())
    }
}

pub(crate) fn at(text: &str) -> i64 {
    parse_timestamp(text).unwrap().epoch_millis()
}

/// A local runtime in `dir` at 2026-03-01T00:00:10Z on a manual clock; its S3 sources and approvals
/// never end.
pub(crate) async fn waiting_runtime(dir: &std::path::Path) -> (LocalRuntime, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at("2026-03-01T00:00:10Z")));
    let runtime = LocalRuntime::open(dir, clock.clone(), Arc::new(RandomIds), |_| {
        let mut providers = Providers::default();
        providers.register(ActionCategory::Source, "AWS", "S3", Arc::new(Waits));
        providers.register(ActionCategory::Approval, "AWS", "Manual", Arc::new(Waits));
        providers
    })
    .await
    .unwrap();
    (runtime, clock)
}

/// CreatePipeline's input for pipeline `Nightly` (S3 source, then an approval) with `tags`.
pub(crate) fn pipeline(tags: Value) -> Value {
    json!({
        "pipeline": {
            "name": "Nightly",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "nightly-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Fetch",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app.zip"},
                    "outputArtifacts": [{"name": "App"}]
                }]},
                {"name": "After", "actions": [{
                    "name": "Approve",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
                }]}
            ]
        },
        "tags": tags
    })
}
