//! `sluice approve|reject PIPELINE STAGE ACTION`: decides a waiting manual approval (PutApprovalResult).
//! Without `--endpoint`, from any terminal, while `sluice run` (or `sluice serve`) runs the pipeline over
//! the same data directory; with it, on the API it names. Without `--token`, GetPipelineState finds the
//! waiting approval's token, as the aws CLI's user would. Exits 0 when recorded, 1 when refused (nothing
//! waits, already decided, unknown names), 2 when the data directory or the API cannot be used.

use std::process::ExitCode;

use sluice_core::approval::ApprovalStatus;

use crate::control::{Approval, Target, drive, waiting_token};
use crate::remote::Options;
use crate::run::DataDir;

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
