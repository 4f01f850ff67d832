//! `sluice run FILE`: creates or updates the pipeline in the local data directory, starts an execution,
//! shows its progress, and exits 0 when it succeeds, 1 when it fails (or is superseded or stopped), 130
//! on Ctrl-C (the execution is stopped first), 2 when it cannot start (unreadable or invalid file, bad
//! option, bad config).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use sluice_core::compile::CompileOptions;
use sluice_core::pipeline::declaration::PipelineDeclaration;
use sluice_core::port::{ActionExecutionStore, ExecutionStore, StageStore};
use sluice_core::record::{
    ActionExecution, ActionExecutionStatus, PipelineExecution, PipelineExecutionStatus,
};
use sluice_core::usecase::execution::{StartRequest, start_execution, stop_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_core::validate::ValidationContext;
use sluice_local::provider::{LocalConfig, providers_stopping_after, resolve_location};
use sluice_local::runtime::{LocalPorts, LocalRuntime};

use crate::validate::{Refusal, load};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The pipeline file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A pipeline variable's value for this execution (V2 pipelines' `variables`).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Where a source action's repository is for this run: a path or a git URL.
    #[arg(long = "source", value_name = "ACTION=PATH|URL")]
    sources: Vec<String>,
    /// Local configuration (sources, build projects, functions). Default: sluice.json beside FILE.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    stop: StopGrace,
    #[command(flatten)]
    data: DataDir,
}

/// How long a stopped build has to end: `sluice run` and `sluice serve` share it.
#[derive(clap::Args)]
pub(crate) struct StopGrace {
    /// Seconds a stopped build's (or local function's) processes have between SIGTERM and SIGKILL.
    #[arg(long = "stop-grace", value_name = "SECONDS", default_value_t = sluice_local::process::DEFAULT_STOP_GRACE.as_secs_f64())]
    seconds: f64,
}

impl StopGrace {
    pub(crate) fn duration(&self) -> Result<Duration, String> {
        Duration::try_from_secs_f64(self.seconds).map_err(|_| {
            format!(
                "--stop-grace {}: expected a number of seconds, 0 or more",
                self.seconds
            )
        })
    }
}

/// The data directory option every local command shares.
#[derive(clap::Args)]
pub(crate) struct DataDir {
    /// Where Sluice keeps its state, buckets and logs. Default: $SLUICE_DATA_DIR, else ./.sluice.
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The directory `--data-dir` names, when it was given.
    pub(crate) fn given(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.data_dir
            .clone()
            .or_else(|| std::env::var_os("SLUICE_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(".sluice"))
    }
}

pub(crate) fn pairs(values: &[String], option: &str) -> Result<BTreeMap<String, String>, String> {
    values
        .iter()
        .map(|value| match value.split_once('=') {
            Some((name, v)) if !name.is_empty() => Ok((name.to_string(), v.to_string())),
            _ => Err(format!("{option} {value}: expected NAME=VALUE")),
        })
        .collect()
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sluice run: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let file = match load(&args.file, &ValidationContext::default()) {
        Ok(file) => file,
        Err(Refusal::Invalid(problems)) => {
            for problem in problems {
                println!("{problem}");
            }
            return usage_error(format!(
                "{} is not a valid pipeline; nothing ran",
                args.file.display()
            ));
        }
        Err(Refusal::Unreadable(message)) => {
            return usage_error(format!("{}: {message}", args.file.display()));
        }
    };
    let variables = match pairs(&args.variables, "--var") {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    let sources = match pairs(&args.sources, "--source") {
        Ok(sources) => sources
            .into_iter()
            .map(|(action, location)| (action, resolve_location(Path::new("."), &location)))
            .collect(),
        Err(e) => return usage_error(e),
    };
    let config_path = args.config.clone().or_else(|| {
        let beside = args
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join("sluice.json");
        beside.is_file().then_some(beside)
    });
    let config = match &config_path {
        Some(path) => match LocalConfig::load(path) {
            Ok(config) => config,
            Err(e) => return usage_error(e),
        },
        None => LocalConfig::default(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let stop_grace = match args.stop.duration() {
        Ok(grace) => grace,
        Err(e) => return usage_error(e),
    };
    let data_dir = args.data.path();
    runtime.block_on(run_pipeline(
        file.pipeline,
        variables,
        sources,
        config,
        stop_grace,
        &data_dir,
    ))
}

async fn run_pipeline(
    pipeline: PipelineDeclaration,
    variables: BTreeMap<String, String>,
    sources: BTreeMap<String, String>,
    config: LocalConfig,
    stop_grace: Duration,
    data_dir: &Path,
) -> ExitCode {
    let providers = providers_stopping_after(config, sources, stop_grace);
    let local = match LocalRuntime::open_default(data_dir, providers).await {
        Ok(local) => local,
        Err(e) => return usage_error(e),
    };
    let name = pipeline.name.clone();
    for note in not_carried_out(&pipeline) {
        println!("Note: {note}");
    }
    if let Err(e) = put_pipeline(&local.ports, &pipeline, &CompileOptions::default()).await {
        return usage_error(e);
    }
    let execution = match start_execution(
        &local.ports,
        &name,
        StartRequest {
            variables,
            ..StartRequest::default()
        },
    )
    .await
    {
        Ok(execution) => execution,
        Err(e) => return usage_error(e),
    };
    let id = execution.pipeline_execution_id.clone();
    let mut view = View::new(&pipeline, &id, data_dir);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let finished = loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut ctrl_c => {
                // Stopping the execution stops its builds (SIGTERM, SIGKILL after the grace period):
                // wait for them, so nothing this run started outlives it.
                let _ = stop_execution(&local.ports, &name, &id, true, Some("Stopped with Ctrl-C")).await;
                let _ = tokio::time::timeout(stop_grace + Duration::from_secs(5), local.processes.all_ended()).await;
                view.refresh(&local.ports).await;
                println!("Stopped pipeline execution {id} (Ctrl-C)");
                local.shutdown();
                return ExitCode::from(130);
            }
        }
        if let Some(done) = view.refresh(&local.ports).await {
            break done;
        }
    };
    local.shutdown();
    view.report(&finished);
    if finished.status == PipelineExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The live stage/action view: redrawn in place on a terminal, one line per change otherwise.
struct View {
    pipeline: PipelineDeclaration,
    execution_id: String,
    data_dir: PathBuf,
    terminal: bool,
    drawn_lines: usize,
    /// What was printed for each action (plain mode), to print changes only.
    seen: BTreeMap<String, String>,
    actions: Vec<ActionExecution>,
}

impl View {
    fn new(pipeline: &PipelineDeclaration, execution_id: &str, data_dir: &Path) -> View {
        let view = View {
            pipeline: pipeline.clone(),
            execution_id: execution_id.to_string(),
            data_dir: data_dir.to_path_buf(),
            terminal: std::io::stdout().is_terminal(),
            drawn_lines: 0,
            seen: BTreeMap::new(),
            actions: Vec::new(),
        };
        println!(
            "Pipeline {} execution {execution_id} (data: {})",
            pipeline.name,
            data_dir.display()
        );
        view
    }

    /// Reads the execution's state and shows it; returns the execution once it has ended.
    async fn refresh(&mut self, ports: &LocalPorts) -> Option<PipelineExecution> {
        let name = &self.pipeline.name;
        let execution = ports
            .store
            .execution(name, &self.execution_id)
            .await
            .ok()
            .flatten()?;
        self.actions = ports
            .store
            .action_executions(name, Some(&self.execution_id))
            .await
            .unwrap_or_default();
        let stages = ports
            .store
            .stage_executions(name, &self.execution_id)
            .await
            .unwrap_or_default();
        let mut lines = Vec::new();
        for stage in &self.pipeline.stages {
            let stage_status = stages
                .iter()
                .find(|s| s.stage_name == stage.name)
                .map(|s| s.status.name())
                .unwrap_or("-");
            lines.push((None, format!("{:<24} {stage_status}", stage.name)));
            for action in &stage.actions {
                let latest = self
                    .actions
                    .iter()
                    .rev()
                    .find(|a| a.stage_name == stage.name && a.action_name == action.name);
                let state = latest.map(|a| describe(a, &self.pipeline.name, &self.data_dir));
                let line = format!("  {:<22} {}", action.name, state.as_deref().unwrap_or("-"));
                // An action that has not started has no state for the plain view.
                let change = state.map(|state| (format!("{}/{}", stage.name, action.name), state));
                lines.push((change, line));
            }
        }
        lines.push((
            None,
            format!("{:<24} {}", "Execution", execution.status.name()),
        ));
        let mut out = std::io::stdout().lock();
        if self.terminal {
            if self.drawn_lines > 0 {
                // Move up over the previous drawing and clear it.
                let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn_lines);
            }
            for (_, line) in &lines {
                let _ = writeln!(out, "{line}");
            }
            self.drawn_lines = lines.len();
        } else {
            // One line per action whose state changed since the last look.
            for (key, state) in lines.iter().filter_map(|(change, _)| change.as_ref()) {
                if self.seen.get(key) != Some(state) {
                    let _ = writeln!(out, "{key}: {state}");
                    self.seen.insert(key.clone(), state.clone());
                }
            }
        }
        let _ = out.flush();
        (!execution.status.is_open()).then_some(execution)
    }

    /// The final word: the status, and for a failure the failing action's error and log tail.
    fn report(&self, execution: &PipelineExecution) {
        println!(
            "Pipeline execution {} {}",
            execution.pipeline_execution_id,
            execution.status.name()
        );
        if execution.status == PipelineExecutionStatus::Succeeded {
            return;
        }
        if let Some(summary) = &execution.status_summary {
            println!("{summary}");
        }
        if let Some(failed) = self
            .actions
            .iter()
            .rev()
            .find(|a| a.status == ActionExecutionStatus::Failed)
            && let Some(log) = &failed.log
        {
            println!("Log of {}/{}: {log}", failed.stage_name, failed.action_name);
        }
    }
}

fn describe(action: &ActionExecution, pipeline: &str, data_dir: &Path) -> String {
    match action.status {
        ActionExecutionStatus::InProgress
            if action.action_type_id.category
                == sluice_core::pipeline::declaration::ActionCategory::Approval =>
        {
            let mut text = String::from("waiting for approval");
            for key in ["CustomData", "ExternalEntityLink"] {
                if let Some(value) = action.resolved_configuration.get(key) {
                    text.push_str(&format!(" [{key}: {value}]"));
                }
            }
            format!(
                "{text}: sluice approve {pipeline} {} {} --data-dir {} (or sluice reject …)",
                action.stage_name,
                action.action_name,
                data_dir.display()
            )
        }
        ActionExecutionStatus::Failed => format!(
            "Failed: {}",
            action
                .error_details
                .as_ref()
                .map(|d| d.message.lines().next().unwrap_or_default().to_string())
                .unwrap_or_default()
        ),
        status => match &action.summary {
            Some(summary) if status == ActionExecutionStatus::Succeeded => {
                format!("Succeeded ({})", summary.lines().next().unwrap_or_default())
            }
            _ => status.name().to_string(),
        },
    }
}

/// What the pipeline declares that the local runtime does not act on yet, so nobody relies on it
/// unknowingly.
fn not_carried_out(pipeline: &PipelineDeclaration) -> Vec<String> {
    let mut notes = Vec::new();
    for stage in &pipeline.stages {
        let mut declared = Vec::new();
        if stage.before_entry.is_some() {
            declared.push("beforeEntry");
        }
        if stage.on_success.is_some() {
            declared.push("onSuccess");
        }
        if stage.on_failure.is_some() {
            declared.push("onFailure");
        }
        if !declared.is_empty() {
            notes.push(format!(
                "stage {} declares {}; stage conditions, automatic retries and rollbacks are not carried out by Sluice yet",
                stage.name,
                declared.join(", ")
            ));
        }
    }
    if !pipeline.triggers.is_empty() {
        notes.push(
            "the pipeline declares triggers; `sluice run` starts one execution now, whatever they say (`sluice serve` acts on them as webhook deliveries arrive)"
                .to_string(),
        );
    }
    notes
}
