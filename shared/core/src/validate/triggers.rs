//! S20: each trigger names a CodeStarSourceConnection action of the first stage, once, with well-formed
//! push and pull request filters.

use std::collections::HashSet;

use super::Validator;
use crate::pipeline::declaration::GitFilterCriteria;
use crate::problem::{Exception, Rule};

impl Validator<'_> {
    /// S20: each trigger names a CodeStarSourceConnection action of the first stage, once, with
    /// well-formed filters.
    pub(super) fn triggers(&mut self) {
        let first_stage = self.pipeline.stages.first();
        let mut seen = HashSet::new();
        for trigger in &self.pipeline.triggers {
            let git = &trigger.git_configuration;
            let source = &git.source_action_name;
            match first_stage.and_then(|s| s.actions.iter().find(|a| a.name == *source)) {
                None => self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Trigger source action '{source}' is not an action of the first stage{}",
                        first_stage.map(|s| format!(" '{}'", s.name)).unwrap_or_default()
                    ),
                ),
                Some(action) if action.action_type_id.provider != "CodeStarSourceConnection" => self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Trigger source action '{source}' is a {} action; triggers need a CodeStarSourceConnection source action",
                        action.action_type_id.provider
                    ),
                ),
                Some(_) => {}
            }
            if !seen.insert(source.as_str()) {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Source action '{source}' has more than one trigger; a source action takes one trigger configuration"
                    ),
                );
            }
            if git.push.is_empty() && git.pull_request.is_empty() {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "The trigger for source action '{source}' has neither push nor pullRequest filters"
                    ),
                );
            }
            for (index, push) in git.push.iter().enumerate() {
                let at = format!(
                    "Push filter {} of the trigger for source action '{source}'",
                    index + 1
                );
                match (&push.tags, &push.branches) {
                    (Some(_), Some(_)) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!(
                            "{at} names both tags and branches; a push filter uses one of them"
                        ),
                    ),
                    (None, None) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} names neither tags nor branches"),
                    ),
                    _ => {}
                }
                if push.file_paths.is_some() && push.branches.is_none() {
                    self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} filters filePaths, which needs branches"),
                    );
                }
                for (field, criteria) in [
                    ("tags", &push.tags),
                    ("branches", &push.branches),
                    ("filePaths", &push.file_paths),
                ] {
                    self.criteria(&at, field, criteria);
                }
            }
            for (index, pull) in git.pull_request.iter().enumerate() {
                let at = format!(
                    "Pull request filter {} of the trigger for source action '{source}'",
                    index + 1
                );
                if pull.branches.is_none() {
                    self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} names no branches"),
                    );
                }
                for (field, criteria) in [
                    ("branches", &pull.branches),
                    ("filePaths", &pull.file_paths),
                ] {
                    self.criteria(&at, field, criteria);
                }
            }
        }
    }

    fn criteria(&mut self, at: &str, field: &str, criteria: &Option<GitFilterCriteria>) {
        if let Some(criteria) = criteria
            && criteria.includes.is_empty()
            && criteria.excludes.is_empty()
        {
            self.push(
                Exception::InvalidStructureException,
                Rule::S20,
                format!("{at} has {field} with neither includes nor excludes"),
            );
        }
    }
}
