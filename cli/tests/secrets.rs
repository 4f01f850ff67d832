//! Secrets kept secret, against the real `sluice serve` driven by the aws CLI (.venv/bin/aws): the data
//! directory and the files holding secrets are private to the server's user; builds and local functions
//! see a defined environment, not the server's; secret configuration values and webhook tokens are
//! masked in every answer and sealed at rest.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, aws, aws_fails};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The data directory's files that hold secrets: the credentials, the store and its journal files.
fn private_files(data: &Path) -> Vec<PathBuf> {
    [
        "credentials.json",
        "sluice.db",
        "sluice.db-wal",
        "sluice.db-shm",
    ]
    .iter()
    .map(|name| data.join(name))
    .collect()
}

/// A small S3-source pipeline, so the store has written (and its -wal and -shm exist).
fn create_pipeline(server: &Server, name: &str) {
    let file = server.data.with_file_name(format!("{name}.json"));
    let pipeline = json!({"pipeline": {
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Approve", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    }});
    std::fs::write(&file, pipeline.to_string()).unwrap();
    aws(
        server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
}

#[test]
fn the_data_directory_is_0700_and_credentials_and_store_0600_and_looser_ones_are_tightened() {
    let mut server = Server::start(&[]);
    create_pipeline(&server, "First");
    assert_eq!(mode(&server.data), 0o700);
    for file in private_files(&server.data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    // As an older Sluice, a `cp -r` or a loose umask would leave them: the next start tightens them.
    std::fs::set_permissions(&server.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in private_files(&server.data) {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    server.restart();
    create_pipeline(&server, "Second");
    assert_eq!(mode(&server.data), 0o700);
    for file in private_files(&server.data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let names: Vec<Value> = aws(&server, &["list-pipelines"])["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("First"), json!("Second")]);
}

/// How long an execution may take here.
const PATIENCE: Duration = Duration::from_secs(60);

fn wait_for_status(server: &Server, pipeline: &str, id: &str, status: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let execution = aws(
            server,
            &[
                "get-pipeline-execution",
                "--pipeline-name",
                pipeline,
                "--pipeline-execution-id",
                id,
            ],
        );
        if execution["pipelineExecution"]["status"] == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never reached {status}: {execution}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A random-enough marker, so a value found can only have come from this test.
fn marker(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// S3 source → a Commands action that runs `env` into its log and into `env.txt` of its output artifact,
/// beside a local function that writes its environment to `function_env` → an S3 deploy extracting the
/// artifact into the bucket folder `out`.
fn env_probe_pipeline(name: &str) -> Value {
    json!({"pipeline": {
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Run", "actions": [{
                "name": "Env",
                "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "commands": ["env", "env | sort > env.txt"],
                "environmentVariables": [{"name": "GREETING", "value": "hello-from-the-action"}],
                "inputArtifacts": [{"name": "Src"}],
                "outputArtifacts": [{"name": "Env", "files": ["env.txt"]}]
            }, {
                "name": "Function",
                "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
                "configuration": {"FunctionName": "probe"}
            }]},
            {"name": "Deploy", "actions": [{
                "name": "Publish",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"BucketName": "out", "Extract": "true"},
                "inputArtifacts": [{"name": "Env"}]
            }]}
        ]
    }})
}

/// The `sluice.json` of the probe: the function writes its environment to `function_env`.
fn probe_config(dir: &Path, function_env: &Path, pass: &[&str]) -> PathBuf {
    let path = dir.join("sluice.json");
    let mut config = json!({
        "functions": {"probe": {"command": format!("env > {}", function_env.display())}}
    });
    if !pass.is_empty() {
        config["passEnvironment"] = json!(pass);
    }
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// What the build and the function saw, each as `env` printed it: the build's log, the `env.txt` of its
/// output artifact (as deployed), and the function's.
struct Seen {
    log: String,
    artifact: String,
    function: String,
}

impl Seen {
    fn read(data: &Path, pipeline: &str, execution: &str, function_env: &Path) -> Seen {
        let log = data
            .join("logs")
            .join(pipeline)
            .join(execution)
            .join("Run.Env.log");
        Seen {
            log: std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display())),
            artifact: std::fs::read_to_string(data.join("s3/out/env.txt")).unwrap(),
            function: std::fs::read_to_string(function_env).unwrap(),
        }
    }

    fn each(&self) -> [(&str, &str); 3] {
        [
            ("log", &self.log),
            ("artifact", &self.artifact),
            ("function", &self.function),
        ]
    }

    fn assert_defined(&self, secret: &str, other: &str, other_passed: bool) {
        for (what, text) in self.each() {
            assert!(
                !text.contains(secret),
                "{what} shows the server's secret:\n{text}"
            );
            assert!(
                !text.contains("AWS_SECRET_ACCESS_KEY="),
                "{what} has AWS_SECRET_ACCESS_KEY:\n{text}"
            );
            assert_eq!(
                text.contains(&format!("SLUICE_PROBE_OTHER={other}")),
                other_passed,
                "{what}, SLUICE_PROBE_OTHER passed: {other_passed}:\n{text}"
            );
            assert!(
                text.contains("\nPATH=") || text.starts_with("PATH="),
                "{what} has a PATH:\n{text}"
            );
            assert!(
                !text.contains("CARGO_"),
                "{what} has the test's own variables:\n{text}"
            );
        }
        for (what, text) in [("log", &self.log), ("artifact", &self.artifact)] {
            assert!(
                text.contains("GREETING=hello-from-the-action"),
                "{what} lacks the action's variable:\n{text}"
            );
            assert!(text.contains("CODEBUILD_SRC_DIR="), "{what}:\n{text}");
        }
    }
}

fn probe_serve(pass: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (secret, other) = (marker("sekrit"), marker("other"));
    let function_env = dir.path().join("function-env.txt");
    let config = probe_config(dir.path(), &function_env, pass);
    let server = Server::start_with_env(
        &["--config", config.to_str().unwrap()],
        &[
            ("AWS_SECRET_ACCESS_KEY", &secret),
            ("SLUICE_PROBE_OTHER", &other),
        ],
    );
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let file = dir.path().join("pipeline.json");
    std::fs::write(&file, env_probe_pipeline("Probe").to_string()).unwrap();
    aws(
        &server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    );
    let id = aws(&server, &["start-pipeline-execution", "--name", "Probe"])["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_status(&server, "Probe", &id, "Succeeded");
    Seen::read(&server.data, "Probe", &id, &function_env).assert_defined(
        &secret,
        &other,
        !pass.is_empty(),
    );
}

#[test]
fn builds_and_functions_of_sluice_serve_see_none_of_the_servers_environment_but_the_defined_part() {
    probe_serve(&[]);
}

#[test]
fn a_variable_sluice_json_passes_reaches_builds_and_functions_and_the_others_still_do_not() {
    probe_serve(&["SLUICE_PROBE_OTHER"]);
}

#[test]
fn builds_and_functions_of_sluice_run_see_only_the_defined_environment_too() {
    for pass in [&[][..], &["SLUICE_PROBE_OTHER"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let (secret, other) = (marker("sekrit"), marker("other"));
        let function_env = dir.path().join("function-env.txt");
        let config = probe_config(dir.path(), &function_env, pass);
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
        std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
        let file = dir.path().join("pipeline.json");
        std::fs::write(&file, env_probe_pipeline("Probe").to_string()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .arg(&file)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("SLUICE_PROBE_OTHER", &other)
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0), "{printed}");
        let logs = data.join("logs/Probe");
        let execution = std::fs::read_dir(&logs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name();
        Seen::read(&data, "Probe", execution.to_str().unwrap(), &function_env).assert_defined(
            &secret,
            &other,
            !pass.is_empty(),
        );
    }
}

/// The secrets of the secrets test, each unique to the run.
struct Secrets {
    oauth_token: String,
    api_key: String,
    webhook_token: String,
}

impl Secrets {
    fn new() -> Secrets {
        Secrets {
            oauth_token: marker("ghp-oauth"),
            api_key: marker("api-key"),
            webhook_token: marker("hmac"),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.oauth_token, &self.api_key, &self.webhook_token]
    }

    /// Fails if `text` shows any of the secrets.
    fn assert_absent(&self, what: &str, text: &str) {
        for secret in self.all() {
            assert!(!text.contains(secret), "{what} shows a secret: {text}");
        }
    }
}

/// A GitHub (v1) source with an OAuthToken, then a custom action whose `ApiKey` property is secret.
fn secret_pipeline(secrets: &Secrets, repo: &str) -> Value {
    json!({"pipeline": {
        "name": "Guarded",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "guarded-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                "configuration": {"Owner": "octo", "Repo": repo, "Branch": "main",
                                  "OAuthToken": secrets.oauth_token, "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Ship", "actions": [{
                "name": "Ship",
                "actionTypeId": {"category": "Deploy", "owner": "Custom", "provider": "Shipper", "version": "1"},
                "configuration": {"Target": "prod", "ApiKey": secrets.api_key},
                "inputArtifacts": [{"name": "Src"}]
            }]}
        ]
    }})
}

fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    format!("file://{}", path.display())
}

fn configuration_of<'a>(pipeline: &'a Value, action: &str) -> &'a Value {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap())
        .find(|a| a["name"] == action)
        .map(|a| &a["configuration"])
        .unwrap()
}

/// Runs the pipeline once: the custom action's job is polled, its secret checked, and reported done.
fn run_once(server: &Server, secrets: &Secrets) -> String {
    let id = aws(server, &["start-pipeline-execution", "--name", "Guarded"])["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + PATIENCE;
    let job = loop {
        let jobs = aws(
            server,
            &[
                "poll-for-jobs",
                "--action-type-id",
                "category=Deploy,owner=Custom,provider=Shipper,version=1",
                "--max-batch-size",
                "1",
            ],
        )["jobs"]
            .clone();
        if let Some(job) = jobs.as_array().unwrap().first() {
            break job.clone();
        }
        assert!(Instant::now() < deadline, "no job for the custom action");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Where the secret is used, it is there: the job worker gets it (as CodePipeline gives it).
    assert_eq!(
        job["data"]["actionConfiguration"]["configuration"]["ApiKey"],
        secrets.api_key.as_str(),
        "{job}"
    );
    let job_id = job["id"].as_str().unwrap();
    aws(
        server,
        &[
            "acknowledge-job",
            "--job-id",
            job_id,
            "--nonce",
            job["nonce"].as_str().unwrap(),
        ],
    );
    aws(server, &["put-job-success-result", "--job-id", job_id]);
    wait_for_status(server, "Guarded", &id, "Succeeded");
    id
}

#[test]
fn secret_configuration_and_webhook_tokens_are_masked_in_every_answer_and_the_mask_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Secrets::new();
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("index.html"), "hi").unwrap();
    let config = dir.path().join("sluice.json");
    std::fs::write(
        &config,
        json!({"sources": {"octo/app": app.to_str().unwrap()}}).to_string(),
    )
    .unwrap();
    let server = Server::start(&["--config", config.to_str().unwrap()]);

    aws(
        &server,
        &[
            "create-custom-action-type",
            "--category",
            "Deploy",
            "--provider",
            "Shipper",
            "--action-version",
            "1",
            "--configuration-properties",
            "name=Target,required=true,key=true,secret=false",
            "name=ApiKey,required=true,key=false,secret=true",
            "--input-artifact-details",
            "minimumCount=1,maximumCount=1",
            "--output-artifact-details",
            "minimumCount=0,maximumCount=0",
        ],
    );
    let pipeline = secret_pipeline(&secrets, "app");
    let created = aws(
        &server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &write_json(dir.path(), "pipeline.json", &pipeline),
        ],
    );
    secrets.assert_absent("create-pipeline", &created.to_string());
    assert_eq!(
        configuration_of(&created["pipeline"], "Source")["OAuthToken"],
        "****"
    );

    let webhook = json!({"webhook": {
        "name": "guarded-push",
        "targetPipeline": "Guarded",
        "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
        "authentication": "GITHUB_HMAC",
        "authenticationConfiguration": {"SecretToken": secrets.webhook_token}
    }});
    let put = aws(
        &server,
        &[
            "put-webhook",
            "--cli-input-json",
            &write_json(dir.path(), "webhook.json", &webhook),
        ],
    );
    secrets.assert_absent("put-webhook", &put.to_string());
    assert_eq!(
        put["webhook"]["definition"]["authenticationConfiguration"]["SecretToken"],
        "****"
    );
    let listed = aws(&server, &["list-webhooks"]);
    secrets.assert_absent("list-webhooks", &listed.to_string());
    assert_eq!(
        listed["webhooks"][0]["definition"]["authenticationConfiguration"]["SecretToken"],
        "****"
    );

    let id = run_once(&server, &secrets);
    let got = aws(&server, &["get-pipeline", "--name", "Guarded"]);
    secrets.assert_absent("get-pipeline", &got.to_string());
    assert_eq!(
        configuration_of(&got["pipeline"], "Source")["OAuthToken"],
        "****"
    );
    assert_eq!(configuration_of(&got["pipeline"], "Source")["Repo"], "app");
    assert_eq!(configuration_of(&got["pipeline"], "Ship")["ApiKey"], "****");
    let actions = aws(
        &server,
        &["list-action-executions", "--pipeline-name", "Guarded"],
    );
    secrets.assert_absent("list-action-executions", &actions.to_string());
    let details = actions["actionExecutionDetails"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{actions}");
    for detail in details {
        let key = if detail["actionName"] == "Source" {
            "OAuthToken"
        } else {
            "ApiKey"
        };
        assert_eq!(detail["input"]["configuration"][key], "****", "{detail}");
        assert_eq!(
            detail["input"]["resolvedConfiguration"][key], "****",
            "{detail}"
        );
    }

    // get-pipeline's answer sent back as it is keeps the secrets: the next run's job has the key.
    let mut update = json!({"pipeline": got["pipeline"].clone()});
    let updated = aws(
        &server,
        &[
            "update-pipeline",
            "--cli-input-json",
            &write_json(dir.path(), "update.json", &update),
        ],
    );
    secrets.assert_absent("update-pipeline", &updated.to_string());
    assert_eq!(updated["pipeline"]["version"], 2);
    let second = run_once(&server, &secrets);
    assert_ne!(id, second);

    // The mask with another value of the action changed stands for nothing: refused, nothing changes.
    update["pipeline"]["stages"][0]["actions"][0]["configuration"]["Repo"] = json!("elsewhere");
    update["pipeline"]["version"] = json!(2);
    let refused = aws_fails(
        &server,
        "InvalidActionDeclarationException",
        &[
            "update-pipeline",
            "--cli-input-json",
            &write_json(dir.path(), "retarget.json", &update),
        ],
    );
    assert!(refused.contains("OAuthToken"), "{refused}");
    assert!(refused.contains("Repo"), "{refused}");
    let after = aws(&server, &["get-pipeline", "--name", "Guarded"]);
    assert_eq!(after["pipeline"]["version"], 2);

    // At rest: no file of the data directory holds a secret in clear — not the store (sealed) with its
    // write-ahead log, not the events, the logs or the engine's state. The key file is the one that opens
    // the sealed records.
    let files = walkdir(&server.data);
    for name in ["sluice.db", "sluice.db-wal", "events.jsonl", "sluice.key"] {
        assert!(files.contains(&server.data.join(name)), "{name}: {files:?}");
    }
    for file in files.iter().filter(|f| !f.ends_with("sluice.key")) {
        let bytes = std::fs::read(file).unwrap();
        for secret in secrets.all() {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret}",
                file.display()
            );
        }
    }
    // The stored records still hold them, for the server that uses them: opened with the key.
    let store = sluice_local::store::SqliteStore::open(&server.data.join("sluice.db")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (stored, hook) = runtime.block_on(async {
        use sluice_core::port::PipelineStore;
        use sluice_core::port::ResourceStore;
        (
            store.pipeline("Guarded").await.unwrap().unwrap(),
            store
                .resource("webhook", "guarded-push")
                .await
                .unwrap()
                .unwrap()
                .0,
        )
    });
    assert_eq!(stored.version(), 2);
    assert_eq!(
        stored.declaration.stages[0].actions[0].configuration["OAuthToken"],
        secrets.oauth_token
    );
    assert_eq!(
        stored.declaration.stages[1].actions[0].configuration["ApiKey"],
        secrets.api_key
    );
    assert_eq!(
        hook["definition"]["authenticationConfiguration"]["SecretToken"],
        secrets.webhook_token.as_str()
    );
}

/// Every file under `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                todo.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}
