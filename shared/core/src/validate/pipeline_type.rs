//! S18: the features only V2 pipelines have, refused by an explicit V1; no ROLLBACK in a PARALLEL
//! pipeline.

use super::Validator;
use crate::action::catalog;
use crate::pipeline::declaration::{
    ConditionResult, ExecutionMode, PipelineDeclaration, PipelineType,
};
use crate::problem::{Exception, Rule};

impl Validator<'_> {
    /// S18: V2 features need a V2 pipeline; PARALLEL pipelines cannot roll back.
    pub(super) fn pipeline_type(&mut self) {
        let pipeline = self.pipeline;
        if pipeline.pipeline_type == Some(PipelineType::V1) {
            for feature in v2_features(pipeline) {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S18,
                    format!(
                        "Pipeline '{}' is a V1 pipeline but uses {feature}, which needs pipelineType V2",
                        pipeline.name
                    ),
                );
            }
        }
        if pipeline.execution_mode() == ExecutionMode::Parallel {
            for stage in &pipeline.stages {
                let rollback = stage.on_failure.as_ref().is_some_and(|f| {
                    f.result == Some(ConditionResult::Rollback)
                        || f.conditions
                            .iter()
                            .any(|c| c.result == Some(ConditionResult::Rollback))
                }) || stage.on_success.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.result == Some(ConditionResult::Rollback))
                });
                if rollback {
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S18,
                        format!(
                            "Stage '{}' has a condition with result ROLLBACK, which a PARALLEL mode pipeline cannot have",
                            stage.name
                        ),
                    );
                }
            }
        }
    }
}

/// The features of a pipeline that only V2 pipelines have (docs/codepipeline.md, "Pipeline types (V1 and V2)").
pub fn v2_features(pipeline: &PipelineDeclaration) -> Vec<String> {
    let mut features = Vec::new();
    if let Some(mode @ (ExecutionMode::Queued | ExecutionMode::Parallel)) = pipeline.execution_mode
    {
        let name = if mode == ExecutionMode::Queued {
            "QUEUED"
        } else {
            "PARALLEL"
        };
        features.push(format!("executionMode {name}"));
    }
    if !pipeline.variables.is_empty() {
        features.push("pipeline-level variables".to_string());
    }
    if !pipeline.triggers.is_empty() {
        features.push("triggers".to_string());
    }
    for stage in &pipeline.stages {
        for (kind, present) in [
            ("beforeEntry", stage.before_entry.is_some()),
            ("onSuccess", stage.on_success.is_some()),
            ("onFailure", stage.on_failure.is_some()),
        ] {
            if present {
                features.push(format!("{kind} in stage '{}'", stage.name));
            }
        }
        for action in &stage.actions {
            let id = &action.action_type_id;
            if catalog::builtin(id.owner, id.category, &id.provider).is_some_and(|t| t.v2_only) {
                features.push(format!(
                    "the {} action '{}' in stage '{}'",
                    id.provider, action.name, stage.name
                ));
            }
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture::{base, problems_of};
    use crate::validate::ValidationContext;

    #[test]
    fn without_a_pipeline_type_v2_features_make_a_v2_pipeline_but_an_explicit_v1_refuses_them() {
        let mut document = base();
        document["pipeline"]["executionMode"] = json!("QUEUED");
        assert!(problems_of(document.clone(), &ValidationContext::default()).is_empty());
        document["pipeline"]["pipelineType"] = json!("V1");
        assert_eq!(
            problems_of(document, &ValidationContext::default()),
            vec![
                "InvalidStructureException: Pipeline 'p' is a V1 pipeline but uses executionMode QUEUED, which needs pipelineType V2"
            ]
        );
    }
}
