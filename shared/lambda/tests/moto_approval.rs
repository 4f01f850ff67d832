//! The approval function on moto_server, invoked as Lambda would invoke it: API Gateway HTTP API (payload
//! 2.0) events for the approval page's GET and POST. A pipeline runs on moto's Step Functions (through the
//! test bridge, `bridge/mod.rs`) until its Manual approval waits; the invoke worker publishes the approval
//! notification to a moto SNS topic (read back from an SQS queue subscribed to it); the signing key is
//! read from moto's Secrets Manager by ARN, as the api function, the invoke worker and the approval
//! function read it at init. Every part is moto's or Sluice's own: nothing here fakes an AWS API.

mod bridge;
#[path = "../../aws/tests/common/mod.rs"]
mod common;
#[path = "../../aws/tests/queue/mod.rs"]
mod queue;

use std::time::Duration;

use axum::body::Body;
use base64::Engine;
use lambda_http::tower::ServiceExt;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use bridge::TestBridge;
use queue::TestQueue;
use sluice_aws::approval::ApprovalKeyError;
use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_aws::provider::{WorkerKind, providers_with};
use sluice_core::approval::DECISION_KIND;
use sluice_core::compile::Transport;
use sluice_core::port::{ActionExecutionStore, ResourceStore};
use sluice_lambda::approval::ApprovalFunction;
use sluice_lambda::{LinkSettingError, StackLinks};

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
/// The HTTP API's URL, as the template sets SLUICE_PUBLIC_URL.
const PUBLIC_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
/// Where API Gateway says the reviewer's request came from.
const REVIEWER_IP: &str = "198.51.100.7";
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// The stack on moto: the table, the signing key's secret, the topic approvals notify (with a queue
/// subscribed), the api function's router, the bridge with the invoke worker as its `main.rs` builds
/// it, and the approval function.
struct Stack {
    _moto: common::Moto,
    config: AwsConfig,
    ports: AwsPorts,
    api: sluice_api::Router,
    bridge: TestBridge,
    topic: String,
    inbox: TestQueue,
    function: ApprovalFunction,
}

impl Stack {
    async fn start() -> Stack {
        let moto = common::Moto::start();
        moto.execute_state_machines();
        let config = moto.config().await;
        // The template's ApprovalKeySecret: 64 generated letters and digits.
        let key_arn = config
            .secrets_manager()
            .create_secret()
            .name("sluice-approval-key")
            .secret_string("k7Qm2Xw9Rt4Lp8Zs1Vb6Nc3Hd5Jf0Gy7Ue2Ia9Ko4Ms1Pq8Wr3Tx6Yz0Bv5Cn2Dl")
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        let settings = Settings {
            table: "sluice".to_string(),
            kms_key: KMS_KEY.to_string(),
            state_machine_role: Some(
                "arn:aws:iam::123456789012:role/sluice-state-machine".to_string(),
            ),
            prefix: "sluice".to_string(),
            event_bus: "default".to_string(),
            events_role: Some("arn:aws:iam::123456789012:role/sluice-events".to_string()),
            public_url: Some(format!("{PUBLIC_URL}/")),
            approval_key_arn: Some(key_arn),
        };
        let ports = AwsPorts::new(&config, &settings);
        ports.store.create_table().await.unwrap();
        // What the three functions read at init, each on its own.
        let links = || async { StackLinks::read(&config, &settings).await.unwrap() };

        let mut service = sluice_lambda::service(&settings, "us-east-1", &links().await).unwrap();
        service.compile.transport = Transport::TestBridge;
        let api = sluice_lambda::api_router(ports.clone(), service);

        let sns = aws_sdk_sns::Client::new(&config.sdk);
        let topic = sns
            .create_topic()
            .name("release-approvals")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let inbox = TestQueue::create(&config, "release-approvals-inbox").await;
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&inbox.arn)
            .send()
            .await
            .unwrap();
        let approvals = sluice_lambda::notifying_approvals(&config, &links().await);
        let invoke = providers_with(WorkerKind::Invoke, config.s3(), KMS_KEY, approvals);
        let bridge = TestBridge::new(ports.clone(), config.sfn()).with_invoke(invoke);

        let function = ApprovalFunction::new(ports.clone(), links().await);
        for bucket in ["sluice-artifacts", "inbox"] {
            config
                .s3()
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
        }
        config
            .s3()
            .put_object()
            .bucket("inbox")
            .key("app.zip")
            .body(b"PK\x05\x06 the app".to_vec().into())
            .send()
            .await
            .unwrap();
        Stack {
            _moto: moto,
            config,
            ports,
            api,
            bridge,
            topic,
            inbox,
            function,
        }
    }

    /// One awsJson1.1 call to the api function's router, which must succeed.
    async fn call(&self, operation: &str, body: Value) -> Value {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", format!("CodePipeline_20150709.{operation}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.api.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{operation}: {answer}");
        answer
    }

    /// Pipeline `Gated`: an S3 source, then a Manual approval that notifies the topic.
    async fn create_pipeline(&self) {
        self.call(
            "CreatePipeline",
            json!({"pipeline": {
                "name": "Gated", "roleArn": "arn:aws:iam::123456789012:role/p",
                "artifactStore": {"type": "S3", "location": "sluice-artifacts"},
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "Fetch",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app.zip", "PollForSourceChanges": "true"},
                        "outputArtifacts": [{"name": "App"}]
                    }]},
                    {"name": "Approve", "actions": [{
                        "name": "Review",
                        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                        "configuration": {"NotificationArn": self.topic, "CustomData": "Look at <staging>"}
                    }]}
                ]
            }}),
        )
        .await;
    }

    /// Starts an execution and runs it until its approval waits; returns the execution id and the
    /// approval's latest execution in GetPipelineState.
    async fn waiting_approval(&mut self) -> (String, Value) {
        let id = self
            .call("StartPipelineExecution", json!({"name": "Gated"}))
            .await["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
        for _ in 0..300 {
            self.bridge.pass().await;
            let review = self.review().await;
            if review["status"] == "InProgress" && review["externalExecutionUrl"].is_string() {
                return (id, review);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the approval of {id} never waited");
    }

    async fn review(&self) -> Value {
        self.call("GetPipelineState", json!({"name": "Gated"}))
            .await["stageStates"][1]["actionStates"][0]["latestExecution"]
            .clone()
    }

    async fn execution_status(&self, id: &str) -> String {
        self.call(
            "GetPipelineExecution",
            json!({"pipelineName": "Gated", "pipelineExecutionId": id}),
        )
        .await["pipelineExecution"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs the machines until execution `id` has ended; its status.
    async fn finished(&mut self, id: &str) -> String {
        for _ in 0..300 {
            self.bridge.pass().await;
            let status = self.execution_status(id).await;
            if status != "InProgress" {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{id} did not end");
    }

    /// What could change: every action attempt of the pipeline and the decisions recorded.
    async fn recorded(&self) -> (Value, Vec<(String, Value)>) {
        let actions = self
            .ports
            .store
            .action_executions("Gated", None)
            .await
            .unwrap();
        (
            serde_json::to_value(actions).unwrap(),
            self.ports.store.resources(DECISION_KIND).await.unwrap(),
        )
    }

    /// The notifications the topic delivered to its queue: their SNS message bodies as JSON.
    async fn notifications(&self) -> Vec<Value> {
        let mut bodies = Vec::new();
        for _ in 0..20 {
            for text in self.inbox.take(1).await {
                let envelope: Value = serde_json::from_str(&text).unwrap();
                bodies.push(serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap());
            }
            if !bodies.is_empty() {
                break;
            }
        }
        bodies
    }

    /// Invokes the approval function as Lambda would.
    async fn invoke(&self, payload: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        self.function
            .handle(LambdaEvent::new(payload, Context::default()))
            .await
    }

    /// Invokes it with an HTTP API request; the status, the headers and the HTML.
    async fn page(&self, event: Value) -> (u16, Value, String) {
        let response = self.invoke(event).await.unwrap();
        assert_eq!(response["isBase64Encoded"], false, "{response}");
        let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
        let html = response["body"].as_str().unwrap_or_default().to_string();
        (status, response["headers"].clone(), html)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let (status, headers, html) = self.page(http_event("GET", path, &[], "", false)).await;
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-store");
        (status, html)
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let (status, _, html) = self
            .page(http_event("POST", path, headers, body, false))
            .await;
        (status, html)
    }
}

/// An API Gateway HTTP API request (payload format 2.0) for `<method> <path>` from [`REVIEWER_IP`], its
/// body as text or, as API Gateway sends bodies it takes for binary, base64-encoded.
fn http_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    base64: bool,
) -> Value {
    let route = "/view/{pipeline}/{stage}/{action}/approve/{link}";
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .chain([
            (
                "host".to_string(),
                json!("abc123.execute-api.us-east-1.amazonaws.com"),
            ),
            ("user-agent".to_string(), json!("Mozilla/5.0")),
        ])
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "requestId": "r-1", "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1_767_225_600_000_u64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": REVIEWER_IP, "userAgent": "Mozilla/5.0"}
        },
        "isBase64Encoded": base64,
    });
    if segments.len() == 6 {
        event["pathParameters"] = json!({
            "pipeline": segments[1], "stage": segments[2], "action": segments[3], "link": segments[5]
        });
    }
    if !body.is_empty() {
        event["body"] = json!(if base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            body.to_string()
        });
    }
    event
}

/// The value of the hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_string()
}

/// The form a browser posts from `page` (its hidden fields are letters and digits).
fn form(page: &str, decision: &str, name: &str, summary: &str) -> String {
    format!(
        "nonce={}&form_token={}&name={}&summary={}&decision={decision}",
        hidden(page, "nonce"),
        hidden(page, "form_token"),
        name.replace(' ', "+"),
        summary.replace(' ', "+")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifications_link_opens_the_page_twice_without_effect_and_its_form_resumes_the_machine()
 {
    let mut stack = Stack::start().await;
    stack.create_pipeline().await;
    let (id, review) = stack.waiting_approval().await;

    // The notification and GetPipelineState link to the same page, under the HTTP API's URL.
    let url = review["externalExecutionUrl"].as_str().unwrap().to_string();
    let path = url
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url} starts with {PUBLIC_URL}"))
        .to_string();
    assert!(
        path.starts_with("/view/Gated/Approve/Review/approve/"),
        "{path}"
    );
    let notifications = stack.notifications().await;
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    let approval = &notifications[0]["approval"];
    assert_eq!(approval["approvalReviewLink"], url.as_str());
    assert_eq!(approval["token"], review["token"]);
    assert_eq!(
        notifications[0]["consoleLink"],
        format!("{PUBLIC_URL}/view/Gated")
    );

    // Two GETs, as a mail scanner and then the reviewer would: each shows the form, nothing changes.
    let before = stack.recorded().await;
    let (status, first) = stack.get(&path).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = stack.get(&path).await;
    assert_eq!(status, 200, "{second}");
    assert!(first.contains("Look at &lt;staging&gt;"), "{first}");
    assert!(first.contains(&id), "the execution id: {first}");
    assert!(first.contains("<form method=\"post\">"));
    assert_ne!(hidden(&first, "nonce"), hidden(&second, "nonce"));
    assert_eq!(stack.recorded().await, before, "the GETs changed nothing");
    stack.bridge.pass().await;
    assert_eq!(stack.execution_status(&id).await, "InProgress");

    // The reviewer's POST, as API Gateway hands it over (the form base64-encoded), with an address of
    // the caller's own in the header the function takes API Gateway's into: API Gateway's is recorded.
    let body = form(&first, "approve", "Ada Lovelace", "checked staging");
    let event = http_event(
        "POST",
        &path,
        &[
            FORM,
            ("origin", PUBLIC_URL),
            ("sec-fetch-site", "same-origin"),
            ("x-sluice-source-ip", "203.0.113.66"),
        ],
        &body,
        true,
    );
    let (status, _, decided) = stack.page(event).await;
    assert_eq!(status, 200, "{decided}");
    assert!(
        decided.contains(&format!("Approved by Ada Lovelace ({REVIEWER_IP}) at ")),
        "{decided}"
    );

    // Recorded as PutApprovalResult records it, and the waiting task resumed (SendTaskSuccess): the
    // machine in moto's Step Functions goes on to the end.
    let attempts = stack
        .ports
        .store
        .action_executions("Gated", Some(&id))
        .await
        .unwrap();
    let decided_attempt = attempts.iter().find(|a| a.action_name == "Review").unwrap();
    assert_eq!(
        decided_attempt.last_updated_by.as_deref(),
        Some("Ada Lovelace (198.51.100.7)")
    );
    assert_eq!(decided_attempt.summary.as_deref(), Some("checked staging"));
    assert_eq!(stack.finished(&id).await, "Succeeded");
    let latest = stack.review().await;
    assert_eq!(latest["status"], "Succeeded");
    assert_eq!(latest["lastUpdatedBy"], "Ada Lovelace (198.51.100.7)");
    let history = stack
        .call(
            "ListActionExecutions",
            json!({"pipelineName": "Gated", "filter": {"pipelineExecutionId": id}}),
        )
        .await;
    let detail = history["actionExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actionName"] == "Review")
        .unwrap()
        .clone();
    assert_eq!(detail["status"], "Succeeded");
    assert_eq!(detail["updatedBy"], "Ada Lovelace (198.51.100.7)");

    // The same form again (a double click): the decision stands, shown with 409, nothing changes.
    let after = stack.recorded().await;
    let (status, again) = stack
        .post(&path, &[FORM], &form(&second, "reject", "Mallory", ""))
        .await;
    assert_eq!(status, 409, "{again}");
    assert!(again.contains("already decided"), "{again}");
    assert_eq!(stack.recorded().await, after);
    // And the page says who decided and when.
    let (status, shown) = stack.get(&path).await;
    assert_eq!(status, 200);
    assert!(shown.contains("<h1>Approved</h1>"), "{shown}");
    assert!(!shown.contains("<form"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_fails_the_waiting_task_and_bad_links_and_forms_change_nothing() {
    let mut stack = Stack::start().await;
    stack.create_pipeline().await;
    let (id, review) = stack.waiting_approval().await;
    let url = review["externalExecutionUrl"].as_str().unwrap();
    let path = url.strip_prefix(PUBLIC_URL).unwrap().to_string();
    let (_, page) = stack.get(&path).await;
    let good = form(&page, "reject", "Grace Hopper", "not today");

    let link = path.rsplit('/').next().unwrap().to_string();
    let forged = {
        let mut forged = link.clone();
        let last = if forged.ends_with('0') { '1' } else { '0' };
        forged.pop();
        forged.push(last);
        path.replace(&link, &forged)
    };
    let before = stack.recorded().await;
    // A forged link: refused on GET and POST.
    let (status, refused) = stack.get(&forged).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("signature does not match"), "{refused}");
    let (status, _) = stack.post(&forged, &[FORM], &good).await;
    assert_eq!(status, 403);
    // A POST without the form token, with a forged one, or from another site.
    let (status, refused) = stack
        .post(&path, &[FORM], "name=Mallory&decision=approve")
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("no form token"), "{refused}");
    let tampered = good.replace(&hidden(&page, "form_token"), &"0".repeat(64));
    let (status, refused) = stack.post(&path, &[FORM], &tampered).await;
    assert_eq!(status, 403, "{refused}");
    let (status, refused) = stack
        .post(&path, &[FORM, ("origin", "https://evil.example")], &good)
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("evil.example"), "{refused}");
    // A link with its token cut off is no approval link.
    let (status, _) = stack.get(&path.replace(&link, "not-a-link")).await;
    assert_eq!(status, 400);
    assert_eq!(stack.recorded().await, before, "nothing changed");
    assert_eq!(stack.review().await["status"], "InProgress");

    // A rejection: recorded, and the waiting task failed (SendTaskFailure), so the execution fails.
    let (status, decided) = stack.post(&path, &[FORM], &good).await;
    assert_eq!(status, 200, "{decided}");
    assert!(
        decided.contains("Rejected by Grace Hopper (198.51.100.7)"),
        "{decided}"
    );
    assert_eq!(stack.finished(&id).await, "Failed");
    let latest = stack.review().await;
    assert_eq!(latest["status"], "Failed");
    assert_eq!(latest["lastUpdatedBy"], "Grace Hopper (198.51.100.7)");
    assert_eq!(latest["errorDetails"]["message"], "Rejected: not today");
}

#[tokio::test]
async fn the_function_takes_only_http_api_requests_and_its_key_must_be_long_enough() {
    let stack = Stack::start().await;
    let error = stack
        .invoke(json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}))
        .await
        .unwrap_err();
    assert_eq!(error.error_type, "Sluice.UnreadableInvocation");
    assert!(
        error.error_message.contains("not an HTTP API request"),
        "{}",
        error.error_message
    );
    let mut malformed = http_event(
        "GET",
        "/view/a/b/c/approve/secret-link-token",
        &[],
        "",
        false,
    );
    malformed["requestContext"]["http"]["method"] = json!(7);
    let error = stack.invoke(malformed).await.unwrap_err();
    assert!(
        !error.error_message.contains("secret-link-token"),
        "{}",
        error.error_message
    );

    // A signing key shorter than 32 bytes, or a secret that is gone, stops a function's init, naming
    // the secret and the length, never the value.
    let secrets = stack.config.secrets_manager();
    let short = secrets
        .create_secret()
        .name("short-key")
        .secret_string("hunter2")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let settings = |arn: Option<&str>| Settings {
        table: "sluice".to_string(),
        kms_key: KMS_KEY.to_string(),
        state_machine_role: None,
        prefix: "sluice".to_string(),
        event_bus: "default".to_string(),
        events_role: None,
        public_url: Some(PUBLIC_URL.to_string()),
        approval_key_arn: arn.map(str::to_string),
    };
    match StackLinks::read(&stack.config, &settings(Some(&short))).await {
        Err(LinkSettingError::Key(error @ ApprovalKeyError::Short { found: 7, .. })) => {
            let text = error.to_string();
            assert!(text.contains(&short) && !text.contains("hunter2"), "{text}");
        }
        other => panic!("a short key is refused: {other:?}"),
    }
    let gone = short.replace("short-key", "no-such-key");
    assert!(matches!(
        StackLinks::read(&stack.config, &settings(Some(&gone))).await,
        Err(LinkSettingError::Key(ApprovalKeyError::Gone { .. }))
    ));
    match StackLinks::read(&stack.config, &settings(None)).await {
        Err(LinkSettingError::Key(ApprovalKeyError::Missing(missing))) => {
            assert_eq!(missing.name, "SLUICE_APPROVAL_KEY_ARN");
        }
        other => panic!("the key's ARN is required: {other:?}"),
    }
    let mut no_url = settings(Some(&short));
    no_url.public_url = Some("abc123.execute-api.us-east-1.amazonaws.com".to_string());
    assert!(matches!(
        StackLinks::read(&stack.config, &no_url).await,
        Err(LinkSettingError::Url(_))
    ));
}
