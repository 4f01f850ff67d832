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
//! Run: `cargo bench -p sluice-api --bench api` (optionally `-- <seconds per load>`).

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

/// Runs `CLIENTS` clients for `duration`; returns every latency.
async fn load(
    host: &str,
    operation: &'static str,
    body: &'static str,
    duration: Duration,
    paced: bool,
) -> Vec<Duration> {
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let host = host.to_string();
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&host).await.expect("connects");
            stream.set_nodelay(true).expect("nodelay");
            // Spread the paced clients over the second.
            if paced {
                tokio::time::sleep(Duration::from_millis((client * 1000 / CLIENTS) as u64)).await;
            }
            let mut latencies = Vec::new();
            let mut buffer = Vec::new();
            let end = Instant::now() + duration;
            while Instant::now() < end {
                let bytes = request(&host, operation, body);
                let sent = Instant::now();
                stream.write_all(&bytes).await.expect("writes");
                let status = read_answer(&mut stream, &mut buffer).await;
                latencies.push(sent.elapsed());
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&buffer));
                if paced {
                    let next = sent + Duration::from_secs(1);
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for client in clients {
        all.extend(client.await.expect("client"));
    }
    all
}

fn report(operation: &str, mode: &str, mut latencies: Vec<Duration>, duration: Duration) {
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[index].as_secs_f64() * 1e3
    };
    println!(
        "{operation:<24} {mode:<10} {CLIENTS} clients: {} requests ({:.0}/s), p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
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
    tokio.block_on(async {
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
                let latencies = load(&host, operation, body, duration, paced).await;
                let mode = if paced { "paced" } else { "saturated" };
                report(label, mode, latencies, duration);
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
    // As `sluice serve` does: executions run on their own, lower-priority runtime.
    let work = work_runtime(2).expect("work runtime");
    let data_dir = dir.path().to_path_buf();
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
    sluice_core::usecase::transition::disable_transition(
        &local.ports,
        "Parked",
        "Source",
        sluice_core::usecase::transition::TransitionType::Inbound,
        "benchmark",
    )
    .await
    .expect("disabled");
    let api = Arc::new(Api {
        ports: local.ports.clone(),
        service: Service::default(),
        auth: Auth::SigV4 {
            keys: Arc::new(vec![Credentials::new("test", "test")]),
            service: "codepipeline".to_string(),
        },
        check_responses: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let host = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move { axum::serve(listener, router(api)).await });

    (work, local, host, dir)
}
