//! `sluice validate FILE...`: the output contract other tests rely on (see `Command::Validate`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sluice_core::action::{ActionTypes, CustomActionType};
use sluice_core::model;
use sluice_core::model::check::Checker;
use sluice_core::pipeline::{LoadError, PipelineFile};
use sluice_core::problem::Problem;
use sluice_core::validate::{ValidationContext, validate};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Pipeline files: `{"pipeline": {...}}` as create-pipeline --cli-input-json takes, get-pipeline
    /// output, or a bare declaration.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The pipeline's Region, for cross-region rules [default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1]
    #[arg(long)]
    region: Option<String>,
    /// A JSON file with the custom action types the pipeline may use (a list of
    /// create-custom-action-type inputs); without it, custom actions are not checked against a type.
    #[arg(long, value_name = "FILE")]
    custom_action_types: Option<PathBuf>,
}

/// Why a file is not a pipeline to work with.
pub(crate) enum Refusal {
    Invalid(Vec<Problem>),
    /// The file could not be read, or is not JSON.
    Unreadable(String),
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let context = match context(args) {
        Ok(context) => context,
        Err(message) => {
            eprintln!("sluice validate: {message}");
            return ExitCode::from(2);
        }
    };
    let several = args.files.len() > 1;
    let mut worst = 0u8;
    for path in &args.files {
        let prefix = if several {
            format!("{}: ", path.display())
        } else {
            String::new()
        };
        match load(path, &context) {
            Ok(_) => println!("{prefix}valid"),
            Err(Refusal::Invalid(problems)) => {
                worst = worst.max(1);
                for problem in problems {
                    println!("{prefix}{problem}");
                }
            }
            Err(Refusal::Unreadable(message)) => {
                worst = 2;
                eprintln!("sluice validate: {}: {message}", path.display());
            }
        }
    }
    ExitCode::from(worst)
}

/// Reads a pipeline file and checks it: the file, or what is wrong with it.
pub(crate) fn load(path: &Path, context: &ValidationContext) -> Result<PipelineFile, Refusal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Refusal::Unreadable(format!("cannot read the file: {e}")))?;
    match PipelineFile::from_json(&text) {
        Ok(file) => {
            let problems = validate(&file, context);
            if problems.is_empty() {
                Ok(file)
            } else {
                Err(Refusal::Invalid(problems))
            }
        }
        Err(LoadError::Syntax {
            line,
            column,
            source,
        }) => Err(Refusal::Unreadable(format!(
            "not valid JSON at line {line}, column {column}: {source}"
        ))),
        Err(LoadError::Shape(problems)) => Err(Refusal::Invalid(problems)),
    }
}

fn context(args: &Args) -> Result<ValidationContext, String> {
    let region = args
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| ValidationContext::default().region);
    let custom = match &args.custom_action_types {
        None => None,
        Some(path) => Some(custom_action_types(path)?),
    };
    Ok(ValidationContext {
        region,
        action_types: ActionTypes { custom },
    })
}

/// Reads custom action types, each checked against the model's CreateCustomActionTypeInput.
fn custom_action_types(path: &Path) -> Result<Vec<CustomActionType>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{shown}: cannot read the custom action types: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}: not valid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        single => vec![single],
    };
    let mut checker = Checker::new(model::codepipeline(), false);
    for (index, item) in items.iter().enumerate() {
        checker.check(
            "CreateCustomActionTypeInput",
            item,
            &format!("{}.member", index + 1),
        );
    }
    let problems = checker.into_problems();
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(format!(
            "{shown}: invalid custom action types:\n{}",
            lines.join("\n")
        ));
    }
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item)
                .map_err(|e| format!("{shown}: invalid custom action type: {e}"))
        })
        .collect()
}
