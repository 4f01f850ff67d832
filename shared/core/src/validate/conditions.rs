//! S19: the results each kind of stage condition may have, and well-formed rules.

use super::Validator;
use crate::condition;
use crate::condition::VARIABLE_CHECK_OPERATORS;
use crate::model::check::closest;
use crate::pipeline::declaration::{Condition, ConditionResult, RuleDeclaration, StageDeclaration};
use crate::problem::{Exception, Rule};

impl Validator<'_> {
    /// S19: which results each kind of condition may have, and well-formed rules.
    pub(super) fn conditions(&mut self, stage: &StageDeclaration) {
        let name = &stage.name;
        for (kind, conditions) in stage_conditions(stage) {
            let allowed: &[ConditionResult] = if kind == "beforeEntry" {
                &[ConditionResult::Fail, ConditionResult::Skip]
            } else {
                &[ConditionResult::Rollback, ConditionResult::Fail]
            };
            for condition in conditions {
                if let Some(result) = condition.result
                    && !allowed.contains(&result)
                {
                    let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!(
                            "The {kind} condition of stage '{name}' has result {}; {kind} conditions may only {}",
                            result.name(),
                            names.join(" or ")
                        ),
                    );
                }
                // Only entry conditions may SKIP; elsewhere the result itself is the fault.
                if kind == "beforeEntry" && condition.result == Some(ConditionResult::Skip) {
                    for rule in &condition.rules {
                        if condition::rule_type(&rule.rule_type_id.provider)
                            .is_some_and(|t| !t.allows_skip)
                        {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S19,
                                format!(
                                    "The {kind} condition of stage '{name}' has result SKIP, which only LambdaInvoke and VariableCheck rules may decide, but rule '{}' is a {} rule",
                                    rule.name, rule.rule_type_id.provider
                                ),
                            );
                        }
                    }
                }
                if condition.rules.is_empty() {
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!("The {kind} condition of stage '{name}' has no rules; a condition needs 1 to 5"),
                    );
                }
                for rule in &condition.rules {
                    self.rule(stage, kind, rule);
                }
            }
        }
        let Some(failure) = &stage.on_failure else {
            return;
        };
        if failure.result == Some(ConditionResult::Skip) {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' has result SKIP; on failure a stage may ROLLBACK, FAIL or RETRY"
                ),
            );
        }
        if failure.retry_configuration.is_some() && failure.result != Some(ConditionResult::Retry) {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' has a retryConfiguration but its result is not RETRY"
                ),
            );
        }
        if failure.result == Some(ConditionResult::Retry) && !failure.conditions.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' combines RETRY with conditions; automatic stage retry cannot be used in onFailure conditions"
                ),
            );
        }
    }

    fn rule(&mut self, stage: &StageDeclaration, kind: &str, rule: &RuleDeclaration) {
        let at = format!(
            "Rule '{}' in the {kind} condition of stage '{}'",
            rule.name, stage.name
        );
        let provider = &rule.rule_type_id.provider;
        let Some(rule_type) = condition::rule_type(provider) else {
            let known: Vec<&str> = condition::RULE_TYPES.iter().map(|r| r.provider).collect();
            let hint = closest(provider, &known)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "{at} has an unknown provider '{provider}'{hint}; rule providers are: {}",
                    known.join(", ")
                ),
            );
            return;
        };
        if let Some(version) = &rule.rule_type_id.version
            && version != "1"
        {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} has version '{version}'; rule types have version '1'"),
            );
        }
        for key in rule_type.required {
            if !rule.configuration.contains_key(*key) {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S19,
                    format!("{at} is missing required configuration '{key}'"),
                );
            }
        }
        if !rule_type.open_configuration {
            let known: Vec<&str> = rule_type
                .required
                .iter()
                .chain(rule_type.optional)
                .copied()
                .collect();
            for key in rule.configuration.keys() {
                if !known.contains(&key.as_str()) {
                    let hint = closest(key, &known)
                        .map(|s| format!(" (did you mean '{s}'?)"))
                        .unwrap_or_default();
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!(
                            "{at} contains unknown configuration '{key}'{hint}; {provider} rules accept: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        if provider == "VariableCheck"
            && let Some(operator) = rule.configuration.get("Operator")
            && !VARIABLE_CHECK_OPERATORS.contains(&operator.as_str())
        {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "{at} has an invalid Operator '{operator}' (expected one of {})",
                    VARIABLE_CHECK_OPERATORS.join(", ")
                ),
            );
        }
        if rule_type.runs_commands && rule.commands.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} declares no commands; a Commands rule runs its commands field"),
            );
        }
        if !rule_type.runs_commands && !rule.commands.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} declares commands, which only Commands rules run"),
            );
        }
    }
}

/// A stage's conditions by kind.
pub(super) fn stage_conditions(stage: &StageDeclaration) -> Vec<(&'static str, &[Condition])> {
    let mut all = Vec::new();
    if let Some(entry) = &stage.before_entry {
        all.push(("beforeEntry", entry.conditions.as_slice()));
    }
    if let Some(success) = &stage.on_success {
        all.push(("onSuccess", success.conditions.as_slice()));
    }
    if let Some(failure) = &stage.on_failure {
        all.push(("onFailure", failure.conditions.as_slice()));
    }
    all
}
