//! Variable references in action configuration: `#{namespace.name}`.
//!
//! `codepipeline` is the pipeline's own namespace (`#{codepipeline.PipelineExecutionId}`), `variables` holds
//! the pipeline-level variables of a V2 pipeline, and any other namespace is an action's `namespace`.

use std::collections::BTreeMap;

use crate::pipeline::declaration::PipelineDeclaration;
use crate::problem::{Coded, Exception};

/// The reserved namespace of values CodePipeline provides.
pub const CODEPIPELINE_NAMESPACE: &str = "codepipeline";
/// The namespace of pipeline-level variables.
pub const PIPELINE_VARIABLES_NAMESPACE: &str = "variables";
/// The variables of the `codepipeline` namespace.
pub const CODEPIPELINE_VARIABLES: &[&str] = &["PipelineExecutionId"];

/// One well-formed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableRef<'a> {
    /// The whole reference, `#{namespace.name}`.
    pub text: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// A `#{` that does not open a well-formed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed<'a> {
    pub text: &'a str,
}

/// Whether a value holds anything that looks like a reference; such values only settle at run time.
pub fn contains_reference(value: &str) -> bool {
    value.contains("#{")
}

/// Every reference in `value`, in order, well-formed or not.
pub fn references(value: &str) -> Vec<Result<VariableRef<'_>, Malformed<'_>>> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(offset) = value[rest..].find("#{") {
        let start = rest + offset;
        let Some(close) = value[start..].find('}') else {
            found.push(Err(Malformed {
                text: &value[start..],
            }));
            break;
        };
        let end = start + close + 1;
        let text = &value[start..end];
        let inner = &value[start + 2..end - 1];
        let parsed = inner.split_once('.').filter(|(namespace, name)| {
            !namespace.is_empty()
                && namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_'))
                && !name.is_empty()
                && !name
                    .chars()
                    .any(|c| c.is_whitespace() || c == '{' || c == '#')
        });
        found.push(match parsed {
            Some((namespace, name)) => Ok(VariableRef {
                text,
                namespace,
                name,
            }),
            None => Err(Malformed { text }),
        });
        rest = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_reference_in_order() {
        let refs = references("img:#{Build.Tag}-#{codepipeline.PipelineExecutionId}");
        let names: Vec<_> = refs
            .iter()
            .map(|r| r.as_ref().map(|v| (v.namespace, v.name)).unwrap())
            .collect();
        assert_eq!(
            names,
            vec![("Build", "Tag"), ("codepipeline", "PipelineExecutionId")]
        );
    }

    #[test]
    fn malformed_references_are_reported_not_skipped() {
        assert_eq!(
            references("#{nodot}"),
            vec![Err(Malformed { text: "#{nodot}" })]
        );
        assert_eq!(
            references("a #{open"),
            vec![Err(Malformed { text: "#{open" })]
        );
        assert_eq!(references("#{.x}"), vec![Err(Malformed { text: "#{.x}" })]);
        assert!(references("plain {braces} and # signs").is_empty());
    }
}

/// What references resolve against when an action starts (docs/codepipeline.md, "Variables").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub pipeline_execution_id: String,
    /// Pipeline-level variables: the declared defaults with the values given at start over them.
    pub variables: std::collections::BTreeMap<String, String>,
    /// Output variables of the actions that ran, by their namespace.
    pub namespaces: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A reference that could not be resolved when the action started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the variable reference '{reference}' cannot be resolved: {reason}")]
pub struct Unresolved {
    pub reference: String,
    pub reason: String,
}

impl Scope {
    /// Replaces every `#{namespace.name}` in `text`. Text without references is returned as it is.
    pub fn resolve(&self, text: &str) -> Result<String, Unresolved> {
        if !contains_reference(text) {
            return Ok(text.to_string());
        }
        let mut resolved = String::with_capacity(text.len());
        let mut rest = text;
        for reference in references(text) {
            let reference = reference.map_err(|m| Unresolved {
                reference: m.text.to_string(),
                reason: "a reference reads #{namespace.name}".to_string(),
            })?;
            let Some(at) = rest.find(reference.text) else {
                continue;
            };
            resolved.push_str(&rest[..at]);
            resolved.push_str(&self.value_of(&reference)?);
            rest = &rest[at + reference.text.len()..];
        }
        resolved.push_str(rest);
        Ok(resolved)
    }

    fn value_of(&self, reference: &VariableRef<'_>) -> Result<String, Unresolved> {
        let missing = |reason: String| Unresolved {
            reference: reference.text.to_string(),
            reason,
        };
        match reference.namespace {
            CODEPIPELINE_NAMESPACE => match reference.name {
                "PipelineExecutionId" => Ok(self.pipeline_execution_id.clone()),
                other => Err(missing(format!(
                    "the codepipeline namespace has no variable '{other}'"
                ))),
            },
            PIPELINE_VARIABLES_NAMESPACE => {
                self.variables.get(reference.name).cloned().ok_or_else(|| {
                    missing(format!(
                        "the pipeline has no variable '{}' with a value",
                        reference.name
                    ))
                })
            }
            namespace => match self.namespaces.get(namespace) {
                None => Err(missing(format!(
                    "no action that ran declares the namespace '{namespace}'"
                ))),
                Some(outputs) => outputs.get(reference.name).cloned().ok_or_else(|| {
                    missing(format!(
                        "the actions of namespace '{namespace}' produced no variable '{}'",
                        reference.name
                    ))
                }),
            },
        }
    }

    /// Resolves every value of an action's configuration, as CodePipeline does before the action starts.
    pub fn resolve_configuration(
        &self,
        configuration: &crate::pipeline::declaration::Configuration,
    ) -> Result<crate::pipeline::declaration::Configuration, Unresolved> {
        configuration
            .iter()
            .map(|(key, value)| Ok((key.clone(), self.resolve(value)?)))
            .collect()
    }
}

/// Why the variables an execution was started with do not fit its pipeline's declared ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariablesError {
    #[error(
        "Variable '{name}' is not declared in pipeline '{pipeline}'; declare it under pipeline.variables"
    )]
    Undeclared { pipeline: String, name: String },
    #[error(
        "Variable '{name}' of pipeline '{pipeline}' has no default value, so it must be given a value when the execution starts"
    )]
    NoValue { pipeline: String, name: String },
}

impl Coded for VariablesError {
    fn exception(&self) -> Exception {
        Exception::ValidationException
    }
}

/// The declared variables with defaults, overridden by the given ones (docs/codepipeline.md, "Variables").
pub fn resolve_variables(
    declaration: &PipelineDeclaration,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, VariablesError> {
    for name in given.keys() {
        if !declaration.variables.iter().any(|v| &v.name == name) {
            return Err(VariablesError::Undeclared {
                pipeline: declaration.name.clone(),
                name: name.clone(),
            });
        }
    }
    let mut resolved = BTreeMap::new();
    for declared in &declaration.variables {
        match given
            .get(&declared.name)
            .or(declared.default_value.as_ref())
        {
            Some(value) => {
                resolved.insert(declared.name.clone(), value.clone());
            }
            None => {
                return Err(VariablesError::NoValue {
                    pipeline: declaration.name.clone(),
                    name: declared.name.clone(),
                });
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod resolution_tests {
    use std::collections::BTreeMap;

    use super::*;

    fn scope() -> Scope {
        Scope {
            pipeline_execution_id: "e-123".into(),
            variables: BTreeMap::from([("DeployEnv".into(), "prod".into())]),
            namespaces: BTreeMap::from([(
                "SourceVariables".into(),
                BTreeMap::from([("CommitId".into(), "abc123".into())]),
            )]),
        }
    }

    #[test]
    fn every_kind_of_reference_resolves_in_place() {
        assert_eq!(
            scope().resolve("site-#{variables.DeployEnv}/#{SourceVariables.CommitId}/#{codepipeline.PipelineExecutionId}.zip").unwrap(),
            "site-prod/abc123/e-123.zip"
        );
        assert_eq!(scope().resolve("plain").unwrap(), "plain");
        assert_eq!(
            scope()
                .resolve("#{SourceVariables.CommitId}#{SourceVariables.CommitId}")
                .unwrap(),
            "abc123abc123"
        );
    }

    #[test]
    fn an_unknown_reference_says_which_and_why() {
        let error = scope().resolve("#{BuildVariables.Tag}").unwrap_err();
        assert_eq!(error.reference, "#{BuildVariables.Tag}");
        assert!(error.reason.contains("BuildVariables"));
        assert!(scope().resolve("#{variables.Missing}").is_err());
        assert!(scope().resolve("#{codepipeline.Nope}").is_err());
        assert!(scope().resolve("#{broken").is_err());
    }

    #[test]
    fn a_configuration_resolves_value_by_value() {
        let configuration = BTreeMap::from([
            (
                "BucketName".to_string(),
                "site-#{variables.DeployEnv}".to_string(),
            ),
            ("Extract".to_string(), "true".to_string()),
        ]);
        let resolved = scope().resolve_configuration(&configuration).unwrap();
        assert_eq!(resolved["BucketName"], "site-prod");
        assert_eq!(resolved["Extract"], "true");
    }
}
