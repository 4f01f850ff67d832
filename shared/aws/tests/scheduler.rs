//! The Scheduler contract, run against EventBridge on moto_server; then the rules read back from moto
//! (schedule, pattern, target, role, input transformer), and the input transformer and patterns applied by
//! moto to events shaped as S3 and ECR send them. moto (5.2.5) never fires schedules and cannot deliver to a
//! Step Functions target (moto/events/models.py delivers to logs, SQS, event buses, archives and API
//! destinations only), so the delivery check copies a rule's pattern and transformer
//! onto a bus of the test's own with an SQS queue as target.

mod common;
mod queue;

use std::collections::HashMap;

use aws_sdk_eventbridge::types::{InputTransformer, PutEventsRequestEntry, Target};
use serde_json::{Value, json};

use sluice_aws::config::AwsConfig;
use sluice_aws::eventbridge::{EventBridgeScheduler, TARGET_ID, client};
use sluice_aws::sfn::StepFunctions;
use sluice_core::contract::{contract_machine, scheduler_contract};
use sluice_core::port::{Orchestrator, Scheduler, SchedulerError};
use sluice_core::trigger::{MAX_RULE_NAME, Trigger};

use queue::TestQueue;

const EVENTS_ROLE: &str = "arn:aws:iam::123456789012:role/sluice-events";
const MACHINE_ROLE: &str = "arn:aws:iam::123456789012:role/sluice-state-machine";
const MACHINES: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";

fn scheduler(config: &AwsConfig) -> EventBridgeScheduler {
    EventBridgeScheduler::new(client(config), "sluice", EVENTS_ROLE, MACHINES).unwrap()
}

#[tokio::test]
async fn eventbridge_keeps_the_scheduler_contract() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    scheduler_contract(&scheduler(&config)).await;
    let left = client(&config).list_rules().send().await.unwrap();
    assert_eq!(left.rules(), [], "the contract leaves no rule behind");
}

#[test]
fn a_prefix_that_leaves_no_room_for_the_names_is_refused() {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .build();
    let refused = EventBridgeScheduler::new(
        aws_sdk_eventbridge::Client::from_conf(config),
        "a-stack-name-longer-than-32-characters",
        EVENTS_ROLE,
        MACHINES,
    );
    assert_eq!(refused.unwrap_err().field(), "prefix");
}

/// The rule as moto keeps it, and its one target.
struct Stored {
    arn: String,
    description: String,
    schedule: Option<String>,
    pattern: Option<Value>,
    target: Target,
}

async fn stored(events: &aws_sdk_eventbridge::Client, rule: &str) -> Stored {
    let described = events.describe_rule().name(rule).send().await.unwrap();
    let targets = events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets().len(), 1, "rule {rule} has one target");
    Stored {
        arn: described.arn().unwrap().to_string(),
        description: described.description().unwrap_or_default().to_string(),
        schedule: described.schedule_expression().map(str::to_string),
        pattern: described
            .event_pattern()
            .map(|p| serde_json::from_str(p).unwrap()),
        target: targets.targets()[0].clone(),
    }
}

/// The machine's input the target would send for an event with this id.
fn input_for(transformer: &InputTransformer, event_id: &str) -> Value {
    let paths = transformer.input_paths_map().cloned().unwrap_or_default();
    assert_eq!(
        paths,
        HashMap::from([("id".to_string(), "$.id".to_string())]),
        "the transformer reads only the event's id"
    );
    serde_json::from_str(&transformer.input_template().replace("<id>", event_id)).unwrap()
}

#[tokio::test]
async fn each_rule_starts_the_pipelines_machine_as_the_events_role_with_the_execution_input() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let events = client(&config);
    let scheduler = scheduler(&config);
    // The machine Step Functions deploys for the pipeline is the one the rules target.
    let long = format!("{}-Flow", "x".repeat(95));
    let functions = StepFunctions::new(config.sfn(), MACHINE_ROLE, "sluice");
    let mut machines = HashMap::new();
    for pipeline in ["Flow", long.as_str()] {
        let machine = functions
            .deploy(pipeline, &contract_machine(pipeline))
            .await
            .unwrap();
        assert_eq!(scheduler.machine_arn(pipeline), machine);
        machines.insert(pipeline.to_string(), machine);
    }

    let nightly = Trigger::schedule("Flow", "nightly", "cron(0 2 * * ? *)");
    let upload = Trigger::s3_object_created("Flow", "source-Upload", "flow-source", "app/src.zip");
    let image = Trigger::ecr_image_pushed("Flow", "source-Image", "team/app", "latest");
    let long_named = Trigger::schedule(&long, &"n".repeat(64), "rate(5 minutes)");
    for trigger in [&nightly, &upload, &image, &long_named] {
        scheduler.put_trigger(trigger).await.unwrap();
    }

    let expected = [
        (&nightly, Some("cron(0 2 * * ? *)"), None),
        (
            &upload,
            None,
            Some(json!({
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": ["flow-source"]}, "object": {"key": ["app/src.zip"]}}
            })),
        ),
        (
            &image,
            None,
            Some(json!({
                "source": ["aws.ecr"],
                "detail-type": ["ECR Image Action"],
                "detail": {
                    "action-type": ["PUSH"],
                    "result": ["SUCCESS"],
                    "repository-name": ["team/app"],
                    "image-tag": ["latest"]
                }
            })),
        ),
        (&long_named, Some("rate(5 minutes)"), None),
    ];
    for (trigger, schedule, pattern) in expected {
        let rule = scheduler.rule_name(&trigger.pipeline, &trigger.name);
        assert!(
            rule.len() <= MAX_RULE_NAME && rule.starts_with("sluice-"),
            "{rule} is a rule name of the stack"
        );
        let stored = stored(&events, &rule).await;
        assert_eq!(stored.schedule.as_deref(), schedule, "{rule}");
        assert_eq!(stored.pattern, pattern, "{rule}");
        assert_eq!(
            stored.description,
            format!(
                "Sluice trigger {} of pipeline {}",
                trigger.name, trigger.pipeline
            )
        );
        assert_eq!(stored.target.id(), TARGET_ID);
        assert_eq!(stored.target.arn(), machines[&trigger.pipeline]);
        assert_eq!(stored.target.role_arn(), Some(EVENTS_ROLE));
        let transformer = stored
            .target
            .input_transformer()
            .expect("the target transforms the event");
        assert_eq!(
            input_for(transformer, "5f2b9a4e-0c1d-4e8f-9a6b-3c2d1e0f9a8b"),
            json!({
                "pipeline": trigger.pipeline,
                "pipelineExecutionId": "5f2b9a4e-0c1d-4e8f-9a6b-3c2d1e0f9a8b",
                "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": stored.arn}
            }),
            "{rule}: the machine's input names the pipeline, the event's id and the rule"
        );
    }

    // Replacing a schedule by a pattern leaves no schedule on the rule, and the target as it was.
    let became_event =
        Trigger::s3_object_created("Flow", "nightly", "flow-source", "nightly/src.zip");
    scheduler.put_trigger(&became_event).await.unwrap();
    let replaced = stored(&events, "sluice-Flow-nightly").await;
    assert_eq!(replaced.schedule, None);
    assert_eq!(
        replaced.pattern.unwrap()["detail"]["object"]["key"],
        json!(["nightly/src.zip"])
    );
    assert_eq!(replaced.target.arn(), machines["Flow"]);
}

/// A bus of the test's own whose rule has the pattern and transformer of `rule`, delivering to a queue.
async fn copy_onto_probe_bus(config: &AwsConfig, rule: &str, bus: &str) -> (TestQueue, Value) {
    let events = client(config);
    let original = stored(&events, rule).await;
    let queue = TestQueue::create(config, &format!("{bus}-queue")).await;
    events.create_event_bus().name(bus).send().await.unwrap();
    let pattern = original.pattern.expect("an event rule has a pattern");
    events
        .put_rule()
        .event_bus_name(bus)
        .name("probe")
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .event_bus_name(bus)
        .rule("probe")
        .targets(
            Target::builder()
                .id("queue")
                .arn(&queue.arn)
                .set_input_transformer(original.target.input_transformer().cloned())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (queue, json!(original.arn))
}

/// Puts each event on the bus; the ids PutEvents gave them.
async fn put(config: &AwsConfig, bus: &str, events: &[(&str, &str, Value)]) -> Vec<String> {
    let entries: Vec<PutEventsRequestEntry> = events
        .iter()
        .map(|(source, detail_type, detail)| {
            PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source(*source)
                .detail_type(*detail_type)
                .detail(detail.to_string())
                .build()
        })
        .collect();
    let output = client(config)
        .put_events()
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(output.failed_entry_count(), 0);
    output
        .entries()
        .iter()
        .map(|e| e.event_id().unwrap().to_string())
        .collect()
}

/// Everything the queue holds (moto delivers during PutEvents).
async fn delivered(queue: &TestQueue) -> Vec<Value> {
    let mut bodies = Vec::new();
    loop {
        let taken = queue.take(1).await;
        if taken.is_empty() {
            return bodies;
        }
        bodies.extend(
            taken
                .iter()
                .map(|text| serde_json::from_str::<Value>(text).unwrap()),
        );
    }
}

#[tokio::test]
async fn s3_and_ecr_events_that_match_become_the_machines_input_and_others_do_not() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let scheduler = scheduler(&config);
    let upload = Trigger::s3_object_created("Flow", "source-Upload", "flow-source", "app/src.zip");
    let image = Trigger::ecr_image_pushed("Flow", "source-Image", "team/app", "release");
    scheduler.put_trigger(&upload).await.unwrap();
    scheduler.put_trigger(&image).await.unwrap();

    // Events as S3 sends them to EventBridge (its "Object Created" detail), one per case.
    let s3 = |bucket: &str, key: &str| json!({"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": 1024, "etag": "e", "version-id": "v1"}, "reason": "PutObject"});
    let (queue, rule_arn) = copy_onto_probe_bus(
        &config,
        &scheduler.rule_name("Flow", "source-Upload"),
        "probe-s3",
    )
    .await;
    let ids = put(
        &config,
        "probe-s3",
        &[
            (
                "aws.s3",
                "Object Created",
                s3("flow-source", "app/other.zip"),
            ),
            (
                "aws.s3",
                "Object Created",
                s3("other-bucket", "app/src.zip"),
            ),
            ("aws.s3", "Object Deleted", s3("flow-source", "app/src.zip")),
            ("aws.s3", "Object Created", s3("flow-source", "app/src.zip")),
        ],
    )
    .await;
    assert_eq!(
        delivered(&queue).await,
        [json!({
            "pipeline": "Flow",
            "pipelineExecutionId": ids[3],
            "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
        })],
        "only the creation of the watched object starts the pipeline, as its event's id"
    );

    // Events as ECR sends them ("ECR Image Action").
    let ecr = |action: &str, result: &str, repository: &str, tag: &str| json!({"action-type": action, "result": result, "repository-name": repository, "image-tag": tag, "image-digest": "sha256:0"});
    let (queue, rule_arn) = copy_onto_probe_bus(
        &config,
        &scheduler.rule_name("Flow", "source-Image"),
        "probe-ecr",
    )
    .await;
    let ids = put(
        &config,
        "probe-ecr",
        &[
            (
                "aws.ecr",
                "ECR Image Action",
                ecr("PUSH", "SUCCESS", "team/app", "latest"),
            ),
            (
                "aws.ecr",
                "ECR Image Action",
                ecr("PUSH", "FAILURE", "team/app", "release"),
            ),
            (
                "aws.ecr",
                "ECR Image Action",
                ecr("DELETE", "SUCCESS", "team/app", "release"),
            ),
            (
                "aws.ecr",
                "ECR Image Action",
                ecr("PUSH", "SUCCESS", "team/other", "release"),
            ),
            (
                "aws.ecr",
                "ECR Image Action",
                ecr("PUSH", "SUCCESS", "team/app", "release"),
            ),
        ],
    )
    .await;
    assert_eq!(
        delivered(&queue).await,
        [json!({
            "pipeline": "Flow",
            "pipelineExecutionId": ids[4],
            "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
        })],
        "only a successful push of the watched tag starts the pipeline"
    );
}

#[tokio::test]
async fn a_rule_owned_by_someone_else_is_neither_taken_over_nor_deleted() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let events = client(&config);
    let scheduler = scheduler(&config);
    let rule = scheduler.rule_name("Flow", "nightly");
    events
        .put_rule()
        .name(&rule)
        .description("made by hand")
        .schedule_expression("rate(1 day)")
        .send()
        .await
        .unwrap();
    let nightly = Trigger::schedule("Flow", "nightly", "cron(0 2 * * ? *)");
    match scheduler.put_trigger(&nightly).await {
        Err(SchedulerError::Conflict(message)) => {
            assert!(message.contains(&rule), "{message}")
        }
        other => panic!("a put over another's rule must be a Conflict, not {other:?}"),
    }
    scheduler.delete_trigger("Flow", "nightly").await.unwrap();
    scheduler.delete_pipeline_triggers("Flow").await.unwrap();
    let kept = events.describe_rule().name(&rule).send().await.unwrap();
    assert_eq!(
        (kept.description(), kept.schedule_expression()),
        (Some("made by hand"), Some("rate(1 day)")),
        "the rule is as its owner left it"
    );
    assert_eq!(scheduler.triggers("Flow").await.unwrap(), []);
}
