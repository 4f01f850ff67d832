//! The webhook receiver over HTTP: `POST /webhooks/github`, `/webhooks/bitbucket`, `/webhooks/gitlab`,
//! and `/webhooks/<token>` for each URL PutWebhook hands out. The same router runs in `sluice serve` and
//! in the webhook Lambda function. What a delivery means is decided in
//! `sluice_core::usecase::webhook`; here are the body's limits, the status codes, and the one log line.
//!
//! The answer comes before the executions start: a recorded delivery is handed to the host's
//! [`AfterAnswer`], which starts its executions on its own time (`sluice serve` spawns a task and returns
//! at once; the webhook Lambda function puts an event that invokes it again, since a task it spawned
//! could be frozen with it once the answer is sent). A delivery's body is never logged.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use sluice_core::port::Ports;
use sluice_core::usecase::webhook::{
    Delivery, Endpoint, Receipt, ReceiverSecrets, WebhookError, receive,
};
use sluice_core::webhook::event::GitProvider;
use sluice_core::webhook::{MAX_DELIVERY_BYTES, PayloadError};

use crate::body;

/// What the host does with a recorded delivery's key before the answer goes out: arrange for its
/// executions to start (`sluice_core::usecase::webhook::start_delivery` with the key) without making the
/// sender wait for them. It is awaited, so it should return quickly; it reports its own failures (the
/// delivery is recorded either way, and `recover_deliveries` starts it later).
pub type AfterAnswer = Arc<dyn Fn(String) -> AfterAnswerFuture + Send + Sync>;

/// The future an [`AfterAnswer`] returns.
pub type AfterAnswerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The receiver's parts.
pub struct Receiver<P> {
    pub ports: P,
    pub secrets: ReceiverSecrets,
    pub after_answer: AfterAnswer,
    /// Where the one line per delivery goes (standard output locally, the JSON log on AWS).
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// The receiver's routes. Serve it with connect info (`into_make_service_with_connect_info`) where a
/// webhook authenticated by IP must see the caller's address.
pub fn router<P: Ports + 'static>(receiver: Arc<Receiver<P>>) -> Router {
    Router::new()
        .route("/webhooks/{endpoint}", post(handle::<P>))
        .with_state(receiver)
}

fn answer(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        Body::from(json!({ "message": message }).to_string()),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The address the delivery came from: the connection's peer, unless the host puts it elsewhere (the
/// Lambda function: API Gateway's `sourceIp`, passed as `x-sluice-source-ip` by the function itself).
pub(crate) fn source_of(
    source_ip_header: Option<&str>,
    peer: Option<SocketAddr>,
) -> Option<std::net::IpAddr> {
    peer.map(|p| p.ip())
        .or_else(|| source_ip_header.and_then(|ip| ip.parse().ok()))
}

/// The header the webhook function sets from API Gateway's request context (and strips from what the
/// caller sent).
pub const SOURCE_IP_HEADER: &str = "x-sluice-source-ip";

async fn handle<P: Ports + 'static>(
    State(receiver): State<Arc<Receiver<P>>>,
    Path(endpoint): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, request_body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    let endpoint = match GitProvider::from_slug(&endpoint) {
        Some(provider) => Endpoint::Provider(provider),
        None => Endpoint::Webhook(endpoint),
    };
    let body = match body::read_at_most(
        &headers,
        request_body,
        MAX_DELIVERY_BYTES,
        "webhook receiver",
    )
    .await
    {
        Ok(body) => body,
        Err(error) => {
            (receiver.log)(&format!(
                "webhook delivery refused ({}): {}",
                error.status, error.message
            ));
            return answer(
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::PAYLOAD_TOO_LARGE),
                &error.message,
            );
        }
    };
    let headers: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_ascii_lowercase(),
                value.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let delivery = Delivery {
        endpoint: endpoint.clone(),
        headers: &headers,
        body: &body,
        source: source_of(headers.get(SOURCE_IP_HEADER).map(String::as_str), peer),
    };
    let what = match &endpoint {
        Endpoint::Provider(provider) => format!("{provider} delivery"),
        Endpoint::Webhook(_) => "webhook delivery".to_string(),
    };
    let id = headers
        .get("x-github-delivery")
        .or_else(|| headers.get("x-request-uuid"))
        .or_else(|| headers.get("x-gitlab-event-uuid"))
        .map(|id| format!(" {}", id.chars().take(64).collect::<String>()))
        .unwrap_or_default();
    match receive(&receiver.ports, &receiver.secrets, &delivery).await {
        Ok(Receipt::Pong) => answer(StatusCode::OK, "pong"),
        Ok(Receipt::Ignored(why)) => {
            (receiver.log)(&format!("{what}{id}: {why}"));
            answer(StatusCode::ACCEPTED, &why)
        }
        Ok(Receipt::NoMatch { why }) => {
            (receiver.log)(&format!("{what}{id} matched no pipeline: {why}"));
            answer(StatusCode::OK, &format!("matched no pipeline: {why}"))
        }
        Ok(Receipt::Duplicate { key }) => {
            (receiver.log)(&format!(
                "{what}{id} was received before ({key}): nothing started"
            ));
            answer(StatusCode::OK, "already received: nothing started")
        }
        Ok(Receipt::Recorded { key, starts }) => {
            let list: Vec<String> = starts
                .iter()
                .map(|s| format!("{} ({})", s.pipeline, s.execution_id))
                .collect();
            (receiver.log)(&format!("{what}{id} starts {}", list.join(", ")));
            let body = json!({
                "message": format!("starting {}", list.join(", ")),
                "executions": starts.iter().map(|s| json!({
                    "pipelineName": s.pipeline, "pipelineExecutionId": s.execution_id
                })).collect::<Vec<_>>(),
            });
            (receiver.after_answer)(key).await;
            let mut response = (StatusCode::ACCEPTED, Body::from(body.to_string())).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => {
            let status = status_of(&error);
            (receiver.log)(&format!(
                "{what}{id} refused ({}): {error}",
                status.as_u16()
            ));
            answer(status, &error.to_string())
        }
    }
}

fn status_of(error: &WebhookError) -> StatusCode {
    match error {
        WebhookError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        WebhookError::Payload(PayloadError::ContentType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        WebhookError::Payload(_) | WebhookError::Event(_) => StatusCode::BAD_REQUEST,
        WebhookError::UnknownWebhook => StatusCode::NOT_FOUND,
        WebhookError::Store(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
        WebhookError::Store(_) | WebhookError::Record(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
