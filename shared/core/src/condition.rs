//! Stage conditions (V2): the rule types a `beforeEntry`, `onSuccess` or `onFailure` condition may use
//! (docs/codepipeline.md, "Stage conditions"), as data.

/// A rule type (`ruleTypeId {category: Rule, owner: AWS, provider, version: 1}`).
#[derive(Debug, Clone, Copy)]
pub struct RuleType {
    pub provider: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Unknown configuration keys are let through: the full key list could not be sourced.
    pub open_configuration: bool,
    /// Only LambdaInvoke and VariableCheck rules may decide a SKIP entry condition.
    pub allows_skip: bool,
    /// The rule runs the declaration's `commands`.
    pub runs_commands: bool,
}

const fn rule(
    provider: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
) -> RuleType {
    RuleType {
        provider,
        required,
        optional,
        open_configuration: false,
        allows_skip: false,
        runs_commands: false,
    }
}

pub const RULE_TYPES: &[RuleType] = &[
    rule("DeploymentWindow", &["Cron"], &["TimeZone"]),
    RuleType {
        open_configuration: true,
        ..rule("CloudWatchAlarm", &["AlarmName"], &["WaitTime"])
    },
    RuleType {
        allows_skip: true,
        ..rule("LambdaInvoke", &["FunctionName"], &["UserParameters"])
    },
    RuleType {
        allows_skip: true,
        ..rule("VariableCheck", &["Variable", "Value", "Operator"], &[])
    },
    RuleType {
        open_configuration: true,
        runs_commands: true,
        ..rule("Commands", &[], &[])
    },
    RuleType {
        open_configuration: true,
        ..rule("CodeBuild", &["ProjectName"], &[])
    },
];

/// The operators of a VariableCheck rule.
pub const VARIABLE_CHECK_OPERATORS: &[&str] = &["EQ", "NE", "CONTAINS", "MATCHES"];

pub fn rule_type(provider: &str) -> Option<&'static RuleType> {
    RULE_TYPES.iter().find(|r| r.provider == provider)
}
