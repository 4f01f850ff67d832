//! Proving a delivery came from the provider: GitHub's and Bitbucket's HMAC-SHA256 of the raw body, and
//! GitLab's shared token. Every comparison of a secret-derived value takes the same time whatever the
//! input, so a caller cannot find the signature byte by byte from response times.
//!
//! GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
//! Bitbucket: https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/ (secure webhooks)
//! GitLab: https://docs.gitlab.com/user/project/integrations/webhooks/ (secret token)

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a delivery is not accepted as the provider's. Answered as 401; the message says what was
/// wrong with the header, never what the right value would have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the delivery is not signed: it has no {header} header")]
    Missing { header: &'static str },
    #[error(
        "the delivery is signed only with SHA-1 (X-Hub-Signature); Sluice accepts X-Hub-Signature-256 (HMAC-SHA256)"
    )]
    Sha1Only,
    #[error("the {header} header is not of the form sha256=<64 hex digits>")]
    Malformed { header: &'static str },
    #[error("the {header} header does not match the delivery's body and the webhook's secret")]
    Mismatch { header: &'static str },
    #[error("no secret is configured for {0} deliveries, so none can be verified")]
    NoSecret(String),
    #[error("the delivery's source address {0} is not in the webhook's AllowedIPRange")]
    AddressNotAllowed(String),
}

/// Checks `header` (`sha256=<hex>`, the value of the header named `name`) against HMAC-SHA256 of `body`
/// under `secret`, in constant time.
pub fn verify_sha256(
    name: &'static str,
    header: Option<&str>,
    secret: &[u8],
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing { header: name })?;
    let digest = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
        .filter(|digest| digest.len() == 32)
        .ok_or(SignatureError::Malformed { header: name })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| SignatureError::Mismatch { header: name })?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch { header: name })
}

/// `sha256=<hex>` of `body` under `secret`: what a provider sends (for tests and for signing deliveries
/// Sluice replays).
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// GitLab's `X-Gitlab-Token`: the secret itself, compared in constant time.
pub fn verify_token(
    name: &'static str,
    header: Option<&str>,
    secret: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing { header: name })?;
    if constant_time_eq(header.as_bytes(), secret) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch { header: name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector ("Validating webhook deliveries", "Testing the webhook payload
    /// validation").
    #[test]
    fn githubs_test_vector_verifies() {
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign_sha256(secret, body), signature);
        assert_eq!(
            verify_sha256("X-Hub-Signature-256", Some(signature), secret, body),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_secret_or_header_is_refused() {
        let secret = b"It's a Secret to Everybody";
        let signature = sign_sha256(secret, b"Hello, World!");
        let header = "X-Hub-Signature-256";
        assert_eq!(
            verify_sha256(header, Some(&signature), secret, b"Hello, World?"),
            Err(SignatureError::Mismatch { header })
        );
        assert_eq!(
            verify_sha256(
                header,
                Some(&signature),
                b"another secret",
                b"Hello, World!"
            ),
            Err(SignatureError::Mismatch { header })
        );
        assert_eq!(
            verify_sha256(header, None, secret, b"Hello, World!"),
            Err(SignatureError::Missing { header })
        );
        for malformed in [
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
            "sha256=zz",
            "sha256=757107ea",
            "",
        ] {
            assert_eq!(
                verify_sha256(header, Some(malformed), secret, b"Hello, World!"),
                Err(SignatureError::Malformed { header }),
                "{malformed}"
            );
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert_eq!(
            verify_token("X-Gitlab-Token", Some("s3cret"), b"s3cret"),
            Ok(())
        );
        for wrong in ["s3cre", "s3cret ", "S3cret", ""] {
            assert!(verify_token("X-Gitlab-Token", Some(wrong), b"s3cret").is_err());
        }
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b"b"));
    }
}
