//! moto_server for the AWS adapters' suites: one server per test, on a free 127.0.0.1 port, stopped when
//! dropped. `make test` installs moto into the workspace's `.venv` (PyPI `moto[server]`, pinned).

// Each suite uses part of the fixture.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice_aws::config::{AwsConfig, Endpoint};

/// How long moto may take to answer (it starts in about 0.3 s here).
const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) struct Moto {
    child: Child,
    pub(crate) port: u16,
    pub(crate) url: String,
}

impl Moto {
    pub(crate) fn start() -> Moto {
        let program = moto_server();
        assert!(
            program.exists(),
            "{} is missing: run `make test` (it installs moto[server] into .venv)",
            program.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let moto = Moto {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + PATIENCE;
        while moto.get("/moto-api/").is_none() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// The SDK configuration that talks to this server.
    pub(crate) async fn config(&self) -> AwsConfig {
        AwsConfig::for_endpoint(&Endpoint {
            url: self.url.clone(),
            region: "us-east-1".to_string(),
            access_key_id: "test".to_string(),
            secret_access_key: "test".to_string(),
        })
        .await
    }

    /// Switches on moto's ASL interpreter for state machines created afterwards: its default,
    /// `"stepfunctions": {"execute_state_machine": false}` in moto/core/config.py
    /// (https://github.com/getmoto/moto), leaves every execution RUNNING.
    pub(crate) fn execute_state_machines(&self) {
        let status = self.post(
            "/moto-api/config",
            r#"{"stepfunctions": {"execute_state_machine": true}}"#,
        );
        assert_eq!(
            status,
            Some(201),
            "moto accepts the Step Functions switch (201 Created)"
        );
    }

    fn get(&self, path: &str) -> Option<u16> {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        ))
    }

    fn post(&self, path: &str, body: &str) -> Option<u16> {
        self.request(&format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        ))
    }

    /// One plain HTTP/1.1 exchange; the status code, or None when the server does not answer.
    fn request(&self, request: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
}
