//! SigV4 verification, checked against requests signed by AWS's own signer (`aws-sigv4`), the way the aws CLI and
//! SDKs sign an awsJson1.1 call to CodePipeline, and against AWS's published example.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use sluice_api::sigv4::{
    CredentialStore, Credentials, SignatureError, SigningScope, VerifiedCaller, verify,
};
use sluice_core::problem::Coded;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

const HOST: &str = "127.0.0.1:4570";
const REGION: &str = "us-east-1";
const SERVICE: &str = "codepipeline";

/// 2026-01-01 at the given time, UTC.
fn jan_1_2026(hour: u8, minute: u8, second: u8) -> OffsetDateTime {
    let date = Date::from_calendar_date(2026, Month::January, 1).unwrap();
    PrimitiveDateTime::new(date, Time::from_hms(hour, minute, second).unwrap()).assume_utc()
}

fn signed_at() -> OffsetDateTime {
    jan_1_2026(0, 0, 0)
}

/// `aws codepipeline list-pipelines` against the local server, before signing.
fn list_pipelines() -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(format!("http://{HOST}/"))
        .header("host", HOST)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "CodePipeline_20150709.ListPipelines")
        .body(b"{}".to_vec())
        .unwrap()
}

fn get(path_and_query: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("GET")
        .uri(format!("http://{HOST}{path_and_query}"))
        .header("host", HOST)
        .body(Vec::new())
        .unwrap()
}

fn test_credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new("test", "test", None, None, "tests")
}

/// Signs `request` in place with aws-sigv4, as the SDK does, for `codepipeline` in `us-east-1`.
fn sign_with(
    request: &mut http::Request<Vec<u8>>,
    credentials: aws_credential_types::Credentials,
    at: OffsetDateTime,
    settings: SigningSettings,
) {
    sign_for(request, credentials, at, settings, SERVER);
}

/// Signs `request` in place with aws-sigv4 for the given Region and service.
fn sign_for(
    request: &mut http::Request<Vec<u8>>,
    credentials: aws_credential_types::Credentials,
    at: OffsetDateTime,
    settings: SigningSettings,
    scope: SigningScope<'_>,
) {
    let identity: Identity = credentials.into();
    let time =
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(at.unix_timestamp()).unwrap());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(request);
}

fn signed(mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    sign_with(
        &mut request,
        test_credentials(),
        signed_at(),
        SigningSettings::default(),
    );
    request
}

/// The scope the server answers as: CodePipeline in us-east-1.
const SERVER: SigningScope<'static> = SigningScope {
    region: REGION,
    service: SERVICE,
};

fn verify_at(
    request: &http::Request<Vec<u8>>,
    now: OffsetDateTime,
    store: &dyn CredentialStore,
) -> Result<VerifiedCaller, SignatureError> {
    verify_for(request, now, store, SERVER)
}

fn verify_for(
    request: &http::Request<Vec<u8>>,
    now: OffsetDateTime,
    store: &dyn CredentialStore,
    server: SigningScope<'_>,
) -> Result<VerifiedCaller, SignatureError> {
    verify(
        request.method().as_str(),
        request.uri().path(),
        request.uri().query().unwrap_or(""),
        request.headers(),
        request.body(),
        now,
        store,
        server,
    )
}

/// Verifies one minute after signing, against the default `test`/`test` key.
fn check(request: &http::Request<Vec<u8>>) -> Result<VerifiedCaller, SignatureError> {
    verify_at(request, jan_1_2026(0, 1, 0), &Credentials::default())
}

fn with_authorization(
    mut request: http::Request<Vec<u8>>,
    authorization: &str,
) -> http::Request<Vec<u8>> {
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(authorization).unwrap(),
    );
    request
}

fn incomplete_message(result: Result<VerifiedCaller, SignatureError>) -> String {
    match result {
        Err(SignatureError::IncompleteSignature(message)) => message,
        other => panic!("expected IncompleteSignature, got {other:?}"),
    }
}

fn expired_message(result: Result<VerifiedCaller, SignatureError>) -> String {
    match result {
        Err(SignatureError::Expired(message)) => message,
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[test]
fn a_list_pipelines_call_signed_like_the_aws_cli_is_accepted_and_names_the_caller_and_scope() {
    let caller = check(&signed(list_pipelines())).unwrap();
    assert_eq!(
        caller,
        VerifiedCaller {
            access_key_id: "test".into(),
            region: REGION.into(),
            service: SERVICE.into()
        }
    );
}

#[test]
fn a_body_changed_after_signing_is_an_invalid_signature() {
    let mut request = signed(list_pipelines());
    *request.body_mut() = br#"{"maxResults":1}"#.to_vec();
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn a_body_changed_under_a_signed_x_amz_content_sha256_is_an_invalid_signature() {
    let mut request = list_pipelines();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    sign_with(&mut request, test_credentials(), signed_at(), settings);
    assert!(request.headers().contains_key("x-amz-content-sha256"));
    assert!(check(&request).is_ok(), "the untouched request verifies");

    *request.body_mut() = br#"{"maxResults":1}"#.to_vec();
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn a_request_signed_with_the_wrong_secret_is_an_invalid_signature() {
    let mut request = list_pipelines();
    let wrong =
        aws_credential_types::Credentials::new("test", "not-the-secret", None, None, "tests");
    sign_with(&mut request, wrong, signed_at(), SigningSettings::default());
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn an_unknown_access_key_is_an_unrecognized_client() {
    let mut request = list_pipelines();
    let stranger =
        aws_credential_types::Credentials::new("AKIDSTRANGER", "test", None, None, "tests");
    sign_with(
        &mut request,
        stranger,
        signed_at(),
        SigningSettings::default(),
    );
    assert_eq!(check(&request), Err(SignatureError::UnrecognizedClient));
}

fn signed_for(region: &str, service: &str, key: &str) -> http::Request<Vec<u8>> {
    let mut request = list_pipelines();
    let credentials = aws_credential_types::Credentials::new(key, "test", None, None, "tests");
    let scope = SigningScope { region, service };
    sign_for(
        &mut request,
        credentials,
        signed_at(),
        SigningSettings::default(),
        scope,
    );
    request
}

#[test]
fn a_request_signed_for_another_region_is_an_invalid_signature_naming_that_region() {
    let request = signed_for("eu-west-1", SERVICE, "test");
    let refused = check(&request).unwrap_err();
    assert_eq!(refused, SignatureError::WrongRegion("eu-west-1".into()));
    assert_eq!(refused.exception().name(), "InvalidSignatureException");
    assert_eq!(
        refused.to_string(),
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
    );

    // The same request is good for a server in eu-west-1: only the scope was wrong.
    let ireland = SigningScope {
        region: "eu-west-1",
        service: SERVICE,
    };
    let caller = verify_for(
        &request,
        jan_1_2026(0, 1, 0),
        &Credentials::default(),
        ireland,
    )
    .unwrap();
    assert_eq!(caller.region, "eu-west-1");
}

#[test]
fn a_request_signed_for_another_service_is_an_invalid_signature_naming_the_servers() {
    let refused = check(&signed_for(REGION, "execute-api", "test")).unwrap_err();
    assert_eq!(refused, SignatureError::WrongService(SERVICE.into()));
    assert_eq!(refused.exception().name(), "InvalidSignatureException");
    assert_eq!(
        refused.to_string(),
        "Credential should be scoped to correct service: 'codepipeline'. "
    );
}

#[test]
fn the_scope_is_checked_region_first_and_before_the_access_key_is_looked_up() {
    assert_eq!(
        check(&signed_for("eu-west-1", "execute-api", "AKIDSTRANGER")),
        Err(SignatureError::WrongRegion("eu-west-1".into()))
    );
    assert_eq!(
        check(&signed_for(REGION, "execute-api", "AKIDSTRANGER")),
        Err(SignatureError::WrongService(SERVICE.into()))
    );
    // Region and service are compared exactly, as they go into the signing key.
    assert_eq!(
        check(&signed_for("US-EAST-1", SERVICE, "test")),
        Err(SignatureError::WrongRegion("US-EAST-1".into()))
    );
}

#[test]
fn a_configured_key_other_than_the_default_is_accepted() {
    let mut request = list_pipelines();
    let ci = aws_credential_types::Credentials::new("AKIDCI", "ci-secret", None, None, "tests");
    sign_with(&mut request, ci, signed_at(), SigningSettings::default());
    let store = vec![
        Credentials::default(),
        Credentials::new("AKIDCI", "ci-secret"),
    ];
    assert_eq!(
        verify_at(&request, signed_at(), &store)
            .unwrap()
            .access_key_id,
        "AKIDCI"
    );
    assert_eq!(
        check(&request),
        Err(SignatureError::UnrecognizedClient),
        "unknown to test/test alone"
    );
}

#[test]
fn a_signed_header_changed_after_signing_is_an_invalid_signature() {
    let mut request = signed(list_pipelines());
    request.headers_mut().insert(
        "x-amz-target",
        HeaderValue::from_static("CodePipeline_20150709.DeletePipeline"),
    );
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn an_unsigned_header_added_after_signing_is_ignored() {
    let mut request = signed(list_pipelines());
    request
        .headers_mut()
        .insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
    request
        .headers_mut()
        .insert("user-agent", HeaderValue::from_static("aws-cli/2.27.0"));
    assert!(check(&request).is_ok());
}

#[test]
fn a_signed_header_missing_from_the_request_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    request.headers_mut().remove("x-amz-target");
    assert_eq!(
        incomplete_message(check(&request)),
        "'x-amz-target' is named as a SignedHeader, but it does not exist in the HTTP request."
    );
}

#[test]
fn header_values_are_compared_trimmed_with_runs_of_spaces_collapsed() {
    let mut request = list_pipelines();
    request.headers_mut().insert(
        "x-sluice-note",
        HeaderValue::from_static("two  spaces   here"),
    );
    sign_with(
        &mut request,
        test_credentials(),
        signed_at(),
        SigningSettings::default(),
    );
    request
        .headers_mut()
        .insert("x-sluice-note", HeaderValue::from_static("two spaces here"));
    assert!(check(&request).is_ok());
}

#[test]
fn a_request_without_authorization_is_missing_authentication() {
    let error = check(&list_pipelines()).unwrap_err();
    assert_eq!(error, SignatureError::MissingAuthentication);
    assert_eq!(
        error.exception().name(),
        "MissingAuthenticationTokenException"
    );
    assert_eq!(error.to_string(), "Request is missing Authentication Token");
    assert_eq!(error.status(), 400);
}

#[test]
fn an_empty_authorization_header_is_missing_authentication() {
    let request = with_authorization(list_pipelines(), "");
    assert_eq!(check(&request), Err(SignatureError::MissingAuthentication));
}

#[test]
fn an_authorization_without_credential_is_an_incomplete_signature_naming_it() {
    let authorization = "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abcd";
    let mut request = with_authorization(list_pipelines(), authorization);
    request
        .headers_mut()
        .insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
    assert_eq!(
        incomplete_message(check(&request)),
        format!(
            "Authorization header requires 'Credential' parameter. Authorization={authorization}"
        )
    );
}

#[test]
fn an_authorization_without_signed_headers_or_signature_is_an_incomplete_signature_naming_both() {
    let authorization =
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/codepipeline/aws4_request";
    let mut request = with_authorization(list_pipelines(), authorization);
    request
        .headers_mut()
        .insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
    assert_eq!(
        incomplete_message(check(&request)),
        format!(
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter. Authorization={authorization}"
        )
    );
}

#[test]
fn an_authorization_without_any_date_header_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    request.headers_mut().remove("x-amz-date");
    let message = incomplete_message(check(&request));
    assert!(
        message.starts_with(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="
        ),
        "{message}"
    );
}

#[test]
fn a_token_that_is_not_key_equals_value_is_an_incomplete_signature() {
    let authorization = "AWS4-HMAC-SHA256 Credential= test/20260101/us-east-1/codepipeline/aws4_request, \
                         SignedHeaders=host, Signature=abcd";
    let request = with_authorization(list_pipelines(), authorization);
    assert_eq!(
        incomplete_message(check(&request)),
        format!(
            "'test/20260101/us-east-1/codepipeline/aws4_request' not a valid key=value pair (missing equal-sign) \
             in Authorization header: '{authorization}'."
        )
    );
}

#[test]
fn a_non_sigv4_authorization_scheme_is_an_incomplete_signature() {
    let request = with_authorization(list_pipelines(), "Bearer eyJhbGciOiJIUzI1NiJ9");
    assert!(matches!(
        check(&request),
        Err(SignatureError::IncompleteSignature(_))
    ));
}

#[test]
fn an_algorithm_other_than_aws4_hmac_sha256_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    let authorization = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let other = authorization.replacen("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1);
    request = with_authorization(request, &other);
    assert_eq!(
        incomplete_message(check(&request)),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now)."
    );
}

#[test]
fn host_must_be_a_signed_header() {
    let mut request = list_pipelines();
    let mut settings = SigningSettings::default();
    settings
        .excluded_headers
        .get_or_insert_with(Vec::new)
        .push("host".into());
    sign_with(&mut request, test_credentials(), signed_at(), settings);
    assert_eq!(
        incomplete_message(check(&request)),
        "'Host' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn a_credential_without_five_elements_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    let authorization = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let short = authorization.replacen("/codepipeline/aws4_request", "/aws4_request", 1);
    request = with_authorization(request, &short);
    assert_eq!(
        incomplete_message(check(&request)),
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got \
         'test/20260101/us-east-1/aws4_request'"
    );
}

#[test]
fn a_credential_scope_dated_other_than_the_request_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    let authorization = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let other_day = authorization.replacen("/20260101/", "/20251231/", 1);
    request = with_authorization(request, &other_day);
    assert_eq!(
        incomplete_message(check(&request)),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20251231' != \
         '20260101', from '20260101T000000Z'."
    );
}

#[test]
fn a_credential_scope_with_another_terminator_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    let authorization = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let other = authorization.replacen("/aws4_request", "/aws5_request", 1);
    request = with_authorization(request, &other);
    assert_eq!(
        incomplete_message(check(&request)),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."
    );
}

#[test]
fn an_x_amz_date_not_in_iso_8601_basic_format_is_an_incomplete_signature() {
    let mut request = signed(list_pipelines());
    request.headers_mut().insert(
        "x-amz-date",
        HeaderValue::from_static("2026-01-01T00:00:00Z"),
    );
    assert_eq!(
        incomplete_message(check(&request)),
        "Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"
    );
}

#[test]
fn a_request_signed_16_minutes_ago_has_expired_in_aws_wording() {
    let request = signed(list_pipelines());
    let error = verify_at(&request, jan_1_2026(0, 16, 0), &Credentials::default()).unwrap_err();
    assert_eq!(error.exception().name(), "InvalidSignatureException");
    assert_eq!(error.status(), 400);
    assert_eq!(
        expired_message(Err(error)),
        "Signature expired: 20260101T000000Z is now earlier than 20260101T000100Z (20260101T001600Z - 15 min.)"
    );
}

#[test]
fn a_request_signed_exactly_15_minutes_ago_is_still_accepted() {
    let request = signed(list_pipelines());
    assert!(verify_at(&request, jan_1_2026(0, 15, 0), &Credentials::default()).is_ok());
}

#[test]
fn a_request_signed_16_minutes_in_the_future_is_not_yet_current_in_aws_wording() {
    let mut request = list_pipelines();
    sign_with(
        &mut request,
        test_credentials(),
        jan_1_2026(0, 16, 0),
        SigningSettings::default(),
    );
    assert_eq!(
        expired_message(verify_at(&request, signed_at(), &Credentials::default())),
        "Signature not yet current: 20260101T001600Z is still later than 20260101T001500Z (20260101T000000Z + 15 \
         min.)"
    );
}

#[test]
fn a_get_with_unsorted_and_repeated_query_parameters_verifies() {
    let request = signed(get("/?b=2&a=1&a=0"));
    assert!(check(&request).is_ok());
}

#[test]
fn a_changed_query_parameter_is_an_invalid_signature() {
    let mut request = signed(get("/?b=2&a=1&a=0"));
    *request.uri_mut() = "/?b=2&a=1&a=9".parse().unwrap();
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn query_parameters_with_encoded_reserved_characters_and_empty_values_verify() {
    let request = signed(get(
        "/?name=my%20pipeline&path=%2Fa%2Fb&star=%2A&tilde=~&empty=",
    ));
    assert!(check(&request).is_ok());
}

#[test]
fn a_path_with_percent_encoded_and_reserved_characters_verifies() {
    let request = signed(get("/pipelines/my%20pipeline/stages/Build:1/"));
    assert!(check(&request).is_ok());
}

#[test]
fn a_path_with_dot_and_empty_segments_verifies_as_normalised() {
    let request = signed(get("/a/./b//c/../d"));
    assert!(check(&request).is_ok());
}

#[test]
fn a_request_signed_with_a_session_token_verifies() {
    let mut request = list_pipelines();
    let temporary = aws_credential_types::Credentials::new(
        "test",
        "test",
        Some("FwoGZXIvYXdzEBYaDH".into()),
        None,
        "tests",
    );
    sign_with(
        &mut request,
        temporary,
        signed_at(),
        SigningSettings::default(),
    );
    let authorization = request.headers()["authorization"].to_str().unwrap();
    assert!(
        authorization.contains("x-amz-security-token"),
        "{authorization}"
    );
    assert!(check(&request).is_ok());
}

#[test]
fn a_changed_signed_session_token_is_an_invalid_signature() {
    let mut request = list_pipelines();
    let temporary = aws_credential_types::Credentials::new(
        "test",
        "test",
        Some("token-a".into()),
        None,
        "tests",
    );
    sign_with(
        &mut request,
        temporary,
        signed_at(),
        SigningSettings::default(),
    );
    request
        .headers_mut()
        .insert("x-amz-security-token", HeaderValue::from_static("token-b"));
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn a_presigned_url_verifies_until_its_expiry() {
    let mut request = get("/?Action=ListPipelines");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(3600));
    sign_with(&mut request, test_credentials(), signed_at(), settings);
    assert!(!request.headers().contains_key("authorization"));
    assert!(request.uri().query().unwrap().contains("X-Amz-Signature="));

    assert!(verify_at(&request, jan_1_2026(0, 59, 0), &Credentials::default()).is_ok());
    assert_eq!(
        expired_message(verify_at(
            &request,
            jan_1_2026(1, 0, 1),
            &Credentials::default()
        )),
        "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T010001Z - 3600 sec., \
         the X-Amz-Expires of this presigned request)"
    );
}

#[test]
fn a_presigned_url_with_a_changed_parameter_is_an_invalid_signature() {
    let mut request = get("/?Action=ListPipelines");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(300));
    sign_with(&mut request, test_credentials(), signed_at(), settings);
    let query = request
        .uri()
        .query()
        .unwrap()
        .replace("ListPipelines", "DeletePipeline");
    *request.uri_mut() = format!("/?{query}").parse().unwrap();
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
}

#[test]
fn a_presigned_url_missing_a_parameter_is_an_incomplete_signature() {
    let request = get("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abcd");
    assert_eq!(
        incomplete_message(check(&request)),
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', \
         'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters."
    );
}

/// The example in AWS's SigV4 documentation ("Create a signed AWS API request"): IAM ListUsers, signed at
/// 2015-08-30T12:36:00Z with the documented example key.
#[test]
fn aws_documented_example_request_verifies_at_its_signing_time() {
    let request = http::Request::builder()
        .method("GET")
        .uri("/?Action=ListUsers&Version=2010-05-08")
        .header("host", "iam.amazonaws.com")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header("x-amz-date", "20150830T123600Z")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
        .body(Vec::new())
        .unwrap();
    let example = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let at = PrimitiveDateTime::new(
        Date::from_calendar_date(2015, Month::August, 30).unwrap(),
        Time::from_hms(12, 36, 0).unwrap(),
    )
    .assume_utc();
    let iam = SigningScope {
        region: "us-east-1",
        service: "iam",
    };
    let caller = verify_for(&request, at, &example, iam).unwrap();
    assert_eq!(
        (caller.region.as_str(), caller.service.as_str()),
        ("us-east-1", "iam")
    );
}

/// The `get-vanilla` case of AWS's original SigV4 test suite, which dates the request with an HTTP `Date`
/// header rather than `X-Amz-Date`.
#[test]
fn aws_test_suite_request_dated_by_the_date_header_verifies() {
    let request = http::Request::builder()
        .method("GET")
        .uri("/")
        .header("host", "host.foo.com")
        .header("date", "Mon, 09 Sep 2011 23:36:00 GMT")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, \
             SignedHeaders=date;host, \
             Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470",
        )
        .body(Vec::new())
        .unwrap();
    let example = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let at = PrimitiveDateTime::new(
        Date::from_calendar_date(2011, Month::September, 9).unwrap(),
        Time::from_hms(23, 40, 0).unwrap(),
    )
    .assume_utc();
    let host = SigningScope {
        region: "us-east-1",
        service: "host",
    };
    assert!(verify_for(&request, at, &example, host).is_ok());
}

/// A ListPipelines call as aws-sigv4 signs it at 2026-01-01T00:00:00Z, written out literally so the vector does
/// not depend on the signer at test time.
#[test]
fn fixed_list_pipelines_vector_from_aws_sigv4_verifies() {
    let request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", HOST)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "CodePipeline_20150709.ListPipelines")
        .header("x-amz-date", "20260101T000000Z")
        .header("authorization", FIXED_AUTHORIZATION)
        .body(b"{}".to_vec())
        .unwrap();
    assert!(check(&request).is_ok());

    let live = signed(list_pipelines());
    assert_eq!(
        live.headers()["authorization"],
        FIXED_AUTHORIZATION,
        "aws-sigv4 still signs it so"
    );
}

const FIXED_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/codepipeline/aws4_request, \
                                   SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
                                   Signature=90a05a03ebd8f4ef85c2bcc8664fe3af093ef218020538f9638529ad1042e5a2";

#[test]
fn every_error_has_its_aws_type_and_status_400() {
    let cases = [
        (
            SignatureError::MissingAuthentication,
            "MissingAuthenticationTokenException",
        ),
        (
            SignatureError::IncompleteSignature("x".into()),
            "IncompleteSignatureException",
        ),
        (
            SignatureError::UnrecognizedClient,
            "UnrecognizedClientException",
        ),
        (
            SignatureError::InvalidSignature,
            "InvalidSignatureException",
        ),
        (
            SignatureError::Expired("x".into()),
            "InvalidSignatureException",
        ),
        (
            SignatureError::WrongRegion("eu-west-1".into()),
            "InvalidSignatureException",
        ),
        (
            SignatureError::WrongService("codepipeline".into()),
            "InvalidSignatureException",
        ),
    ];
    for (error, error_type) in cases {
        assert_eq!(error.exception().name(), error_type, "{error:?}");
        assert_eq!(error.status(), 400, "{error:?}");
    }
    assert_eq!(
        SignatureError::UnrecognizedClient.to_string(),
        "The security token included in the request is invalid."
    );
    assert_eq!(
        SignatureError::InvalidSignature.to_string(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
    );
}

#[test]
fn credentials_debug_output_hides_the_secret() {
    let shown = format!("{:?}", Credentials::new("AKIDEXAMPLE", "very-secret"));
    assert!(
        shown.contains("AKIDEXAMPLE") && !shown.contains("very-secret"),
        "{shown}"
    );
}

#[test]
fn extreme_clocks_and_dates_are_refused_without_panicking() {
    let request = signed(list_pipelines());
    for now in [
        PrimitiveDateTime::MIN.assume_utc(),
        PrimitiveDateTime::MAX.assume_utc(),
    ] {
        assert!(matches!(
            verify_at(&request, now, &Credentials::default()),
            Err(SignatureError::Expired(_))
        ));
    }
    let mut far = signed(list_pipelines());
    far.headers_mut()
        .insert("x-amz-date", HeaderValue::from_static("99991231T235959Z"));
    assert!(check(&far).is_err());
}

#[test]
fn header_values_that_are_not_utf8_are_refused_without_panicking() {
    let mut request = signed(list_pipelines());
    request.headers_mut().insert(
        "x-amz-target",
        HeaderValue::from_bytes(b"List\xffPipelines").unwrap(),
    );
    assert_eq!(check(&request), Err(SignatureError::InvalidSignature));
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 \xff\xfe").unwrap(),
    );
    assert!(matches!(
        check(&request),
        Err(SignatureError::IncompleteSignature(_))
    ));
}

proptest! {
    #[test]
    fn no_request_makes_verification_panic(
        authorization in "(AWS4-HMAC-SHA256 )?[A-Za-z0-9=,;/ _.%-]{0,120}",
        date in "[0-9TZ]{0,18}",
        path in "[/a-z%.0-9]{0,30}",
        query in "[a-zA-Z0-9=&%+-]{0,40}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
        now in any::<i32>(),
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        if let Ok(value) = HeaderValue::from_str(&authorization) {
            headers.insert("authorization", value);
        }
        if let Ok(value) = HeaderValue::from_str(&date) {
            headers.insert("x-amz-date", value);
        }
        let now = OffsetDateTime::from_unix_timestamp(i64::from(now)).unwrap();
        let _ = verify("POST", &path, &query, &headers, &body, now, &Credentials::default(), SERVER);
    }
}
