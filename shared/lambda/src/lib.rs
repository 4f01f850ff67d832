//! What every Sluice Lambda function shares. A function's `main.rs` builds its clients once and hands
//! them to one of these entry points (DESIGN.md §1: binaries are wiring):
//! [`dispatch`] for the dispatcher, [`work`] for the four workers, [`api_router`] for the API.
//!
//! Logs are JSON lines (CloudWatch parses them); each handler runs in a span that names the pipeline,
//! the execution and, for workers, the stage and action, so every line of one action's work can be found.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use tracing::Instrument;

use sluice_api::ops::Service;
use sluice_api::{Api, Auth};
use sluice_aws::ports::Settings;
use sluice_core::port::Ports;
use sluice_core::worker::Providers;

/// JSON logs at the level `RUST_LOG` asks for (info by default), on standard output.
pub fn init_logging() {
    tracing::subscriber::set_global_default(json_logs(std::io::stdout))
        .expect("logging is set up once, at the start of main");
}

/// The functions' log format: one JSON object per line, with the current span's fields (the pipeline,
/// execution, stage and action), without ANSI colours or the time (CloudWatch stamps each line).
pub fn json_logs<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// The span of one invocation: the pipeline, execution, stage and action the payload names.
fn span(function: &'static str, payload: &Value) -> tracing::Span {
    let field = |name: &str| payload.get(name).and_then(Value::as_str).unwrap_or("");
    tracing::info_span!(
        "invocation",
        function,
        pipeline = field("pipeline"),
        execution = field("pipelineExecutionId"),
        stage = field("stage"),
        action = field("action"),
    )
}

/// The dispatcher function: execution and stage bookkeeping. An error's type is what the machine's
/// Catch and Retry match (`Sluice.Transient` is retried).
pub async fn dispatch<P: Ports>(ports: &P, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let span = span("dispatcher", &event.payload);
    async move {
        // Boxed: the handler's future is deep, and the runtime's own types wrap it further.
        match Box::pin(sluice_core::dispatcher::handle(ports, event.payload)).await {
            Ok(result) => Ok(result),
            Err(error) => {
                tracing::error!(error = %error, error_type = error.error_type(), "dispatch failed");
                Err(Diagnostic {
                    error_type: error.error_type().to_string(),
                    error_message: error.to_string(),
                })
            }
        }
    }
    .instrument(span)
    .await
}

/// A worker function: runs the action and answers the machine's task token itself (the Lambda's own
/// result is not read by `.waitForTaskToken` tasks; it is returned for logs and tests).
pub async fn work<P: Ports>(
    ports: &P,
    providers: &Providers,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let span = span("worker", &event.payload);
    async move {
        match Box::pin(sluice_core::worker::handle(ports, providers, event.payload)).await {
            Ok(action) => {
                tracing::info!(status = ?action.status, "action step done");
                Ok(json!({
                    "actionExecutionId": action.action_execution_id,
                    "status": action.status,
                }))
            }
            Err(error) => {
                tracing::error!(error = %error, error_type = error.error_type(), "action step failed");
                Err(Diagnostic {
                    error_type: error.error_type().to_string(),
                    error_message: error.to_string(),
                })
            }
        }
    }
    .instrument(span)
    .await
}

/// The API as the api function serves it: the stack's account (from the state machine role's ARN), the
/// function's region, pipelines compiled to the stack's functions.
pub fn service(settings: &Settings, region: &str, base_url: &str) -> Service {
    let account = settings
        .state_machine_role
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|account| !account.is_empty())
        .unwrap_or("000000000000")
        .to_string();
    Service {
        account,
        region: region.to_string(),
        compile: settings.compile_options(),
        base_url: base_url.to_string(),
    }
}

/// The API function's router. API Gateway has already verified the caller's SigV4 signature (the route
/// is IAM-authorised), so the router checks none itself.
pub fn api_router<P: Ports + 'static>(ports: P, service: Service) -> sluice_api::Router {
    sluice_api::router(Arc::new(Api {
        ports,
        service,
        auth: Auth::Off,
        check_responses: false,
    }))
}
