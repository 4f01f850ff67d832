//! Pattern 2 decided in a browser: a real `sluice serve` runs examples/multi-environment (Source → Build
//! → Test → Deploy-Dev → Approval → Deploy-Prod) from a git repository, and headless Chromium (Debian's
//! /usr/bin/chromium, which .ci/run installs, driven by npm's playwright-core: tests/browser/approve.mjs)
//! opens the approval link GetPipelineState gives (read with the aws CLI). Loading the page twice decides
//! nothing; filling in the form and pressing Approve lets the execution deploy to production.
//!
//! The screenshot of the filled-in page goes to a temporary folder, or with SLUICE_UPDATE_SCREENSHOT=1
//! to docs/approval-page.png, the one the README shows.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{Server, aws};

/// Debian's Chromium, where the script launches it.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a step may take before the test gives up: the builds run python3 on a busy machine.
const PATIENCE: Duration = Duration::from_secs(120);
const PIPELINE: &str = "MultiEnvironmentPipeline";
const REVIEWER: &str = "Ada Lovelace";
const SUMMARY: &str = "Dev looks right: the releases page lists this commit.";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The approval action's state in GetPipelineState.
fn approval(server: &Server) -> Value {
    let state = aws(server, &["get-pipeline-state", "--name", PIPELINE]);
    state["stageStates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stageName"] == "Approval")
        .unwrap()["actionStates"][0]
        .clone()
}

fn execution_status(server: &Server, id: &str) -> String {
    aws(
        server,
        &[
            "get-pipeline-execution",
            "--pipeline-name",
            PIPELINE,
            "--pipeline-execution-id",
            id,
        ],
    )["pipelineExecution"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls `until` every 200 ms for at most [`PATIENCE`]; `what` names it when it never holds.
fn wait(what: &str, mut until: impl FnMut() -> Option<String>) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = until() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_reviewer_approves_pattern_2_in_chromium_after_two_loads_that_decided_nothing() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: this test drives Debian's Chromium, which .ci/run installs \
         (apt-get install chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("my-web-app");
    copy_dir(&examples().join("multi-environment/app"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "List the 1.4 release"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    // The example's own configuration, with the repository at the copy made above.
    let mut config: Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("multi-environment/sluice.json")).unwrap(),
    )
    .unwrap();
    config["sources"]["my-org/my-web-app"] = Value::String(repo.display().to_string());
    let config_file = dir.path().join("sluice.json");
    std::fs::write(&config_file, config.to_string()).unwrap();

    let server = Server::start(&["--config", config_file.to_str().unwrap()]);
    let pipeline = examples().join("multi-environment/pipeline.json");
    aws(
        &server,
        &[
            "create-pipeline",
            "--cli-input-json",
            &format!("file://{}", pipeline.display()),
        ],
    );
    let id = aws(&server, &["start-pipeline-execution", "--name", PIPELINE])["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let url = wait("the approval waits with a link to its page", || {
        approval(&server)["latestExecution"]["externalExecutionUrl"]
            .as_str()
            .map(str::to_string)
    });
    assert!(
        url.starts_with(&format!(
            "{}/view/{PIPELINE}/Approval/ProductionApproval/approve/{id}.",
            server.endpoint
        )),
        "{url}"
    );
    let prod = server.data.join("s3/my-web-app-prod-site/index.html");
    assert!(!prod.exists(), "production waits for the approval");

    let screenshots = tempfile::tempdir().unwrap();
    let screenshot = if std::env::var_os("SLUICE_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/approval-page.png")
    } else {
        screenshots.path().join("approval-page.png")
    };
    let _ = std::fs::remove_file(&screenshot);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/approve.mjs");
    let mut browser = Command::new("node")
        .arg(&script)
        .arg(&url)
        .arg(&screenshot)
        .args([REVIEWER, SUMMARY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("node {}: {e}", script.display()));
    let mut to_browser = browser.stdin.take().unwrap();
    let (lines, from_browser) = mpsc::channel();
    let stdout = browser.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut next_step = |step: &str| -> Value {
        let line = from_browser.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = browser.kill();
            panic!(
                "node {} printed no {step:?} step within {PATIENCE:?} (its error output is above)",
                script.display()
            )
        });
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(value["step"], step, "{value}");
        value
    };

    let loaded = next_step("loaded");
    for load in loaded["loads"].as_array().unwrap() {
        assert_eq!(load["status"], 200, "{loaded}");
        assert_eq!(load["heading"], "Approve or reject", "{loaded}");
    }
    assert_eq!(loaded["loads"].as_array().unwrap().len(), 2);
    assert_eq!(loaded["buttons"], serde_json::json!(["Approve", "Reject"]));
    // Two loads of the page (what a mail scanner does) decided nothing.
    let after_loads = approval(&server);
    assert_eq!(
        after_loads["latestExecution"]["status"], "InProgress",
        "{after_loads}"
    );
    assert!(after_loads["latestExecution"]["summary"].is_null());
    assert_eq!(execution_status(&server, &id), "InProgress");
    assert!(!prod.exists(), "production still waits");

    writeln!(to_browser, "approve").unwrap();
    let decided = next_step("decided");
    assert_eq!(decided["status"], 200, "{decided}");
    assert_eq!(decided["url"], url.as_str());
    assert_eq!(decided["heading"], "Approved", "{decided}");
    let state = decided["state"].as_str().unwrap();
    assert!(
        state.starts_with(&format!("Approved by {REVIEWER} (127.0.0.1) at ")),
        "{state}"
    );
    let text = decided["text"].as_str().unwrap();
    assert!(text.contains(SUMMARY), "{text}");
    assert!(text.contains(&commit), "the page shows the commit: {text}");
    assert!(text.contains("List the 1.4 release"), "{text}");
    drop(to_browser);
    let exit = browser.wait().unwrap();
    assert!(exit.success(), "node {}: {exit}", script.display());
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is a screenshot",
        screenshot.display()
    );

    let finished = wait("the execution finishes", || {
        let status = execution_status(&server, &id);
        (status != "InProgress").then_some(status)
    });
    assert_eq!(finished, "Succeeded");
    let done = approval(&server)["latestExecution"].clone();
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(done["summary"], SUMMARY);
    assert_eq!(done["lastUpdatedBy"], format!("{REVIEWER} (127.0.0.1)"));
    assert_eq!(
        std::fs::read(&prod).unwrap(),
        std::fs::read(server.data.join("s3/my-web-app-dev-site/index.html")).unwrap(),
        "production gets the build dev got"
    );
}
