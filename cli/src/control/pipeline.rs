//! `create` (CreatePipeline) and `update` (UpdatePipeline) from a pipeline file: both need `--endpoint`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};

use super::drive;
use crate::failure::Failure;
use crate::options::Options;
use crate::target::Target;

#[derive(clap::Args)]
pub(crate) struct FileArgs {
    /// The pipeline file: `{"pipeline": {...}}` as `aws codepipeline create-pipeline --cli-input-json` takes
    /// it (with `tags` for create), get-pipeline output (its `metadata` is not sent), or a bare declaration.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn create(args: &FileArgs, options: &Options) -> ExitCode {
    save("create", args, options, true)
}

pub(crate) fn update(args: &FileArgs, options: &Options) -> ExitCode {
    save("update", args, options, false)
}

fn save(command: &str, args: &FileArgs, options: &Options, create: bool) -> ExitCode {
    drive(command, async {
        let (input, notes) = operation_input(&args.file, create)?;
        let remote = Target::remote(
            options,
            if create {
                "creating a pipeline (which deploys its state machine)"
            } else {
                "updating a pipeline (which deploys its state machine)"
            },
        )
        .await?;
        for note in notes {
            eprintln!("Note: {note}");
        }
        let (name, version) = remote.save(&input, create).await?;
        println!(
            "{} pipeline {name}{}",
            if create { "Created" } else { "Updated" },
            version
                .map(|v| format!(", version {v}"))
                .unwrap_or_default()
        );
        Ok(())
    })
}

/// The CreatePipeline or UpdatePipeline input for a pipeline file, and notes on what of the file is not
/// sent. The API checks the declaration; this only finds it in the file.
fn operation_input(path: &Path, create: bool) -> Result<(Value, Vec<String>), Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Unusable(format!("{shown}: cannot read the file: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::Unusable(format!(
            "{shown}: not valid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(mut top) = value else {
        return Err(Failure::Unusable(format!(
            "{shown}: expected a JSON object, either {{\"pipeline\": {{...}}}} as `aws codepipeline create-pipeline --cli-input-json` takes or a bare pipeline declaration"
        )));
    };
    let mut notes = Vec::new();
    if !top.contains_key("pipeline") {
        return Ok((json!({ "pipeline": Value::Object(top) }), notes));
    }
    // get-pipeline's output: its metadata is what the API says of the pipeline, not part of the input.
    top.remove("metadata");
    if !create && top.remove("tags").is_some() {
        notes.push(format!(
            "{shown}'s tags are not sent: UpdatePipeline does not change tags"
        ));
    }
    Ok((Value::Object(top), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pipeline.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_file_becomes_the_operations_input() {
        let dir = tempfile::tempdir().unwrap();
        let wrapped = write(
            dir.path(),
            r#"{"pipeline": {"name": "p"}, "tags": [{"key": "k", "value": "v"}], "metadata": {"pipelineArn": "a"}}"#,
        );
        let (input, notes) = operation_input(&wrapped, true).unwrap();
        assert_eq!(
            input,
            json!({"pipeline": {"name": "p"}, "tags": [{"key": "k", "value": "v"}]})
        );
        assert!(notes.is_empty());
        let (input, notes) = operation_input(&wrapped, false).unwrap();
        assert_eq!(input, json!({"pipeline": {"name": "p"}}));
        assert_eq!(notes.len(), 1, "{notes:?}");

        let bare = write(dir.path(), r#"{"name": "p", "stages": []}"#);
        let (input, _) = operation_input(&bare, true).unwrap();
        assert_eq!(input, json!({"pipeline": {"name": "p", "stages": []}}));
    }

    #[test]
    fn an_unreadable_file_is_unusable_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let missing = operation_input(&dir.path().join("missing.json"), true).unwrap_err();
        assert!(
            matches!(&missing, Failure::Unusable(m) if m.contains("cannot read the file")),
            "{missing:?}"
        );
        let broken = write(dir.path(), "{\n  \"pipeline\": ");
        let failure = operation_input(&broken, true).unwrap_err();
        assert!(
            matches!(&failure, Failure::Unusable(m) if m.contains("not valid JSON at line 2")),
            "{failure:?}"
        );
        let list = write(dir.path(), "[]");
        assert!(matches!(
            operation_input(&list, true),
            Err(Failure::Unusable(_))
        ));
    }
}
