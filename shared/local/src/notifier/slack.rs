//! Slack incoming webhooks: one POST of the message's JSON ([`super::render::slack`]) per message. Any
//! endpoint that takes Slack's JSON works (Mattermost, Rocket.Chat, a test server).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config::redacted_url;

/// How long a webhook may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);
/// How much of an error answer is shown.
const SHOWN_ANSWER_BYTES: usize = 200;

/// One webhook URL. The URL is the credential: it is never printed ([`redacted_url`]).
pub(crate) struct SlackWebhook {
    url: hyper::Uri,
    shown: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl SlackWebhook {
    /// A webhook at `url` (checked by [`super::config::check`]), over rustls with ring and the system's
    /// root certificates.
    pub(crate) fn new(url: &str) -> Result<Self, String> {
        let shown = redacted_url(url);
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("{shown} is not a URL: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
        {
            Ok(builder) => builder,
            // No root certificates on this machine: an https:// webhook fails when used, saying the
            // certificate is not trusted; an http:// one still works.
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS for {shown}: {e}"))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            ),
        };
        let connector = builder.https_or_http().enable_http1().build();
        Ok(Self {
            url: uri,
            shown,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// POSTs `payload`; a 2xx answer is success.
    pub(crate) async fn post(&self, payload: &serde_json::Value) -> Result<(), String> {
        let request = hyper::Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload.to_string())))
            .map_err(|e| format!("{}: {e}", self.shown))?;
        let answered = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{}: {}", self.shown, super::with_causes(&e)))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body = Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let text =
                String::from_utf8_lossy(&body[..body.len().min(SHOWN_ANSWER_BYTES)]).into_owned();
            Err(format!("{} answered {status}: {}", self.shown, text.trim()))
        };
        tokio::time::timeout(ANSWER_WITHIN, answered)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "{} did not answer within {} s",
                    self.shown,
                    ANSWER_WITHIN.as_secs()
                ))
            })
    }
}
