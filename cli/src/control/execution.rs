//! `start` (StartPipelineExecution) and `stop` (StopPipelineExecution): both need `--endpoint`.

use std::process::ExitCode;

use super::drive;
use crate::failure::Failure;
use crate::options::Options;
use crate::target::Target;

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
