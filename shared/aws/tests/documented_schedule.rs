//! infra/README.md's "A schedule of your own": its commands, as written there, run by bash with the real
//! aws CLI (.venv) against EventBridge on moto_server; then the rule and target they made, as describe-rule
//! and list-targets-by-rule show them, are the rule Sluice's own scheduler would make: the pipeline's state
//! machine as target, the stack's events role, and the input the machine takes (the event's id as the
//! execution id, the rule's ARN as the trigger's detail). The variables the README's earlier block reads
//! from the stack are given here; moto has no stack to read them from.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use sluice_aws::eventbridge::{EventBridgeScheduler, client, input_paths, input_template};

const README: &str = include_str!("../../../infra/README.md");
const MARKER: &str = "<!-- shared/aws/tests/documented_schedule.rs runs the next block";
const EVENTS_ROLE: &str = "arn:aws:iam::123456789012:role/sluice-EventsRole-1A2B3C";
const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/DailyPipelineTrigger";

/// The ```sh block after the marker.
fn documented_block() -> String {
    let after = README
        .split_once(MARKER)
        .expect("infra/README.md marks the block this test runs")
        .1;
    let start = after
        .find("```sh\n")
        .expect("a sh block follows the marker")
        + "```sh\n".len();
    let end = after[start..].find("\n```").expect("the block ends") + start;
    after[start..end].to_string()
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin")
}

/// bash running `script` with the .venv's aws CLI first on PATH, pointed at moto, in `dir`.
fn bash(moto: &common::Moto, dir: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let aws = venv().join("aws");
    assert!(
        aws.is_file(),
        "{} is missing: `make test` installs the aws CLI into .venv",
        aws.display()
    );
    let path = format!(
        "{}:{}",
        venv().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[tokio::test]
async fn the_documented_commands_make_the_rule_sluices_scheduler_would_make() {
    let block = documented_block();
    assert!(
        block.contains(
            r#"aws events put-rule --name DailyPipelineTrigger --schedule-expression "cron(0 2 * * ? *)""#
        ),
        "CodePipeline's documented put-rule, as it is: {block}"
    );
    let moto = common::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    bash(
        &moto,
        dir.path(),
        &block,
        &[
            ("STACK", "sluice"),
            ("PIPELINE", "MyPipeline"),
            ("REGION", "us-east-1"),
            ("ACCOUNT", "123456789012"),
            ("EVENTS_ROLE", EVENTS_ROLE),
        ],
    );

    let read = |command: &str| -> Value {
        serde_json::from_str(&bash(&moto, dir.path(), command, &[])).unwrap()
    };
    let rule = read("aws events describe-rule --name DailyPipelineTrigger --output json");
    assert_eq!(rule["Arn"], RULE_ARN);
    assert_eq!(rule["ScheduleExpression"], "cron(0 2 * * ? *)");
    assert_eq!(rule["State"], "ENABLED");
    let targets = read("aws events list-targets-by-rule --rule DailyPipelineTrigger --output json");
    let targets = targets["Targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{targets:?}");
    let target = &targets[0];

    // The machine and role Sluice's scheduler targets for pipeline MyPipeline of stack sluice.
    let config = moto.config().await;
    let scheduler = EventBridgeScheduler::new(
        client(&config),
        "sluice",
        EVENTS_ROLE,
        "arn:aws:states:us-east-1:123456789012:stateMachine:",
    )
    .unwrap();
    assert_eq!(target["Arn"], scheduler.machine_arn("MyPipeline"));
    assert_eq!(target["RoleArn"], EVENTS_ROLE);
    let transformer = &target["InputTransformer"];
    assert_eq!(transformer["InputPathsMap"], json!(input_paths()));
    let template = transformer["InputTemplate"].as_str().unwrap();
    assert_eq!(template, input_template("MyPipeline", RULE_ARN));
    let input: Value =
        serde_json::from_str(&template.replace("<id>", "5f2b9a4e-0c1d-4e8f-9a6b-3c2d1e0f9a8b"))
            .unwrap();
    assert_eq!(
        input,
        json!({
            "pipeline": "MyPipeline",
            "pipelineExecutionId": "5f2b9a4e-0c1d-4e8f-9a6b-3c2d1e0f9a8b",
            "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": RULE_ARN}
        }),
        "the machine's input, once EventBridge fills in the event's id"
    );
}
