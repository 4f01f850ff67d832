//! Secrets kept secret, against the real `sluice serve` driven by the aws CLI (.venv/bin/aws): the data
//! directory and the files holding secrets are private to the server's user.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

mod common;
use common::Server;

fn aws(server: &Server, args: &[&str]) -> Value {
    let aws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/aws");
    assert!(
        aws.is_file(),
        "{} is missing: `make test` installs the aws CLI into .venv",
        aws.display()
    );
    let output = Command::new(aws)
        .arg("codepipeline")
        .args(args)
        .args(["--endpoint-url", &server.endpoint, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aws codepipeline {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

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
