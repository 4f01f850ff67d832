//! The event publisher contract, run against EventBridge on moto_server: a bus of the test's own (moto 5.2.5
//! fails every PutEvents on a bus where a schedule rule has a Lambda target: it takes a schedule rule to
//! match every event, and moto/events/models.py cannot deliver to a Lambda target), a rule
//! matching Sluice's source, and an SQS queue as its target, which the test reads what arrived from.

mod common;
mod queue;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use sluice_aws::config::AwsConfig;
use sluice_aws::eventbridge_events::EventBridgePublisher;
use sluice_core::contract::{PublishedEvents, event_publisher_contract};
use sluice_core::port::{DetailType, Event, EventError, EventPublisher, SOURCE};
use sluice_core::time::Timestamp;

use queue::TestQueue;

fn eventbridge(config: &AwsConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&config.sdk)
}

/// Reads what the rule delivered to the queue, in the order it arrived, deleting what it read.
struct Queue(TestQueue);

impl Queue {
    async fn receive(&self, wait_seconds: i32) -> Vec<Event> {
        let mut events = Vec::new();
        for text in self.0.take(wait_seconds).await {
            let body: Value = serde_json::from_str(&text).unwrap();
            events.push(
                Event::from_envelope(&body)
                    .unwrap_or_else(|e| panic!("the queue got {body}, not an event: {e}")),
            );
        }
        events
    }
}

impl PublishedEvents for Queue {
    async fn read(&self, count: usize) -> Vec<Event> {
        let mut events = Vec::new();
        if count == 0 {
            return self.receive(1).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while events.len() < count && Instant::now() < deadline {
            events.extend(self.receive(1).await);
        }
        events
    }
}

/// A bus, a rule on it matching Sluice's source, and a queue the rule delivers to.
async fn bus_to_queue(config: &AwsConfig, bus: &str) -> Queue {
    let events = eventbridge(config);
    events.create_event_bus().name(bus).send().await.unwrap();
    let queue = TestQueue::create(config, &format!("{bus}-queue")).await;
    events
        .put_rule()
        .event_bus_name(bus)
        .name("sluice-events")
        .event_pattern(json!({"source": [SOURCE]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .event_bus_name(bus)
        .rule("sluice-events")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue.arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Queue(queue)
}

#[tokio::test]
async fn eventbridge_keeps_the_event_publisher_contract() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let queue = bus_to_queue(&config, "sluice-contract").await;
    let publisher = EventBridgePublisher::new(eventbridge(&config), "sluice-contract");
    event_publisher_contract(&publisher, &queue).await;
}

#[tokio::test]
async fn events_go_to_the_named_bus_only_and_a_missing_bus_is_an_error_naming_it() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let ours = bus_to_queue(&config, "ours").await;
    let theirs = bus_to_queue(&config, "theirs").await;
    let event = Event {
        detail_type: DetailType::PipelineExecution,
        time: Timestamp::from_epoch_millis(1_767_225_600_000),
        detail: json!({"pipeline": "P", "state": "STARTED"}),
    };
    EventBridgePublisher::new(eventbridge(&config), "ours")
        .publish(std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(ours.read(1).await, std::slice::from_ref(&event));
    assert!(
        theirs.read(0).await.is_empty(),
        "another bus's rule sees nothing"
    );

    match EventBridgePublisher::new(eventbridge(&config), "no-such-bus")
        .publish(&[event])
        .await
    {
        Err(error @ EventError::Backend { published: 0, .. }) => {
            assert!(error.to_string().contains("no-such-bus"), "{error}")
        }
        other => panic!("a missing bus fails the publish, got {other:?}"),
    }
}
