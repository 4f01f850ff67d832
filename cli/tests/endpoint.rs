//! `sluice --endpoint URL …` against a real `sluice serve` that checks signatures as API Gateway does in front
//! of a deployed stack (`--signing-name execute-api`): the real `sluice` binary creates, starts, shows, approves,
//! rejects, stops and updates pipelines through its CodePipeline SDK client, and every failure has its named
//! error and exit code. The same commands without `--endpoint` work on the data directory where they can.
//!
//! Every run of the binary is isolated from the user's AWS setup: static keys in the environment, no profile
//! files, no instance metadata. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::Server;

/// How long an execution may take to reach a state.
const PATIENCE: Duration = Duration::from_secs(60);

/// What one run of `sluice` did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `sluice ARGS` with the keys `sluice serve` accepts (`test`/`test`) and nothing from ~/.aws.
fn sluice(args: &[&str]) -> Ran {
    sluice_with(
        args,
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
}

fn sluice_with(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("SLUICE_DATA_DIR")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    // An empty value removes the variable.
    for (name, value) in env {
        if value.is_empty() {
            command.env_remove(name);
        } else {
            command.env(name, value);
        }
    }
    let output: Output = command.output().unwrap();
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

impl Server {
    /// `sluice --endpoint <this server> ARGS`.
    fn call(&self, args: &[&str]) -> Ran {
        let mut all = vec!["--endpoint", self.endpoint.as_str()];
        all.extend_from_slice(args);
        sluice(&all)
    }

    /// A call that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let ran = self.call(args);
        assert_eq!(ran.code, Some(0), "sluice --endpoint … {args:?}: {ran:?}");
        ran.stdout
    }

    /// Polls `status PIPELINE` until its output holds `text`; returns that output.
    fn status_until(&self, pipeline: &str, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let shown = self.ok(&["status", pipeline]);
            if shown.contains(text) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "status {pipeline} never showed {text:?}; last:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The S3 source's folder: `<data-dir>/s3/inbox/app`.
    fn with_inbox(self) -> Server {
        std::fs::create_dir_all(self.data.join("s3/inbox/app")).unwrap();
        std::fs::write(self.data.join("s3/inbox/app/index.html"), "hi").unwrap();
        self
    }
}

/// A pipeline of an S3 source (a bucket folder, so nothing leaves the machine) and a manual approval.
fn gated(custom_data: &str) -> Value {
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
                "configuration": {"CustomData": custom_data}
            }]}
        ]
    }})
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_gated_pipeline_is_created_run_approved_updated_and_stopped_through_the_endpoint() {
    let server = Server::start(&["--signing-name", "execute-api"]).with_inbox();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "gated.json", &gated("Ship it?").to_string());

    assert_eq!(server.ok(&["list"]), "No pipelines\n");
    assert_eq!(
        server.ok(&["create", path(&file)]),
        "Created pipeline Gated, version 1\n"
    );
    let again = server.call(&["create", path(&file)]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(
        again
            .stderr
            .starts_with("sluice create: PipelineNameInUseException: "),
        "{again:?}"
    );
    let listed = server.ok(&["list"]);
    let rows: Vec<&str> = listed.lines().collect();
    assert!(
        rows.len() == 2 && rows[0].starts_with("NAME") && rows[1].starts_with("Gated "),
        "{listed}"
    );
    assert!(
        rows[1].contains(" 1 ") && rows[1].contains(" V1 "),
        "{listed}"
    );

    // Start, see the approval wait, approve it, see the execution succeed.
    let id = server.ok(&["start", "Gated"]).trim().to_string();
    assert_eq!(id.len(), 36, "an execution id: {id:?}");
    let waiting = server.status_until("Gated", "waiting for approval");
    let hint = format!(
        "waiting for approval: sluice --endpoint {} approve Gated Approve Review",
        server.endpoint
    );
    assert!(waiting.contains(&hint), "{waiting}");
    let review = waiting
        .lines()
        .find(|l| l.trim_start().starts_with("Review"))
        .unwrap();
    assert!(review.contains("InProgress"), "{waiting}");
    assert!(
        waiting.contains(&format!("Latest execution {id}: InProgress")),
        "{waiting}"
    );
    assert_eq!(
        server.ok(&[
            "approve",
            "Gated",
            "Approve",
            "Review",
            "--summary",
            "looks good"
        ]),
        "Approved Gated/Approve/Review\n"
    );
    let done = server.status_until("Gated", &format!("Latest execution {id}: Succeeded"));
    assert!(!done.contains("waiting for approval"), "{done}");
    let nothing = server.call(&["approve", "Gated", "Approve", "Review"]);
    assert_eq!(nothing.code, Some(1), "{nothing:?}");
    assert!(
        nothing.stderr.contains(
            "no approval of action Review in stage Approve of pipeline Gated is waiting for a decision"
        ),
        "{nothing:?}"
    );

    // Update from get-pipeline-like output: its metadata is not sent.
    let mut edited = gated("Really ship it?");
    edited["metadata"] =
        json!({"pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:Gated"});
    let edited = write(dir.path(), "edited.json", &edited.to_string());
    assert_eq!(
        server.ok(&["update", path(&edited)]),
        "Updated pipeline Gated, version 2\n"
    );

    // A rejection fails the execution.
    let rejected = server.ok(&["start", "Gated"]).trim().to_string();
    server.status_until("Gated", &format!("Latest execution {rejected}: InProgress"));
    server.status_until("Gated", "waiting for approval");
    assert_eq!(
        server.ok(&["reject", "Gated", "Approve", "Review", "--summary", "no"]),
        "Rejected Gated/Approve/Review\n"
    );
    server.status_until("Gated", &format!("Latest execution {rejected}: Failed"));

    // Stop and abandon a waiting approval; a second stop is refused.
    let second = server.ok(&["start", "Gated"]).trim().to_string();
    server.status_until("Gated", &format!("Latest execution {second}: InProgress"));
    server.status_until("Gated", "waiting for approval");
    assert_eq!(
        server.ok(&[
            "stop",
            "Gated",
            &second,
            "--abandon",
            "--reason",
            "not today"
        ]),
        format!("Stopping pipeline execution {second} of Gated (abandoning its running actions)\n")
    );
    server.status_until("Gated", &format!("Latest execution {second}: Stopped"));
    let stopped = server.call(&["stop", "Gated", &second]);
    assert_eq!(stopped.code, Some(1), "{stopped:?}");
    assert!(
        stopped
            .stderr
            .starts_with("sluice stop: PipelineExecutionNotStoppableException: "),
        "{stopped:?}"
    );
}

/// API Gateway refuses a signature whose credential scope names `codepipeline`; the user is told what to change.
#[test]
fn a_signature_for_the_wrong_service_is_refused_with_exit_2_and_the_reason() {
    let gateway = Server::start(&["--signing-name", "execute-api"]);
    let refused = gateway.call(&["--signing-name", "codepipeline", "list"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused.stderr.starts_with(
            "sluice list: InvalidSignatureException: Credential should be scoped to correct service: 'execute-api'"
        ),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("--signing-name"), "{refused:?}");

    // `sluice serve` checks `codepipeline` unless told otherwise: the default execute-api is refused there,
    // and --signing-name codepipeline is what works.
    let serve = Server::start(&[]);
    let refused = serve.call(&["list"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("Credential should be scoped to correct service: 'codepipeline'"),
        "{refused:?}"
    );
    assert_eq!(
        serve.ok(&["--signing-name", "codepipeline", "list"]),
        "No pipelines\n"
    );

    // A signature is good for the server's Region only (us-east-1 here).
    let refused = serve.call(&[
        "--signing-name",
        "codepipeline",
        "--region",
        "eu-west-1",
        "list",
    ]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused.stderr.starts_with(
            "sluice list: InvalidSignatureException: Credential should be scoped to a valid region, not 'eu-west-1'."
        ) && refused.stderr.contains("--region"),
        "{refused:?}"
    );

    // An unknown key is the caller's setup too.
    let unknown = sluice_with(
        &["--endpoint", &gateway.endpoint, "list"],
        &[
            ("AWS_ACCESS_KEY_ID", "nobody"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ],
    );
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(
        unknown
            .stderr
            .starts_with("sluice list: UnrecognizedClientException: "),
        "{unknown:?}"
    );
}

/// One HTTP request as it arrived: its head, lower-cased header names.
struct Recorded {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Recorded {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Accepts one connection and records its request. The answer is ListPipelines' empty list, so the client
/// finishes normally; this only looks at what was signed (`sluice serve` does not check the scope's Region).
fn record_one_request(listener: std::net::TcpListener) -> std::thread::JoinHandle<Recorded> {
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut reader = BufReader::new(socket);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let recorded = Recorded {
            request_line: request_line.trim_end().to_string(),
            headers,
        };
        let length: usize = recorded.header("content-length").parse().unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = br#"{"pipelines":[]}"#;
        let mut socket = reader.into_inner();
        write!(
            socket,
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nx-amzn-requestid: recorded\r\n\r\n",
            answer.len()
        )
        .unwrap();
        socket.write_all(answer).unwrap();
        socket.flush().unwrap();
        recorded
    })
}

fn recorded_list(args: &[&str], env: &[(&str, &str)]) -> Recorded {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let recorder = record_one_request(listener);
    let mut all = vec!["--endpoint", endpoint.as_str()];
    all.extend_from_slice(args);
    all.push("list");
    let mut env = env.to_vec();
    env.extend([
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]);
    let ran = sluice_with(&all, &env);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.stdout, "No pipelines\n");
    recorder.join().unwrap()
}

#[test]
fn requests_are_signed_for_execute_api_in_the_given_region() {
    let request = recorded_list(&["--region", "eu-west-3"], &[]);
    assert_eq!(request.request_line, "POST / HTTP/1.1");
    assert_eq!(
        request.header("x-amz-target"),
        "CodePipeline_20150709.ListPipelines"
    );
    let authorization = request.header("authorization");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=test/")
            && authorization.contains("/eu-west-3/execute-api/aws4_request"),
        "{authorization}"
    );

    // Without --region: the environment's, as the aws CLI has it.
    let request = recorded_list(&[], &[("AWS_REGION", "ap-south-1")]);
    assert!(
        request
            .header("authorization")
            .contains("/ap-south-1/execute-api/aws4_request"),
        "{}",
        request.header("authorization")
    );
    let request = recorded_list(&["--signing-name", "codepipeline"], &[]);
    assert!(
        request
            .header("authorization")
            .contains("/us-east-1/codepipeline/aws4_request"),
        "{}",
        request.header("authorization")
    );
}

#[test]
fn bad_input_gets_the_named_error_and_exit_code() {
    let server = Server::start(&["--signing-name", "execute-api"]);
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.json");
    let ran = server.call(&["create", path(&missing)]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.starts_with("sluice create: ") && ran.stderr.contains("cannot read the file"),
        "{ran:?}"
    );

    let broken = write(
        dir.path(),
        "broken.json",
        "{\n  \"pipeline\": {\"name\": \n",
    );
    let ran = server.call(&["update", path(&broken)]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("not valid JSON at line 3"), "{ran:?}");

    // The API judges the declaration, as it does the aws CLI's.
    let invalid = write(
        dir.path(),
        "invalid.json",
        r#"{"pipeline": {"name": "x", "roleArn": "arn:aws:iam::123456789012:role/p", "stages": [], "colour": "blue"}}"#,
    );
    let ran = server.call(&["create", path(&invalid)]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stderr.starts_with("sluice create: ") && ran.stderr.contains("Exception: "),
        "{ran:?}"
    );
    assert_eq!(
        server.ok(&["list"]),
        "No pipelines\n",
        "nothing was created"
    );

    for (args, command) in [
        (vec!["status", "Nope"], "status"),
        (vec!["start", "Nope"], "start"),
        (vec!["approve", "Nope", "Approve", "Review"], "approve"),
    ] {
        let ran = server.call(&args);
        assert_eq!(ran.code, Some(1), "{args:?}: {ran:?}");
        assert!(
            ran.stderr
                .starts_with(&format!("sluice {command}: PipelineNotFoundException: "))
                && ran.stderr.contains("'Nope'"),
            "{args:?}: {ran:?}"
        );
    }

    // Names that are not in the pipeline.
    let server = server.with_inbox();
    let file = write(dir.path(), "gated.json", &gated("ok").to_string());
    server.ok(&["create", path(&file)]);
    let ran = server.call(&["approve", "Gated", "Deploy", "Review"]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stderr
            .contains("pipeline Gated has no stage Deploy (its stages: Source, Approve)"),
        "{ran:?}"
    );
    let ran = server.call(&["approve", "Gated", "Approve", "Nobody"]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stderr.contains("has no action Nobody"), "{ran:?}");
    let ran = server.call(&["stop", "Gated", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stderr
            .starts_with("sluice stop: PipelineExecutionNotFoundException: "),
        "{ran:?}"
    );
    let ran = server.call(&["start", "Gated", "--var", "novalue"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("expected NAME=VALUE"), "{ran:?}");
}

#[test]
fn an_api_that_cannot_be_called_exits_2_with_the_cause() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let ran = sluice(&["--endpoint", &endpoint, "list"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.starts_with("sluice list: the call failed: ")
            && ran.stderr.to_lowercase().contains("connection refused"),
        "{ran:?}"
    );

    let ran = sluice(&["--endpoint", "127.0.0.1:4570", "list"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("expected an http:// or https:// URL"),
        "{ran:?}"
    );

    let server = Server::start(&["--signing-name", "execute-api"]);
    let ran = sluice_with(&["--endpoint", &server.endpoint, "list"], &[]);
    assert_eq!(ran.code, Some(2), "no credentials: {ran:?}");
    assert!(
        ran.stderr.starts_with("sluice list: the call failed: ")
            && ran.stderr.to_lowercase().contains("credentials"),
        "{ran:?}"
    );

    let ran = sluice_with(
        &["--endpoint", &server.endpoint, "list"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_DEFAULT_REGION", ""),
        ],
    );
    assert_eq!(ran.code, Some(2), "no Region: {ran:?}");
    assert!(ran.stderr.contains("no Region to sign for"), "{ran:?}");
}

#[test]
fn local_commands_refuse_the_endpoint_and_remote_ones_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "gated.json", &gated("ok").to_string());
    let file = path(&file);
    for args in [
        vec!["run", file],
        vec!["validate", file],
        vec!["render", file],
        vec!["serve"],
        vec!["asl", "validate", file],
        vec!["aws-model"],
    ] {
        let mut all = vec!["--endpoint", "http://127.0.0.1:9"];
        all.extend_from_slice(&args);
        let ran = sluice(&all);
        assert_eq!(ran.code, Some(2), "{args:?}: {ran:?}");
        assert!(
            ran.stderr.starts_with(&format!(
                "sluice {}: --endpoint http://127.0.0.1:9 does not apply: ",
                args[0]
            )),
            "{args:?}: {ran:?}"
        );
        assert!(ran.stdout.is_empty(), "{args:?} did nothing: {ran:?}");
    }

    let data = dir.path().join("data");
    let data = path(&data);
    for args in [
        vec!["start", "Gated"],
        vec!["stop", "Gated", "id"],
        vec!["create", file],
        vec!["update", file],
    ] {
        let ran = sluice_with(&args, &[("SLUICE_DATA_DIR", data)]);
        assert_eq!(ran.code, Some(2), "{args:?}: {ran:?}");
        assert!(
            ran.stderr
                .starts_with(&format!("sluice {}: needs --endpoint URL: ", args[0])),
            "{args:?}: {ran:?}"
        );
    }
    assert!(!Path::new(data).exists(), "nothing was written locally");

    // The signing options go with --endpoint only; --data-dir and --endpoint exclude each other.
    let ran = sluice(&["--region", "eu-west-1", "list"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("--endpoint"), "{ran:?}");
    let ran = sluice(&[
        "--endpoint",
        "http://127.0.0.1:9",
        "list",
        "--data-dir",
        data,
    ]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("give one of them"), "{ran:?}");
}

/// Without --endpoint, `status`, `list` and `approve` read and decide on the data directory of the process
/// that runs the pipelines, through the API's handlers: the same table as through the API.
#[test]
fn status_list_and_approve_work_on_the_data_directory_too() {
    let server = Server::start(&[]).with_inbox();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "gated.json", &gated("Ship it?").to_string());
    let remote = |args: &[&str]| {
        let mut all = vec!["--signing-name", "codepipeline"];
        all.extend_from_slice(args);
        server.ok(&all)
    };
    let data = server.data.clone();
    let local = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", path(&data)]);
        let ran = sluice(&all);
        assert_eq!(ran.code, Some(0), "{args:?}: {ran:?}");
        ran.stdout
    };
    remote(&["create", path(&file)]);
    assert_eq!(local(&["list"]), remote(&["list"]));
    let id = remote(&["start", "Gated"]).trim().to_string();
    let deadline = Instant::now() + PATIENCE;
    let waiting = loop {
        let shown = local(&["status", "Gated"]);
        if shown.contains("waiting for approval") {
            break shown;
        }
        assert!(Instant::now() < deadline, "never waited:\n{shown}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        waiting.contains(&format!(
            "waiting for approval: sluice approve Gated Approve Review --data-dir {}",
            data.display()
        )),
        "{waiting}"
    );
    assert_eq!(
        local(&["approve", "Gated", "Approve", "Review"]),
        "Approved Gated/Approve/Review\n"
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let shown = remote(&["status", "Gated"]);
        // `status` asks GetPipelineState, then ListPipelineExecutions: a reading taken as the run ends may
        // show the stages from before its end and the execution from after. Compare once all has ended.
        if shown.contains(&format!("Latest execution {id}: Succeeded"))
            && !shown.contains("InProgress")
        {
            assert_eq!(local(&["status", "Gated"]), shown, "one table both ways");
            break;
        }
        assert!(Instant::now() < deadline, "never succeeded:\n{shown}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let missing = sluice(&["status", "Nope", "--data-dir", path(&data)]);
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(
        missing
            .stderr
            .starts_with("sluice status: PipelineNotFoundException: "),
        "{missing:?}"
    );
    let empty = dir.path().join("empty");
    let unusable = sluice(&["list", "--data-dir", path(&empty)]);
    assert_eq!(unusable.code, Some(2), "{unusable:?}");
    assert!(
        unusable.stderr.contains("no sluice.db here"),
        "{unusable:?}"
    );
}
