//! CodePipeline's documented schedule commands, verbatim, against `sluice serve`: `aws events put-rule` and
//! `aws events put-targets` (the real aws CLI from .venv, signing for `events`, on the server's one port),
//! the rule and target as describe-rule, list-rules and list-targets-by-rule show them, EventBridge's errors,
//! and the pipeline started by the rule with trigger type CloudWatchEvent and the rule's ARN. Every answer
//! is checked against EventBridge's model by the server (`--check-responses`).
//!
//! The firing waits for the wall clock's next whole minute (`cron(* * * * ? *)`), at most about a minute;
//! the firing on virtual time, and disabling and enabling, are tested in shared/local/tests/scheduler.rs and
//! shared/api/tests/schedule_rules.rs.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, aws, aws_service_command};

const ACCOUNT: &str = "123456789012";
const PIPELINE_ARN: &str = "arn:aws:codepipeline:us-east-1:123456789012:MyPipeline";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/EventBridgeStartPipeline";
const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/DailyPipelineTrigger";

/// `aws events ARGS --endpoint-url <server> --region us-east-1`, which must succeed; its JSON answer.
fn events(server: &Server, args: &[&str]) -> Value {
    let output = aws_service_command(server, "events", args)
        .args(["--region", "us-east-1"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aws events {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// `aws events ARGS`, which must fail with `error`; its error output.
fn events_fail(server: &Server, error: &str, args: &[&str]) -> String {
    let output = aws_service_command(server, "events", args)
        .args(["--region", "us-east-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "aws events {args:?} succeeded");
    assert!(
        stderr.contains(&format!("({error})")),
        "aws events {args:?}: expected {error}, got {stderr}"
    );
    stderr
}

/// MyPipeline: an S3 source (a bucket folder) and a manual approval, which waits.
fn create_pipeline(server: &Server, dir: &std::path::Path) {
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/index.html"), "hi").unwrap();
    let file = dir.join("pipeline.json");
    std::fs::write(
        &file,
        json!({"pipeline": {
            "name": "MyPipeline",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "my-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Approve", "actions": [{
                    "name": "Review",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
                }]}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    aws(
        server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
}

fn executions(server: &Server) -> Vec<Value> {
    aws(
        server,
        &["list-pipeline-executions", "--pipeline-name", "MyPipeline"],
    )["pipelineExecutionSummaries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn the_documented_schedule_commands_work_verbatim_and_the_rule_starts_the_pipeline() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    create_pipeline(&server, dir.path());

    // The two commands, as CodePipeline's users type them.
    let put = events(
        &server,
        &[
            "put-rule",
            "--name",
            "DailyPipelineTrigger",
            "--schedule-expression",
            "cron(0 2 * * ? *)",
        ],
    );
    assert_eq!(put, json!({"RuleArn": RULE_ARN}));
    let targeted = events(
        &server,
        &[
            "put-targets",
            "--rule",
            "DailyPipelineTrigger",
            "--targets",
            &format!("Id=1,Arn={PIPELINE_ARN},RoleArn={ROLE_ARN}"),
        ],
    );
    assert_eq!(
        targeted,
        json!({"FailedEntryCount": 0, "FailedEntries": []})
    );

    let rule = json!({
        "Name": "DailyPipelineTrigger",
        "Arn": RULE_ARN,
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "State": "ENABLED",
        "EventBusName": "default",
    });
    let mut described = rule.clone();
    described["CreatedBy"] = json!(ACCOUNT);
    assert_eq!(
        events(
            &server,
            &["describe-rule", "--name", "DailyPipelineTrigger"]
        ),
        described
    );
    assert_eq!(
        events(&server, &["list-rules", "--name-prefix", "Daily"]),
        json!({"Rules": [rule]})
    );
    assert_eq!(
        events(&server, &["list-rules", "--name-prefix", "Nightly"]),
        json!({"Rules": []})
    );
    assert_eq!(
        events(
            &server,
            &["list-targets-by-rule", "--rule", "DailyPipelineTrigger"]
        ),
        json!({"Targets": [{"Id": "1", "Arn": PIPELINE_ARN, "RoleArn": ROLE_ARN}]})
    );

    // Disabled and enabled again: the state DescribeRule shows (the firing on virtual time while disabled
    // is tested in shared/local/tests/scheduler.rs).
    events(&server, &["disable-rule", "--name", "DailyPipelineTrigger"]);
    assert_eq!(
        events(
            &server,
            &["describe-rule", "--name", "DailyPipelineTrigger"]
        )["State"],
        "DISABLED"
    );
    events(&server, &["enable-rule", "--name", "DailyPipelineTrigger"]);
    events_fail(
        &server,
        "ResourceNotFoundException",
        &["enable-rule", "--name", "NoSuchRule"],
    );
    assert_eq!(executions(&server), [] as [Value; 0], "nothing fired yet");

    // Every minute from now on (a PutRule of a rule that exists replaces it and keeps its targets): the
    // next whole minute starts the pipeline, while the errors below are checked.
    events(
        &server,
        &[
            "put-rule",
            "--name",
            "DailyPipelineTrigger",
            "--schedule-expression",
            "cron(* * * * ? *)",
        ],
    );
    let every_minute = Instant::now();

    // EventBridge's errors, naming what is wrong.
    let missing = events_fail(
        &server,
        "ResourceNotFoundException",
        &["describe-rule", "--name", "NoSuchRule"],
    );
    assert!(
        missing.contains("Rule NoSuchRule does not exist on EventBus default."),
        "{missing}"
    );
    events_fail(
        &server,
        "ResourceNotFoundException",
        &[
            "put-targets",
            "--rule",
            "NoSuchRule",
            "--targets",
            &format!("Id=1,Arn={PIPELINE_ARN},RoleArn={ROLE_ARN}"),
        ],
    );
    let bad = events_fail(
        &server,
        "ValidationException",
        &[
            "put-rule",
            "--name",
            "Broken",
            "--schedule-expression",
            "cron(0 2 * * * *)",
        ],
    );
    assert!(
        bad.contains("Parameter ScheduleExpression is not valid"),
        "{bad}"
    );
    let pattern = events_fail(
        &server,
        "ValidationException",
        &[
            "put-rule",
            "--name",
            "OnPush",
            "--event-pattern",
            r#"{"source": ["aws.codecommit"]}"#,
        ],
    );
    assert!(pattern.contains("EventPattern"), "{pattern}");
    let name = events_fail(
        &server,
        "ValidationException",
        &[
            "put-rule",
            "--name",
            "no spaces",
            "--schedule-expression",
            "rate(1 day)",
        ],
    );
    assert!(name.contains("at 'name'"), "{name}");
    let no_role = events_fail(
        &server,
        "ValidationException",
        &[
            "put-targets",
            "--rule",
            "DailyPipelineTrigger",
            "--targets",
            &format!("Id=2,Arn={PIPELINE_ARN}"),
        ],
    );
    assert!(
        no_role.contains(&format!("RoleArn is required for target {PIPELINE_ARN}.")),
        "{no_role}"
    );
    // Targets it cannot take are failed entries; the others are taken.
    let partly = events(
        &server,
        &[
            "put-targets",
            "--rule",
            "DailyPipelineTrigger",
            "--targets",
            "Id=fn,Arn=arn:aws:lambda:us-east-1:123456789012:function:f",
            &format!(
                "Id=gone,Arn=arn:aws:codepipeline:us-east-1:{ACCOUNT}:NoSuchPipeline,RoleArn={ROLE_ARN}"
            ),
        ],
    );
    assert_eq!(partly["FailedEntryCount"], 2, "{partly}");
    assert_eq!(partly["FailedEntries"][0]["TargetId"], "fn");
    assert_eq!(
        partly["FailedEntries"][0]["ErrorCode"],
        "ValidationException"
    );
    assert!(
        partly["FailedEntries"][0]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("is not a pipeline of this Sluice server")
    );
    assert_eq!(
        partly["FailedEntries"][1]["ErrorCode"],
        "ResourceNotFoundException"
    );
    let refused = events_fail(
        &server,
        "ValidationException",
        &["delete-rule", "--name", "DailyPipelineTrigger"],
    );
    assert!(
        refused.contains("Rule can't be deleted since it has targets."),
        "{refused}"
    );

    let deadline = every_minute + Duration::from_secs(65);
    let started = loop {
        if let Some(first) = executions(&server).into_iter().next() {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "the rule started no execution within a minute of its schedule"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        started["trigger"],
        json!({"triggerType": "CloudWatchEvent", "triggerDetail": RULE_ARN}),
        "{started}"
    );

    // Removing the target removes the schedule; the rule can then be deleted.
    assert_eq!(
        events(
            &server,
            &[
                "remove-targets",
                "--rule",
                "DailyPipelineTrigger",
                "--ids",
                "1"
            ]
        ),
        json!({"FailedEntryCount": 0, "FailedEntries": []})
    );
    assert_eq!(
        events(
            &server,
            &["list-targets-by-rule", "--rule", "DailyPipelineTrigger"]
        ),
        json!({"Targets": []})
    );
    events(&server, &["delete-rule", "--name", "DailyPipelineTrigger"]);
    events_fail(
        &server,
        "ResourceNotFoundException",
        &["describe-rule", "--name", "DailyPipelineTrigger"],
    );
    events(&server, &["delete-rule", "--name", "DailyPipelineTrigger"]);
}
