//! The structural rules CodePipeline enforces on CreatePipeline and UpdatePipeline once the shapes are
//! right: the rules S1–S22 of docs/validation.md and the artifact counts of docs/codepipeline.md. Every rule runs and every
//! finding is kept, each naming the stage, action, artifact, namespace or field at fault.
//! docs/validation.md lists the rules with their exceptions; rules that need more than one file (S6: a
//! pipeline cannot be renamed; pipeline names unique per account; S17's AssumeRole check) belong to the API.
//!
//! The rules are grouped by family, a file each: `structure` (stages, names, counts, source placement,
//! blockers), `actions` (types, configuration, roles, timeouts, cross-region limits, namespaces),
//! `artifacts` (the artifact flow and counts), `variables` (references and pipeline variables),
//! `stores` (artifact stores and Regions), `pipeline_type` (V1 and V2 features), `conditions`,
//! `triggers` and `tags`. This file holds the entry, [`validate`], which runs every family, and what
//! they share: the context, an action with its place, and the finding collector.

mod actions;
mod artifacts;
mod conditions;
#[cfg(test)]
mod fixture;
mod pipeline_type;
mod stores;
mod structure;
mod tags;
mod triggers;
mod variables;

use std::collections::BTreeMap;

use crate::action::ActionTypes;
use crate::pipeline::declaration::{ActionDeclaration, PipelineDeclaration, StageDeclaration};
use crate::pipeline::file::PipelineFile;
use crate::problem::{Exception, Problem, Rule};

pub use pipeline_type::v2_features;
pub use structure::{MAX_ACTIONS_PER_PIPELINE, MAX_ACTIONS_PER_STAGE, MAX_STAGES};
pub use tags::MAX_TAGS;

/// What validation needs beyond the file.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// The pipeline's Region: actions elsewhere are cross-region actions.
    pub region: String,
    pub action_types: ActionTypes,
}

impl Default for ValidationContext {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            action_types: ActionTypes::default(),
        }
    }
}

/// Every structural problem of a pipeline file whose shapes are valid.
pub fn validate(file: &PipelineFile, context: &ValidationContext) -> Vec<Problem> {
    let pipeline = &file.pipeline;
    let actions: Vec<Placed<'_>> = pipeline
        .stages
        .iter()
        .enumerate()
        .flat_map(|(stage_index, stage)| {
            stage.actions.iter().map(move |action| Placed {
                stage_index,
                stage,
                action,
            })
        })
        .collect();
    let mut v = Validator {
        pipeline,
        context,
        actions,
        problems: Vec::new(),
    };
    v.counts();
    v.unique_names();
    v.source_placement();
    for placed in &v.actions.clone() {
        v.action(placed);
    }
    v.artifact_flow();
    v.namespaces();
    v.variables();
    v.artifact_stores();
    v.pipeline_type();
    for stage in &pipeline.stages {
        v.conditions(stage);
        v.blockers(stage);
    }
    v.triggers();
    v.tags(&file.tags);
    v.problems
}

/// An action and where it sits.
#[derive(Clone, Copy)]
struct Placed<'a> {
    stage_index: usize,
    stage: &'a StageDeclaration,
    action: &'a ActionDeclaration,
}

impl Placed<'_> {
    /// Whether this action is sure to have finished before `other` starts.
    fn runs_before(&self, other: &Placed<'_>) -> bool {
        self.stage_index < other.stage_index
            || (self.stage_index == other.stage_index
                && self.action.run_order() < other.action.run_order())
    }

    fn describe(&self) -> String {
        format!(
            "action '{}' in stage '{}'",
            self.action.name, self.stage.name
        )
    }

    fn described(&self) -> String {
        format!(
            "Action '{}' in stage '{}'",
            self.action.name, self.stage.name
        )
    }
}

struct Validator<'a> {
    pipeline: &'a PipelineDeclaration,
    context: &'a ValidationContext,
    actions: Vec<Placed<'a>>,
    problems: Vec<Problem>,
}

impl<'a> Validator<'a> {
    fn push(&mut self, exception: Exception, rule: Rule, message: String) {
        self.problems.push(Problem::new(exception, rule, message));
    }
}

/// Names that occur more than once, each reported once, in order of first repetition.
fn duplicates<'n>(names: impl Iterator<Item = &'n str>) -> Vec<&'n str> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut order = Vec::new();
    for name in names {
        let count = counts.entry(name).or_insert(0);
        *count += 1;
        if *count == 2 {
            order.push(name);
        }
    }
    order
}
