//! SigV4: any Authorization header, date, query string (presigned) and body is verified or refused,
//! never a panic, and nothing unsigned or badly signed is accepted.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use sluice_api::sigv4::{Credentials, SigningScope, verify};
use time::OffsetDateTime;

use crate::{config, text_from};

const AUTH_CHARS: &str = "AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/codepipeline/aws4_request,SignedHeaders=host;x-amz-date Signature=0123456789abcdef/=;,";
const QUERY_CHARS: &str =
    "X-Amz-AlgorithmCredentialDateExpiresSignedHeadersSignature=&%2F0123456789";

fn headers(authorization: &str, date: &str, extra: &[(String, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:4570"));
    if let Ok(value) = HeaderValue::from_str(authorization) {
        headers.insert("authorization", value);
    }
    if let Ok(value) = HeaderValue::from_str(date) {
        headers.insert("x-amz-date", value);
    }
    for (name, value) in extra {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_authorization_is_verified_or_refused_never_accepted_unsigned(
        authorization in text_from(AUTH_CHARS, 240),
        date in text_from("0123456789TZ", 20),
        query in text_from(QUERY_CHARS, 160),
        extra in proptest::collection::vec(("[a-z-]{1,12}", "\\PC{0,20}"), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let now = OffsetDateTime::now_utc();
        let headers = headers(&authorization, &date, &extra);
        let credentials = vec![Credentials::default()];
        let server = SigningScope { region: "us-east-1", service: "codepipeline" };
        let verdict = verify("POST", "/", &query, &headers, &body, now, &credentials, server);
        // A random string is never a valid HMAC of this request.
        prop_assert!(verdict.is_err(), "accepted {authorization:?} {query:?}");
    }
}
