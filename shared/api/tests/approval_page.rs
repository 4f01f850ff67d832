//! The approval page over real HTTP, beside the API, on a local runtime: a pipeline waits at a Manual
//! approval, GetPipelineState links to the page, the page is fetched and its form posted as a browser
//! would, and the execution goes on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use sluice_api::approval::{ApprovalPages, router as approval_router};
use sluice_api::service::Service;
use sluice_api::{Api, Auth, router};
use sluice_core::approval::link::PublicUrl;
use sluice_local::process::DEFAULT_STOP_GRACE;
use sluice_local::provider::{LocalConfig, providers_linking_to};
use sluice_local::runtime::LocalRuntime;

/// `sluice serve`'s parts on a free port: the API (no auth) and the approval page, over one runtime.
struct Served {
    address: SocketAddr,
    runtime: LocalRuntime,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
        std::fs::write(data.join("s3/inbox/app/index.html"), "hi").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let public_url = PublicUrl::for_address(address);
        let runtime = LocalRuntime::open_default(
            &data,
            providers_linking_to(
                LocalConfig::default(),
                Default::default(),
                DEFAULT_STOP_GRACE,
                public_url.clone(),
            ),
        )
        .await
        .unwrap();
        let api = Arc::new(Api {
            ports: runtime.ports.clone(),
            service: Service {
                base_url: public_url.to_string(),
                approval_key: Some(runtime.approval_key.clone()),
                ..Service::default()
            },
            auth: Auth::Off,
            check_responses: true,
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let pages = Arc::new(ApprovalPages {
            ports: runtime.ports.clone(),
            key: runtime.approval_key.clone(),
            public_url,
            log: Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_string())),
        });
        let app = router(api).merge(approval_router(pages));
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Served {
            address,
            runtime,
            log,
            _dir: dir,
        }
    }

    /// One HTTP/1.1 exchange: (status, headers with lower-case names, body).
    async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Vec<(String, String)>, String) {
        let mut stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers, body.to_string())
    }

    /// A CodePipeline operation (awsJson1.1), which must succeed.
    async fn call(&self, operation: &str, input: Value) -> Value {
        let target = format!("CodePipeline_20150709.{operation}");
        let (status, _, body) = self
            .http(
                "POST",
                "/",
                &[
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Target", &target),
                ],
                &input.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{operation}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn state(&self) -> Value {
        self.call("GetPipelineState", json!({"name": "Gated"}))
            .await
    }

    /// The review action's latest execution once it waits with a link to its page.
    async fn waiting_review(&self) -> Value {
        for _ in 0..500 {
            let review =
                self.state().await["stageStates"][1]["actionStates"][0]["latestExecution"].clone();
            if review["externalExecutionUrl"].is_string() {
                return review;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the approval never waited: {}", self.state().await);
    }

    async fn execution_status(&self, id: &str) -> String {
        self.call(
            "GetPipelineExecution",
            json!({"pipelineName": "Gated", "pipelineExecutionId": id}),
        )
        .await["pipelineExecution"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn history(&self) -> Value {
        self.call("ListActionExecutions", json!({"pipelineName": "Gated"}))
            .await
    }

    /// Starts pipeline `Gated` (an S3 source, then a Manual approval with hostile CustomData) and
    /// returns its execution id and the page's path.
    async fn waiting_approval(&self) -> (String, String) {
        self.call(
            "CreatePipeline",
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
                        "configuration": {
                            "CustomData": "Ship it? <script>alert('x')</script>",
                            "ExternalEntityLink": "javascript:alert(1)"
                        }
                    }]}
                ]
            }}),
        )
        .await;
        let id = self
            .call("StartPipelineExecution", json!({"name": "Gated"}))
            .await["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
        let review = self.waiting_review().await;
        let url = review["externalExecutionUrl"].as_str().unwrap();
        let prefix = format!("http://{}", self.address);
        let path = url
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{url} starts with {prefix}"))
            .to_string();
        (id, path)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The value of the hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_string()
}

/// The form a browser posts from `page`: its hidden fields, a name, a summary and the button pressed.
fn form(page: &str, decision: &str, name: &str) -> String {
    format!(
        "nonce={}&form_token={}&name={}&summary=checked+staging&decision={decision}",
        hidden(page, "nonce"),
        hidden(page, "form_token"),
        name.replace(' ', "+")
            .replace('<', "%3C")
            .replace('>', "%3E")
    )
}

/// A POST the page refuses: its path, headers and body, the status, and what the page says.
type Refused<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, u16, &'a str);

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn fetching_the_page_twice_decides_nothing_and_a_post_of_its_form_approves_and_the_execution_goes_on()
 {
    let served = Served::start().await;
    let (id, path) = served.waiting_approval().await;
    let review = served.waiting_review().await;
    assert!(
        path.starts_with("/view/Gated/Approve/Review/approve/"),
        "{path}"
    );
    assert!(
        path.contains(review["token"].as_str().unwrap()),
        "the link names the approval token"
    );
    let before = served.history().await;

    let (status, headers, first) = served.http("GET", &path, &[], "").await;
    assert_eq!(status, 200, "{first}");
    let (again_status, _, second) = served.http("GET", &path, &[], "").await;
    assert_eq!(again_status, 200);
    assert_ne!(
        hidden(&first, "nonce"),
        hidden(&second, "nonce"),
        "every page its own nonce"
    );
    assert_eq!(served.history().await, before, "two GETs changed nothing");
    assert_eq!(served.execution_status(&id).await, "InProgress");

    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = header(&headers, "content-security-policy").unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"));
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    // What the records say, escaped; a javascript: link is shown, never linked.
    assert!(first.contains("Ship it? &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!first.contains("<script>"));
    assert!(!first.contains("href=\"javascript:"), "{first}");
    assert!(first.contains(&id), "the execution id");
    assert!(
        first.contains("Source (Source)"),
        "the source revision: {first}"
    );

    // A browser's POST of the form: same origin, the reviewer's name (hostile) and the Approve button.
    let (status, _, decided) = served
        .http(
            "POST",
            &path,
            &[FORM, ("Sec-Fetch-Site", "same-origin"), ("Origin", "null")],
            &form(&first, "approve", "Ada <b>"),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert!(
        decided.contains("Approved by Ada &lt;b&gt; (127.0.0.1) at "),
        "{decided}"
    );
    for _ in 0..500 {
        if served.execution_status(&id).await == "Succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(served.execution_status(&id).await, "Succeeded");
    let latest =
        served.state().await["stageStates"][1]["actionStates"][0]["latestExecution"].clone();
    assert_eq!(latest["status"], "Succeeded");
    assert_eq!(latest["summary"], "checked staging");
    assert_eq!(latest["lastUpdatedBy"], "Ada <b> (127.0.0.1)");
    assert!(
        latest.get("externalExecutionUrl").is_none(),
        "only a waiting approval links to its page"
    );
    let detail = &served.history().await["actionExecutionDetails"][0];
    assert_eq!(detail["actionName"], "Review");
    assert_eq!(detail["updatedBy"], "Ada <b> (127.0.0.1)");
    assert!(
        served
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("Approved by Ada <b> (127.0.0.1)") && !l.contains(&path)),
        "one line, without the link: {:?}",
        served.log.lock().unwrap()
    );

    // The same form again (a double click, a reload), and a Reject from the second page: the decision
    // stands, shown with 409.
    let history = served.history().await;
    for (page, decision) in [(&first, "approve"), (&second, "reject")] {
        let (status, _, shown) = served
            .http("POST", &path, &[FORM], &form(page, decision, "Mallory"))
            .await;
        assert_eq!(status, 409, "{shown}");
        assert!(shown.contains("already decided"), "{shown}");
        assert!(
            shown.contains("Approved by Ada &lt;b&gt; (127.0.0.1)"),
            "{shown}"
        );
    }
    assert_eq!(served.history().await, history);
    // Afterwards the page says who decided and when.
    let (status, _, after) = served.http("GET", &path, &[], "").await;
    assert_eq!(status, 200);
    assert!(after.contains("<h1>Approved</h1>"), "{after}");
    assert!(after.contains("Approved by Ada &lt;b&gt; (127.0.0.1) at "));
    assert!(!after.contains("<form"), "no form once decided");
    served.runtime.shutdown();
}

#[tokio::test]
async fn a_post_without_the_form_token_or_from_another_site_or_with_a_bad_link_changes_nothing() {
    let served = Served::start().await;
    let (id, path) = served.waiting_approval().await;
    let (_, _, page) = served.http("GET", &path, &[], "").await;
    let before = served.history().await;
    let good = form(&page, "approve", "Ada");
    let link = path.rsplit('/').next().unwrap();
    let forged_link = {
        let mut forged = link.to_string();
        let last = if forged.ends_with('0') { '1' } else { '0' };
        forged.pop();
        forged.push(last);
        path.replace(link, &forged)
    };
    let other_path = path.replace("/Review/", "/Other/");
    let not_a_link = path.replace(link, "not-a-link");
    let cases: Vec<Refused<'_>> = vec![
        (
            &path,
            vec![FORM],
            "name=Ada&decision=approve".to_string(),
            403,
            "no form token",
        ),
        (
            &path,
            vec![FORM],
            good.replace(&hidden(&page, "form_token"), &"0".repeat(64)),
            403,
            "does not match",
        ),
        (
            &path,
            vec![FORM, ("Sec-Fetch-Site", "cross-site")],
            good.clone(),
            403,
            "another site",
        ),
        (
            &path,
            vec![FORM, ("Origin", "https://evil.example")],
            good.clone(),
            403,
            "https://evil.example",
        ),
        (
            &path,
            vec![("Content-Type", "application/json")],
            good.clone(),
            415,
            "application/x-www-form-urlencoded",
        ),
        (
            &path,
            vec![FORM],
            format!("{good}&role=admin"),
            400,
            "does not have",
        ),
        (
            &path,
            vec![FORM],
            good.replace("name=Ada", "name="),
            400,
            "is required",
        ),
        (
            &forged_link,
            vec![FORM],
            good.clone(),
            403,
            "signature does not match",
        ),
        (
            &other_path,
            vec![FORM],
            good.clone(),
            403,
            "signature does not match",
        ),
        (
            &not_a_link,
            vec![FORM],
            good.clone(),
            400,
            "not an approval link",
        ),
        (
            &path,
            vec![FORM],
            format!("{good}&summary2={}", "x".repeat(20_000)),
            413,
            "at most 16384 bytes (16 KiB)",
        ),
    ];
    for (path, headers, body, status, why) in cases {
        let (got, answer_headers, shown) = served.http("POST", path, &headers, &body).await;
        assert_eq!(got, status, "{why}: {shown}");
        assert!(shown.contains(why), "{why}: {shown}");
        assert!(shown.contains("Nothing was changed."), "{shown}");
        assert_eq!(header(&answer_headers, "x-frame-options"), Some("DENY"));
    }
    for (path, status) in [(&forged_link, 403), (&other_path, 403)] {
        let (got, _, _) = served.http("GET", path, &[], "").await;
        assert_eq!(got, status, "{path}");
    }
    assert_eq!(served.history().await, before);
    assert_eq!(served.execution_status(&id).await, "InProgress");
    assert!(
        served.log.lock().unwrap().iter().all(|l| !l.contains(link)),
        "no link token in the log"
    );
    served.runtime.shutdown();
}
