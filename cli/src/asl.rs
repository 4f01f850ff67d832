//! `sluice asl …`: Amazon States Language definitions on their own, outside any pipeline.
//!
//! `sluice asl validate FILE` prints `valid` and exits 0, or prints every problem, one per line as
//! `CODE: message at /json/pointer`, and exits 1. A file that cannot be read exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Check a state machine definition as Step Functions' CreateStateMachine would, and more strictly
    /// where AWS is stricter than asl-validator.
    Validate {
        /// The definition (JSON).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub(crate) fn run(command: &Command) -> ExitCode {
    match command {
        Command::Validate { file } => validate(file),
    }
}

fn validate(file: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "sluice asl validate: {}: cannot read the file: {e}",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    match sluice_statemachine::read_str(&text) {
        Ok(_) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Err(invalid) => {
            for problem in &invalid.0 {
                println!("{problem}");
            }
            ExitCode::from(1)
        }
    }
}
