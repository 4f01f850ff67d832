//! `sluice`: the command line. Each subcommand lives in its own module; this file only parses arguments.

mod approve;
mod asl;
mod aws_model;
mod render;
mod run;
mod serve;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_core::approval::ApprovalStatus;

/// mimalloc rather than the system allocator: the embedded engine allocates many small JSON values, and
/// glibc's allocator halves its throughput once many executions are kept in memory (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "CodePipeline-compatible CI/CD, serverless on AWS or on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files as CodePipeline's CreatePipeline would.
    ///
    /// Prints `valid` for a valid file (exit 0). For an invalid one, prints one problem per line, each
    /// starting with CodePipeline's exception name, then `: `, then the message (exit 1). Exits 2 when a
    /// file cannot be read or is not JSON. With several files, each line starts with `FILE: `.
    Validate(validate::Args),
    /// Print the Amazon States Language state machine a pipeline compiles into.
    Render(render::Args),
    /// Run a pipeline on this machine: create or update it, start an execution, show its progress.
    ///
    /// Exits 0 when the execution succeeds, 1 when it fails, 130 on Ctrl-C (the execution is stopped),
    /// 2 when it cannot start.
    Run(run::Args),
    /// Serve CodePipeline's API on this machine (the aws CLI and SDKs with --endpoint-url), running the
    /// pipelines' executions in the same process.
    Serve(serve::Args),
    /// Approve a manual approval waiting in a running pipeline (PutApprovalResult).
    Approve(approve::Args),
    /// Reject a manual approval waiting in a running pipeline (PutApprovalResult).
    Reject(approve::Args),
    /// Print CodePipeline's API model for the aws CLI, signing for another service name: with
    /// `aws configure add-model --service-name sluice --service-model file://MODEL`, `aws sluice ...` calls a
    /// deployed Sluice stack, whose HTTP API checks signatures made for `execute-api`.
    AwsModel(aws_model::Args),
    /// Amazon States Language definitions: `sluice asl validate FILE`, `sluice asl run FILE`.
    #[command(subcommand)]
    Asl(asl::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Approve(args) => approve::run(&args, ApprovalStatus::Approved),
        Command::Reject(args) => approve::run(&args, ApprovalStatus::Rejected),
        Command::AwsModel(args) => aws_model::run(&args),
        Command::Asl(command) => asl::run(&command),
    }
}
