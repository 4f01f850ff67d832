//! The control commands, a file each: `status` and `list`, `start` and `stop`, `create` and `update`,
//! `approve` and `reject`. With `--endpoint` they call an API; without it, the ones that only read or
//! record a decision work on the local data directory through the API's own handlers (`sluice_api::ops`),
//! so both ways give the same answers and the same errors ([`crate::target`]).
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
//!
//! This file holds what they share: [`drive`], which runs a command's work.

pub(crate) mod approve;
pub(crate) mod execution;
pub(crate) mod pipeline;
pub(crate) mod status;

use std::future::Future;
use std::process::ExitCode;

use crate::failure::Failure;

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
