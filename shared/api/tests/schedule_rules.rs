//! EventBridge rules of `sluice serve`'s own (PutRule, PutTargets, …) through the API's operations over the
//! local runtime: the triggers they stand for, fired by the local cron on virtual time (a manual clock;
//! nothing sleeps) with the rule's own ARN, and kept in step by DisableRule, EnableRule, RemoveTargets,
//! DeletePipeline and CreatePipeline.

mod common;

use common::{at, pipeline, waiting_runtime};
use serde_json::{Value, json};

use sluice_api::events;
use sluice_api::ops::call;
use sluice_api::service::Service;
use sluice_core::port::{ExecutionStore, Ports, Scheduler};

async fn names(ports: &impl Ports) -> Vec<String> {
    ports
        .scheduler()
        .triggers("Nightly")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

#[tokio::test]
async fn a_rule_starts_its_pipeline_naming_the_rule_and_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, clock) = waiting_runtime(dir.path()).await;
    let ports = &runtime.ports;
    let service = Service {
        eventbridge: true,
        ..Service::default()
    };
    let rule = "DailyPipelineTrigger";
    let rule_arn = "arn:aws:events:us-east-1:123456789012:rule/DailyPipelineTrigger";
    let run = |operation: &'static str, input: Value| {
        let service = service.clone();
        async move {
            events::check_input(operation, &input).unwrap();
            events::call(ports, &service, operation, input).await
        }
    };

    call(ports, &service, "CreatePipeline", pipeline(json!([])))
        .await
        .unwrap();
    let put = run(
        "PutRule",
        json!({"Name": rule, "ScheduleExpression": "cron(0 2 * * ? *)"}),
    )
    .await
    .unwrap();
    assert_eq!(put, json!({"RuleArn": rule_arn}));
    assert_eq!(names(ports).await, [] as [String; 0], "no target yet");
    let target = json!({"Id": "1", "Arn": service.pipeline_arn("Nightly"), "RoleArn": "arn:aws:iam::123456789012:role/r"});
    let targeted = run("PutTargets", json!({"Rule": rule, "Targets": [target]}))
        .await
        .unwrap();
    assert_eq!(targeted["FailedEntryCount"], 0, "{targeted}");
    assert_eq!(names(ports).await, ["rule-DailyPipelineTrigger"]);

    // 02:00 passes: the rule starts the pipeline, recorded with the rule's own ARN.
    clock.advance(at("2026-03-01T02:00:01Z") - at("2026-03-01T00:00:10Z"));
    let look = ports.scheduler().look(ports).await.unwrap();
    assert_eq!(look.fired.len(), 1, "{look:?}");
    let executions = ports.store().executions("Nightly").await.unwrap();
    assert_eq!(executions[0].trigger.trigger_type, "CloudWatchEvent");
    assert_eq!(
        executions[0].trigger.trigger_detail.as_deref(),
        Some(rule_arn)
    );

    // Disabled: no trigger, and 02:00 the next day starts nothing; enabled: the trigger is back.
    run("DisableRule", json!({"Name": rule})).await.unwrap();
    assert_eq!(names(ports).await, [] as [String; 0]);
    clock.advance(at("2026-03-02T02:00:01Z") - at("2026-03-01T02:00:01Z"));
    assert!(
        ports
            .scheduler()
            .look(ports)
            .await
            .unwrap()
            .fired
            .is_empty()
    );
    run("EnableRule", json!({"Name": rule})).await.unwrap();
    assert_eq!(names(ports).await, ["rule-DailyPipelineTrigger"]);

    // The pipeline deleted takes the trigger; the rule keeps its target, and the pipeline created again
    // under the same name is its target again.
    call(
        ports,
        &service,
        "DeletePipeline",
        json!({"name": "Nightly"}),
    )
    .await
    .unwrap();
    assert_eq!(names(ports).await, [] as [String; 0]);
    let kept = run("ListTargetsByRule", json!({"Rule": rule}))
        .await
        .unwrap();
    assert_eq!(kept["Targets"].as_array().unwrap().len(), 1, "{kept}");
    call(ports, &service, "CreatePipeline", pipeline(json!([])))
        .await
        .unwrap();
    assert_eq!(names(ports).await, ["rule-DailyPipelineTrigger"]);

    // A new schedule by PutRule; then the target removed, and the rule deleted.
    run(
        "PutRule",
        json!({"Name": rule, "ScheduleExpression": "rate(1 hour)"}),
    )
    .await
    .unwrap();
    let triggers = ports.scheduler().triggers("Nightly").await.unwrap();
    assert_eq!(
        triggers[0].fires_on.to_string(),
        "on the schedule rate(1 hour)"
    );
    run("RemoveTargets", json!({"Rule": rule, "Ids": ["1"]}))
        .await
        .unwrap();
    assert_eq!(names(ports).await, [] as [String; 0]);
    run("DeleteRule", json!({"Name": rule})).await.unwrap();
    let gone = run("DescribeRule", json!({"Name": rule}))
        .await
        .unwrap_err();
    assert_eq!(gone.error_type, "ResourceNotFoundException");
}
