//! The approval pages' signing key on AWS: one Secrets Manager secret the stack generates
//! (infra/template.yaml, `ApprovalKeySecret`), named by its ARN in [`KEY_ARN_VARIABLE`]. Its value, text
//! (SecretString) or bytes (SecretBinary), is the key itself: every byte of it signs, and it must have at
//! least [`MIN_KEY_BYTES`] of them. The functions that hand out or check approval links read it once at
//! init: the approval function (the pages), the api function (GetPipelineState's `externalExecutionUrl`)
//! and the invoke worker (the notification's `approvalReviewLink`).
//!
//! No message here holds the key: a key that cannot be used is described by its ARN and its length.

use sluice_core::approval::link::{ApprovalKey, MIN_KEY_BYTES};
use sluice_core::port::SecretError;

use crate::ports::MissingSetting;
use crate::secrets::SecretsManagerSecrets;

/// `SLUICE_APPROVAL_KEY_ARN`: the ARN of the secret approval links are signed with.
pub const KEY_ARN_VARIABLE: &str = "SLUICE_APPROVAL_KEY_ARN";

/// Why the signing key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalKeyError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error(
        "the approval signing key {arn} ({KEY_ARN_VARIABLE}) does not exist or is being deleted"
    )]
    Gone { arn: String },
    #[error("the approval signing key {arn} ({KEY_ARN_VARIABLE}) cannot be read: {source}")]
    Read {
        arn: String,
        #[source]
        source: SecretError,
    },
    #[error(
        "the approval signing key {arn} ({KEY_ARN_VARIABLE}) is {found} bytes; it must be at least {MIN_KEY_BYTES} (infra/README.md says how to set a new one)"
    )]
    Short { arn: String, found: usize },
}

/// Reads the signing key from the secret `arn` (`None`: the function's [`KEY_ARN_VARIABLE`] is unset).
pub async fn signing_key(
    secrets: &SecretsManagerSecrets,
    arn: Option<&str>,
) -> Result<ApprovalKey, ApprovalKeyError> {
    let arn = arn.filter(|arn| !arn.is_empty()).ok_or(MissingSetting {
        name: KEY_ARN_VARIABLE,
        purpose: "the Secrets Manager secret approval links are signed with",
    })?;
    let value = secrets
        .secret_by_id(arn)
        .await
        .map_err(|source| ApprovalKeyError::Read {
            arn: arn.to_string(),
            source,
        })?
        .ok_or_else(|| ApprovalKeyError::Gone {
            arn: arn.to_string(),
        })?;
    ApprovalKey::new(value.expose().to_vec()).map_err(|short| ApprovalKeyError::Short {
        arn: arn.to_string(),
        found: short.0,
    })
}
