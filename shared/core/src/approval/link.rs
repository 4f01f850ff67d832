//! The approval page's links and forms (docs/decisions.md, "The approval page").
//!
//! A review link is `<public URL>/view/<pipeline>/<stage>/<action>/approve/<link token>`. The link token
//! names one attempt of one approval — the pipeline execution and the approval token (the attempt's
//! action execution id) — and when it expires, and carries an HMAC-SHA256 over all of that and the
//! pipeline, stage and action of the path, under a key only the server holds ([`ApprovalKey`]):
//!
//! ```text
//! <pipeline execution id>.<approval token>.<expiry, epoch milliseconds>.<64 hex digits of the HMAC>
//! ```
//!
//! So a link cannot be made up, moved to another approval or attempt, or given a later expiry; the
//! same attempt always gets the same link (the notification's and GetPipelineState's agree). It is
//! single-use because an attempt is decided once (`approval::decide`).
//!
//! The page's form carries a form token: an HMAC of the link token and a nonce drawn for the page, so a
//! decision is posted from a page this server rendered for this very link.

use std::fmt;
use std::net::SocketAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::time::Timestamp;
use crate::webhook::signature::constant_time_eq;

/// The fewest bytes of key the links are signed with.
pub const MIN_KEY_BYTES: usize = 32;

/// The longest public URL: with the longest names and the link token, a review link stays within the
/// API model's `Url` (2,048 characters), so GetPipelineState can show it as `externalExecutionUrl`.
pub const MAX_PUBLIC_URL_CHARS: usize = 1024;

/// What the MACs are over starts with these, so a link's MAC is never valid as a form token's or as
/// anything else signed with the same key.
const LINK_CONTEXT: &[u8] = b"sluice approval link v1";
const FORM_CONTEXT: &[u8] = b"sluice approval form v1";

/// The key approval links and forms are signed with: a key file in the data directory locally, a
/// secret on AWS. Its bytes are never shown (`Debug` prints `ApprovalKey(redacted)`).
#[derive(Clone)]
pub struct ApprovalKey(Vec<u8>);

impl fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApprovalKey(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an approval link key is at least {MIN_KEY_BYTES} bytes; this one is {0}")]
pub struct ShortKey(pub usize);

impl ApprovalKey {
    pub fn new(bytes: Vec<u8>) -> Result<ApprovalKey, ShortKey> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(ShortKey(bytes.len()));
        }
        Ok(ApprovalKey(bytes))
    }

    fn mac(&self, context: &[u8], fields: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(context);
        // Each field with its length first, so no two lists of fields run together the same way.
        for field in fields {
            mac.update(&u64::try_from(field.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(field);
        }
        mac.finalize().into_bytes().into()
    }
}

/// One attempt of one approval, as a link names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalAttempt<'a> {
    pub pipeline: &'a str,
    pub stage: &'a str,
    pub action: &'a str,
    pub execution_id: &'a str,
    /// The approval token: the attempt's action execution id.
    pub token: &'a str,
}

/// A link token whose MAC is right (its expiry not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    pub execution_id: String,
    pub token: String,
    pub expires: Timestamp,
}

/// Why a link token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this is not an approval link Sluice makes: {0}")]
    Malformed(&'static str),
    /// Made up, altered, or another approval's: the MAC does not match the path and the token.
    #[error(
        "this approval link's signature does not match: it was altered, or it belongs to another approval"
    )]
    Forged,
}

fn link_mac(key: &ApprovalKey, attempt: &ApprovalAttempt<'_>, expires: Timestamp) -> [u8; 32] {
    let expires = expires.epoch_millis().to_string();
    key.mac(
        LINK_CONTEXT,
        &[
            attempt.pipeline.as_bytes(),
            attempt.stage.as_bytes(),
            attempt.action.as_bytes(),
            attempt.execution_id.as_bytes(),
            attempt.token.as_bytes(),
            expires.as_bytes(),
        ],
    )
}

/// The link token of `attempt`, expiring at `expires`.
pub fn sign(key: &ApprovalKey, attempt: &ApprovalAttempt<'_>, expires: Timestamp) -> String {
    format!(
        "{}.{}.{}.{}",
        attempt.execution_id,
        attempt.token,
        expires.epoch_millis(),
        hex::encode(link_mac(key, attempt, expires))
    )
}

/// An id in a link token: a UUID's characters (lower-case hex digits and hyphens), 36 of them.
fn is_uuid_like(text: &str) -> bool {
    text.len() == 36
        && text
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'))
}

/// Checks `link` (the last path segment) against the approval the path names. The MAC is compared in
/// constant time; whether the link has expired is the caller's to say, with the records at hand.
pub fn verify(
    key: &ApprovalKey,
    pipeline: &str,
    stage: &str,
    action: &str,
    link: &str,
) -> Result<VerifiedLink, LinkError> {
    let mut parts = link.split('.');
    let (Some(execution_id), Some(token), Some(expires), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(LinkError::Malformed(
            "a link token has four parts separated by dots",
        ));
    };
    if !is_uuid_like(execution_id) || !is_uuid_like(token) {
        return Err(LinkError::Malformed(
            "its execution id and approval token are not UUIDs",
        ));
    }
    // Digits only, without leading zeros: one expiry has one spelling.
    let canonical = !expires.is_empty()
        && expires.bytes().all(|b| b.is_ascii_digit())
        && (expires == "0" || !expires.starts_with('0'));
    let expires = canonical
        .then(|| expires.parse::<i64>().ok())
        .flatten()
        .map(Timestamp::from_epoch_millis)
        .ok_or(LinkError::Malformed("its expiry is not a number"))?;
    // Lower-case only, as it is signed: one link has one spelling.
    let mac = Some(mac)
        .filter(|mac| mac.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|mac| hex::decode(mac).ok())
        .filter(|mac| mac.len() == 32)
        .ok_or(LinkError::Malformed(
            "its signature is not 64 lower-case hex digits",
        ))?;
    let attempt = ApprovalAttempt {
        pipeline,
        stage,
        action,
        execution_id,
        token,
    };
    if !constant_time_eq(&link_mac(key, &attempt, expires), &mac) {
        return Err(LinkError::Forged);
    }
    Ok(VerifiedLink {
        execution_id: execution_id.to_string(),
        token: token.to_string(),
        expires,
    })
}

/// Why a posted form is refused: answered 403, and nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormTokenError {
    #[error(
        "the form has no form token (fields nonce and form_token): decide from the approval page itself"
    )]
    Missing,
    #[error(
        "the form's token does not match this approval link: decide from the approval page itself, freshly loaded"
    )]
    Mismatch,
}

/// The form token of a page rendered for `link` with `nonce`.
pub fn form_token(key: &ApprovalKey, link: &str, nonce: &str) -> String {
    hex::encode(key.mac(FORM_CONTEXT, &[link.as_bytes(), nonce.as_bytes()]))
}

/// Checks a posted form's `nonce` and `token` against `link`, in constant time.
pub fn check_form_token(
    key: &ApprovalKey,
    link: &str,
    nonce: Option<&str>,
    token: Option<&str>,
) -> Result<(), FormTokenError> {
    let (Some(nonce), Some(token)) = (nonce, token) else {
        return Err(FormTokenError::Missing);
    };
    if nonce.is_empty() || token.is_empty() {
        return Err(FormTokenError::Missing);
    }
    let expected = form_token(key, link, nonce);
    if constant_time_eq(expected.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(FormTokenError::Mismatch)
    }
}

/// The URL the server is reached at from outside (`sluice serve --public-url`): every link it hands out
/// starts with it. `http` or `https`, a host, an optional port and path, no query, fragment or user
/// name; kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    url: String,
    /// Where the origin (`scheme://host[:port]`) ends in `url`.
    origin_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the public URL {url:?} {rule}")]
pub struct PublicUrlError {
    pub url: String,
    pub rule: &'static str,
}

impl PublicUrl {
    pub fn parse(text: &str) -> Result<PublicUrl, PublicUrlError> {
        let refuse = |rule| PublicUrlError {
            url: text.chars().take(200).collect(),
            rule,
        };
        if text.chars().count() > MAX_PUBLIC_URL_CHARS {
            return Err(refuse(
                "is longer than 1024 characters (the review links it starts must fit CodePipeline's 2048)",
            ));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| refuse("must start with http:// or https://"))?;
        if text.contains(['?', '#']) {
            return Err(refuse(
                "must not have a query (?) or a fragment (#): links are built by adding a path to it",
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refuse(
                "must be printable ASCII without spaces (percent-encode anything else)",
            ));
        }
        if text.bytes().any(|b| {
            matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
        }) {
            return Err(refuse(
                "has a character a URL cannot hold as it is (\" < > \\ ^ ` { | }): percent-encode it",
            ));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err(refuse(
                "must not name a user (user@host): the links it starts are sent to reviewers",
            ));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (address, after) = v6
                    .split_once(']')
                    .ok_or_else(|| refuse("has an IPv6 host without its closing ]"))?;
                if address.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(refuse("has an IPv6 host that is not an IPv6 address"));
                }
                match after {
                    "" => (address, None),
                    port => (
                        address,
                        Some(port.strip_prefix(':').ok_or_else(|| {
                            refuse("has something other than :port after its IPv6 host")
                        })?),
                    ),
                }
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(refuse("has no host"));
        }
        if !authority.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(refuse(
                "has a host that is not a name or an address (letters, digits, dots and hyphens)",
            ));
        }
        if let Some(port) = port
            && (port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u16>().map_or(true, |p| p == 0))
        {
            return Err(refuse("has a port that is not a number from 1 to 65535"));
        }
        let url = text.trim_end_matches('/').to_string();
        let origin_end = text.len() - rest.len() + authority.len();
        Ok(PublicUrl { url, origin_end })
    }

    /// `http://<address>`: where a server listening on `address` is reached when nothing else is said.
    pub fn for_address(address: SocketAddr) -> PublicUrl {
        let url = format!("http://{address}");
        PublicUrl {
            origin_end: url.len(),
            url,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, as a browser sends it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.url[..self.origin_end.min(self.url.len())]
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Where the links an approval hands out go: the server's public URL, and the key review links are
/// signed with. Without a key (a runtime that serves no approval page yet) a review link carries the
/// bare approval token, as CodePipeline's console link does.
#[derive(Debug, Clone)]
pub struct ReviewLinks {
    base: PublicUrl,
    key: Option<ApprovalKey>,
}

impl ReviewLinks {
    pub fn signed(base: PublicUrl, key: ApprovalKey) -> ReviewLinks {
        ReviewLinks {
            base,
            key: Some(key),
        }
    }

    pub fn unsigned(base: PublicUrl) -> ReviewLinks {
        ReviewLinks { base, key: None }
    }

    pub fn base(&self) -> &PublicUrl {
        &self.base
    }

    pub fn key(&self) -> Option<&ApprovalKey> {
        self.key.as_ref()
    }

    /// `<base>/view/<pipeline>`: the notification's `consoleLink`.
    pub fn console(&self, pipeline: &str) -> String {
        format!("{}/view/{}", self.base, path_segment(pipeline))
    }

    /// The approval page of `attempt`, which expires at `expires`: the notification's
    /// `approvalReviewLink` and GetPipelineState's `externalExecutionUrl`.
    pub fn review(&self, attempt: &ApprovalAttempt<'_>, expires: Timestamp) -> String {
        let link = match &self.key {
            Some(key) => sign(key, attempt, expires),
            None => attempt.token.to_string(),
        };
        format!(
            "{}/{}/{}/approve/{}",
            self.console(attempt.pipeline),
            path_segment(attempt.stage),
            path_segment(attempt.action),
            path_segment(&link)
        )
    }
}

/// When an attempt that started at `started` and may wait `timeout_minutes` expires.
pub fn expiry(started: Timestamp, timeout_minutes: u64) -> Timestamp {
    let timeout = i64::try_from(timeout_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
    Timestamp::from_epoch_millis(started.epoch_millis().saturating_add(timeout))
}

/// A name as one URL path segment: unreserved characters as they are, anything else percent-encoded
/// (pipeline, stage and action names allow only `[A-Za-z0-9.@_-]`, so this changes only `@`).
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXECUTION: &str = "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f";
    const TOKEN: &str = "1a2b3c4d-573f-4ea7-a67e-000000000000";

    fn key(byte: u8) -> ApprovalKey {
        ApprovalKey::new(vec![byte; 32]).unwrap()
    }

    fn attempt() -> ApprovalAttempt<'static> {
        ApprovalAttempt {
            pipeline: "Release",
            stage: "Gate",
            action: "Approve",
            execution_id: EXECUTION,
            token: TOKEN,
        }
    }

    fn expires() -> Timestamp {
        Timestamp::from_epoch_millis(1_767_225_600_000)
    }

    #[test]
    fn a_signed_link_verifies_for_its_own_approval_and_names_its_attempt_and_expiry() {
        let link = sign(&key(1), &attempt(), expires());
        assert!(
            link.starts_with(&format!("{EXECUTION}.{TOKEN}.1767225600000.")),
            "{link}"
        );
        assert_eq!(
            verify(&key(1), "Release", "Gate", "Approve", &link),
            Ok(VerifiedLink {
                execution_id: EXECUTION.to_string(),
                token: TOKEN.to_string(),
                expires: expires(),
            })
        );
        assert_eq!(
            link,
            sign(&key(1), &attempt(), expires()),
            "the same attempt, the same link"
        );
    }

    #[test]
    fn a_forged_or_altered_link_or_another_keys_is_refused() {
        let link = sign(&key(1), &attempt(), expires());
        assert_eq!(
            verify(&key(2), "Release", "Gate", "Approve", &link),
            Err(LinkError::Forged),
            "signed with another key"
        );
        // A later expiry, another attempt's token, another execution: each breaks the MAC.
        let later = link.replace(".1767225600000.", ".1767225600001.");
        let other_token = link.replace(TOKEN, "1a2b3c4d-573f-4ea7-a67e-000000000001");
        let other_execution = link.replace(EXECUTION, "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e70");
        for altered in [later, other_token, other_execution] {
            assert_eq!(
                verify(&key(1), "Release", "Gate", "Approve", &altered),
                Err(LinkError::Forged),
                "{altered}"
            );
        }
        let mut flipped = link.clone();
        let last = if flipped.ends_with('0') { '1' } else { '0' };
        flipped.pop();
        flipped.push(last);
        assert_eq!(
            verify(&key(1), "Release", "Gate", "Approve", &flipped),
            Err(LinkError::Forged)
        );
    }

    #[test]
    fn a_link_is_refused_on_another_approvals_path() {
        let link = sign(&key(1), &attempt(), expires());
        for (pipeline, stage, action) in [
            ("Other", "Gate", "Approve"),
            ("Release", "Other", "Approve"),
            ("Release", "Gate", "Other"),
            // The fields are length-prefixed: moving a character between them is another approval.
            ("Releas", "eGate", "Approve"),
        ] {
            assert_eq!(
                verify(&key(1), pipeline, stage, action, &link),
                Err(LinkError::Forged),
                "{pipeline}/{stage}/{action}"
            );
        }
    }

    #[test]
    fn malformed_links_are_refused_before_any_signature_is_computed() {
        let link = sign(&key(1), &attempt(), expires());
        let mac = link.rsplit('.').next().unwrap().to_string();
        for bad in [
            String::new(),
            TOKEN.to_string(),
            format!("{EXECUTION}.{TOKEN}.1767225600000"),
            format!("{EXECUTION}.{TOKEN}.1767225600000.{mac}.x"),
            format!("{EXECUTION}.{TOKEN}.soon.{mac}"),
            format!("{EXECUTION}.{TOKEN}.-1.{mac}"),
            format!("{EXECUTION}.{TOKEN}.01767225600000.{mac}"),
            format!("{EXECUTION}.{TOKEN}.99999999999999999999.{mac}"),
            format!("{EXECUTION}.{TOKEN}.1767225600000.{}", &mac[..62]),
            format!("{EXECUTION}.{TOKEN}.1767225600000.{}zz", &mac[..62]),
            format!("{EXECUTION}.../etc/passwd.1767225600000.{mac}"),
            format!("{}.{TOKEN}.1767225600000.{mac}", EXECUTION.to_uppercase()),
            format!("{EXECUTION}.{TOKEN}.1767225600000.{}", mac.to_uppercase()),
        ] {
            assert!(
                matches!(
                    verify(&key(1), "Release", "Gate", "Approve", &bad),
                    Err(LinkError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_form_token_is_bound_to_its_link_and_nonce() {
        let link = sign(&key(1), &attempt(), expires());
        let token = form_token(&key(1), &link, "n1");
        assert_eq!(
            check_form_token(&key(1), &link, Some("n1"), Some(&token)),
            Ok(())
        );
        assert_eq!(
            check_form_token(&key(1), &link, Some("n2"), Some(&token)),
            Err(FormTokenError::Mismatch)
        );
        let other = sign(&key(1), &attempt(), Timestamp::from_epoch_millis(1));
        assert_eq!(
            check_form_token(&key(1), &other, Some("n1"), Some(&token)),
            Err(FormTokenError::Mismatch)
        );
        assert_eq!(
            check_form_token(&key(2), &link, Some("n1"), Some(&token)),
            Err(FormTokenError::Mismatch)
        );
        for (nonce, token) in [
            (None, Some(token.as_str())),
            (Some("n1"), None),
            (Some(""), Some("")),
            (None, None),
        ] {
            assert_eq!(
                check_form_token(&key(1), &link, nonce, token),
                Err(FormTokenError::Missing)
            );
        }
        // A link's own MAC is not a form token: the contexts differ.
        let mac = link.rsplit('.').next().unwrap();
        assert_eq!(
            check_form_token(&key(1), &link, Some("n1"), Some(mac)),
            Err(FormTokenError::Mismatch)
        );
    }

    #[test]
    fn a_key_is_at_least_32_bytes_and_never_shown() {
        assert_eq!(ApprovalKey::new(vec![7; 31]).unwrap_err(), ShortKey(31));
        assert_eq!(format!("{:?}", key(7)), "ApprovalKey(redacted)");
        let links = ReviewLinks::signed(PublicUrl::parse("http://h").unwrap(), key(7));
        assert!(!format!("{links:?}").contains("7, 7"), "{links:?}");
    }

    #[test]
    fn review_and_console_links_start_with_the_public_url() {
        let base = PublicUrl::parse("https://ci.example.com/sluice/").unwrap();
        let links = ReviewLinks::signed(base.clone(), key(1));
        assert_eq!(
            links.console("Release"),
            "https://ci.example.com/sluice/view/Release"
        );
        let review = links.review(&attempt(), expires());
        let link = sign(&key(1), &attempt(), expires());
        assert_eq!(
            review,
            format!("https://ci.example.com/sluice/view/Release/Gate/Approve/approve/{link}")
        );
        let unsigned = ReviewLinks::unsigned(base);
        assert!(
            unsigned
                .review(&attempt(), expires())
                .ends_with(&format!("/approve/{TOKEN}"))
        );
        let at = ApprovalAttempt {
            pipeline: "a@b",
            ..attempt()
        };
        assert!(links.review(&at, expires()).contains("/view/a%40b/Gate/"));
    }

    #[test]
    fn the_public_url_is_http_or_https_without_query_fragment_or_user() {
        for good in [
            "http://127.0.0.1:4570",
            "https://ci.example.com",
            "https://ci.example.com/",
            "https://ci.example.com:8443/sluice",
            "http://[::1]:4570",
            "http://[2001:db8::1]",
            "http://localhost",
        ] {
            let url = PublicUrl::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert!(!url.as_str().ends_with('/'));
        }
        let url = PublicUrl::parse("https://ci.example.com:8443/sluice/").unwrap();
        assert_eq!(url.as_str(), "https://ci.example.com:8443/sluice");
        assert_eq!(url.origin(), "https://ci.example.com:8443");
        assert_eq!(
            PublicUrl::parse("http://[::1]:4570").unwrap().origin(),
            "http://[::1]:4570"
        );
        for (bad, rule) in [
            ("", "must start with http:// or https://"),
            ("ftp://host", "must start with http:// or https://"),
            ("127.0.0.1:4570", "must start with http:// or https://"),
            ("HTTP://host", "must start with http:// or https://"),
            ("http://host/?a=1", "must not have a query"),
            ("http://host/#top", "must not have a query"),
            ("http://", "has no host"),
            ("http:///path", "has no host"),
            ("http://:4570", "has no host"),
            ("http://user:pw@host", "must not name a user"),
            ("http://host:0", "has a port"),
            ("http://host:99999", "has a port"),
            ("http://host:", "has a port"),
            ("http://host:80x", "has a port"),
            ("http://ho st", "printable ASCII"),
            ("http://hôst", "printable ASCII"),
            ("http://host/\"><script>", "a character a URL cannot hold"),
            ("http://ho_st", "has a host that is not a name"),
            ("http://[::1", "without its closing ]"),
            ("http://[nope]", "not an IPv6 address"),
            ("http://[::1]x", "other than :port"),
        ] {
            let error = PublicUrl::parse(bad).unwrap_err();
            assert!(error.to_string().contains(rule), "{bad}: {error}");
        }
        let long = format!("https://h/{}", "a".repeat(MAX_PUBLIC_URL_CHARS));
        assert!(
            PublicUrl::parse(&long)
                .unwrap_err()
                .rule
                .contains("longer than 1024")
        );
        assert_eq!(
            PublicUrl::for_address("[::1]:4570".parse().unwrap()).as_str(),
            "http://[::1]:4570"
        );
        assert_eq!(
            PublicUrl::for_address("127.0.0.1:4570".parse().unwrap()).origin(),
            "http://127.0.0.1:4570"
        );
    }

    #[test]
    fn expiry_is_the_start_plus_the_timeout() {
        assert_eq!(
            expiry(Timestamp::from_epoch_millis(1_000), 7 * 24 * 60),
            Timestamp::from_epoch_millis(1_000 + 7 * 24 * 3600 * 1000)
        );
        assert_eq!(
            expiry(Timestamp::from_epoch_millis(1), u64::MAX),
            Timestamp::from_epoch_millis(i64::MAX)
        );
    }
}
