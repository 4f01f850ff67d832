//! Checks a JSON value against a shape of the model, the way CodePipeline's front end does before any
//! business rule runs: required members, lengths, patterns, enums, ranges and list sizes, each reported
//! in AWS's words ("Value 'x' at 'pipeline.name' failed to satisfy constraint: ...").
//!
//! Paths follow AWS: a member is `parent.member`, the n-th list element (1-based) is `parent.n.member`,
//! a map entry is `parent.key`. A member of the wrong JSON type is a `SerializationException`, since AWS
//! cannot even read such a request. Unknown members are reported only when asked for: AWS ignores them on
//! the wire, but in a file they are almost always typos (`runorder`), which the aws CLI also rejects.

use serde_json::Value;

use super::{Member, ServiceModel, Shape};
use crate::problem::{Exception, Problem, Rule};

/// Walks values against shapes and collects every problem found.
pub struct Checker<'m> {
    model: &'m ServiceModel,
    reject_unknown_members: bool,
    camel_case_paths: bool,
    empty_lists: bool,
    problems: Vec<Problem>,
}

impl<'m> Checker<'m> {
    pub fn new(model: &'m ServiceModel, reject_unknown_members: bool) -> Self {
        Self {
            model,
            reject_unknown_members,
            camel_case_paths: false,
            empty_lists: false,
            problems: Vec::new(),
        }
    }

    /// Paths with each member name's first letter in lower case, as AWS writes them for a model whose
    /// members are capitalised (EventBridge's `Name` is `'name'`, `Targets[0].Arn` is
    /// `'targets.1.member.arn'`).
    pub fn camel_case_paths(mut self) -> Self {
        self.camel_case_paths = true;
        self
    }

    /// Empty lists pass a list shape's minimum: for answers, which hold them where the minimum is what a
    /// caller must send (EventBridge's ListTargetsByRule of a rule without targets answers `Targets: []`).
    pub fn empty_lists(mut self) -> Self {
        self.empty_lists = true;
        self
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Checks `value`, found at `path`, against the shape named `shape`.
    pub fn check(&mut self, shape: &str, value: &Value, path: &str) {
        let Some(definition) = self.model.shape(shape) else {
            // Only reachable with a shape name the caller made up; say so rather than pass silently.
            self.push(
                Exception::SerializationException,
                Rule::Type,
                format!("Value at '{path}' cannot be checked: the model has no shape '{shape}'"),
            );
            return;
        };
        match definition {
            Shape::Structure {
                required, members, ..
            } => self.structure(required, members, value, path),
            Shape::List { member, min, max } => {
                let Some(items) = value.as_array() else {
                    return self.wrong_type(value, path, "a list");
                };
                let min = if self.empty_lists && items.is_empty() {
                    None
                } else {
                    *min
                };
                self.size(items.len(), min, *max, path);
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.{}.member", index + 1);
                    if item.is_null() {
                        self.null(&item_path);
                    } else {
                        self.check(&member.shape, item, &item_path);
                    }
                }
            }
            Shape::Map {
                key,
                value: value_shape,
                min,
                max,
            } => {
                let Some(entries) = value.as_object() else {
                    return self.wrong_type(value, path, "an object (a map)");
                };
                self.size(entries.len(), *min, *max, path);
                let keys_ok = entries
                    .keys()
                    .all(|k| self.string_violations(&key.shape, k).is_empty());
                if !keys_ok {
                    let constraints = self.constraints_of(&key.shape);
                    self.push(
                        Exception::ValidationException,
                        Rule::Shape,
                        format!(
                            "Value at '{path}' failed to satisfy constraint: Map keys must satisfy constraint: [{constraints}]"
                        ),
                    );
                }
                let scalar_values = matches!(
                    self.model.shape(&value_shape.shape),
                    Some(Shape::String { .. })
                );
                let mut values_ok = true;
                for (entry_key, entry_value) in entries {
                    if scalar_values {
                        match entry_value.as_str() {
                            Some(s) => {
                                values_ok &=
                                    self.string_violations(&value_shape.shape, s).is_empty();
                            }
                            None => self.wrong_type(
                                entry_value,
                                &format!("{path}.{entry_key}"),
                                "a string",
                            ),
                        }
                    } else if entry_value.is_null() {
                        self.null(&format!("{path}.{entry_key}"));
                    } else {
                        self.check(
                            &value_shape.shape,
                            entry_value,
                            &format!("{path}.{entry_key}"),
                        );
                    }
                }
                if !values_ok {
                    let constraints = self.constraints_of(&value_shape.shape);
                    self.push(
                        Exception::ValidationException,
                        Rule::Shape,
                        format!(
                            "Value at '{path}' failed to satisfy constraint: Map value must satisfy constraint: [{constraints}]"
                        ),
                    );
                }
            }
            Shape::String { sensitive, .. } => {
                let Some(s) = value.as_str() else {
                    return self.wrong_type(value, path, "a string");
                };
                let shown = if *sensitive {
                    "Value".to_string()
                } else {
                    format!("Value '{s}'")
                };
                for constraint in self.string_violations(shape, s) {
                    self.push(
                        Exception::ValidationException,
                        Rule::Shape,
                        format!("{shown} at '{path}' failed to satisfy constraint: {constraint}"),
                    );
                }
            }
            Shape::Integer { min, max } | Shape::Long { min, max } => {
                let (low, high) = if matches!(definition, Shape::Integer { .. }) {
                    (i64::from(i32::MIN), i64::from(i32::MAX))
                } else {
                    (i64::MIN, i64::MAX)
                };
                let Some(n) = value.as_i64().filter(|n| (low..=high).contains(n)) else {
                    return self.wrong_type(value, path, "an integer");
                };
                if let Some(min) = min
                    && n < *min
                {
                    self.push(
                        Exception::ValidationException,
                        Rule::Shape,
                        format!(
                            "Value '{n}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
                        ),
                    );
                }
                if let Some(max) = max
                    && n > *max
                {
                    self.push(
                        Exception::ValidationException,
                        Rule::Shape,
                        format!(
                            "Value '{n}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}"
                        ),
                    );
                }
            }
            Shape::Boolean {} => {
                if !value.is_boolean() {
                    self.wrong_type(value, path, "true or false");
                }
            }
            Shape::Timestamp {} => {
                let readable = match value {
                    Value::Number(n) => n.as_f64().is_some(),
                    Value::String(s) => crate::time::parse_timestamp(s).is_some(),
                    _ => false,
                };
                if !readable {
                    self.wrong_type(
                        value,
                        path,
                        "a timestamp (epoch seconds, or an ISO 8601 date and time)",
                    );
                }
            }
            Shape::Blob { .. } => {
                if !value.is_string() {
                    self.wrong_type(value, path, "a base64 string");
                }
            }
            Shape::Double {} | Shape::Float {} => {
                if !value.is_number() {
                    self.wrong_type(value, path, "a number");
                }
            }
        }
    }

    fn structure(
        &mut self,
        required: &[String],
        members: &indexmap::IndexMap<String, Member>,
        value: &Value,
        path: &str,
    ) {
        let Some(object) = value.as_object() else {
            return self.wrong_type(value, path, "an object");
        };
        for (name, member) in members {
            let member_path = if self.camel_case_paths {
                join(path, &lower_first(name))
            } else {
                join(path, name)
            };
            match object.get(name) {
                None | Some(Value::Null) => {
                    if required.contains(name) {
                        self.null(&member_path);
                    }
                }
                Some(member_value) => self.check(&member.shape, member_value, &member_path),
            }
        }
        if self.reject_unknown_members {
            let known: Vec<&str> = members.keys().map(String::as_str).collect();
            for name in object.keys() {
                if !members.contains_key(name) {
                    self.unknown_member(path, name, &known);
                }
            }
        }
    }

    /// Reports a member that the shape at `path` does not have, with the closest known name if any.
    pub fn unknown_member(&mut self, path: &str, name: &str, known: &[&str]) {
        let hint = match closest(name, known) {
            Some(suggestion) => format!(" (did you mean '{suggestion}'?)"),
            None => String::new(),
        };
        let at = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("at '{path}'")
        };
        self.push(
            Exception::ValidationException,
            Rule::UnknownMember,
            format!(
                "Value {at} failed to satisfy constraint: Unknown member '{name}'{hint}; the members are: {}",
                known.join(", ")
            ),
        );
    }

    /// Reports a required member that is absent or null.
    pub fn null(&mut self, path: &str) {
        self.push(
            Exception::ValidationException,
            Rule::Shape,
            format!("Value null at '{path}' failed to satisfy constraint: Member must not be null"),
        );
    }

    fn wrong_type(&mut self, value: &Value, path: &str, expected: &str) {
        let found = match value {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("a boolean ({b})"),
            Value::Number(n) => format!("a number ({n})"),
            Value::String(s) => format!("a string ({})", Value::String(s.clone())),
            Value::Array(_) => "a list".to_string(),
            Value::Object(_) => "an object".to_string(),
        };
        self.push(
            Exception::SerializationException,
            Rule::Type,
            format!("Value at '{path}' must be {expected}, not {found}"),
        );
    }

    fn size(&mut self, len: usize, min: Option<i64>, max: Option<i64>, path: &str) {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        if let Some(max) = max
            && len > max
        {
            self.push(
                Exception::ValidationException,
                Rule::Shape,
                format!(
                    "Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}"
                ),
            );
        }
        if let Some(min) = min
            && len < min
        {
            self.push(
                Exception::ValidationException,
                Rule::Shape,
                format!(
                    "Value at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
                ),
            );
        }
    }

    /// The constraints of a string shape that `s` breaks, in AWS's words and order.
    fn string_violations(&self, shape: &str, s: &str) -> Vec<String> {
        self.string_constraints(shape, Some(s))
    }

    /// Every constraint of a string shape, as AWS lists them for map keys and values.
    fn constraints_of(&self, shape: &str) -> String {
        self.string_constraints(shape, None).join(", ")
    }

    /// The constraints of a string shape: all of them, or only those `value` breaks.
    fn string_constraints(&self, shape: &str, value: Option<&str>) -> Vec<String> {
        let Some(Shape::String {
            min,
            max,
            pattern,
            values,
            ..
        }) = self.model.shape(shape)
        else {
            return Vec::new();
        };
        // AWS measures strings as Java does: in UTF-16 code units.
        let len = value.map(|s| i64::try_from(s.encode_utf16().count()).unwrap_or(i64::MAX));
        let mut found = Vec::new();
        if let Some(max) = max
            && len.is_none_or(|len| len > *max)
        {
            found.push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if let Some(min) = min
            && len.is_none_or(|len| len < *min)
        {
            found.push(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
        if let Some(pattern) = pattern
            && value.is_none_or(|s| {
                self.model
                    .pattern(pattern)
                    .is_some_and(|re| !re.is_match(s))
            })
        {
            found.push(format!(
                "Member must satisfy regular expression pattern: {pattern}"
            ));
        }
        if let Some(values) = values
            && value.is_none_or(|s| !values.iter().any(|v| v == s))
        {
            found.push(format!(
                "Member must satisfy enum value set: [{}]",
                values.join(", ")
            ));
        }
        found
    }

    fn push(&mut self, exception: Exception, rule: Rule, detail: String) {
        self.problems.push(Problem::new(exception, rule, detail));
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

/// The known name a typo most likely meant: same letters in another case, or at most two edits away.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    known
        .iter()
        .map(|k| (edit_distance(&name.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::codepipeline;

    fn problems(shape: &str, value: Value, path: &str) -> Vec<String> {
        let mut checker = Checker::new(codepipeline(), true);
        checker.check(shape, &value, path);
        checker
            .into_problems()
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn capitalised_members_are_named_in_camel_case_when_asked() {
        let mut checker = Checker::new(crate::model::eventbridge(), false).camel_case_paths();
        checker.check(
            "PutTargetsRequest",
            &json!({"Rule": "a b", "Targets": [{"Id": "1"}]}),
            "",
        );
        let found: Vec<String> = checker
            .into_problems()
            .iter()
            .map(|p| p.detail.clone())
            .collect();
        assert_eq!(
            found,
            vec![
                "Value 'a b' at 'rule' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                "Value null at 'targets.1.member.arn' failed to satisfy constraint: Member must not be null",
            ]
        );
    }

    #[test]
    fn a_missing_required_member_is_null_in_aws_words() {
        assert_eq!(
            problems(
                "ActionTypeId",
                json!({"category": "Build", "owner": "AWS", "provider": "CodeBuild"}),
                "pipeline.stages.1.member.actions.1.member.actionTypeId"
            ),
            vec![
                "ValidationException: 1 validation error detected: Value null at 'pipeline.stages.1.member.actions.1.member.actionTypeId.version' failed to satisfy constraint: Member must not be null"
            ]
        );
    }

    #[test]
    fn an_empty_name_breaks_both_length_and_pattern() {
        assert_eq!(
            problems("StageName", json!(""), "pipeline.stages.2.member.name"),
            vec![
                "ValidationException: 1 validation error detected: Value '' at 'pipeline.stages.2.member.name' failed to satisfy constraint: Member must have length greater than or equal to 1",
                "ValidationException: 1 validation error detected: Value '' at 'pipeline.stages.2.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+",
            ]
        );
    }

    #[test]
    fn enums_ranges_and_list_sizes_are_checked() {
        assert_eq!(
            problems("ExecutionMode", json!("FIFO"), "pipeline.executionMode"),
            vec![
                "ValidationException: 1 validation error detected: Value 'FIFO' at 'pipeline.executionMode' failed to satisfy constraint: Member must satisfy enum value set: [QUEUED, SUPERSEDED, PARALLEL]"
            ]
        );
        assert_eq!(
            problems("ActionRunOrder", json!(1000), "r"),
            vec![
                "ValidationException: 1 validation error detected: Value '1000' at 'r' failed to satisfy constraint: Member must have value less than or equal to 999"
            ]
        );
        assert_eq!(
            problems("CommandList", json!([]), "c"),
            vec![
                "ValidationException: 1 validation error detected: Value at 'c' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ]
        );
    }

    #[test]
    fn map_keys_and_values_report_every_constraint_of_their_shape() {
        let long_key = "K".repeat(51);
        assert_eq!(
            problems(
                "ActionConfigurationMap",
                json!({ long_key: "v", "Empty": "" }),
                "pipeline.stages.1.member.actions.1.member.configuration"
            ),
            vec![
                "ValidationException: 1 validation error detected: Value at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 50, Member must have length greater than or equal to 1]",
                "ValidationException: 1 validation error detected: Value at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 1000, Member must have length greater than or equal to 1]",
            ]
        );
    }

    #[test]
    fn wrong_json_types_are_serialization_errors_naming_the_member() {
        assert_eq!(
            problems(
                "ActionRunOrder",
                json!("1"),
                "pipeline.stages.1.member.actions.1.member.runOrder"
            ),
            vec![
                "SerializationException: Value at 'pipeline.stages.1.member.actions.1.member.runOrder' must be an integer, not a string (\"1\")"
            ]
        );
        assert_eq!(
            problems(
                "ActionConfigurationMap",
                json!({"PollForSourceChanges": false}),
                "c"
            ),
            vec![
                "SerializationException: Value at 'c.PollForSourceChanges' must be a string, not a boolean (false)"
            ]
        );
        assert_eq!(
            problems("ActionRunOrder", json!(1.5), "r"),
            vec!["SerializationException: Value at 'r' must be an integer, not a number (1.5)"]
        );
    }

    #[test]
    fn unknown_members_name_the_likely_intent() {
        assert_eq!(
            problems("InputArtifact", json!({"name": "A", "nmae": "B"}), "i"),
            vec![
                "ValidationException: 1 validation error detected: Value at 'i' failed to satisfy constraint: Unknown member 'nmae' (did you mean 'name'?); the members are: name"
            ]
        );
        let mut lenient = Checker::new(codepipeline(), false);
        lenient.check("InputArtifact", &json!({"name": "A", "extra": 1}), "i");
        assert!(lenient.into_problems().is_empty());
    }

    #[test]
    fn string_length_counts_utf16_units_like_aws() {
        // 100 characters outside the BMP are 200 UTF-16 units: too long for a 100-unit name, even
        // before the pattern rejects them.
        let name = "😀".repeat(50);
        let found = problems("PipelineVariableDescription", json!("😀".repeat(101)), "d");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("less than or equal to 200"));
        assert!(
            problems("PipelineName", json!(name), "n")
                .iter()
                .all(|p| !p.contains("length"))
        );
    }

    #[test]
    fn suggestions_prefer_case_then_small_edits() {
        assert_eq!(closest("runorder", &["name", "runOrder"]), Some("runOrder"));
        assert_eq!(closest("stags", &["stages", "name"]), Some("stages"));
        assert_eq!(closest("zzzzzz", &["stages", "name"]), None);
    }
}
