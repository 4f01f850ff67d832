//! `sluice approve|reject PIPELINE STAGE ACTION`: decides a waiting manual approval (PutApprovalResult).
//! Without `--endpoint`, from any terminal, while `sluice run` (or `sluice serve`) runs the pipeline over
//! the same data directory; with it, on the API it names. Without `--token`, GetPipelineState finds the
//! waiting approval's token, as the aws CLI's user would. Exits 0 when recorded, 1 when refused (nothing
//! waits, already decided, unknown names), 2 when the data directory or the API cannot be used.

use std::process::ExitCode;

use sluice_core::approval::ApprovalStatus;

use super::drive;
use crate::failure::Failure;
use crate::options::Options;
use crate::run::DataDir;
use crate::target::Target;
use crate::wire::Approval;

#[derive(clap::Args)]
pub(crate) struct Args {
    pipeline: String,
    stage: String,
    action: String,
    /// The reviewer's comment (up to 512 characters).
    #[arg(long, default_value = "")]
    summary: String,
    /// The approval token (from GetPipelineState); default: the token of the approval waiting in the action.
    #[arg(long)]
    token: Option<String>,
    #[command(flatten)]
    data: DataDir,
}

pub(crate) fn run(args: &Args, options: &Options, status: ApprovalStatus) -> ExitCode {
    let (verb, done) = match status {
        ApprovalStatus::Approved => ("approve", "Approved"),
        ApprovalStatus::Rejected => ("reject", "Rejected"),
    };
    drive(verb, async {
        let target = Target::open(options, &args.data).await?;
        let token = match &args.token {
            Some(token) => token.clone(),
            None => waiting_token(&target, &args.pipeline, &args.stage, &args.action).await?,
        };
        target
            .put_approval_result(&Approval {
                pipeline: &args.pipeline,
                stage: &args.stage,
                action: &args.action,
                token: &token,
                status,
                summary: &args.summary,
            })
            .await?;
        println!("{done} {}/{}/{}", args.pipeline, args.stage, args.action);
        Ok(())
    })
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
