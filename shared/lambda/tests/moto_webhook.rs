//! The webhook function on moto_server, invoked as Lambda would invoke it: API Gateway HTTP API (payload
//! 2.0) events carrying deliveries, the delivery-recorded event as the stack's rule delivers it (here
//! read from an SQS queue a rule on moto's bus sends it to), and the recovery schedule's event.
//! Pipelines and PutWebhook definitions are made through the api function's router; the receiver's
//! secret is read from moto's Secrets Manager by ARN, as the function reads it at init; executions are
//! looked for in moto's Step Functions and DynamoDB.

#[path = "../../aws/tests/common/mod.rs"]
mod common;
#[path = "../../aws/tests/queue/mod.rs"]
mod queue;

use axum::body::Body;
use base64::Engine;
use lambda_http::tower::ServiceExt;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use queue::TestQueue;
use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_aws::secrets::SecretsManagerSecrets;
use sluice_aws::webhook::{
    DELIVERY_RECORDED, DeliveryAnnouncer, WEBHOOK_SOURCE, WebhookSecretError, receiver_secrets,
};
use sluice_core::approval::link::{ApprovalKey, PublicUrl};
use sluice_core::port::{ExecutionStore, PipelineStore, ResourceStore};
use sluice_core::usecase::webhook::{DELIVERY_KIND, ReceiverSecrets};
use sluice_core::webhook::signature::sign_sha256;
use sluice_lambda::StackLinks;
use sluice_lambda::webhook::{ANNOUNCE_WITHIN, WebhookFunction};

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const SECRET: &str = "a GitHub webhook secret";
const BUS: &str = "sluice-bus";
const CONNECTION: &str = "arn:aws:codeconnections:us-east-1:123456789012:connection/c";
const BASE_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

/// The stack on moto: the table, the bus with a rule that sends the webhook function's events to a
/// queue, the receiver's secret, the api function's router and the webhook function.
struct Stack {
    _moto: common::Moto,
    config: AwsConfig,
    ports: AwsPorts,
    api: sluice_api::Router,
    queue: TestQueue,
    secrets: ReceiverSecrets,
    function: WebhookFunction<AwsPorts>,
}

impl Stack {
    async fn start() -> Stack {
        let moto = common::Moto::start();
        let config = moto.config().await;
        let settings = Settings {
            table: "sluice".to_string(),
            kms_key: KMS_KEY.to_string(),
            state_machine_role: Some(
                "arn:aws:iam::123456789012:role/sluice-state-machine".to_string(),
            ),
            prefix: "sluice".to_string(),
            event_bus: BUS.to_string(),
            events_role: Some("arn:aws:iam::123456789012:role/sluice-events".to_string()),
            public_url: Some(BASE_URL.to_string()),
            approval_key_arn: None,
        };
        let ports = AwsPorts::new(&config, &settings);
        ports.store.create_table().await.unwrap();
        let links = StackLinks {
            public_url: PublicUrl::parse(BASE_URL).unwrap(),
            key: ApprovalKey::new(vec![7; 32]).unwrap(),
        };
        let service = sluice_lambda::service(&settings, "us-east-1", &links).unwrap();
        let api = sluice_lambda::api_router(ports.clone(), service);

        let events = aws_sdk_eventbridge::Client::new(&config.sdk);
        events.create_event_bus().name(BUS).send().await.unwrap();
        let queue = TestQueue::create(&config, "webhook-deliveries").await;
        // The template's delivery-recorded rule, with the queue standing in for the function.
        events
            .put_rule()
            .event_bus_name(BUS)
            .name("sluice.webhook-start")
            .event_pattern(
                json!({"source": [WEBHOOK_SOURCE], "detail-type": [DELIVERY_RECORDED]}).to_string(),
            )
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .event_bus_name(BUS)
            .rule("sluice.webhook-start")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("function")
                    .arn(&queue.arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let arn = config
            .secrets_manager()
            .create_secret()
            .name("sluice/webhooks")
            .secret_string(json!({"github": SECRET}).to_string())
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        let secrets = receiver_secrets(
            &SecretsManagerSecrets::new(config.secrets_manager(), KMS_KEY),
            &arn,
        )
        .await
        .unwrap();
        let function = WebhookFunction::new(
            ports.clone(),
            secrets.clone(),
            DeliveryAnnouncer::new(sluice_aws::eventbridge::client(&config), BUS),
        );
        Stack {
            _moto: moto,
            config,
            ports,
            api,
            queue,
            secrets,
            function,
        }
    }

    /// The webhook function again, announcing deliveries through `announcer` instead.
    fn with_announcer(mut self, announcer: DeliveryAnnouncer) -> Stack {
        self.function = WebhookFunction::new(self.ports.clone(), self.secrets.clone(), announcer);
        self
    }

    /// One awsJson1.1 call to the api function's router.
    async fn call(&self, operation: &str, body: Value) -> (u16, Value) {
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
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The V2 pipeline `name`, whose connection source watches `octo/app` and builds `main`.
    async fn create_pipeline(&self, name: &str) {
        let (status, answer) = self
            .call(
                "CreatePipeline",
                json!({"pipeline": {
                    "name": name, "roleArn": "arn:aws:iam::123456789012:role/p", "pipelineType": "V2",
                    "artifactStore": {"type": "S3", "location": "sluice-artifacts"},
                    "stages": [
                        {"name": "Source", "actions": [{
                            "name": "Code",
                            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                            "configuration": {"ConnectionArn": CONNECTION, "FullRepositoryId": "octo/app", "BranchName": "main"},
                            "outputArtifacts": [{"name": "Src"}]
                        }]},
                        {"name": "Approve", "actions": [{
                            "name": "Review",
                            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
                        }]}
                    ]
                }}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    /// Invokes the webhook function with `payload`, as Lambda would.
    async fn invoke(&self, payload: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        self.function
            .handle(LambdaEvent::new(payload, Context::default()))
            .await
    }

    /// Invokes it with an HTTP API request and returns the status and the body of its response.
    async fn deliver(&self, event: Value) -> (u16, Value) {
        let response = self.invoke(event).await.unwrap();
        assert_eq!(
            response["isBase64Encoded"], false,
            "the answer is JSON text: {response}"
        );
        let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
        let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
        assert_eq!(response["headers"]["content-type"], "application/json");
        (status, body)
    }

    /// The recorded deliveries' keys and documents.
    async fn deliveries(&self) -> Vec<(String, Value)> {
        self.ports.store.resources(DELIVERY_KIND).await.unwrap()
    }

    /// The names of the executions moto's Step Functions has of the pipeline's machine.
    async fn machine_runs(&self, pipeline: &str) -> Vec<String> {
        let stored = self.ports.store.pipeline(pipeline).await.unwrap().unwrap();
        self.config
            .sfn()
            .list_executions()
            .state_machine_arn(&stored.machine)
            .send()
            .await
            .unwrap()
            .executions()
            .iter()
            .map(|e| e.name().to_string())
            .collect()
    }

    /// The events the delivery-recorded rule delivered, as EventBridge hands them to a target.
    async fn announced(&self, wait_seconds: i32) -> Vec<Value> {
        self.queue
            .take(wait_seconds)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).unwrap())
            .collect()
    }
}

/// An API Gateway HTTP API request (payload format 2.0) for `POST <path>` from `source_ip`, the body sent
/// as text or, as API Gateway does for some content types, base64-encoded.
fn http_event(
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    source_ip: &str,
    base64: bool,
) -> Value {
    let endpoint = path.trim_start_matches("/webhooks/");
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .chain([
            (
                "host".to_string(),
                json!("abc123.execute-api.us-east-1.amazonaws.com"),
            ),
            ("content-length".to_string(), json!(body.len().to_string())),
        ])
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).unwrap()
    };
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{endpoint}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": "POST /webhooks/{endpoint}", "stage": "$default",
            "time": "01/Jan/2026:12:00:00 +0000", "timeEpoch": 1_767_268_800_000_u64,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": "GitHub-Hookshot/5a4b3c2"}
        },
        "pathParameters": {"endpoint": endpoint},
        "body": body,
        "isBase64Encoded": base64
    })
}

fn push(branch: &str) -> Vec<u8> {
    json!({"ref": format!("refs/heads/{branch}"), "after": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
           "deleted": false, "repository": {"full_name": "octo/app"}, "commits": []})
    .to_string()
    .into_bytes()
}

/// GitHub's headers for a push delivery, signed with `secret` when given.
fn github_headers(
    delivery: &str,
    body: &[u8],
    secret: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("x-github-event", "push".to_string()),
        ("x-github-delivery", delivery.to_string()),
    ];
    if let Some(secret) = secret {
        headers.push(("x-hub-signature-256", sign_sha256(secret.as_bytes(), body)));
    }
    headers
}

fn scheduled_event() -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-01-01T12:01:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/sluice.webhook-sweep"],
        "detail": {}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_push_is_answered_recorded_announced_and_started_when_its_event_comes_back() {
    let stack = Stack::start().await;
    stack.create_pipeline("App").await;
    let body = push("main");
    let (status, answer) = stack
        .deliver(http_event(
            "/webhooks/github",
            &github_headers("d-1", &body, Some(SECRET)),
            &body,
            "140.82.115.1",
            false,
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
    let execution_id = answer["executions"][0]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(answer["executions"][0]["pipelineName"], "App");

    // Recorded before the answer, and not started by the request.
    let deliveries = stack.deliveries().await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].0, "github/d-1");
    assert_eq!(deliveries[0].1["starts"][0]["started"], false);
    assert!(stack.machine_runs("App").await.is_empty());

    // The event on the stack's bus, as the rule hands it on.
    let announced = stack.announced(5).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    let event = &announced[0];
    assert_eq!(event["source"], WEBHOOK_SOURCE);
    assert_eq!(event["detail-type"], DELIVERY_RECORDED);
    assert_eq!(event["detail"], json!({"key": "github/d-1"}));

    // The rule invokes the function with it: the execution starts on Step Functions.
    let started = stack.invoke(event.clone()).await.unwrap();
    assert_eq!(started["delivery"], "github/d-1");
    assert_eq!(
        started["executions"],
        json!([{"pipelineName": "App", "pipelineExecutionId": execution_id, "started": true, "error": null}])
    );
    assert_eq!(
        stack.machine_runs("App").await,
        std::slice::from_ref(&execution_id)
    );
    let record = stack
        .ports
        .store
        .execution("App", &execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.trigger.trigger_type, "WebhookV2");
    assert_eq!(record.trigger.trigger_detail.as_deref(), Some(CONNECTION));
    assert_eq!(
        record.source_revisions[0].revision_value,
        "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
    );

    // The same event again (EventBridge delivers at least once) starts nothing more.
    stack.invoke(event.clone()).await.unwrap();
    assert_eq!(
        stack.machine_runs("App").await,
        std::slice::from_ref(&execution_id)
    );

    // A redelivery of d-1 is answered and starts nothing; no event is put for it.
    let (status, answer) = stack
        .deliver(http_event(
            "/webhooks/github",
            &github_headers("d-1", &body, Some(SECRET)),
            &body,
            "140.82.115.1",
            false,
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(stack.announced(1).await.is_empty());
    assert_eq!(stack.machine_runs("App").await, [execution_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_schedule_starts_a_delivery_whose_event_never_came_back() {
    let stack = Stack::start().await;
    stack.create_pipeline("App").await;
    let body = push("main");
    let (status, answer) = stack
        .deliver(http_event(
            "/webhooks/github",
            &github_headers("d-2", &body, Some(SECRET)),
            &body,
            "140.82.115.1",
            true,
        ))
        .await;
    assert_eq!(
        status, 202,
        "a base64-encoded body is decoded first: {answer}"
    );
    let execution_id = answer["executions"][0]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    // Its event is lost: the queue is drained and nothing invokes the function with it.
    assert_eq!(stack.announced(5).await.len(), 1);
    assert!(stack.machine_runs("App").await.is_empty());

    let recovered = stack.invoke(scheduled_event()).await.unwrap();
    assert_eq!(recovered, json!({"recovered": ["github/d-2"]}));
    assert_eq!(
        stack.machine_runs("App").await,
        std::slice::from_ref(&execution_id)
    );
    let record = stack
        .ports
        .store
        .execution("App", &execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.trigger.trigger_type, "WebhookV2");
    assert_eq!(stack.deliveries().await[0].1["starts"][0]["started"], true);

    // Nothing is left for the next minute's run.
    let again = stack.invoke(scheduled_event()).await.unwrap();
    assert_eq!(again, json!({"recovered": []}));
    assert_eq!(stack.machine_runs("App").await, [execution_id]);
}

/// The delivery-recorded event cannot be put (a bus that does not exist; a bus endpoint that never
/// answers): the delivery is still answered 202, within a bounded wait, and the schedule starts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_event_cannot_be_put_is_answered_and_started_by_the_schedule() {
    let stack = Stack::start().await;
    stack.create_pipeline("App").await;
    let missing_bus = DeliveryAnnouncer::new(
        sluice_aws::eventbridge::client(&stack.config),
        "no-such-bus",
    );
    let stack = stack.with_announcer(missing_bus);
    let body = push("main");
    let (status, answer) = stack
        .deliver(http_event(
            "/webhooks/github",
            &github_headers("d-5", &body, Some(SECRET)),
            &body,
            "140.82.115.1",
            false,
        ))
        .await;
    assert_eq!(status, 202, "{answer}");

    // An endpoint that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_config = AwsConfig::for_endpoint(&sluice_aws::config::Endpoint {
        url: format!("http://{}", silent.local_addr().unwrap()),
        region: "us-east-1".to_string(),
        access_key_id: "test".to_string(),
        secret_access_key: "test".to_string(),
    })
    .await;
    let stack = stack.with_announcer(DeliveryAnnouncer::new(
        sluice_aws::eventbridge::client(&silent_config),
        BUS,
    ));
    let asked = std::time::Instant::now();
    let (status, answer) = stack
        .deliver(http_event(
            "/webhooks/github",
            &github_headers("d-6", &body, Some(SECRET)),
            &body,
            "140.82.115.1",
            false,
        ))
        .await;
    let waited = asked.elapsed();
    assert_eq!(status, 202, "{answer}");
    assert!(
        waited >= ANNOUNCE_WITHIN && waited < ANNOUNCE_WITHIN * 2,
        "the answer waited {waited:?} for the event"
    );
    drop(silent);

    assert!(stack.announced(1).await.is_empty());
    assert!(stack.machine_runs("App").await.is_empty());
    let mut recovered = stack.invoke(scheduled_event()).await.unwrap()["recovered"].clone();
    recovered
        .as_array_mut()
        .unwrap()
        .sort_by_key(|k| k.to_string());
    assert_eq!(recovered, json!(["github/d-5", "github/d-6"]));
    assert_eq!(stack.machine_runs("App").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_or_forged_delivery_is_refused_401_and_nothing_is_recorded_or_announced() {
    let stack = Stack::start().await;
    stack.create_pipeline("App").await;
    let body = push("main");
    let refusals = [
        ("/webhooks/github", github_headers("d-3", &body, None)),
        (
            "/webhooks/github",
            github_headers("d-4", &body, Some("not the secret")),
        ),
        // The secret has no gitlab key: that endpoint refuses every delivery.
        (
            "/webhooks/gitlab",
            vec![
                ("content-type", "application/json".to_string()),
                ("x-gitlab-event", "Push Hook".to_string()),
                ("x-gitlab-token", SECRET.to_string()),
            ],
        ),
    ];
    for (path, headers) in refusals {
        let (status, answer) = stack
            .deliver(http_event(path, &headers, &body, "140.82.115.1", false))
            .await;
        assert_eq!(status, 401, "{path} {headers:?}: {answer}");
    }
    assert!(stack.deliveries().await.is_empty());
    assert!(stack.announced(1).await.is_empty());
    assert!(stack.machine_runs("App").await.is_empty());

    // An event this function does not take is an error saying so.
    let refused = stack
        .invoke(json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type, "Sluice.UnreadableInvocation");
    assert!(
        refused
            .error_message
            .contains("neither an HTTP API request"),
        "{}",
        refused.error_message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_api_gateways_source_ip_counts_for_a_webhook_authenticated_by_ip() {
    let stack = Stack::start().await;
    stack.create_pipeline("App").await;
    let (status, answer) = stack
        .call(
            "PutWebhook",
            json!({"webhook": {
                "name": "from-the-office", "targetPipeline": "App", "targetAction": "Code",
                "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
                "authentication": "IP",
                "authenticationConfiguration": {"AllowedIPRange": "203.0.113.0/24"}
            }}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["webhook"]["url"].as_str().unwrap();
    let path = url.strip_prefix(BASE_URL).unwrap().to_string();
    assert!(path.starts_with("/webhooks/"), "{url}");
    let body = push("main");
    let headers = |delivery: &str, claimed: &str| {
        let mut headers = github_headers(delivery, &body, None);
        headers.push(("X-Sluice-Source-IP", claimed.to_string()));
        headers
    };

    // The caller claims an allowed address; API Gateway saw another.
    let (status, answer) = stack
        .deliver(http_event(
            &path,
            &headers("ip-1", "203.0.113.9"),
            &body,
            "198.51.100.7",
            false,
        ))
        .await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("198.51.100.7"),
        "the address checked is API Gateway's: {answer}"
    );
    assert!(stack.deliveries().await.is_empty());

    // The caller claims an address outside the range; API Gateway saw one inside.
    let (status, answer) = stack
        .deliver(http_event(
            &path,
            &headers("ip-2", "198.51.100.7"),
            &body,
            "203.0.113.9",
            false,
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
    let deliveries = stack.deliveries().await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].0, "webhook/from-the-office/ip-2");
    assert_eq!(
        deliveries[0].1["starts"][0]["trigger"]["triggerType"],
        "Webhook"
    );
}

#[tokio::test]
async fn the_receivers_secret_is_read_by_arn_and_a_missing_or_malformed_one_is_named() {
    let moto = common::Moto::start();
    let config = moto.config().await;
    let secrets = SecretsManagerSecrets::new(config.secrets_manager(), KMS_KEY);
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sluice-webhooks-AbCdEf";
    match receiver_secrets(&secrets, missing).await {
        Err(error @ WebhookSecretError::Missing { .. }) => {
            assert!(error.to_string().contains(missing), "{error}")
        }
        Err(other) => panic!("a missing secret is Missing: {other}"),
        Ok(_) => panic!("a missing secret is refused"),
    }
    let arn = config
        .secrets_manager()
        .create_secret()
        .name("sluice/webhooks")
        .secret_string("github=hunter2")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    match receiver_secrets(&secrets, &arn).await {
        Err(error @ WebhookSecretError::Invalid { .. }) => {
            let text = error.to_string();
            assert!(text.contains(&arn) && text.contains("not JSON"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
        Err(other) => panic!("a malformed secret is Invalid: {other}"),
        Ok(_) => panic!("a malformed secret is refused"),
    }
}
