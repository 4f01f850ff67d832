//! `sluice run` end to end, as a user runs it: the real binary, real git repositories made from the
//! example apps, real bash builds, deploys into bucket folders that the tests then read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

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

/// A git repository (branch main) holding a copy of an example's app.
fn repository_of(example: &str, root: &Path) -> PathBuf {
    let repo = root.join(format!("{example}-repo"));
    copy_dir(&examples().join(example).join("app"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "first version"]);
    repo
}

fn run(pipeline: &Path, data: &Path, extra: &[&str]) -> Output {
    sluice()
        .arg("run")
        .arg(pipeline)
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn pattern_1_builds_the_site_from_git_and_deploys_it_to_its_bucket_folder() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("simple-web-app", dir.path());
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let output = run(
        &examples().join("simple-web-app/pipeline.json"),
        &data,
        &["--source", &source],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let page = std::fs::read_to_string(data.join("s3/simple-web-app-site/index.html")).unwrap();
    assert!(page.contains("Hello from Sluice"), "{page}");
    assert!(
        page.contains(&commit),
        "the build saw the commit as CODEBUILD_RESOLVED_SOURCE_VERSION: {page}"
    );
    let out = text(&output);
    assert!(out.contains("Build/Build: Succeeded"), "{out}");
    assert!(out.contains("Succeeded"), "{out}");
}

#[test]
fn a_failing_build_fails_the_run_with_its_log_tail_and_a_fixed_commit_runs_green() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("simple-web-app", dir.path());
    let pipeline = examples().join("simple-web-app/pipeline.json");
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());

    let script = repo.join("build.sh");
    let good = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        good.replacen(
            "set -euo pipefail",
            "set -euo pipefail\necho 'broken on purpose' >&2\nexit 3",
            1,
        ),
    )
    .unwrap();
    git(&repo, &["commit", "-q", "-am", "break the build"]);
    let failed = run(&pipeline, &data, &["--source", &source]);
    let out = text(&failed);
    assert_eq!(failed.status.code(), Some(1), "{out}");
    assert!(
        out.contains("exit status 3"),
        "the exit code is named: {out}"
    );
    assert!(
        out.contains("broken on purpose"),
        "the log tail is shown: {out}"
    );
    assert!(
        out.contains("Build.Build.log"),
        "the log's path is shown: {out}"
    );
    assert!(
        !data.join("s3/simple-web-app-site/index.html").exists(),
        "nothing was deployed"
    );

    std::fs::write(&script, good).unwrap();
    git(&repo, &["commit", "-q", "-am", "fix the build"]);
    let fixed = run(&pipeline, &data, &["--source", &source]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    assert!(data.join("s3/simple-web-app-site/index.html").is_file());
}

/// A one-stage V2 pipeline of Commands actions, for behaviour the examples do not show.
fn commands_pipeline(dir: &Path, commands: &[&str]) -> PathBuf {
    let file = dir.join("pipeline.json");
    let pipeline = serde_json::json!({"pipeline": {
        "name": "Commands",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "commands-artifacts"},
        "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Run", "actions": [{
                "name": "Work",
                "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "commands": commands,
                "inputArtifacts": [{"name": "Src"}]
            }]}
        ]
    }});
    std::fs::write(&file, pipeline.to_string()).unwrap();
    file
}

#[test]
fn a_missing_tool_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
    std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let pipeline = commands_pipeline(dir.path(), &["cat readme.txt", "no-such-tool --version"]);
    let output = run(&pipeline, &data, &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("no-such-tool"), "{out}");
    assert!(out.contains("command not found"), "{out}");
}

#[test]
fn a_missing_s3_source_object_is_named_with_where_to_put_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pipeline = commands_pipeline(dir.path(), &["true"]);
    let output = run(&pipeline, &data, &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("inbox") && out.contains("app"), "{out}");
}

#[test]
fn ctrl_c_stops_the_execution_kills_its_build_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
    std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let marker = dir.path().join("sleeper.pid");
    let command = format!("sleep 300 & echo $! > {}; wait", marker.display());
    let pipeline = commands_pipeline(dir.path(), &[&command]);
    let child = sluice()
        .arg("run")
        .arg(&pipeline)
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = Duration::ZERO;
    while std::fs::read_to_string(&marker).map_or(true, |p| p.trim().is_empty()) {
        assert!(waited < Duration::from_secs(30), "the build never started");
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    let sleeper = std::fs::read_to_string(&marker).unwrap().trim().to_string();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(130), "{out}");
    assert!(out.contains("Stopped"), "{out}");
    let alive = std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false);
    assert!(!alive, "the build's processes were killed");
}

#[test]
fn an_invalid_pipeline_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"pipeline": {"name": "x", "stages": []}}"#).unwrap();
    let output = run(&file, &dir.path().join("data"), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("Exception"), "{}", text(&output));
}

#[test]
fn pattern_2_waits_for_an_approval_given_by_a_second_process_before_deploying_to_production() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("multi-environment", dir.path());
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let mut child = sluice()
        .arg("run")
        .arg(examples().join("multi-environment/pipeline.json"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--source", &source])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("sluice run ended before the approval: {seen:?}"))
            .unwrap();
        seen.push(line.clone());
        if line.contains("waiting for approval") {
            break;
        }
    }
    assert!(
        data.join("s3/my-web-app-dev-site/index.html").is_file(),
        "dev is deployed before the approval: {seen:?}"
    );
    assert!(
        !data.join("s3/my-web-app-prod-site").exists(),
        "production waits for the approval"
    );
    let approve = sluice()
        .args([
            "approve",
            "MultiEnvironmentPipeline",
            "Approval",
            "ProductionApproval",
        ])
        .args(["--summary", "looks good"])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:?} {rest:?}");
    assert_eq!(
        std::fs::read(data.join("s3/my-web-app-prod-site/index.html")).unwrap(),
        std::fs::read(data.join("s3/my-web-app-dev-site/index.html")).unwrap(),
        "production gets the build dev got"
    );
    let again = sluice()
        .args([
            "approve",
            "MultiEnvironmentPipeline",
            "Approval",
            "ProductionApproval",
        ])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "nothing waits any more: {}",
        text(&again)
    );
}

#[test]
fn pattern_4_builds_three_services_and_deploys_each_to_its_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("microservices", dir.path());
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let output = run(
        &examples().join("microservices/pipeline.json"),
        &data,
        &["--source", &source],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let api = data.join(format!("s3/my-microservices-api-releases/api/{commit}.zip"));
    let worker = data.join(format!(
        "s3/my-microservices-worker-releases/worker/{commit}.zip"
    ));
    assert!(
        api.is_file(),
        "the API release is keyed by the commit id: {}",
        text(&output)
    );
    assert!(worker.is_file(), "{}", text(&output));
    let site = std::fs::read_dir(data.join("s3/my-microservices-web-site"))
        .unwrap()
        .count();
    assert!(site > 0, "the web build was extracted into its bucket");
    let unpacked = dir.path().join("api-release");
    let files = sluice_local::archive::unzip(&api, &unpacked).unwrap();
    assert!(!files.is_empty());
    assert!(
        !unpacked.join("worker").exists() && !unpacked.join("web").exists(),
        "each service's artifact holds that service only: {files:?}"
    );
}

#[test]
fn pattern_3_validates_its_template_and_stops_at_the_cloudformation_deploy_which_needs_aws() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("infrastructure-as-code", dir.path());
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let output = run(
        &examples().join("infrastructure-as-code/pipeline.json"),
        &data,
        &["--source", &source],
    );
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("Validate/LintTemplate: Succeeded"), "{out}");
    assert!(out.contains("CloudFormation"), "{out}");
    assert!(out.contains("cannot run here yet"), "{out}");
}

#[test]
fn pattern_3_stops_at_validate_when_cfn_lint_finds_a_reference_to_no_resource() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("infrastructure-as-code", dir.path());
    let template = repo.join("template.yaml");
    let good = std::fs::read_to_string(&template).unwrap();
    let broken = good.replacen(
        "!GetAtt WebsiteBucket.WebsiteURL",
        "!GetAtt WebSiteBucket.WebsiteURL",
        1,
    );
    assert_ne!(broken, good, "the template reads WebsiteURL by GetAtt");
    std::fs::write(&template, broken).unwrap();
    git(&repo, &["commit", "-q", "-am", "misspell the bucket"]);
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let output = run(
        &examples().join("infrastructure-as-code/pipeline.json"),
        &data,
        &["--source", &source],
    );
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("Validate/LintTemplate: Failed"), "{out}");
    assert!(
        out.contains("E6101 'WebSiteBucket' is not one of ['WebsiteBucket',"),
        "cfn-lint's finding is in the log tail: {out}"
    );
    assert!(
        !out.contains("Deploy-Staging/DeployStagingStack"),
        "nothing after Validate runs: {out}"
    );
}

#[test]
fn a_v2_pipeline_takes_variables_at_start_into_commands_and_deploy_keys() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("v2-triggers", dir.path());
    let data = dir.path().join("data");
    let source = format!("Source={}", repo.display());
    let output = run(
        &examples().join("v2-triggers/pipeline.json"),
        &data,
        &["--source", &source, "--var", "DeployEnv=production"],
    );
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let version = std::fs::read_to_string(repo.join("package.json")).unwrap();
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    let version = version["version"].as_str().unwrap();
    assert!(
        data.join(format!(
            "s3/my-web-app-releases/production/{version}/site.zip"
        ))
        .is_file(),
        "the release key takes the pipeline variable and the build's exported APP_VERSION: {out}"
    );
    assert!(data.join("s3/my-web-app-production-site").is_dir(), "{out}");

    let refused = run(
        &examples().join("v2-triggers/pipeline.json"),
        &data,
        &["--source", &source, "--var", "Nope=1"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("Variable 'Nope' is not declared"),
        "{}",
        text(&refused)
    );
}

/// A pipeline whose second stage invokes a Lambda function defined in sluice.json.
fn invoke_pipeline(dir: &Path, function: serde_json::Value) -> PathBuf {
    let file = commands_pipeline(dir, &["true"]);
    let mut pipeline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    pipeline["pipeline"]["stages"][1] = serde_json::json!({"name": "Invoke", "actions": [{
        "name": "Call", "namespace": "Called",
        "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
        "configuration": {"FunctionName": "Checker", "UserParameters": "run #{codepipeline.PipelineExecutionId}"},
        "inputArtifacts": [{"name": "Src"}]
    }]});
    pipeline["pipeline"]["stages"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "After", "actions": [{
            "name": "Use",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "commands": ["test '#{Called.Verdict}' = fine"],
            "inputArtifacts": [{"name": "Src"}]
        }]}));
    std::fs::write(&file, pipeline.to_string()).unwrap();
    std::fs::write(
        dir.join("sluice.json"),
        serde_json::json!({"functions": {"Checker": function}}).to_string(),
    )
    .unwrap();
    file
}

#[test]
fn a_lambda_invoke_runs_the_local_command_with_the_job_event_and_takes_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
    std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let event_copy = dir.path().join("event.json");
    let command = format!(
        "cat > {}; echo '{{\"outputVariables\": {{\"Verdict\": \"fine\"}}, \"summary\": \"checked\"}}'",
        event_copy.display()
    );
    let pipeline = invoke_pipeline(dir.path(), serde_json::json!({"command": command}));
    let output = run(&pipeline, &data, &[]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&event_copy).unwrap()).unwrap();
    let job = &event["CodePipeline.job"];
    assert!(job["id"].is_string(), "{event}");
    assert!(
        job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
            .as_str()
            .unwrap()
            .starts_with("run "),
        "{event}"
    );
    assert_eq!(job["data"]["inputArtifacts"][0]["name"], "Src");
    assert_eq!(
        job["data"]["inputArtifacts"][0]["location"]["type"], "S3",
        "{event}"
    );
}

#[test]
fn ctrl_c_stops_a_local_function_and_what_it_started_even_when_it_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
    std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let pids = dir.path().join("function.pids");
    let command = format!(
        "trap '' TERM; sleep 300 > /dev/null & echo \"$$ $!\" > {}.tmp; mv {0}.tmp {0}; while :; do sleep 0.1; done",
        pids.display()
    );
    let pipeline = invoke_pipeline(dir.path(), serde_json::json!({"command": command}));
    let child = sluice()
        .arg("run")
        .arg(&pipeline)
        .args(["--stop-grace", "1", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = Duration::ZERO;
    while !pids.exists() {
        assert!(
            waited < Duration::from_secs(30),
            "the function never started"
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    let pids = std::fs::read_to_string(&pids).unwrap();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    // `sluice run` waits for the stopped function's group before it exits.
    for pid in pids.split_whitespace() {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "process {pid} of the function still runs");
    }
}

#[test]
fn a_lambda_invoke_posts_the_job_event_to_a_url_and_a_failure_answer_fails_the_action() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("s3/inbox/app")).unwrap();
    std::fs::write(data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/invoke", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        // Gives up after 60 s, so a run that never calls cannot hang the suite.
        let mut stream = (0..1200)
            .find_map(|_| match listener.accept() {
                Ok((stream, _)) => Some(stream),
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    None
                }
            })
            .expect("sluice run POSTs the job event");
        stream.set_nonblocking(false).unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read the head, then the body its Content-Length announces.
        loop {
            let n = stream.read(&mut buffer).unwrap();
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let body = r#"{"failureDetails": {"type": "JobFailed", "message": "the checker said no"}}"#;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    let pipeline = invoke_pipeline(dir.path(), serde_json::json!({"url": url}));
    let output = run(&pipeline, &data, &[]);
    let request = server.join().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("the checker said no"), "{out}");
    assert!(request.starts_with("POST /invoke HTTP/1.1"), "{request}");
    assert!(request.contains("CodePipeline.job"), "{request}");
}

#[test]
fn on_a_terminal_the_view_is_redrawn_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository_of("simple-web-app", dir.path());
    let data = dir.path().join("data");
    let command = format!(
        "{} run {} --data-dir {} --source Source={}",
        env!("CARGO_BIN_EXE_sluice"),
        examples().join("simple-web-app/pipeline.json").display(),
        data.display(),
        repo.display()
    );
    // `script` runs the command on a pseudo-terminal, as a user's shell would.
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(
        out.contains("\u{1b}["),
        "cursor movements redraw the view: {out:?}"
    );
    assert!(out.contains("Deploy"), "{out}");
}
