//! HTTP API requests (API Gateway HTTP API, payload format 2.0) answered by the routers `sluice serve`
//! runs, for the functions that take them as plain Lambda events (the webhook and approval functions):
//! the event read into `aws_lambda_events`' type, then converted as `lambda_http::run` converts it, with
//! one change: the caller's address is API Gateway's word for it.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_http::IntoResponse;
use lambda_http::http::HeaderValue;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use serde_json::Value;

use sluice_api::webhook::SOURCE_IP_HEADER;

/// Why an event that has `requestContext.http` is not an HTTP API request. Named by the kind and place
/// of the fault only: a request's headers and body may carry a token or a secret, and are never quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the event has requestContext.http but is not an HTTP API request (payload 2.0): {category} at line {line}, column {column}"
)]
pub struct HttpEventError {
    pub category: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Whether `payload` has the shape of an HTTP API request (payload 2.0 has `requestContext.http`).
pub fn is_http_request(payload: &Value) -> bool {
    payload.pointer("/requestContext/http").is_some()
}

/// Reads an HTTP API request.
pub fn read_request(payload: Value) -> Result<ApiGatewayV2httpRequest, HttpEventError> {
    serde_json::from_value::<ApiGatewayV2httpRequest>(payload).map_err(|e| HttpEventError {
        category: match e.classify() {
            serde_json::error::Category::Data => "a field of the wrong type or missing",
            _ => "malformed JSON",
        },
        line: e.line(),
        column: e.column(),
    })
}

/// `router`'s answer to `request`, as the HTTP API response (payload 2.0) the function returns.
///
/// Only API Gateway's word for the caller's address counts (`requestContext.http.sourceIp`): the
/// caller's own [`SOURCE_IP_HEADER`] is dropped and replaced with it, so the routers' handlers (a
/// webhook authenticated by IP, the reviewer's address recorded with a decision) read the real one.
pub async fn respond(
    router: &sluice_api::Router,
    mut request: ApiGatewayV2httpRequest,
) -> Result<Value, serde_json::Error> {
    request.headers.remove(SOURCE_IP_HEADER);
    if let Some(ip) = request
        .request_context
        .http
        .source_ip
        .as_deref()
        .and_then(|ip| HeaderValue::from_str(ip).ok())
    {
        request.headers.insert(SOURCE_IP_HEADER, ip);
    }
    // lambda_http's own conversion (what `lambda_http::run` does for the api function): the path,
    // query, headers and the body, base64-decoded when API Gateway encoded it.
    let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(request).into();
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_response().await.into_parts();
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = parts.headers;
    (answer.is_base64_encoded, answer.body) = match body {
        Body::Text(text) => (false, Some(Body::Text(text))),
        Body::Binary(bytes) => (true, Some(Body::Binary(bytes))),
        _ => (false, None),
    };
    serde_json::to_value(answer)
}
