//! The control commands: `status`, `list`, `start`, `stop`, `create`, `update` (and `approve`/`reject`,
//! approve.rs). With `--endpoint` they call an API ([`crate::remote`]); without it, the ones that only read
//! or record a decision work on the local data directory through the API's own handlers
//! (`sluice_api::ops`), so both ways give the same answers and the same errors.
//!
//! `start`, `stop`, `create` and `update` need `--endpoint`: they deploy, start or stop state machines,
//! which only the engine does, and the engine runs in the one process that owns the data directory
//! (`sluice run` or `sluice serve`); a second engine over the same directory would run executions twice.
//! Locally, `sluice serve` is that process and `--endpoint http://127.0.0.1:4570 --signing-name
//! codepipeline` reaches it.
//!
//! Exit codes: 0 done; 1 the API refused (`sluice <cmd>: ExceptionName: message`) or there is nothing to
//! act on; 2 the call could not be made (bad option or file, no connection, no credentials, a refused
//! signature, an unusable data directory).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};

use aws_sdk_codepipeline::primitives::{DateTime, DateTimeFormat};
use sluice_api::service::Service;
use sluice_core::approval::ApprovalStatus;
use sluice_local::runtime::{LocalPorts, LocalRuntime};

use crate::remote::{Options, Remote};
use crate::run::DataDir;

/// Why a command did not do what it was asked.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The API refused (`ExceptionName: message`), or there is nothing to act on: exit 1.
    Refused(String),
    /// The call could not be made or was not accepted as the caller's: exit 2.
    Unusable(String),
}

impl Failure {
    fn exit(self, command: &str) -> ExitCode {
        let (message, code) = match self {
            Failure::Refused(message) => (message, 1),
            Failure::Unusable(message) => (message, 2),
        };
        eprintln!("sluice {command}: {message}");
        ExitCode::from(code)
    }
}

/// Runs a command's work on a one-thread runtime: exit 0, or the failure's code.
pub(crate) fn drive<F>(command: &str, work: F) -> ExitCode
where
    F: Future<Output = Result<(), Failure>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Failure::Unusable(format!("cannot start the async runtime: {e}")).exit(command);
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(command),
    }
}

/// Where a command's requests go.
pub(crate) enum Target {
    /// An API over HTTP (`--endpoint`).
    Remote { remote: Remote, options: Options },
    /// The data directory on this machine, through the API's handlers, beside the process that runs the
    /// pipelines (opened without an engine, as `LocalRuntime::attach` explains).
    Local {
        ports: LocalPorts,
        data_dir: PathBuf,
    },
}

impl Target {
    /// The API when `--endpoint` is given, else the data directory.
    pub(crate) async fn open(options: &Options, data: &DataDir) -> Result<Target, Failure> {
        if options.endpoint.is_some() {
            if let Some(dir) = data.given() {
                return Err(Failure::Unusable(format!(
                    "--data-dir {} and --endpoint: the command calls the API at --endpoint, which keeps its own data; give one of them",
                    dir.display()
                )));
            }
            return Ok(Target::Remote {
                remote: Remote::connect(options).await?,
                options: options.clone(),
            });
        }
        let data_dir = data.path();
        let ports =
            LocalRuntime::attach(&data_dir).map_err(|e| Failure::Unusable(e.to_string()))?;
        Ok(Target::Local { ports, data_dir })
    }

    /// The API, for the commands that need `--endpoint`.
    pub(crate) async fn remote(options: &Options, what: &str) -> Result<Remote, Failure> {
        if options.endpoint.is_none() {
            return Err(Failure::Unusable(format!(
                "needs --endpoint URL: {what} needs the engine, which runs in the process that owns the data directory. \
                 On this machine, run `sluice serve` and call it: sluice --endpoint http://127.0.0.1:4570 --signing-name codepipeline …; \
                 or `sluice run FILE` (creates or updates the pipeline and runs it)"
            )));
        }
        Remote::connect(options).await
    }

    /// How to run `sluice <command>` against the same target, for hints.
    fn command(&self, command: &str) -> String {
        match self {
            Target::Remote { options, .. } => format!("sluice {}{command}", options.prefix()),
            Target::Local { data_dir, .. } => {
                format!("sluice {command} --data-dir {}", data_dir.display())
            }
        }
    }

    /// One operation through the API's handlers, on the local data directory: the input checked against
    /// its shape as the router checks it, then the operation.
    async fn local(ports: &LocalPorts, operation: &str, input: Value) -> Result<Value, Failure> {
        let answered = match sluice_api::check_input(operation, &input) {
            Ok(()) => sluice_api::ops::call(ports, &Service::default(), operation, input).await,
            Err(error) => Err(error),
        };
        answered.map_err(|e| Failure::Refused(format!("{}: {}", e.error_type, e.message)))
    }

    /// Reads an operation's answer as the wire shape this module keeps of it.
    fn read<T: for<'de> Deserialize<'de>>(operation: &str, answer: Value) -> Result<T, Failure> {
        serde_json::from_value(answer)
            .map_err(|e| Failure::Unusable(format!("{operation}'s answer does not read: {e}")))
    }

    pub(crate) async fn pipelines(&self) -> Result<Vec<PipelineSummary>, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.pipelines().await,
            Target::Local { ports, .. } => {
                let mut pipelines = Vec::new();
                let mut input = json!({});
                loop {
                    let page: PipelineList = Self::read(
                        "ListPipelines",
                        Self::local(ports, "ListPipelines", input).await?,
                    )?;
                    pipelines.extend(page.pipelines);
                    match page.next_token {
                        Some(token) => input = json!({ "nextToken": token }),
                        None => return Ok(pipelines),
                    }
                }
            }
        }
    }

    pub(crate) async fn state(&self, pipeline: &str) -> Result<PipelineState, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.state(pipeline).await,
            Target::Local { ports, .. } => Self::read(
                "GetPipelineState",
                Self::local(ports, "GetPipelineState", json!({ "name": pipeline })).await?,
            ),
        }
    }

    pub(crate) async fn latest_execution(
        &self,
        pipeline: &str,
    ) -> Result<Option<ExecutionSummary>, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.latest_execution(pipeline).await,
            Target::Local { ports, .. } => {
                let input = json!({ "pipelineName": pipeline, "maxResults": 1 });
                let listed: ExecutionList = Self::read(
                    "ListPipelineExecutions",
                    Self::local(ports, "ListPipelineExecutions", input).await?,
                )?;
                Ok(listed.pipeline_execution_summaries.into_iter().next())
            }
        }
    }

    pub(crate) async fn put_approval_result(&self, approval: &Approval<'_>) -> Result<(), Failure> {
        match self {
            Target::Remote { remote, .. } => remote.put_approval_result(approval).await,
            Target::Local { ports, .. } => {
                let input = json!({
                    "pipelineName": approval.pipeline,
                    "stageName": approval.stage,
                    "actionName": approval.action,
                    "token": approval.token,
                    "result": {
                        "summary": approval.summary,
                        "status": match approval.status {
                            ApprovalStatus::Approved => "Approved",
                            ApprovalStatus::Rejected => "Rejected",
                        },
                    },
                });
                Self::local(ports, "PutApprovalResult", input).await?;
                Ok(())
            }
        }
    }
}

/// A decision for PutApprovalResult.
pub(crate) struct Approval<'a> {
    pub(crate) pipeline: &'a str,
    pub(crate) stage: &'a str,
    pub(crate) action: &'a str,
    pub(crate) token: &'a str,
    pub(crate) status: ApprovalStatus,
    pub(crate) summary: &'a str,
}

/// The token of the approval waiting in `stage`/`action`, from GetPipelineState.
pub(crate) async fn waiting_token(
    target: &Target,
    pipeline: &str,
    stage: &str,
    action: &str,
) -> Result<String, Failure> {
    let state = target.state(pipeline).await?;
    let Some(stage_state) = state.stage_states.iter().find(|s| s.stage_name == stage) else {
        return Err(Failure::Refused(format!(
            "pipeline {pipeline} has no stage {stage} (its stages: {})",
            names(state.stage_states.iter().map(|s| s.stage_name.as_str()))
        )));
    };
    let Some(action_state) = stage_state
        .action_states
        .iter()
        .find(|a| a.action_name == action)
    else {
        return Err(Failure::Refused(format!(
            "stage {stage} of pipeline {pipeline} has no action {action} (its actions: {})",
            names(
                stage_state
                    .action_states
                    .iter()
                    .map(|a| a.action_name.as_str())
            )
        )));
    };
    action_state
        .latest_execution
        .as_ref()
        .and_then(|e| e.token.clone())
        .ok_or_else(|| {
            Failure::Refused(format!(
                "no approval of action {action} in stage {stage} of pipeline {pipeline} is waiting for a decision"
            ))
        })
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

// The answers, in the wire shapes of GetPipelineState, ListPipelines and ListPipelineExecutions: read
// with serde from the local handlers' JSON, built from the SDK's types for an API (remote.rs).

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineState {
    pub(crate) pipeline_name: String,
    pub(crate) pipeline_version: Option<i64>,
    #[serde(default)]
    pub(crate) stage_states: Vec<StageState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageState {
    pub(crate) stage_name: String,
    pub(crate) inbound_transition_state: Option<Transition>,
    pub(crate) inbound_execution: Option<StageExecution>,
    pub(crate) latest_execution: Option<StageExecution>,
    #[serde(default)]
    pub(crate) action_states: Vec<ActionState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transition {
    pub(crate) enabled: bool,
    pub(crate) disabled_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageExecution {
    pub(crate) pipeline_execution_id: String,
    pub(crate) status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionState {
    pub(crate) action_name: String,
    pub(crate) latest_execution: Option<ActionExecution>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionExecution {
    pub(crate) status: Option<String>,
    pub(crate) summary: Option<String>,
    /// Epoch seconds.
    pub(crate) last_status_change: Option<f64>,
    pub(crate) token: Option<String>,
    pub(crate) error_details: Option<ErrorDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetails {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PipelineList {
    #[serde(default)]
    pipelines: Vec<PipelineSummary>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineSummary {
    pub(crate) name: String,
    pub(crate) version: Option<i64>,
    pub(crate) pipeline_type: Option<String>,
    pub(crate) execution_mode: Option<String>,
    /// Epoch seconds.
    pub(crate) updated: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionList {
    #[serde(default)]
    pipeline_execution_summaries: Vec<ExecutionSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionSummary {
    pub(crate) pipeline_execution_id: String,
    pub(crate) status: String,
    pub(crate) status_summary: Option<String>,
    /// Epoch seconds.
    pub(crate) last_update_time: Option<f64>,
}

/// Epoch seconds as ISO 8601 UTC, to the second.
fn when(epoch_seconds: Option<f64>) -> String {
    epoch_seconds
        .and_then(|s| {
            DateTime::from_secs(s.floor() as i64)
                .fmt(DateTimeFormat::DateTime)
                .ok()
        })
        .unwrap_or_else(|| "-".to_string())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

// `status`

#[derive(clap::Args)]
pub(crate) struct StatusArgs {
    pipeline: String,
    #[command(flatten)]
    data: DataDir,
}

pub(crate) fn status(args: &StatusArgs, options: &Options) -> ExitCode {
    drive("status", async {
        let target = Target::open(options, &args.data).await?;
        let state = target.state(&args.pipeline).await?;
        let latest = target.latest_execution(&args.pipeline).await?;
        print!(
            "{}",
            render_state(&state, latest.as_ref(), &|command| target.command(command))
        );
        Ok(())
    })
}

/// GetPipelineState as a table: one line per stage, one per action under it, then the latest execution.
fn render_state(
    state: &PipelineState,
    latest: Option<&ExecutionSummary>,
    command: &dyn Fn(&str) -> String,
) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    for stage in &state.stage_states {
        let mut details = Vec::new();
        if let Some(execution) = &stage.latest_execution {
            details.push(format!("execution {}", execution.pipeline_execution_id));
        }
        if let Some(transition) = stage
            .inbound_transition_state
            .as_ref()
            .filter(|t| !t.enabled)
        {
            details.push(format!(
                "inbound transition disabled{}",
                transition
                    .disabled_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(waiting) = &stage.inbound_execution {
            details.push(format!(
                "execution {} waits to enter",
                waiting.pipeline_execution_id
            ));
        }
        rows.push([
            stage.stage_name.clone(),
            stage
                .latest_execution
                .as_ref()
                .map_or("-".to_string(), |e| e.status.clone()),
            String::new(),
            details.join("; "),
        ]);
        for action in &stage.action_states {
            let Some(execution) = &action.latest_execution else {
                rows.push([
                    format!("  {}", action.action_name),
                    "-".into(),
                    String::new(),
                    String::new(),
                ]);
                continue;
            };
            let status = execution.status.clone().unwrap_or_else(|| "-".to_string());
            let detail = if execution.token.is_some() {
                format!(
                    "waiting for approval: {} (or reject)",
                    command(&format!(
                        "approve {} {} {}",
                        state.pipeline_name, stage.stage_name, action.action_name
                    ))
                )
            } else if let Some(error) = &execution.error_details {
                format!(
                    "{}: {}",
                    error.code.as_deref().unwrap_or("Error"),
                    first_line(error.message.as_deref().unwrap_or_default())
                )
            } else {
                first_line(execution.summary.as_deref().unwrap_or_default()).to_string()
            };
            rows.push([
                format!("  {}", action.action_name),
                status,
                when(execution.last_status_change),
                detail,
            ]);
        }
    }
    let mut out = format!(
        "Pipeline {}{}\n",
        state.pipeline_name,
        state
            .pipeline_version
            .map(|v| format!(", version {v}"))
            .unwrap_or_default()
    );
    out.push_str(&table(
        &["STAGE / ACTION", "STATUS", "LAST CHANGE", "DETAILS"],
        &rows,
    ));
    match latest {
        Some(execution) => out.push_str(&format!(
            "Latest execution {}: {} (updated {}){}\n",
            execution.pipeline_execution_id,
            execution.status,
            when(execution.last_update_time),
            execution
                .status_summary
                .as_deref()
                .map(|s| format!(": {}", first_line(s)))
                .unwrap_or_default()
        )),
        None => out.push_str("No executions yet\n"),
    }
    out
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

// `list`

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataDir,
}

pub(crate) fn list(args: &ListArgs, options: &Options) -> ExitCode {
    drive("list", async {
        let target = Target::open(options, &args.data).await?;
        let pipelines = target.pipelines().await?;
        if pipelines.is_empty() {
            println!("No pipelines");
            return Ok(());
        }
        let rows: Vec<[String; 5]> = pipelines
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    p.version.map_or("-".to_string(), |v| v.to_string()),
                    p.pipeline_type.clone().unwrap_or_else(|| "-".to_string()),
                    p.execution_mode.clone().unwrap_or_else(|| "-".to_string()),
                    when(p.updated),
                ]
            })
            .collect();
        print!(
            "{}",
            table(&["NAME", "VERSION", "TYPE", "MODE", "UPDATED"], &rows)
        );
        Ok(())
    })
}

// `start`

#[derive(clap::Args)]
pub(crate) struct StartArgs {
    pipeline: String,
    /// A pipeline variable's value for this execution (V2 pipelines' `variables`).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
}

pub(crate) fn start(args: &StartArgs, options: &Options) -> ExitCode {
    drive("start", async {
        let variables = crate::run::pairs(&args.variables, "--var").map_err(Failure::Unusable)?;
        let remote = Target::remote(options, "starting an execution").await?;
        let variables: Vec<(String, String)> = variables.into_iter().collect();
        let id = remote.start(&args.pipeline, &variables).await?;
        println!("{id}");
        Ok(())
    })
}

// `stop`

#[derive(clap::Args)]
pub(crate) struct StopArgs {
    pipeline: String,
    execution_id: String,
    /// Abandon the running actions instead of letting them finish.
    #[arg(long)]
    abandon: bool,
    /// Why (recorded in the execution's status summary).
    #[arg(long)]
    reason: Option<String>,
}

pub(crate) fn stop(args: &StopArgs, options: &Options) -> ExitCode {
    drive("stop", async {
        let remote = Target::remote(options, "stopping an execution").await?;
        let id = remote
            .stop(
                &args.pipeline,
                &args.execution_id,
                args.abandon,
                args.reason.as_deref(),
            )
            .await?;
        println!(
            "Stopping pipeline execution {id} of {}{}",
            args.pipeline,
            if args.abandon {
                " (abandoning its running actions)"
            } else {
                " (its running actions finish first)"
            }
        );
        Ok(())
    })
}

// `create` and `update`

#[derive(clap::Args)]
pub(crate) struct FileArgs {
    /// The pipeline file: `{"pipeline": {...}}` as `aws codepipeline create-pipeline --cli-input-json` takes
    /// it (with `tags` for create), get-pipeline output (its `metadata` is not sent), or a bare declaration.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn create(args: &FileArgs, options: &Options) -> ExitCode {
    save("create", args, options, true)
}

pub(crate) fn update(args: &FileArgs, options: &Options) -> ExitCode {
    save("update", args, options, false)
}

fn save(command: &str, args: &FileArgs, options: &Options, create: bool) -> ExitCode {
    drive(command, async {
        let (input, notes) = operation_input(&args.file, create)?;
        let remote = Target::remote(
            options,
            if create {
                "creating a pipeline (which deploys its state machine)"
            } else {
                "updating a pipeline (which deploys its state machine)"
            },
        )
        .await?;
        for note in notes {
            eprintln!("Note: {note}");
        }
        let (name, version) = remote.save(&input, create).await?;
        println!(
            "{} pipeline {name}{}",
            if create { "Created" } else { "Updated" },
            version
                .map(|v| format!(", version {v}"))
                .unwrap_or_default()
        );
        Ok(())
    })
}

/// The CreatePipeline or UpdatePipeline input for a pipeline file, and notes on what of the file is not
/// sent. The API checks the declaration; this only finds it in the file.
fn operation_input(path: &Path, create: bool) -> Result<(Value, Vec<String>), Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Unusable(format!("{shown}: cannot read the file: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::Unusable(format!(
            "{shown}: not valid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(mut top) = value else {
        return Err(Failure::Unusable(format!(
            "{shown}: expected a JSON object, either {{\"pipeline\": {{...}}}} as `aws codepipeline create-pipeline --cli-input-json` takes or a bare pipeline declaration"
        )));
    };
    let mut notes = Vec::new();
    if !top.contains_key("pipeline") {
        return Ok((json!({ "pipeline": Value::Object(top) }), notes));
    }
    // get-pipeline's output: its metadata is what the API says of the pipeline, not part of the input.
    top.remove("metadata");
    if !create && top.remove("tags").is_some() {
        notes.push(format!(
            "{shown}'s tags are not sent: UpdatePipeline does not change tags"
        ));
    }
    Ok((Value::Object(top), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pipeline.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_file_becomes_the_operations_input() {
        let dir = tempfile::tempdir().unwrap();
        let wrapped = write(
            dir.path(),
            r#"{"pipeline": {"name": "p"}, "tags": [{"key": "k", "value": "v"}], "metadata": {"pipelineArn": "a"}}"#,
        );
        let (input, notes) = operation_input(&wrapped, true).unwrap();
        assert_eq!(
            input,
            json!({"pipeline": {"name": "p"}, "tags": [{"key": "k", "value": "v"}]})
        );
        assert!(notes.is_empty());
        let (input, notes) = operation_input(&wrapped, false).unwrap();
        assert_eq!(input, json!({"pipeline": {"name": "p"}}));
        assert_eq!(notes.len(), 1, "{notes:?}");

        let bare = write(dir.path(), r#"{"name": "p", "stages": []}"#);
        let (input, _) = operation_input(&bare, true).unwrap();
        assert_eq!(input, json!({"pipeline": {"name": "p", "stages": []}}));
    }

    #[test]
    fn an_unreadable_file_is_unusable_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let missing = operation_input(&dir.path().join("missing.json"), true).unwrap_err();
        assert!(
            matches!(&missing, Failure::Unusable(m) if m.contains("cannot read the file")),
            "{missing:?}"
        );
        let broken = write(dir.path(), "{\n  \"pipeline\": ");
        let failure = operation_input(&broken, true).unwrap_err();
        assert!(
            matches!(&failure, Failure::Unusable(m) if m.contains("not valid JSON at line 2")),
            "{failure:?}"
        );
        let list = write(dir.path(), "[]");
        assert!(matches!(
            operation_input(&list, true),
            Err(Failure::Unusable(_))
        ));
    }

    #[test]
    fn the_state_table_shows_stages_actions_and_what_waits() {
        let state: PipelineState = serde_json::from_value(json!({
            "pipelineName": "Gated",
            "pipelineVersion": 2,
            "stageStates": [
                {"stageName": "Source",
                 "inboundTransitionState": {"enabled": true},
                 "latestExecution": {"pipelineExecutionId": "e1", "status": "Succeeded"},
                 "actionStates": [{"actionName": "Source", "latestExecution": {
                     "status": "Succeeded", "summary": "from inbox/app\nmore", "lastStatusChange": 0.5}}]},
                {"stageName": "Approve",
                 "inboundTransitionState": {"enabled": false, "disabledReason": "freeze"},
                 "latestExecution": {"pipelineExecutionId": "e1", "status": "InProgress"},
                 "actionStates": [{"actionName": "Review", "latestExecution": {
                     "status": "InProgress", "token": "t", "lastStatusChange": 86400}}]},
                {"stageName": "Deploy", "actionStates": [{"actionName": "Ship"}]}
            ]
        }))
        .unwrap();
        let latest = ExecutionSummary {
            pipeline_execution_id: "e1".into(),
            status: "InProgress".into(),
            status_summary: None,
            last_update_time: Some(86400.0),
        };
        let text = render_state(&state, Some(&latest), &|c| format!("sluice {c}"));
        let expected = "\
Pipeline Gated, version 2
STAGE / ACTION  STATUS      LAST CHANGE           DETAILS
Source          Succeeded                         execution e1
  Source        Succeeded   1970-01-01T00:00:00Z  from inbox/app
Approve         InProgress                        execution e1; inbound transition disabled: freeze
  Review        InProgress  1970-01-02T00:00:00Z  waiting for approval: sluice approve Gated Approve Review (or reject)
Deploy          -
  Ship          -
Latest execution e1: InProgress (updated 1970-01-02T00:00:00Z)
";
        assert_eq!(text, expected);
    }
}
