//! `sluice.json`'s `notifications`: where a topic's messages go on this machine besides the log. Secrets
//! (an SMTP password, a Slack webhook URL) are named by environment variable, never written in the file.

use std::net::IpAddr;

use serde::Deserialize;

use sluice_core::port::check_topic_arn;

/// One notifier, chosen by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NotifierConfig {
    /// `notifications.jsonl` in the data directory: always written, whether listed or not.
    Log {},
    /// A Slack incoming webhook, or any endpoint that takes its JSON.
    Slack(SlackConfig),
    /// Mail through an SMTP server.
    Smtp(SmtpConfig),
}

/// `{"type": "slack", "url" | "urlEnv", "topics"}`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SlackConfig {
    /// The webhook URL (http:// or https://).
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL: a Slack webhook URL is itself the credential.
    #[serde(default)]
    pub url_env: Option<String>,
    /// The topics it gets, by ARN or name, or `"*"` for all (the default).
    #[serde(default)]
    pub topics: Option<Vec<String>>,
}

/// The URL's path is Slack's secret: it is never printed.
impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("url", &self.url.as_deref().map(redacted_url))
            .field("url_env", &self.url_env)
            .field("topics", &self.topics)
            .finish()
    }
}

/// `{"type": "smtp", "host", "port", "from", "to", "topics", "usernameEnv", "passwordEnv", "tls"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SmtpConfig {
    pub host: String,
    /// The server's port; by default 25 without TLS, 587 with STARTTLS, 465 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// The sender, `name@example.com` or `Sluice <name@example.com>`.
    pub from: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
    /// The topics it gets, by ARN or name, or `"*"` for all (the default).
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// The environment variable holding the user name to log in with (with `passwordEnv`).
    #[serde(default)]
    pub username_env: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub tls: SmtpTls,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a server on this machine or a trusted network).
    None,
    /// Upgraded with STARTTLS, which the server must offer (submission, port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (implicit TLS, port 465).
    Tls,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

/// A rule of `notifications` broken: the field (`notifications[1].to[0]`) and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub rule: String,
}

/// The topics a notifier gets: `topics` as configured, or every topic.
pub(crate) fn topics(configured: &Option<Vec<String>>) -> Vec<String> {
    configured.clone().unwrap_or_else(|| vec!["*".to_string()])
}

/// Whether a `topics` entry selects `topic`: `"*"`, the same ARN or name, or the name of the ARN.
pub(crate) fn selects(entry: &str, topic: &str) -> bool {
    entry == "*"
        || entry == topic
        || topic
            .rsplit_once(':')
            .is_some_and(|(_, name)| name == entry)
}

/// Checks every notifier: the fields each type needs, their forms, and that the environment variables
/// they name are set (`is_set`), so a missing secret stops `sluice` at start rather than at the first
/// approval.
pub fn check(notifiers: &[NotifierConfig], is_set: impl Fn(&str) -> bool) -> Result<(), Invalid> {
    for (index, notifier) in notifiers.iter().enumerate() {
        let at = |field: &str| format!("notifications[{index}].{field}");
        let invalid = |field: &str, rule: String| Invalid {
            field: at(field),
            rule,
        };
        let variable = |field: &str, name: &str| -> Result<(), Invalid> {
            crate::environment::check_name(name).map_err(|rule| invalid(field, rule))?;
            if !is_set(name) {
                return Err(invalid(
                    field,
                    format!("the environment variable {name} is not set"),
                ));
            }
            Ok(())
        };
        match notifier {
            NotifierConfig::Log {} => {}
            NotifierConfig::Slack(slack) => {
                check_topics(&slack.topics).map_err(|(field, rule)| invalid(&field, rule))?;
                match (&slack.url, &slack.url_env) {
                    (Some(url), None) => {
                        check_webhook_url(url).map_err(|rule| invalid("url", rule))?
                    }
                    (None, Some(name)) => variable("urlEnv", name)?,
                    (Some(_), Some(_)) => {
                        return Err(invalid("url", "give url or urlEnv, not both".to_string()));
                    }
                    (None, None) => {
                        return Err(invalid(
                            "url",
                            "a slack notifier needs url (or urlEnv, the environment variable holding it)"
                                .to_string(),
                        ));
                    }
                }
            }
            NotifierConfig::Smtp(smtp) => {
                check_topics(&smtp.topics).map_err(|(field, rule)| invalid(&field, rule))?;
                check_host(&smtp.host).map_err(|rule| invalid("host", rule))?;
                if smtp.port == Some(0) {
                    return Err(invalid("port", "must be 1 to 65535".to_string()));
                }
                check_mailbox(&smtp.from).map_err(|rule| invalid("from", rule))?;
                if smtp.to.is_empty() {
                    return Err(invalid(
                        "to",
                        "must name at least one recipient".to_string(),
                    ));
                }
                for (i, to) in smtp.to.iter().enumerate() {
                    check_mailbox(to).map_err(|rule| invalid(&format!("to[{i}]"), rule))?;
                }
                match (&smtp.username_env, &smtp.password_env) {
                    (None, None) => {}
                    (Some(username), Some(password)) => {
                        variable("usernameEnv", username)?;
                        variable("passwordEnv", password)?;
                        if smtp.tls == SmtpTls::None && !is_loopback(&smtp.host) {
                            return Err(invalid(
                                "tls",
                                format!(
                                    "\"none\" would send the password in plain text to {}; use \"starttls\" or \"tls\" (plain text is allowed to this machine only)",
                                    smtp.host
                                ),
                            ));
                        }
                    }
                    (Some(_), None) => {
                        return Err(invalid(
                            "passwordEnv",
                            "usernameEnv needs passwordEnv too".to_string(),
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(invalid(
                            "usernameEnv",
                            "passwordEnv needs usernameEnv too".to_string(),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `topics`: absent (every topic), or at least one of `"*"`, an SNS topic ARN, or a topic name.
fn check_topics(topics: &Option<Vec<String>>) -> Result<(), (String, String)> {
    let Some(topics) = topics else {
        return Ok(());
    };
    if topics.is_empty() {
        return Err((
            "topics".to_string(),
            "must name at least one topic, or \"*\" for all (or be left out)".to_string(),
        ));
    }
    for (i, topic) in topics.iter().enumerate() {
        let field = format!("topics[{i}]");
        if topic == "*" {
            continue;
        }
        if topic.starts_with("arn:") {
            check_topic_arn("topic", topic).map_err(|e| (field.clone(), e.to_string()))?;
            continue;
        }
        let base = topic.strip_suffix(".fifo").unwrap_or(topic);
        if base.is_empty()
            || topic.len() > 256
            || !base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err((
                field,
                format!(
                    "{topic:?} is not \"*\", an SNS topic ARN or a topic name (1 to 256 letters, digits, hyphens and underscores)"
                ),
            ));
        }
    }
    Ok(())
}

/// An http:// or https:// URL with a host.
fn check_webhook_url(url: &str) -> Result<(), String> {
    let shown = redacted_url(url);
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{shown} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("https" | "http") => {}
        _ => return Err(format!("{shown} must start with https:// (or http://)")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("must not be empty".to_string());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!(
            "{host:?} is not a host name (letters, digits and hyphens in dot-separated labels) or an IP address"
        ));
    }
    Ok(())
}

fn check_mailbox(mailbox: &str) -> Result<(), String> {
    mailbox
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("{mailbox:?} is not a mail address ({e})"))
}

/// `localhost`, or a loopback address.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A webhook URL as it may be shown: its scheme and authority, the path (Slack's secret) left out.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // user:password@host: the credentials go too.
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if scheme.is_empty() {
        "(a URL)".to_string()
    } else {
        format!("{scheme}://{host}/…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Vec<NotifierConfig>, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn set(name: &str) -> bool {
        matches!(name, "SMTP_USER" | "SMTP_PASSWORD" | "SLACK_URL")
    }

    fn rule_of(json: &str) -> Invalid {
        let notifiers = parse(json).unwrap();
        check(&notifiers, set).unwrap_err()
    }

    #[test]
    fn each_type_reads_its_fields_with_their_defaults() {
        let notifiers = parse(
            r#"[
                {"type": "log"},
                {"type": "slack", "urlEnv": "SLACK_URL", "topics": ["approvals"]},
                {"type": "smtp", "host": "mail.example.com", "from": "Sluice <ci@example.com>",
                 "to": ["team@example.com"], "usernameEnv": "SMTP_USER", "passwordEnv": "SMTP_PASSWORD"}
            ]"#,
        )
        .unwrap();
        check(&notifiers, set).unwrap();
        let NotifierConfig::Smtp(smtp) = &notifiers[2] else {
            panic!("{notifiers:?}")
        };
        assert_eq!(smtp.tls, SmtpTls::Starttls, "STARTTLS unless told");
        assert_eq!(smtp.port(), 587);
        assert_eq!(topics(&smtp.topics), ["*"], "every topic unless told");
        let tls = SmtpConfig {
            tls: SmtpTls::Tls,
            ..smtp.clone()
        };
        assert_eq!(tls.port(), 465);
    }

    #[test]
    fn unknown_types_and_fields_are_refused_by_name() {
        let error = parse(r#"[{"type": "email"}]"#).unwrap_err().to_string();
        assert!(error.contains("unknown variant `email`"), "{error}");
        let error = parse(r#"[{"type": "smtp", "hots": "x", "from": "a@b.c", "to": []}]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `hots`"), "{error}");
        let error = parse(r#"[{"type": "log", "topics": ["*"]}]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `topics`"), "{error}");
        let error = parse(r#"[{"url": "https://hooks.slack.com/x"}]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `type`"), "{error}");
        let error = parse(
            r#"[{"type": "smtp", "host": "h", "from": "a@b.c", "to": ["d@e.f"], "tls": "ssl"}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown variant `ssl`"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_naming_the_field_and_the_rule() {
        // A log and an SMTP notifier, with `extra`'s members replacing or adding to the SMTP one's.
        let smtp = |extra: &str| {
            let mut smtp = serde_json::json!({
                "type": "smtp", "host": "mail.example.com", "from": "ci@example.com",
                "to": ["team@example.com"]
            });
            let extra: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&format!("{{{}}}", extra.trim_start_matches(','))).unwrap();
            smtp.as_object_mut().unwrap().extend(extra);
            serde_json::json!([{"type": "log"}, smtp]).to_string()
        };
        let cases = [
            (smtp(r#", "host": "no such host""#), "notifications[1].host"),
            (smtp(r#", "host": """#), "notifications[1].host"),
            (smtp(r#", "port": 0"#), "notifications[1].port"),
            (
                smtp(r#", "from": "not an address""#),
                "notifications[1].from",
            ),
            (smtp(r#", "to": []"#), "notifications[1].to"),
            (
                smtp(r#", "to": ["a@example.com", "b@"]"#),
                "notifications[1].to[1]",
            ),
            (smtp(r#", "topics": []"#), "notifications[1].topics"),
            (
                smtp(r#", "topics": ["*", "bad topic"]"#),
                "notifications[1].topics[1]",
            ),
            (
                smtp(r#", "topics": ["arn:aws:sqs:us-east-1:123456789012:q"]"#),
                "notifications[1].topics[0]",
            ),
            (
                smtp(r#", "usernameEnv": "SMTP_USER""#),
                "notifications[1].passwordEnv",
            ),
            (
                smtp(r#", "passwordEnv": "SMTP_PASSWORD""#),
                "notifications[1].usernameEnv",
            ),
            (
                smtp(r#", "usernameEnv": "SMTP_USER", "passwordEnv": "NOT_SET""#),
                "notifications[1].passwordEnv",
            ),
            (
                smtp(r#", "usernameEnv": "SMTP-USER", "passwordEnv": "SMTP_PASSWORD""#),
                "notifications[1].usernameEnv",
            ),
            (
                smtp(
                    r#", "usernameEnv": "SMTP_USER", "passwordEnv": "SMTP_PASSWORD", "tls": "none""#,
                ),
                "notifications[1].tls",
            ),
            (r#"[{"type": "slack"}]"#.to_string(), "notifications[0].url"),
            (
                r#"[{"type": "slack", "url": "ftp://hooks.example.com/x"}]"#.to_string(),
                "notifications[0].url",
            ),
            (
                r#"[{"type": "slack", "url": "https://h.example.com/x", "urlEnv": "SLACK_URL"}]"#
                    .to_string(),
                "notifications[0].url",
            ),
            (
                r#"[{"type": "slack", "urlEnv": "UNSET_URL"}]"#.to_string(),
                "notifications[0].urlEnv",
            ),
        ];
        for (json, field) in cases {
            let invalid = rule_of(&json);
            assert_eq!(invalid.field, field, "{json}: {invalid:?}");
            assert!(!invalid.rule.is_empty());
        }
        // Plain text with a password is allowed to this machine only.
        check(
            &parse(&smtp(
                r#", "host": "127.0.0.1", "usernameEnv": "SMTP_USER", "passwordEnv": "SMTP_PASSWORD", "tls": "none""#,
            ))
            .unwrap(),
            set,
        )
        .unwrap();
    }

    #[test]
    fn a_webhook_url_never_shows_its_path() {
        let secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        assert_eq!(redacted_url(secret), "https://hooks.slack.com/…");
        assert_eq!(
            redacted_url("http://user:pw@127.0.0.1:8080/hook?token=1"),
            "http://127.0.0.1:8080/…"
        );
        let config = SlackConfig {
            url: Some(secret.to_string()),
            url_env: None,
            topics: None,
        };
        assert!(!format!("{config:?}").contains("SECRET"));
        let invalid = rule_of(r#"[{"type": "slack", "url": "hooks.slack.com/services/SECRET"}]"#);
        assert!(!invalid.rule.contains("SECRET"), "{invalid:?}");
    }

    #[test]
    fn topics_select_by_star_arn_or_name() {
        let arn = "arn:aws:sns:us-east-1:123456789012:approvals";
        assert!(selects("*", arn));
        assert!(selects(arn, arn));
        assert!(selects("approvals", arn));
        assert!(selects("team", "team"));
        assert!(!selects("approval", arn));
        assert!(!selects("arn:aws:sns:us-east-1:123456789012:other", arn));
    }
}
