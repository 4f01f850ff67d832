//! The `sluice serve` fixture the suites share, and the aws CLI driving it (.venv/bin/aws).

// Each suite uses part of the fixture (only api_cli restarts a server).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// How long the server may take to say it listens.
const PATIENCE: Duration = Duration::from_secs(30);

/// A `sluice serve --check-responses` on a free port, stopped when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) endpoint: String,
    pub(crate) data: PathBuf,
    port: u16,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    /// Every line the server printed on standard output so far.
    pub(crate) output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Server {
        Server::start_with_env(extra, &[])
    }

    /// A server whose environment also holds `env` (the rest is this process's).
    pub(crate) fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_on(free_port(), extra, env)
    }

    /// A server on `port` (for arguments that name it, as `--public-url` may).
    pub(crate) fn start_on(port: u16, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let output = Arc::new(Mutex::new(String::new()));
        let child = spawn(port, &data, &extra, &env, &output);
        Server {
            child,
            output,
            endpoint: format!("http://127.0.0.1:{port}"),
            data,
            port,
            extra,
            env,
            _dir: dir,
        }
    }

    /// Kills the server and starts another over the same data directory and port.
    pub(crate) fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, &self.data, &self.extra, &self.env, &self.output);
    }
}

/// A port free on 127.0.0.1 now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `sluice serve` and waits (boundedly) for the line saying it listens; a thread keeps draining
/// its output afterwards so it never blocks on a full pipe.
fn spawn(
    port: u16,
    data: &std::path::Path,
    extra: &[String],
    env: &[(String, String)],
    output: &Arc<Mutex<String>>,
) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "serve",
            "--check-responses",
            "--port",
            &port.to_string(),
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (listening, ready) = mpsc::channel();
    let output = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut output) = output.lock() {
                output.push_str(&line);
                output.push('\n');
            }
            if line.starts_with("Sluice serves") {
                let _ = listening.send(());
            }
        }
    });
    if ready.recv_timeout(PATIENCE).is_err() {
        let exited = child.try_wait().unwrap();
        panic!("sluice serve did not say it listens within {PATIENCE:?} (exit status: {exited:?})");
    }
    child
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The aws CLI `make test` installs into .venv, running `codepipeline ARGS` against `server` with the
/// default test key and no configuration of the user's.
pub(crate) fn aws_command(server: &Server, args: &[&str]) -> Command {
    aws_service_command(server, "codepipeline", args)
}

/// The aws CLI running `SERVICE ARGS` (`events put-rule …`) against `server`, as [`aws_command`].
pub(crate) fn aws_service_command(server: &Server, service: &str, args: &[&str]) -> Command {
    let aws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/aws");
    assert!(
        aws.is_file(),
        "{} is missing: `make test` installs the aws CLI into .venv",
        aws.display()
    );
    let mut command = Command::new(aws);
    command
        .arg(service)
        .args(args)
        .args(["--endpoint-url", &server.endpoint, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    command
}

/// Runs `aws codepipeline ARGS`, which must succeed; its JSON answer (`{}` when it prints nothing).
pub(crate) fn aws(server: &Server, args: &[&str]) -> serde_json::Value {
    let output = aws_command(server, args).output().unwrap();
    assert!(
        output.status.success(),
        "aws codepipeline {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Runs `aws codepipeline ARGS`, which must fail with the exception `error`; its error output.
pub(crate) fn aws_fails(server: &Server, error: &str, args: &[&str]) -> String {
    let output = aws_command(server, args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(
        stderr.contains(&format!("({error})")),
        "{args:?}: expected {error}, got {stderr}"
    );
    stderr
}
