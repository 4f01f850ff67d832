//! Approval notifications delivered on one machine, to real servers the tests start on free 127.0.0.1
//! ports: mail to aiosmtpd (PyPI, in the workspace's `.venv`; `make test` installs it) and Slack-compatible
//! JSON to an HTTP server. The log is written first, whatever the deliveries do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use sluice_core::approval::link::{PublicUrl, ReviewLinks};
use sluice_core::approval::{
    ApprovalNotices, ApprovalStatus, ManualApproval, put_approval_result, waiting_approvals,
};
use sluice_core::compile::CompileOptions;
use sluice_core::port::{
    ActionProvider, ExecutionStore, Job, JobOutcome, Message, Notifier, StopSignal,
};
use sluice_core::record::PipelineExecutionStatus;
use sluice_core::time::Timestamp;
use sluice_core::usecase::execution::{StartRequest, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::notifier::config::NotifierConfig;
use sluice_local::notifier::{DeliveryFailure, LocalNotifier, LogNotifier};
use sluice_local::provider::{ConfigError, LocalConfig, providers_for};
use sluice_local::runtime::LocalRuntime;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";
const TOKEN: &str = "0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a";
const REVIEW: &str =
    "http://127.0.0.1:4570/view/Release/Gate/Approve/approve/0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a";
/// How long a fixture may take to start.
const PATIENCE: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------------------ fixtures

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd on a free port, writing what it receives to a folder; killed when dropped.
struct MailServer {
    child: Child,
    port: u16,
    inbox: tempfile::TempDir,
}

impl MailServer {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server that requires this user name and password.
    fn requiring_login(user: &str, password: &str) -> Self {
        Self::start_with(&["--login", user, password])
    }

    fn start_with(extra: &[&str]) -> Self {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make test` (it installs aiosmtpd into .venv)",
            python.display()
        );
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail_server.py");
        let inbox = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .arg(inbox.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().unwrap();
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = ready.send(line);
        });
        let mut server = Self { child, port, inbox };
        match started.recv_timeout(PATIENCE) {
            Ok(line) if line.trim() == "ready" => server,
            other => {
                let _ = server.child.kill();
                panic!("the mail server did not start (is aiosmtpd in .venv?): {other:?}")
            }
        }
    }

    /// Every mail received so far, oldest first.
    fn mails(&self) -> Vec<Value> {
        let mut names: Vec<(u64, PathBuf)> = std::fs::read_dir(self.inbox.path())
            .unwrap()
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                let number = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                Some((number, path))
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|(_, path)| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a webhook server received: the Content-Type and the body of each POST, by path.
#[derive(Debug, Clone)]
struct Post {
    path: String,
    content_type: String,
    body: Value,
}

/// An HTTP server on a free port that records every POST and answers `status`; stopped when dropped.
struct WebhookServer {
    port: u16,
    posts: Arc<Mutex<Vec<Post>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookServer {
    async fn start(status: StatusCode) -> Self {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let kept = posts.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push(Post {
                        path: uri.path().to_string(),
                        content_type: headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string(),
                        body: serde_json::from_str(&body).unwrap_or(Value::String(body)),
                    });
                    (
                        status,
                        if status.is_success() {
                            "ok"
                        } else {
                            "invalid_payload"
                        },
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { port, posts, task }
    }

    /// A Slack-like URL: the path is the secret.
    fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/services/T000/B000/XXXXSECRET",
            self.port
        )
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn notifiers(json: Value) -> Vec<NotifierConfig> {
    serde_json::from_value(json).unwrap()
}

fn smtp(port: u16, extra: Value) -> Value {
    let mut smtp = json!({
        "type": "smtp", "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Sluice <sluice@example.com>", "to": ["reviewers@example.com", "lead@example.com"]
    });
    smtp.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    smtp
}

fn no_environment(_: &str) -> Option<String> {
    None
}

/// A notifier that keeps its failed deliveries for the test to read.
fn recording(notifier: LocalNotifier) -> (LocalNotifier, Arc<Mutex<Vec<DeliveryFailure>>>) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let kept = failures.clone();
    let notifier =
        notifier.with_failure_report(Arc::new(move |f| kept.lock().unwrap().push(f.clone())));
    (notifier, failures)
}

fn approval(notifier: LocalNotifier) -> ManualApproval<LocalNotifier> {
    ManualApproval::with_notifier(ApprovalNotices {
        notifier,
        region: "us-east-1".to_string(),
        links: ReviewLinks::unsigned(PublicUrl::parse("http://127.0.0.1:4570").unwrap()),
    })
}

fn approval_job(topic: &str) -> Job {
    let configuration = [
        ("NotificationArn", topic),
        ("CustomData", "Check <b>staging</b> & ship"),
        ("ExternalEntityLink", "https://staging.example.com/?a=1&b=2"),
    ];
    let action = serde_json::from_value(json!({
        "name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": configuration.iter().cloned().collect::<BTreeMap<_, _>>()
    }))
    .unwrap();
    Job {
        pipeline: "Release".to_string(),
        pipeline_execution_id: "e1".to_string(),
        stage: "Gate".to_string(),
        action,
        action_execution_id: TOKEN.to_string(),
        configuration: configuration
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        environment_variables: Vec::new(),
        input_artifacts: Vec::new(),
        output_artifacts: Vec::new(),
        source_revision: None,
        timeout: Duration::from_secs(7 * 24 * 3600),
        // 2026-01-01T00:00:30Z
        started: Timestamp::from_epoch_millis(1_767_225_630_000),
        variables: BTreeMap::new(),
        stop: StopSignal::never(),
    }
}

fn part<'a>(mail: &'a Value, content_type: &str) -> &'a str {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["contentType"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part: {mail}"))["content"]
        .as_str()
        .unwrap()
}

// --------------------------------------------------------------------------------------------- SMTP

#[tokio::test]
async fn an_approval_mail_is_multipart_alternative_with_the_review_link_in_both_parts() {
    let server = MailServer::start();
    let data = tempfile::tempdir().unwrap();
    let (notifier, failures) = recording(LocalNotifier::new(
        data.path(),
        &notifiers(json!([smtp(server.port, json!({}))])),
        no_environment,
    ));
    assert_eq!(
        approval(notifier).run(&approval_job(TOPIC)).await,
        JobOutcome::Waiting
    );
    assert!(failures.lock().unwrap().is_empty(), "{failures:?}");

    let mails = server.mails();
    assert_eq!(mails.len(), 1, "one mail to every recipient: {mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["mailFrom"], "sluice@example.com");
    assert_eq!(
        mail["rcptTos"],
        json!(["reviewers@example.com", "lead@example.com"])
    );
    assert_eq!(
        mail["subject"],
        "APPROVAL NEEDED: AWS CodePipeline Release for action Approve"
    );
    assert_eq!(mail["contentType"], "multipart/alternative");
    assert_eq!(mail["parts"].as_array().unwrap().len(), 2, "{mail}");
    let text = part(mail, "text/plain");
    let html = part(mail, "text/html");
    for body in [text, html] {
        assert!(body.contains(REVIEW), "the review link: {body}");
        assert!(body.contains("Release") && body.contains("Gate") && body.contains("Approve"));
        assert!(body.contains("2026-01-08T00:00Z"), "the expiry: {body}");
    }
    assert!(text.contains("Check <b>staging</b> & ship"), "{text}");
    assert!(
        text.contains("https://staging.example.com/?a=1&b=2"),
        "{text}"
    );
    assert!(
        html.contains("Check &lt;b&gt;staging&lt;/b&gt; &amp; ship"),
        "custom data is escaped in the HTML: {html}"
    );
    assert!(html.contains(&format!("<a href=\"{REVIEW}\">")), "{html}");
    assert!(
        html.contains("href=\"https://staging.example.com/?a=1&amp;b=2\""),
        "{html}"
    );

    // The log has it too, with the approval JSON as it is.
    let logged = LogNotifier::new(data.path()).messages().unwrap();
    assert_eq!(logged.len(), 1);
    let body: Value = serde_json::from_str(&logged[0].body).unwrap();
    assert_eq!(body["approval"]["approvalReviewLink"], REVIEW);
}

#[tokio::test]
async fn a_message_that_is_not_an_approval_is_mailed_as_its_text() {
    let server = MailServer::start();
    let data = tempfile::tempdir().unwrap();
    let notifier = LocalNotifier::new(
        data.path(),
        &notifiers(json!([smtp(server.port, json!({}))])),
        no_environment,
    );
    let message = Message {
        subject: "Deploy finished".to_string(),
        body: "Release e1 is live.\nhttps://example.com".to_string(),
    };
    notifier.publish("team", &message).await.unwrap();
    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["contentType"], "text/plain");
    assert_eq!(mails[0]["subject"], "Deploy finished");
    assert_eq!(
        part(&mails[0], "text/plain").trim_end(),
        "Release e1 is live.\nhttps://example.com"
    );
}

#[tokio::test]
async fn the_smtp_notifier_logs_in_with_the_credentials_the_environment_variables_hold() {
    let server = MailServer::requiring_login("ci-bot", "s3cret-password");
    let data = tempfile::tempdir().unwrap();
    let config = notifiers(json!([smtp(
        server.port,
        json!({"usernameEnv": "MAIL_USER", "passwordEnv": "MAIL_PASSWORD"})
    )]));
    let environment = |password: &'static str| {
        move |name: &str| match name {
            "MAIL_USER" => Some("ci-bot".to_string()),
            "MAIL_PASSWORD" => Some(password.to_string()),
            _ => None,
        }
    };
    let message = Message {
        subject: "s".to_string(),
        body: "b".to_string(),
    };
    let (notifier, failures) = recording(LocalNotifier::new(
        data.path(),
        &config,
        environment("s3cret-password"),
    ));
    notifier.publish("team", &message).await.unwrap();
    assert!(failures.lock().unwrap().is_empty(), "{failures:?}");
    let mails = server.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["login"], "ci-bot");

    // A wrong password: the server refuses, the failure is reported without the password.
    let (wrong, failures) = recording(LocalNotifier::new(
        data.path(),
        &config,
        environment("wrong-password"),
    ));
    wrong.publish("team", &message).await.unwrap();
    assert_eq!(server.mails().len(), 1, "nothing more was delivered");
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].notifier, "notifications[0] (smtp)");
    assert!(
        failures[0].reason.contains("535"),
        "the server's refusal: {failures:?}"
    );
    let shown = failures[0].to_string();
    assert!(!shown.contains("wrong-password"), "{shown}");

    // A variable unset since the check: reported at the delivery, naming it.
    let (unset, failures) = recording(LocalNotifier::new(data.path(), &config, no_environment));
    unset.publish("team", &message).await.unwrap();
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures[0].reason.contains("MAIL_USER is not set"),
        "{failures:?}"
    );
    assert_eq!(LogNotifier::new(data.path()).messages().unwrap().len(), 3);
}

#[tokio::test]
async fn starttls_is_required_so_a_server_without_it_gets_no_mail() {
    let server = MailServer::start();
    let data = tempfile::tempdir().unwrap();
    let (notifier, failures) = recording(LocalNotifier::new(
        data.path(),
        &notifiers(json!([smtp(server.port, json!({"tls": "starttls"}))])),
        no_environment,
    ));
    assert_eq!(
        approval(notifier).run(&approval_job(TOPIC)).await,
        JobOutcome::Waiting
    );
    assert!(server.mails().is_empty(), "nothing went in plain text");
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].topic, TOPIC);
}

// --------------------------------------------------------------------------------------------- Slack

#[tokio::test]
async fn a_slack_webhook_gets_a_section_and_a_button_to_the_review_link() {
    let server = WebhookServer::start(StatusCode::OK).await;
    let data = tempfile::tempdir().unwrap();
    let (notifier, failures) = recording(LocalNotifier::new(
        data.path(),
        &notifiers(json!([{"type": "slack", "urlEnv": "SLACK_WEBHOOK_URL"}])),
        |name| (name == "SLACK_WEBHOOK_URL").then(|| server.url()),
    ));
    assert_eq!(
        approval(notifier).run(&approval_job(TOPIC)).await,
        JobOutcome::Waiting
    );
    assert!(failures.lock().unwrap().is_empty(), "{failures:?}");
    let posts = server.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post.path, "/services/T000/B000/XXXXSECRET");
    assert_eq!(post.content_type, "application/json");
    assert_eq!(
        post.body["text"],
        format!("APPROVAL NEEDED: AWS CodePipeline Release for action Approve: {REVIEW}")
    );
    let blocks = post.body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    let section = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(
        section.contains("Check &lt;b&gt;staging&lt;/b&gt; &amp; ship"),
        "{section}"
    );
    assert!(section.contains("2026-01-08T00:00Z"), "{section}");
    assert_eq!(
        blocks[1],
        json!({"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Approve or reject"},
            "url": REVIEW
        }]})
    );
}

#[tokio::test]
async fn each_notifier_gets_only_the_topics_it_names() {
    let approvals = WebhookServer::start(StatusCode::OK).await;
    let everything = WebhookServer::start(StatusCode::OK).await;
    let data = tempfile::tempdir().unwrap();
    let notifier = LocalNotifier::new(
        data.path(),
        &notifiers(json!([
            {"type": "log"},
            {"type": "slack", "url": approvals.url(), "topics": ["approvals"]},
            {"type": "slack", "url": everything.url(), "topics": ["*"]},
        ])),
        no_environment,
    );
    let message = Message {
        subject: "s".to_string(),
        body: "b".to_string(),
    };
    notifier.publish(TOPIC, &message).await.unwrap();
    notifier
        .publish("arn:aws:sns:us-east-1:123456789012:builds", &message)
        .await
        .unwrap();
    notifier.publish("team", &message).await.unwrap();
    assert_eq!(approvals.posts().len(), 1, "the ARN's name selects it");
    assert_eq!(everything.posts().len(), 3);
    assert_eq!(
        notifier.log().messages().unwrap().len(),
        3,
        "the log has every one"
    );
}

// --------------------------------------------------------------------------------------- failures

#[tokio::test]
async fn a_notifier_that_fails_fails_nothing_the_approval_waits_and_the_log_has_the_message() {
    let refusing = WebhookServer::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    // Nothing listens on this port.
    let closed = free_port();
    let data = tempfile::tempdir().unwrap();
    let (notifier, failures) = recording(LocalNotifier::new(
        data.path(),
        &notifiers(json!([
            smtp(closed, json!({})),
            {"type": "slack", "url": refusing.url()},
        ])),
        no_environment,
    ));
    assert_eq!(
        approval(notifier).run(&approval_job(TOPIC)).await,
        JobOutcome::Waiting
    );
    let logged = LogNotifier::new(data.path()).messages().unwrap();
    assert_eq!(logged.len(), 1, "the message is in the log");
    let mut failures = failures.lock().unwrap().clone();
    failures.sort_by(|a, b| a.notifier.cmp(&b.notifier));
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[0].notifier, "notifications[0] (smtp)");
    assert!(
        failures[0].reason.contains(&format!("127.0.0.1:{closed}")),
        "{failures:?}"
    );
    assert_eq!(failures[1].notifier, "notifications[1] (slack)");
    assert!(failures[1].reason.contains("500"), "{failures:?}");
    for failure in &failures {
        assert_eq!(failure.message_id, logged[0].message_id);
        let shown = failure.to_string();
        assert!(
            !shown.contains("XXXXSECRET"),
            "the webhook URL's path is a secret: {shown}"
        );
    }
    assert_eq!(refusing.posts().len(), 1, "it was tried");

    // The message the log refuses is refused, and delivered nowhere.
    let (notifier, _) = recording(LocalNotifier::new(
        data.path(),
        &notifiers(json!([{"type": "slack", "url": refusing.url()}])),
        no_environment,
    ));
    let empty = Message {
        subject: "s".to_string(),
        body: String::new(),
    };
    assert!(notifier.publish("team", &empty).await.is_err());
    assert_eq!(refusing.posts().len(), 1);
}

// ------------------------------------------------------------------------------------ sluice.json

fn load(json: Value) -> Result<LocalConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.json");
    std::fs::write(&path, json.to_string()).unwrap();
    LocalConfig::load(&path)
}

#[test]
fn sluice_json_notifications_are_checked_when_it_is_read() {
    let config = load(json!({"notifications": [
        {"type": "log"},
        {"type": "smtp", "host": "smtp.example.com", "from": "ci@example.com", "to": ["a@example.com"],
         "usernameEnv": "PATH", "passwordEnv": "HOME", "topics": ["approvals"]}
    ]}))
    .unwrap();
    assert_eq!(config.notifications.len(), 2);
    assert_eq!(
        LocalConfig::default().notifications,
        Vec::new(),
        "none: the log only"
    );

    let refused = |json: Value, field: &str| match load(json) {
        Err(ConfigError::Invalid {
            field: named, rule, ..
        }) => {
            assert_eq!(named, field, "{rule}");
            rule
        }
        other => panic!("expected {field} to be refused, got {other:?}"),
    };
    let rule = refused(
        json!({"notifications": [{"type": "smtp", "host": "h.example.com", "from": "ci@example.com",
            "to": ["a@example.com"], "usernameEnv": "PATH", "passwordEnv": "SLUICE_TEST_NO_SUCH_VARIABLE"}]}),
        "notifications[0].passwordEnv",
    );
    assert!(
        rule.contains("SLUICE_TEST_NO_SUCH_VARIABLE is not set"),
        "{rule}"
    );
    refused(
        json!({"notifications": [{"type": "slack", "url": "ftp://example.com/hook"}]}),
        "notifications[0].url",
    );
    match load(
        json!({"notifications": [{"type": "slack", "url": "https://h.example.com/x", "channel": "#ci"}]}),
    ) {
        Err(ConfigError::Parse { source, .. }) => {
            assert!(
                source.to_string().contains("unknown field `channel`"),
                "{source}"
            )
        }
        other => panic!("an unknown field is refused, got {other:?}"),
    }
}

// ----------------------------------------------------------------------------------- end to end

#[tokio::test]
async fn the_local_runtime_mails_the_approval_link_that_approves_the_waiting_action() {
    let server = MailServer::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/sources")).unwrap();
    std::fs::write(data.join("s3/sources/app.zip"), b"not really a zip").unwrap();
    let config = LocalConfig {
        notifications: notifiers(json!([smtp(server.port, json!({"topics": ["approvals"]}))])),
        ..LocalConfig::default()
    };
    let runtime = LocalRuntime::open_default(&data, providers_for(config, BTreeMap::new()))
        .await
        .unwrap();
    let pipeline = serde_json::from_value(json!({
        "name": "Mailed",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "mailed-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "sources", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "App"}]
            }]},
            {"name": "Gate", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "configuration": {"NotificationArn": TOPIC, "CustomData": "Ship it?"}
            }]}
        ]
    }))
    .unwrap();
    put_pipeline(&runtime.ports, &pipeline, &CompileOptions::default())
        .await
        .unwrap();
    let execution = start_execution(&runtime.ports, "Mailed", StartRequest::default())
        .await
        .unwrap();
    let mut waiting = Vec::new();
    for _ in 0..300 {
        waiting = waiting_approvals(&runtime.ports, "Mailed", "Gate", "Approve")
            .await
            .unwrap();
        if !waiting.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = waiting
        .first()
        .expect("the approval waits within 15 s")
        .action_execution_id
        .clone();
    // The attempt is recorded before its provider runs: the mail may follow a moment later.
    let mut mails = server.mails();
    for _ in 0..300 {
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        mails = server.mails();
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    // The review link's token is signed: `<execution id>.<approval token>.<expiry>.<HMAC>`.
    let link = format!(
        "/view/Mailed/Gate/Approve/approve/{}.{token}.",
        execution.pipeline_execution_id
    );
    assert!(
        part(&mails[0], "text/plain").contains(&link),
        "{}",
        mails[0]
    );
    assert!(part(&mails[0], "text/html").contains(&link), "{}", mails[0]);
    assert!(part(&mails[0], "text/plain").contains("Ship it?"));

    put_approval_result(
        &runtime.ports,
        "Mailed",
        "Gate",
        "Approve",
        &token,
        ApprovalStatus::Approved,
        "",
    )
    .await
    .unwrap();
    let arn = execution.orchestration.clone().unwrap();
    tokio::time::timeout(Duration::from_secs(60), runtime.engine().wait(&arn))
        .await
        .unwrap()
        .unwrap();
    let done = runtime
        .ports
        .store
        .execution("Mailed", &execution.pipeline_execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, PipelineExecutionStatus::Succeeded, "{done:?}");
    runtime.shutdown();
}
