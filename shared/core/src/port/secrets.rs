//! The Secrets port: webhook secrets and signing keys by name — Secrets Manager on AWS, private files
//! locally. A value travels as a [`SecretValue`], whose `Debug` and `Display` never show it, so a secret
//! that ends up in a log line, an error or a panic message shows as `SecretValue(redacted)` (docs/architecture.md, "Secrets":
//! secrets never reach logs, state machine input or artifacts).
//!
//! Names follow Secrets Manager's rules on both runtimes ([`check_name`]), so a name that works locally
//! works on AWS. The promises are checked by [`crate::contract::secrets_contract`] against every adapter.

use std::fmt;
use std::future::Future;

/// Secrets Manager's longest secret name.
pub const MAX_NAME_CHARS: usize = 512;
/// Secrets Manager's largest secret value (SecretString or SecretBinary): 64 KiB.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// A secret's bytes. Read them with [`SecretValue::expose`] or [`SecretValue::expose_str`], by name, where
/// they are used; nothing else prints them. The bytes are overwritten with zeros when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, when it is UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

impl From<&str> for SecretValue {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(redacted)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        // Best effort without unsafe code: black_box keeps the writes from being optimised away, but
        // copies made by earlier reallocations or by callers are beyond reach.
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The name or value breaks a rule; nothing was changed.
    #[error("the secret's {field} is not valid: {rule}")]
    Invalid { field: &'static str, rule: String },
    /// The secret store failed. The message never holds the value.
    #[error("secret {name}: {message}")]
    Backend {
        name: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Secrets by name.
pub trait Secrets: Send + Sync {
    /// Creates the secret or replaces its value.
    fn put_secret(
        &self,
        name: &str,
        value: &SecretValue,
    ) -> impl Future<Output = Result<(), SecretError>> + Send;
    /// The secret's value; `None` when there is no such secret.
    fn secret(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<SecretValue>, SecretError>> + Send;
    /// Removes the secret for good. Removing a missing secret is not an error.
    fn delete_secret(&self, name: &str) -> impl Future<Output = Result<(), SecretError>> + Send;
}

/// Secrets Manager's name rule: 1 to 512 characters of `A-Za-z0-9/_+=.@-`.
pub fn check_name(name: &str) -> Result<(), SecretError> {
    let invalid = |rule: String| {
        Err(SecretError::Invalid {
            field: "name",
            rule,
        })
    };
    if name.is_empty() {
        return invalid("it must not be empty".to_string());
    }
    let count = name.chars().count();
    if count > MAX_NAME_CHARS {
        return invalid(format!(
            "it has {count} characters; at most {MAX_NAME_CHARS} are allowed"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
    {
        return invalid(format!(
            "{bad:?} is not allowed; use letters, digits and /_+=.@-"
        ));
    }
    Ok(())
}

/// A value must have 1 to [`MAX_VALUE_BYTES`] bytes, as Secrets Manager stores.
pub fn check_value(value: &SecretValue) -> Result<(), SecretError> {
    if value.is_empty() {
        return Err(SecretError::Invalid {
            field: "value",
            rule: "it must not be empty".to_string(),
        });
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(SecretError::Invalid {
            field: "value",
            rule: format!(
                "it has {} bytes; at most {MAX_VALUE_BYTES} are allowed",
                value.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_never_shows_in_debug_or_display() {
        let value = SecretValue::from("hunter2");
        assert_eq!(format!("{value:?}"), "SecretValue(redacted)");
        assert_eq!(format!("{value}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&value)), "Some(SecretValue(redacted))");
        assert_eq!(value.expose(), b"hunter2");
        assert_eq!(value.expose_str(), Some("hunter2"));
        assert_eq!(SecretValue::new(vec![0xff]).expose_str(), None);
    }

    #[test]
    fn names_follow_secrets_managers_rules() {
        check_name("webhook/MyPipeline-Source_1+a=b.c@d").unwrap();
        check_name(&"n".repeat(512)).unwrap();
        for (bad, rule) in [
            ("", "empty"),
            ("has space", "' '"),
            ("a:b", "':'"),
            ("é", "'é'"),
        ] {
            let error = check_name(bad).unwrap_err();
            assert!(
                matches!(&error, SecretError::Invalid { field: "name", rule: r } if r.contains(rule)),
                "{bad:?}: {error}"
            );
        }
        assert!(
            check_name(&"n".repeat(513))
                .unwrap_err()
                .to_string()
                .contains("513 characters")
        );
    }

    #[test]
    fn values_hold_1_byte_to_64_kib() {
        check_value(&SecretValue::new(vec![0; MAX_VALUE_BYTES])).unwrap();
        for bad in [Vec::new(), vec![0; MAX_VALUE_BYTES + 1]] {
            assert!(matches!(
                check_value(&SecretValue::new(bad)),
                Err(SecretError::Invalid { field: "value", .. })
            ));
        }
    }
}
