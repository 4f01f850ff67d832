//! CodePipeline's control API over sluice-core's ports, as an axum [`Router`]: `sluice serve` mounts it
//! locally, and the same router serves behind API Gateway on AWS.
//!
//! A request goes through: its body, read up to a limit ([`body`]), SigV4 verification ([`sigv4`]), the protocol (awsJson1.1: `POST /` with
//! `X-Amz-Target: CodePipeline_20150709.<Op>`; or Smithy RPCv2 CBOR: `POST
//! /service/CodePipeline_20150709/operation/<Op>`, [`cbor`]), the model's shape check of `<Op>Input` (AWS's
//! ValidationException wording), the operation ([`ops`]), and an answer with epoch-second timestamps;
//! errors are `{"__type", "message"}` with the model's HTTP status ([`error`]).
//!
//! Beside the API, [`approval`] serves the approval pages review links open, and [`webhook`] receives
//! webhook deliveries.
//!
//! Where the API is its own EventBridge ([`Service::eventbridge`], `sluice serve`), `X-Amz-Target:
//! AWSEvents.<Op>` requests, signed for `events`, are EventBridge's rule operations ([`events`]).

pub mod approval;
pub mod body;
pub mod cbor;
pub mod error;
pub mod events;
pub mod ops;
pub mod service;
pub mod sigv4;
pub mod webhook;

use std::sync::Arc;

use sluice_core::problem::Exception;

/// The router type, so hosts (`sluice serve`, the api Lambda function) need no axum of their own.
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sluice_core::model;
use sluice_core::model::check::Checker;
use sluice_core::port::Ports;

use crate::error::ApiError;
use crate::service::Service;
use crate::sigv4::CredentialStore;

pub use axum::Router;

/// awsJson1.1's target prefix for CodePipeline.
pub const TARGET_PREFIX: &str = "CodePipeline_20150709.";
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Who may call.
#[derive(Clone)]
pub enum Auth {
    /// Every request must carry a valid SigV4 signature by a known key, made for the [`Service`]'s
    /// Region and for `service` (the signing name: `codepipeline` as CodePipeline has it; `execute-api`
    /// is what API Gateway checks in front of the deployed api function).
    SigV4 {
        keys: Arc<dyn CredentialStore + Send + Sync>,
        service: String,
    },
    /// No checks (`sluice serve --no-auth`).
    Off,
}

/// The API over a runtime's ports.
pub struct Api<P> {
    pub ports: P,
    pub service: Service,
    pub auth: Auth,
    /// Check every answer against its output shape in the model and answer InternalFailure when one
    /// breaks it (`sluice serve --check-responses`, which the end-to-end tests turn on).
    pub check_responses: bool,
}

/// The router: every request is `POST /` (awsJson1.1) or an RPCv2 CBOR path.
pub fn router<P: Ports + 'static>(api: Arc<Api<P>>) -> Router {
    Router::new().fallback(handle::<P>).with_state(api)
}

/// The wire protocol of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    AwsJson,
    RpcV2Cbor,
}

async fn handle<P: Ports + 'static>(
    State(api): State<Arc<Api<P>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = api.ports.ids().uuid();
    // RPCv2 CBOR is chosen by its path (and its smithy-protocol header); everything else is awsJson1.1.
    let protocol =
        if uri.path().contains("/service/") || headers.contains_key(cbor::PROTOCOL_HEADER) {
            Protocol::RpcV2Cbor
        } else {
            Protocol::AwsJson
        };
    let answer = match body::read(&headers, body).await {
        Ok(body) => answer(&api, protocol, &method, &uri, &headers, &body).await,
        Err(error) => Err(error),
    };
    let mut response = match (protocol, answer) {
        (Protocol::AwsJson, Ok((_, output))) => json_response(StatusCode::OK, output.to_string()),
        (Protocol::AwsJson, Err(error)) => {
            json_response(status_of(&error), error.body().to_string())
        }
        (Protocol::RpcV2Cbor, Ok((operation, output))) => {
            cbor_response(StatusCode::OK, cbor::output_body(&operation, &output))
        }
        (Protocol::RpcV2Cbor, Err(error)) => cbor_response(
            status_of(&error),
            Some(cbor::encode_error(
                &error.error_type,
                &error.answer_message(),
            )),
        ),
    };
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

fn status_of(error: &ApiError) -> StatusCode {
    StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST)
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// RPCv2 CBOR answers carry the protocol header always, and a content type only with a body.
fn cbor_response(status: StatusCode, body: Option<Vec<u8>>) -> Response {
    let has_body = body.is_some();
    let mut response = (status, Body::from(body.unwrap_or_default())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        cbor::PROTOCOL_HEADER,
        HeaderValue::from_static(cbor::PROTOCOL),
    );
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(cbor::CONTENT_TYPE),
        );
    }
    response
}

/// Verifies, reads and runs a request; returns the operation and its output.
async fn answer<P: Ports>(
    api: &Api<P>,
    protocol: Protocol,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Value), ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let eventbridge = protocol == Protocol::AwsJson && target.starts_with(events::TARGET_PREFIX);
    if let Auth::SigV4 { keys, service } = &api.auth {
        // The aws CLI and the SDKs sign EventBridge's calls for its own name, whatever CodePipeline's is.
        let service = if eventbridge {
            events::SIGNING_NAME
        } else {
            service.as_str()
        };
        sigv4::verify(
            method.as_str(),
            uri.path(),
            uri.query().unwrap_or_default(),
            headers,
            body,
            time::OffsetDateTime::from_unix_timestamp(
                api.ports.clock().now().epoch_millis() / 1000,
            )
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            keys.as_ref(),
            sigv4::SigningScope {
                region: &api.service.region,
                service,
            },
        )?;
    }
    if method != Method::POST {
        return Err(ApiError::new(
            Exception::UnknownOperationException,
            format!(
                "{method} {} is not an operation: CodePipeline takes POST requests",
                uri.path()
            ),
        ));
    }
    if eventbridge {
        return answer_eventbridge(api, target, body).await;
    }
    let known = |op: &str| model::codepipeline().operations.contains_key(op);
    let (operation, input) = match protocol {
        Protocol::RpcV2Cbor => {
            if headers.contains_key("x-amz-target") || headers.contains_key("x-amzn-target") {
                return Err(ApiError::serialization(
                    "An RPCv2 CBOR request must not carry X-Amz-Target",
                ));
            }
            let operation = cbor::operation_name(uri.path())
                .filter(|op| known(op))
                .ok_or_else(|| {
                    ApiError::new(
                        Exception::UnknownOperationException,
                        format!("Unknown operation path {}", uri.path()),
                    )
                })?;
            let input = if body.is_empty() {
                Value::Object(Default::default())
            } else {
                cbor::decode_input(body).map_err(|e| ApiError::serialization(e.to_string()))?
            };
            (operation.to_string(), input)
        }
        Protocol::AwsJson => {
            let operation = target
                .strip_prefix(TARGET_PREFIX)
                .filter(|op| known(op))
                .ok_or_else(|| {
                    ApiError::new(
                        Exception::UnknownOperationException,
                        if target.is_empty() {
                            "The request has no X-Amz-Target header naming the operation"
                                .to_string()
                        } else {
                            format!("Unknown operation {target}")
                        },
                    )
                })?;
            (operation.to_string(), json_input(body)?)
        }
    };
    check_input(&operation, &input)?;
    let output = ops::call(&api.ports, &api.service, &operation, input).await?;
    if api.check_responses {
        check_output(&operation, &output).map_err(|problems| {
            ApiError::internal(format!(
                "Sluice's answer to {operation} breaks the model's output shape: {}",
                problems.join("; ")
            ))
        })?;
    }
    Ok((operation, output))
}

/// An awsJson1.1 body: a JSON object (an empty body is `{}`).
fn json_input(body: &[u8]) -> Result<Value, ApiError> {
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::serialization(format!("The request body is not valid JSON: {e}"))
        })?
    };
    if !input.is_object() {
        return Err(ApiError::serialization(
            "The request body must be an object",
        ));
    }
    Ok(input)
}

/// An EventBridge request (`X-Amz-Target: AWSEvents.<Op>`, already verified): checked against
/// EventBridge's model and run by [`events`].
async fn answer_eventbridge<P: Ports>(
    api: &Api<P>,
    target: &str,
    body: &[u8],
) -> Result<(String, Value), ApiError> {
    if !api.service.eventbridge {
        return Err(ApiError::new(
            Exception::UnknownOperationException,
            format!(
                "{target} is EventBridge's: this API answers CodePipeline's operations, and EventBridge itself keeps the rules here"
            ),
        ));
    }
    let operation = target
        .strip_prefix(events::TARGET_PREFIX)
        .filter(|op| model::eventbridge().operations.contains_key(*op))
        .ok_or_else(|| {
            ApiError::new(
                Exception::UnknownOperationException,
                format!("Unknown operation {target}"),
            )
        })?;
    let input = json_input(body)?;
    events::check_input(operation, &input)?;
    let output = events::call(&api.ports, &api.service, operation, input).await?;
    if api.check_responses {
        check_eventbridge_output(operation, &output).map_err(|problems| {
            ApiError::internal(format!(
                "Sluice's answer to {operation} breaks EventBridge's output shape: {}",
                problems.join("; ")
            ))
        })?;
    }
    Ok((operation.to_string(), output))
}

/// Checks the input against the operation's input shape, as AWS does before the operation runs.
pub fn check_input(operation: &str, input: &Value) -> Result<(), ApiError> {
    let model = model::codepipeline();
    let Some(shape) = model
        .operations
        .get(operation)
        .and_then(|op| op.input.as_ref())
    else {
        return Ok(());
    };
    // CreatePipeline and UpdatePipeline are checked with the pipeline rules, which report unknown
    // members and every problem in the pipeline (see `ops::pipelines::save_pipeline`).
    if matches!(operation, "CreatePipeline" | "UpdatePipeline") {
        return Ok(());
    }
    let mut checker = Checker::new(model, false);
    checker.check(&shape.shape, input, "");
    let problems = checker.into_problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::from_problems(&problems))
    }
}

/// The one checker for answers: the operation's output against its shape in the model, unknown members
/// included (an operation without an output shape answers `{}`). Returns the problems in AWS's words.
pub fn check_output(operation: &str, output: &Value) -> Result<(), Vec<String>> {
    let model = model::codepipeline();
    check_answer(Checker::new(model, true), model, operation, output)
}

/// [`check_output`] against EventBridge's model, whose answers hold empty lists (`Targets: []`) where its
/// input shapes ask for at least one.
pub fn check_eventbridge_output(operation: &str, output: &Value) -> Result<(), Vec<String>> {
    let model = model::eventbridge();
    check_answer(
        Checker::new(model, true).empty_lists(),
        model,
        operation,
        output,
    )
}

fn check_answer(
    mut checker: Checker<'_>,
    model: &model::ServiceModel,
    operation: &str,
    output: &Value,
) -> Result<(), Vec<String>> {
    let Some(definition) = model.operations.get(operation) else {
        return Err(vec![format!("the model has no operation {operation}")]);
    };
    let Some(shape) = definition.output.as_ref() else {
        return if output.as_object().is_some_and(|o| o.is_empty()) {
            Ok(())
        } else {
            Err(vec![format!(
                "{operation} has no output shape, so it answers nothing"
            )])
        };
    };
    checker.check(&shape.shape, output, "");
    let problems = checker.into_problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.iter().map(|p| p.message()).collect())
    }
}
