//! Variable references in action configuration: `#{namespace.name}`.
//!
//! `codepipeline` is the pipeline's own namespace (`#{codepipeline.PipelineExecutionId}`), `variables` holds
//! the pipeline-level variables of a V2 pipeline, and any other namespace is an action's `namespace`.

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
