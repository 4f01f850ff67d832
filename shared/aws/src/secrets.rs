//! The Secrets port on Secrets Manager: one secret per name, encrypted with the stack's customer-managed
//! KMS key, text as SecretString and other bytes as SecretBinary.
//!
//! Deleting is for good (`ForceDeleteWithoutRecovery`): a webhook secret or signing key that was removed
//! must stop working at once, not linger for a recovery window. Secrets Manager removes such a secret
//! asynchronously, and until it has, creating one of the same name fails (InvalidRequestException); a
//! secret scheduled for deletion by someone else (with a recovery window) blocks its name the same way.
//! `put_secret` handles both: a secret scheduled for deletion is restored and given the new value; a name
//! still being removed is tried again for a few seconds, then reported as such.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::primitives::Blob;

use sluice_core::port::{
    MAX_NAME_CHARS, SecretError, SecretValue, Secrets, check_name, check_value,
};

/// How often a create is tried while its name is still being removed, and the pause before each retry.
const CREATE_ATTEMPTS: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// Secrets in Secrets Manager, created with the customer key given at construction.
#[derive(Clone, Debug)]
pub struct SecretsManagerSecrets {
    client: Client,
    kms_key_id: String,
    prefix: String,
}

impl SecretsManagerSecrets {
    /// Secrets encrypted with `kms_key_id` (a KMS key id, ARN or alias), named as the port names them.
    pub fn new(client: Client, kms_key_id: impl Into<String>) -> Self {
        Self {
            client,
            kms_key_id: kms_key_id.into(),
            prefix: String::new(),
        }
    }

    /// Every secret's name in Secrets Manager starts with `prefix` (`sluice/<stack>/`), so one stack's
    /// secrets are apart from another's and an IAM policy can grant exactly them.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The name in Secrets Manager: the prefix and the name, within Secrets Manager's 512 characters.
    fn full_name(&self, name: &str) -> Result<String, SecretError> {
        check_name(name)?;
        let full = format!("{}{name}", self.prefix);
        check_name(&full).map_err(|error| match error {
            SecretError::Invalid { field, rule } => SecretError::Invalid {
                field,
                rule: format!(
                    "with the prefix {:?} (at most {MAX_NAME_CHARS} characters in all): {rule}",
                    self.prefix
                ),
            },
            other => other,
        })?;
        Ok(full)
    }

    async fn create(
        &self,
        name: &str,
        value: &SecretValue,
    ) -> Result<(), SdkError<CreateSecretError, HttpResponse>> {
        let request = self
            .client
            .create_secret()
            .name(name)
            .kms_key_id(&self.kms_key_id);
        let request = match value.expose_str() {
            Some(text) => request.secret_string(text),
            None => request.secret_binary(Blob::new(value.expose())),
        };
        request.send().await.map(|_| ())
    }

    async fn put_value(&self, name: &str, value: &SecretValue) -> Result<(), SecretError> {
        let request = self.client.put_secret_value().secret_id(name);
        let request = match value.expose_str() {
            Some(text) => request.secret_string(text),
            None => request.secret_binary(Blob::new(value.expose())),
        };
        request
            .send()
            .await
            .map_err(|e| backend(name, "PutSecretValue", e))?;
        Ok(())
    }

    /// A secret the stack made itself (its ARN or name given whole, neither prefixed nor checked as the
    /// port's names are): the webhook receiver's, which the template creates. `None` when it does not
    /// exist or is being deleted.
    pub async fn secret_by_id(&self, id: &str) -> Result<Option<SecretValue>, SecretError> {
        self.value_of(id).await
    }

    async fn value_of(&self, full: &str) -> Result<Option<SecretValue>, SecretError> {
        match self.client.get_secret_value().secret_id(full).send().await {
            Ok(output) => {
                if let Some(text) = output.secret_string() {
                    Ok(Some(SecretValue::from(text)))
                } else if let Some(bytes) = output.secret_binary() {
                    Ok(Some(SecretValue::new(bytes.as_ref())))
                } else {
                    Ok(None)
                }
            }
            Err(e) if crate::error::code(&e) == Some("ResourceNotFoundException") => Ok(None),
            // A secret scheduled for deletion is on its way out: as good as gone.
            Err(e)
                if crate::error::code(&e) == Some("InvalidRequestException")
                    && e.as_service_error()
                        .and_then(ProvideErrorMetadata::message)
                        .is_some_and(|m| m.contains("deleted") || m.contains("deletion")) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend(full, "GetSecretValue", e)),
        }
    }

    /// Whether the secret exists and is scheduled for deletion; `None` when it does not exist.
    async fn scheduled_for_deletion(&self, name: &str) -> Result<Option<bool>, SecretError> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(described) => Ok(Some(described.deleted_date().is_some())),
            Err(e) if crate::error::code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(backend(name, "DescribeSecret", e)),
        }
    }
}

impl Secrets for SecretsManagerSecrets {
    async fn put_secret(&self, name: &str, value: &SecretValue) -> Result<(), SecretError> {
        let full = self.full_name(name)?;
        check_value(value)?;
        let mut pause = FIRST_PAUSE;
        let mut refused = String::new();
        for attempt in 1..=CREATE_ATTEMPTS {
            match self.create(&full, value).await {
                Ok(()) => return Ok(()),
                // It exists (ResourceExists), or its name is blocked by a deletion (InvalidRequest).
                Err(e)
                    if matches!(
                        crate::error::code(&e),
                        Some("ResourceExistsException" | "InvalidRequestException")
                    ) =>
                {
                    refused = crate::error::describe("Secrets Manager", &e);
                }
                Err(e) => return Err(backend(&full, "CreateSecret", e)),
            }
            match self.scheduled_for_deletion(&full).await? {
                Some(false) => return self.put_value(&full, value).await,
                Some(true) => {
                    self.client
                        .restore_secret()
                        .secret_id(&full)
                        .send()
                        .await
                        .map_err(|e| backend(&full, "RestoreSecret", e))?;
                    return self.put_value(&full, value).await;
                }
                // Deleted for good but not yet removed: its name frees up within seconds.
                None if attempt < CREATE_ATTEMPTS => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                None => {}
            }
        }
        Err(SecretError::Backend {
            name: full,
            message: format!(
                "CreateSecret was refused ({refused}) for a secret that does not exist: it was deleted \
                 moments ago and Secrets Manager has not finished removing it; try again in a minute"
            ),
            source: None,
        })
    }

    async fn secret(&self, name: &str) -> Result<Option<SecretValue>, SecretError> {
        let full = self.full_name(name)?;
        self.value_of(&full).await
    }

    async fn delete_secret(&self, name: &str) -> Result<(), SecretError> {
        let full = self.full_name(name)?;
        match self
            .client
            .delete_secret()
            .secret_id(&full)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::error::code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(backend(&full, "DeleteSecret", e)),
        }
    }
}

/// An SDK failure, described by code and message (Secrets Manager's messages never hold the value).
fn backend<E>(name: &str, operation: &str, error: SdkError<E, HttpResponse>) -> SecretError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    SecretError::Backend {
        name: name.to_string(),
        message: format!(
            "{operation} failed: {}",
            crate::error::describe("Secrets Manager", &error)
        ),
        source: Some(Box::new(error)),
    }
}
