//! `sluice serve` driven by the real Rust SDK client (aws-sdk-codepipeline), as a Rust program on AWS would
//! call CodePipeline: the MyWebAppPipeline example's declaration through the SDK's types and back, an approval-gated run, and the
//! typed errors and timestamps the SDK parses. The first test records which wire protocol the SDK speaks, so a
//! change of protocol in a new SDK release shows up as itself and not as a puzzling failure further on.
//!
//! The client gets a plain-HTTP connector and no retries; every call has a time limit and every wait is
//! bounded, so a server that cannot answer fails the test with the reason instead of hanging it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::config::http::HttpResponse;
use aws_sdk_codepipeline::config::retry::RetryConfig;
use aws_sdk_codepipeline::config::timeout::TimeoutConfig;
use aws_sdk_codepipeline::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_codepipeline::error::{DisplayErrorContext, SdkError};
use aws_sdk_codepipeline::operation::create_pipeline::CreatePipelineError;
use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineError;
use aws_sdk_codepipeline::primitives::DateTime;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionExecutionFilter, ActionExecutionStatus, ActionOwner,
    ActionTypeId, ApprovalResult, ApprovalStatus, ArtifactStore, ArtifactStoreType, InputArtifact,
    OutputArtifact, PipelineDeclaration, PipelineExecutionStatus, StageDeclaration,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any wait in these tests may take: the server's start, an execution reaching a state.
const PATIENCE: Duration = Duration::from_secs(30);

mod common;
use common::Server;

impl Server {
    fn client(&self) -> Client {
        client(&self.endpoint)
    }
}

/// The SDK client as a program would build it, with the CLI tests' key, but from the SDK's own config builder
/// rather than aws-config, so nothing comes from the environment or ~/.aws (and aws-sdk-sts is not compiled).
/// The endpoint is plain http://127.0.0.1, so the connector is aws-smithy-http-client's non-TLS one (its
/// `build_http` is `#[doc(hidden)]`; the documented alternative, `tls_provider(Rustls(Ring)).build_https()`,
/// would compile rustls and ring for nothing). No retries: a failure is reported as it is.
fn client(endpoint: &str) -> Client {
    let config = aws_sdk_codepipeline::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// The answer of a call that must succeed; otherwise a panic that says what the server sent back.
fn answer<T, E>(operation: &str, result: Result<T, SdkError<E, HttpResponse>>) -> T
where
    E: std::error::Error + 'static,
{
    result.unwrap_or_else(|error| {
        let raw = match error.raw_response() {
            Some(response) => format!(
                "HTTP {}: {}",
                response.status().as_u16(),
                String::from_utf8_lossy(response.body().bytes().unwrap_or_default())
            ),
            None => "no HTTP response".to_string(),
        };
        panic!(
            "{operation} through the SDK failed: {}\n{raw}",
            DisplayErrorContext(&error)
        )
    })
}

/// Asserts that a timestamp the SDK parsed is a sensible "just now" (not 1970, not milliseconds read as seconds).
fn assert_recent(what: &str, time: Option<&DateTime>) {
    let time = time.unwrap_or_else(|| panic!("{what} is missing"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let age = now.as_secs() as i64 - time.secs();
    assert!(
        (-5..=300).contains(&age),
        "{what} is {time}, {age} s from now"
    );
}

fn seed_pipeline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed-mywebapp/pipeline.json")
}

fn text(value: &Value, member: &str) -> String {
    value[member]
        .as_str()
        .unwrap_or_else(|| panic!("{member} is a string in {value}"))
        .to_string()
}

/// Fails on a member this mapping does not carry over, rather than dropping it silently.
fn only_members(value: &Value, known: &[&str]) {
    for member in value.as_object().expect("an object").keys() {
        assert!(
            known.contains(&member.as_str()),
            "the example's {member:?} is not mapped to the SDK types in this test"
        );
    }
}

/// The `pipeline` member of examples/seed-mywebapp/pipeline.json as the SDK's `PipelineDeclaration`. The SDK
/// types have no serde support, so each member the example uses goes through the builders.
fn seed_declaration() -> PipelineDeclaration {
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_pipeline()).unwrap()).unwrap();
    let pipeline = &file["pipeline"];
    only_members(pipeline, &["name", "roleArn", "artifactStore", "stages"]);
    let store = &pipeline["artifactStore"];
    only_members(store, &["type", "location"]);
    let mut declaration = PipelineDeclaration::builder()
        .name(text(pipeline, "name"))
        .role_arn(text(pipeline, "roleArn"))
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::from(text(store, "type").as_str()))
                .location(text(store, "location"))
                .build()
                .unwrap(),
        );
    for stage in pipeline["stages"].as_array().unwrap() {
        only_members(stage, &["name", "actions"]);
        let mut declared = StageDeclaration::builder().name(text(stage, "name"));
        for action in stage["actions"].as_array().unwrap() {
            declared = declared.actions(seed_action(action));
        }
        declaration = declaration.stages(declared.build().unwrap());
    }
    declaration.build().unwrap()
}

fn seed_action(action: &Value) -> ActionDeclaration {
    only_members(
        action,
        &[
            "name",
            "actionTypeId",
            "configuration",
            "inputArtifacts",
            "outputArtifacts",
        ],
    );
    let id = &action["actionTypeId"];
    let mut declared = ActionDeclaration::builder()
        .name(text(action, "name"))
        .action_type_id(
            ActionTypeId::builder()
                .category(ActionCategory::from(text(id, "category").as_str()))
                .owner(ActionOwner::from(text(id, "owner").as_str()))
                .provider(text(id, "provider"))
                .version(text(id, "version"))
                .build()
                .unwrap(),
        );
    if let Some(configuration) = action["configuration"].as_object() {
        for (key, value) in configuration {
            declared = declared.configuration(key, value.as_str().unwrap());
        }
    }
    for input in action["inputArtifacts"].as_array().into_iter().flatten() {
        declared = declared.input_artifacts(
            InputArtifact::builder()
                .name(text(input, "name"))
                .build()
                .unwrap(),
        );
    }
    for output in action["outputArtifacts"].as_array().into_iter().flatten() {
        declared = declared.output_artifacts(
            OutputArtifact::builder()
                .name(text(output, "name"))
                .build()
                .unwrap(),
        );
    }
    declared.build().unwrap()
}

/// A pipeline of an S3 source (the bucket folder `<data-dir>/s3/inbox/app`) and a manual approval.
fn approval_pipeline() -> PipelineDeclaration {
    let action = |name: &str, category: ActionCategory, provider: &str| {
        ActionDeclaration::builder().name(name).action_type_id(
            ActionTypeId::builder()
                .category(category)
                .owner(ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build()
                .unwrap(),
        )
    };
    let source = action("Source", ActionCategory::Source, "S3")
        .configuration("S3Bucket", "inbox")
        .configuration("S3ObjectKey", "app")
        .output_artifacts(OutputArtifact::builder().name("Src").build().unwrap());
    let review = action("Review", ActionCategory::Approval, "Manual")
        .configuration("CustomData", "Ship it?");
    PipelineDeclaration::builder()
        .name("Gated")
        .role_arn("arn:aws:iam::123456789012:role/p")
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location("gated-artifacts")
                .build()
                .unwrap(),
        )
        .stages(
            StageDeclaration::builder()
                .name("Source")
                .actions(source.build().unwrap())
                .build()
                .unwrap(),
        )
        .stages(
            StageDeclaration::builder()
                .name("Approve")
                .actions(review.build().unwrap())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// One HTTP request as it arrived on the wire.
#[derive(Debug)]
struct Recorded {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Accepts one connection, records its request and answers `body` with `content_type`.
async fn record_one_request(
    listener: tokio::net::TcpListener,
    content_type: &str,
    body: &[u8],
) -> Recorded {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the SDK closed the connection mid-request");
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body_read = bytes[head_end + 4..].to_vec();
    while body_read.len() < length {
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the SDK closed the connection mid-body");
        body_read.extend_from_slice(&chunk[..read]);
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: recorded\r\n\r\n",
        body.len()
    );
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    socket.flush().await.unwrap();
    Recorded {
        request_line,
        headers,
        body: body_read,
    }
}

#[tokio::test]
async fn the_sdk_speaks_aws_json_1_1_to_codepipeline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let recorder = tokio::spawn(async move {
        record_one_request(
            listener,
            "application/x-amz-json-1.1",
            br#"{"pipelines":[]}"#,
        )
        .await
    });
    let listed = client(&endpoint).list_pipelines().send().await;
    let request = tokio::time::timeout(PATIENCE, recorder)
        .await
        .expect("the SDK sent a request")
        .unwrap();

    // awsJson1.1: POST / with the operation in X-Amz-Target. RPCv2 CBOR would instead be
    // POST /service/CodePipeline_20150709/operation/ListPipelines with `smithy-protocol: rpc-v2-cbor`.
    assert_eq!(
        (
            request.request_line.as_str(),
            request.header("x-amz-target"),
            request.header("content-type"),
            request.header("smithy-protocol"),
        ),
        (
            "POST / HTTP/1.1",
            Some("CodePipeline_20150709.ListPipelines"),
            Some("application/x-amz-json-1.1"),
            None,
        ),
        "the SDK's wire protocol for CodePipeline changed; `sluice serve` must answer it: {request:?}"
    );
    assert_eq!(String::from_utf8_lossy(&request.body), "{}");
    let authorization = request.header("authorization").unwrap_or_default();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=test/")
            && authorization.contains("/us-east-1/codepipeline/aws4_request"),
        "{authorization}"
    );
    let listed = answer("ListPipelines", listed);
    assert!(listed.pipelines().is_empty());
}

#[tokio::test]
async fn the_seed_pipeline_goes_through_the_sdk_types_and_back() {
    let server = Server::start(&[]);
    let client = server.client();
    let seed = seed_declaration();

    let created = answer(
        "CreatePipeline",
        client.create_pipeline().pipeline(seed.clone()).send().await,
    );
    let created = created.pipeline().expect("the created pipeline");
    assert_eq!(created.name(), "MyWebAppPipeline");
    assert_eq!(created.version(), Some(1));
    match client.create_pipeline().pipeline(seed.clone()).send().await {
        Err(error)
            if matches!(
                error.as_service_error(),
                Some(CreatePipelineError::PipelineNameInUseException(_))
            ) => {}
        other => panic!("a second create: expected PipelineNameInUseException, got {other:?}"),
    }

    let got = answer(
        "GetPipeline",
        client.get_pipeline().name("MyWebAppPipeline").send().await,
    );
    let declaration = got.pipeline().expect("the pipeline");
    assert_eq!(declaration.version(), Some(1));
    assert_eq!(declaration.role_arn(), seed.role_arn());
    assert_eq!(declaration.artifact_store(), seed.artifact_store());
    assert_eq!(
        declaration.stages(),
        seed.stages(),
        "the stages come back as the example declares them"
    );
    let metadata = got.metadata().expect("the pipeline's metadata");
    assert!(
        metadata
            .pipeline_arn()
            .is_some_and(|arn| arn.ends_with(":MyWebAppPipeline")),
        "{metadata:?}"
    );
    assert_recent("metadata.created", metadata.created());
    assert_recent("metadata.updated", metadata.updated());

    let listed = answer("ListPipelines", client.list_pipelines().send().await);
    let [summary] = listed.pipelines() else {
        panic!("one pipeline: {listed:?}")
    };
    assert_eq!(summary.name(), Some("MyWebAppPipeline"));
    assert_eq!(summary.version(), Some(1));
    assert_recent("summary.created", summary.created());
    assert_recent("summary.updated", summary.updated());

    // update_pipeline with get_pipeline's declaration edited, as one does with the CLI.
    let mut stages = declaration.stages().to_vec();
    let deploy = stages.pop().unwrap();
    let mut renamed = deploy.actions()[0].clone();
    renamed.name = "DeployToProduction".to_string();
    stages.push(
        StageDeclaration::builder()
            .name(deploy.name())
            .actions(renamed)
            .build()
            .unwrap(),
    );
    let mut edited = declaration.clone();
    edited.stages = stages;
    let updated = answer(
        "UpdatePipeline",
        client.update_pipeline().pipeline(edited).send().await,
    );
    assert_eq!(updated.pipeline().and_then(|p| p.version()), Some(2));
    let first = answer(
        "GetPipeline",
        client
            .get_pipeline()
            .name("MyWebAppPipeline")
            .version(1)
            .send()
            .await,
    );
    assert_eq!(
        first.pipeline().unwrap().stages()[2].actions()[0].name(),
        "DeployAction",
        "version 1 is kept as it was"
    );
    let latest = answer(
        "GetPipeline",
        client.get_pipeline().name("MyWebAppPipeline").send().await,
    );
    assert_eq!(latest.pipeline().unwrap().version(), Some(2));
    assert_eq!(
        latest.pipeline().unwrap().stages()[2].actions()[0].name(),
        "DeployToProduction"
    );
    let metadata = latest.metadata().unwrap();
    assert!(
        metadata.updated().unwrap().secs() >= metadata.created().unwrap().secs(),
        "{metadata:?}"
    );

    answer(
        "DeletePipeline",
        client
            .delete_pipeline()
            .name("MyWebAppPipeline")
            .send()
            .await,
    );
    match client.get_pipeline().name("MyWebAppPipeline").send().await {
        Err(error) => match error.into_service_error() {
            GetPipelineError::PipelineNotFoundException(missing) => {
                assert!(
                    missing
                        .message()
                        .is_some_and(|m| m.contains("MyWebAppPipeline")),
                    "{missing:?}"
                );
            }
            other => panic!(
                "expected the typed PipelineNotFoundException, got {}",
                DisplayErrorContext(&other)
            ),
        },
        Ok(found) => panic!("the deleted pipeline is still there: {found:?}"),
    }
}

/// Polls `look` until it finds something, or panics after [`PATIENCE`] with the last thing it saw.
async fn wait_for<T, S: std::fmt::Debug>(
    what: &str,
    mut look: impl AsyncFnMut() -> (Option<T>, S),
) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (found, seen) = look().await;
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}; last seen {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_approval_gated_run_through_the_sdk() {
    approval_gated_run(false).await;
}

/// The same story with the SDK switched to Smithy RPCv2 CBOR, the protocol the model lists first.
#[tokio::test]
async fn an_approval_gated_run_through_the_sdk_over_rpcv2_cbor() {
    approval_gated_run(true).await;
}

async fn approval_gated_run(cbor: bool) {
    let server = Server::start(&[]);
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/index.html"), "hi").unwrap();
    let client = if cbor {
        let config = server
            .client()
            .config()
            .to_builder()
            .protocol(aws_smithy_cbor::protocol::RpcV2CborProtocol::new())
            .build();
        Client::from_conf(config)
    } else {
        server.client()
    };
    answer(
        "CreatePipeline",
        client
            .create_pipeline()
            .pipeline(approval_pipeline())
            .send()
            .await,
    );

    // The same client request token starts one execution, however often it is sent.
    let start = || {
        client
            .start_pipeline_execution()
            .name("Gated")
            .client_request_token("5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
            .send()
    };
    let first = answer("StartPipelineExecution", start().await);
    let again = answer("StartPipelineExecution", start().await);
    let id = first.pipeline_execution_id().unwrap().to_string();
    assert_eq!(again.pipeline_execution_id(), Some(id.as_str()));

    let token = wait_for("the approval waits with a token", async || {
        let state = answer(
            "GetPipelineState",
            client.get_pipeline_state().name("Gated").send().await,
        );
        let token = state
            .stage_states()
            .get(1)
            .and_then(|stage| stage.action_states().first())
            .and_then(|action| action.latest_execution())
            .and_then(|latest| latest.token())
            .map(str::to_string);
        (token, state)
    })
    .await;
    let approved = answer(
        "PutApprovalResult",
        client
            .put_approval_result()
            .pipeline_name("Gated")
            .stage_name("Approve")
            .action_name("Review")
            .result(
                ApprovalResult::builder()
                    .summary("ok")
                    .status(ApprovalStatus::Approved)
                    .build()
                    .unwrap(),
            )
            .token(token)
            .send()
            .await,
    );
    assert_recent("approvedAt", approved.approved_at());

    let execution = wait_for("the execution succeeds", async || {
        let got = answer(
            "GetPipelineExecution",
            client
                .get_pipeline_execution()
                .pipeline_name("Gated")
                .pipeline_execution_id(&id)
                .send()
                .await,
        );
        let execution = got.pipeline_execution().cloned();
        let done = execution
            .as_ref()
            .is_some_and(|e| e.status() == Some(&PipelineExecutionStatus::Succeeded));
        (done.then_some(got), execution)
    })
    .await;
    let execution = execution.pipeline_execution().unwrap();
    assert_eq!(execution.pipeline_name(), Some("Gated"));
    assert_eq!(execution.pipeline_version(), Some(1));

    let executions = answer(
        "ListPipelineExecutions",
        client
            .list_pipeline_executions()
            .pipeline_name("Gated")
            .send()
            .await,
    );
    let [summary] = executions.pipeline_execution_summaries() else {
        panic!("one execution, however often its token was sent: {executions:?}")
    };
    assert_eq!(summary.pipeline_execution_id(), Some(id.as_str()));
    assert_eq!(summary.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_recent("summary.startTime", summary.start_time());
    assert_recent("summary.lastUpdateTime", summary.last_update_time());

    let actions = answer(
        "ListActionExecutions",
        client
            .list_action_executions()
            .pipeline_name("Gated")
            .filter(
                ActionExecutionFilter::builder()
                    .pipeline_execution_id(&id)
                    .build(),
            )
            .send()
            .await,
    );
    let mut ran: Vec<(&str, &str)> = actions
        .action_execution_details()
        .iter()
        .map(|a| {
            assert_eq!(a.status(), Some(&ActionExecutionStatus::Succeeded), "{a:?}");
            assert_recent("actionExecution.startTime", a.start_time());
            (a.stage_name().unwrap(), a.action_name().unwrap())
        })
        .collect();
    ran.sort();
    assert_eq!(ran, [("Approve", "Review"), ("Source", "Source")]);

    answer(
        "DeletePipeline",
        client.delete_pipeline().name("Gated").send().await,
    );
    let listed = answer("ListPipelines", client.list_pipelines().send().await);
    assert!(listed.pipelines().is_empty(), "{listed:?}");
}
