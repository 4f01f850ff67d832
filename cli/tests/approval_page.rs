//! The approval page of a real `sluice serve --public-url`: GetPipelineState (through the aws CLI) links
//! a waiting approval to its page under the public URL, the page is fetched over HTTP as a browser would,
//! and posting its form lets the execution finish.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::{Server, aws, free_port};

/// One HTTP/1.1 exchange with the server at `port`, naming `host` (as a browser does for the public
/// URL): (status, body).
fn http(port: u16, host: &str, method: &str, path: &str, extra: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name}: {page}"))
        + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_string()
}

fn review(server: &Server) -> Value {
    aws(server, &["get-pipeline-state", "--name", "Gated"])["stageStates"][1]["actionStates"][0]
        ["latestExecution"]
        .clone()
}

fn status(server: &Server, id: &str) -> String {
    aws(
        server,
        &[
            "get-pipeline-execution",
            "--pipeline-name",
            "Gated",
            "--pipeline-execution-id",
            id,
        ],
    )["pipelineExecution"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn get_pipeline_state_links_to_the_page_under_the_public_url_and_its_form_lets_the_execution_finish()
 {
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let host = format!("localhost:{port}");
    let server = Server::start_on(port, &["--public-url", &public], &[]);
    // Printed after the line the fixture waits for: looked for a while.
    let announced = format!("Approval pages: {public}/view/");
    for _ in 0..100 {
        if server.output.lock().unwrap().contains(&announced) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.output.lock().unwrap().contains(&announced),
        "{}",
        server.output.lock().unwrap()
    );
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/index.html"), "hi").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gated.json");
    std::fs::write(
        &file,
        json!({"pipeline": {
            "name": "Gated",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "gated-artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Approve", "actions": [{
                    "name": "Review",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                    "configuration": {"CustomData": "Ship <it>?", "ExternalEntityLink": "https://staging.example.com"}
                }]}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    aws(
        &server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    let id = aws(&server, &["start-pipeline-execution", "--name", "Gated"])["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut waiting = Value::Null;
    for _ in 0..300 {
        waiting = review(&server);
        if waiting["externalExecutionUrl"].is_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = waiting["externalExecutionUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("no page link: {waiting}"))
        .to_string();
    let token = waiting["token"].as_str().unwrap();
    let prefix = format!("{public}/view/Gated/Approve/Review/approve/{id}.{token}.");
    assert!(url.starts_with(&prefix), "{url} starts with {prefix}");
    let path = url.strip_prefix(&public).unwrap();

    let (first, page) = http(port, &host, "GET", path, "", "");
    assert_eq!(first, 200, "{page}");
    assert!(page.contains("Ship &lt;it&gt;?"), "{page}");
    assert!(
        page.contains("<a href=\"https://staging.example.com\""),
        "{page}"
    );
    let (second, _) = http(port, &host, "GET", path, "", "");
    assert_eq!(second, 200);
    assert_eq!(
        status(&server, &id),
        "InProgress",
        "fetching the page decided nothing"
    );
    assert_eq!(review(&server)["status"], "InProgress");

    // The form, as the browser sends it from the page at the public URL.
    let form = format!(
        "nonce={}&form_token={}&name=Ada+Lovelace&summary=looks+good&decision=approve",
        hidden(&page, "nonce"),
        hidden(&page, "form_token")
    );
    let headers = format!(
        "Content-Type: application/x-www-form-urlencoded\r\nOrigin: {public}\r\nSec-Fetch-Site: same-origin\r\n"
    );
    let (posted, decided) = http(port, &host, "POST", path, &headers, &form);
    assert_eq!(posted, 200, "{decided}");
    assert!(
        decided.contains("Approved by Ada Lovelace (127.0.0.1)"),
        "{decided}"
    );
    for _ in 0..300 {
        if status(&server, &id) == "Succeeded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status(&server, &id), "Succeeded");
    let done = review(&server);
    assert_eq!(done["lastUpdatedBy"], "Ada Lovelace (127.0.0.1)");
    assert_eq!(done["summary"], "looks good");
    let (again, shown) = http(port, &host, "POST", path, &headers, &form);
    assert_eq!(again, 409, "{shown}");
    assert!(shown.contains("already decided"), "{shown}");
}

#[test]
fn a_public_url_that_is_not_one_is_refused_at_start_naming_the_rule() {
    let data = tempfile::tempdir().unwrap();
    for (bad, rule) in [
        (
            "ftp://ci.example.com",
            "must start with http:// or https://",
        ),
        ("https://ci.example.com/?x=1", "must not have a query"),
        ("https://ci.example.com/#top", "must not have a query"),
        ("ci.example.com", "must start with http:// or https://"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--port", "0", "--public-url", bad, "--data-dir"])
            .arg(data.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("sluice serve: --public-url: the public URL") && stderr.contains(rule),
            "{bad}: {stderr}"
        );
    }
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_none(),
        "refused before the data directory was touched"
    );
}
