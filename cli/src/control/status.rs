//! `status` (GetPipelineState and the latest execution as a table) and `list` (ListPipelines).

use std::process::ExitCode;

use aws_sdk_codepipeline::primitives::{DateTime, DateTimeFormat};

use super::drive;
use crate::options::Options;
use crate::run::DataDir;
use crate::target::Target;
use crate::wire::{ExecutionSummary, PipelineState};

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
