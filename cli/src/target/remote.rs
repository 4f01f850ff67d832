//! `sluice --endpoint URL …`: the control commands call a Sluice API over HTTP with the Rust CodePipeline
//! SDK: a deployed stack's HTTP API, `sluice serve`, or CodePipeline itself.
//!
//! A deployed stack's HTTP API is API Gateway with IAM authorisation, which accepts only SigV4 signatures
//! whose credential scope names the service `execute-api`; the SDK signs for `codepipeline`, its model's
//! name, and API Gateway refuses that before Sluice sees the request. The SDK's SigV4 signer takes the
//! signing name and Region from the resolved endpoint's `authSchemes` property when it has one (as S3 and
//! other services' endpoint rules use it), so the client gets an endpoint resolver that answers the given
//! URL with `[{"name": "sigv4", "signingName": <--signing-name>, "signingRegion": <Region>}]`.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::config::Region;
use aws_sdk_codepipeline::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};
use aws_sdk_codepipeline::config::http::{HttpRequest, HttpResponse};
use aws_sdk_codepipeline::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codepipeline::types::{
    ApprovalResult, ApprovalStatus as SdkApprovalStatus, PipelineDeclaration, PipelineVariable,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use serde_json::Value;

use sluice_core::approval::ApprovalStatus;

use crate::failure::Failure;
use crate::options::Options;
use crate::wire::{
    ActionExecution, ActionState, Approval, ErrorDetails, ExecutionSummary, PipelineState,
    PipelineSummary, StageExecution, StageState, Transition,
};

/// The service name API Gateway checks in front of a deployed stack.
pub(crate) const EXECUTE_API: &str = "execute-api";

/// A call (with its retries) gives up after this long.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(90);
/// One attempt gives up after this long: API Gateway's own limit for an HTTP API's integration is 30 s,
/// so a longer attempt would only wait for API Gateway's 503.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(35);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per call, the first included (the SDK's "standard" mode retries throttling, 5xx answers and
/// transport failures).
const MAX_ATTEMPTS: u32 = 3;

/// A client of one API.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    client: Client,
}

/// The resolver that answers every request with the API's URL and the signing the API checks.
#[derive(Debug)]
struct SignedFor(Endpoint);

impl ResolveEndpoint for SignedFor {
    fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(self.0.clone()))
    }
}

/// The endpoint: `url`, signed with SigV4 for `signing_name` in `region`.
fn endpoint(url: &str, signing_name: &str, region: &str) -> Endpoint {
    // The Document values are built through `Into` (the SDK re-exports Endpoint but not Document); each
    // `into()` has exactly one target: Document's From<&str>, From<HashMap<String, Document>> and
    // From<Vec<Document>>.
    let scheme: HashMap<String, _> = HashMap::from([
        ("name".to_string(), "sigv4".into()),
        ("signingName".to_string(), signing_name.into()),
        ("signingRegion".to_string(), region.into()),
    ]);
    Endpoint::builder()
        .url(url.to_string())
        .property("authSchemes", vec![scheme.into()])
        .build()
}

fn check_url(url: &str) -> Result<(), Failure> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(Failure::Unusable(format!(
            "--endpoint {url}: expected an http:// or https:// URL, such as the stack's ApiUrl output"
        ))),
    }
}

impl Remote {
    /// The client for `options` (whose `endpoint` is set): the environment's or profile's credentials,
    /// the Region from `--region` or the chain, and the one hyper-1 + rustls (ring) connector the
    /// workspace's SDK clients use (shared/aws/src/config.rs).
    pub(super) async fn connect(options: &Options) -> Result<Remote, Failure> {
        let url = options.endpoint.clone().unwrap_or_default();
        check_url(&url)?;
        let signing_name = options.signing_name.as_deref().unwrap_or(EXECUTE_API);
        if signing_name.is_empty()
            || !signing_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Failure::Unusable(format!(
                "--signing-name {signing_name:?}: a service name is letters, digits and '-'"
            )));
        }
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        // Given to the loader, so the chain does not look further (the instance metadata service).
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            return Err(Failure::Unusable(
                "no Region to sign for: pass --region, or set AWS_REGION (or a profile's region)"
                    .to_string(),
            ));
        };
        let config = aws_sdk_codepipeline::config::Builder::from(&sdk)
            .endpoint_resolver(SignedFor(endpoint(&url, signing_name, &region)))
            .build();
        Ok(Remote {
            client: Client::from_conf(config),
        })
    }

    pub(crate) async fn pipelines(&self) -> Result<Vec<PipelineSummary>, Failure> {
        let mut pipelines = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_pipelines()
                .set_next_token(next.take())
                .send()
                .await
                .map_err(failure)?;
            pipelines.extend(page.pipelines().iter().map(|p| PipelineSummary {
                name: p.name().unwrap_or_default().to_string(),
                version: p.version().map(i64::from),
                pipeline_type: p.pipeline_type().map(|t| t.as_str().to_string()),
                execution_mode: p.execution_mode().map(|m| m.as_str().to_string()),
                updated: p.updated().map(|t| t.as_secs_f64()),
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(pipelines),
            }
        }
    }

    pub(crate) async fn state(&self, pipeline: &str) -> Result<PipelineState, Failure> {
        let state = self
            .client
            .get_pipeline_state()
            .name(pipeline)
            .send()
            .await
            .map_err(failure)?;
        let stage_execution = |e: &aws_sdk_codepipeline::types::StageExecution| StageExecution {
            pipeline_execution_id: e.pipeline_execution_id().to_string(),
            status: e.status().as_str().to_string(),
        };
        Ok(PipelineState {
            pipeline_name: state.pipeline_name().unwrap_or(pipeline).to_string(),
            pipeline_version: state.pipeline_version().map(i64::from),
            stage_states: state
                .stage_states()
                .iter()
                .map(|stage| StageState {
                    stage_name: stage.stage_name().unwrap_or_default().to_string(),
                    inbound_transition_state: stage.inbound_transition_state().map(|t| {
                        Transition {
                            enabled: t.enabled(),
                            disabled_reason: t.disabled_reason().map(str::to_string),
                        }
                    }),
                    inbound_execution: stage.inbound_execution().map(stage_execution),
                    latest_execution: stage.latest_execution().map(stage_execution),
                    action_states: stage
                        .action_states()
                        .iter()
                        .map(|action| ActionState {
                            action_name: action.action_name().unwrap_or_default().to_string(),
                            latest_execution: action.latest_execution().map(|e| ActionExecution {
                                status: e.status().map(|s| s.as_str().to_string()),
                                summary: e.summary().map(str::to_string),
                                last_status_change: e.last_status_change().map(|t| t.as_secs_f64()),
                                token: e.token().map(str::to_string),
                                error_details: e.error_details().map(|d| ErrorDetails {
                                    code: d.code().map(str::to_string),
                                    message: d.message().map(str::to_string),
                                }),
                            }),
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    pub(crate) async fn latest_execution(
        &self,
        pipeline: &str,
    ) -> Result<Option<ExecutionSummary>, Failure> {
        let listed = self
            .client
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .max_results(1)
            .send()
            .await
            .map_err(failure)?;
        Ok(listed
            .pipeline_execution_summaries()
            .first()
            .map(|e| ExecutionSummary {
                pipeline_execution_id: e.pipeline_execution_id().unwrap_or_default().to_string(),
                status: e
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_summary: e.status_summary().map(str::to_string),
                last_update_time: e.last_update_time().map(|t| t.as_secs_f64()),
            }))
    }

    pub(crate) async fn put_approval_result(&self, approval: &Approval<'_>) -> Result<(), Failure> {
        let result = ApprovalResult::builder()
            .summary(approval.summary)
            .status(match approval.status {
                ApprovalStatus::Approved => SdkApprovalStatus::Approved,
                ApprovalStatus::Rejected => SdkApprovalStatus::Rejected,
            })
            .build()
            .map_err(|e| Failure::Unusable(format!("the approval result: {e}")))?;
        self.client
            .put_approval_result()
            .pipeline_name(approval.pipeline)
            .stage_name(approval.stage)
            .action_name(approval.action)
            .token(approval.token)
            .result(result)
            .send()
            .await
            .map_err(failure)?;
        Ok(())
    }

    /// StartPipelineExecution: the new execution's id.
    pub(crate) async fn start(
        &self,
        pipeline: &str,
        variables: &[(String, String)],
    ) -> Result<String, Failure> {
        let variables = variables
            .iter()
            .map(|(name, value)| PipelineVariable::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Unusable(format!("--var: {e}")))?;
        let started = self
            .client
            .start_pipeline_execution()
            .name(pipeline)
            .set_variables((!variables.is_empty()).then_some(variables))
            .send()
            .await
            .map_err(failure)?;
        Ok(started
            .pipeline_execution_id()
            .unwrap_or_default()
            .to_string())
    }

    /// StopPipelineExecution: the stopping execution's id.
    pub(crate) async fn stop(
        &self,
        pipeline: &str,
        execution_id: &str,
        abandon: bool,
        reason: Option<&str>,
    ) -> Result<String, Failure> {
        let stopped = self
            .client
            .stop_pipeline_execution()
            .pipeline_name(pipeline)
            .pipeline_execution_id(execution_id)
            .abandon(abandon)
            .set_reason(reason.map(str::to_string))
            .send()
            .await
            .map_err(failure)?;
        Ok(stopped
            .pipeline_execution_id()
            .unwrap_or_default()
            .to_string())
    }

    /// CreatePipeline (`create`) or UpdatePipeline with `input`, the operation's input document as the
    /// aws CLI's `--cli-input-json` takes it: the pipeline's name and version as the API answers.
    ///
    /// The SDK's types have no JSON reader, and mapping every member of a declaration through their
    /// builders would drop whatever the mapping missed. On the wire, awsJson1.1's body *is* that document,
    /// so the request is built with a placeholder declaration and its body replaced by the document before
    /// it is signed: the API sees the file as written and judges it (unknown members included), as with
    /// the aws CLI.
    pub(crate) async fn save(
        &self,
        input: &Value,
        create: bool,
    ) -> Result<(String, Option<i64>), Failure> {
        let name = input["pipeline"]["name"].as_str().unwrap_or_default();
        let placeholder = PipelineDeclaration::builder()
            .name(name)
            .role_arn("placeholder")
            .set_stages(Some(Vec::new()))
            .build()
            .map_err(|e| Failure::Unusable(format!("the request: {e}")))?;
        let body = input.to_string();
        let replace = move |mut request: HttpRequest| -> Result<HttpRequest, WireError> {
            let content_type = request.headers().get("content-type").unwrap_or_default();
            if content_type != "application/x-amz-json-1.1" {
                return Err(WireError(content_type.to_string()));
            }
            request
                .headers_mut()
                .try_insert("content-length", body.len().to_string())
                .map_err(|e| WireError(e.to_string()))?;
            *request.body_mut() = body.clone().into();
            Ok(request)
        };
        let saved = if create {
            self.client
                .create_pipeline()
                .pipeline(placeholder)
                .customize()
                .map_request(replace)
                .send()
                .await
                .map_err(failure)?
                .pipeline
        } else {
            self.client
                .update_pipeline()
                .pipeline(placeholder)
                .customize()
                .map_request(replace)
                .send()
                .await
                .map_err(failure)?
                .pipeline
        };
        Ok(match saved {
            Some(pipeline) => (
                pipeline.name().to_string(),
                pipeline.version().map(i64::from),
            ),
            None => (name.to_string(), None),
        })
    }
}

/// The SDK no longer speaks awsJson1.1 to CodePipeline, so a pipeline document cannot be its body.
#[derive(Debug)]
struct WireError(String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the CodePipeline SDK sends {:?} rather than awsJson1.1 (application/x-amz-json-1.1), so a pipeline file cannot be sent as written; this sluice needs updating",
            self.0
        )
    }
}

impl std::error::Error for WireError {}

/// An error and its sources, one after the other: the SDK's own `Display` says only "dispatch failure",
/// and `DisplayErrorContext` appends the whole `Debug` form as well.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        // Some causes repeat their own source's words; say each once.
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// The exceptions that say the caller was not recognised: the request's signing or credentials are wrong,
/// which is the CLI's setup, not the operation.
const NOT_AUTHENTICATED: [&str; 7] = [
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
];

/// What an SDK failure means for the user. The API's refusals (`ExceptionName: message`) exit 1; exit 2
/// for what keeps the call from being made or accepted: no connection, no credentials, a signature the
/// API does not accept, an answer that is not the API's (no exception name: a wrong URL, a proxy).
pub(crate) fn failure<E>(error: SdkError<E, HttpResponse>) -> Failure
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let Some(service) = error.as_service_error() else {
        return Failure::Unusable(format!("the call failed: {}", chain(&error)));
    };
    let message = service.message().unwrap_or("no message");
    match service.code() {
        Some(code) if NOT_AUTHENTICATED.contains(&code) => {
            let mut text = format!("{code}: {message}");
            if message.contains("Credential should be scoped to correct service") {
                text.push_str(
                    "\n(the API checks signatures made for another service name: --signing-name says which \
                     one sluice signs for; a deployed stack wants execute-api, the default; `sluice serve` \
                     wants codepipeline unless it runs with --signing-name execute-api)",
                );
            }
            if message.contains("Credential should be scoped to a valid region") {
                text.push_str(
                    "\n(the API is in another Region than the one sluice signed for: --region, or the \
                     environment's AWS_REGION, says which one)",
                );
            }
            Failure::Unusable(text)
        }
        Some(code) => Failure::Refused(format!("{code}: {message}")),
        None => {
            let status = error
                .raw_response()
                .map(|r| r.status().as_u16().to_string())
                .unwrap_or_else(|| "?".to_string());
            Failure::Unusable(format!(
                "HTTP {status} without an exception name, so not an answer of the API (is --endpoint the API's URL?): {message}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_carries_the_signing_name_and_region() {
        let endpoint = endpoint(
            "https://abc.execute-api.eu-west-1.amazonaws.com/",
            "execute-api",
            "eu-west-1",
        );
        assert_eq!(
            endpoint.url(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/"
        );
        let schemes = format!("{:?}", endpoint.properties().get("authSchemes"));
        for expected in [
            "sigv4",
            "signingName",
            "execute-api",
            "signingRegion",
            "eu-west-1",
        ] {
            assert!(schemes.contains(expected), "{expected} in {schemes}");
        }
    }

    #[test]
    fn only_http_urls_are_endpoints() {
        assert!(check_url("https://abc.execute-api.us-east-1.amazonaws.com/").is_ok());
        assert!(check_url("http://127.0.0.1:4570").is_ok());
        for bad in ["127.0.0.1:4570", "ftp://x", "http://", "https:///path", ""] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
