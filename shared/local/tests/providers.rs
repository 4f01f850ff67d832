//! The local providers inside the runtime: a git source pinned to a revision by the execution.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use sluice_core::compile::CompileOptions;
use sluice_core::port::{ActionExecutionStore, ExecutionStore};
use sluice_core::record::{PipelineExecutionStatus, SourceRevisionOverride};
use sluice_core::usecase::execution::{StartRequest, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::LocalRuntime;

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test]
async fn a_git_source_fetches_the_revision_the_execution_is_pinned_to_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("version.txt"), "one").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("version.txt"), "two").unwrap();
    git(&repo, &["commit", "-q", "-am", "second"]);

    let config = LocalConfig {
        sources: BTreeMap::from([("org/app".to_string(), repo.to_string_lossy().into_owned())]),
        ..LocalConfig::default()
    };
    let data = dir.path().join("data");
    let runtime = LocalRuntime::open_default(&data, providers_for(config, BTreeMap::new()))
        .await
        .unwrap();
    let pipeline = serde_json::from_value(json!({
        "name": "Pinned",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "pinned-artifacts"},
        "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Checkout", "namespace": "Src",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                                  "FullRepositoryId": "org/app", "BranchName": "main"},
                "outputArtifacts": [{"name": "Code"}]
            }]},
            {"name": "Deploy", "actions": [{
                "name": "Publish",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"BucketName": "site", "Extract": "true"},
                "inputArtifacts": [{"name": "Code"}]
            }]}
        ]
    }))
    .unwrap();
    put_pipeline(&runtime.ports, &pipeline, &CompileOptions::default())
        .await
        .unwrap();
    let execution = start_execution(
        &runtime.ports,
        "Pinned",
        StartRequest {
            source_revisions: vec![SourceRevisionOverride {
                action_name: "Checkout".to_string(),
                revision_type: "COMMIT_ID".to_string(),
                revision_value: first.clone(),
            }],
            ..StartRequest::default()
        },
    )
    .await
    .unwrap();
    let arn = execution.orchestration.clone().unwrap();
    tokio::time::timeout(Duration::from_secs(60), runtime.engine().wait(&arn))
        .await
        .unwrap()
        .unwrap();
    let done = runtime
        .ports
        .store
        .execution("Pinned", &execution.pipeline_execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, PipelineExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        std::fs::read_to_string(data.join("s3/site/version.txt")).unwrap(),
        "one",
        "the pinned commit was deployed, not the branch tip"
    );
    let checkout = &runtime
        .ports
        .store
        .action_executions("Pinned", Some(&execution.pipeline_execution_id))
        .await
        .unwrap()[0];
    assert_eq!(checkout.output_variables["CommitId"], first);
    assert_eq!(checkout.output_variables["CommitMessage"].trim(), "first");
    assert_eq!(checkout.output_variables["BranchName"], "main");
    assert_eq!(checkout.output_variables["FullRepositoryName"], "org/app");
    assert_eq!(
        checkout.output_artifacts[0].revision.as_deref(),
        Some(first.as_str())
    );
    runtime.shutdown();
}
