//! Where a control command's requests go: an API over HTTP with `--endpoint` (`remote`), else the data
//! directory on this machine through the API's own handlers (`local`), so both ways give the same answers
//! and the same errors.

mod local;
mod remote;

use crate::failure::Failure;
use crate::options::Options;
use crate::run::DataDir;
use crate::wire::{Approval, ExecutionSummary, PipelineState, PipelineSummary};
use local::Local;
use remote::Remote;

/// Where a command's requests go.
pub(crate) enum Target {
    /// An API over HTTP (`--endpoint`).
    Remote { remote: Remote, options: Options },
    /// The data directory on this machine, through the API's handlers, beside the process that runs the
    /// pipelines (opened without an engine, as `LocalRuntime::attach` explains).
    Local(Local),
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
        Ok(Target::Local(Local::attach(data.path())?))
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
    pub(crate) fn command(&self, command: &str) -> String {
        match self {
            Target::Remote { options, .. } => format!("sluice {}{command}", options.prefix()),
            Target::Local(local) => local.command(command),
        }
    }

    pub(crate) async fn pipelines(&self) -> Result<Vec<PipelineSummary>, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.pipelines().await,
            Target::Local(local) => local.pipelines().await,
        }
    }

    pub(crate) async fn state(&self, pipeline: &str) -> Result<PipelineState, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.state(pipeline).await,
            Target::Local(local) => local.state(pipeline).await,
        }
    }

    pub(crate) async fn latest_execution(
        &self,
        pipeline: &str,
    ) -> Result<Option<ExecutionSummary>, Failure> {
        match self {
            Target::Remote { remote, .. } => remote.latest_execution(pipeline).await,
            Target::Local(local) => local.latest_execution(pipeline).await,
        }
    }

    pub(crate) async fn put_approval_result(&self, approval: &Approval<'_>) -> Result<(), Failure> {
        match self {
            Target::Remote { remote, .. } => remote.put_approval_result(approval).await,
            Target::Local(local) => local.put_approval_result(approval).await,
        }
    }
}
