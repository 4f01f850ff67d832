//! The webhook receiver of `sluice serve`, as GitHub and the others reach it: every push, pull_request
//! and ping example of @octokit/webhooks-examples, signed by @octokit/webhooks-methods (node), is
//! accepted and matched as expected; forged, replayed, oversize and mistyped deliveries are refused.
//! Executions are read back with the aws CLI.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, aws};
use serde_json::{Value, json};
use sluice_core::webhook::signature::sign_sha256;

const SECRET: &str = "It's a Secret to Everybody";
const CONNECTION: &str = "arn:aws:codeconnections:us-east-1:123456789012:connection/hello";

/// The examples' repository, watched by a V2 pipeline whose trigger takes every push and pull request
/// (`HelloTriggers`), and by one without triggers that builds `master` (`HelloDefault`).
fn pipeline(name: &str, triggers: Value) -> Value {
    json!({"pipeline": {
        "name": name, "roleArn": "arn:aws:iam::123456789012:role/p", "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "triggers": triggers,
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Code",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": CONNECTION, "FullRepositoryId": "Codertocat/Hello-World", "BranchName": "master"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Compile",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "compile"},
                "inputArtifacts": [{"name": "Src"}]
            }]}
        ]
    }})
}

fn create(server: &Server, dir: &Path, body: Value) {
    let file = dir.join("pipeline.json");
    std::fs::write(&file, body.to_string()).unwrap();
    aws(
        server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
}

fn server_with_pipelines() -> (Server, tempfile::TempDir) {
    let server = Server::start_with_env(&[], &[("SLUICE_GITHUB_WEBHOOK_SECRET", SECRET)]);
    let dir = tempfile::tempdir().unwrap();
    create(
        &server,
        dir.path(),
        pipeline(
            "HelloTriggers",
            json!([{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
                "sourceActionName": "Code",
                "push": [{"branches": {"includes": ["**"]}}, {"tags": {"includes": ["**"]}}],
                "pullRequest": [{"events": ["OPEN", "UPDATED", "CLOSED"], "branches": {"includes": ["**"]}}]
            }}]),
        ),
    );
    create(&server, dir.path(), pipeline("HelloDefault", json!([])));
    (server, dir)
}

/// One HTTP/1.1 POST; the status and the body.
fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let address = server.endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // A refused body may be answered before it is all sent.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn executions(server: &Server, pipeline: &str) -> Vec<Value> {
    aws(
        server,
        &["list-pipeline-executions", "--pipeline-name", pipeline],
    )["pipelineExecutionSummaries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `pipeline` has `count` executions (they start just after the answer).
fn wait_for(server: &Server, pipeline: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = executions(server, pipeline);
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_octokit_example_is_accepted_and_matched_as_github_would_have_it() {
    let (server, _dir) = server_with_pipelines();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/deliver.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(format!("{}/webhooks/github", server.endpoint))
        .arg(SECRET)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "node {}: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let deliveries: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut expected_triggers = 0;
    let mut expected_default = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for delivery in &deliveries {
        let event = delivery["event"].as_str().unwrap();
        kinds.insert(event.to_string());
        let action = delivery["action"].as_str().unwrap_or_default();
        let started: Vec<(String, String)> = delivery["answer"]["executions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        (
                            e["pipelineName"].as_str().unwrap().to_string(),
                            e["pipelineExecutionId"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names: Vec<&str> = started.iter().map(|(p, _)| p.as_str()).collect();
        let status = delivery["status"].as_u64().unwrap();
        match event {
            "ping" => assert_eq!((status, names.len()), (200, 0), "{delivery}"),
            "push" if delivery["deleted"] == true => {
                assert_eq!(
                    (status, names.len()),
                    (200, 0),
                    "a deletion starts nothing: {delivery}"
                )
            }
            "push" => {
                let to_master = delivery["ref"] == "refs/heads/master";
                let mut expected = vec!["HelloTriggers"];
                if to_master {
                    expected.push("HelloDefault");
                    expected_default += 1;
                }
                expected_triggers += 1;
                let mut sorted = names.clone();
                sorted.sort_unstable();
                expected.sort_unstable();
                assert_eq!((status, sorted), (202, expected), "{delivery}");
            }
            "pull_request" if ["opened", "reopened", "synchronize", "closed"].contains(&action) => {
                expected_triggers += 1;
                assert_eq!((status, names), (202, vec!["HelloTriggers"]), "{delivery}");
            }
            "pull_request" => assert_eq!(
                (status, names.len()),
                (202, 0),
                "pull_request {action} is not acted on: {delivery}"
            ),
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["ping", "pull_request", "push"],
        "the examples hold all three events"
    );
    assert!(
        expected_triggers >= 5 && expected_default >= 1,
        "the examples start something"
    );
    let triggered = wait_for(&server, "HelloTriggers", expected_triggers);
    assert_eq!(triggered.len(), expected_triggers);
    for execution in &triggered {
        assert_eq!(
            execution["trigger"]["triggerType"], "WebhookV2",
            "{execution}"
        );
        assert_eq!(execution["trigger"]["triggerDetail"], CONNECTION);
    }
    assert_eq!(
        wait_for(&server, "HelloDefault", expected_default).len(),
        expected_default
    );
    // A push pins the delivered commit as the source revision.
    let push = deliveries
        .iter()
        .find(|d| d["event"] == "push" && d["ref"] == "refs/heads/master")
        .unwrap();
    let id = push["answer"]["executions"][0]["pipelineExecutionId"]
        .as_str()
        .unwrap();
    let pipeline = push["answer"]["executions"][0]["pipelineName"]
        .as_str()
        .unwrap();
    let got = aws(
        &server,
        &[
            "get-pipeline-execution",
            "--pipeline-name",
            pipeline,
            "--pipeline-execution-id",
            id,
        ],
    );
    assert_eq!(
        got["pipelineExecution"]["trigger"]["triggerType"],
        "WebhookV2"
    );
    // The examples were all answered once; sent again, each is a duplicate and starts nothing.
    let again = Command::new("node")
        .arg(&script)
        .arg(format!("{}/webhooks/github", server.endpoint))
        .arg(SECRET)
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&again.stdout).lines() {
        let delivery: Value = serde_json::from_str(line).unwrap();
        assert!(
            delivery["answer"]["executions"].is_null(),
            "a redelivery starts nothing: {delivery}"
        );
        assert!(delivery["status"].as_u64().unwrap() < 300, "{delivery}");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        executions(&server, "HelloTriggers").len(),
        expected_triggers
    );
}

fn push_body() -> String {
    json!({"ref": "refs/heads/master", "after": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
           "repository": {"full_name": "Codertocat/Hello-World"}, "commits": []})
    .to_string()
}

#[test]
fn forged_replayed_oversize_and_mistyped_deliveries_are_refused() {
    let (server, _dir) = server_with_pipelines();
    let body = push_body();
    let good = sign_sha256(SECRET.as_bytes(), body.as_bytes());
    let json_type = ("content-type", "application/json");
    let push = ("x-github-event", "push");
    let refused = |headers: &[(&str, &str)], body: &[u8], status: u16, says: &str| {
        let (got, answer) = post(&server, "/webhooks/github", headers, body);
        assert_eq!(got, status, "{headers:?}: {answer}");
        assert!(
            answer.contains(says),
            "{headers:?}: {answer} should say {says}"
        );
    };
    refused(
        &[json_type, push, ("x-github-delivery", "1")],
        body.as_bytes(),
        401,
        "not signed",
    );
    let wrong = sign_sha256(b"another secret", body.as_bytes());
    refused(
        &[
            json_type,
            push,
            ("x-github-delivery", "2"),
            ("x-hub-signature-256", &wrong),
        ],
        body.as_bytes(),
        401,
        "does not match",
    );
    let tampered = body.replace("master", "main");
    refused(
        &[
            json_type,
            push,
            ("x-github-delivery", "3"),
            ("x-hub-signature-256", &good),
        ],
        tampered.as_bytes(),
        401,
        "does not match",
    );
    refused(
        &[
            json_type,
            push,
            ("x-github-delivery", "4"),
            (
                "x-hub-signature",
                "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8",
            ),
        ],
        body.as_bytes(),
        401,
        "SHA-1",
    );
    refused(
        &[
            ("content-type", "text/plain"),
            push,
            ("x-github-delivery", "5"),
            ("x-hub-signature-256", &good),
        ],
        body.as_bytes(),
        415,
        "content type",
    );
    let big = vec![b' '; 25 * 1024 * 1024 + 1];
    refused(
        &[json_type, push, ("x-github-delivery", "6")],
        &big,
        413,
        "25 MiB",
    );
    assert!(
        executions(&server, "HelloTriggers").is_empty(),
        "nothing refused started anything"
    );

    // The form encoding GitHub offers: payload=<url-encoded JSON>, signed as sent.
    let form = format!("payload={}", url_encode(&body));
    let form_signature = sign_sha256(SECRET.as_bytes(), form.as_bytes());
    let (status, answer) = post(
        &server,
        "/webhooks/github",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            push,
            ("x-github-delivery", "form-1"),
            ("x-hub-signature-256", &form_signature),
        ],
        form.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    // A replay of the same delivery id answers 200 and starts nothing.
    let (status, answer) = post(
        &server,
        "/webhooks/github",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            push,
            ("x-github-delivery", "form-1"),
            ("x-hub-signature-256", &form_signature),
        ],
        form.as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("already received"), "{answer}");
    assert_eq!(wait_for(&server, "HelloTriggers", 1).len(), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(executions(&server, "HelloTriggers").len(), 1);
    // No secret is configured for GitLab here: refused whatever it carries.
    let (status, answer) = post(
        &server,
        "/webhooks/gitlab",
        &[
            json_type,
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-token", "guess"),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 401, "{answer}");
    let log = server.output.lock().unwrap().clone();
    assert!(
        log.contains("GitHub delivery 2 refused (401)"),
        "one line per refusal: {log}"
    );
    assert!(
        !log.contains("9049f1265b7d61be4a8904a9a27120d2064dab3b\"") && !log.contains("\"ref\""),
        "no body in the log"
    );
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn an_object_written_to_a_bucket_folder_starts_its_pipeline_under_sluice_serve() {
    let server = Server::start(&["--poll-interval", "3600"]);
    let dir = tempfile::tempdir().unwrap();
    let mut body = pipeline("Uploads", json!([]));
    body["pipeline"]["stages"][0]["actions"][0] = json!({
        "name": "Upload",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "incoming", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
        "outputArtifacts": [{"name": "Src"}]
    });
    create(&server, dir.path(), body);
    // The watcher takes its baseline within a second of the pipeline's creation.
    std::thread::sleep(Duration::from_secs(3));
    assert!(executions(&server, "Uploads").is_empty());
    let folder = server.data.join("s3/incoming");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("app.zip"), b"not really a zip").unwrap();
    let started = wait_for(&server, "Uploads", 1);
    assert_eq!(started.len(), 1, "the write starts one execution");
    assert_eq!(started[0]["trigger"]["triggerType"], "CloudWatchEvent");
    assert!(
        started[0]["trigger"]["triggerDetail"]
            .as_str()
            .unwrap()
            .ends_with(":rule/sluice-Uploads-source-Upload"),
        "{}",
        started[0]
    );
}

#[test]
fn a_putwebhook_url_receives_github_deliveries_with_its_own_secret_and_filters() {
    let (server, dir) = server_with_pipelines();
    let put = |definition: Value| -> std::process::Output {
        let file = dir.path().join("webhook.json");
        std::fs::write(&file, json!({"webhook": definition}).to_string()).unwrap();
        common::aws_command(
            &server,
            &[
                "put-webhook",
                "--cli-input-json",
                &format!("file://{}", file.display()),
            ],
        )
        .output()
        .unwrap()
    };
    let definition = |auth: Value| {
        let mut d = json!({
            "name": "hello-push", "targetPipeline": "HelloDefault", "targetAction": "Code",
            "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
            "authentication": "GITHUB_HMAC"
        });
        d["authenticationConfiguration"] = auth;
        d
    };
    // Definitions the receiver could not act on are refused with CodePipeline's exceptions.
    let file = dir.path().join("bad.json");
    for (bad, error) in [
        (
            definition(json!({})),
            "InvalidWebhookAuthenticationParametersException",
        ),
        (
            {
                let mut d = definition(json!({"SecretToken": "hook secret"}));
                d["filters"][0]["jsonPath"] = json!("$[");
                d
            },
            "InvalidWebhookFilterPatternException",
        ),
    ] {
        std::fs::write(&file, json!({"webhook": bad}).to_string()).unwrap();
        common::aws_fails(
            &server,
            error,
            &[
                "put-webhook",
                "--cli-input-json",
                &format!("file://{}", file.display()),
            ],
        );
    }
    let output = put(definition(json!({"SecretToken": "hook secret"})));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    let url = answer["webhook"]["url"].as_str().unwrap().to_string();
    let arn = answer["webhook"]["arn"].as_str().unwrap().to_string();
    let path = url.strip_prefix(&server.endpoint).unwrap().to_string();
    let body = push_body();
    let headers = |signature: &str| {
        vec![
            ("content-type", "application/json".to_string()),
            ("x-github-event", "push".to_string()),
            ("x-github-delivery", format!("hook-{signature:.12}")),
            ("x-hub-signature-256", signature.to_string()),
        ]
    };
    let send = |headers: Vec<(&str, String)>| {
        let borrowed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&server, &path, &borrowed, body.as_bytes())
    };
    let receiver_signed = sign_sha256(SECRET.as_bytes(), body.as_bytes());
    assert_eq!(
        send(headers(&receiver_signed)).0,
        401,
        "the receiver's secret is not the webhook's"
    );
    let signed = sign_sha256(b"hook secret", body.as_bytes());
    let (status, answer) = send(headers(&signed));
    assert_eq!(status, 202, "{answer}");
    let started = wait_for(&server, "HelloDefault", 1);
    assert_eq!(started[0]["trigger"]["triggerType"], "Webhook");
    assert_eq!(started[0]["trigger"]["triggerDetail"], arn.as_str());
    let (status, _) = post(
        &server,
        "/webhooks/no-such-token",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert_eq!(status, 404);
}

#[test]
fn bitbucket_and_gitlab_deliveries_are_verified_their_way() {
    let server = Server::start_with_env(
        &[],
        &[
            ("SLUICE_BITBUCKET_WEBHOOK_SECRET", "bb secret"),
            ("SLUICE_GITLAB_WEBHOOK_SECRET", "gl token"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    create(&server, dir.path(), pipeline("HelloDefault", json!([])));
    let bitbucket = json!({
        "repository": {"full_name": "Codertocat/Hello-World"},
        "push": {"changes": [{"new": {"type": "branch", "name": "master", "target": {"hash": "b1b1"}}, "old": null}]}
    })
    .to_string();
    let signature = sign_sha256(b"bb secret", bitbucket.as_bytes());
    let json_type = ("content-type", "application/json");
    let (status, answer) = post(
        &server,
        "/webhooks/bitbucket",
        &[
            json_type,
            ("x-event-key", "repo:push"),
            ("x-request-uuid", "bb-1"),
            ("x-hub-signature", &signature),
        ],
        bitbucket.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    let wrong = sign_sha256(b"other", bitbucket.as_bytes());
    let (status, _) = post(
        &server,
        "/webhooks/bitbucket",
        &[
            json_type,
            ("x-event-key", "repo:push"),
            ("x-request-uuid", "bb-2"),
            ("x-hub-signature", &wrong),
        ],
        bitbucket.as_bytes(),
    );
    assert_eq!(status, 401);
    let gitlab = json!({
        "ref": "refs/heads/master", "after": "c1c1",
        "project": {"path_with_namespace": "Codertocat/Hello-World"}, "commits": []
    })
    .to_string();
    let gitlab_headers = |token: &'static str, id: &'static str| {
        [
            json_type,
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-event-uuid", id),
            ("x-gitlab-token", token),
        ]
    };
    assert_eq!(
        post(
            &server,
            "/webhooks/gitlab",
            &gitlab_headers("wrong", "gl-1"),
            gitlab.as_bytes()
        )
        .0,
        401
    );
    let (status, answer) = post(
        &server,
        "/webhooks/gitlab",
        &gitlab_headers("gl token", "gl-2"),
        gitlab.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    let started = wait_for(&server, "HelloDefault", 2);
    assert_eq!(started.len(), 2);
    // GitHub has no secret on this server: refused.
    let (status, answer) = post(
        &server,
        "/webhooks/github",
        &[json_type, ("x-github-event", "ping")],
        b"{}",
    );
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("no secret is configured"), "{answer}");
}
