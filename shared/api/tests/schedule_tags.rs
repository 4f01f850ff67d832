//! Schedules set by pipeline tags (`sluice:schedule`), through the API's operations over the local
//! runtime, and fired by the local cron on virtual time (a manual clock; nothing sleeps).

mod common;

use common::{at, pipeline, waiting_runtime};
use serde_json::json;

use sluice_api::ops::call;
use sluice_api::service::Service;
use sluice_core::port::{ExecutionStore, PipelineStore, Ports, Scheduler};

#[tokio::test]
async fn a_schedule_tag_starts_the_pipeline_at_its_times_and_untagging_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, clock) = waiting_runtime(dir.path()).await;
    let ports = &runtime.ports;
    let service = Service::default();
    let arn = service.pipeline_arn("Nightly");

    // A tag that is no schedule refuses the pipeline, naming the tag; nothing is stored.
    let refused = call(
        ports,
        &service,
        "CreatePipeline",
        pipeline(json!([{"key": "sluice:schedule", "value": "at two"}])),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.error_type, "ValidationException",
        "{}",
        refused.message
    );
    assert!(
        refused.message.contains("sluice:schedule"),
        "{}",
        refused.message
    );
    assert!(ports.store().pipeline("Nightly").await.unwrap().is_none());

    call(
        ports,
        &service,
        "CreatePipeline",
        pipeline(json!([
            {"key": "team", "value": "web"},
            {"key": "sluice:schedule", "value": "cron(0 2 * * ? *)"}
        ])),
    )
    .await
    .unwrap();
    let triggers = ports.scheduler().triggers("Nightly").await.unwrap();
    assert_eq!(
        triggers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["schedule"]
    );

    // 02:00 passes: the cron starts one execution, recorded as CodePipeline records a scheduled start.
    clock.advance(at("2026-03-01T02:00:01Z") - at("2026-03-01T00:00:10Z"));
    let look = ports.scheduler().look(ports).await.unwrap();
    assert_eq!(look.fired.len(), 1, "{look:?}");
    let executions = ports.store().executions("Nightly").await.unwrap();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].trigger.trigger_type, "CloudWatchEvent");

    // A bad schedule by TagResource changes nothing; UntagResource removes the schedule.
    let refused = call(
        ports,
        &service,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "sluice:schedule:hourly", "value": "rate(0 hours)"}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.error_type, "ValidationException",
        "{}",
        refused.message
    );
    let tags = call(
        ports,
        &service,
        "ListTagsForResource",
        json!({"resourceArn": arn}),
    )
    .await
    .unwrap();
    assert_eq!(tags["tags"].as_array().unwrap().len(), 2, "{tags}");
    call(
        ports,
        &service,
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["sluice:schedule"]}),
    )
    .await
    .unwrap();
    assert!(
        ports
            .scheduler()
            .triggers("Nightly")
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(at("2026-03-02T02:00:01Z") - at("2026-03-01T02:00:01Z"));
    let look = ports.scheduler().look(ports).await.unwrap();
    assert!(look.fired.is_empty(), "{look:?}");
    assert_eq!(ports.store().executions("Nightly").await.unwrap().len(), 1);
}
