//! A pipeline end to end on moto_server: created through the api function's router over the AWS
//! adapters, its state machine created in moto's Step Functions and run by moto's ASL interpreter, its
//! records in DynamoDB and its artifacts in S3.
//!
//! moto cannot invoke Lambda functions without Docker, so the pipeline is compiled with
//! `Transport::TestBridge`: every task puts its payload and task token on the event bus instead of invoking
//! a function, and [`TestBridge`] — test code, never deployed — reads the scheduled tasks from the
//! executions' histories and calls the same entry points the functions' `main.rs` call
//! (`sluice_lambda::dispatch` and `sluice_lambda::work`).

mod bridge;
#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use bridge::TestBridge;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_core::approval::link::{ApprovalKey, PublicUrl};
use sluice_core::compile::Transport;
use sluice_core::port::{ExecutionStore, Orchestrator, RunStatus};
use sluice_lambda::StackLinks;

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

/// The stack on moto: its table, and the api function's router over the AWS ports serving on a free
/// port, pipelines compiled for `transport`.
struct Stack {
    moto: common::Moto,
    config: sluice_aws::config::AwsConfig,
    ports: AwsPorts,
    address: String,
}

impl Stack {
    async fn start(transport: Transport) -> Stack {
        let moto = common::Moto::start();
        moto.execute_state_machines();
        let config = moto.config().await;
        let settings = Settings {
            table: "sluice".to_string(),
            kms_key: KMS_KEY.to_string(),
            state_machine_role: Some(
                "arn:aws:iam::123456789012:role/sluice-state-machine".to_string(),
            ),
            prefix: "sluice".to_string(),
            event_bus: "default".to_string(),
            events_role: Some("arn:aws:iam::123456789012:role/sluice-events".to_string()),
            public_url: None,
            approval_key_arn: None,
        };
        let ports = AwsPorts::new(&config, &settings);
        ports.store.create_table().await.unwrap();
        let links = StackLinks {
            public_url: PublicUrl::parse("https://abc123.execute-api.us-east-1.amazonaws.com")
                .unwrap(),
            key: ApprovalKey::new(vec![7; 32]).unwrap(),
        };
        let mut service = sluice_lambda::service(&settings, "us-east-1", &links).unwrap();
        assert_eq!(service.account, "123456789012");
        service.compile.transport = transport;
        let router = sluice_lambda::api_router(ports.clone(), service);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Stack {
            moto,
            config,
            ports,
            address,
        }
    }
}

/// The artifact bucket, and the source object `s3://inbox/app.zip` holding `bytes`.
async fn put_source(s3: &aws_sdk_s3::Client, bytes: &[u8]) {
    for bucket in ["sluice-artifacts", "inbox"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    s3.put_object()
        .bucket("inbox")
        .key("app.zip")
        .body(bytes.to_vec().into())
        .send()
        .await
        .unwrap();
}

/// A pipeline of an S3 source (`s3://inbox/app.zip`, polling as `poll` says) and a manual approval.
fn source_and_approval(name: &str, poll: &str) -> Value {
    json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/pipeline",
        "artifactStore": {"type": "S3", "location": "sluice-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app.zip", "PollForSourceChanges": poll},
                "outputArtifacts": [{"name": "App"}]
            }]},
            {"name": "Approve", "actions": [{
                "name": "Review",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    })
}

/// Passes the bridge's tasks until the pipeline's approval (stage Approve, action Review) waits, approves
/// it through the API, and goes on until the execution has ended (an execution a rule starts has no
/// record until its machine's Start has run); returns GetPipelineExecution's answer.
async fn approve_and_finish(
    bridge: &mut TestBridge,
    address: &str,
    pipeline: &str,
    execution_id: &str,
) -> Value {
    let mut approved = false;
    for _ in 0..300 {
        bridge.pass().await;
        let (_, state) = call(address, "GetPipelineState", json!({"name": pipeline})).await;
        let review = &state["stageStates"][1]["actionStates"][0]["latestExecution"];
        if let Some(token) = review["token"].as_str().filter(|_| !approved) {
            assert_eq!(review["status"], "InProgress");
            let (status, answer) = call(
                address,
                "PutApprovalResult",
                json!({"pipelineName": pipeline, "stageName": "Approve", "actionName": "Review",
                       "result": {"summary": "ship it", "status": "Approved"}, "token": token}),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            approved = true;
        }
        let (_, execution) = call(
            address,
            "GetPipelineExecution",
            json!({"pipelineName": pipeline, "pipelineExecutionId": execution_id}),
        )
        .await;
        let status = execution["pipelineExecution"]["status"]
            .as_str()
            .unwrap_or("");
        if !status.is_empty() && status != "InProgress" {
            assert!(approved, "the approval waited for its answer");
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{pipeline} {execution_id} did not end within 300 passes");
}

/// One awsJson1.1 call to the router (no signature: behind API Gateway the route is IAM-authorised).
async fn call(address: &str, operation: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: CodePipeline_20150709.{operation}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_runs_on_step_functions_dynamodb_and_s3_in_moto() {
    let Stack {
        moto: _moto,
        config,
        ports,
        address,
    } = Stack::start(Transport::TestBridge).await;
    let s3 = config.s3();
    let source = b"PK\x05\x06 the app's source".to_vec();
    put_source(&s3, &source).await;
    let mut bridge = TestBridge::new(ports.clone(), config.sfn());

    let (status, created) = call(
        &address,
        "CreatePipeline",
        json!({"pipeline": source_and_approval("OnMoto", "false")}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let machines = config.sfn().list_state_machines().send().await.unwrap();
    assert_eq!(
        machines.state_machines()[0].name(),
        "sluice-OnMoto",
        "creating the pipeline created its state machine"
    );

    let (status, started) = call(
        &address,
        "StartPipelineExecution",
        json!({"name": "OnMoto"}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let execution_id = started["pipelineExecutionId"].as_str().unwrap().to_string();

    // Run until the approval waits, approve it through the API, run to the end.
    let execution = approve_and_finish(&mut bridge, &address, "OnMoto", &execution_id).await;
    assert_eq!(execution["pipelineExecution"]["status"], "Succeeded");

    // The execution record in DynamoDB, the artifact in S3 and the state machine agree.
    let record = ports
        .store
        .execution("OnMoto", &execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_value(record.status).unwrap(),
        json!("Succeeded")
    );
    let orchestration = record.orchestration.clone().unwrap();
    let mut run = ports.orchestrator.describe(&orchestration).await.unwrap();
    for _ in 0..100 {
        if run.status != RunStatus::Running {
            break;
        }
        bridge.pass().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        run = ports.orchestrator.describe(&orchestration).await.unwrap();
    }
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let (_, actions) = call(
        &address,
        "ListActionExecutions",
        json!({"pipelineName": "OnMoto", "filter": {"pipelineExecutionId": execution_id}}),
    )
    .await;
    let fetch = actions["actionExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actionName"] == "Fetch")
        .unwrap()
        .clone();
    assert_eq!(fetch["status"], "Succeeded", "{fetch}");
    let location = &fetch["output"]["outputArtifacts"][0]["s3location"];
    let (bucket, key) = (
        location["bucket"].as_str().unwrap(),
        location["key"].as_str().unwrap(),
    );
    assert_eq!(bucket, "sluice-artifacts");
    assert!(key.starts_with("OnMoto/App/"), "{key}");
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        object.server_side_encryption().map(|e| e.as_str()),
        Some("aws:kms")
    );
    assert_eq!(object.ssekms_key_id(), Some(KMS_KEY));
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        body.as_ref(),
        source.as_slice(),
        "the artifact is the source object"
    );

    // Deleting the pipeline deletes its state machine and its records.
    let (status, deleted) = call(&address, "DeletePipeline", json!({"name": "OnMoto"})).await;
    assert_eq!(status, 200, "{deleted}");
    let machines = config.sfn().list_state_machines().send().await.unwrap();
    assert!(
        machines.state_machines().is_empty(),
        "the state machine went with the pipeline: {machines:?}"
    );
    let (status, gone) = call(&address, "GetPipeline", json!({"name": "OnMoto"})).await;
    assert_eq!(
        (status, &gone["__type"]),
        (400, &json!("PipelineNotFoundException"))
    );
}

/// The names of the rules on moto's default bus.
async fn rule_names(events: &aws_sdk_eventbridge::Client) -> Vec<String> {
    let mut names: Vec<String> = events
        .list_rules()
        .send()
        .await
        .unwrap()
        .rules()
        .iter()
        .filter_map(|rule| rule.name().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelines_triggers_follow_its_source_actions_and_schedule_tags_as_eventbridge_rules() {
    let Stack {
        moto: _moto,
        config,
        address,
        ..
    } = Stack::start(Transport::Lambda).await;
    let events = aws_sdk_eventbridge::Client::new(&config.sdk);
    let pipeline = |poll: &str| source_and_approval("Watched", poll);
    let arn = "arn:aws:codepipeline:us-east-1:123456789012:Watched";

    // A bad schedule tag refuses the pipeline, naming the tag; nothing is created.
    let (status, refused) = call(
        &address,
        "CreatePipeline",
        json!({"pipeline": pipeline("false"), "tags": [{"key": "sluice:schedule", "value": "every day"}]}),
    )
    .await;
    assert_eq!(
        (status, &refused["__type"]),
        (400, &json!("ValidationException")),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("sluice:schedule"),
        "{refused}"
    );
    let (_, listed) = call(&address, "ListPipelines", json!({})).await;
    assert_eq!(listed["pipelines"], json!([]));
    assert!(rule_names(&events).await.is_empty());

    // An S3 source that does not poll gets a rule; the schedule tag another.
    let (status, created) = call(
        &address,
        "CreatePipeline",
        json!({"pipeline": pipeline("false"), "tags": [{"key": "sluice:schedule", "value": "rate(1 day)"}]}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        rule_names(&events).await,
        ["sluice-Watched-schedule", "sluice-Watched-source-Fetch"]
    );
    let rule = events
        .describe_rule()
        .name("sluice-Watched-schedule")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(1 day)"));

    // More schedules by tag; a bad one is refused and changes neither the tags nor the rules.
    let (status, tagged) = call(
        &address,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "sluice:schedule:nightly", "value": "cron(0 2 * * ? *)"}]}),
    )
    .await;
    assert_eq!(status, 200, "{tagged}");
    let (status, refused) = call(
        &address,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "sluice:schedule:bad", "value": "cron(0 2 * * *)"}]}),
    )
    .await;
    assert_eq!(
        (status, &refused["__type"]),
        (400, &json!("ValidationException")),
        "{refused}"
    );
    let (_, tags) = call(&address, "ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(tags["tags"].as_array().unwrap().len(), 2, "{tags}");
    assert_eq!(
        rule_names(&events).await,
        [
            "sluice-Watched-schedule",
            "sluice-Watched-schedule-nightly",
            "sluice-Watched-source-Fetch"
        ]
    );

    // Untagging removes a schedule; a source that polls again needs no rule.
    let (status, _) = call(
        &address,
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["sluice:schedule"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, updated) = call(
        &address,
        "UpdatePipeline",
        json!({"pipeline": pipeline("true")}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        rule_names(&events).await,
        ["sluice-Watched-schedule-nightly"]
    );

    // Deleting the pipeline deletes its rules.
    let (status, _) = call(&address, "DeletePipeline", json!({"name": "Watched"})).await;
    assert_eq!(status, 200);
    assert!(rule_names(&events).await.is_empty());
}

/// A run an EventBridge rule starts. moto cannot deliver a rule's event to a state machine (a state
/// machine target makes PutEvents fail), so the test does what the rule's target would: it reads the
/// target Sluice put on the source action's rule, fills the event id into its input template, and calls
/// StartExecution on the target's machine with that input. Nothing is recorded before: the machine's
/// Start records the execution in DynamoDB, and the record and Step Functions must agree at the end. A
/// second delivery of the same event then ends its machine quietly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_a_rule_starts_records_itself_and_agrees_with_step_functions_in_moto() {
    let Stack {
        moto: _moto,
        config,
        ports,
        address,
    } = Stack::start(Transport::TestBridge).await;
    put_source(&config.s3(), b"PK\x05\x06 the app's source").await;
    let sfn = config.sfn();
    let mut bridge = TestBridge::new(ports.clone(), sfn.clone());

    // An S3 source that does not poll: CreatePipeline puts a rule whose target is the machine.
    let (status, created) = call(
        &address,
        "CreatePipeline",
        json!({"pipeline": source_and_approval("OnRule", "false")}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let events = aws_sdk_eventbridge::Client::new(&config.sdk);
    let rule = events
        .describe_rule()
        .name("sluice-OnRule-source-Fetch")
        .send()
        .await
        .unwrap();
    let rule_arn = rule.arn().unwrap().to_string();
    let targets = events
        .list_targets_by_rule()
        .rule("sluice-OnRule-source-Fetch")
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    let template = target
        .input_transformer()
        .unwrap()
        .input_template()
        .to_string();

    // What EventBridge would do with an S3 event whose id is `event_id`.
    let event_id = "0a7f3c9e-5b1d-4e2f-8a6b-9c0d1e2f3a4b";
    let input: Value = serde_json::from_str(&template.replace("<id>", event_id)).unwrap();
    assert_eq!(
        input["trigger"],
        json!({"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn})
    );
    let deliver = |name: &'static str| {
        let (sfn, machine, input) = (sfn.clone(), target.arn().to_string(), input.to_string());
        async move {
            sfn.start_execution()
                .state_machine_arn(machine)
                .name(name)
                .input(input)
                .send()
                .await
                .unwrap()
                .execution_arn()
                .to_string()
        }
    };
    let first = deliver("s3-event-delivery-1").await;
    assert!(
        ports
            .store
            .execution("OnRule", event_id)
            .await
            .unwrap()
            .is_none(),
        "nothing is recorded before the machine's Start"
    );

    // Run until the approval waits, approve it, run to the end.
    let execution = approve_and_finish(&mut bridge, &address, "OnRule", event_id).await;
    assert_eq!(execution["pipelineExecution"]["status"], "Succeeded");
    assert_eq!(
        execution["pipelineExecution"]["trigger"],
        json!({"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}),
        "{execution}"
    );

    // The DynamoDB record names the machine, and Step Functions says it succeeded.
    let record = ports
        .store
        .execution("OnRule", event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.orchestration.as_deref(), Some(first.as_str()));
    assert_eq!(record.trigger.trigger_type, "CloudWatchEvent");
    assert_eq!(
        record.trigger.trigger_detail.as_deref(),
        Some(rule_arn.as_str())
    );
    let run = until_ended(&mut bridge, &first).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");

    // A second delivery of the same event: its machine ends without touching the record.
    let second = deliver("s3-event-delivery-2").await;
    let run = until_ended(&mut bridge, &second).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        run.output.unwrap()["error"]["Error"],
        "Sluice.DuplicateStart"
    );
    assert_eq!(
        ports
            .store
            .execution("OnRule", event_id)
            .await
            .unwrap()
            .unwrap(),
        record,
        "the record is untouched"
    );
}

/// Hands the machine's tasks to their handlers until it ends (at most 5 s).
async fn until_ended(bridge: &mut TestBridge, arn: &str) -> sluice_core::port::Run {
    for _ in 0..100 {
        let run = bridge.ports.orchestrator.describe(arn).await.unwrap();
        if run.status != RunStatus::Running {
            return run;
        }
        bridge.pass().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} does not end within 5 s");
}
