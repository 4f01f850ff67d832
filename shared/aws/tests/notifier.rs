//! The SNS notifier against moto_server: sluice-core's notifier contract, read back through an SQS queue
//! subscribed to the topic, and the manual approval's message as a subscriber receives it.

mod common;
mod queue;

use queue::TestQueue;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::Moto;
use sluice_aws::provider::{WorkerKind, providers_with};
use sluice_aws::sns::SnsNotifier;
use sluice_core::approval::link::{PublicUrl, ReviewLinks};
use sluice_core::approval::{ApprovalNotices, ManualApproval};
use sluice_core::contract::{Delivered, Inbox, notifier_contract};
use sluice_core::port::{Job, JobOutcome, Message, Notifier, NotifyError, StopSignal};
use sluice_core::time::Timestamp;

/// An SQS queue subscribed to an SNS topic: what SNS delivered, read from the queue's envelopes
/// (`{"Type": "Notification", "MessageId", "Subject", "Message", …}`).
struct QueueInbox {
    queue: TestQueue,
    topic: String,
}

impl QueueInbox {
    async fn subscribe(moto: &Moto, topic_name: &str) -> QueueInbox {
        let config = moto.config().await;
        let sns = aws_sdk_sns::Client::new(&config.sdk);
        let topic = sns
            .create_topic()
            .name(topic_name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue = TestQueue::create(&config, &format!("{topic_name}-inbox")).await;
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&queue.arn)
            .send()
            .await
            .unwrap();
        QueueInbox { queue, topic }
    }
}

impl Inbox for QueueInbox {
    fn topic(&self) -> &str {
        &self.topic
    }

    async fn receive(&self, count: usize) -> Vec<Delivered> {
        let patience = if count == 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        };
        let deadline = Instant::now() + patience;
        let mut delivered = Vec::new();
        loop {
            for text in self.queue.take(1).await {
                let envelope: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(envelope["Type"], "Notification", "{envelope}");
                assert_eq!(envelope["TopicArn"], self.topic.as_str());
                delivered.push(Delivered {
                    message_id: envelope["MessageId"].as_str().unwrap().to_string(),
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    body: envelope["Message"].as_str().unwrap().to_string(),
                });
            }
            if (count > 0 && delivered.len() >= count) || Instant::now() >= deadline {
                return delivered;
            }
        }
    }
}

#[tokio::test]
async fn the_sns_notifier_keeps_the_notifier_contract() {
    let moto = Moto::start();
    let inbox = QueueInbox::subscribe(&moto, "approvals").await;
    let sns = aws_sdk_sns::Client::new(&moto.config().await.sdk);
    notifier_contract(&SnsNotifier::new(sns), &inbox).await;
}

#[tokio::test]
async fn a_topic_that_does_not_exist_or_is_not_an_sns_arn_is_refused() {
    let moto = Moto::start();
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&moto.config().await.sdk));
    let message = Message {
        subject: "s".to_string(),
        body: "b".to_string(),
    };
    let missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    match notifier.publish(missing, &message).await {
        Err(NotifyError::TopicNotFound { topic }) => assert_eq!(topic, missing),
        other => panic!("expected TopicNotFound, got {other:?}"),
    }
    match notifier.publish("approvals", &message).await {
        Err(NotifyError::InvalidTopic { field, .. }) => assert_eq!(field, "topic"),
        other => panic!("a bare name is not a topic ARN on AWS, got {other:?}"),
    }
}

#[tokio::test]
async fn the_invoke_workers_manual_approval_publishes_codepipelines_message_to_the_topic() {
    let moto = Moto::start();
    let inbox = QueueInbox::subscribe(&moto, "release-approvals").await;
    let config = moto.config().await;
    let approval = ManualApproval::with_notifier(ApprovalNotices {
        notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&config.sdk)),
        region: "us-east-1".to_string(),
        links: ReviewLinks::unsigned(PublicUrl::parse("https://approvals.example.com").unwrap()),
    });
    let providers = providers_with(WorkerKind::Invoke, config.s3(), "key", approval);
    let action: sluice_core::pipeline::declaration::ActionDeclaration =
        serde_json::from_value(json!({
            "name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            "configuration": {"NotificationArn": inbox.topic(), "CustomData": "Look at the diff"},
            "timeoutInMinutes": 60
        }))
        .unwrap();
    let job = Job {
        pipeline: "Release".to_string(),
        pipeline_execution_id: "e1".to_string(),
        stage: "Gate".to_string(),
        configuration: action.configuration.clone(),
        action: action.clone(),
        action_execution_id: "5b0e9a36-3c43-4a8e-8d0f-2f6f1f1f0c11".to_string(),
        environment_variables: Vec::new(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        source_revision: None,
        timeout: Duration::from_secs(60 * 60),
        // 2026-03-01T12:34:56Z
        started: Timestamp::from_epoch_millis(1_772_368_496_000),
        variables: BTreeMap::new(),
        stop: StopSignal::never(),
    };
    let provider = providers
        .get(&action.action_type_id)
        .expect("the invoke worker runs manual approvals");
    assert_eq!(provider.run(&job).await, JobOutcome::Waiting);
    let delivered = inbox.receive(1).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(
        delivered[0].subject,
        "APPROVAL NEEDED: AWS CodePipeline Release for action Approve"
    );
    let body: Value = serde_json::from_str(&delivered[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "region": "us-east-1",
            "consoleLink": "https://approvals.example.com/view/Release",
            "approval": {
                "pipelineName": "Release",
                "stageName": "Gate",
                "actionName": "Approve",
                "token": "5b0e9a36-3c43-4a8e-8d0f-2f6f1f1f0c11",
                "expires": "2026-03-01T13:34Z",
                "externalEntityLink": null,
                "approvalReviewLink": "https://approvals.example.com/view/Release/Gate/Approve/approve/5b0e9a36-3c43-4a8e-8d0f-2f6f1f1f0c11",
                "customData": "Look at the diff"
            }
        })
    );

    // A topic that was deleted: the action fails as a configuration error naming NotificationArn.
    let gone = job.configuration["NotificationArn"].replace("release-approvals", "deleted-topic");
    let mut orphaned = job.clone();
    orphaned
        .configuration
        .insert("NotificationArn".to_string(), gone);
    match provider.run(&orphaned).await {
        JobOutcome::Failed(failure) => {
            assert_eq!(failure.failure_type, "ConfigurationError");
            assert!(
                failure.message.contains("NotificationArn")
                    && failure.message.contains("does not exist"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
