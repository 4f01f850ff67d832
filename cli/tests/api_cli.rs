//! `sluice serve` driven by the real aws CLI (PyPI awscli, installed into .venv by `make test`): the everyday
//! commands on the MyWebAppPipeline example (create-pipeline, list-pipelines, get-pipeline and update-pipeline,
//! start-pipeline-execution, get-pipeline-state, delete-pipeline) as a user types them, with --endpoint-url,
//! then approvals, transitions and stops. Every answer is checked
//! against its output shape in the API model.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

fn aws_cli() -> PathBuf {
    let aws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/aws");
    assert!(
        aws.is_file(),
        "{} is missing: `make test` installs the aws CLI into .venv (python3 -m venv .venv && .venv/bin/pip install awscli)",
        aws.display()
    );
    aws
}

mod common;
use common::Server;

impl Server {
    fn aws(&self, args: &[&str]) -> Output {
        self.aws_as("test", "test", args)
    }

    fn aws_as(&self, key: &str, secret: &str, args: &[&str]) -> Output {
        Command::new(aws_cli())
            .args(["codepipeline"])
            .args(args)
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_RETRY_MODE", "standard")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; checks its answer against the operation's output shape.
    fn ok(&self, operation: &str, args: &[&str]) -> Value {
        let output = self.aws(args);
        assert!(
            output.status.success(),
            "aws codepipeline {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let value: Value = if text.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).unwrap()
        };
        check_output(operation, &value);
        value
    }

    /// Runs a command that must fail with `error`; returns the CLI's message.
    fn fails(&self, error: &str, args: &[&str]) -> String {
        let output = self.aws(args);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains(&format!("({error})")),
            "{args:?}: expected {error}, got {stderr}"
        );
        stderr
    }
}

/// Answers as the CLI printed them go through the API's one checker (`sluice_api::check_output`); the
/// server checks every answer too (`--check-responses`). The CLI prints timestamps as ISO 8601 text,
/// which is read back into the model's epoch seconds first.
fn check_output(operation: &str, value: &Value) {
    let value = epoch_timestamps(value);
    if let Err(problems) = sluice_api::check_output(operation, &value) {
        panic!("{operation}'s answer breaks its output shape: {problems:?}\n{value:#}");
    }
}

fn epoch_timestamps(value: &Value) -> Value {
    match value {
        Value::String(text) => match sluice_core::time::parse_timestamp(text) {
            Some(t) if text.len() >= 19 && text.as_bytes().get(10) == Some(&b'T') => {
                json!(t.epoch_seconds())
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(epoch_timestamps).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), epoch_timestamps(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn seed_pipeline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed-mywebapp/pipeline.json")
}

#[test]
fn the_seeds_commands_work_verbatim_against_sluice_serve() {
    let server = Server::start(&[]);
    let file = format!("file://{}", seed_pipeline().display());
    let created = server.ok(
        "CreatePipeline",
        &["create-pipeline", "--cli-input-json", &file],
    );
    assert_eq!(created["pipeline"]["name"], "MyWebAppPipeline");
    assert_eq!(created["pipeline"]["version"], 1);
    server.fails(
        "PipelineNameInUseException",
        &["create-pipeline", "--cli-input-json", &file],
    );

    let started = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "MyWebAppPipeline"],
    );
    let id = started["pipelineExecutionId"].as_str().unwrap().to_string();

    let state = server.ok(
        "GetPipelineState",
        &["get-pipeline-state", "--name", "MyWebAppPipeline"],
    );
    assert_eq!(state["pipelineName"], "MyWebAppPipeline");
    let stages: Vec<&str> = state["stageStates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stageName"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);

    let listed = server.ok("ListPipelines", &["list-pipelines"]);
    assert_eq!(listed["pipelines"][0]["name"], "MyWebAppPipeline");

    // update-pipeline with the get-pipeline output edited, the usual way to change a pipeline.
    let mut current = server.ok(
        "GetPipeline",
        &["get-pipeline", "--name", "MyWebAppPipeline"],
    );
    assert!(
        current["metadata"]["pipelineArn"]
            .as_str()
            .unwrap()
            .ends_with(":MyWebAppPipeline")
    );
    current.as_object_mut().unwrap().remove("metadata");
    current["pipeline"]["stages"][2]["actions"][0]["name"] = json!("DeployToProduction");
    let dir = tempfile::tempdir().unwrap();
    let updated_file = dir.path().join("updated-pipeline.json");
    std::fs::write(&updated_file, current.to_string()).unwrap();
    let updated = server.ok(
        "UpdatePipeline",
        &[
            "update-pipeline",
            "--cli-input-json",
            &format!("file://{}", updated_file.display()),
        ],
    );
    assert_eq!(updated["pipeline"]["version"], 2);
    let first = server.ok(
        "GetPipeline",
        &[
            "get-pipeline",
            "--name",
            "MyWebAppPipeline",
            "--pipeline-version",
            "1",
        ],
    );
    assert_eq!(
        first["pipeline"]["stages"][2]["actions"][0]["name"], "DeployAction",
        "version 1 is kept as it was"
    );

    // The execution ran (its GitHub source is not mapped on this machine, so it failed, and says why).
    let mut execution = Value::Null;
    for _ in 0..200 {
        execution = server.ok(
            "GetPipelineExecution",
            &[
                "get-pipeline-execution",
                "--pipeline-name",
                "MyWebAppPipeline",
                "--pipeline-execution-id",
                &id,
            ],
        );
        if execution["pipelineExecution"]["status"] != "InProgress" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        execution["pipelineExecution"]["status"], "Failed",
        "{execution}"
    );
    let actions = server.ok(
        "ListActionExecutions",
        &[
            "list-action-executions",
            "--pipeline-name",
            "MyWebAppPipeline",
        ],
    );
    assert_eq!(actions["actionExecutionDetails"][0]["status"], "Failed");

    server.ok(
        "DeletePipeline",
        &["delete-pipeline", "--name", "MyWebAppPipeline"],
    );
    server.fails(
        "PipelineNotFoundException",
        &["get-pipeline", "--name", "MyWebAppPipeline"],
    );
}

/// A pipeline of an S3 source (a bucket folder) and a manual approval.
fn approval_pipeline(dir: &Path) -> String {
    let file = dir.join("approval.json");
    std::fs::write(
        &file,
        json!({"pipeline": {
            "name": "Gated",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "gated-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Approve", "actions": [{
                    "name": "Review",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                    "configuration": {"CustomData": "Ship it?"}
                }]}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    format!("file://{}", file.display())
}

fn wait_for_status(server: &Server, pipeline: &str, id: &str, status: &str) -> Value {
    let mut execution = Value::Null;
    for _ in 0..300 {
        execution = server.ok(
            "GetPipelineExecution",
            &[
                "get-pipeline-execution",
                "--pipeline-name",
                pipeline,
                "--pipeline-execution-id",
                id,
            ],
        );
        if execution["pipelineExecution"]["status"] == status {
            return execution;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{id} never reached {status}: {execution}");
}

fn approval_token(server: &Server) -> Option<String> {
    let state = server.ok(
        "GetPipelineState",
        &["get-pipeline-state", "--name", "Gated"],
    );
    state["stageStates"][1]["actionStates"][0]["latestExecution"]["token"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn approvals_transitions_and_stops_through_the_cli() {
    let server = Server::start(&[]);
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/index.html"), "hi").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = approval_pipeline(dir.path());
    server.ok(
        "CreatePipeline",
        &["create-pipeline", "--cli-input-json", &file],
    );

    // A disabled transition holds the execution in front of the stage.
    server.ok(
        "DisableStageTransition",
        &[
            "disable-stage-transition",
            "--pipeline-name",
            "Gated",
            "--stage-name",
            "Approve",
            "--transition-type",
            "Inbound",
            "--reason",
            "Release freeze",
        ],
    );
    let id = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "Gated"],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut held = Value::Null;
    for _ in 0..300 {
        held = server.ok(
            "GetPipelineState",
            &["get-pipeline-state", "--name", "Gated"],
        );
        if held["stageStates"][1]["inboundExecution"]["pipelineExecutionId"] == id.as_str() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let approve_stage = &held["stageStates"][1];
    assert_eq!(
        approve_stage["inboundExecution"]["pipelineExecutionId"],
        id.as_str(),
        "{held}"
    );
    assert_eq!(approve_stage["inboundTransitionState"]["enabled"], false);
    assert_eq!(
        approve_stage["inboundTransitionState"]["disabledReason"],
        "Release freeze"
    );
    assert!(
        approval_token(&server).is_none(),
        "the approval has not started"
    );

    server.ok(
        "EnableStageTransition",
        &[
            "enable-stage-transition",
            "--pipeline-name",
            "Gated",
            "--stage-name",
            "Approve",
            "--transition-type",
            "Inbound",
        ],
    );
    let mut token = None;
    for _ in 0..300 {
        token = approval_token(&server);
        if token.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let token = token.expect("the approval waits with a token");
    server.fails(
        "InvalidApprovalTokenException",
        &[
            "put-approval-result",
            "--pipeline-name",
            "Gated",
            "--stage-name",
            "Approve",
            "--action-name",
            "Review",
            "--result",
            "summary=ok,status=Approved",
            "--token",
            "00000000-0000-4000-8000-000000000000",
        ],
    );
    let approved = server.ok(
        "PutApprovalResult",
        &[
            "put-approval-result",
            "--pipeline-name",
            "Gated",
            "--stage-name",
            "Approve",
            "--action-name",
            "Review",
            "--result",
            "summary=ok,status=Approved",
            "--token",
            &token,
        ],
    );
    assert!(approved["approvedAt"].is_string() || approved["approvedAt"].is_number());
    wait_for_status(&server, "Gated", &id, "Succeeded");
    // PutApprovalResult's other exceptions, as CodePipeline names them.
    let decide = |pipeline: &str, stage: &str, action: &str, result: &str| {
        vec![
            "put-approval-result".to_string(),
            "--pipeline-name".to_string(),
            pipeline.to_string(),
            "--stage-name".to_string(),
            stage.to_string(),
            "--action-name".to_string(),
            action.to_string(),
            "--result".to_string(),
            result.to_string(),
            "--token".to_string(),
            token.clone(),
        ]
    };
    for (exception, args) in [
        (
            "ApprovalAlreadyCompletedException",
            decide(
                "Gated",
                "Approve",
                "Review",
                "summary=again,status=Rejected",
            ),
        ),
        (
            "ActionNotFoundException",
            decide("Gated", "Approve", "Nobody", "summary=ok,status=Approved"),
        ),
        (
            "StageNotFoundException",
            decide("Gated", "Nowhere", "Review", "summary=ok,status=Approved"),
        ),
        (
            "PipelineNotFoundException",
            decide("Missing", "Approve", "Review", "summary=ok,status=Approved"),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        server.fails(exception, &args);
    }
    let long_summary = format!("summary={},status=Approved", "s".repeat(513));
    let args = decide("Gated", "Approve", "Review", &long_summary);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let refused = server.fails("ValidationException", &args);
    assert!(refused.contains("summary"), "{refused}");

    // Stop and abandon a waiting approval.
    let second = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "Gated"],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..300 {
        if approval_token(&server).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.ok(
        "StopPipelineExecution",
        &[
            "stop-pipeline-execution",
            "--pipeline-name",
            "Gated",
            "--pipeline-execution-id",
            &second,
            "--abandon",
            "--reason",
            "not today",
        ],
    );
    wait_for_status(&server, "Gated", &second, "Stopped");
    server.fails(
        "PipelineExecutionNotStoppableException",
        &[
            "stop-pipeline-execution",
            "--pipeline-name",
            "Gated",
            "--pipeline-execution-id",
            &second,
        ],
    );
    let executions = server.ok(
        "ListPipelineExecutions",
        &["list-pipeline-executions", "--pipeline-name", "Gated"],
    );
    let statuses: Vec<&str> = executions["pipelineExecutionSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Stopped", "Succeeded"], "newest first");
}

#[test]
fn requests_need_a_valid_signature_from_a_known_key() {
    let server = Server::start(&[]);
    let out = server.aws_as("test", "wrong-secret", &["list-pipelines"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(InvalidSignatureException)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.aws_as("nobody", "test", &["list-pipelines"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(UnrecognizedClientException)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let credentials = std::fs::read_to_string(server.data.join("credentials.json")).unwrap();
    assert!(credentials.contains("\"test\""), "{credentials}");
}

/// A signature is good for one Region: the aws CLI configured for eu-west-1 is refused by a server in
/// us-east-1 (the default) as CodePipeline refuses it, and nothing is created.
#[test]
fn requests_signed_for_another_region_are_refused_and_change_nothing() {
    let server = Server::start(&[]);
    let file = format!("file://{}", seed_pipeline().display());
    let out = server.aws(&[
        "create-pipeline",
        "--cli-input-json",
        &file,
        "--region",
        "eu-west-1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("(InvalidSignatureException)")
            && stderr.contains("Credential should be scoped to a valid region, not 'eu-west-1'."),
        "{stderr}"
    );
    let listed = server.ok(
        "ListPipelines",
        &["list-pipelines", "--region", "us-east-1"],
    );
    assert_eq!(listed["pipelines"], json!([]), "nothing was created");
}

#[test]
fn bad_requests_get_the_errors_aws_gives_and_change_nothing() {
    let server = Server::start(&["--account", "111111111111"]);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let mut pipeline: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_pipeline()).unwrap()).unwrap();
    pipeline["pipeline"]["stages"] = json!([pipeline["pipeline"]["stages"][0]]);
    std::fs::write(&bad, pipeline.to_string()).unwrap();
    let message = server.fails(
        "InvalidStructureException",
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", bad.display()),
        ],
    );
    assert!(message.contains("minimum of 2 stages"), "{message}");
    assert_eq!(
        server.ok("ListPipelines", &["list-pipelines"])["pipelines"],
        json!([])
    );
    let missing = server.fails(
        "PipelineNotFoundException",
        &["start-pipeline-execution", "--name", "Nope"],
    );
    assert!(
        missing.contains("Account '111111111111' does not have a pipeline with name 'Nope'"),
        "errors name the configured account: {missing}"
    );
    let missing = server.fails(
        "PipelineNotFoundException",
        &[
            "put-approval-result",
            "--pipeline-name",
            "Nope",
            "--stage-name",
            "S",
            "--action-name",
            "A",
            "--result",
            "summary=x,status=Approved",
            "--token",
            "00000000-0000-4000-8000-000000000000",
        ],
    );
    assert!(missing.contains("Account '111111111111'"), "{missing}");
    server.fails("UnsupportedOperationException", &["list-rule-types"]);
}

#[test]
fn pipelines_and_history_survive_a_restart() {
    let mut server = Server::start(&[]);
    let file = format!("file://{}", seed_pipeline().display());
    server.ok(
        "CreatePipeline",
        &["create-pipeline", "--cli-input-json", &file],
    );
    let id = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "MyWebAppPipeline"],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_status(&server, "MyWebAppPipeline", &id, "Failed");
    server.restart();
    let executions = server.ok(
        "ListPipelineExecutions",
        &[
            "list-pipeline-executions",
            "--pipeline-name",
            "MyWebAppPipeline",
        ],
    );
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["pipelineExecutionId"],
        id.as_str()
    );
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Failed"
    );
}

#[test]
fn tags_webhooks_and_custom_action_types_through_the_cli() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = approval_pipeline(dir.path());
    server.ok(
        "CreatePipeline",
        &[
            "create-pipeline",
            "--cli-input-json",
            &file,
            "--tags",
            "key=team,value=ci",
        ],
    );
    let arn = format!(
        "arn:aws:codepipeline:us-east-1:{}:Gated",
        sluice_core::record::LOCAL_ACCOUNT
    );
    server.ok(
        "TagResource",
        &[
            "tag-resource",
            "--resource-arn",
            &arn,
            "--tags",
            "key=env,value=dev",
            "key=team,value=platform",
        ],
    );
    let tags = server.ok(
        "ListTagsForResource",
        &["list-tags-for-resource", "--resource-arn", &arn],
    );
    assert_eq!(
        tags["tags"],
        json!([{"key": "team", "value": "platform"}, {"key": "env", "value": "dev"}])
    );
    server.ok(
        "UntagResource",
        &[
            "untag-resource",
            "--resource-arn",
            &arn,
            "--tag-keys",
            "team",
        ],
    );
    let tags = server.ok(
        "ListTagsForResource",
        &["list-tags-for-resource", "--resource-arn", &arn],
    );
    assert_eq!(tags["tags"], json!([{"key": "env", "value": "dev"}]));
    server.fails(
        "InvalidTagsException",
        &[
            "tag-resource",
            "--resource-arn",
            &arn,
            "--tags",
            "key=aws:owner,value=x",
        ],
    );
    server.fails(
        "ResourceNotFoundException",
        &[
            "list-tags-for-resource",
            "--resource-arn",
            &format!("{arn}-missing"),
        ],
    );

    let webhook = json!({"webhook": {
        "name": "gated-push",
        "targetPipeline": "Gated",
        "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/main"}],
        "authentication": "GITHUB_HMAC",
        "authenticationConfiguration": {"SecretToken": "s3cr3t"}
    }});
    let webhook_file = dir.path().join("webhook.json");
    std::fs::write(&webhook_file, webhook.to_string()).unwrap();
    let put = server.ok(
        "PutWebhook",
        &[
            "put-webhook",
            "--cli-input-json",
            &format!("file://{}", webhook_file.display()),
        ],
    );
    assert!(
        put["webhook"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&server.endpoint)
    );
    let listed = server.ok("ListWebhooks", &["list-webhooks"]);
    assert_eq!(listed["webhooks"][0]["definition"]["name"], "gated-push");
    assert_eq!(
        listed["webhooks"][0]["definition"]["authenticationConfiguration"]["SecretToken"], "****",
        "the secret is not shown again"
    );
    server.ok("DeleteWebhook", &["delete-webhook", "--name", "gated-push"]);
    assert_eq!(
        server.ok("ListWebhooks", &["list-webhooks"])["webhooks"],
        json!([])
    );

    let created = server.ok(
        "CreateCustomActionType",
        &[
            "create-custom-action-type",
            "--category",
            "Build",
            "--provider",
            "MyJenkins",
            "--action-version",
            "1",
            "--configuration-properties",
            "name=ProjectName,required=true,key=true,secret=false,queryable=true",
            "--input-artifact-details",
            "minimumCount=1,maximumCount=1",
            "--output-artifact-details",
            "minimumCount=0,maximumCount=1",
        ],
    );
    assert_eq!(created["actionType"]["id"]["owner"], "Custom");
    let custom = server.ok(
        "ListActionTypes",
        &["list-action-types", "--action-owner-filter", "Custom"],
    );
    assert_eq!(custom["actionTypes"].as_array().unwrap().len(), 1);
    let all = server.ok("ListActionTypes", &["list-action-types"]);
    assert!(
        all["actionTypes"].as_array().unwrap().len() > 10,
        "the built-in types are listed too"
    );
    server.ok(
        "DeleteCustomActionType",
        &[
            "delete-custom-action-type",
            "--category",
            "Build",
            "--provider",
            "MyJenkins",
            "--action-version",
            "1",
        ],
    );
    let custom = server.ok(
        "ListActionTypes",
        &["list-action-types", "--action-owner-filter", "Custom"],
    );
    assert_eq!(custom["actionTypes"], json!([]));
}

#[test]
fn a_failed_stage_is_retried_keeping_what_succeeded_with_failed_actions() {
    let server = Server::start(&[]);
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("fixed");
    let counter = dir.path().join("steady-runs");
    let file = dir.path().join("retry.json");
    std::fs::write(
        &file,
        json!({"pipeline": {
            "name": "Retry",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "retry-artifacts"},
            "pipelineType": "V2",
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Check", "actions": [{
                    "name": "Steady",
                    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                    "commands": [format!("echo run >> {}", counter.display())],
                    "inputArtifacts": [{"name": "Src"}]
                }, {
                    "name": "Flaky", "runOrder": 2,
                    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                    "commands": [format!("test -f {}", marker.display())],
                    "inputArtifacts": [{"name": "Src"}]
                }]}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    server.ok(
        "CreatePipeline",
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    let id = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "Retry"],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_status(&server, "Retry", &id, "Failed");
    server.fails(
        "StageNotRetryableException",
        &[
            "retry-stage-execution",
            "--pipeline-name",
            "Retry",
            "--stage-name",
            "Source",
            "--pipeline-execution-id",
            &id,
            "--retry-mode",
            "FAILED_ACTIONS",
        ],
    );
    std::fs::write(&marker, "").unwrap();
    let retried = server.ok(
        "RetryStageExecution",
        &[
            "retry-stage-execution",
            "--pipeline-name",
            "Retry",
            "--stage-name",
            "Check",
            "--pipeline-execution-id",
            &id,
            "--retry-mode",
            "FAILED_ACTIONS",
        ],
    );
    assert_eq!(
        retried["pipelineExecutionId"],
        id.as_str(),
        "a retry continues the same execution"
    );
    wait_for_status(&server, "Retry", &id, "Succeeded");
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        1,
        "FAILED_ACTIONS did not run the action that had succeeded"
    );
    let actions = server.ok(
        "ListActionExecutions",
        &[
            "list-action-executions",
            "--pipeline-name",
            "Retry",
            "--filter",
            &format!("pipelineExecutionId={id}"),
        ],
    );
    let flaky: Vec<&str> = actions["actionExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["actionName"] == "Flaky")
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        flaky,
        ["Succeeded", "Failed"],
        "both attempts are kept, newest first"
    );

    // ALL_ACTIONS runs the whole stage again, the action that had succeeded included.
    std::fs::remove_file(&marker).unwrap();
    let second = server.ok(
        "StartPipelineExecution",
        &["start-pipeline-execution", "--name", "Retry"],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_status(&server, "Retry", &second, "Failed");
    let runs_before = std::fs::read_to_string(&counter).unwrap().lines().count();
    std::fs::write(&marker, "").unwrap();
    server.ok(
        "RetryStageExecution",
        &[
            "retry-stage-execution",
            "--pipeline-name",
            "Retry",
            "--stage-name",
            "Check",
            "--pipeline-execution-id",
            &second,
            "--retry-mode",
            "ALL_ACTIONS",
        ],
    );
    wait_for_status(&server, "Retry", &second, "Succeeded");
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        runs_before + 1,
        "ALL_ACTIONS ran the succeeded action again"
    );
}

#[test]
fn variables_given_at_start_are_resolved_into_the_execution() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut pipeline: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_pipeline()).unwrap()).unwrap();
    pipeline["pipeline"]["pipelineType"] = json!("V2");
    pipeline["pipeline"]["variables"] = json!([
        {"name": "DeployEnv", "defaultValue": "staging"},
        {"name": "Region"}
    ]);
    let file = dir.path().join("variables.json");
    std::fs::write(&file, pipeline.to_string()).unwrap();
    server.ok(
        "CreatePipeline",
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    server.fails(
        "ValidationException",
        &["start-pipeline-execution", "--name", "MyWebAppPipeline"],
    );
    let id = server.ok(
        "StartPipelineExecution",
        &[
            "start-pipeline-execution",
            "--name",
            "MyWebAppPipeline",
            "--variables",
            "name=Region,value=eu-west-1",
        ],
    )["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let execution = server.ok(
        "GetPipelineExecution",
        &[
            "get-pipeline-execution",
            "--pipeline-name",
            "MyWebAppPipeline",
            "--pipeline-execution-id",
            &id,
        ],
    );
    assert_eq!(
        execution["pipelineExecution"]["variables"],
        json!([
            {"name": "DeployEnv", "resolvedValue": "staging"},
            {"name": "Region", "resolvedValue": "eu-west-1"}
        ])
    );
}

#[test]
fn a_repeated_client_request_token_starts_one_execution() {
    let server = Server::start(&[]);
    let file = format!("file://{}", seed_pipeline().display());
    server.ok(
        "CreatePipeline",
        &["create-pipeline", "--cli-input-json", &file],
    );
    let start = |token: &str| {
        server.ok(
            "StartPipelineExecution",
            &[
                "start-pipeline-execution",
                "--name",
                "MyWebAppPipeline",
                "--client-request-token",
                token,
            ],
        )["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = start("deploy-42");
    assert_eq!(start("deploy-42"), first);
    assert_ne!(start("deploy-43"), first);
    let listed = server.ok(
        "ListPipelineExecutions",
        &[
            "list-pipeline-executions",
            "--pipeline-name",
            "MyWebAppPipeline",
        ],
    );
    assert_eq!(
        listed["pipelineExecutionSummaries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_custom_action_waits_for_a_job_worker_that_polls_acknowledges_and_reports() {
    let server = Server::start(&[]);
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    server.ok(
        "CreateCustomActionType",
        &[
            "create-custom-action-type",
            "--category",
            "Build",
            "--provider",
            "MyJenkins",
            "--action-version",
            "1",
            "--configuration-properties",
            "name=ProjectName,required=true,key=true,secret=false,queryable=true",
            "--input-artifact-details",
            "minimumCount=1,maximumCount=1",
            "--output-artifact-details",
            "minimumCount=0,maximumCount=1",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.json");
    std::fs::write(
        &file,
        json!({"pipeline": {
            "name": "Jenkins",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "jenkins-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Build", "actions": [{
                    "name": "Jenkins", "namespace": "Jenkins",
                    "actionTypeId": {"category": "Build", "owner": "Custom", "provider": "MyJenkins", "version": "1"},
                    "configuration": {"ProjectName": "app"},
                    "inputArtifacts": [{"name": "Src"}]
                }]}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    server.ok(
        "CreatePipeline",
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    let type_id = "category=Build,owner=Custom,provider=MyJenkins,version=1";
    let poll = |query: &str| {
        server.ok(
            "PollForJobs",
            &[
                "poll-for-jobs",
                "--action-type-id",
                type_id,
                "--max-batch-size",
                "1",
                "--query-param",
                query,
            ],
        )
    };

    for outcome in ["success", "failure"] {
        let id = server.ok(
            "StartPipelineExecution",
            &["start-pipeline-execution", "--name", "Jenkins"],
        )["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
        let mut jobs = json!([]);
        for _ in 0..300 {
            jobs = poll("ProjectName=app")["jobs"].clone();
            if !jobs.as_array().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let job = jobs[0].clone();
        assert_eq!(
            job["data"]["pipelineContext"]["pipelineExecutionId"],
            id.as_str(),
            "{job}"
        );
        assert_eq!(
            job["data"]["actionConfiguration"]["configuration"]["ProjectName"],
            "app"
        );
        assert_eq!(job["data"]["inputArtifacts"][0]["name"], "Src");
        let job_id = job["id"].as_str().unwrap();
        assert_eq!(
            poll("ProjectName=app")["jobs"],
            json!([]),
            "a polled job is not handed out twice"
        );
        server.fails(
            "InvalidNonceException",
            &["acknowledge-job", "--job-id", job_id, "--nonce", "wrong"],
        );
        let acknowledged = server.ok(
            "AcknowledgeJob",
            &[
                "acknowledge-job",
                "--job-id",
                job_id,
                "--nonce",
                job["nonce"].as_str().unwrap(),
            ],
        );
        assert_eq!(acknowledged["status"], "InProgress");
        let details = server.ok("GetJobDetails", &["get-job-details", "--job-id", job_id]);
        assert_eq!(details["jobDetails"]["id"], job_id);
        if outcome == "success" {
            server.ok(
                "PutJobSuccessResult",
                &[
                    "put-job-success-result",
                    "--job-id",
                    job_id,
                    "--execution-details",
                    "summary=built,externalExecutionId=jenkins-7,percentComplete=100",
                    "--output-variables",
                    "BuildNumber=7",
                ],
            );
            wait_for_status(&server, "Jenkins", &id, "Succeeded");
            let actions = server.ok(
                "ListActionExecutions",
                &[
                    "list-action-executions",
                    "--pipeline-name",
                    "Jenkins",
                    "--filter",
                    &format!("pipelineExecutionId={id}"),
                ],
            );
            let jenkins = &actions["actionExecutionDetails"][0];
            assert_eq!(
                jenkins["output"]["outputVariables"]["BuildNumber"], "7",
                "{actions}"
            );
            assert_eq!(
                jenkins["output"]["executionResult"]["externalExecutionSummary"],
                "built"
            );
        } else {
            server.ok(
                "PutJobFailureResult",
                &[
                    "put-job-failure-result",
                    "--job-id",
                    job_id,
                    "--failure-details",
                    "type=JobFailed,message=tests failed on jenkins",
                ],
            );
            let failed = wait_for_status(&server, "Jenkins", &id, "Failed");
            assert!(
                failed["pipelineExecution"]["statusSummary"]
                    .as_str()
                    .unwrap()
                    .contains("tests failed on jenkins"),
                "{failed}"
            );
            server.fails(
                "InvalidJobStateException",
                &["put-job-success-result", "--job-id", job_id],
            );
        }
    }
}

/// One raw awsJson1.1 request to a `--no-auth` server: (status, body).
fn raw(server: &Server, target: Option<&str>, body: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let address = server.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(target) = target {
        request.push_str(&format!("X-Amz-Target: {target}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// An answer as it came over the wire: status, headers (names lower-case), body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends a request head (without its blank line), then lets `send_body` write the body, then reads the
/// answer until the server closes the connection (`Connection: close`).
fn exchange(
    server: &Server,
    head: &str,
    send_body: impl FnOnce(&mut std::net::TcpStream),
) -> RawAnswer {
    use std::io::{Read, Write};
    let address = server.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(stream, "{head}Host: {address}\r\nConnection: close\r\n\r\n").unwrap();
    send_body(&mut stream);
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawAnswer {
        status,
        headers,
        body: answer[end + 4..].to_vec(),
    }
}

/// Writes `total` bytes of `fill` as HTTP/1.1 chunks of 64 KiB, then the last chunk.
fn send_chunked(stream: &mut std::net::TcpStream, total: usize, fill: u8) {
    use std::io::Write;
    let chunk = vec![fill; 64 * 1024];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        write!(stream, "{n:x}\r\n").unwrap();
        stream.write_all(&chunk[..n]).unwrap();
        stream.write_all(b"\r\n").unwrap();
        left -= n;
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
}

/// The `__type` and `message` of a CBOR error body, read with the SDK's own decoder.
fn cbor_error(body: &[u8]) -> (String, String) {
    let mut decoder = aws_smithy_cbor::Decoder::new(body);
    let entries = decoder.map().unwrap().expect("a map of known length");
    let (mut error_type, mut message) = (String::new(), String::new());
    for _ in 0..entries {
        let key = decoder.str().unwrap().to_string();
        let value = decoder.str().unwrap().to_string();
        match key.as_str() {
            "__type" => error_type = value,
            "message" => message = value,
            _ => {}
        }
    }
    (error_type, message)
}

const FIVE_MIB: usize = 5 * 1024 * 1024;
const JSON_HEAD: &str = "POST / HTTP/1.1\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: CodePipeline_20150709.CreatePipeline\r\n";
const CBOR_HEAD: &str = "POST /service/CodePipeline_20150709/operation/CreatePipeline HTTP/1.1\r\nContent-Type: application/cbor\r\nSmithy-Protocol: rpc-v2-cbor\r\n";

/// Over 4 MiB, a body is refused with HTTP 413 and CodePipeline's error shape in the request's protocol,
/// whether its length is declared or it comes in chunks, and before the signature is looked at. The server
/// reads the rest and throws it away, so a client that sends all before reading (as the aws CLI does) gets
/// the answer rather than a reset connection, even at 60 MiB; one that declares a terabyte is answered at
/// once.
#[test]
fn oversized_bodies_get_the_protocols_413_error_for_declared_and_chunked_lengths() {
    use std::io::Write;
    let server = Server::start(&[]);
    let json_error = |answer: &RawAnswer| -> Value {
        assert_eq!(answer.status, 413);
        assert_eq!(
            answer.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert!(
            answer
                .header("x-amzn-requestid")
                .is_some_and(|id| !id.is_empty())
        );
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["__type"], "RequestEntityTooLargeException", "{body}");
        body
    };

    let declared = exchange(
        &server,
        &format!("{JSON_HEAD}Content-Length: {FIVE_MIB}\r\n"),
        |stream| stream.write_all(&vec![b' '; FIVE_MIB]).unwrap(),
    );
    assert_eq!(
        json_error(&declared)["message"],
        "The request body is 5242880 bytes; the API takes at most 4194304 bytes (4 MiB)"
    );
    let chunked = exchange(
        &server,
        &format!("{JSON_HEAD}Transfer-Encoding: chunked\r\n"),
        |stream| send_chunked(stream, FIVE_MIB, b' '),
    );
    assert_eq!(
        json_error(&chunked)["message"],
        "The request body is over 4194304 bytes, the most the API takes (4 MiB)"
    );
    let sixty_mib = 60 * 1024 * 1024;
    let large = exchange(
        &server,
        &format!("{JSON_HEAD}Content-Length: {sixty_mib}\r\n"),
        |stream| stream.write_all(&vec![b' '; sixty_mib]).unwrap(),
    );
    json_error(&large);
    let unsent = exchange(
        &server,
        &format!("{JSON_HEAD}Content-Length: 1000000000000\r\n"),
        |_| {},
    );
    json_error(&unsent);

    for (head, send) in [
        (
            format!("{CBOR_HEAD}Content-Length: {FIVE_MIB}\r\n"),
            Box::new(|stream: &mut std::net::TcpStream| {
                stream.write_all(&vec![0xa0; FIVE_MIB]).unwrap()
            }) as Box<dyn FnOnce(&mut std::net::TcpStream)>,
        ),
        (
            format!("{CBOR_HEAD}Transfer-Encoding: chunked\r\n"),
            Box::new(|stream: &mut std::net::TcpStream| send_chunked(stream, FIVE_MIB, 0xa0)),
        ),
    ] {
        let answer = exchange(&server, &head, send);
        assert_eq!(answer.status, 413, "{head}");
        assert_eq!(answer.header("smithy-protocol"), Some("rpc-v2-cbor"));
        assert_eq!(answer.header("content-type"), Some("application/cbor"));
        assert!(answer.header("x-amzn-requestid").is_some());
        let (error_type, message) = cbor_error(&answer.body);
        assert_eq!(
            error_type,
            "com.amazon.coral.service#RequestEntityTooLargeException"
        );
        assert!(message.contains("4194304 bytes"), "{message}");
    }

    // A small unsigned body still meets the signature check, and the server is as it was.
    let small = exchange(
        &server,
        &format!("{JSON_HEAD}Content-Length: 2\r\n"),
        |stream| stream.write_all(b"{}").unwrap(),
    );
    assert_eq!(small.status, 400);
    let body: Value = serde_json::from_slice(&small.body).unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    let listed = server.ok("ListPipelines", &["list-pipelines"]);
    assert_eq!(listed["pipelines"], json!([]));
}

/// The aws CLI sends a 5 MiB create-pipeline (a variable's default value is 5 MiB) and reads the 413 as
/// CodePipeline's error; nothing is created.
#[test]
fn the_aws_cli_reads_the_error_for_a_body_over_the_limit() {
    let server = Server::start(&[]);
    let mut pipeline: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_pipeline()).unwrap()).unwrap();
    pipeline["pipeline"]["variables"] =
        json!([{ "name": "Huge", "defaultValue": "x".repeat(FIVE_MIB) }]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.json");
    std::fs::write(&file, pipeline.to_string()).unwrap();
    let stderr = server.fails(
        "RequestEntityTooLargeException",
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    assert!(
        stderr.contains("the API takes at most 4194304 bytes"),
        "{stderr}"
    );
    let listed = server.ok("ListPipelines", &["list-pipelines"]);
    assert_eq!(listed["pipelines"], json!([]));
}

#[test]
fn the_wire_protocol_answers_bad_requests_as_aws_does() {
    let server = Server::start(&["--no-auth"]);
    let (status, body) = raw(&server, Some("CodePipeline_20150709.NoSuchThing"), "{}");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(&server, None, "{}");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(
        &server,
        Some("CodePipeline_20150709.ListPipelines"),
        "{not json",
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let long = "x".repeat(101);
    let (status, body) = raw(
        &server,
        Some("CodePipeline_20150709.GetPipeline"),
        &json!({ "name": long }).to_string(),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ValidationException");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("1 validation error detected: Value '{long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 100")),
        "{body}"
    );
    let (status, body) = raw(
        &server,
        Some("CodePipeline_20150709.GetPipeline"),
        r#"{"name": 5}"#,
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException")),
        "{body}"
    );

    // ListPipelines pages with maxResults and nextToken.
    let dir = tempfile::tempdir().unwrap();
    for name in ["A", "B", "C"] {
        let mut pipeline: Value =
            serde_json::from_str(&std::fs::read_to_string(seed_pipeline()).unwrap()).unwrap();
        pipeline["pipeline"]["name"] = json!(name);
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, pipeline.to_string()).unwrap();
        let (status, body) = raw(
            &server,
            Some("CodePipeline_20150709.CreatePipeline"),
            &std::fs::read_to_string(&file).unwrap(),
        );
        assert_eq!(status, 200, "{body}");
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"maxResults": 2});
        if let Some(token) = &token {
            input["nextToken"] = json!(token);
        }
        let (status, page) = raw(
            &server,
            Some("CodePipeline_20150709.ListPipelines"),
            &input.to_string(),
        );
        assert_eq!(status, 200, "{page}");
        sluice_api::check_output("ListPipelines", &page).unwrap();
        names.extend(
            page["pipelines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string()),
        );
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["A", "B", "C"]);
}

#[test]
fn no_auth_says_so_loudly_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--no-auth", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("WARNING: --no-auth"), "{first}");
}

/// What a deployed stack's user does: API Gateway accepts only signatures made for `execute-api`, so plain
/// `aws codepipeline` is refused; a model from `sluice aws-model` added to the aws CLI signs for it.
#[test]
fn the_aws_cli_signs_for_execute_api_with_the_model_sluice_prints() {
    let server = Server::start(&["--signing-name", "execute-api"]);
    let refused = server.aws(&["list-pipelines"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("InvalidSignatureException")
            && message.contains("Credential should be scoped to correct service: 'execute-api'"),
        "{message}"
    );

    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("sluice-model.json");
    let printed = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("aws-model")
        .output()
        .unwrap();
    assert!(printed.status.success());
    std::fs::write(&model, &printed.stdout).unwrap();
    let aws = |args: &[&str]| {
        Command::new(aws_cli())
            .args(args)
            .env("HOME", home.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    };
    let added = aws(&[
        "configure",
        "add-model",
        "--service-name",
        "sluice",
        "--service-model",
        &format!("file://{}", model.display()),
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let listed = aws(&[
        "sluice",
        "list-pipelines",
        "--endpoint-url",
        &server.endpoint,
        "--output",
        "json",
    ]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let answer: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(answer["pipelines"], serde_json::json!([]));
}
