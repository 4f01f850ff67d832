//! The Choice state's own fields: its rules, their operators and operands, and its Default.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::reader::{Reader, kind, pointer};
use crate::definition::{ChoiceBranch, ChoiceRule, Comparison, Operand, Ordering};

impl Reader {
    /// A Choice state's own fields: its Default and its Choices, each rule's target in `edges`.
    pub(super) fn choice_branches(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        edges: &mut Vec<(String, String)>,
    ) -> (Option<String>, Vec<ChoiceBranch>) {
        let default = self.string(object, "Default", at);
        if let Some(default) = &default {
            edges.push((default.clone(), pointer(at, "Default")));
        }
        let choices_at = pointer(at, "Choices");
        let mut choices = Vec::new();
        match object.get("Choices") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{choices_at}/{i}");
                    let Some(rule_object) = self.object(item, &item_at, "A choice rule") else {
                        continue;
                    };
                    let next = self.required_string(
                        rule_object,
                        "Next",
                        &item_at,
                        "A top-level choice rule",
                    );
                    if let Some(next) = &next {
                        edges.push((next.clone(), pointer(&item_at, "Next")));
                    }
                    let assign = self.template_field(rule_object, "Assign", &item_at);
                    let rule = self.choice_rule(rule_object, &item_at, true);
                    if let (Some(rule), Some(next)) = (rule, next) {
                        choices.push(ChoiceBranch { rule, next, assign });
                    }
                }
            }
            Some(_) => self.schema(
                &choices_at,
                "'Choices' must be a non-empty array of choice rules",
            ),
            None => self.schema(at, "A Choice state must have 'Choices'"),
        }
        (default, choices)
    }

    fn choice_rule(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        top_level: bool,
    ) -> Option<ChoiceRule> {
        let mut allowed: Vec<&str> = vec!["Variable", "And", "Or", "Not", "Comment"];
        allowed.extend(COMPARISONS.iter().map(|(name, _)| *name));
        if top_level {
            allowed.extend(["Next", "Assign"]);
        } else if object.contains_key("Next") {
            self.schema(
                pointer(at, "Next"),
                "Only top-level choice rules may have 'Next'",
            );
        }
        self.known_fields(object, at, &[&allowed], "A choice rule");
        let combinators: Vec<&str> = ["And", "Or", "Not"]
            .into_iter()
            .filter(|k| object.contains_key(*k))
            .collect();
        let comparisons: Vec<&(&str, OperandKind)> = COMPARISONS
            .iter()
            .filter(|(name, _)| object.contains_key(*name))
            .collect();
        match (combinators.as_slice(), comparisons.as_slice()) {
            ([combinator], []) => {
                if object.contains_key("Variable") {
                    self.schema(
                        pointer(at, "Variable"),
                        format!("A rule with '{combinator}' has no 'Variable'"),
                    );
                }
                let field_at = pointer(at, combinator);
                let value = &object[*combinator];
                if *combinator == "Not" {
                    let inner = self.object(value, &field_at, "'Not'")?;
                    return self
                        .choice_rule(inner, &field_at, false)
                        .map(|rule| ChoiceRule::Not(Box::new(rule)));
                }
                let Value::Array(items) = value else {
                    self.schema(
                        &field_at,
                        format!(
                            "'{combinator}' must be a non-empty array of rules, not {}",
                            kind(value)
                        ),
                    );
                    return None;
                };
                if items.is_empty() {
                    self.schema(
                        &field_at,
                        format!("'{combinator}' must have at least one rule"),
                    );
                    return None;
                }
                let mut rules = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{field_at}/{i}");
                    if let Some(inner) = self.object(item, &item_at, "A choice rule")
                        && let Some(rule) = self.choice_rule(inner, &item_at, false)
                    {
                        rules.push(rule);
                    }
                }
                if rules.len() != items.len() {
                    return None;
                }
                Some(if *combinator == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                })
            }
            ([], [(operator, operand_kind)]) => {
                let variable_text =
                    self.required_string(object, "Variable", at, "A data-test rule")?;
                let variable =
                    self.reference(&variable_text, &pointer(at, "Variable"), "Variable")?;
                let comparison = self.comparison(object, at, operator, *operand_kind)?;
                Some(ChoiceRule::Test {
                    variable,
                    comparison,
                })
            }
            ([], []) => {
                self.schema(at, "A choice rule needs a comparison operator (such as StringEquals) with 'Variable', or one of And, Or, Not");
                None
            }
            _ => {
                let mut found: Vec<&str> = combinators.clone();
                found.extend(comparisons.iter().map(|(name, _)| *name));
                self.schema(
                    at,
                    format!(
                        "A choice rule has exactly one operator, not {}",
                        found.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn comparison(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        operator: &str,
        operand_kind: OperandKind,
    ) -> Option<Comparison> {
        let value = &object[operator];
        let field_at = pointer(at, operator);
        let ordering = ordering_of(operator);
        let string = |v: &Value| v.as_str().map(str::to_string);
        let timestamp = |v: &Value| v.as_str().filter(|s| is_timestamp(s)).map(str::to_string);
        Some(match operand_kind {
            OperandKind::String => Comparison::String(
                ordering,
                self.operand(value, &field_at, operator, string, "a string")?,
            ),
            OperandKind::Number => Comparison::Numeric(
                ordering,
                self.operand(value, &field_at, operator, Value::as_f64, "a number")?,
            ),
            OperandKind::Boolean => Comparison::Boolean(self.operand(
                value,
                &field_at,
                operator,
                Value::as_bool,
                "true or false",
            )?),
            OperandKind::Timestamp => Comparison::Timestamp(
                ordering,
                self.operand(
                    value,
                    &field_at,
                    operator,
                    timestamp,
                    "an RFC 3339 timestamp string",
                )?,
            ),
            OperandKind::Pattern => match value {
                Value::String(pattern) => Comparison::StringMatches(pattern.clone()),
                other => {
                    self.schema(
                        &field_at,
                        format!("'{operator}' must be a string pattern, not {}", kind(other)),
                    );
                    return None;
                }
            },
            OperandKind::Test => {
                let Value::Bool(b) = value else {
                    self.schema(
                        &field_at,
                        format!("'{operator}' must be true or false, not {}", kind(value)),
                    );
                    return None;
                };
                match operator {
                    "IsNull" => Comparison::IsNull(*b),
                    "IsPresent" => Comparison::IsPresent(*b),
                    "IsNumeric" => Comparison::IsNumeric(*b),
                    "IsString" => Comparison::IsString(*b),
                    "IsBoolean" => Comparison::IsBoolean(*b),
                    _ => Comparison::IsTimestamp(*b),
                }
            }
        })
    }

    /// The right-hand side of a comparison: a constant, or for the `…Path` operators a reference path.
    fn operand<T>(
        &mut self,
        value: &Value,
        at: &str,
        operator: &str,
        literal: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Option<Operand<T>> {
        if operator.ends_with("Path") {
            let Value::String(text) = value else {
                self.schema(
                    at,
                    format!("'{operator}' must be a path, not {}", kind(value)),
                );
                return None;
            };
            return self.reference(text, at, operator).map(Operand::Path);
        }
        match literal(value) {
            Some(v) => Some(Operand::Value(v)),
            None => {
                self.schema(at, format!("'{operator}' must be {expected}, not {value}"));
                None
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum OperandKind {
    String,
    Pattern,
    Number,
    Boolean,
    Timestamp,
    Test,
}

/// Every data-test operator of a choice rule.
const COMPARISONS: &[(&str, OperandKind)] = &[
    ("StringEquals", OperandKind::String),
    ("StringEqualsPath", OperandKind::String),
    ("StringLessThan", OperandKind::String),
    ("StringLessThanPath", OperandKind::String),
    ("StringGreaterThan", OperandKind::String),
    ("StringGreaterThanPath", OperandKind::String),
    ("StringLessThanEquals", OperandKind::String),
    ("StringLessThanEqualsPath", OperandKind::String),
    ("StringGreaterThanEquals", OperandKind::String),
    ("StringGreaterThanEqualsPath", OperandKind::String),
    ("StringMatches", OperandKind::Pattern),
    ("NumericEquals", OperandKind::Number),
    ("NumericEqualsPath", OperandKind::Number),
    ("NumericLessThan", OperandKind::Number),
    ("NumericLessThanPath", OperandKind::Number),
    ("NumericGreaterThan", OperandKind::Number),
    ("NumericGreaterThanPath", OperandKind::Number),
    ("NumericLessThanEquals", OperandKind::Number),
    ("NumericLessThanEqualsPath", OperandKind::Number),
    ("NumericGreaterThanEquals", OperandKind::Number),
    ("NumericGreaterThanEqualsPath", OperandKind::Number),
    ("BooleanEquals", OperandKind::Boolean),
    ("BooleanEqualsPath", OperandKind::Boolean),
    ("TimestampEquals", OperandKind::Timestamp),
    ("TimestampEqualsPath", OperandKind::Timestamp),
    ("TimestampLessThan", OperandKind::Timestamp),
    ("TimestampLessThanPath", OperandKind::Timestamp),
    ("TimestampGreaterThan", OperandKind::Timestamp),
    ("TimestampGreaterThanPath", OperandKind::Timestamp),
    ("TimestampLessThanEquals", OperandKind::Timestamp),
    ("TimestampLessThanEqualsPath", OperandKind::Timestamp),
    ("TimestampGreaterThanEquals", OperandKind::Timestamp),
    ("TimestampGreaterThanEqualsPath", OperandKind::Timestamp),
    ("IsNull", OperandKind::Test),
    ("IsPresent", OperandKind::Test),
    ("IsNumeric", OperandKind::Test),
    ("IsString", OperandKind::Test),
    ("IsBoolean", OperandKind::Test),
    ("IsTimestamp", OperandKind::Test),
];

fn ordering_of(operator: &str) -> Ordering {
    let operator = operator.strip_suffix("Path").unwrap_or(operator);
    if operator.ends_with("LessThanEquals") {
        Ordering::LessThanEquals
    } else if operator.ends_with("GreaterThanEquals") {
        Ordering::GreaterThanEquals
    } else if operator.ends_with("LessThan") {
        Ordering::LessThan
    } else if operator.ends_with("GreaterThan") {
        Ordering::GreaterThan
    } else {
        Ordering::Equals
    }
}

/// Whether a string is a timestamp as Step Functions reads them (RFC 3339).
pub fn is_timestamp(text: &str) -> bool {
    OffsetDateTime::parse(text, &Rfc3339).is_ok()
}
