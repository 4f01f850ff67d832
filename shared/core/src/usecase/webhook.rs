//! Receiving a webhook delivery: authenticate it, read it, match it, and write down what it starts
//! before answering; start the executions after ([`start_delivery`]); start what a crash left
//! unstarted ([`recover_deliveries`]).
//!
//! A delivery is recorded once, by a create-only conditional write of its key (the endpoint and the
//! provider's delivery id) holding the pipelines it starts and the execution ids chosen for them. A
//! redelivery loses that write and starts nothing. The starts are marked done one by one after they are
//! made; a start whose mark is missing is made again with the same execution id, which
//! [`start_once`] turns into at most one execution.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::declaration::PipelineDeclaration;
use crate::port::{PipelineStore, Ports, ResourceStore, SecretValue, StoreError};
use crate::problem::Coded;
use crate::record::{ExecutionTrigger, SourceRevisionOverride};
use crate::time::Timestamp;
use crate::usecase::execution::{ExecutionError, StartRequest, start_once};
use crate::webhook::event::{EventError, GitEvent, GitProvider, read_event};
use crate::webhook::matching::{FilterRule, PipelineMatch, WEBHOOK, filters_pass, match_pipeline};
use crate::webhook::signature::{SignatureError, verify_sha256, verify_token};
use crate::webhook::{PayloadError, in_range, payload};

/// The resource kind deliveries are recorded under.
pub const DELIVERY_KIND: &str = "webhook-delivery";
/// The resource kind PutWebhook keeps its definitions under.
pub const WEBHOOK_KIND: &str = "webhook";

/// Where a delivery arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/webhooks/github`, `/webhooks/bitbucket`, `/webhooks/gitlab`: the receiver's own secret, every
    /// pipeline whose source watches the repository.
    Provider(GitProvider),
    /// A URL PutWebhook returned (`/webhooks/<token>`): that webhook's authentication and filters, its
    /// target pipeline only.
    Webhook(String),
}

/// The receiver's secrets, one per provider endpoint (none: every delivery there is refused).
#[derive(Default, Clone)]
pub struct ReceiverSecrets {
    pub by_provider: BTreeMap<GitProvider, SecretValue>,
}

/// A delivery as it arrived. Header names are lower case.
pub struct Delivery<'a> {
    pub endpoint: Endpoint,
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The address it came from (for a webhook authenticated by IP).
    pub source: Option<std::net::IpAddr>,
}

impl Delivery<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the receiver did with a delivery it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A ping: answered 200.
    Pong,
    /// An event Sluice does not act on: answered 202.
    Ignored(String),
    /// Matched no pipeline: answered 200; `why` is the one log line.
    NoMatch { why: String },
    /// Recorded: answered 202, and the executions start after the answer (`start_delivery(key)`).
    Recorded {
        key: String,
        starts: Vec<PlannedStart>,
    },
    /// Already received: answered 200, nothing started.
    Duplicate { key: String },
}

/// Why a delivery was refused; nothing was recorded or started.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 401.
    #[error(transparent)]
    Unauthorized(#[from] SignatureError),
    /// 415 or 400.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// 400.
    #[error(transparent)]
    Event(#[from] EventError),
    /// 404: no webhook has this URL.
    #[error("no webhook has this URL")]
    UnknownWebhook,
    /// 500 or 503: the delivery may be sent again.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the delivery's record cannot be read: {0}")]
    Record(String),
}

/// One execution a delivery starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStart {
    pub pipeline: String,
    pub execution_id: String,
    pub trigger: ExecutionTrigger,
    pub source_revisions: Vec<SourceRevisionOverride>,
    #[serde(default)]
    pub started: bool,
    /// Why it could not start (the pipeline was deleted meanwhile, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The record of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub provider: String,
    pub delivery_id: String,
    pub received: Timestamp,
    pub starts: Vec<PlannedStart>,
}

/// A stored PutWebhook definition, as much of it as receiving needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredWebhook {
    definition: WebhookDefinition,
    url: String,
    arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookDefinition {
    name: String,
    target_pipeline: String,
    target_action: String,
    #[serde(default)]
    filters: Vec<FilterRule>,
    authentication: String,
    #[serde(default)]
    authentication_configuration: AuthenticationConfiguration,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AuthenticationConfiguration {
    #[serde(rename = "AllowedIPRange", default)]
    allowed_ip_range: Option<String>,
    #[serde(rename = "SecretToken", default)]
    secret_token: Option<String>,
}

const SIGNATURE_256: &str = "X-Hub-Signature-256";
const BITBUCKET_SIGNATURE: &str = "X-Hub-Signature";
const GITLAB_TOKEN: &str = "X-Gitlab-Token";

/// GitHub and Bitbucket sign with HMAC-SHA256; a GitHub delivery with only the SHA-1 header is refused
/// as such, so its sender learns what to change.
fn verify_provider(
    provider: GitProvider,
    delivery: &Delivery<'_>,
    secret: &SecretValue,
) -> Result<(), SignatureError> {
    match provider {
        GitProvider::GitHub => {
            if delivery.header("x-hub-signature-256").is_none()
                && delivery.header("x-hub-signature").is_some()
            {
                return Err(SignatureError::Sha1Only);
            }
            verify_sha256(
                SIGNATURE_256,
                delivery.header("x-hub-signature-256"),
                secret.expose(),
                delivery.body,
            )
        }
        GitProvider::Bitbucket => verify_sha256(
            BITBUCKET_SIGNATURE,
            delivery.header("x-hub-signature"),
            secret.expose(),
            delivery.body,
        ),
        GitProvider::GitLab => verify_token(
            GITLAB_TOKEN,
            delivery.header("x-gitlab-token"),
            secret.expose(),
        ),
    }
}

fn verify_webhook(
    webhook: &WebhookDefinition,
    delivery: &Delivery<'_>,
) -> Result<(), SignatureError> {
    match webhook.authentication.as_str() {
        "GITHUB_HMAC" => {
            let secret = webhook
                .authentication_configuration
                .secret_token
                .as_deref()
                .ok_or_else(|| SignatureError::NoSecret(format!("webhook {}", webhook.name)))?;
            verify_provider(
                GitProvider::GitHub,
                delivery,
                &SecretValue::new(secret.as_bytes()),
            )
        }
        "IP" => {
            let range = webhook
                .authentication_configuration
                .allowed_ip_range
                .as_deref()
                .unwrap_or_default();
            match delivery.source {
                Some(source) if in_range(range, source) => Ok(()),
                Some(source) => Err(SignatureError::AddressNotAllowed(source.to_string())),
                None => Err(SignatureError::AddressNotAllowed("(unknown)".to_string())),
            }
        }
        // UNAUTHENTICATED: anyone who knows the URL may call it, as CodePipeline allows.
        _ => Ok(()),
    }
}

/// The webhook whose URL ends with `token`.
async fn find_webhook<P: Ports>(ports: &P, token: &str) -> Result<StoredWebhook, WebhookError> {
    for (_, item) in ports.store().resources(WEBHOOK_KIND).await? {
        let Ok(webhook) = serde_json::from_value::<StoredWebhook>(item) else {
            continue;
        };
        if webhook.url.rsplit('/').next() == Some(token) {
            return Ok(webhook);
        }
    }
    Err(WebhookError::UnknownWebhook)
}

/// Receives one delivery: authenticates it first (nothing of an unauthenticated body is read further),
/// reads and matches it, and records what it starts. Starts nothing itself: the caller answers, then
/// calls [`start_delivery`] with the key of a [`Receipt::Recorded`].
pub async fn receive<P: Ports>(
    ports: &P,
    secrets: &ReceiverSecrets,
    delivery: &Delivery<'_>,
) -> Result<Receipt, WebhookError> {
    let (provider, webhook) = match &delivery.endpoint {
        Endpoint::Provider(provider) => {
            let secret = secrets
                .by_provider
                .get(provider)
                .ok_or_else(|| SignatureError::NoSecret(provider.to_string()))?;
            verify_provider(*provider, delivery, secret)?;
            (*provider, None)
        }
        Endpoint::Webhook(token) => {
            let webhook = find_webhook(ports, token).await?;
            verify_webhook(&webhook.definition, delivery)?;
            (GitProvider::GitHub, Some(webhook))
        }
    };
    let payload = payload(delivery.header("content-type"), delivery.body)?;
    let event = read_event(provider, delivery.header(provider.event_header()), &payload)?;
    match &event {
        GitEvent::Ping => return Ok(Receipt::Pong),
        GitEvent::Other(name) => {
            return Ok(Receipt::Ignored(format!(
                "{provider} event {name} starts nothing"
            )));
        }
        GitEvent::Push(_) | GitEvent::PullRequest(_) => {}
    }
    let matches = match &webhook {
        None => {
            let mut matches = Vec::new();
            let mut why_not = Vec::new();
            for stored in ports.store().pipelines().await? {
                match match_pipeline(&stored.declaration, &event) {
                    Ok(matched) => matches.push(matched),
                    Err(why) => why_not.push(format!("{}: {why}", stored.declaration.name)),
                }
            }
            if matches.is_empty() {
                let why = if why_not.is_empty() {
                    "there are no pipelines".to_string()
                } else {
                    why_not.join("; ")
                };
                return Ok(Receipt::NoMatch { why });
            }
            matches
        }
        Some(webhook) => match webhook_match(ports, webhook, &event, &payload).await? {
            Ok(matched) => vec![matched],
            Err(why) => return Ok(Receipt::NoMatch { why }),
        },
    };
    let endpoint_key = match &delivery.endpoint {
        Endpoint::Provider(provider) => provider.slug().to_string(),
        Endpoint::Webhook(_) => format!(
            "webhook/{}",
            webhook
                .as_ref()
                .map(|w| w.definition.name.as_str())
                .unwrap_or_default()
        ),
    };
    let delivery_id = delivery
        .header(provider.delivery_header())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        // A delivery without an id is known by its body: the same body is the same delivery.
        .unwrap_or_else(|| {
            format!(
                "sha256-{}",
                crate::webhook::signature::sign_sha256(b"", delivery.body)
                    .trim_start_matches("sha256=")
            )
        });
    let key = format!("{endpoint_key}/{delivery_id}");
    let starts: Vec<PlannedStart> = matches
        .into_iter()
        .map(|m| PlannedStart {
            pipeline: m.pipeline,
            execution_id: ports.ids().uuid(),
            trigger: m.trigger,
            source_revisions: m.revisions,
            started: false,
            error: None,
        })
        .collect();
    let record = DeliveryRecord {
        provider: provider.slug().to_string(),
        delivery_id,
        received: ports.clock().now(),
        starts: starts.clone(),
    };
    let document =
        serde_json::to_value(&record).map_err(|e| WebhookError::Record(e.to_string()))?;
    match ports
        .store()
        .put_resource(DELIVERY_KIND, &key, &document, 0)
        .await
    {
        Ok(()) => Ok(Receipt::Recorded { key, starts }),
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            Ok(Receipt::Duplicate { key })
        }
        Err(other) => Err(other.into()),
    }
}

/// A PutWebhook delivery against its target: the target action's filters over the payload.
async fn webhook_match<P: Ports>(
    ports: &P,
    webhook: &StoredWebhook,
    event: &GitEvent,
    payload: &Value,
) -> Result<Result<PipelineMatch, String>, WebhookError> {
    let definition = &webhook.definition;
    let Some(stored) = ports.store().pipeline(&definition.target_pipeline).await? else {
        return Ok(Err(format!(
            "its target pipeline {} does not exist",
            definition.target_pipeline
        )));
    };
    let Some(action) = target_action(&stored.declaration, &definition.target_action) else {
        return Ok(Err(format!(
            "its target action {} is not an action of the first stage of {}",
            definition.target_action, definition.target_pipeline
        )));
    };
    if let GitEvent::Push(push) = event
        && push.deleted
    {
        return Ok(Err(
            "the push deletes a ref, which starts nothing".to_string()
        ));
    }
    if let Err(why) = filters_pass(&definition.filters, action, payload) {
        return Ok(Err(why));
    }
    let commit = match event {
        GitEvent::Push(push) => push.commit.clone(),
        GitEvent::PullRequest(pr) => pr.commit.clone(),
        GitEvent::Ping | GitEvent::Other(_) => String::new(),
    };
    Ok(Ok(PipelineMatch {
        pipeline: definition.target_pipeline.clone(),
        trigger: ExecutionTrigger {
            trigger_type: WEBHOOK.to_string(),
            trigger_detail: Some(webhook.arn.clone()),
        },
        revisions: vec![SourceRevisionOverride {
            action_name: action.name.clone(),
            revision_type: "COMMIT_ID".to_string(),
            revision_value: commit,
        }],
    }))
}

fn target_action<'a>(
    declaration: &'a PipelineDeclaration,
    name: &str,
) -> Option<&'a crate::pipeline::declaration::ActionDeclaration> {
    declaration
        .stages
        .first()?
        .actions
        .iter()
        .find(|a| a.name == name)
}

/// Starts what a recorded delivery starts, each execution once, marking each started. Returns the
/// starts as they stand after. Safe to call again, and concurrently: a start is made with the id
/// chosen when the delivery was recorded.
pub async fn start_delivery<P: Ports>(
    ports: &P,
    key: &str,
) -> Result<Vec<PlannedStart>, WebhookError> {
    let Some((document, _)) = ports.store().resource(DELIVERY_KIND, key).await? else {
        return Ok(Vec::new());
    };
    let mut record: DeliveryRecord =
        serde_json::from_value(document).map_err(|e| WebhookError::Record(e.to_string()))?;
    let pending: Vec<PlannedStart> = record
        .starts
        .iter()
        .filter(|s| !s.started)
        .cloned()
        .collect();
    for start in pending {
        let request = StartRequest {
            pipeline_execution_id: Some(start.execution_id.clone()),
            source_revisions: start.source_revisions.clone(),
            trigger: Some(start.trigger.clone()),
            ..StartRequest::default()
        };
        let error = match start_once(ports, &start.pipeline, request).await {
            Ok(()) => None,
            // The store could not answer: the start stays pending for the next try.
            Err(ExecutionError::Store(e)) => return Err(e.into()),
            Err(other) => Some(format!("{}: {other}", other.exception())),
        };
        match mark_started(ports, key, &start.execution_id, error).await? {
            Some(marked) => record = marked,
            None => return Ok(Vec::new()),
        }
    }
    Ok(record.starts)
}

/// Marks one start done in the delivery's record; returns the record as written (`None`: it is gone).
async fn mark_started<P: Ports>(
    ports: &P,
    key: &str,
    execution_id: &str,
    error: Option<String>,
) -> Result<Option<DeliveryRecord>, WebhookError> {
    loop {
        let Some((document, version)) = ports.store().resource(DELIVERY_KIND, key).await? else {
            return Ok(None);
        };
        let mut record: DeliveryRecord =
            serde_json::from_value(document).map_err(|e| WebhookError::Record(e.to_string()))?;
        for start in record
            .starts
            .iter_mut()
            .filter(|s| s.execution_id == execution_id)
        {
            start.started = true;
            start.error = error.clone();
        }
        let document =
            serde_json::to_value(&record).map_err(|e| WebhookError::Record(e.to_string()))?;
        match ports
            .store()
            .put_resource(DELIVERY_KIND, key, &document, version)
            .await
        {
            Ok(()) => return Ok(Some(record)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// Starts every recorded start a crash (or a failed start) left pending. Returns the keys it finished.
pub async fn recover_deliveries<P: Ports>(ports: &P) -> Result<Vec<String>, WebhookError> {
    let mut finished = Vec::new();
    for (key, document) in ports.store().resources(DELIVERY_KIND).await? {
        let Ok(record) = serde_json::from_value::<DeliveryRecord>(document) else {
            continue;
        };
        if record.starts.iter().any(|s| !s.started) {
            start_delivery(ports, &key).await?;
            finished.push(key);
        }
    }
    Ok(finished)
}
