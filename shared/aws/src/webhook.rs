//! The webhook receiver on AWS: its secrets, one Secrets Manager secret holding JSON
//! (`{"github": "…", "bitbucket": "…", "gitlab": "…"}`, any key may be absent and its endpoint then refuses
//! every delivery), and the event that hands a recorded delivery back to the webhook function
//! (source [`WEBHOOK_SOURCE`], detail-type [`DELIVERY_RECORDED`], detail `{"key": …}`), which a rule of
//! the stack (infra/template.yaml) delivers to it.
//!
//! No message here holds a secret's value: a secret that cannot be read is described by its ARN, the
//! key and the kind of value at fault.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use sluice_core::port::{SecretError, SecretValue};
use sluice_core::usecase::webhook::ReceiverSecrets;
use sluice_core::webhook::event::GitProvider;

use crate::error::describe;
use crate::ports::MissingSetting;
use crate::secrets::SecretsManagerSecrets;

/// `SLUICE_WEBHOOK_SECRET_ARN`: the ARN of the receiver's secret (the webhook function only).
pub const SECRET_ARN_VARIABLE: &str = "SLUICE_WEBHOOK_SECRET_ARN";
/// The source of the events the webhook function puts for itself.
pub const WEBHOOK_SOURCE: &str = "sluice.webhook";
/// Their detail-type: a delivery was recorded and its executions are to be started.
pub const DELIVERY_RECORDED: &str = "Sluice Webhook Delivery Recorded";

const PROVIDERS: [GitProvider; 3] = [
    GitProvider::GitHub,
    GitProvider::Bitbucket,
    GitProvider::GitLab,
];
const SHAPE: &str = r#"JSON like {"github": "<secret>", "bitbucket": "<secret>", "gitlab": "<secret>"} (any key may be left out)"#;

/// Why the receiver's secrets cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("the webhook secret {arn} ({SECRET_ARN_VARIABLE}) does not exist or is being deleted")]
    Missing { arn: String },
    #[error("the webhook secret {arn} ({SECRET_ARN_VARIABLE}) cannot be read: {source}")]
    Read {
        arn: String,
        #[source]
        source: SecretError,
    },
    #[error("the webhook secret {arn} ({SECRET_ARN_VARIABLE}) {rule}")]
    Invalid { arn: String, rule: String },
}

/// The receiver's secret's ARN, read through `variable` (the process environment in the function).
pub fn secret_arn(variable: impl Fn(&str) -> Option<String>) -> Result<String, MissingSetting> {
    variable(SECRET_ARN_VARIABLE)
        .filter(|arn| !arn.is_empty())
        .ok_or(MissingSetting {
            name: SECRET_ARN_VARIABLE,
            purpose: "the Secrets Manager secret holding the webhook endpoints' secrets",
        })
}

/// Reads the receiver's secrets from the secret `arn`.
pub async fn receiver_secrets(
    secrets: &SecretsManagerSecrets,
    arn: &str,
) -> Result<ReceiverSecrets, WebhookSecretError> {
    let value = secrets
        .secret_by_id(arn)
        .await
        .map_err(|source| WebhookSecretError::Read {
            arn: arn.to_string(),
            source,
        })?
        .ok_or_else(|| WebhookSecretError::Missing {
            arn: arn.to_string(),
        })?;
    parse_receiver_secrets(&value).map_err(|rule| WebhookSecretError::Invalid {
        arn: arn.to_string(),
        rule,
    })
}

/// The secrets a secret's value holds, or the rule it breaks (never quoting a value).
pub fn parse_receiver_secrets(value: &SecretValue) -> Result<ReceiverSecrets, String> {
    let text = value
        .expose_str()
        .ok_or_else(|| format!("must be text (SecretString), {SHAPE}; it is binary"))?;
    // A syntax error names a line and column, never the text around it.
    let document: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "must be {SHAPE}; it is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(fields) = document else {
        return Err(format!("must be {SHAPE}; it is {}", kind_of(&document)));
    };
    let mut secrets = ReceiverSecrets::default();
    for (key, field) in &fields {
        let Some(provider) = GitProvider::from_slug(key) else {
            return Err(format!(
                "has the key {key:?}, which is not a provider: the keys are github, bitbucket and gitlab"
            ));
        };
        match field {
            Value::String(secret) if secret.is_empty() => {
                return Err(format!(
                    "has an empty {key}: give it the secret the {provider} webhooks sign with, or leave it out to refuse every {provider} delivery"
                ));
            }
            Value::String(secret) => {
                secrets
                    .by_provider
                    .insert(provider, SecretValue::new(secret.as_bytes()));
            }
            other => {
                return Err(format!(
                    "has {key} as {}; it must be a string, the secret the {provider} webhooks sign with",
                    kind_of(other)
                ));
            }
        }
    }
    Ok(secrets)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The providers whose endpoint has a secret, and those that refuse every delivery, for the log at init.
pub fn configured(secrets: &ReceiverSecrets) -> (Vec<GitProvider>, Vec<GitProvider>) {
    PROVIDERS
        .into_iter()
        .partition(|p| secrets.by_provider.contains_key(p))
}

/// The detail of a [`DELIVERY_RECORDED`] event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecorded {
    /// The delivery's key (`sluice_core::usecase::webhook::start_delivery` takes it).
    pub key: String,
}

/// Why a [`DELIVERY_RECORDED`] event was not put on the bus.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("PutEvents on bus {bus} failed: {message}")]
    Call {
        bus: String,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("bus {bus} refused the event: {code}: {message}")]
    Refused {
        bus: String,
        code: String,
        message: String,
    },
}

/// Puts [`DELIVERY_RECORDED`] events on the stack's bus.
#[derive(Clone, Debug)]
pub struct DeliveryAnnouncer {
    client: Client,
    bus: String,
}

impl DeliveryAnnouncer {
    /// Events go to `bus` (a name or ARN; `default` is the account's default bus).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    pub async fn announce(&self, key: &str) -> Result<(), AnnounceError> {
        let detail = serde_json::to_string(&DeliveryRecorded {
            key: key.to_string(),
        })
        .map_err(|e| AnnounceError::Call {
            bus: self.bus.clone(),
            message: e.to_string(),
            source: Box::new(e),
        })?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(WEBHOOK_SOURCE)
            .detail_type(DELIVERY_RECORDED)
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| AnnounceError::Call {
                bus: self.bus.clone(),
                message: describe("EventBridge", &e),
                source: Box::new(e),
            })?;
        if output.failed_entry_count() == 0 {
            return Ok(());
        }
        let refused = output.entries().first();
        Err(AnnounceError::Refused {
            bus: self.bus.clone(),
            code: refused
                .and_then(|r| r.error_code())
                .unwrap_or("unnamed")
                .to_string(),
            message: refused
                .and_then(|r| r.error_message())
                .unwrap_or("no message")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ReceiverSecrets, String> {
        parse_receiver_secrets(&SecretValue::from(text))
    }

    fn refused(value: &SecretValue) -> String {
        match parse_receiver_secrets(value) {
            Ok(_) => panic!("the secret is taken"),
            Err(rule) => rule,
        }
    }

    #[test]
    fn each_provider_takes_its_key_and_an_absent_one_has_no_secret() {
        let secrets = parse(r#"{"github": "gh-secret", "gitlab": "gl-token"}"#).unwrap();
        assert_eq!(
            secrets.by_provider[&GitProvider::GitHub].expose(),
            b"gh-secret"
        );
        assert_eq!(
            secrets.by_provider[&GitProvider::GitLab].expose(),
            b"gl-token"
        );
        assert!(!secrets.by_provider.contains_key(&GitProvider::Bitbucket));
        assert_eq!(
            configured(&secrets),
            (
                vec![GitProvider::GitHub, GitProvider::GitLab],
                vec![GitProvider::Bitbucket]
            )
        );
        assert!(parse("{}").unwrap().by_provider.is_empty());
    }

    #[test]
    fn a_malformed_secret_is_refused_without_quoting_its_value() {
        for (text, says) in [
            ("hunter2-not-json", "it is not JSON (line 1, column 1)"),
            (r#""hunter2-a-string""#, "it is a string"),
            (r#"["hunter2"]"#, "it is an array"),
            (r#"{"github": 12345}"#, "has github as a number"),
            (r#"{"github": ["hunter2"]}"#, "has github as an array"),
            (r#"{"github": ""}"#, "has an empty github"),
            (r#"{"GitHub": "hunter2"}"#, r#"has the key "GitHub""#),
        ] {
            let rule = refused(&SecretValue::from(text));
            assert!(rule.contains(says), "{text}: {rule}");
            assert!(
                !rule.contains("hunter2"),
                "{text}: the value is quoted: {rule}"
            );
            assert!(
                !rule.contains("12345"),
                "{text}: the value is quoted: {rule}"
            );
        }
        let binary = refused(&SecretValue::new(vec![0xff, 0xfe]));
        assert!(binary.contains("it is binary"), "{binary}");
    }

    #[test]
    fn the_detail_is_the_key() {
        let detail = serde_json::to_value(DeliveryRecorded {
            key: "github/d-1".to_string(),
        })
        .unwrap();
        assert_eq!(detail, serde_json::json!({"key": "github/d-1"}));
    }
}
