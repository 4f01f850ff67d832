//! Webhook deliveries, pure: proving who sent one ([`signature`]), reading what it says ([`event`]),
//! and which pipelines it starts ([`matching`]). The receiving use case, with its durable
//! deduplication, is `crate::usecase::webhook`; the HTTP side is `sluice_api::webhook`.

pub mod event;
pub mod matching;
pub mod signature;

use serde_json::Value;

/// The largest delivery accepted: GitHub caps payloads at 25 MB and sends nothing larger.
pub const MAX_DELIVERY_BYTES: usize = 25 * 1024 * 1024;

/// Why a body is not a payload Sluice reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Answered 415.
    #[error(
        "content type {0:?} is not accepted: send application/json, or application/x-www-form-urlencoded with a payload= field"
    )]
    ContentType(String),
    /// Answered 400.
    #[error("the body is not a JSON payload: {0}")]
    NotJson(String),
    #[error("the form body has no payload= field")]
    NoPayloadField,
}

/// The payload of a delivery: the body itself for `application/json`, the `payload` field of a form
/// for `application/x-www-form-urlencoded` (GitHub's other content type).
pub fn payload(content_type: Option<&str>, body: &[u8]) -> Result<Value, PayloadError> {
    let essence = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = match essence.as_str() {
        "application/json" => body.to_vec(),
        "application/x-www-form-urlencoded" => {
            form_field(body, "payload").ok_or(PayloadError::NoPayloadField)?
        }
        _ => {
            return Err(PayloadError::ContentType(
                content_type.unwrap_or_default().to_string(),
            ));
        }
    };
    serde_json::from_slice(&json).map_err(|e| PayloadError::NotJson(e.to_string()))
}

/// The first value of `name` in a form body, percent-decoded (`+` is a space).
fn form_field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        (percent_decode(key)? == name.as_bytes()).then(|| percent_decode(value))?
    })
}

fn percent_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let high = (*bytes.next()? as char).to_digit(16)?;
                let low = (*bytes.next()? as char).to_digit(16)?;
                out.push((high * 16 + low) as u8);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Whether `address` is in `cidr` (`203.0.113.0/24`, `2001:db8::/32`, or a single address).
pub fn in_range(cidr: &str, address: std::net::IpAddr) -> bool {
    let (network, bits) = match cidr.trim().split_once('/') {
        Some((network, bits)) => (network, bits.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let Ok(network) = network.parse::<std::net::IpAddr>() else {
        return false;
    };
    match (network, address) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32);
            bits <= 32
                && mask(
                    u128::from(u32::from(n)) << 96,
                    u128::from(u32::from(a)) << 96,
                    bits,
                )
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128);
            bits <= 128 && mask(u128::from(n), u128::from(a), bits)
        }
        _ => false,
    }
}

fn mask(network: u128, address: u128, bits: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - bits);
    network & mask == address & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_payloads_are_read() {
        assert_eq!(
            payload(Some("application/json; charset=utf-8"), br#"{"a":1}"#),
            Ok(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            payload(
                Some("application/x-www-form-urlencoded"),
                b"x=1&payload=%7B%22a%22%3A%22b+c%22%7D"
            ),
            Ok(serde_json::json!({"a": "b c"}))
        );
        assert_eq!(
            payload(Some("text/plain"), b"{}"),
            Err(PayloadError::ContentType("text/plain".into()))
        );
        assert_eq!(
            payload(None, b"{}"),
            Err(PayloadError::ContentType(String::new()))
        );
        assert_eq!(
            payload(Some("application/x-www-form-urlencoded"), b"x=1"),
            Err(PayloadError::NoPayloadField)
        );
        assert!(matches!(
            payload(Some("application/json"), b"{"),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            payload(Some("application/x-www-form-urlencoded"), b"payload=%zz"),
            Err(PayloadError::NoPayloadField)
        ));
    }

    #[test]
    fn address_ranges() {
        let v4 = |a: &str| a.parse().unwrap();
        assert!(in_range("203.0.113.0/24", v4("203.0.113.9")));
        assert!(!in_range("203.0.113.0/24", v4("203.0.114.9")));
        assert!(in_range("10.0.0.1", v4("10.0.0.1")));
        assert!(in_range("0.0.0.0/0", v4("8.8.8.8")));
        assert!(in_range("2001:db8::/32", v4("2001:db8::1")));
        assert!(!in_range("2001:db8::/32", v4("10.0.0.1")));
        assert!(!in_range("garbage", v4("10.0.0.1")));
        assert!(!in_range("10.0.0.0/33", v4("10.0.0.1")));
    }
}

/// Why PutWebhook refuses a definition: CodePipeline's two exceptions for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// InvalidWebhookFilterPatternException.
    #[error("{0}")]
    FilterPattern(String),
    /// InvalidWebhookAuthenticationParametersException.
    #[error("{0}")]
    Authentication(String),
}

impl crate::problem::Coded for DefinitionError {
    fn exception(&self) -> crate::problem::Exception {
        match self {
            Self::FilterPattern(_) => {
                crate::problem::Exception::InvalidWebhookFilterPatternException
            }
            Self::Authentication(_) => {
                crate::problem::Exception::InvalidWebhookAuthenticationParametersException
            }
        }
    }
}

/// Checks what the receiver will rely on in a PutWebhook definition (`webhook` as the request has it):
/// every filter's `jsonPath` is a JSONPath, and the authentication has what it needs (GITHUB_HMAC a
/// `SecretToken`, IP an `AllowedIPRange` that is an address range).
pub fn check_definition(webhook: &Value) -> Result<(), DefinitionError> {
    for (index, filter) in webhook
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = filter
            .get("jsonPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Err(e) = serde_json_path::JsonPath::parse(path) {
            return Err(DefinitionError::FilterPattern(format!(
                "filters[{index}].jsonPath {path:?} is not a JSONPath expression: {e}"
            )));
        }
    }
    let config = webhook.get("authenticationConfiguration");
    let field = |name: &str| config.and_then(|c| c.get(name)).and_then(Value::as_str);
    match webhook.get("authentication").and_then(Value::as_str) {
        Some("GITHUB_HMAC") if field("SecretToken").is_none_or(str::is_empty) => Err(
            DefinitionError::Authentication(
                "authenticationConfiguration.SecretToken is required for GITHUB_HMAC authentication"
                    .to_string(),
            ),
        ),
        Some("IP") => match field("AllowedIPRange") {
            Some(range) if valid_range(range) => Ok(()),
            Some(range) => Err(DefinitionError::Authentication(format!(
                "authenticationConfiguration.AllowedIPRange {range:?} is not an address range in CIDR notation (203.0.113.0/24)"
            ))),
            None => Err(DefinitionError::Authentication(
                "authenticationConfiguration.AllowedIPRange is required for IP authentication"
                    .to_string(),
            )),
        },
        _ => Ok(()),
    }
}

fn valid_range(cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
    match network.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => {
            bits.is_empty() || bits.parse::<u32>().is_ok_and(|b| b <= 32)
        }
        Ok(std::net::IpAddr::V6(_)) => {
            bits.is_empty() || bits.parse::<u32>().is_ok_and(|b| b <= 128)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod definition_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_need_jsonpaths_and_their_authentications_parameters() {
        let ok = json!({"filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
                        "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s"}});
        assert_eq!(check_definition(&ok), Ok(()));
        let bad_path = json!({"filters": [{"jsonPath": "$[", "matchEquals": "x"}], "authentication": "UNAUTHENTICATED"});
        assert!(
            matches!(check_definition(&bad_path), Err(DefinitionError::FilterPattern(m)) if m.contains("filters[0].jsonPath"))
        );
        let no_token = json!({"filters": [], "authentication": "GITHUB_HMAC", "authenticationConfiguration": {}});
        assert!(
            matches!(check_definition(&no_token), Err(DefinitionError::Authentication(m)) if m.contains("SecretToken"))
        );
        for range in ["10.0.0.0/8", "2001:db8::/32", "10.0.0.1"] {
            let ip = json!({"authentication": "IP", "authenticationConfiguration": {"AllowedIPRange": range}});
            assert_eq!(check_definition(&ip), Ok(()), "{range}");
        }
        for range in ["10.0.0.0/33", "nope", ""] {
            let ip = json!({"authentication": "IP", "authenticationConfiguration": {"AllowedIPRange": range}});
            assert!(check_definition(&ip).is_err(), "{range}");
        }
    }
}
