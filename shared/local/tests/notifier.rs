//! The log notifier keeps sluice-core's notifier contract, and a manual approval naming a
//! `NotificationArn` publishes CodePipeline's approval-needed message through it.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use sluice_core::approval::link::{PublicUrl, ReviewLinks};
use sluice_core::approval::{
    ApprovalNotices, ApprovalStatus, ManualApproval, put_approval_result, waiting_approvals,
};
use sluice_core::compile::CompileOptions;
use sluice_core::contract::{Delivered, Inbox, notifier_contract};
use sluice_core::port::{
    ActionProvider, ExecutionStore, Job, JobOutcome, Message, Notifier, NotifyError, StopSignal,
};
use sluice_core::record::PipelineExecutionStatus;
use sluice_core::time::Timestamp;
use sluice_core::usecase::execution::{StartRequest, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::notifier::LogNotifier;
use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::LocalRuntime;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

/// Reads one topic's lines of the notifications file, each once.
struct FileInbox {
    notifier: LogNotifier,
    topic: String,
    seen: Mutex<usize>,
}

impl Inbox for FileInbox {
    fn topic(&self) -> &str {
        &self.topic
    }

    async fn receive(&self, _count: usize) -> Vec<Delivered> {
        // Publishing writes the line before it returns: there is nothing to wait for.
        let mine: Vec<Delivered> = self
            .notifier
            .messages()
            .unwrap()
            .into_iter()
            .filter(|m| m.topic == self.topic)
            .map(|m| Delivered {
                message_id: m.message_id,
                subject: m.subject,
                body: m.body,
            })
            .collect();
        let mut seen = self.seen.lock().unwrap();
        let new = mine[*seen..].to_vec();
        *seen = mine.len();
        new
    }
}

fn inbox(notifier: &LogNotifier, topic: &str) -> FileInbox {
    FileInbox {
        notifier: notifier.clone(),
        topic: topic.to_string(),
        seen: Mutex::new(0),
    }
}

#[tokio::test]
async fn the_log_notifier_keeps_the_notifier_contract() {
    let data = tempfile::tempdir().unwrap();
    let notifier = LogNotifier::new(data.path());
    notifier_contract(&notifier, &inbox(&notifier, "local-topic")).await;
    // Locally a topic may be any name; an ARN-looking one is held to SNS's form as on AWS.
    notifier_contract(&notifier, &inbox(&notifier, TOPIC)).await;
}

#[tokio::test]
async fn the_notifications_file_is_private_json_lines_and_arn_topics_must_be_sns_arns() {
    let data = tempfile::tempdir().unwrap();
    let notifier = LogNotifier::new(data.path());
    let message = Message {
        subject: "s".to_string(),
        body: "line one\nline two".to_string(),
    };
    for _ in 0..2 {
        notifier.publish("team", &message).await.unwrap();
    }
    let mode = std::fs::metadata(notifier.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the file");
    let text = std::fs::read_to_string(notifier.path()).unwrap();
    assert_eq!(text.lines().count(), 2, "one line per message: {text}");
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["body"], "line one\nline two");
        assert_eq!(value["topic"], "team");
    }
    let bad = "arn:aws:sqs:us-east-1:123456789012:queue";
    match notifier.publish(bad, &message).await {
        Err(NotifyError::InvalidTopic { topic, .. }) => assert_eq!(topic, bad),
        other => panic!("an ARN that is not an SNS topic's is refused, got {other:?}"),
    }
    assert_eq!(notifier.messages().unwrap().len(), 2, "nothing was written");
}

fn approval_job(configuration: &[(&str, &str)]) -> Job {
    let action = serde_json::from_value(json!({
        "name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": configuration.iter().cloned().collect::<BTreeMap<_, _>>()
    }))
    .unwrap();
    Job {
        pipeline: "Release".to_string(),
        pipeline_execution_id: "e1".to_string(),
        stage: "Gate".to_string(),
        action,
        action_execution_id: "0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a".to_string(),
        configuration: configuration
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        environment_variables: Vec::new(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        source_revision: None,
        // The default approval timeout: 7 days.
        timeout: Duration::from_secs(7 * 24 * 3600),
        // 2026-01-01T00:00:30Z
        started: Timestamp::from_epoch_millis(1_767_225_630_000),
        variables: BTreeMap::new(),
        stop: StopSignal::never(),
    }
}

fn notifying(data: &Path) -> ManualApproval<LogNotifier> {
    ManualApproval::with_notifier(ApprovalNotices {
        notifier: LogNotifier::new(data),
        region: "eu-west-1".to_string(),
        links: ReviewLinks::unsigned(PublicUrl::parse("http://127.0.0.1:4570").unwrap()),
    })
}

#[tokio::test]
async fn an_approval_naming_a_topic_publishes_the_approval_needed_message_and_waits() {
    let data = tempfile::tempdir().unwrap();
    let job = approval_job(&[
        ("NotificationArn", TOPIC),
        ("CustomData", "Check the staging site"),
        ("ExternalEntityLink", "https://staging.example.com"),
    ]);
    assert_eq!(notifying(data.path()).run(&job).await, JobOutcome::Waiting);
    let messages = LogNotifier::new(data.path()).messages().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].topic, TOPIC);
    assert_eq!(
        messages[0].subject,
        "APPROVAL NEEDED: AWS CodePipeline Release for action Approve"
    );
    let body: Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "region": "eu-west-1",
            "consoleLink": "http://127.0.0.1:4570/view/Release",
            "approval": {
                "pipelineName": "Release",
                "stageName": "Gate",
                "actionName": "Approve",
                "token": "0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a",
                "expires": "2026-01-08T00:00Z",
                "externalEntityLink": "https://staging.example.com",
                "approvalReviewLink": "http://127.0.0.1:4570/view/Release/Gate/Approve/approve/0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a",
                "customData": "Check the staging site"
            }
        })
    );
    // Without a topic the approval only waits.
    let quiet = approval_job(&[("CustomData", "no topic")]);
    assert_eq!(
        notifying(data.path()).run(&quiet).await,
        JobOutcome::Waiting
    );
    assert_eq!(LogNotifier::new(data.path()).messages().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_notification_arn_or_a_missing_notifier_fails_the_approval_as_a_configuration_error()
{
    let data = tempfile::tempdir().unwrap();
    let bad = approval_job(&[("NotificationArn", "approvals-topic")]);
    match notifying(data.path()).run(&bad).await {
        JobOutcome::Failed(failure) => {
            assert_eq!(failure.failure_type, "ConfigurationError");
            assert!(
                failure
                    .message
                    .contains("NotificationArn \"approvals-topic\" is not valid"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert!(LogNotifier::new(data.path()).messages().unwrap().is_empty());

    let named = approval_job(&[("NotificationArn", TOPIC)]);
    match ManualApproval::without_notifier().run(&named).await {
        JobOutcome::Failed(failure) => {
            assert_eq!(failure.failure_type, "ConfigurationError");
            assert!(
                failure
                    .message
                    .contains("cannot send approval notifications"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert_eq!(
        ManualApproval::without_notifier()
            .run(&approval_job(&[]))
            .await,
        JobOutcome::Waiting,
        "without a topic no notifier is needed"
    );
}

#[tokio::test]
async fn the_local_runtime_notifies_the_topic_when_an_approval_starts_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/sources")).unwrap();
    std::fs::write(data.join("s3/sources/app.zip"), b"not really a zip").unwrap();
    let runtime = LocalRuntime::open_default(
        &data,
        providers_for(LocalConfig::default(), BTreeMap::new()),
    )
    .await
    .unwrap();
    let pipeline = serde_json::from_value(json!({
        "name": "Notified",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "notified-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "sources", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "App"}]
            }]},
            {"name": "Gate", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "configuration": {"NotificationArn": TOPIC, "CustomData": "Ship #{codepipeline.PipelineExecutionId}?"}
            }]}
        ]
    }))
    .unwrap();
    put_pipeline(&runtime.ports, &pipeline, &CompileOptions::default())
        .await
        .unwrap();
    let execution = start_execution(&runtime.ports, "Notified", StartRequest::default())
        .await
        .unwrap();
    let id = execution.pipeline_execution_id.clone();
    let mut waiting = Vec::new();
    for _ in 0..300 {
        waiting = waiting_approvals(&runtime.ports, "Notified", "Gate", "Approve")
            .await
            .unwrap();
        if !waiting.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = waiting
        .first()
        .expect("the approval waits within 15 s")
        .action_execution_id
        .clone();
    let messages = LogNotifier::new(&data).messages().unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body: Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(messages[0].topic, TOPIC);
    assert_eq!(
        body["approval"]["token"],
        token.as_str(),
        "the token approves it"
    );
    assert_eq!(
        body["approval"]["customData"],
        format!("Ship {id}?").as_str(),
        "CustomData is sent with its variables resolved"
    );
    put_approval_result(
        &runtime.ports,
        "Notified",
        "Gate",
        "Approve",
        &token,
        ApprovalStatus::Approved,
        "",
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
        .execution("Notified", &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, PipelineExecutionStatus::Succeeded, "{done:?}");
    runtime.shutdown();
}
