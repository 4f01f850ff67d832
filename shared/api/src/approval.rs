//! The approval page over HTTP: `GET /view/<pipeline>/<stage>/<action>/approve/<link token>` shows the
//! approval, and a POST of its form (`application/x-www-form-urlencoded`) to the same URL decides it.
//! `sluice serve` mounts it beside the API. What a link, a form and a decision mean is decided in
//! `sluice_core::approval::page`; here are the HTML, the headers and the status codes
//! (docs/decisions.md, "The approval page"):
//!
//! | answer | when |
//! |---|---|
//! | 200 | the page: waiting (with its form), or decided (by whom, when); a POST whose decision was recorded |
//! | 400 | not an approval link; a form field that breaks its rule, or one the form does not have |
//! | 403 | a link whose signature does not match (forged, altered, another approval's); a POST without the page's form token or with a wrong one, or sent from another site |
//! | 404 | the pipeline, execution or approval action the link names is gone |
//! | 409 | a POST for an approval already decided: the page shows the decision that stands |
//! | 410 | the link expired, the approval timed out, or the attempt no longer waits |
//! | 413, 415 | a form over 16 KiB; a POST that is not a form |
//!
//! Every answer carries the same headers: a Content-Security-Policy that allows nothing but the page's
//! own style (by its hash) and posting its form to itself, no framing, no referrer (the link token is in
//! the URL), no caching. Everything from the records is escaped. A GET never changes anything, and the
//! link and form tokens are never logged.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sluice_core::approval::link::{ApprovalKey, LinkError, PublicUrl};
use sluice_core::approval::page::{
    self, ApprovalPage, MAX_NAME_CHARS, MAX_SUMMARY_CHARS, PageError, PageForm, PageRequest,
    PageState, Submitted,
};
use sluice_core::approval::{ApprovalError, ApprovalStatus, RecordedDecision};
use sluice_core::port::Ports;
use sluice_core::problem::{Coded, Exception};
use sluice_core::time::{Timestamp, iso_seconds};

use crate::body;
use crate::webhook::{SOURCE_IP_HEADER, source_of};

/// The largest form the page takes: its fields at their longest, percent-encoded, fit well within.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The approval pages' parts.
pub struct ApprovalPages<P> {
    pub ports: P,
    /// The key links and forms are signed with.
    pub key: ApprovalKey,
    /// Where the server is reached from outside: a form posted from elsewhere is refused.
    pub public_url: PublicUrl,
    /// Where the one line per decision or refusal goes (never a link or form token).
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// The page's route. Serve it with connect info (`into_make_service_with_connect_info`) so a decision
/// records the reviewer's address.
pub fn router<P: Ports + 'static>(pages: Arc<ApprovalPages<P>>) -> Router {
    Router::new()
        .route(
            "/view/{pipeline}/{stage}/{action}/approve/{link}",
            get(show::<P>).post(decide::<P>),
        )
        .with_state(pages)
}

type PagePath = Result<Path<(String, String, String, String)>, PathRejection>;

async fn show<P: Ports + 'static>(
    State(pages): State<Arc<ApprovalPages<P>>>,
    path: PagePath,
) -> Response {
    let Ok(Path((pipeline, stage, action, link))) = path else {
        return refused(&pages, StatusCode::BAD_REQUEST, NOT_A_LINK);
    };
    let request = PageRequest {
        pipeline: &pipeline,
        stage: &stage,
        action: &action,
        link: &link,
    };
    match page::view(&pages.ports, &pages.key, &request).await {
        Ok(page) => {
            let status = match page.state {
                PageState::Waiting { .. } | PageState::Decided(_) => StatusCode::OK,
                PageState::Expired | PageState::Closed { .. } | PageState::Abandoned { .. } => {
                    StatusCode::GONE
                }
            };
            html(status, &render(&page, None))
        }
        Err(error) => failed(&pages, &error),
    }
}

async fn decide<P: Ports + 'static>(
    State(pages): State<Arc<ApprovalPages<P>>>,
    path: PagePath,
    request: axum::extract::Request,
) -> Response {
    let Ok(Path((pipeline, stage, action, link))) = path else {
        return refused(&pages, StatusCode::BAD_REQUEST, NOT_A_LINK);
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, request_body) = request.into_parts();
    let headers = parts.headers;
    if let Some(why) = cross_site(&headers, &pages.public_url) {
        return refused(&pages, StatusCode::FORBIDDEN, &why);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return refused(
            &pages,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "A decision is the approval page's form (Content-Type application/x-www-form-urlencoded)",
        );
    }
    let body =
        match body::read_at_most(&headers, request_body, MAX_FORM_BYTES, "approval page").await {
            Ok(body) => body,
            Err(error) => {
                let status =
                    StatusCode::from_u16(error.status).unwrap_or(StatusCode::PAYLOAD_TOO_LARGE);
                return refused(&pages, status, &error.message);
            }
        };
    let fields = match form_fields(&body) {
        Ok(fields) => fields,
        Err(why) => return refused(&pages, StatusCode::BAD_REQUEST, &why),
    };
    let form = PageForm {
        decision: fields.get("decision"),
        summary: fields.get("summary"),
        name: fields.get("name"),
        nonce: fields.get("nonce"),
        form_token: fields.get("form_token"),
    };
    let source = source_of(
        headers.get(SOURCE_IP_HEADER).and_then(|v| v.to_str().ok()),
        peer,
    );
    let request = PageRequest {
        pipeline: &pipeline,
        stage: &stage,
        action: &action,
        link: &link,
    };
    match page::submit(&pages.ports, &pages.key, &request, &form, source).await {
        Ok((page, submitted)) => {
            let (status, notice) = match submitted {
                Submitted::Recorded => {
                    if let PageState::Decided(decision) = &page.state {
                        (pages.log)(&format!(
                            "approval page: {pipeline}/{stage}/{action} of execution {}: {}",
                            page.execution_id,
                            decided_line(decision)
                        ));
                    }
                    (StatusCode::OK, None)
                }
                Submitted::AlreadyDecided => (
                    StatusCode::CONFLICT,
                    Some(
                        "This approval was already decided: your decision was not recorded, and the one below stands.",
                    ),
                ),
                Submitted::Closed => (
                    StatusCode::GONE,
                    Some("This approval no longer waits for a decision: yours was not recorded."),
                ),
            };
            html(status, &render(&page, notice))
        }
        Err(error) => failed(&pages, &error),
    }
}

const NOT_A_LINK: &str =
    "This is not an approval link Sluice makes: check that the whole link was copied";

/// Why a POST comes from another site, by the headers browsers set and a page cannot forge:
/// `Sec-Fetch-Site` (anything but the page's own origin), and an `Origin` that is not the server's.
/// (`Origin: null` is what browsers send for a page that sends no referrer, as this one.)
fn cross_site(headers: &HeaderMap, public_url: &PublicUrl) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Some(format!(
            "This form was sent from another site (Sec-Fetch-Site: {}): decide on the approval page itself",
            site.chars().take(40).collect::<String>()
        ));
    }
    if let Some(origin) = text("origin")
        && origin != "null"
        && !origin.eq_ignore_ascii_case(public_url.origin())
    {
        return Some(format!(
            "This form was sent from {}, not from this server's pages ({}): open the approval link as it was sent",
            origin.chars().take(100).collect::<String>(),
            public_url.origin()
        ));
    }
    None
}

/// The fields of a posted form, each at most once, and only the page's own.
#[derive(Debug)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

const FIELDS: [&str; 5] = ["decision", "summary", "name", "nonce", "form_token"];

/// Reads an `application/x-www-form-urlencoded` body (WHATWG URL, "application/x-www-form-urlencoded
/// parsing"): `name=value` pairs joined by `&`, `+` for a space, `%XX` for a byte; the text must be
/// UTF-8.
pub fn form_fields(body: &[u8]) -> Result<FormFields, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = decode(name).ok_or_else(|| {
            "The form has a field name that is not percent-encoded UTF-8".to_string()
        })?;
        if !FIELDS.contains(&name.as_str()) {
            return Err(format!(
                "The form has a field {:?} the approval page does not have (it has {})",
                name.chars().take(40).collect::<String>(),
                FIELDS.join(", ")
            ));
        }
        let value = decode(value)
            .ok_or_else(|| format!("The form's field {name} is not percent-encoded UTF-8"))?;
        if fields.iter().any(|(n, _)| *n == name) {
            return Err(format!("The form has the field {name} more than once"));
        }
        fields.push((name, value));
    }
    Ok(FormFields(fields))
}

fn decode(encoded: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut at = 0;
    while at < encoded.len() {
        match encoded[at] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = encoded.get(at + 1..at + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                bytes.push(u8::from_str_radix(text, 16).ok()?);
                at += 2;
            }
            other => bytes.push(other),
        }
        at += 1;
    }
    String::from_utf8(bytes).ok()
}

/// An error's page, and its line in the log.
fn failed<P>(pages: &ApprovalPages<P>, error: &PageError) -> Response {
    let status = match error {
        PageError::Link(LinkError::Malformed(_)) | PageError::Field(_) => StatusCode::BAD_REQUEST,
        PageError::Link(LinkError::Forged) | PageError::FormToken(_) => StatusCode::FORBIDDEN,
        PageError::NotFound(_) => StatusCode::NOT_FOUND,
        PageError::Approval(approval) => match approval.exception() {
            Exception::PipelineNotFoundException
            | Exception::StageNotFoundException
            | Exception::ActionNotFoundException => StatusCode::NOT_FOUND,
            Exception::ValidationException => StatusCode::BAD_REQUEST,
            Exception::InvalidApprovalTokenException => StatusCode::GONE,
            Exception::ApprovalAlreadyCompletedException => StatusCode::CONFLICT,
            _ if error.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    };
    let message = match error {
        // What failed inside is for the log; the reviewer is told what to do.
        PageError::Approval(
            ApprovalError::Store(_) | ApprovalError::Worker(_) | ApprovalError::Validation(_),
        ) if status.is_server_error() => {
            (pages.log)(&format!(
                "approval page failed ({}): {error}",
                status.as_u16()
            ));
            return html(
                status,
                &error_page(
                    status,
                    "Sluice could not read or record the approval just now: try again in a moment (a decision it did record, the page then shows).",
                ),
            );
        }
        other => other.to_string(),
    };
    refused(pages, status, &message)
}

fn refused<P>(pages: &ApprovalPages<P>, status: StatusCode, why: &str) -> Response {
    (pages.log)(&format!(
        "approval page refused ({}): {why}",
        status.as_u16()
    ));
    html(status, &error_page(status, why))
}

fn decided_line(decision: &RecordedDecision) -> String {
    let what = match decision.status {
        ApprovalStatus::Approved => "Approved",
        ApprovalStatus::Rejected => "Rejected",
    };
    match &decision.reviewer {
        Some(reviewer) => format!("{what} by {} at {}", reviewer.who(), when(decision.decided)),
        None => format!(
            "{what} through PutApprovalResult at {}",
            when(decision.decided)
        ),
    }
}

fn when(at: Timestamp) -> String {
    iso_seconds(at).replace('T', " ").replace('Z', " UTC")
}

/// The page's style: the only thing the Content-Security-Policy lets it have, by this text's hash.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d232b}\
main{max-width:44rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 3px #0002}\
h1{font-size:1.4rem;margin-top:0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}\
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}code{font-size:.9em}\
label{display:block;margin:.8rem 0 .2rem;font-weight:600}input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}\
textarea{min-height:5rem}.buttons{margin-top:1rem;display:flex;gap:1rem}\
button{font:inherit;padding:.5rem 1.5rem;border:0;border-radius:4px;color:#fff;cursor:pointer}\
.approve{background:#1a7f37}.reject{background:#cf222e}\
.state{padding:.8rem 1rem;border-radius:4px;background:#eef1f5}.notice{padding:.8rem 1rem;border-radius:4px;background:#fff4d6}";

static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

fn html(status: StatusCode, text: &str) -> Response {
    let mut response = (status, Body::from(text.to_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(&CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    response
}

/// `text` for HTML text and quoted attribute values.
pub use sluice_core::html::escape;

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex, nofollow\"><title>{}</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

fn error_page(status: StatusCode, why: &str) -> String {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    document(
        &format!("Approval: {title}"),
        &format!(
            "<h1>{}</h1><p>{}</p><p>Nothing was changed.</p>",
            escape(&title),
            escape(why)
        ),
    )
}

/// A link the page may offer: only http(s) URLs are links, anything else (`javascript:` …) is text.
fn link_or_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
            escape(text)
        )
    } else {
        escape(text)
    }
}

/// The approval page.
pub fn render(page: &ApprovalPage, notice: Option<&str>) -> String {
    let mut body = String::new();
    let heading = match &page.state {
        PageState::Waiting { .. } => "Approve or reject",
        PageState::Decided(decision) => match decision.status {
            ApprovalStatus::Approved => "Approved",
            ApprovalStatus::Rejected => "Rejected",
        },
        PageState::Expired => "This approval link has expired",
        PageState::Closed { .. } => "Closed without a decision",
        PageState::Abandoned { .. } => "This approval no longer waits",
    };
    body.push_str(&format!("<h1>{}</h1>", escape(heading)));
    if let Some(notice) = notice {
        body.push_str(&format!("<p class=\"notice\">{}</p>", escape(notice)));
    }
    body.push_str("<dl>");
    let mut row = |name: &str, value: String| {
        body.push_str(&format!("<dt>{}</dt><dd>{value}</dd>", escape(name)));
    };
    row("Pipeline", escape(&page.pipeline));
    row("Stage", escape(&page.stage));
    row("Action", escape(&page.action));
    row(
        "Execution",
        format!("<code>{}</code>", escape(&page.execution_id)),
    );
    for source in &page.sources {
        let mut shown = String::new();
        if let Some(revision) = &source.revision {
            shown.push_str(&format!("<code>{}</code>", escape(revision)));
        }
        if let Some(message) = &source.message {
            if !shown.is_empty() {
                shown.push('\n');
            }
            shown.push_str(&escape(message));
        }
        row(&format!("Source ({})", source.action), shown);
    }
    if let Some(data) = &page.custom_data {
        row("Custom data", escape(data));
    }
    if let Some(link) = &page.external_entity_link {
        row("Link", link_or_text(link));
    }
    row("Expires", escape(&when(page.expires)));
    body.push_str("</dl>");
    match &page.state {
        PageState::Waiting { form } => body.push_str(&format!(
            "<form method=\"post\">\
<input type=\"hidden\" name=\"nonce\" value=\"{}\"><input type=\"hidden\" name=\"form_token\" value=\"{}\">\
<label for=\"name\">Your name</label><input id=\"name\" name=\"name\" required maxlength=\"{MAX_NAME_CHARS}\" autocomplete=\"name\">\
<label for=\"summary\">Summary</label><textarea id=\"summary\" name=\"summary\" maxlength=\"{MAX_SUMMARY_CHARS}\"></textarea>\
<div class=\"buttons\"><button class=\"approve\" name=\"decision\" value=\"approve\">Approve</button>\
<button class=\"reject\" name=\"decision\" value=\"reject\">Reject</button></div></form>",
            escape(&form.nonce),
            escape(&form.token)
        )),
        PageState::Decided(decision) => {
            body.push_str(&format!(
                "<p class=\"state\">{}</p>",
                escape(&decided_line(decision))
            ));
            if !decision.summary.is_empty() {
                body.push_str(&format!(
                    "<dl><dt>Summary</dt><dd>{}</dd></dl>",
                    escape(&decision.summary)
                ));
            }
        }
        PageState::Expired => body.push_str(&format!(
            "<p class=\"state\">Nobody decided before {}: nothing can be decided with this link any more.</p>",
            escape(&when(page.expires))
        )),
        PageState::Closed { at, message } => body.push_str(&format!(
            "<p class=\"state\">No decision was made: at {} the approval failed: {}</p>",
            escape(&when(*at)),
            escape(message)
        )),
        PageState::Abandoned { at } => body.push_str(&format!(
            "<p class=\"state\">Since {} this attempt no longer waits: its execution was stopped or superseded, or the stage was retried (a new attempt has a link of its own).</p>",
            escape(&when(*at))
        )),
    }
    document(
        &format!(
            "Approval: {} / {} / {}",
            page.pipeline, page.stage, page.action
        ),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode_as_browsers_encode_them() {
        let fields =
            form_fields(b"decision=approve&name=Ada+Lovelace&summary=a%26b%3D%E2%9C%93%0D%0A&nonce=&form_token=x")
                .unwrap();
        assert_eq!(fields.get("decision"), Some("approve"));
        assert_eq!(fields.get("name"), Some("Ada Lovelace"));
        assert_eq!(fields.get("summary"), Some("a&b=✓\r\n"));
        assert_eq!(fields.get("nonce"), Some(""));
        assert!(form_fields(b"").unwrap().0.is_empty());
        for (bad, why) in [
            (&b"name=a&name=b"[..], "more than once"),
            (b"role=admin", "does not have"),
            (b"name=%E2%9C", "not percent-encoded UTF-8"),
            (b"name=%zz", "not percent-encoded UTF-8"),
            (b"name=%4", "not percent-encoded UTF-8"),
            (b"na%ZZme=x", "field name"),
            (b"name=\xff", "not percent-encoded UTF-8"),
        ] {
            let error = form_fields(bad).unwrap_err();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(link_or_text("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(
            link_or_text("https://e.com/?a=1&b=\"2\""),
            "<a href=\"https://e.com/?a=1&amp;b=&quot;2&quot;\" rel=\"noopener noreferrer\">https://e.com/?a=1&amp;b=&quot;2&quot;</a>"
        );
    }

    #[test]
    fn the_policy_allows_the_pages_own_style_by_its_hash_and_nothing_else() {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'; "));
        assert!(CONTENT_SECURITY_POLICY.contains(&format!("style-src 'sha256-{hash}'")));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        // The hash is of the text between <style> and </style>, exactly as the page has it.
        let page = document("t", "");
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn a_post_from_another_site_is_told_apart_from_the_pages_own() {
        let url = PublicUrl::parse("https://ci.example.com").unwrap();
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        for own in [
            headers(&[]),
            headers(&[("sec-fetch-site", "same-origin"), ("origin", "null")]),
            headers(&[("origin", "https://ci.example.com")]),
        ] {
            assert_eq!(cross_site(&own, &url), None, "{own:?}");
        }
        for other in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "http://ci.example.com")]),
        ] {
            assert!(cross_site(&other, &url).is_some(), "{other:?}");
        }
    }
}
