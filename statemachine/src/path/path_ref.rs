//! What a path-valued field refers to, by its prefix: the input (`$`), the Context Object (`$$`) or a
//! workflow variable (`$name`).

use std::fmt;
use std::str::FromStr;

use super::error::PathError;
use super::query::Path;

/// What a path-valued field (or the value of a `.$` key) is applied to,
/// decided by its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRef {
    /// `$…`: the state's input (or the template's input).
    Input(Path),
    /// `$$…`: the Context Object. The first `$` is stripped and the rest is an
    /// ordinary path (\[SPEC] "Paths"), so `$$.Execution.Id` holds
    /// `$.Execution.Id`.
    Context(Path),
    /// `$name…`: the value of the workflow variable `name` set by `Assign`;
    /// `path` is the rest, relative to that value (`$name.a.b` holds `$.a.b`,
    /// `$name` holds `$`).
    Variable { name: String, path: Path },
}

impl PathRef {
    /// Sorts path text by its prefix and parses the rest.
    pub fn parse(text: &str) -> Result<PathRef, PathError> {
        if let Some(rest) = text.strip_prefix("$$") {
            let body = format!("${rest}");
            return Path::parse_labelled(&body, text, 1).map(PathRef::Context);
        }
        if let Some(rest) = text.strip_prefix('$') {
            let name_length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..name_length];
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(PathError::Syntax {
                    path: text.to_owned(),
                    reason: "a variable name must start with a letter or '_'".to_owned(),
                });
            }
            if !name.is_empty() {
                let body = format!("${}", &rest[name_length..]);
                return Path::parse_labelled(&body, text, name_length).map(|path| {
                    PathRef::Variable {
                        name: name.to_owned(),
                        path,
                    }
                });
            }
        }
        Path::parse(text).map(PathRef::Input)
    }

    /// The path to apply, whatever it is applied to.
    pub fn path(&self) -> &Path {
        match self {
            PathRef::Input(path) | PathRef::Context(path) => path,
            PathRef::Variable { path, .. } => path,
        }
    }
}

impl fmt::Display for PathRef {
    /// The text as it was written, prefix included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRef::Input(path) => write!(f, "{path}"),
            PathRef::Context(path) => write!(f, "${path}"),
            PathRef::Variable { name, path } => write!(f, "${name}{}", &path.as_str()[1..]),
        }
    }
}

impl FromStr for PathRef {
    type Err = PathError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PathRef::parse(text)
    }
}
