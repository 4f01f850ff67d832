//! The contract every [`Notifier`] keeps: what is published arrives once, subject and body as sent (the
//! subject as [`subject_line`] makes it), and a message SNS would refuse is refused before anything is
//! delivered. The test reads deliveries through an [`Inbox`] it supplies: the log file locally, an SQS
//! queue subscribed to the topic on AWS.

use std::collections::BTreeSet;
use std::future::Future;

use crate::port::{MAX_BODY_BYTES, Message, Notifier, NotifyError, subject_line};

/// One delivered message, as a subscriber reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The id [`Notifier::publish`] returned.
    pub message_id: String,
    /// Empty when the message was sent without one.
    pub subject: String,
    pub body: String,
}

/// Where a test reads what was delivered to one topic.
pub trait Inbox: Send + Sync {
    /// The topic this inbox receives (an SNS topic ARN on AWS, a name locally).
    fn topic(&self) -> &str;
    /// The messages delivered since the last call, once at least `count` have come or 10 s have passed.
    /// With `count` 0 it waits briefly (a second at most) for stragglers and returns whatever came.
    fn receive(&self, count: usize) -> impl Future<Output = Vec<Delivered>> + Send;
}

/// Runs every promise of the Notifier port against `notifier`, reading deliveries from `inbox`, which must
/// start empty.
pub async fn notifier_contract(notifier: &impl Notifier, inbox: &impl Inbox) {
    a_message_arrives_once_as_it_was_sent(notifier, inbox).await;
    each_message_arrives_once_with_its_own_id(notifier, inbox).await;
    subjects_arrive_as_one_line_of_at_most_100_characters(notifier, inbox).await;
    messages_sns_would_refuse_are_refused_and_nothing_arrives(notifier, inbox).await;
    let stray = inbox.receive(0).await;
    assert!(stray.is_empty(), "nothing else arrived: {stray:?}");
}

async fn a_message_arrives_once_as_it_was_sent(notifier: &impl Notifier, inbox: &impl Inbox) {
    let message = Message {
        subject: "Déploiement prêt ✓".to_string(),
        body: "{\"approval\": {\"customData\": \"Grüße → 🚀\"}}\n  line two, \"quoted\" \\ tab\t end  "
            .to_string(),
    };
    let id = notifier.publish(inbox.topic(), &message).await.unwrap();
    assert!(!id.is_empty(), "publish returns the message id");
    let delivered = inbox.receive(1).await;
    assert_eq!(
        delivered,
        [Delivered {
            message_id: id,
            subject: message.subject,
            body: message.body,
        }],
        "the message arrives once, byte for byte"
    );
}

async fn each_message_arrives_once_with_its_own_id(notifier: &impl Notifier, inbox: &impl Inbox) {
    let mut sent = BTreeSet::new();
    for n in 0..3 {
        let message = Message {
            subject: format!("message {n}"),
            body: format!("body {n}"),
        };
        let id = notifier.publish(inbox.topic(), &message).await.unwrap();
        sent.insert((id, message.subject, message.body));
    }
    let ids: BTreeSet<&String> = sent.iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids.len(), 3, "every message has its own id: {ids:?}");
    let delivered = inbox.receive(3).await;
    assert_eq!(
        delivered.len(),
        3,
        "three messages, each once: {delivered:?}"
    );
    let got: BTreeSet<(String, String, String)> = delivered
        .into_iter()
        .map(|d| (d.message_id, d.subject, d.body))
        .collect();
    assert_eq!(got, sent, "in any order (SNS does not keep one)");
}

async fn subjects_arrive_as_one_line_of_at_most_100_characters(
    notifier: &impl Notifier,
    inbox: &impl Inbox,
) {
    let long = format!(
        "APPROVAL NEEDED: AWS CodePipeline {} for action Approve",
        "Pipeline-with-a-rather-long-name-".repeat(3)
    );
    for subject in [long, "Line one\nline two\r\n".to_string(), String::new()] {
        let message = Message {
            subject: subject.clone(),
            body: "b".to_string(),
        };
        notifier.publish(inbox.topic(), &message).await.unwrap();
        let delivered = inbox.receive(1).await;
        assert_eq!(delivered.len(), 1, "{subject:?}: {delivered:?}");
        assert_eq!(
            delivered[0].subject,
            subject_line(&subject),
            "the subject {subject:?} arrives as subject_line makes it"
        );
        assert!(delivered[0].subject.chars().count() <= 100);
        assert!(!delivered[0].subject.contains('\n'));
    }
}

async fn messages_sns_would_refuse_are_refused_and_nothing_arrives(
    notifier: &impl Notifier,
    inbox: &impl Inbox,
) {
    let refused = |body: String| Message {
        subject: "refused".to_string(),
        body,
    };
    for (what, body) in [
        ("an empty body", String::new()),
        ("a body over 256 KiB", "x".repeat(MAX_BODY_BYTES + 1)),
    ] {
        match notifier.publish(inbox.topic(), &refused(body)).await {
            Err(NotifyError::InvalidMessage { field: "body", .. }) => {}
            other => panic!("{what} is refused naming the body, got {other:?}"),
        }
    }
    match notifier.publish("", &refused("b".to_string())).await {
        Err(NotifyError::InvalidTopic { .. }) => {}
        other => panic!("an empty topic is refused, got {other:?}"),
    }
    let marker = Message {
        subject: "after the refusals".to_string(),
        body: "marker".to_string(),
    };
    notifier.publish(inbox.topic(), &marker).await.unwrap();
    let delivered = inbox.receive(1).await;
    let bodies: Vec<&str> = delivered.iter().map(|d| d.body.as_str()).collect();
    assert_eq!(bodies, ["marker"], "only the accepted message arrived");
}
