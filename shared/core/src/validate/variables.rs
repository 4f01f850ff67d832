//! S14: every `#{namespace.name}` reference is well formed and names something that exists before its
//! reader runs; pipeline variable names are unique.

use super::conditions::stage_conditions;
use super::{Placed, Validator, duplicates};
use crate::pipeline::declaration::{ActionCategory, RuleDeclaration, StageDeclaration};
use crate::problem::{Exception, Rule};
use crate::variable::{
    CODEPIPELINE_NAMESPACE, CODEPIPELINE_VARIABLES, PIPELINE_VARIABLES_NAMESPACE, references,
};

impl Validator<'_> {
    /// S14: every `#{namespace.name}` points at something that exists before the reader runs.
    pub(super) fn variables(&mut self) {
        for name in duplicates(self.pipeline.variables.iter().map(|v| v.name.as_str())) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S14,
                format!("Pipeline variable '{name}' is declared more than once"),
            );
        }
        for placed in self.actions.clone() {
            let action = placed.action;
            let mut texts: Vec<(String, &str)> = action
                .configuration
                .iter()
                .map(|(key, value)| (format!("configuration '{key}'"), value.as_str()))
                .collect();
            texts.extend(
                action
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("command {}", i + 1), c.as_str())),
            );
            texts.extend(action.environment_variables.iter().map(|e| {
                (
                    format!("environment variable '{}'", e.name),
                    e.value.as_str(),
                )
            }));
            for (place, text) in texts {
                let reader = Reader::Action(placed);
                for problem in self.reference_problems(&reader, &place, text) {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S14,
                        problem,
                    );
                }
            }
        }
        for (stage_index, stage) in self.pipeline.stages.iter().enumerate() {
            for (kind, conditions) in stage_conditions(stage) {
                for rule in conditions.iter().flat_map(|c| &c.rules) {
                    let reader = Reader::Rule {
                        stage_index,
                        stage,
                        rule,
                        kind,
                    };
                    let mut texts: Vec<(String, &str)> = rule
                        .configuration
                        .iter()
                        .map(|(key, value)| (format!("configuration '{key}'"), value.as_str()))
                        .collect();
                    texts.extend(
                        rule.commands
                            .iter()
                            .enumerate()
                            .map(|(i, c)| (format!("command {}", i + 1), c.as_str())),
                    );
                    for (place, text) in texts {
                        for problem in self.reference_problems(&reader, &place, text) {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S14,
                                problem,
                            );
                        }
                    }
                }
            }
        }
    }

    fn reference_problems(&self, reader: &Reader<'_>, place: &str, text: &str) -> Vec<String> {
        let who = reader.describe();
        let mut problems = Vec::new();
        for reference in references(text) {
            let reference = match reference {
                Ok(reference) => reference,
                Err(malformed) => {
                    problems.push(format!(
                        "{who} has a malformed variable reference '{}' in {place}; a reference reads #{{namespace.name}}",
                        malformed.text
                    ));
                    continue;
                }
            };
            let text = reference.text;
            if reference.namespace == CODEPIPELINE_NAMESPACE {
                if !CODEPIPELINE_VARIABLES.contains(&reference.name) {
                    problems.push(format!(
                        "{who} references '{text}' in {place}, but the codepipeline namespace only provides {}",
                        CODEPIPELINE_VARIABLES.join(", ")
                    ));
                }
                continue;
            }
            if reference.namespace == PIPELINE_VARIABLES_NAMESPACE {
                if !self
                    .pipeline
                    .variables
                    .iter()
                    .any(|v| v.name == reference.name)
                {
                    problems.push(format!(
                        "{who} references '{text}' in {place}, but the pipeline declares no variable '{}'",
                        reference.name
                    ));
                }
                continue;
            }
            let producers: Vec<&Placed<'_>> = self
                .actions
                .iter()
                .filter(|p| p.action.namespace.as_deref() == Some(reference.namespace))
                .collect();
            let Some(producer) = producers.first() else {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but no action in the pipeline declares the namespace '{}'",
                    reference.namespace
                ));
                continue;
            };
            if !reader.runs_after(producer) {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but {}, which declares the namespace '{}', does not run before it",
                    producer.describe(),
                    reference.namespace
                ));
                continue;
            }
            let exported = &producer.action.output_variables;
            let is_compute = producer.action.action_type_id.provider == "Commands"
                && producer.action.action_type_id.category == ActionCategory::Compute;
            if is_compute && !exported.iter().any(|v| v == reference.name) {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but {} exports only the output variables: {}",
                    producer.describe(),
                    if exported.is_empty() {
                        "(none)".to_string()
                    } else {
                        exported.join(", ")
                    }
                ));
            }
        }
        problems
    }
}

/// Who reads a variable: an action, or a rule of a stage condition.
enum Reader<'a> {
    Action(Placed<'a>),
    Rule {
        stage_index: usize,
        stage: &'a StageDeclaration,
        rule: &'a RuleDeclaration,
        kind: &'static str,
    },
}

impl Reader<'_> {
    fn describe(&self) -> String {
        match self {
            Reader::Action(placed) => placed.described(),
            Reader::Rule {
                stage, rule, kind, ..
            } => format!(
                "Rule '{}' in the {kind} condition of stage '{}'",
                rule.name, stage.name
            ),
        }
    }

    /// Whether `producer` has finished when this reader runs. Entry rules run before their stage;
    /// success and failure rules after it.
    fn runs_after(&self, producer: &Placed<'_>) -> bool {
        match self {
            Reader::Action(placed) => producer.runs_before(placed),
            Reader::Rule {
                stage_index, kind, ..
            } => {
                producer.stage_index < *stage_index
                    || (producer.stage_index == *stage_index && *kind != "beforeEntry")
            }
        }
    }
}
