//! What the rule families' tests share: a valid pipeline to break, and the findings as text.

use serde_json::{Value, json};

use super::{ValidationContext, validate};
use crate::pipeline::file::PipelineFile;

pub(super) fn base() -> Value {
    json!({"pipeline": {
    "name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "stages": [
        {"name": "Source", "actions": [{"name": "S", "namespace": "SV",
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Src"}]}]},
        {"name": "Build", "actions": [
            {"name": "Compile", "namespace": "BV",
             "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
             "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "Src"}],
             "outputArtifacts": [{"name": "Bin"}]},
            {"name": "Package", "runOrder": 2,
             "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
             "configuration": {"ProjectName": "#{BV.Name}-#{SV.ETag}"}, "inputArtifacts": [{"name": "Bin"}]}
        ]}
    ]}})
}

pub(super) fn problems_of(document: Value, context: &ValidationContext) -> Vec<String> {
    let file = PipelineFile::from_value(document).expect("shapes are valid");
    validate(&file, context)
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}
