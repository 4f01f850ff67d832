//! Each action alone: its type exists (S11), its configuration (S11, S16), compute-only fields (S21),
//! its role (S17), its timeout, its cross-region limits (S12); and namespaces across actions (S13).

use super::{Placed, Validator};
use crate::action::{CustomActionType, Resolved, catalog};
use crate::model::check::closest;
use crate::pipeline::declaration::{ActionCategory, ActionDeclaration, ActionOwner};
use crate::problem::{Exception, Rule};
use crate::variable::{CODEPIPELINE_NAMESPACE, PIPELINE_VARIABLES_NAMESPACE};
use std::collections::HashSet;

impl<'a> Validator<'a> {
    /// Everything about one action alone: its type (S11), configuration (S11, S16), artifact counts
    /// (S9), compute-only fields (S21), role (S17), timeout, and cross-region limits (S12).
    pub(super) fn action(&mut self, placed: &Placed<'a>) {
        let action = placed.action;
        let id = &action.action_type_id;
        let mut artifact_bounds = None;
        match self.context.action_types.resolve(id) {
            Resolved::Builtin(action_type) => {
                artifact_bounds = Some((action_type.inputs, action_type.outputs));
                self.builtin_configuration(placed, action_type);
            }
            Resolved::Custom(custom) => {
                artifact_bounds = Some((
                    (
                        custom.input_artifact_details.minimum_count,
                        custom.input_artifact_details.maximum_count,
                    ),
                    (
                        custom.output_artifact_details.minimum_count,
                        custom.output_artifact_details.maximum_count,
                    ),
                ));
                self.custom_configuration(placed, custom);
            }
            // The model caps custom action types at 5 artifacts each way.
            Resolved::UnknownCustom => artifact_bounds = Some(((0, 5), (0, 5))),
            Resolved::Unavailable => self.unavailable(placed),
        }
        if let Some(((min_in, max_in), (min_out, max_out))) = artifact_bounds {
            self.artifact_count(
                action,
                "input",
                action.input_artifacts.len(),
                min_in,
                max_in,
            );
            self.artifact_count(
                action,
                "output",
                action.output_artifacts.len(),
                min_out,
                max_out,
            );
        }
        self.compute_fields(placed);
        if action.role_arn.is_some() && id.owner != ActionOwner::Aws {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S17,
                format!(
                    "Specifying a Role is not supported for actions with an owner different than 'AWS': {} is owned by {}",
                    placed.describe(),
                    id.owner.name()
                ),
            );
        }
        let is_manual_approval = id.category == ActionCategory::Approval
            && id.owner == ActionOwner::Aws
            && id.provider == "Manual";
        if action.timeout_in_minutes.is_some() && !is_manual_approval {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::Timeout,
                format!(
                    "{} sets timeoutInMinutes, which only manual approval actions may set",
                    placed.described()
                ),
            );
        }
        if let Some(region) = &action.region
            && *region != self.context.region
        {
            let forbidden = if id.category == ActionCategory::Source {
                Some("Source actions".to_string())
            } else if id.owner != ActionOwner::Aws {
                Some(format!("actions owned by {}", id.owner.name()))
            } else {
                None
            };
            if let Some(forbidden) = forbidden {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S12,
                    format!(
                        "{} declares Region '{region}', but cross-region actions are not allowed for {forbidden}",
                        placed.described()
                    ),
                );
            }
        }
    }

    fn unavailable(&mut self, placed: &Placed<'_>) {
        let id = &placed.action.action_type_id;
        let reason = if id.owner == ActionOwner::Custom {
            "no custom action type with that category, provider and version is registered"
                .to_string()
        } else {
            let offered = catalog::providers(id.owner, id.category);
            let elsewhere = catalog::categories_of(&id.provider);
            if !offered.is_empty() && offered.contains(&id.provider.as_str()) {
                format!(
                    "{} action types have version '1'",
                    match id.owner {
                        ActionOwner::Aws => "AWS",
                        _ => "ThirdParty",
                    }
                )
            } else if !elsewhere.is_empty() {
                let names: Vec<&str> = elsewhere.iter().map(|c| c.name()).collect();
                format!(
                    "{} is a provider of the {} categor{}",
                    id.provider,
                    names.join(" and "),
                    if names.len() == 1 { "y" } else { "ies" }
                )
            } else if offered.is_empty() {
                format!(
                    "{} offers no {} action types",
                    id.owner.name(),
                    id.category.name()
                )
            } else {
                let hint = closest(&id.provider, &offered)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                format!(
                    "{} actions owned by {} are: {}{hint}",
                    id.category.name(),
                    id.owner.name(),
                    offered.join(", ")
                )
            }
        };
        self.push(
            Exception::InvalidActionDeclarationException,
            Rule::S11,
            format!(
                "ActionType (Category: '{}', Provider: '{}', Owner: '{}', Version: '{}') in action '{}' in stage '{}' is not available: {reason}",
                id.category.name(),
                id.provider,
                id.owner.name(),
                id.version,
                placed.action.name,
                placed.stage.name
            ),
        );
    }

    fn builtin_configuration(&mut self, placed: &Placed<'_>, action_type: &catalog::ActionType) {
        let action = placed.action;
        for property in action_type.properties.iter().filter(|p| p.required) {
            if !action.configuration.contains_key(property.name) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' is missing required configuration '{}'",
                        action.name, property.name
                    ),
                );
            }
        }
        if !action_type.open_configuration {
            let known: Vec<&str> = action_type.properties.iter().map(|p| p.name).collect();
            self.unknown_configuration(action, action_type.provider, &known);
        }
        if let Some(check) = action_type.check {
            for message in check(action) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    message,
                );
            }
        }
    }

    fn unknown_configuration(
        &mut self,
        action: &ActionDeclaration,
        provider: &str,
        known: &[&str],
    ) {
        for key in action.configuration.keys() {
            if !known.contains(&key.as_str()) {
                let hint = closest(key, known)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                let accepted = if known.is_empty() {
                    format!("{provider} actions take no configuration")
                } else {
                    format!("{provider} actions accept: {}", known.join(", "))
                };
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' contains unknown configuration '{key}'{hint}; {accepted}",
                        action.name
                    ),
                );
            }
        }
    }

    fn custom_configuration(&mut self, placed: &Placed<'_>, custom: &CustomActionType) {
        let action = placed.action;
        for property in custom
            .configuration_properties
            .iter()
            .filter(|p| p.required)
        {
            if !action.configuration.contains_key(&property.name) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' is missing required configuration '{}'",
                        action.name, property.name
                    ),
                );
            }
        }
        let known: Vec<&str> = custom
            .configuration_properties
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        self.unknown_configuration(action, &custom.provider, &known);
        for property in custom
            .configuration_properties
            .iter()
            .filter(|p| p.queryable)
        {
            if let Some(value) = action.configuration.get(&property.name) {
                let ok = value.chars().count() <= 20
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S16,
                        format!(
                            "Action configuration for action '{}' has an invalid value for queryable property '{}': '{value}' (at most 20 characters, only letters, digits, _ and -)",
                            action.name, property.name
                        ),
                    );
                }
            }
        }
    }

    /// S21: `commands`, `outputVariables`, `environmentVariables` and output `files` belong to compute
    /// actions, and a compute action needs its commands, one line each.
    fn compute_fields(&mut self, placed: &Placed<'_>) {
        let action = placed.action;
        let id = &action.action_type_id;
        let is_compute = id.category == ActionCategory::Compute && id.provider == "Commands";
        if is_compute {
            if action.commands.is_empty() {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S21,
                    format!(
                        "Compute action '{}' in stage '{}' declares no commands; a Commands action runs its commands field",
                        action.name, placed.stage.name
                    ),
                );
            }
            for (index, command) in action.commands.iter().enumerate() {
                if command.contains('\n') || command.contains('\r') {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S21,
                        format!(
                            "Command {} of {} spans several lines; each command must be a single line",
                            index + 1,
                            placed.describe()
                        ),
                    );
                }
            }
            return;
        }
        let misplaced = [
            ("commands", !action.commands.is_empty()),
            ("outputVariables", !action.output_variables.is_empty()),
            (
                "environmentVariables",
                !action.environment_variables.is_empty(),
            ),
            (
                "files",
                action.output_artifacts.iter().any(|a| !a.files.is_empty()),
            ),
        ];
        for (field, present) in misplaced {
            if !present {
                continue;
            }
            let article = if field.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S21,
                format!(
                    "The following action cannot contain {article} {field} field: {}. To use the {field} field, use a compute action.",
                    action.name
                ),
            );
        }
    }

    /// S13: namespaces are unique, differ from artifact names, and avoid the reserved ones.
    pub(super) fn namespaces(&mut self) {
        let artifacts: HashSet<&str> = self
            .actions
            .iter()
            .flat_map(|p| {
                p.action
                    .output_artifacts
                    .iter()
                    .map(|a| a.name.as_str())
                    .chain(p.action.input_artifacts.iter().map(|a| a.name.as_str()))
            })
            .collect();
        let mut seen = HashSet::new();
        for placed in self.actions.clone() {
            let Some(namespace) = placed.action.namespace.as_deref() else {
                continue;
            };
            if !seen.insert(namespace) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespaces must be unique across the pipeline definition. The following occur more than once in the pipeline. StageName=[{}], ActionName=[{}], Namespace=[{namespace}]",
                        placed.stage.name, placed.action.name
                    ),
                );
            }
            if artifacts.contains(namespace) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespace '{namespace}' of {} is also the name of an artifact; namespaces and artifact names must differ",
                        placed.describe()
                    ),
                );
            }
            if namespace == CODEPIPELINE_NAMESPACE || namespace == PIPELINE_VARIABLES_NAMESPACE {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespace '{namespace}' of {} is reserved for CodePipeline's own variables",
                        placed.describe()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture::{base, problems_of};
    use crate::action::{ActionTypes, ArtifactDetails, CustomActionType, CustomProperty};
    use crate::pipeline::declaration::ActionCategory;
    use crate::validate::ValidationContext;

    #[test]
    fn custom_actions_are_taken_on_trust_offline_and_checked_against_registered_types() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][1] = json!({"name": "Jenkins",
            "runOrder": 2, "actionTypeId": {"category": "Build", "owner": "Custom", "provider": "Jenkins", "version": "1"},
            "configuration": {"Job": "build"}, "inputArtifacts": [{"name": "Bin"}]});
        assert!(problems_of(document.clone(), &ValidationContext::default()).is_empty());

        let registered = |required: &str| ValidationContext {
            action_types: ActionTypes {
                custom: Some(vec![CustomActionType {
                    category: ActionCategory::Build,
                    provider: "Jenkins".to_string(),
                    version: "1".to_string(),
                    configuration_properties: vec![CustomProperty {
                        name: required.to_string(),
                        required: true,
                        key: true,
                        secret: false,
                        queryable: true,
                    }],
                    input_artifact_details: ArtifactDetails {
                        minimum_count: 1,
                        maximum_count: 1,
                    },
                    output_artifact_details: ArtifactDetails {
                        minimum_count: 0,
                        maximum_count: 0,
                    },
                }]),
            },
            ..ValidationContext::default()
        };
        assert!(problems_of(document.clone(), &registered("Job")).is_empty());
        assert_eq!(
            problems_of(document.clone(), &registered("ProjectName")),
            vec![
                "InvalidActionDeclarationException: Action configuration for action 'Jenkins' is missing required configuration 'ProjectName'",
                "InvalidActionDeclarationException: Action configuration for action 'Jenkins' contains unknown configuration 'Job'; Jenkins actions accept: ProjectName",
            ]
        );
        document["pipeline"]["stages"][1]["actions"][1]["actionTypeId"]["version"] = json!("2");
        let problems = problems_of(document, &registered("Job"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(
            "no custom action type with that category, provider and version is registered"
        ));
    }

    #[test]
    fn variable_values_are_not_held_to_fixed_value_sets() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][0]["configuration"]["BatchEnabled"] =
            json!("#{SV.VersionId}");
        assert!(problems_of(document, &ValidationContext::default()).is_empty());
    }
}
