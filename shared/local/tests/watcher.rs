//! The source watcher on one machine: an S3 source with PollForSourceChanges false starts its pipeline
//! when its bucket folder's object is written; polled S3, CodeCommit and GitHub sources start once per
//! new object version or commit. Real files, a real git repository, the real local runtime.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::compile::CompileOptions;
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{ActionProvider, ExecutionStore, Job, JobOutcome, Providers};
use sluice_core::record::PipelineExecution;
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::runtime::LocalRuntime;
use sluice_local::watcher::{SourceWatcher, WatchFiring};

/// A source that never finishes: executions stay in progress and the test reads their records.
struct Waits;

impl ActionProvider for Waits {
    fn run<'a>(&'a self, _job: &'a Job) -> Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async { JobOutcome::Waiting })
    }
}

fn pipeline(source: Value) -> PipelineDeclaration {
    serde_json::from_value(json!({
        "name": "Flow", "pipelineType": "V2", "executionMode": "PARALLEL",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "flow-artifacts"},
        "stages": [
            {"name": "Source", "actions": [source]},
            {"name": "Gate", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    }))
    .unwrap()
}

fn s3_source(poll: &str) -> Value {
    json!({
        "name": "Upload",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "incoming", "S3ObjectKey": "app.zip", "PollForSourceChanges": poll},
        "outputArtifacts": [{"name": "Src"}]
    })
}

struct Fixture {
    runtime: LocalRuntime,
    watcher: SourceWatcher,
    data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(source: Value, sources: &[(&str, &Path)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let runtime = LocalRuntime::open_default(&data, |_| {
            let mut providers = Providers::default();
            for provider in ["S3", "CodeCommit"] {
                providers.register(ActionCategory::Source, "AWS", provider, Arc::new(Waits));
            }
            providers.register(ActionCategory::Approval, "AWS", "Manual", Arc::new(Waits));
            providers
        })
        .await
        .unwrap();
        put_pipeline(
            &runtime.ports,
            &pipeline(source),
            &CompileOptions::default(),
        )
        .await
        .unwrap();
        let sources = sources
            .iter()
            .map(|(name, path)| (name.to_string(), path.display().to_string()))
            .collect();
        let watcher = SourceWatcher::new(&data, sources, "eu-west-1", "111122223333");
        Fixture {
            runtime,
            watcher,
            data,
            _dir: dir,
        }
    }

    async fn look(&self, poll: bool) -> Vec<WatchFiring> {
        let look = self.watcher.look(&self.runtime.ports, poll).await;
        assert!(look.problems.is_empty(), "{:?}", look.problems);
        look.fired.into_iter().map(|(_, firing)| firing).collect()
    }

    fn put_object(&self, bytes: &[u8]) {
        let folder = self.data.join("s3/incoming");
        std::fs::create_dir_all(&folder).unwrap();
        // Written beside and moved in, as an upload lands whole.
        let part = folder.join(".app.zip.part");
        std::fs::write(&part, bytes).unwrap();
        std::fs::rename(&part, folder.join("app.zip")).unwrap();
    }

    async fn execution(&self, id: &str) -> PipelineExecution {
        self.runtime
            .ports
            .store
            .execution("Flow", id)
            .await
            .unwrap()
            .expect("the firing's execution exists")
    }

    async fn executions(&self) -> usize {
        self.runtime
            .ports
            .store
            .executions("Flow")
            .await
            .unwrap()
            .len()
    }
}

#[tokio::test]
async fn an_object_written_to_the_bucket_folder_starts_the_pipeline_once_per_write() {
    let fixture = Fixture::new(s3_source("false"), &[]).await;
    fixture.put_object(b"before the watch");
    assert_eq!(
        fixture.look(false).await,
        [],
        "what was there before starts nothing"
    );
    assert_eq!(fixture.look(false).await, []);
    fixture.put_object(b"version 1");
    let fired = fixture.look(false).await;
    assert_eq!(fired.len(), 1, "seen at the next look, no poll needed");
    let execution = fixture.execution(&fired[0].execution_id).await;
    assert_eq!(execution.trigger.trigger_type, "CloudWatchEvent");
    assert_eq!(
        execution.trigger.trigger_detail.as_deref(),
        Some("arn:aws:events:eu-west-1:111122223333:rule/sluice-Flow-source-Upload")
    );
    assert_eq!(fixture.look(false).await, [], "one execution per write");
    // S3 reports every put, even of the same bytes.
    fixture.put_object(b"version 1");
    assert_eq!(fixture.look(false).await.len(), 1);
    std::fs::remove_file(fixture.data.join("s3/incoming/app.zip")).unwrap();
    assert_eq!(fixture.look(true).await, [], "a deletion starts nothing");
    assert_eq!(fixture.executions().await, 2);
}

#[tokio::test]
async fn a_polled_object_starts_the_pipeline_once_per_new_version_at_the_poll() {
    let fixture = Fixture::new(s3_source("true"), &[]).await;
    assert_eq!(fixture.look(true).await, [], "the baseline: no object yet");
    fixture.put_object(b"version 1");
    assert_eq!(
        fixture.look(false).await,
        [],
        "polled sources wait for the poll"
    );
    let fired = fixture.look(true).await;
    assert_eq!(fired.len(), 1);
    let execution = fixture.execution(&fired[0].execution_id).await;
    assert_eq!(execution.trigger.trigger_type, "PollForSourceChanges");
    fixture.put_object(b"version 1");
    assert_eq!(
        fixture.look(true).await,
        [],
        "the same bytes are the same version"
    );
    fixture.put_object(b"version 2");
    assert_eq!(fixture.look(true).await.len(), 1);
    assert_eq!(fixture.look(true).await, []);
    assert_eq!(fixture.executions().await, 2);
}

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test]
async fn a_polled_repository_starts_the_pipeline_once_per_new_commit_pinned_to_it() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(repo.path().join("a.txt"), "1").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "one"]);
    let source = json!({
        "name": "Code",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
        "configuration": {"RepositoryName": "app", "BranchName": "main"},
        "outputArtifacts": [{"name": "Src"}]
    });
    let fixture = Fixture::new(source, &[("app", repo.path())]).await;
    assert_eq!(
        fixture.look(true).await,
        [],
        "the commit there before the watch starts nothing"
    );
    std::fs::write(repo.path().join("a.txt"), "2").unwrap();
    git(repo.path(), &["commit", "-q", "-am", "two"]);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    let fired = fixture.look(true).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].revision, head);
    let execution = fixture.execution(&fired[0].execution_id).await;
    assert_eq!(execution.trigger.trigger_type, "PollForSourceChanges");
    assert_eq!(execution.source_revisions[0].revision_value, head);
    assert_eq!(execution.source_revisions[0].revision_type, "COMMIT_ID");
    assert_eq!(fixture.look(true).await, [], "never twice for one commit");
    assert_eq!(fixture.executions().await, 1);
}
