//! Reading a pipeline file: the `{"pipeline": {...}}` document that `aws codepipeline create-pipeline
//! --cli-input-json` takes (with optional `tags`), the `get-pipeline` output (with `metadata`), or a bare
//! declaration. The model's shape checks run on the raw JSON first, so every problem is reported with
//! AWS's path and words before any typed value exists.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::declaration::{PipelineDeclaration, PipelineMetadata, Tag};
use crate::model;
use crate::model::check::Checker;
use crate::problem::{Exception, Problem, Rule};

/// A pipeline as a file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineFile {
    pub pipeline: PipelineDeclaration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PipelineMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// Why a pipeline document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The text is not JSON at all.
    #[error("not valid JSON: {source}")]
    Syntax {
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// The JSON breaks the model's shapes; every problem is listed.
    #[error("{} problem(s) with the pipeline's shape", .0.len())]
    Shape(Vec<Problem>),
}

/// The top-level members a pipeline file may have: CreatePipelineInput's and GetPipelineOutput's.
const FILE_MEMBERS: [(&str, &str); 3] = [
    ("pipeline", "PipelineDeclaration"),
    ("tags", "TagList"),
    ("metadata", "PipelineMetadata"),
];

impl PipelineFile {
    /// Parses and shape-checks a pipeline document. Unknown members are reported (see `model::check`).
    pub fn from_json(text: &str) -> Result<Self, LoadError> {
        let value: Value = serde_json::from_str(text).map_err(|source| LoadError::Syntax {
            line: source.line(),
            column: source.column(),
            source,
        })?;
        Self::from_value(value)
    }

    /// Shape-checks a parsed pipeline document.
    pub fn from_value(value: Value) -> Result<Self, LoadError> {
        let mut checker = Checker::new(model::codepipeline(), true);
        let Value::Object(top) = value else {
            return Err(LoadError::Shape(vec![Problem::new(
                Exception::SerializationException,
                Rule::Type,
                format!(
                    "The document must be a JSON object, either {{\"pipeline\": {{...}}}} as `aws codepipeline create-pipeline --cli-input-json` takes or a bare pipeline declaration, not {}",
                    kind_of(&value)
                ),
            )]));
        };
        let wrapped = top.contains_key("pipeline");
        if wrapped {
            for (member, shape) in FILE_MEMBERS {
                match top.get(member) {
                    None | Some(Value::Null) if member == "pipeline" => checker.null(member),
                    None | Some(Value::Null) => {}
                    Some(v) => checker.check(shape, v, member),
                }
            }
            let known: Vec<&str> = FILE_MEMBERS.iter().map(|(m, _)| *m).collect();
            for name in top.keys() {
                if !known.contains(&name.as_str()) {
                    checker.unknown_member("", name, &known);
                }
            }
        } else {
            checker.check(
                "PipelineDeclaration",
                &Value::Object(top.clone()),
                "pipeline",
            );
        }
        let problems = checker.into_problems();
        if !problems.is_empty() {
            return Err(LoadError::Shape(problems));
        }
        // The model reads a null member as an absent one; serde would reject nulls for list members.
        let mut top = top;
        top.retain(|_, v| !v.is_null());
        top.values_mut().for_each(drop_null_members);
        let file = if wrapped {
            serde_json::from_value::<PipelineFile>(Value::Object(top))
        } else {
            serde_json::from_value::<PipelineDeclaration>(Value::Object(top)).map(|pipeline| {
                PipelineFile {
                    pipeline,
                    metadata: None,
                    tags: Vec::new(),
                }
            })
        };
        file.map_err(|e| {
            // Unreachable while the types follow the model (the round-trip tests hold them to it);
            // reported rather than panicking if they ever drift.
            LoadError::Shape(vec![Problem::new(
                Exception::SerializationException,
                Rule::Type,
                format!("The pipeline could not be read: {e}"),
            )])
        })
    }

    /// The file as `create-pipeline --cli-input-json` takes it, pretty-printed.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn drop_null_members(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            members.values_mut().for_each(drop_null_members);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_members),
        _ => {}
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
          {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"}, "outputArtifacts": [{"name": "Src"}]}]},
          {"name": "Deploy", "actions": [{"name": "D", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "Src"}]}]}
        ]}"#;

    #[test]
    fn a_bare_declaration_and_the_cli_input_file_load_alike() {
        let bare = PipelineFile::from_json(MINIMAL).unwrap();
        let wrapped = PipelineFile::from_json(&format!(
            r#"{{"pipeline": {MINIMAL}, "tags": [{{"key": "team", "value": "ci"}}]}}"#
        ))
        .unwrap();
        assert_eq!(bare.pipeline, wrapped.pipeline);
        assert_eq!(
            wrapped.tags,
            vec![Tag {
                key: "team".into(),
                value: "ci".into()
            }]
        );
    }

    #[test]
    fn get_pipeline_output_with_metadata_loads() {
        let text = format!(
            r#"{{"pipeline": {MINIMAL}, "metadata": {{"pipelineArn": "arn:aws:codepipeline:us-east-1:111111111111:p",
               "created": "2026-11-26T10:00:00.000000+00:00", "updated": 1790000000.25}}}}"#
        );
        let file = PipelineFile::from_json(&text).unwrap();
        let metadata = file.metadata.unwrap();
        assert_eq!(metadata.updated.unwrap().epoch_millis(), 1_790_000_000_250);
        assert!(metadata.created.is_some());
    }

    #[test]
    fn bad_json_reports_line_and_column() {
        let err = PipelineFile::from_json("{\n  \"name\": \"p\",\n  oops\n}").unwrap_err();
        match err {
            LoadError::Syntax { line, column, .. } => assert_eq!((line, column), (3, 3)),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn a_list_is_not_a_pipeline() {
        let LoadError::Shape(problems) = PipelineFile::from_json("[1, 2]").unwrap_err() else {
            panic!("expected shape problems");
        };
        assert_eq!(problems[0].exception, Exception::SerializationException);
        assert!(problems[0].detail.contains("not a list"), "{}", problems[0]);
    }

    #[test]
    fn every_shape_problem_is_collected() {
        let LoadError::Shape(problems) = PipelineFile::from_json(
            r#"{"pipeline": {"name": "bad name!", "stages": []}, "extra": 1}"#,
        )
        .unwrap_err() else {
            panic!("expected shape problems");
        };
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "ValidationException: 1 validation error detected: Value 'bad name!' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+",
                "ValidationException: 1 validation error detected: Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null",
                "ValidationException: 1 validation error detected: Value at the top level failed to satisfy constraint: Unknown member 'extra'; the members are: pipeline, tags, metadata",
            ]
        );
    }

    #[test]
    fn a_null_pipeline_member_is_required() {
        let LoadError::Shape(problems) =
            PipelineFile::from_json(r#"{"pipeline": null}"#).unwrap_err()
        else {
            panic!("expected shape problems");
        };
        assert_eq!(
            problems[0].detail,
            "Value null at 'pipeline' failed to satisfy constraint: Member must not be null"
        );
    }
}
