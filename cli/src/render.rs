//! `sluice render FILE`: the state machine a pipeline compiles into, as Step Functions gets it.
//! An invalid pipeline gets the same lines and exit code as `sluice validate`; an unreadable file exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_core::compile::{CompileOptions, compile};
use sluice_core::validate::ValidationContext;

use crate::validate::{Refusal, load};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The pipeline file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    match load(&args.file, &ValidationContext::default()) {
        Ok(file) => {
            let machine = compile(&file.pipeline, &CompileOptions::default());
            println!(
                "{}",
                serde_json::to_string_pretty(&machine).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(Refusal::Invalid(problems)) => {
            for problem in problems {
                println!("{problem}");
            }
            ExitCode::from(1)
        }
        Err(Refusal::Unreadable(message)) => {
            eprintln!("sluice render: {}: {message}", args.file.display());
            ExitCode::from(2)
        }
    }
}
