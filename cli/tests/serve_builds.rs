//! Builds die with their execution and with the server: the real `sluice serve`, driven by the aws CLI
//! (.venv/bin/aws), running a Commands action whose build records its own runs, holds a lock for as long
//! as any of its processes lives, and leaves a background child. The server is SIGKILLed mid-build and
//! started again on the same data directory; executions are stopped with and without abandoning.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

mod common;
use common::{Server, aws};

/// How long anything here may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A build's own record of itself, in a directory outside the data directory.
struct Marks {
    dir: tempfile::TempDir,
}

impl Marks {
    fn new() -> Marks {
        Marks {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("runs"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until some line of `runs` starts with `prefix`; returns the lines so far.
    fn until_line(&self, prefix: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let runs = self.runs();
            if runs.iter().any(|line| line.starts_with(prefix)) {
                return runs;
            }
            assert!(
                Instant::now() < deadline,
                "no {prefix:?} line in runs: {runs:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn release(&self) {
        std::fs::write(self.path("release"), "").unwrap();
    }

    /// The first line's words after `prefix`, as numbers.
    fn numbers(&self, prefix: &str) -> Vec<i32> {
        self.runs()
            .iter()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line"))
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    }
}

/// `start <shell pid> <pgid>` and `child <pid>` lines; a second run while any process of an earlier one
/// still holds the lock writes `overlap` instead. With the release file present the command ends at
/// once (its background child ends with the build); without it the command waits for its child.
fn recording_build(marks: &Marks) -> String {
    let d = marks.dir.path().display();
    format!(
        "exec 9>>{d}/lock; if ! flock -n 9; then echo overlap >> {d}/runs; exit 1; fi; \
         echo \"start $BASHPID $(ps -o pgid= -p $BASHPID | tr -d ' ')\" >> {d}/runs; \
         sleep 300 & echo \"child $!\" >> {d}/runs; \
         if [ -e {d}/release ]; then echo \"done $BASHPID\" >> {d}/runs; exit 0; fi; wait"
    )
}

/// An S3 source (a bucket folder) and one Commands action running `command`; returns the execution id.
fn start_pipeline(server: &Server, command: &str) -> String {
    start_named_pipeline(server, "Long", command)
}

/// [`start_pipeline`] for a pipeline named `name`.
fn start_named_pipeline(server: &Server, name: &str, command: &str) -> String {
    std::fs::create_dir_all(server.data.join("s3/inbox/app")).unwrap();
    std::fs::write(server.data.join("s3/inbox/app/readme.txt"), "hi").unwrap();
    let file = server.data.with_file_name("pipeline.json");
    let pipeline = json!({"pipeline": {
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "long-artifacts"},
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
                "commands": [command],
                "inputArtifacts": [{"name": "Src"}]
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
    aws(server, &["start-pipeline-execution", "--name", name])["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn wait_for_status(server: &Server, id: &str, status: &str) {
    wait_for_named_status(server, "Long", id, status)
}

fn wait_for_named_status(server: &Server, name: &str, id: &str, status: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let execution = aws(
            server,
            &[
                "get-pipeline-execution",
                "--pipeline-name",
                name,
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

fn work_statuses(server: &Server) -> Vec<String> {
    let actions = aws(
        server,
        &["list-action-executions", "--pipeline-name", "Long"],
    );
    let mut statuses: Vec<(String, String)> = actions["actionExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["actionName"] == "Work")
        .map(|a| {
            (
                a["startTime"].to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    statuses.into_iter().map(|(_, status)| status).collect()
}

/// /proc/<pid>/stat's state and process group, for a process that is not a zombie.
fn live(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&("Z" | "X")) | None) {
        return None;
    }
    fields.get(2)?.parse().ok()
}

/// The processes of group `pgid` that are not zombies.
fn members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| live(*pid) == Some(pgid))
        .collect()
}

/// Waits until no process of group `pgid` (nor any of `pids`) is alive.
fn until_gone(pgid: i32, pids: &[i32]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left: Vec<i32> = members(pgid)
            .into_iter()
            .chain(pids.iter().copied().filter(|pid| live(*pid).is_some()))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes {left:?} of group {pgid} still run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_server(server: &mut Server) -> u32 {
    let pid = server.child.id();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    pid
}

/// Nothing of the builds is left on disk: no workspace, no process record, no /tmp state of theirs.
fn assert_nothing_left(server: &Server, servers: &[u32]) {
    for dir in ["work", "processes"] {
        let left: Vec<_> = std::fs::read_dir(server.data.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
    let tmp: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|name| {
            servers
                .iter()
                .any(|pid| name.starts_with(&format!("sluice-build-{pid}-")))
        })
        .collect();
    assert!(tmp.is_empty(), "build state in /tmp: {tmp:?}");
}

#[test]
fn a_killed_server_takes_its_builds_with_it_and_the_restart_runs_the_action_again_once() {
    let marks = Marks::new();
    let mut server = Server::start(&[]);
    let id = start_pipeline(&server, &recording_build(&marks));
    marks.until_line("child ");
    let started = marks.numbers("start ");
    let (shell, pgid) = (started[0], started[1]);
    let child = marks.numbers("child ")[0];
    assert_eq!(live(child), Some(pgid), "the child is in the build's group");
    let private = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(server.data.join("work"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(private & 0o777, 0o700);

    let first_server = kill_server(&mut server);
    // The group's anchor sees the server's end of its pipe close and kills the group.
    until_gone(pgid, &[shell, child]);

    marks.release();
    server.restart();
    wait_for_status(&server, &id, "Succeeded");
    let runs = marks.runs();
    let count = |prefix: &str| runs.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("start "), 2, "{runs:?}");
    assert_eq!(count("overlap"), 0, "two runs at once: {runs:?}");
    assert_eq!(count("done "), 1, "{runs:?}");
    assert_eq!(work_statuses(&server), ["Succeeded"]);
    // The second run's background child ended with its build.
    let second_child = runs
        .iter()
        .filter_map(|l| l.strip_prefix("child "))
        .nth(1)
        .unwrap()
        .parse::<i32>()
        .unwrap();
    until_gone(pgid, &[second_child]);
    assert_nothing_left(&server, &[first_server, server.child.id()]);
}

#[test]
fn what_a_killed_server_could_not_end_is_killed_at_the_next_start_before_the_action_runs_again() {
    let marks = Marks::new();
    let mut server = Server::start(&[]);
    let id = start_pipeline(&server, &recording_build(&marks));
    marks.until_line("child ");
    let started = marks.numbers("start ");
    let (shell, pgid) = (started[0], started[1]);
    let child = marks.numbers("child ")[0];
    // Holding the server's end of the anchor's pipe (as a process that inherited it would) keeps the
    // anchor from seeing the server die: the group outlives the server.
    let held = hold_anchor_pipe(server.child.id(), pgid);
    let first_server = kill_server(&mut server);
    assert!(
        live(shell).is_some() && live(child).is_some() && live(pgid).is_some(),
        "the build outlives the server"
    );

    marks.release();
    server.restart();
    // `serve` listens only once it has ended what the previous process left.
    assert_eq!(members(pgid), Vec::<i32>::new());
    assert!(live(shell).is_none() && live(child).is_none());
    wait_for_status(&server, &id, "Succeeded");
    let runs = marks.runs();
    let count = |prefix: &str| runs.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("start "), 2, "{runs:?}");
    assert_eq!(count("overlap"), 0, "two runs at once: {runs:?}");
    assert_nothing_left(&server, &[first_server, server.child.id()]);
    drop(held);
}

/// Opens, through /proc, the server's (write) end of the pipe on the anchor's standard input; the
/// anchor's pid is its group's id.
fn hold_anchor_pipe(server: u32, anchor: i32) -> std::fs::File {
    let pipe = std::fs::read_link(format!("/proc/{anchor}/fd/0")).unwrap();
    assert!(pipe.to_string_lossy().starts_with("pipe:"), "{pipe:?}");
    let end = std::fs::read_dir(format!("/proc/{server}/fd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|fd| std::fs::read_link(fd).is_ok_and(|target| target == pipe))
        .expect("the server holds the pipe's other end");
    std::fs::OpenOptions::new().write(true).open(end).unwrap()
}

#[test]
fn abandon_sends_sigterm_then_sigkill_after_the_grace_and_a_retry_runs_normally() {
    let marks = Marks::new();
    let server = Server::start(&["--stop-grace", "1"]);
    let d = marks.dir.path().display();
    let command = format!(
        "if [ -e {d}/release ]; then echo retried >> {d}/runs; exit 0; fi; \
         trap 'echo term >> {d}/runs' TERM; \
         echo \"start $BASHPID $(ps -o pgid= -p $BASHPID | tr -d ' ')\" >> {d}/runs; \
         while :; do sleep 0.1; done"
    );
    let id = start_pipeline(&server, &command);
    marks.until_line("start ");
    let started = marks.numbers("start ");
    let (shell, pgid) = (started[0], started[1]);
    aws(
        &server,
        &[
            "stop-pipeline-execution",
            "--pipeline-name",
            "Long",
            "--pipeline-execution-id",
            &id,
            "--abandon",
            "--reason",
            "enough",
        ],
    );
    wait_for_status(&server, &id, "Stopped");
    until_gone(pgid, &[shell]);
    assert!(
        marks.runs().iter().any(|l| l == "term"),
        "SIGTERM came first and was ignored: {:?}",
        marks.runs()
    );
    assert_eq!(work_statuses(&server), ["Abandoned"]);
    let log = server.data.join(format!("logs/Long/{id}/Run.Work.log"));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Build stopped; all its processes have ended") {
            assert!(
                text.contains(
                    "Processes were still running 1s after SIGTERM; all were killed (SIGKILL)"
                ),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the log never said so: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }

    marks.release();
    aws(
        &server,
        &[
            "retry-stage-execution",
            "--pipeline-name",
            "Long",
            "--stage-name",
            "Run",
            "--pipeline-execution-id",
            &id,
            "--retry-mode",
            "FAILED_ACTIONS",
        ],
    );
    wait_for_status(&server, &id, "Succeeded");
    assert!(
        marks.runs().iter().any(|l| l == "retried"),
        "{:?}",
        marks.runs()
    );
    assert_eq!(work_statuses(&server), ["Abandoned", "Succeeded"]);
    assert_nothing_left(&server, &[server.child.id()]);
}

#[test]
fn stop_and_wait_lets_the_running_build_finish() {
    let marks = Marks::new();
    let server = Server::start(&["--stop-grace", "1"]);
    let d = marks.dir.path().display();
    let command = format!(
        "echo \"start $BASHPID $(ps -o pgid= -p $BASHPID | tr -d ' ')\" >> {d}/runs; \
         while [ ! -e {d}/release ]; do sleep 0.1; done; echo finished >> {d}/runs"
    );
    let id = start_pipeline(&server, &command);
    marks.until_line("start ");
    let started = marks.numbers("start ");
    let (shell, pgid) = (started[0], started[1]);
    aws(
        &server,
        &[
            "stop-pipeline-execution",
            "--pipeline-name",
            "Long",
            "--pipeline-execution-id",
            &id,
        ],
    );
    wait_for_status(&server, &id, "Stopping");
    assert_eq!(live(shell), Some(pgid), "the build goes on");
    marks.release();
    wait_for_status(&server, &id, "Stopped");
    assert!(
        marks.runs().iter().any(|l| l == "finished"),
        "{:?}",
        marks.runs()
    );
    assert_eq!(work_statuses(&server), ["Succeeded"]);
    until_gone(pgid, &[shell]);
    assert_nothing_left(&server, &[server.child.id()]);
}

/// CodePipeline's name pattern allows a pipeline named `.` or `..`: they are keys, never paths. Both
/// run to the end, their logs are kept under `logs/%2E` and `logs/%2E%2E`, and nothing lands beside
/// the data directory's own folders.
#[test]
fn pipelines_named_dot_and_dot_dot_run_and_keep_their_files_inside_the_data_directory() {
    let server = Server::start(&[]);
    let mut ids = Vec::new();
    for (name, folder) in [(".", "%2E"), ("..", "%2E%2E")] {
        let id = start_named_pipeline(&server, name, "echo ran-as-$CODEBUILD_BUILD_ID");
        wait_for_named_status(&server, name, &id, "Succeeded");
        let logs = server.data.join("logs").join(folder).join(&id);
        let log_files = entries(&logs);
        assert!(
            log_files.iter().any(|f| f == "Run.Work.log"),
            "{name}: {} holds {log_files:?}",
            logs.display()
        );
        let state = aws(&server, &["get-pipeline-state", "--name", name]);
        assert_eq!(state["pipelineName"], name, "{state}");
        ids.push(id);
    }
    // `logs/..` would be the data directory itself, `logs/.` the logs folder.
    for dir in [server.data.clone(), server.data.join("logs")] {
        let names = entries(&dir);
        for id in &ids {
            assert!(
                !names.contains(id),
                "{} holds {id}: {names:?}",
                dir.display()
            );
        }
    }
}

/// The names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|read| {
            read.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A build whose last line is 200,000 characters long (the error message carries the log's last lines):
/// what the API answers for the failed action is cut to the model's 5,000 characters, keeping the reason and
/// the end, and the whole line is still in the build log.
#[test]
fn a_failure_message_from_a_huge_output_is_answered_within_the_model_and_kept_whole_in_the_log() {
    let server = Server::start(&[]);
    let id = start_pipeline(
        &server,
        "python3 -c \"import sys; print('é' * 200000); sys.exit(3)\"",
    );
    wait_for_status(&server, &id, "Failed");
    let actions = aws(
        &server,
        &["list-action-executions", "--pipeline-name", "Long"],
    );
    let work = actions["actionExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actionName"] == "Work")
        .unwrap()
        .clone();
    let message = work["output"]["executionResult"]["errorDetails"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.encode_utf16().count() <= 5000, "{}", message.len());
    assert!(
        message.starts_with("Phase BUILD failed: Error while executing command: python3")
            && message.contains("exit status 3")
            && message.contains("characters cut")
            && message.contains("éééé\n[Container] ")
            && message.ends_with("Command did not exit successfully python3 -c \"import sys; print('é' * 200000); sys.exit(3)\" exit status 3")
            && !message.contains('\u{FFFD}'),
        "{message}"
    );
    let state = aws(&server, &["get-pipeline-state", "--name", "Long"]);
    let latest = &state["stageStates"][1]["actionStates"][0]["latestExecution"];
    assert_eq!(latest["errorDetails"]["message"], message.as_str());

    let log = server.data.join("logs/Long").join(&id).join("Run.Work.log");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains(&"é".repeat(200_000)),
        "the whole line is in the log"
    );
}
