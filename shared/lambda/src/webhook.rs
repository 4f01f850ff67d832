//! The webhook function: one Lambda function for three kinds of invocation, told apart by their shape.
//!
//! - **An HTTP API request** (API Gateway HTTP API, payload 2.0; it has `requestContext.http`) to
//!   `POST /webhooks/{endpoint}`: a delivery, answered by the same router `sluice serve` runs
//!   (`sluice_api::webhook`). The caller's `x-sluice-source-ip` is dropped and replaced with API Gateway's
//!   `requestContext.http.sourceIp`, the address a webhook authenticated by IP is checked against.
//! - **A delivery-recorded event** (EventBridge: `detail-type`, source `sluice.webhook`): the executions a
//!   recorded delivery starts. The answer to the delivery does not wait for them, and a task spawned by
//!   the request may be frozen with the function once the answer is sent, so the request puts this event
//!   on the stack's bus instead, and a rule brings it back here.
//! - **The recovery schedule's event** (EventBridge, source `aws.events`, `Scheduled Event`, every
//!   minute): deliveries recorded and not started (the event was lost, a start failed) are started.
//!
//! Anything else is refused with an error that says what was expected.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use tracing::Instrument;

use sluice_api::webhook::{AfterAnswer, Receiver};
use sluice_aws::webhook::{DELIVERY_RECORDED, DeliveryAnnouncer, DeliveryRecorded, WEBHOOK_SOURCE};
use sluice_core::port::Ports;
use sluice_core::protocol::SluiceError;
use sluice_core::usecase::webhook::{
    ReceiverSecrets, WebhookError, recover_deliveries, start_delivery,
};
use sluice_core::webhook::event::GitProvider;

use crate::failure;
use crate::http::{HttpEventError, is_http_request, read_request};

/// How long the answer to a delivery waits for its event to be put: senders give up after about ten
/// seconds (GitHub), and a delivery whose event was not put is started by the recovery schedule anyway.
pub const ANNOUNCE_WITHIN: Duration = Duration::from_secs(4);

/// The source and detail-type of the events an EventBridge schedule sends.
const SCHEDULE_SOURCE: &str = "aws.events";
const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What the function was invoked for.
#[derive(Debug)]
pub enum Invocation {
    /// A delivery through the HTTP API.
    Http(Box<ApiGatewayV2httpRequest>),
    /// Start what the delivery with this key starts.
    DeliveryRecorded(DeliveryRecorded),
    /// Start what deliveries left unstarted.
    Recovery,
}

/// Why an invocation cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(
        "the event is neither an HTTP API request (payload 2.0, with requestContext.http) nor an EventBridge event (with detail-type); its fields are {fields}"
    )]
    Unrecognised { fields: String },
    /// Named by the kind and place of the fault only: the request's headers and body are a delivery's,
    /// which may carry a token, and are never quoted.
    #[error(transparent)]
    Http(#[from] HttpEventError),
    #[error("the event has detail-type but is not an EventBridge event: {0}")]
    EventBridge(String),
    #[error(
        "an EventBridge event of source {event_source:?} and detail-type {detail_type:?} is not one this function takes: it takes {WEBHOOK_SOURCE} / {DELIVERY_RECORDED} and the schedule's {SCHEDULE_SOURCE} / {SCHEDULED_EVENT}"
    )]
    UnknownEvent {
        event_source: String,
        detail_type: String,
    },
    #[error("the {DELIVERY_RECORDED} event's detail must be {{\"key\": <a delivery's key>}}: {0}")]
    Detail(String),
}

/// Reads an invocation by its shape, into the types of `aws_lambda_events`.
pub fn read_invocation(payload: Value) -> Result<Invocation, InvocationError> {
    if payload.get("detail-type").is_some() {
        let event: EventBridgeEvent = serde_json::from_value(payload)
            .map_err(|e| InvocationError::EventBridge(e.to_string()))?;
        return match (event.source.as_str(), event.detail_type.as_str()) {
            (WEBHOOK_SOURCE, DELIVERY_RECORDED) => {
                let detail: DeliveryRecorded = serde_json::from_value(event.detail)
                    .map_err(|e| InvocationError::Detail(e.to_string()))?;
                if detail.key.is_empty() {
                    return Err(InvocationError::Detail("key is empty".to_string()));
                }
                Ok(Invocation::DeliveryRecorded(detail))
            }
            (SCHEDULE_SOURCE, SCHEDULED_EVENT) => Ok(Invocation::Recovery),
            (source, detail_type) => Err(InvocationError::UnknownEvent {
                event_source: source.to_string(),
                detail_type: detail_type.to_string(),
            }),
        };
    }
    if is_http_request(&payload) {
        return Ok(Invocation::Http(Box::new(read_request(payload)?)));
    }
    let fields = match &payload {
        Value::Object(fields) if fields.is_empty() => "none".to_string(),
        Value::Object(fields) => fields
            .keys()
            .take(10)
            .map(|k| format!("{:?}", k.chars().take(40).collect::<String>()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none: it is not a JSON object".to_string(),
    };
    Err(InvocationError::Unrecognised { fields })
}

/// The webhook function's state, built once at init.
pub struct WebhookFunction<P> {
    receiver: Arc<Receiver<P>>,
    router: sluice_api::Router,
}

impl<P: Ports + 'static> WebhookFunction<P> {
    /// The receiver over `ports` with the endpoints' `secrets`; each recorded delivery is announced
    /// through `announcer` before its answer.
    pub fn new(ports: P, secrets: ReceiverSecrets, announcer: DeliveryAnnouncer) -> Self {
        let (with, without) = sluice_aws::webhook::configured(&secrets);
        tracing::info!(
            with_secret = slugs(&with),
            refusing_every_delivery = slugs(&without),
            "webhook endpoints (a provider without a key in the webhook secret refuses every delivery)"
        );
        let after_answer: AfterAnswer = Arc::new(move |key: String| {
            let announcer = announcer.clone();
            Box::pin(async move {
                let announced =
                    tokio::time::timeout(ANNOUNCE_WITHIN, announcer.announce(&key)).await;
                let error = match announced {
                    Ok(Ok(())) => {
                        tracing::info!(
                            delivery = key,
                            bus = announcer.bus(),
                            "delivery handed on to start its executions"
                        );
                        return;
                    }
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => format!(
                        "PutEvents did not answer within {} s",
                        ANNOUNCE_WITHIN.as_secs()
                    ),
                };
                tracing::warn!(
                    delivery = key,
                    error,
                    "delivery recorded but not handed on: the recovery schedule starts its executions within a minute or two"
                );
            })
        });
        let receiver = Arc::new(Receiver {
            ports,
            secrets,
            after_answer,
            log: Arc::new(|line: &str| tracing::info!("{line}")),
        });
        let router = sluice_api::webhook::router(receiver.clone());
        Self { receiver, router }
    }

    /// One invocation: the HTTP API's response for a request, a summary of what was started otherwise.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let invocation = match read_invocation(event.payload) {
            Ok(invocation) => invocation,
            Err(error) => {
                return Err(failure(
                    "Sluice.UnreadableInvocation",
                    &error,
                    "webhook function invoked with an event it does not take",
                ));
            }
        };
        match invocation {
            Invocation::Http(request) => {
                let span =
                    tracing::info_span!("invocation", function = "webhook", kind = "delivery");
                self.http(*request).instrument(span).await
            }
            Invocation::DeliveryRecorded(DeliveryRecorded { key }) => {
                let span = tracing::info_span!(
                    "invocation",
                    function = "webhook",
                    kind = "start",
                    delivery = key.as_str()
                );
                self.start(&key).instrument(span).await
            }
            Invocation::Recovery => {
                let span =
                    tracing::info_span!("invocation", function = "webhook", kind = "recovery");
                self.recover().instrument(span).await
            }
        }
    }

    async fn http(&self, request: ApiGatewayV2httpRequest) -> Result<Value, Diagnostic> {
        crate::http::respond(&self.router, request)
            .await
            .map_err(|error| {
                failure(
                    "Sluice.WebhookFailed",
                    &error,
                    "the HTTP API response cannot be written",
                )
            })
    }

    async fn start(&self, key: &str) -> Result<Value, Diagnostic> {
        match start_delivery(&self.receiver.ports, key).await {
            Ok(starts) => {
                for start in &starts {
                    match &start.error {
                        Some(error) => tracing::warn!(
                            pipeline = start.pipeline,
                            execution = start.execution_id,
                            error,
                            "webhook delivery could not start the pipeline"
                        ),
                        None => tracing::info!(
                            pipeline = start.pipeline,
                            execution = start.execution_id,
                            "webhook delivery started the pipeline"
                        ),
                    }
                }
                Ok(json!({
                    "delivery": key,
                    "executions": starts.iter().map(|s| json!({
                        "pipelineName": s.pipeline,
                        "pipelineExecutionId": s.execution_id,
                        "started": s.started,
                        "error": s.error,
                    })).collect::<Vec<_>>(),
                }))
            }
            Err(error) => Err(failure(
                error_type(&error),
                &error,
                "webhook delivery recorded but not started yet (the recovery schedule tries again)",
            )),
        }
    }

    async fn recover(&self) -> Result<Value, Diagnostic> {
        match recover_deliveries(&self.receiver.ports).await {
            Ok(keys) => {
                for key in &keys {
                    tracing::info!(
                        delivery = key,
                        "webhook delivery: started what it had left unstarted"
                    );
                }
                Ok(json!({ "recovered": keys }))
            }
            Err(error) => Err(failure(
                error_type(&error),
                &error,
                "webhook deliveries cannot be recovered now",
            )),
        }
    }
}

fn slugs(providers: &[GitProvider]) -> String {
    providers
        .iter()
        .map(|p| p.slug())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Sluice.Transient` for a store that may answer when asked again.
fn error_type(error: &WebhookError) -> &'static str {
    match error {
        WebhookError::Store(e) if e.is_retryable() => SluiceError::Transient.name(),
        _ => "Sluice.WebhookFailed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_event(headers: Value) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /webhooks/{endpoint}",
            "rawPath": "/webhooks/github",
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123", "requestId": "r-1", "routeKey": "POST /webhooks/{endpoint}",
                "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000_u64,
                "http": {"method": "POST", "path": "/webhooks/github", "protocol": "HTTP/1.1",
                         "sourceIp": "198.51.100.7", "userAgent": "GitHub-Hookshot/abc"}
            },
            "pathParameters": {"endpoint": "github"},
            "body": "{}",
            "isBase64Encoded": false
        })
    }

    #[test]
    fn each_invocation_is_read_by_its_shape() {
        match read_invocation(http_event(json!({"content-type": "application/json"}))).unwrap() {
            Invocation::Http(request) => {
                assert_eq!(request.raw_path.as_deref(), Some("/webhooks/github"));
                assert_eq!(
                    request.request_context.http.source_ip.as_deref(),
                    Some("198.51.100.7")
                );
            }
            other => panic!("an HTTP API request: {other:?}"),
        }
        let recorded = json!({
            "version": "0", "id": "e-1", "detail-type": DELIVERY_RECORDED, "source": WEBHOOK_SOURCE,
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {"key": "github/d-1"}
        });
        match read_invocation(recorded).unwrap() {
            Invocation::DeliveryRecorded(detail) => assert_eq!(detail.key, "github/d-1"),
            other => panic!("a delivery-recorded event: {other:?}"),
        }
        let scheduled = json!({
            "version": "0", "id": "e-2", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-01-01T00:01:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/sluice.webhook-sweep"], "detail": {}
        });
        assert!(matches!(
            read_invocation(scheduled).unwrap(),
            Invocation::Recovery
        ));
    }

    #[test]
    fn anything_else_is_refused_saying_what_was_expected() {
        let unknown =
            read_invocation(json!({"Records": [], "eventSource": "aws:sqs"})).unwrap_err();
        assert!(
            unknown.to_string().contains("neither an HTTP API request")
                && unknown.to_string().contains(r#""Records", "eventSource""#),
            "{unknown}"
        );
        let other_event = read_invocation(json!({
            "detail-type": "Object Created", "source": "aws.s3", "detail": {}
        }))
        .unwrap_err();
        assert!(
            other_event
                .to_string()
                .contains(r#"source "aws.s3" and detail-type "Object Created""#),
            "{other_event}"
        );
        let no_key = read_invocation(json!({
            "detail-type": DELIVERY_RECORDED, "source": WEBHOOK_SOURCE, "detail": {"id": "x"}
        }))
        .unwrap_err();
        assert!(
            no_key.to_string().contains("missing field `key`"),
            "{no_key}"
        );
        let empty_key = read_invocation(json!({
            "detail-type": DELIVERY_RECORDED, "source": WEBHOOK_SOURCE, "detail": {"key": ""}
        }))
        .unwrap_err();
        assert!(
            empty_key.to_string().contains("key is empty"),
            "{empty_key}"
        );
        assert!(matches!(
            read_invocation(json!("not an object")).unwrap_err(),
            InvocationError::Unrecognised { .. }
        ));
    }

    #[test]
    fn a_malformed_http_event_is_described_without_quoting_it() {
        let mut event = http_event(json!({"x-gitlab-token": "hunter2"}));
        event["body"] = json!(["hunter2-body"]);
        let error = read_invocation(event).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, InvocationError::Http(_)), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
