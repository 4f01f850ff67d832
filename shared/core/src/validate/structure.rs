//! S1–S5 and the blocker rule: how many stages and actions, unique names, Source actions first and only
//! first, and no blockers.

use super::{Validator, duplicates};
use crate::pipeline::declaration::{ActionCategory, StageDeclaration};
use crate::problem::{Exception, Rule};

/// CodePipeline's quotas (docs/codepipeline.md, "Quotas").
pub const MAX_STAGES: usize = 50;
pub const MAX_ACTIONS_PER_STAGE: usize = 50;
pub const MAX_ACTIONS_PER_PIPELINE: usize = 500;

impl Validator<'_> {
    /// S1 and the quotas: 2–50 stages, 1–50 actions a stage, 500 actions a pipeline.
    pub(super) fn counts(&mut self) {
        let stages = self.pipeline.stages.len();
        if stages < 2 {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has only {stages} stage(s). There should be a minimum of 2 stages in a pipeline"
                ),
            );
        }
        if stages > MAX_STAGES {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has {stages} stages. There should be a maximum of {MAX_STAGES} stages in a pipeline"
                ),
            );
        }
        for stage in &self.pipeline.stages {
            let count = stage.actions.len();
            if count == 0 {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S1,
                    format!(
                        "Stage '{}' has no actions; every stage must contain at least one action",
                        stage.name
                    ),
                );
            } else if count > MAX_ACTIONS_PER_STAGE {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S1,
                    format!(
                        "Stage '{}' has {count} actions; a stage may have at most {MAX_ACTIONS_PER_STAGE}",
                        stage.name
                    ),
                );
            }
        }
        if self.actions.len() > MAX_ACTIONS_PER_PIPELINE {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has {} actions; a pipeline may have at most {MAX_ACTIONS_PER_PIPELINE}",
                    self.actions.len()
                ),
            );
        }
    }

    /// S5: stage names are unique in the pipeline, action names unique in their stage.
    pub(super) fn unique_names(&mut self) {
        for name in duplicates(self.pipeline.stages.iter().map(|s| s.name.as_str())) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S5,
                format!(
                    "Stage name '{name}' is used by more than one stage; stage names must be unique within a pipeline"
                ),
            );
        }
        for stage in &self.pipeline.stages {
            for name in duplicates(stage.actions.iter().map(|a| a.name.as_str())) {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S5,
                    format!(
                        "Action name '{name}' is used more than once in stage '{}'; action names must be unique within a stage",
                        stage.name
                    ),
                );
            }
        }
    }

    /// S2–S4: source actions in the first stage and only there, and something besides sources.
    pub(super) fn source_placement(&mut self) {
        for placed in self.actions.clone() {
            let is_source = placed.action.action_type_id.category == ActionCategory::Source;
            if placed.stage_index == 0 && !is_source {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S2,
                    format!(
                        "The first stage '{}' may only contain Source actions, but action '{}' is a {} action",
                        placed.stage.name,
                        placed.action.name,
                        placed.action.action_type_id.category.name()
                    ),
                );
            }
            if placed.stage_index > 0 && is_source {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S3,
                    format!(
                        "Source action '{}' is in stage '{}'; Source actions may only occur in the first stage",
                        placed.action.name, placed.stage.name
                    ),
                );
            }
        }
        let has_work = self
            .actions
            .iter()
            .any(|p| p.action.action_type_id.category != ActionCategory::Source);
        if !self.actions.is_empty() && !has_work {
            self.push(
                Exception::InvalidStructureException,
                Rule::S4,
                format!(
                    "Pipeline '{}' has only Source actions; at least one stage must contain an action that is not a Source action",
                    self.pipeline.name
                ),
            );
        }
    }

    pub(super) fn blockers(&mut self, stage: &StageDeclaration) {
        for blocker in &stage.blockers {
            self.push(
                Exception::InvalidBlockerDeclarationException,
                Rule::Blocker,
                format!(
                    "Stage '{}' declares blocker '{}': blockers are reserved by CodePipeline for future use",
                    stage.name, blocker.name
                ),
            );
        }
    }
}
