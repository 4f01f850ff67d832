//! Why a command did not do what it was asked, and the exit code that says so.

use std::process::ExitCode;

/// Why a command did not do what it was asked.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The API refused (`ExceptionName: message`), or there is nothing to act on: exit 1.
    Refused(String),
    /// The call could not be made or was not accepted as the caller's: exit 2.
    Unusable(String),
}

impl Failure {
    /// Prints `sluice <command>: <message>` and gives the failure's exit code.
    pub(crate) fn exit(self, command: &str) -> ExitCode {
        let (message, code) = match self {
            Failure::Refused(message) => (message, 1),
            Failure::Unusable(message) => (message, 2),
        };
        eprintln!("sluice {command}: {message}");
        ExitCode::from(code)
    }
}
