//! The artifact flow: every input is the output of an action that runs before it, condition rules
//! included (S7); output names are unique (S8); each action has as many artifacts as its type allows (S9).

use std::collections::HashMap;

use super::conditions::stage_conditions;
use super::{Placed, Validator, duplicates};
use crate::pipeline::declaration::ActionDeclaration;
use crate::problem::{Exception, Rule};

impl<'a> Validator<'a> {
    /// S9, in the words AWS uses.
    pub(super) fn artifact_count(
        &mut self,
        action: &ActionDeclaration,
        kind: &str,
        count: usize,
        min: usize,
        max: usize,
    ) {
        if count < min {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S9,
                format!(
                    "Action {} declares {count} {kind} artifacts which is less than the minimum count ({min})",
                    action.name
                ),
            );
        } else if count > max {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S9,
                format!(
                    "Action {} declares {count} {kind} artifacts which is more than the maximum count ({max})",
                    action.name
                ),
            );
        }
    }

    /// S7 (inputs come from an action that runs earlier) and S8 (output names are unique).
    pub(super) fn artifact_flow(&mut self) {
        let mut producers: HashMap<&str, Placed<'a>> = HashMap::new();
        let mut outputs = Vec::new();
        for placed in &self.actions {
            for output in &placed.action.output_artifacts {
                outputs.push(output.name.as_str());
                producers.entry(output.name.as_str()).or_insert(*placed);
            }
        }
        for name in duplicates(outputs.into_iter()) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S8,
                format!(
                    "Output Artifact Bundle name must be unique within the pipeline. {name} has been used more than once."
                ),
            );
        }
        for placed in self.actions.clone() {
            let names = placed
                .action
                .input_artifacts
                .iter()
                .map(|a| a.name.as_str());
            for name in duplicates(names) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S7,
                    format!(
                        "{} declares input artifact '{name}' more than once",
                        placed.described()
                    ),
                );
            }
            for input in &placed.action.input_artifacts {
                match producers.get(input.name.as_str()) {
                    None => self.push(
                        Exception::InvalidStructureException,
                        Rule::S7,
                        format!(
                            "Input artifact '{}' of {} is not the output artifact of any action in the pipeline",
                            input.name,
                            placed.describe()
                        ),
                    ),
                    Some(producer) if !producer.runs_before(&placed) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S7,
                        format!(
                            "Input artifact '{}' of {} is produced by {}, which does not run before it",
                            input.name,
                            placed.describe(),
                            producer.describe()
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        // Condition rules read artifacts too: entry rules only from earlier stages.
        for (stage_index, stage) in self.pipeline.stages.iter().enumerate() {
            for (kind, conditions) in stage_conditions(stage) {
                for rule in conditions.iter().flat_map(|c| &c.rules) {
                    for input in &rule.input_artifacts {
                        let available = producers.get(input.name.as_str()).is_some_and(|p| {
                            p.stage_index < stage_index
                                || (p.stage_index == stage_index && kind != "beforeEntry")
                        });
                        if !available {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S7,
                                format!(
                                    "Input artifact '{}' of rule '{}' in the {kind} condition of stage '{}' is not produced by an action that runs before the condition",
                                    input.name, rule.name, stage.name
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture::{base, problems_of};
    use crate::validate::ValidationContext;

    #[test]
    fn a_later_run_order_may_consume_what_an_earlier_one_in_the_same_stage_produced() {
        assert_eq!(
            problems_of(base(), &ValidationContext::default()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_same_run_order_may_not() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][1]["runOrder"] = json!(1);
        let problems = problems_of(document, &ValidationContext::default());
        assert!(
            problems.iter().any(|p| p.starts_with("InvalidStructureException: Input artifact 'Bin' of action 'Package' in stage 'Build' is produced by action 'Compile' in stage 'Build', which does not run before it")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("references '#{BV.Name}'")),
            "{problems:?}"
        );
    }
}
