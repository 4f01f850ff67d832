//! The `sluice serve` fixture the API suites share (api_cli.rs, api_sdk.rs).

// Each suite uses part of the fixture (only api_cli restarts a server).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
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
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Server {
        Server::start_with_env(extra, &[])
    }

    /// A server whose environment also holds `env` (the rest is this process's).
    pub(crate) fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = spawn(port, &data, &extra, &env);
        Server {
            child,
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
        self.child = spawn(self.port, &self.data, &self.extra, &self.env);
    }
}

/// Starts `sluice serve` and waits (boundedly) for the line saying it listens; a thread keeps draining
/// its output afterwards so it never blocks on a full pipe.
fn spawn(port: u16, data: &std::path::Path, extra: &[String], env: &[(String, String)]) -> Child {
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
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
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
