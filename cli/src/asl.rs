//! `sluice asl …`: Amazon States Language definitions on their own, outside any pipeline.
//!
//! `sluice asl validate FILE` prints `valid` and exits 0, or prints every problem, one per line as
//! `CODE: message at /json/pointer`, and exits 1. A file that cannot be read exits 2.
//!
//! `sluice asl run FILE [--input JSON | --input @FILE] [--task STATE='SHELL COMMAND']...` runs the
//! definition in the embedded engine. A `--task` runs its command in bash with the task's effective input
//! on stdin and takes its stdout (JSON) as the result; a non-zero exit fails the task with
//! `States.TaskFailed` and stderr as the Cause; a command whose task ends first (its execution failed
//! or timed out) is stopped with its process group (SIGTERM, SIGKILL after 10 s). It prints the execution's output and exits 0, or prints
//! `{"Error": …, "Cause": …}` and exits 1; exit 2 means the definition was refused or the command misused.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use sluice_local::process::Processes;
use sluice_statemachine::clock::SystemClock;
use sluice_statemachine::engine::{
    Engine, EngineError, Location, TaskCancellation, TaskHandler, TaskOutcome, TaskRequest,
};
use sluice_statemachine::entropy::OsEntropy;
use sluice_statemachine::store::{MemoryStore, SqliteStore, Store};
use tokio::io::AsyncWriteExt;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Check a state machine definition as Step Functions' CreateStateMachine would, and more strictly
    /// where AWS is stricter than asl-validator.
    Validate {
        /// The definition (JSON).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run a definition in the embedded engine, with shell commands as its tasks.
    Run {
        /// The definition (JSON).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The execution input: JSON text, or @FILE to read it from a file.
        #[arg(long, default_value = "{}")]
        input: String,
        /// STATE='SHELL COMMAND': the command that performs Task state STATE.
        #[arg(long = "task", value_name = "STATE=COMMAND")]
        tasks: Vec<String>,
        /// Keep the execution in this SQLite file: run the same command again after the process was
        /// stopped, and the execution carries on where it was.
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// The execution's name (unique per definition; with --db, the name to carry on).
        #[arg(long)]
        name: Option<String>,
    },
}

pub(crate) fn run(command: &Command) -> ExitCode {
    match command {
        Command::Validate { file } => validate(file),
        Command::Run {
            file,
            input,
            tasks,
            db,
            name,
        } => run_definition(file, input, tasks, db.as_deref(), name.as_deref()),
    }
}

fn validate(file: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "sluice asl validate: {}: cannot read the file: {e}",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    match sluice_statemachine::read_str(&text) {
        Ok(_) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Err(invalid) => {
            for problem in &invalid.0 {
                println!("{problem}");
            }
            ExitCode::from(1)
        }
    }
}

fn misuse(message: String) -> ExitCode {
    eprintln!("sluice asl run: {message}");
    ExitCode::from(2)
}

fn run_definition(
    file: &PathBuf,
    input: &str,
    tasks: &[String],
    db: Option<&std::path::Path>,
    name: Option<&str>,
) -> ExitCode {
    let definition = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return misuse(format!("{}: cannot read the file: {e}", file.display())),
    };
    let input_text = match input.strip_prefix('@') {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return misuse(format!("--input @{path}: cannot read the file: {e}")),
        },
        None => input.to_string(),
    };
    let input: Value = match serde_json::from_str(&input_text) {
        Ok(value) => value,
        Err(e) => return misuse(format!("--input is not valid JSON: {e}")),
    };
    let mut commands = HashMap::new();
    for task in tasks {
        match task.split_once('=') {
            Some((state, command)) if !state.is_empty() => {
                commands.insert(state.to_string(), command.to_string());
            }
            _ => return misuse(format!("--task {task:?} must read STATE='SHELL COMMAND'")),
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return misuse(format!("cannot start the runtime: {e}")),
    };
    let store: Arc<dyn Store> = match db {
        None => Arc::new(MemoryStore::new()),
        Some(path) => match SqliteStore::open(path) {
            Ok(store) => Arc::new(store),
            Err(e) => return misuse(format!("--db {}: {e}", path.display())),
        },
    };
    runtime.block_on(execute(store, &definition, input, commands, name))
}

async fn execute(
    store: Arc<dyn Store>,
    definition: &str,
    input: Value,
    commands: HashMap<String, String>,
    name: Option<&str>,
) -> ExitCode {
    let engine = match Engine::start(
        store,
        Arc::new(SystemClock),
        Box::new(OsEntropy),
        Location::default(),
    )
    .await
    {
        Ok(engine) => engine,
        Err(e) => return misuse(e.to_string()),
    };
    let shell = Arc::new(ShellTasks {
        commands,
        engine: OnceLock::new(),
        processes: Processes::unrecorded(),
    });
    let _ = shell.engine.set(engine.clone());
    engine.register("*", shell);
    let created = match engine.create_state_machine("sluice-asl-run", definition) {
        // Kept from an earlier run with another definition: new executions run this one.
        Err(EngineError::StateMachineAlreadyExists(_)) => {
            let arn = format!(
                "arn:aws:states:{}:{}:stateMachine:sluice-asl-run",
                Location::default().region,
                Location::default().account
            );
            engine.update_state_machine(&arn, definition).map(|_| arn)
        }
        other => other,
    };
    let machine = match created {
        Ok(arn) => arn,
        Err(e) => {
            if let EngineError::InvalidDefinition(invalid) = &e {
                for problem in &invalid.0 {
                    eprintln!("{problem}");
                }
                return ExitCode::from(2);
            }
            return misuse(e.to_string());
        }
    };
    if let Err(e) = engine.recover().await {
        return misuse(e.to_string());
    }
    let execution_arn = match existing(&engine, &machine, name) {
        Some(arn) => arn,
        None => match engine.start_execution(&machine, name, input).await {
            Ok(started) => started.execution_arn,
            Err(e) => return misuse(e.to_string()),
        },
    };
    match engine.wait(&execution_arn).await {
        Ok(done) if done.status == sluice_statemachine::execution::ExecutionStatus::Succeeded => {
            println!("{}", done.output.unwrap_or(Value::Null));
            ExitCode::SUCCESS
        }
        Ok(done) => {
            let (error, cause) = done
                .error
                .map(|e| (e.error, e.cause))
                .unwrap_or_else(|| (done.status.name().to_string(), String::new()));
            println!("{}", json!({ "Error": error, "Cause": cause }));
            ExitCode::from(1)
        }
        Err(e) => misuse(e.to_string()),
    }
}

/// The execution of that name kept in the store from an earlier run, if any.
fn existing(engine: &Engine, machine: &str, name: Option<&str>) -> Option<String> {
    let name = name?;
    engine
        .list_executions(machine, None)
        .ok()?
        .into_iter()
        .find(|e| e.name == name)
        .map(|e| e.execution_arn)
}

/// Runs `--task` commands for Task states, by state name.
struct ShellTasks {
    commands: HashMap<String, String>,
    /// Callback tasks (`.waitForTaskToken`) answer through the engine with their token.
    engine: OnceLock<Engine>,
    processes: Processes,
}

impl TaskHandler for ShellTasks {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        Box::pin(async move {
            let outcome = match self.commands.get(&task.state_name) {
                None => TaskOutcome::Failed {
                    error: "States.TaskFailed".to_string(),
                    cause: format!(
                        "No --task was given for Task state '{}' (resource {})",
                        task.state_name, task.resource
                    ),
                },
                Some(command) => {
                    run_command(&self.processes, command, &task.input, &task.cancellation).await
                }
            };
            match (&outcome, task.wait_for_token, self.engine.get()) {
                (TaskOutcome::Succeeded(output), true, Some(engine)) => {
                    let _ = engine
                        .send_task_success(&task.token, &output.to_string())
                        .await;
                    TaskOutcome::Accepted
                }
                _ => outcome,
            }
        })
    }
}

/// Runs a task's command in a process group of its own, which ends with the command, with the task
/// (cancelled) and with this process.
async fn run_command(
    processes: &Processes,
    command: &str,
    input: &Value,
    cancellation: &TaskCancellation,
) -> TaskOutcome {
    let failed = |cause: String| TaskOutcome::Failed {
        error: "States.TaskFailed".to_string(),
        cause,
    };
    let bash = std::path::Path::new("bash");
    let group = match processes.start_group(bash) {
        Ok(group) => group,
        Err(e) => return failed(format!("cannot start bash: {e}")),
    };
    let mut child = match tokio::process::Command::new(bash)
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(group.id())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return failed(format!("cannot start bash: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.to_string().as_bytes()).await;
    }
    let running = child.wait_with_output();
    tokio::pin!(running);
    let output = tokio::select! {
        output = &mut running => output,
        () = cancellation.cancelled() => {
            group.stop(processes.stop_grace(), &mut running).await;
            return failed("the task ended before its command did; the command was stopped".to_string());
        }
    };
    group.kill().await;
    let output = match output {
        Ok(output) => output,
        Err(e) => return failed(format!("the command failed to run: {e}")),
    };
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string();
    if !output.status.success() {
        let code = output
            .status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| c.to_string());
        return failed(if stderr.is_empty() {
            format!("the command exited with {code}")
        } else {
            stderr
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.trim().is_empty() {
        return TaskOutcome::Succeeded(Value::Null);
    }
    match serde_json::from_str(stdout.trim()) {
        Ok(value) => TaskOutcome::Succeeded(value),
        Err(e) => failed(format!(
            "the command's stdout is not JSON ({e}): {}",
            stdout.trim()
        )),
    }
}
