//! Mail through an SMTP server (lettre): an approval is multipart/alternative, a plain-text and an HTML
//! part ([`super::render::mail`]); any other message is its body as plain text.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{SmtpConfig, SmtpTls};
use super::render;

/// How long the server may take to answer each command.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// The user name and password to log in with.
pub(crate) struct Login {
    pub username: String,
    pub password: String,
}

/// One server and its recipients. No `Debug`: the transport holds the password.
pub(crate) struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// `host:port`, for messages.
    server: String,
}

impl SmtpMailer {
    /// The mailer `config` describes (checked by [`super::config::check`]).
    pub(crate) fn new(config: &SmtpConfig, login: Option<Login>) -> Result<Self, String> {
        let port = config.port();
        let server = format!("{}:{port}", config.host);
        let mailbox = |field: &str, text: &str| {
            text.parse::<Mailbox>()
                .map_err(|e| format!("{field} {text:?} is not a mail address: {e}"))
        };
        let from = mailbox("from", &config.from)?;
        let to = config
            .to
            .iter()
            .map(|to| mailbox("to", to))
            .collect::<Result<Vec<_>, _>>()?;
        let tls = || {
            TlsParameters::new(config.host.clone()).map_err(|e| format!("TLS for {server}: {e}"))
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            // Required: a server that does not offer STARTTLS gets nothing, not the mail in plain text.
            SmtpTls::Starttls => Tls::Required(tls()?),
            SmtpTls::Tls => Tls::Wrapper(tls()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(port)
            .tls(tls)
            .timeout(Some(ANSWER_WITHIN));
        if let Some(login) = login {
            builder = builder.credentials(Credentials::new(login.username, login.password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            server,
        })
    }

    /// Sends one mail to every recipient.
    pub(crate) async fn send(&self, subject: &str, body: &str) -> Result<(), String> {
        let mut mail = lettre::Message::builder().from(self.from.clone());
        for to in &self.to {
            mail = mail.to(to.clone());
        }
        if !subject.is_empty() {
            mail = mail.subject(subject);
        }
        let rendered = render::mail(subject, body);
        let mail = match rendered.html {
            Some(html) => mail.multipart(MultiPart::alternative_plain_html(rendered.text, html)),
            None => mail.header(ContentType::TEXT_PLAIN).body(rendered.text),
        }
        .map_err(|e| format!("cannot write the mail: {e}"))?;
        self.transport
            .send(mail)
            .await
            .map(|_| ())
            .map_err(|e| format!("{}: {}", self.server, super::with_causes(&e)))
    }
}
