//! `sluice`: the command line. Each subcommand lives in its own module; this file only parses arguments.
//!
//! The control commands (`control`) reach the API or the data directory through `target`, whose answers
//! are the shapes of `wire`; `options` are the flags before the command and `failure` what a command's
//! exit code says. Imports point one way: `options`, `failure`, `wire` ← `target` ← `control` ← this file.

mod asl;
mod aws_model;
mod control;
mod failure;
mod options;
mod render;
mod run;
mod schedule;
mod serve;
mod target;
mod validate;
mod wire;

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
    #[command(flatten)]
    remote: options::Options,
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
    /// Approve a manual approval waiting in a running pipeline (PutApprovalResult); with --endpoint, on
    /// that API.
    Approve(control::approve::Args),
    /// Reject a manual approval waiting in a running pipeline (PutApprovalResult); with --endpoint, on
    /// that API.
    Reject(control::approve::Args),
    /// Show a pipeline's stages and actions and its latest execution (GetPipelineState); with
    /// --endpoint, on that API.
    Status(control::status::StatusArgs),
    /// List the pipelines (ListPipelines); with --endpoint, on that API.
    List(control::status::ListArgs),
    /// Start an execution and print its id (StartPipelineExecution). Needs --endpoint.
    Start(control::execution::StartArgs),
    /// Stop an execution (StopPipelineExecution). Needs --endpoint.
    Stop(control::execution::StopArgs),
    /// Create a pipeline from a file as `aws codepipeline create-pipeline --cli-input-json` takes it
    /// (CreatePipeline). Needs --endpoint.
    Create(control::pipeline::FileArgs),
    /// Update a pipeline from a file, such as edited get-pipeline output (UpdatePipeline). Needs
    /// --endpoint.
    Update(control::pipeline::FileArgs),
    /// Print CodePipeline's API model for the aws CLI, signing for another service name: with
    /// `aws configure add-model --service-name sluice --service-model file://MODEL`, `aws sluice ...` calls a
    /// deployed Sluice stack, whose HTTP API checks signatures made for `execute-api`.
    AwsModel(aws_model::Args),
    /// Amazon States Language definitions: `sluice asl validate FILE`, `sluice asl run FILE`.
    #[command(subcommand)]
    Asl(asl::Command),
    /// EventBridge schedule expressions: `sluice schedule next 'cron(0 2 * * ? *)' [--after RFC3339] [--count N]`.
    #[command(subcommand)]
    Schedule(schedule::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = &cli.remote;
    // The commands that work on this machine only refuse --endpoint rather than ignore it.
    let here = |command: &str, instead: &str| options.refuse(command, instead);
    match &cli.command {
        Command::Validate(args) => here(
            "validate",
            "checks files on this machine; the API checks a pipeline when it is created or updated: sluice --endpoint URL create FILE",
        )
        .unwrap_or_else(|| validate::run(args)),
        Command::Render(args) => here("render", "compiles a file on this machine")
            .unwrap_or_else(|| render::run(args)),
        Command::Run(args) => here(
            "run",
            "runs a pipeline on this machine; on the API: sluice --endpoint URL create|update FILE, then sluice --endpoint URL start PIPELINE",
        )
        .unwrap_or_else(|| run::run(args)),
        Command::Serve(args) => here("serve", "serves the API from this machine")
            .unwrap_or_else(|| serve::run(args)),
        Command::AwsModel(args) => here("aws-model", "prints a model for the aws CLI and calls nothing")
            .unwrap_or_else(|| aws_model::run(args)),
        Command::Asl(command) => here("asl", "works on a definition on this machine")
            .unwrap_or_else(|| asl::run(command)),
        Command::Schedule(command) => here("schedule", "works out an expression on this machine")
            .unwrap_or_else(|| schedule::run(command)),
        Command::Approve(args) => control::approve::run(args, options, ApprovalStatus::Approved),
        Command::Reject(args) => control::approve::run(args, options, ApprovalStatus::Rejected),
        Command::Status(args) => control::status::status(args, options),
        Command::List(args) => control::status::list(args, options),
        Command::Start(args) => control::execution::start(args, options),
        Command::Stop(args) => control::execution::stop(args, options),
        Command::Create(args) => control::pipeline::create(args, options),
        Command::Update(args) => control::pipeline::update(args, options),
    }
}
