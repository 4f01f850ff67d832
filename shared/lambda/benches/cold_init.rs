//! Cold init of each Lambda binary: from process start to its first request for an event, against a
//! local stand-in for the Lambda Runtime API, with its AWS clients built (issue 6's performance target:
//! ≤ 30 ms, stripped size ≤ 12 MB). Also the resident memory at that moment.
//!
//! ```text
//! make bench-lambda      # builds the eight release binaries and the baseline, then runs this
//! cargo bench -p sluice-lambda --bench cold_init -- [runs]   # the binaries must be built already
//! ```
//!
//! The stand-in answers nothing: it notes when `GET /2018-06-01/runtime/invocation/next` arrives, which
//! is the moment a function is ready for its first event, and the process is killed.
//!
//! Four functions read a secret from Secrets Manager before they ask for an event: the webhook function
//! its webhook secret, and the api, approval and invoke worker functions the approval signing key. Their
//! init includes one GetSecretValue each, answered here by a stand-in on 127.0.0.1 (a loopback round trip
//! and the request's signing; on AWS the call itself adds the service's latency).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BINARIES: [&str; 8] = [
    "sluice-api",
    "sluice-webhook",
    "sluice-approval",
    "sluice-dispatcher",
    "sluice-worker-source",
    "sluice-worker-build",
    "sluice-worker-deploy",
    "sluice-worker-invoke",
];

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let release = target_dir().join("release");
    // The baseline, measured in the same run: a hello-world function with no AWS clients.
    let baseline = release.join("examples/hello_world");
    for binary in BINARIES {
        if !release.join(binary).exists() {
            eprintln!(
                "{} is not built: run `make bench-lambda` (or cargo build --release for the functions/ packages)",
                release.join(binary).display()
            );
            std::process::exit(2);
        }
    }

    // The Runtime API stand-in: every connection that asks for the next event is noted and kept open.
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("address").to_string();
    let (ready, arrivals) = mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_ok() && line.contains("/runtime/invocation/next") {
                let _ = ready.send(Instant::now());
            }
            held.push(stream);
            held.retain(|s| s.peer_addr().is_ok());
        }
    });

    let secrets_manager = secrets_manager_stand_in();

    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "binary", "p50 ms", "p90 ms", "min ms", "max ms", "RSS MiB", "size MB"
    );
    let measured = std::iter::once(("hello-world (baseline)", baseline.clone()))
        .filter(|(_, path)| path.exists())
        .chain(
            BINARIES
                .iter()
                .map(|binary| (*binary, release.join(binary))),
        );
    for (binary, path) in measured {
        let mut inits = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let mut child = Command::new(&path)
                .envs(environment(&address, binary, &secrets_manager))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starts");
            let arrived = arrivals
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{binary} never asked for an event"));
            inits.push(arrived.duration_since(started));
            rss.push(resident_kib(child.id()));
            let _ = child.kill();
            let _ = child.wait();
        }
        inits.sort();
        rss.sort();
        let at =
            |q: f64| inits[((inits.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{binary:<22} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.1} {:>9.2}",
            at(0.5),
            at(0.9),
            at(0.0),
            at(1.0),
            rss[rss.len() / 2] as f64 / 1024.0,
            size as f64 / 1e6
        );
    }
}

/// A Secrets Manager stand-in on a free port: GetSecretValue (awsJson1.1) answered with the secret its
/// `SecretId` names, the approval signing key or the webhook secret. Returns its URL.
fn secrets_manager_stand_in() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer_get_secret_value(stream));
        }
    });
    url
}

fn answer_get_secret_value(stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut length = 0;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let asked: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (arn, name, value) = if asked["SecretId"] == APPROVAL_KEY_ARN {
        (
            APPROVAL_KEY_ARN,
            "sluice-approval-key",
            // As the template generates it: 64 letters and digits.
            "k7Qm2Xw9Rt4Lp8Zs1Vb6Nc3Hd5Jf0Gy7Ue2Ia9Ko4Ms1Pq8Wr3Tx6Yz0Bv5Cn2Dl".to_string(),
        )
    } else {
        (
            WEBHOOK_SECRET_ARN,
            "sluice-webhooks",
            serde_json::json!({"github": "bench-secret"}).to_string(),
        )
    };
    let answer = serde_json::json!({
        "ARN": arn,
        "Name": name,
        "VersionId": "v1",
        "SecretString": value,
        "CreatedDate": 1_767_225_600,
    })
    .to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

const WEBHOOK_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:sluice-webhooks-AbCdEf";
const APPROVAL_KEY_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:sluice-approval-key-GhIjKl";

/// What Lambda gives a function's process, plus the stack's settings (infra/template.yaml) and static
/// credentials, so building the clients reads no network (the secrets come from the stand-in at
/// `secrets_manager`).
fn environment(address: &str, binary: &str, secrets_manager: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", address.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", binary.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_SESSION_TOKEN", "test".to_string()),
        ("SLUICE_TABLE", "sluice".to_string()),
        ("SLUICE_BUCKET", "sluice-artifacts".to_string()),
        (
            "SLUICE_KMS_KEY_ARN",
            "arn:aws:kms:us-east-1:123456789012:key/bench".to_string(),
        ),
        (
            "SLUICE_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:sluice".to_string(),
        ),
        ("SLUICE_FUNCTION_PREFIX", "sluice".to_string()),
        (
            "SLUICE_STATE_MACHINE_ROLE_ARN",
            "arn:aws:iam::123456789012:role/sluice-state-machine".to_string(),
        ),
        (
            "SLUICE_EVENTS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/sluice-events".to_string(),
        ),
        ("SLUICE_EVENT_BUS", "default".to_string()),
        (
            "SLUICE_PUBLIC_URL",
            "https://abc123.execute-api.us-east-1.amazonaws.com".to_string(),
        ),
        ("SLUICE_APPROVAL_KEY_ARN", APPROVAL_KEY_ARN.to_string()),
        ("SLUICE_WEBHOOK_SECRET_ARN", WEBHOOK_SECRET_ARN.to_string()),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            secrets_manager.to_string(),
        ),
        ("RUST_LOG", "info".to_string()),
    ]
}

/// The process's resident set (VmRSS) in KiB, 0 when unreadable.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}
