//! The API under concurrent clients (issue 5): GetPipelineState and StartPipelineExecution latency with
//! 200 clients, each on its own keep-alive connection, every request signed with AWS's SigV4 signer and
//! verified by the server, against `sluice serve`'s router over the local runtime (SQLite, engine).
//!
//! StartPipelineExecution is measured on a pipeline whose executions wait at a disabled transition (the
//! start alone) and on one whose executions run their source action and wait for an approval (the start
//! while the executions it started compete for the same two cores).
//!
//! Two loads per operation:
//! - *paced*: each client sends a request, waits for the answer, then waits until a second has passed
//!   since it sent (200 requests per second in all);
//! - *saturated*: each client sends its next request as soon as the answer arrives.
//!
//! Then the webhook receiver (issue 14): 500 GitHub-signed push deliveries a second (100 clients, each
//! every 200 ms) against StartPipelineExecution at the same rate, on a pipeline whose executions wait at
//! a disabled transition; the delivery's answer (receive, verify, dedupe write) and the time from its
//! sending to its execution started (after the answer), next to the API start's answer.
//!
//! Run: `cargo bench -p sluice-api --bench api` (optionally `-- <seconds per load>`, and `webhooks` for
//! the webhook loads alone).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use sluice_api::service::Service;
use sluice_api::sigv4::Credentials;
use sluice_api::{Api, Auth, router};
use sluice_core::compile::CompileOptions;
use sluice_core::port::ActionExecutionStore;
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::{LocalRuntime, work_runtime};

const CLIENTS: usize = 200;

/// The allocator the `sluice` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A signed awsJson1.1 request, as bytes on the wire.
fn request(host: &str, operation: &str, body: &str) -> Vec<u8> {
    let headers = [
        ("host", host.to_string()),
        ("content-type", "application/x-amz-json-1.1".to_string()),
        ("x-amz-target", format!("CodePipeline_20150709.{operation}")),
    ];
    let identity: Identity =
        aws_credential_types::Credentials::new("test", "test", None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("codepipeline")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let signable = SignableRequest::new(
        "POST",
        format!("http://{host}/"),
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
    let mut text = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    for (name, value) in instructions.headers() {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    text.into_bytes()
}

/// Reads one HTTP/1.1 answer (with Content-Length); returns its status.
async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> u16 {
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            }
        }
        let n = stream.read(&mut chunk).await.expect("reads");
        assert!(n > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// What a client sends: its `n`th request to `host`, and the status it expects.
type Maker = Arc<dyn Fn(&str, u64) -> Vec<u8> + Send + Sync>;

/// Runs `clients` clients for `duration`; returns every latency with the request's send time and
/// number. Paced (`every`): each client sends, waits for the answer, then waits until `every` has
/// passed since it sent. Otherwise each sends its next request as soon as the answer arrives.
async fn load(
    host: &str,
    clients: usize,
    make: Maker,
    expect: u16,
    duration: Duration,
    every: Option<Duration>,
) -> Vec<(Duration, Instant, u64)> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let host = host.to_string();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&host).await.expect("connects");
            stream.set_nodelay(true).expect("nodelay");
            // Spread the paced clients over their period.
            if let Some(every) = every {
                tokio::time::sleep(every * client as u32 / clients as u32).await;
            }
            let mut latencies = Vec::new();
            let mut buffer = Vec::new();
            let end = Instant::now() + duration;
            let mut n = 0u64;
            while Instant::now() < end {
                let number = (client as u64) << 32 | n;
                n += 1;
                let bytes = make(&host, number);
                let sent = Instant::now();
                stream.write_all(&bytes).await.expect("writes");
                let status = read_answer(&mut stream, &mut buffer).await;
                latencies.push((sent.elapsed(), sent, number));
                assert_eq!(status, expect, "{}", String::from_utf8_lossy(&buffer));
                if let Some(every) = every {
                    tokio::time::sleep_until((sent + every).into()).await;
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client"));
    }
    all
}

fn report(
    operation: &str,
    mode: &str,
    clients: usize,
    mut latencies: Vec<Duration>,
    duration: Duration,
) {
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[index].as_secs_f64() * 1e3
    };
    println!(
        "{operation:<24} {mode:<10} {clients} clients: {} requests ({:.0}/s), p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / duration.as_secs_f64(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let only_webhooks = std::env::args().any(|a| a == "webhooks");
    tokio.block_on(async {
        webhooks(duration).await;
        if only_webhooks {
            return;
        }
        // Every load gets a fresh data directory and server, so one load's executions do not weigh on
        // the next.
        for (label, operation, body) in [
            (
                "GetPipelineState",
                "GetPipelineState",
                r#"{"name": "Bench"}"#,
            ),
            (
                "Start (parked)",
                "StartPipelineExecution",
                r#"{"name": "Parked"}"#,
            ),
            (
                "Start (running)",
                "StartPipelineExecution",
                r#"{"name": "Bench"}"#,
            ),
        ] {
            for paced in [true, false] {
                let (work, local, host, _dir) = serve().await;
                let make: Maker = Arc::new(move |host, _| request(host, operation, body));
                let every = paced.then_some(Duration::from_secs(1));
                let latencies = load(&host, CLIENTS, make, 200, duration, every).await;
                let mode = if paced { "paced" } else { "saturated" };
                let latencies = latencies.into_iter().map(|(l, _, _)| l).collect();
                report(label, mode, CLIENTS, latencies, duration);
                if label == "Start (running)" {
                    // The executions' work runs at a lower priority than the API: show how far it got.
                    let actions = local
                        .ports
                        .store
                        .action_executions("Bench", None)
                        .await
                        .expect("reads");
                    let started = actions.iter().filter(|a| a.stage_name == "Source").count();
                    let waiting = actions.iter().filter(|a| a.stage_name == "Approve").count();
                    println!(
                        "{:<24} {mode:<10} when the load ended: {started} source actions started, {waiting} executions at the approval",
                        ""
                    );
                }
                local.shutdown();
                work.shutdown_background();
            }
        }
    });
}

/// A fresh local runtime with the two benchmark pipelines, served on a free port.
async fn serve() -> (
    tokio::runtime::Runtime,
    LocalRuntime,
    String,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("s3/inbox")).expect("mkdir");
    std::fs::write(
        dir.path().join("s3/inbox/app.zip"),
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    )
    .expect("write");
    let (work, local) = open_runtime(dir.path()).await;
    let pipeline = serde_json::from_value(json!({
        "name": "Bench",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "bench-artifacts"},
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Approve", "actions": [{
                "name": "Review",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    }))
    .expect("pipeline");
    put_pipeline(&local.ports, &pipeline, &CompileOptions::default())
        .await
        .expect("stored");
    // The same pipeline with its first stage's inbound transition disabled: its executions are
    // started and wait at once, so a start's latency is the API's and the orchestration's own,
    // not that of the actions of the executions started before it.
    let mut parked = pipeline.clone();
    parked.name = "Parked".to_string();
    put_pipeline(&local.ports, &parked, &CompileOptions::default())
        .await
        .expect("stored");
    park(&local, "Parked").await;
    let api = signed_api(&local);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let host = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move { axum::serve(listener, router(api)).await });

    (work, local, host, dir)
}

/// Pipelines the webhook loads spread over: `Hook-<i>` watches repository `bench/app-<i>`. A server
/// receiving 500 deliveries a second holds many pipelines, and each pipeline's executions park at its own
/// first-stage gate.
const HOOK_PIPELINES: usize = 100;

/// The webhook loads: deliveries and API starts at 500 a second, each on a fresh server. Client `c`
/// pushes to repository `bench/app-<c % HOOK_PIPELINES>` and starts pipeline `Hook-<c % HOOK_PIPELINES>`.
async fn webhooks(duration: Duration) {
    const RATE_CLIENTS: usize = 100;
    let every = Some(Duration::from_millis(200));
    let secret = "bench secret";
    let signed: Arc<Vec<(String, String)>> = Arc::new(
        (0..HOOK_PIPELINES)
            .map(|i| {
                let body = json!({
                    "ref": "refs/heads/main", "after": "0123456789abcdef0123456789abcdef01234567",
                    "repository": {"full_name": format!("bench/app-{i}")}, "commits": []
                })
                .to_string();
                let signature = sluice_core::webhook::signature::sign_sha256(
                    secret.as_bytes(),
                    body.as_bytes(),
                );
                (body, signature)
            })
            .collect(),
    );
    {
        let (work, local, host, started, _dir) = serve_webhooks(secret).await;
        let make: Maker = Arc::new(move |host, n| {
            let (body, signature) = &signed[(n >> 32) as usize % HOOK_PIPELINES];
            format!(
                "POST /webhooks/github HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\nx-github-event: push\r\nx-github-delivery: {n}\r\nx-hub-signature-256: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        let sent = load(&host, RATE_CLIENTS, make, 202, duration, every).await;
        // Let the starts after the last answers finish.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started = started.lock().expect("lock").clone();
        let mut to_start = Vec::new();
        for (_, at, n) in &sent {
            if let Some(done) = started.get(&format!("github/{n}")) {
                to_start.push(done.saturating_duration_since(*at));
            }
        }
        let missing = sent.len() - to_start.len();
        report(
            "Webhook answer",
            "500/s",
            RATE_CLIENTS,
            sent.iter().map(|(l, _, _)| *l).collect(),
            duration,
        );
        report(
            "Webhook to started",
            "500/s",
            RATE_CLIENTS,
            to_start,
            duration,
        );
        println!(
            "{:<24} {:<10} {missing} deliveries not started when measured",
            "", ""
        );
        local.shutdown();
        work.shutdown_background();
    }
    {
        let (work, local, host, _, _dir) = serve_webhooks(secret).await;
        let make: Maker = Arc::new(|host, n| {
            let body = format!(
                r#"{{"name": "Hook-{}"}}"#,
                (n >> 32) as usize % HOOK_PIPELINES
            );
            request(host, "StartPipelineExecution", &body)
        });
        let latencies = load(&host, RATE_CLIENTS, make, 200, duration, every).await;
        report(
            "Start (parked) API",
            "500/s",
            RATE_CLIENTS,
            latencies.into_iter().map(|(l, _, _)| l).collect(),
            duration,
        );
        local.shutdown();
        work.shutdown_background();
    }
}

type Started = Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>>;

/// A fresh runtime with [`HOOK_PIPELINES`] pipelines `Hook-<i>` (a connection source on `bench/app-<i>`,
/// main; its first transition disabled), served with the API and the webhook receiver, which records
/// when each delivery's executions were started.
async fn serve_webhooks(
    secret: &str,
) -> (
    tokio::runtime::Runtime,
    LocalRuntime,
    String,
    Started,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (work, local) = open_runtime(dir.path()).await;
    for i in 0..HOOK_PIPELINES {
        let name = format!("Hook-{i}");
        let pipeline = serde_json::from_value(json!({
            "name": name, "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "bench-artifacts"},
            "pipelineType": "V2", "executionMode": "PARALLEL",
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Code",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                    "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/b",
                                      "FullRepositoryId": format!("bench/app-{i}"), "BranchName": "main"},
                    "outputArtifacts": [{"name": "Src"}]
                }]},
                {"name": "Approve", "actions": [{
                    "name": "Review",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
                }]}
            ]
        }))
        .expect("pipeline");
        put_pipeline(&local.ports, &pipeline, &CompileOptions::default())
            .await
            .expect("stored");
        park(&local, &name).await;
    }
    let api = signed_api(&local);
    let started: Started = Arc::default();
    let mut secrets = sluice_core::usecase::webhook::ReceiverSecrets::default();
    secrets.by_provider.insert(
        sluice_core::webhook::event::GitProvider::GitHub,
        sluice_core::port::SecretValue::new(secret.as_bytes()),
    );
    let ports = local.ports.clone();
    let record = started.clone();
    let receiver = Arc::new(sluice_api::webhook::Receiver {
        ports: local.ports.clone(),
        secrets,
        after_answer: Arc::new(move |key: String| {
            let ports = ports.clone();
            let record = record.clone();
            // As `sluice serve` starts them: on the serving runtime, after the answer.
            tokio::spawn(async move {
                sluice_core::usecase::webhook::start_delivery(&ports, &key)
                    .await
                    .expect("starts");
                record.lock().expect("lock").insert(key, Instant::now());
            });
            Box::pin(std::future::ready(()))
        }),
        log: Arc::new(|_: &str| {}),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let host = listener.local_addr().expect("address").to_string();
    let app = router(api).merge(sluice_api::webhook::router(receiver));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (work, local, host, started, dir)
}

/// A local runtime over `dir` whose executions run on their own, lower-priority runtime, as
/// `sluice serve` runs them.
async fn open_runtime(dir: &std::path::Path) -> (tokio::runtime::Runtime, LocalRuntime) {
    let work = work_runtime(2).expect("work runtime");
    let data_dir = dir.to_path_buf();
    let local = work
        .spawn(async move {
            LocalRuntime::open_default(
                &data_dir,
                providers_for(LocalConfig::default(), Default::default()),
            )
            .await
        })
        .await
        .expect("joins")
        .expect("opens");
    (work, local)
}

/// Disables the inbound transition of `pipeline`'s first stage, `Source`: its executions are started
/// and wait at once, so a start's latency is the API's and the orchestration's own.
async fn park(local: &LocalRuntime, pipeline: &str) {
    sluice_core::usecase::transition::disable_transition(
        &local.ports,
        pipeline,
        "Source",
        sluice_core::usecase::transition::TransitionType::Inbound,
        "benchmark",
    )
    .await
    .expect("disabled");
}

/// The API over `local`, checking every request's signature by the `test` key.
fn signed_api(local: &LocalRuntime) -> Arc<Api<sluice_local::runtime::LocalPorts>> {
    Arc::new(Api {
        ports: local.ports.clone(),
        service: Service::default(),
        auth: Auth::SigV4 {
            keys: Arc::new(vec![Credentials::new("test", "test")]),
            service: "codepipeline".to_string(),
        },
        check_responses: false,
    })
}
