//! What every Sluice Lambda function shares. A function's `main.rs` builds its clients once and hands
//! them to one of these entry points (docs/architecture.md, "Binaries are wiring"):
//! [`dispatch`] for the dispatcher, [`work`] for the four workers, [`api_router`] for the API,
//! [`webhook::WebhookFunction`] for the webhook receiver, [`approval::ApprovalFunction`] for the approval
//! pages. [`StackLinks`] is what every function that hands out or checks links reads at init.
//!
//! Logs are JSON lines (CloudWatch parses them); each handler runs in a span that names the pipeline,
//! the execution and, for workers, the stage and action, so every line of one action's work can be found.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use sluice_api::service::Service;
use sluice_api::{Api, Auth};
use sluice_aws::approval::{ApprovalKeyError, signing_key};
use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{MissingSetting, PUBLIC_URL_VARIABLE, Settings};
use sluice_aws::secrets::SecretsManagerSecrets;
use sluice_aws::sns::SnsNotifier;
use sluice_core::approval::link::{ApprovalKey, PublicUrl, PublicUrlError, ReviewLinks};
use sluice_core::approval::{ApprovalNotices, ManualApproval};
use sluice_core::port::{Ports, Providers};
use tracing::Instrument;

pub mod approval;
pub mod http;
pub mod webhook;

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

/// A handler's failure as Lambda reports it, logged in the invocation's span. Its type is what the
/// machine's Retry and Catch match (`Sluice.Transient` marks errors that may pass when tried again,
/// which the compiled machine retries with backoff).
fn failure(error_type: &'static str, error: &dyn std::fmt::Display, what: &str) -> Diagnostic {
    tracing::error!(error = %error, error_type, "{what}");
    Diagnostic {
        error_type: error_type.to_string(),
        error_message: error.to_string(),
    }
}

/// The dispatcher function: execution and stage bookkeeping.
pub async fn dispatch<P: Ports>(ports: &P, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let span = span("dispatcher", &event.payload);
    async move {
        // Boxed: the handler's future is deep, and the runtime's own types wrap it further.
        match Box::pin(sluice_core::dispatcher::handle(ports, event.payload)).await {
            Ok(result) => Ok(result),
            Err(error) => Err(failure(
                error.error_type().name(),
                &error,
                "dispatch failed",
            )),
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
            Err(error) => Err(failure(
                error.error_type().name(),
                &error,
                "action step failed",
            )),
        }
    }
    .instrument(span)
    .await
}

/// The API as the api function serves it: the stack's account (from the state machine role's ARN, which
/// the api function needs anyway to create machines), the function's region, pipelines compiled to the
/// stack's functions, and the stack's links (PutWebhook's URLs, GetPipelineState's link to a waiting
/// approval's page).
pub fn service(
    settings: &Settings,
    region: &str,
    links: &StackLinks,
) -> Result<Service, MissingSetting> {
    let account = settings
        .state_machine_role
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|account| !account.is_empty())
        .ok_or(MissingSetting {
            name: "SLUICE_STATE_MACHINE_ROLE_ARN",
            purpose: "the role (an IAM role ARN) the api function creates state machines with",
        })?;
    Ok(Service {
        account: account.to_string(),
        region: region.to_string(),
        compile: settings.compile_options(),
        base_url: links.public_url.to_string(),
        approval_key: Some(links.key.clone()),
        // EventBridge itself keeps the rules (infra/README.md).
        eventbridge: false,
    })
}

/// Where the stack's links lead and what approval links are signed with: the HTTP API's URL
/// (`SLUICE_PUBLIC_URL`) and the key in the secret `SLUICE_APPROVAL_KEY_ARN` names. The api function,
/// the invoke worker and the approval function read them at init, so a link one of them hands out is
/// one the approval function takes.
#[derive(Debug, Clone)]
pub struct StackLinks {
    pub public_url: PublicUrl,
    pub key: ApprovalKey,
}

/// Why a function cannot have its [`StackLinks`]: it refuses to start rather than hand out links that
/// lead nowhere or that the approval pages refuse.
#[derive(Debug, thiserror::Error)]
pub enum LinkSettingError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error("the environment variable {PUBLIC_URL_VARIABLE}: {0}")]
    Url(#[from] PublicUrlError),
    #[error(transparent)]
    Key(#[from] ApprovalKeyError),
}

impl StackLinks {
    /// Reads the public URL from `settings` and the signing key from Secrets Manager (one
    /// GetSecretValue).
    pub async fn read(
        config: &AwsConfig,
        settings: &Settings,
    ) -> Result<StackLinks, LinkSettingError> {
        let public_url = settings.public_url.as_deref().ok_or(MissingSetting {
            name: PUBLIC_URL_VARIABLE,
            purpose: "where the stack is reached from outside (the HTTP API's URL), which every link starts with",
        })?;
        let public_url = PublicUrl::parse(public_url)?;
        let secrets = SecretsManagerSecrets::new(config.secrets_manager(), &settings.kms_key);
        let key = signing_key(&secrets, settings.approval_key_arn.as_deref()).await?;
        Ok(StackLinks { public_url, key })
    }

    /// The links approvals hand out: signed, starting with the public URL.
    pub fn review_links(&self) -> ReviewLinks {
        ReviewLinks::signed(self.public_url.clone(), self.key.clone())
    }
}

/// The invoke worker's manual approvals: they notify reviewers through SNS, with the function's region
/// and signed links to the stack's approval pages.
pub fn notifying_approvals(config: &AwsConfig, links: &StackLinks) -> ManualApproval<SnsNotifier> {
    ManualApproval::with_notifier(ApprovalNotices {
        notifier: SnsNotifier::from_config(config),
        region: config
            .sdk
            .region()
            .map(|region| region.to_string())
            .unwrap_or_default(),
        links: links.review_links(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(role: Option<&str>) -> Settings {
        Settings {
            table: "t".to_string(),
            kms_key: "k".to_string(),
            state_machine_role: role.map(str::to_string),
            prefix: "prod".to_string(),
            event_bus: "default".to_string(),
            events_role: None,
            public_url: None,
            approval_key_arn: None,
        }
    }

    fn links() -> StackLinks {
        StackLinks {
            public_url: PublicUrl::parse("https://abc123.execute-api.eu-west-1.amazonaws.com")
                .unwrap(),
            key: ApprovalKey::new(vec![7; 32]).unwrap(),
        }
    }

    #[test]
    fn the_api_names_the_account_of_its_state_machine_role() {
        let role = "arn:aws:iam::210987654321:role/prod-state-machine";
        let service = service(&settings(Some(role)), "eu-west-1", &links()).unwrap();
        assert_eq!(service.account, "210987654321");
        assert_eq!(service.region, "eu-west-1");
        assert_eq!(service.compile.dispatcher, "prod-dispatcher");
        // Its links are the stack's: GetPipelineState links waiting approvals to their signed pages.
        let review = service
            .review_links()
            .expect("the api links to approval pages");
        assert_eq!(
            review.base().as_str(),
            "https://abc123.execute-api.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn the_api_refuses_to_start_without_a_state_machine_role() {
        let missing = service(&settings(None), "eu-west-1", &links()).unwrap_err();
        assert_eq!(missing.name, "SLUICE_STATE_MACHINE_ROLE_ARN");
        let malformed = service(&settings(Some("not-an-arn")), "eu-west-1", &links()).unwrap_err();
        assert_eq!(malformed.name, "SLUICE_STATE_MACHINE_ROLE_ARN");
    }
}
