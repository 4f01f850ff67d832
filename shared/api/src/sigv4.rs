//! AWS Signature Version 4 verification for requests to Sluice's CodePipeline API.
//!
//! The aws CLI and SDKs sign every request with SigV4; [`verify`] recomputes the signature the way AWS does and
//! answers who signed it. It checks, in the order AWS's JSON-protocol front end does, so a client sees the error
//! AWS would give it first:
//!
//! 1. the `Authorization` header (or, without one, the `X-Amz-*` query parameters of a presigned URL) is present and
//!    has `Credential`, `SignedHeaders`, `Signature` and a date (`X-Amz-Date`, else `Date`);
//! 2. the date is ISO 8601 basic (`20260101T000000Z`; the `Date` header may also be an RFC 1123 HTTP date) and
//!    within 15 minutes of `now` (a presigned URL: not yet past `X-Amz-Date` + `X-Amz-Expires`);
//! 3. `host` is a signed header, the algorithm is `AWS4-HMAC-SHA256`, and the credential scope is
//!    `key/YYYYMMDD/region/service/aws4_request` with the date of step 2;
//! 4. the scope's region and service are the server's ([`SigningScope`]): a request signed for `eu-west-1` is not
//!    one for a server in `us-east-1`, as a signature for one Region is worth nothing in another on AWS;
//! 5. the access key is known to the [`CredentialStore`];
//! 6. the signature over the canonical request matches (compared in constant time).
//!
//! # Behaviour decisions
//! - **Status 400 for every signature error.** CodePipeline is an awsJson1.1 service; AWS's JSON-protocol services
//!   answer `MissingAuthenticationTokenException`, `IncompleteSignatureException`, `UnrecognizedClientException`
//!   and `InvalidSignatureException` with HTTP 400 (SDK logs read "Status Code: 400; Error Code:
//!   InvalidSignatureException"). The 403s seen for the same names come from API Gateway and REST services.
//! - **Messages are AWS's wording** where AWS has one: "Request is missing Authentication Token" (the JSON
//!   services' wording; API Gateway says "Missing Authentication Token"), "Authorization header requires
//!   'Credential' parameter. … Authorization=…", "'x' not a valid key=value pair (missing equal-sign) in
//!   Authorization header: '…'.", "Date must be in ISO-8601 'basic format'. …", "Signature expired: … is now
//!   earlier than … (… - 15 min.)", "Signature not yet current: … is still later than … (… + 15 min.)",
//!   "'Host' must be a 'SignedHeader' in the AWS Authorization.", "Unsupported AWS 'algorithm': …", "Credential
//!   must have exactly 5 slash-delimited elements, …", "'x' is named as a SignedHeader, but it does not exist in
//!   the HTTP request.". Sluice's own wording, patterned on AWS's, covers presigned-URL parameters.
//! - **A scope for another Region or service is `InvalidSignatureException`**, with AWS's messages
//!   "Credential should be scoped to a valid region, not 'eu-west-1'. " and "Credential should be scoped to
//!   correct service: 'codepipeline'. " (the service's name, not the caller's). The Region is checked first, and
//!   both before the access key is looked up, so a forged scope learns nothing about which keys exist.
//! - **Other scope errors are `IncompleteSignatureException`.** AWS reports a wrong terminator or a scope date that
//!   differs from the request date as `InvalidSignatureException` with a specific message; here they are
//!   [`SignatureError::IncompleteSignature`] so the message reaches the caller ([`SignatureError::InvalidSignature`]
//!   carries AWS's fixed mismatch text). A missing signed `host` is also `IncompleteSignature`.
//! - **`x-amz-content-sha256`, when sent, is the payload hash** (as AWS defines it), and it must equal the SHA-256
//!   of the body that arrived; otherwise the signature would not cover the body. `UNSIGNED-PAYLOAD` and streaming
//!   payloads are refused as [`SignatureError::InvalidSignature`]: the control API has no use for them.
//! - **An `X-Amz-Security-Token` is verified like any header when signed**; its value is not checked (Sluice issues
//!   no session tokens). Unsigned headers, including an unsigned token, are ignored.
//! - **Paths are canonicalised as for every service but S3**: dot segments and empty segments removed, then each
//!   segment of the path *as received* (still percent-encoded) URI-encoded once more — AWS's "encode twice" counted
//!   from the unencoded path. Query names and values are decoded (`+` is a space) and re-encoded per RFC 3986.
//! - Header values are trimmed and runs of spaces collapsed (spaces only, as AWS's Rust signer does); repeated
//!   headers are joined with commas.

use std::fmt;

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use sluice_core::problem::{Coded, Exception};
use time::format_description::well_known::Rfc2822;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The last element of every SigV4 credential scope.
const TERMINATOR: &str = "aws4_request";

/// How far a request's date may be from the server's clock, either way.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// The longest `X-Amz-Expires` a presigned URL may ask for: seven days, as AWS allows.
const MAX_PRESIGNED_EXPIRES_SECONDS: i64 = 7 * 24 * 60 * 60;

type HmacSha256 = Hmac<Sha256>;

/// An access key and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

/// `test`/`test`: the key a local server accepts when none is configured, as local AWS emulators do.
impl Default for Credentials {
    fn default() -> Self {
        Self::new("test", "test")
    }
}

/// Shows the access key id only; the secret never reaches a log.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Looks up the secret for an access key id (the server holds a configured set; default `test`/`test`).
pub trait CredentialStore: Send + Sync {
    fn secret_for(&self, access_key_id: &str) -> Option<String>;
}

impl CredentialStore for Credentials {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        (self.access_key_id == access_key_id).then(|| self.secret_access_key.clone())
    }
}

impl CredentialStore for [Credentials] {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        self.iter().find_map(|c| c.secret_for(access_key_id))
    }
}

impl CredentialStore for Vec<Credentials> {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        self.as_slice().secret_for(access_key_id)
    }
}

/// The scope a request must be signed for: the server's Region and its signing name (`codepipeline`, or
/// `execute-api` behind API Gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningScope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// Who signed a request that verified, and the scope they signed it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCaller {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Why a request's signature was refused. `Display` is the message AWS sends; its [`Coded::exception`] is
/// the `__type`; [`SignatureError::status`] the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Authorization` header and no presigned query parameters.
    #[error("Request is missing Authentication Token")]
    MissingAuthentication,
    /// The `Authorization` header or presigned query is malformed; the message says which part and how.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The access key id is not one the server knows.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// The signature does not match the request (wrong secret, or the request changed after signing).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
    )]
    InvalidSignature,
    /// The request's date is more than 15 minutes from the server's clock, or a presigned URL has expired.
    #[error("{0}")]
    Expired(String),
    /// The credential scope names another service than the one the server answers as (carries the server's).
    #[error("Credential should be scoped to correct service: '{0}'. ")]
    WrongService(String),
    /// The credential scope names another Region than the server's (carries the caller's).
    #[error("Credential should be scoped to a valid region, not '{0}'. ")]
    WrongRegion(String),
}

impl Coded for SignatureError {
    fn exception(&self) -> Exception {
        match self {
            Self::MissingAuthentication => Exception::MissingAuthenticationTokenException,
            Self::IncompleteSignature(_) => Exception::IncompleteSignatureException,
            Self::UnrecognizedClient => Exception::UnrecognizedClientException,
            Self::InvalidSignature
            | Self::Expired(_)
            | Self::WrongService(_)
            | Self::WrongRegion(_) => Exception::InvalidSignatureException,
        }
    }
}

impl SignatureError {
    /// The exception name AWS puts in `__type` (and `x-amzn-ErrorType`).
    /// 400 for every variant: AWS's JSON-protocol services (CodePipeline among them) answer signature errors with
    /// 400 Bad Request; see the module documentation.
    pub fn status(&self) -> u16 {
        400
    }
}

/// Verifies the SigV4 signature of one request.
///
/// `path` and `query` are as received, still percent-encoded (`uri.path()`, `uri.query().unwrap_or("")`);
/// `body` is the whole body. `headers` must hold `host` (for HTTP/2, insert it from the `:authority`).
/// `expected` is the Region and service the server answers as. Never panics, whatever the input.
#[allow(clippy::too_many_arguments)] // the parts of one request, as every host has them at hand
pub fn verify(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
    credentials: &dyn CredentialStore,
    expected: SigningScope<'_>,
) -> Result<VerifiedCaller, SignatureError> {
    let query = parse_query(query);
    let auth = match headers
        .get("authorization")
        .filter(|v| !v.as_bytes().trim_ascii().is_empty())
    {
        Some(header) => {
            Authorization::from_header(&String::from_utf8_lossy(header.as_bytes()), headers)?
        }
        None if query.iter().any(|(name, _)| is_presign_parameter(name)) => {
            Authorization::from_query(&query)?
        }
        None => return Err(SignatureError::MissingAuthentication),
    };
    auth.check_fresh(now.unix_timestamp())?;
    if !auth
        .signed_headers
        .split(';')
        .any(|name| name.eq_ignore_ascii_case("host"))
    {
        return Err(incomplete(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if auth.algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now).",
            auth.algorithm
        )));
    }
    let scope = Scope::parse(&auth.credential, &auth.date.iso)?;
    if scope.region != expected.region {
        return Err(SignatureError::WrongRegion(scope.region));
    }
    if scope.service != expected.service {
        return Err(SignatureError::WrongService(expected.service.to_owned()));
    }
    let secret = credentials
        .secret_for(&scope.access_key_id)
        .ok_or(SignatureError::UnrecognizedClient)?;

    let canonical = canonical_request(method, path, &query, headers, body, &auth)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        auth.date.iso,
        scope.string(),
        hex::encode(Sha256::digest(&canonical))
    );
    let provided = hex::decode(&auth.signature).map_err(|_| SignatureError::InvalidSignature)?;
    hmac(&scope.signing_key(&secret)?, string_to_sign.as_bytes())?
        .verify_slice(&provided)
        .map_err(|_| SignatureError::InvalidSignature)?;

    Ok(VerifiedCaller {
        access_key_id: scope.access_key_id,
        region: scope.region,
        service: scope.service,
    })
}

fn incomplete(message: impl Into<String>) -> SignatureError {
    SignatureError::IncompleteSignature(message.into())
}

/// The signing inputs, from the `Authorization` header or a presigned URL's query, before they are checked.
struct Authorization {
    algorithm: String,
    credential: String,
    signed_headers: String,
    signature: String,
    date: RequestDate,
    /// Whether these came from a presigned URL's query rather than the `Authorization` header.
    presigned: bool,
    /// A presigned URL's `X-Amz-Expires`, in seconds.
    expires: Option<i64>,
}

impl Authorization {
    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. Like AWS, parameters are separated by
    /// commas or whitespace, and every missing piece is named in one message.
    fn from_header(header: &str, headers: &HeaderMap) -> Result<Self, SignatureError> {
        let header = header.trim();
        let (algorithm, parameters) = header
            .split_once(char::is_whitespace)
            .unwrap_or((header, ""));
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for pair in parameters
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
        {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(incomplete(format!(
                    "'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
                )));
            };
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.to_owned());
        }
        let date = headers
            .get("x-amz-date")
            .map(|v| (v, DateSource::XAmzDate))
            .or_else(|| headers.get("date").map(|v| (v, DateSource::Date)));

        let credential = credential.filter(|c| !c.is_empty());
        let signature = signature.filter(|s| !s.is_empty());
        let mut missing = String::new();
        for (name, absent) in [
            ("Credential", credential.is_none()),
            ("Signature", signature.is_none()),
            ("SignedHeaders", signed_headers.is_none()),
        ] {
            if absent {
                missing += &format!("Authorization header requires '{name}' parameter. ");
            }
        }
        if date.is_none() {
            missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
        }
        let (Some(credential), Some(signed_headers), Some(signature), Some((date, source)), true) = (
            credential,
            signed_headers,
            signature,
            date,
            missing.is_empty(),
        ) else {
            return Err(incomplete(format!("{missing}Authorization={header}")));
        };
        Ok(Self {
            algorithm: algorithm.to_owned(),
            credential,
            signed_headers,
            signature,
            date: RequestDate::parse(&String::from_utf8_lossy(date.as_bytes()), source)?,
            presigned: false,
            expires: None,
        })
    }

    /// Reads a presigned URL's `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`,
    /// `X-Amz-Signature` and optional `X-Amz-Expires`.
    fn from_query(query: &[(Vec<u8>, Vec<u8>)]) -> Result<Self, SignatureError> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n.as_slice() == name.as_bytes())
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        let (Some(algorithm), Some(credential), Some(signature), Some(signed_headers), Some(date)) = (
            get("X-Amz-Algorithm"),
            get("X-Amz-Credential"),
            get("X-Amz-Signature"),
            get("X-Amz-SignedHeaders"),
            get("X-Amz-Date"),
        ) else {
            return Err(incomplete(
                "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', \
                 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.",
            ));
        };
        let expires = match get("X-Amz-Expires") {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(seconds) if (1..=MAX_PRESIGNED_EXPIRES_SECONDS).contains(&seconds) => {
                    Some(seconds)
                }
                _ => {
                    return Err(incomplete(format!(
                        "X-Amz-Expires must be a whole number of seconds from 1 to \
                         {MAX_PRESIGNED_EXPIRES_SECONDS} (seven days), not '{text}'."
                    )));
                }
            },
        };
        Ok(Self {
            algorithm,
            credential,
            signed_headers,
            signature,
            date: RequestDate::parse(&date, DateSource::XAmzDate)?,
            presigned: true,
            expires,
        })
    }

    /// Refuses a request dated more than 15 minutes before or after `now`, or a presigned URL past its
    /// `X-Amz-Expires`. Arithmetic is on Unix seconds, so no date can overflow it.
    fn check_fresh(&self, now: i64) -> Result<(), SignatureError> {
        let signed = self.date.unix;
        let iso = &self.date.iso;
        if signed > now + MAX_SKEW_SECONDS {
            return Err(SignatureError::Expired(format!(
                "Signature not yet current: {iso} is still later than {} ({} + 15 min.)",
                iso_basic(now + MAX_SKEW_SECONDS),
                iso_basic(now)
            )));
        }
        match self.expires {
            None if signed < now - MAX_SKEW_SECONDS => Err(SignatureError::Expired(format!(
                "Signature expired: {iso} is now earlier than {} ({} - 15 min.)",
                iso_basic(now - MAX_SKEW_SECONDS),
                iso_basic(now)
            ))),
            Some(expires) if signed < now - expires => Err(SignatureError::Expired(format!(
                "Signature expired: {iso} is now earlier than {} ({} - {expires} sec., the X-Amz-Expires of this \
                 presigned request)",
                iso_basic(now - expires),
                iso_basic(now)
            ))),
            _ => Ok(()),
        }
    }
}

fn is_presign_parameter(name: &[u8]) -> bool {
    [
        &b"X-Amz-Algorithm"[..],
        b"X-Amz-Credential",
        b"X-Amz-Signature",
        b"X-Amz-SignedHeaders",
    ]
    .contains(&name)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DateSource {
    XAmzDate,
    Date,
}

/// The request's signing time: as it goes into the string to sign, and as Unix seconds.
struct RequestDate {
    iso: String,
    unix: i64,
}

impl RequestDate {
    /// `X-Amz-Date` must be ISO 8601 basic; the `Date` header may also be an HTTP date
    /// (`Tue, 15 Nov 1994 08:12:31 GMT`), converted to ISO 8601 basic for signing.
    fn parse(text: &str, source: DateSource) -> Result<Self, SignatureError> {
        let text = text.trim();
        let parsed = parse_iso_basic(text).or_else(|| {
            (source == DateSource::Date)
                .then(|| OffsetDateTime::parse(text, &Rfc2822).ok())
                .flatten()
                .map(|at| at.unix_timestamp())
        });
        let unix = parsed.ok_or_else(|| {
            incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })?;
        Ok(Self {
            iso: iso_basic(unix),
            unix,
        })
    }
}

/// Parses exactly `YYYYMMDDTHHMMSSZ` into Unix seconds.
fn parse_iso_basic(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0u16, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
        })
    };
    let date = Date::from_calendar_date(
        i32::from(number(0..4)?),
        Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?,
        u8::try_from(number(6..8)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(number(9..11)?).ok()?,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(13..15)?).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ` (UTC).
fn iso_basic(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => format!("@{unix}"),
    }
}

/// `access_key_id/YYYYMMDD/region/service/aws4_request`, checked against the request date.
struct Scope {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

impl Scope {
    fn parse(credential: &str, request_iso: &str) -> Result<Self, SignatureError> {
        let parts: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
        let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
                 got '{credential}'"
            )));
        };
        let request_day = request_iso.get(..8).unwrap_or(request_iso);
        let mut problems = Vec::new();
        if region.is_empty() {
            problems.push("Credential should be scoped to a valid region, not ''.".to_owned());
        }
        if service.is_empty() {
            problems.push("Credential should be scoped to a valid service, not ''.".to_owned());
        }
        if *terminator != TERMINATOR {
            problems.push(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
            ));
        }
        if *date != request_day {
            problems.push(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '{date}' != '{request_day}', from '{request_iso}'."
            ));
        }
        if !problems.is_empty() {
            return Err(incomplete(problems.join(" ")));
        }
        Ok(Self {
            access_key_id: (*access_key_id).to_owned(),
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        })
    }

    fn string(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }

    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    fn signing_key(&self, secret: &str) -> Result<Vec<u8>, SignatureError> {
        let mut key = format!("AWS4{secret}").into_bytes();
        for part in [
            self.date.as_str(),
            self.region.as_str(),
            self.service.as_str(),
            TERMINATOR,
        ] {
            key = hmac(&key, part.as_bytes())?
                .finalize()
                .into_bytes()
                .to_vec();
        }
        Ok(key)
    }
}

/// An HMAC-SHA256 over `data`. HMAC takes keys of any length, so this cannot fail; if the library ever said
/// otherwise, the request is refused rather than the server panicking.
fn hmac(key: &[u8], data: &[u8]) -> Result<HmacSha256, SignatureError> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| SignatureError::InvalidSignature)?;
    mac.update(data);
    Ok(mac)
}

/// `method \n uri \n query \n headers \n signed-headers \n payload-hash`, as bytes (header values need not be
/// UTF-8).
fn canonical_request(
    method: &str,
    path: &str,
    query: &[(Vec<u8>, Vec<u8>)],
    headers: &HeaderMap,
    body: &[u8],
    auth: &Authorization,
) -> Result<Vec<u8>, SignatureError> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(query, auth.presigned).as_bytes());
    out.push(b'\n');
    for name in auth.signed_headers.split(';') {
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(incomplete(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )));
        }
        out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        out.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(auth.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&payload_hash(headers, body)?);
    Ok(out)
}

/// Appends `value` without leading or trailing spaces and with each run of spaces made one.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let mut previous_space = false;
    for &b in &value[start..end] {
        if !(b == b' ' && previous_space) {
            out.push(b);
        }
        previous_space = b == b' ';
    }
}

/// `x-amz-content-sha256` when sent (it must be the body's digest), else the hex SHA-256 of the body.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let digest = hex::encode(Sha256::digest(body)).into_bytes();
    match headers.get("x-amz-content-sha256") {
        None => Ok(digest),
        Some(claimed) if claimed.as_bytes().eq_ignore_ascii_case(&digest) => {
            Ok(claimed.as_bytes().to_vec())
        }
        Some(_) => Err(SignatureError::InvalidSignature),
    }
}

/// The path with dot and empty segments removed (keeping a trailing slash), each segment URI-encoded; `/` when
/// empty.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        uri_encode(&mut out, segment.as_bytes());
    }
    let trailing_slash = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// Query pairs sorted by encoded name, then encoded value, as `name=value` joined by `&`. A presigned URL's
/// `X-Amz-Signature` is left out.
fn canonical_query(query: &[(Vec<u8>, Vec<u8>)], presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(name, _)| !(presigned && name.as_slice() == b"X-Amz-Signature"))
        .map(|(name, value)| {
            let (mut n, mut v) = (String::new(), String::new());
            uri_encode(&mut n, name);
            uri_encode(&mut v, value);
            (n, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Splits a raw query into decoded `(name, value)` pairs; empty pieces (`a=1&&b=2`) are skipped.
fn parse_query(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (
                percent_decode(name.as_bytes()),
                percent_decode(value.as_bytes()),
            )
        })
        .collect()
}

/// Decodes `%XX` and `+` (a space, as in form encoding); a `%` not followed by two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                input.get(i + 1).and_then(hex_value),
                input.get(i + 2).and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_value(digit: &u8) -> Option<u8> {
    char::from(*digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 encoding: unreserved characters (`A-Z a-z 0-9 - _ . ~`) as they are, every other byte as `%XX`.
fn uri_encode(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}
