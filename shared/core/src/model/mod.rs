//! The CodePipeline API model: botocore's `service-2.json` for `codepipeline-2015-07-09`, embedded as is;
//! and EventBridge's (`events-2015-10-07`), for the rule operations `sluice serve` answers.
//!
//! Shapes, members and constraints come from this file, never from memory, so that a rule AWS enforces on
//! the wire is the rule Sluice enforces. [`check`] walks any JSON value against any shape of the model; the
//! pipeline loader uses it for `PipelineDeclaration`, and the API will use it for every operation's input
//! and, in tests, every output.

pub mod check;
pub mod limit;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;

/// CodePipeline's API model as botocore ships it (service-2.json), verbatim.
pub const CODEPIPELINE_MODEL: &str = include_str!("../../model/codepipeline-2015-07-09.json");

/// EventBridge's API model as botocore ships it (service-2.json), verbatim: the shapes of the rule operations
/// `sluice serve` answers (PutRule, PutTargets, …) and their constraints.
pub const EVENTBRIDGE_MODEL: &str = include_str!("../../model/events-2015-10-07.json");

/// Patterns of the models that Rust's `regex` cannot compile (it has no look-around), each with the
/// pattern that accepts the same strings. `^(?!\s*$).+`: one line, not only white space.
const EQUIVALENT_PATTERNS: &[(&str, &str)] = &[(r"^(?!\s*$).+", r"^[^\n]*\S[^\n]*$")];

/// A service model in botocore's format.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    pub metadata: Metadata,
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
    /// Every `pattern` of the model, compiled once and anchored at both ends: AWS matches the whole value.
    #[serde(skip)]
    patterns: HashMap<String, Regex>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub json_version: String,
    pub target_prefix: String,
    #[serde(default)]
    pub protocols: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub name: String,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
}

/// A member of a structure. `idempotencyToken` members are filled by SDKs when absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub shape: String,
    #[serde(default)]
    pub idempotency_token: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Shape {
    Structure {
        #[serde(default)]
        required: Vec<String>,
        /// In the model's order, which is also the order problems are reported in.
        #[serde(default)]
        members: IndexMap<String, Member>,
        #[serde(default)]
        exception: bool,
    },
    List {
        member: ShapeRef,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: ShapeRef,
        value: ShapeRef,
        min: Option<i64>,
        max: Option<i64>,
    },
    String {
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<String>,
        #[serde(rename = "enum")]
        values: Option<Vec<String>>,
        #[serde(default)]
        sensitive: bool,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Long {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean {},
    Timestamp {},
    Blob {
        #[serde(default)]
        sensitive: bool,
    },
    Double {},
    Float {},
}

/// Why the embedded model could not be read: a defect of the build, caught by this crate's tests.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the embedded API model is not valid: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("the API model's pattern {pattern:?} does not compile: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

impl ServiceModel {
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut model: ServiceModel = serde_json::from_str(text).map_err(ModelError::Parse)?;
        for shape in model.shapes.values() {
            if let Shape::String {
                pattern: Some(pattern),
                ..
            } = shape
                && !model.patterns.contains_key(pattern)
            {
                let compiled = EQUIVALENT_PATTERNS
                    .iter()
                    .find(|(original, _)| original == pattern)
                    .map_or(pattern.as_str(), |(_, equivalent)| equivalent);
                let regex = Regex::new(&format!("^(?:{compiled})$")).map_err(|source| {
                    ModelError::Pattern {
                        pattern: pattern.clone(),
                        source,
                    }
                })?;
                model.patterns.insert(pattern.clone(), regex);
            }
        }
        Ok(model)
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The compiled form of a pattern that occurs in this model.
    pub fn pattern(&self, pattern: &str) -> Option<&Regex> {
        self.patterns.get(pattern)
    }
}

/// CodePipeline's model, parsed once per process.
pub fn codepipeline() -> &'static ServiceModel {
    static MODEL: OnceLock<ServiceModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        // The model is a constant of this crate; `embedded_model_loads` proves it parses.
        ServiceModel::parse(CODEPIPELINE_MODEL).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// EventBridge's model, parsed once per process.
pub fn eventbridge() -> &'static ServiceModel {
    static MODEL: OnceLock<ServiceModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        // A constant of this crate; `the_eventbridge_model_loads` proves it parses.
        ServiceModel::parse(EVENTBRIDGE_MODEL).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eventbridge_model_loads_with_the_rule_operations() {
        let model = ServiceModel::parse(EVENTBRIDGE_MODEL).expect("model parses");
        assert_eq!(model.metadata.target_prefix, "AWSEvents");
        for operation in [
            "PutRule",
            "PutTargets",
            "DescribeRule",
            "ListRules",
            "ListTargetsByRule",
            "RemoveTargets",
            "DeleteRule",
            "EnableRule",
            "DisableRule",
        ] {
            assert!(model.operations.contains_key(operation), "{operation}");
        }
        let blank = model.pattern(r"^(?!\s*$).+").unwrap();
        assert!(blank.is_match("a b") && blank.is_match(" x "));
        assert!(!blank.is_match("") && !blank.is_match("  ") && !blank.is_match("a\nb"));
    }

    #[test]
    fn embedded_model_loads_with_every_operation_and_pattern() {
        let model = ServiceModel::parse(CODEPIPELINE_MODEL).expect("model parses");
        assert_eq!(model.metadata.target_prefix, "CodePipeline_20150709");
        assert_eq!(model.operations.len(), 44);
        assert!(model.pattern("[A-Za-z0-9.@\\-_]+").is_some());
        let regex = model
            .pattern("arn:aws(-[\\w]+)*:iam::[0-9]{12}:role/.*")
            .unwrap();
        assert!(regex.is_match("arn:aws:iam::111111111111:role/CodePipelineRole"));
        assert!(!regex.is_match("xarn:aws:iam::111111111111:role/CodePipelineRole"));
    }

    #[test]
    fn every_shape_a_structure_names_exists() {
        let model = codepipeline();
        for (name, shape) in &model.shapes {
            let refs: Vec<&str> = match shape {
                Shape::Structure { members, .. } => {
                    members.values().map(|m| m.shape.as_str()).collect()
                }
                Shape::List { member, .. } => vec![member.shape.as_str()],
                Shape::Map { key, value, .. } => vec![key.shape.as_str(), value.shape.as_str()],
                _ => vec![],
            };
            for r in refs {
                assert!(model.shape(r).is_some(), "{name} refers to missing {r}");
            }
        }
    }
}
