//! `sluice approve|reject PIPELINE STAGE ACTION`: decides a waiting manual approval (PutApprovalResult),
//! from any terminal, while `sluice run` (or `sluice serve`) runs the pipeline over the same data
//! directory. Exits 0 when recorded, 1 when refused (nothing waits, already decided, unknown names), 2 when
//! the data directory cannot be used.

use std::process::ExitCode;

use sluice_core::approval::{
    ApprovalError, ApprovalStatus, put_approval_result, waiting_approvals,
};
use sluice_local::runtime::LocalRuntime;

use crate::run::DataDir;

#[derive(clap::Args)]
pub(crate) struct Args {
    pipeline: String,
    stage: String,
    action: String,
    /// The reviewer's comment (up to 512 characters).
    #[arg(long, default_value = "")]
    summary: String,
    /// The approval token (from GetPipelineState); default: the newest waiting approval of the action.
    #[arg(long)]
    token: Option<String>,
    #[command(flatten)]
    data: DataDir,
}

pub(crate) fn run(args: &Args, status: ApprovalStatus) -> ExitCode {
    let verb = match status {
        ApprovalStatus::Approved => "approve",
        ApprovalStatus::Rejected => "reject",
    };
    let ports = match LocalRuntime::attach(&args.data.path()) {
        Ok(ports) => ports,
        Err(e) => {
            eprintln!("sluice {verb}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sluice {verb}: {e}");
            return ExitCode::from(2);
        }
    };
    let decided: Result<_, ApprovalError> = runtime.block_on(async {
        let token = match &args.token {
            Some(token) => token.clone(),
            None => waiting_approvals(&ports, &args.pipeline, &args.stage, &args.action)
                .await?
                .first()
                .map(|a| a.action_execution_id.clone())
                .ok_or_else(|| ApprovalError::Validation(format!(
                    "no approval of action {} in stage {} of pipeline {} is waiting for a decision",
                    args.action, args.stage, args.pipeline
                )))?,
        };
        put_approval_result(
            &ports,
            &args.pipeline,
            &args.stage,
            &args.action,
            &token,
            status,
            &args.summary,
        )
        .await
    });
    match decided {
        Ok(_) => {
            println!(
                "{} {}/{}/{}",
                match status {
                    ApprovalStatus::Approved => "Approved",
                    ApprovalStatus::Rejected => "Rejected",
                },
                args.pipeline,
                args.stage,
                args.action
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice {verb}: {e}");
            ExitCode::from(1)
        }
    }
}
