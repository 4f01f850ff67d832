//! The buildspec, version 0.2, as typed data.
//!
//! Parsing walks a [`serde_norway::Value`] by hand rather than deriving `Deserialize`: every error
//! then names the field path the way CodeBuild does (`YAML_FILE_ERROR: phases/build/commands: …`),
//! and the few places where CodeBuild is lenient (numbers as variable values, `yes`/`no`
//! booleans, empty sections) are decided here, in one place.

use std::collections::BTreeMap;
use std::fmt;

use serde_norway::{Mapping, Value};

/// A parsed buildspec: what to run, with which environment, and which files to keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Buildspec {
    /// The `env` section.
    pub env: Env,
    /// The `phases` section.
    pub phases: Phases,
    /// The `artifacts` section, if the buildspec declares one.
    pub artifacts: Option<Artifacts>,
}

/// The `env` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Env {
    /// `env/variables`: plain variables, set before the first command.
    pub variables: BTreeMap<String, String>,
    /// `env/parameter-store`: variable name → Systems Manager parameter name.
    pub parameter_store: BTreeMap<String, String>,
    /// `env/secrets-manager`: variable name → secret reference.
    pub secrets_manager: BTreeMap<String, String>,
    /// `env/exported-variables`: names whose values the action outputs after the build.
    pub exported_variables: Vec<String>,
}

/// The four phases of a build, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhaseName {
    /// `install`
    Install,
    /// `pre_build`
    PreBuild,
    /// `build`
    Build,
    /// `post_build`
    PostBuild,
}

impl PhaseName {
    /// Every phase, in the order CodeBuild runs them.
    pub const ALL: [PhaseName; 4] = [Self::Install, Self::PreBuild, Self::Build, Self::PostBuild];

    /// The key under `phases` in the buildspec (`pre_build`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::PreBuild => "pre_build",
            Self::Build => "build",
            Self::PostBuild => "post_build",
        }
    }

    /// The name in CodeBuild's log and phase list (`PRE_BUILD`).
    pub fn log_name(self) -> &'static str {
        match self {
            Self::Install => "INSTALL",
            Self::PreBuild => "PRE_BUILD",
            Self::Build => "BUILD",
            Self::PostBuild => "POST_BUILD",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|phase| phase.key() == key)
    }
}

impl fmt::Display for PhaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.log_name())
    }
}

/// The `phases` section: each phase the buildspec declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phases {
    /// `phases/install`
    pub install: Option<Phase>,
    /// `phases/pre_build`
    pub pre_build: Option<Phase>,
    /// `phases/build`
    pub build: Option<Phase>,
    /// `phases/post_build`
    pub post_build: Option<Phase>,
}

impl Phases {
    /// The phase with this name, if the buildspec declares it.
    pub fn get(&self, name: PhaseName) -> Option<&Phase> {
        match name {
            PhaseName::Install => self.install.as_ref(),
            PhaseName::PreBuild => self.pre_build.as_ref(),
            PhaseName::Build => self.build.as_ref(),
            PhaseName::PostBuild => self.post_build.as_ref(),
        }
    }

    fn slot(&mut self, name: PhaseName) -> &mut Option<Phase> {
        match name {
            PhaseName::Install => &mut self.install,
            PhaseName::PreBuild => &mut self.pre_build,
            PhaseName::Build => &mut self.build,
            PhaseName::PostBuild => &mut self.post_build,
        }
    }
}

/// One phase: its commands, the commands that always follow them, and what a failure means.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phase {
    /// `commands`: run in order; the first that exits non-zero fails the phase.
    pub commands: Vec<String>,
    /// `finally`: run after `commands`, whether they failed or not.
    pub finally: Vec<String>,
    /// `on-failure`: whether the build goes on after this phase fails.
    pub on_failure: OnFailure,
    /// `runtime-versions`: accepted so buildspecs written for CodeBuild images parse; the local
    /// runner uses whatever is installed on the machine and only logs them.
    pub runtime_versions: BTreeMap<String, String>,
}

/// `phases/<phase>/on-failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// `ABORT`: the build stops (a failed `build` still runs `post_build`).
    #[default]
    Abort,
    /// `CONTINUE`: the next phases run as if this one had succeeded; the build still fails.
    Continue,
}

/// The `artifacts` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Artifacts {
    /// The top-level `files`, `base-directory`, … — absent when the section only lists
    /// `secondary-artifacts`.
    pub primary: Option<ArtifactFiles>,
    /// `secondary-artifacts`: artifact identifier → its files.
    pub secondary: BTreeMap<String, ArtifactFiles>,
}

/// Which files make up one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactFiles {
    /// `files`: globs relative to the base directory; `**/*` is everything.
    pub files: Vec<String>,
    /// `name`: accepted; CodePipeline names its artifacts itself.
    pub name: Option<String>,
    /// `discard-paths`: put every file at the top of the artifact.
    pub discard_paths: bool,
    /// `base-directory`: relative to the primary source directory; may use `$VARIABLES`.
    pub base_directory: Option<String>,
    /// `exclude-paths`: globs, relative to the base directory, of files to leave out.
    pub exclude_paths: Vec<String>,
}

/// Why a buildspec was refused. Messages follow CodeBuild's `YAML_FILE_ERROR: <field>: <rule>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The text is not YAML.
    #[error("YAML_FILE_ERROR: invalid YAML{}: {message}", at_location(*.location))]
    Syntax {
        /// Line and column (both from 1), when the YAML parser knows them.
        location: Option<(usize, usize)>,
        /// The parser's description.
        message: String,
    },
    /// A field breaks a rule.
    #[error("YAML_FILE_ERROR: {field}: {rule}")]
    Field {
        /// The field path, such as `phases/build/on-failure`.
        field: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The buildspec file is not in the primary source.
    #[error("YAML_FILE_ERROR: {path} not found in the primary source {source_name}")]
    FileNotFound {
        /// The buildspec path, relative to the primary source.
        path: String,
        /// The primary input artifact's name.
        source_name: String,
    },
}

fn at_location(location: Option<(usize, usize)>) -> String {
    location.map_or_else(String::new, |(line, column)| {
        format!(" at line {line} column {column}")
    })
}

fn field_error(field: impl Into<String>, rule: impl Into<String>) -> SpecError {
    SpecError::Field {
        field: field.into(),
        rule: rule.into(),
    }
}

const TOP_LEVEL_KEYS: &str =
    "version, run-as, env, proxy, phases, artifacts, reports, cache, batch";

impl Buildspec {
    /// Parses buildspec YAML text.
    pub fn parse(text: &str) -> Result<Buildspec, SpecError> {
        if let Some(location) = flow_nesting_beyond_limit(text) {
            return Err(SpecError::Syntax {
                location: Some(location),
                message: format!(
                    "flow collections ([…] and {{…}}) nest deeper than {MAX_FLOW_DEPTH} levels"
                ),
            });
        }
        let mut document: Value = serde_norway::from_str(text).map_err(syntax_error)?;
        document.apply_merge().map_err(syntax_error)?;
        let top = match &document {
            Value::Mapping(mapping) => mapping,
            Value::Null => return Err(field_error("version", "required; the buildspec is empty")),
            other => {
                return Err(field_error(
                    "buildspec",
                    format!(
                        "expected a mapping of {TOP_LEVEL_KEYS}, found {}",
                        kind(other)
                    ),
                ));
            }
        };
        let mut spec = Buildspec::default();
        let mut version = None;
        let mut phases = None;
        for (key, value) in entries(top, "buildspec")? {
            match key {
                "version" => version = Some(value),
                "run-as" => return Err(not_local("run-as", "running commands as another user")),
                "env" => spec.env = parse_env(value)?,
                "phases" => phases = Some(value),
                "artifacts" => spec.artifacts = parse_artifacts(value)?,
                // Reports and caches are CodeBuild services around the build, batch builds
                // are several builds; none change what one local build runs.
                "proxy" | "reports" | "cache" | "batch" => {}
                other => {
                    return Err(field_error(
                        other,
                        format!("unknown key; expected one of {TOP_LEVEL_KEYS}"),
                    ));
                }
            }
        }
        check_version(version)?;
        match phases {
            Some(value) => spec.phases = parse_phases(value)?,
            None => return Err(field_error("phases", "required")),
        }
        Ok(spec)
    }

    /// The buildspec CodePipeline's `Commands` action (category Compute) stands for: its
    /// commands as the build phase, `OutputVariables` as exported variables and `Files` as the
    /// artifact's files (no files, no artifact).
    pub fn from_commands(
        commands: &[String],
        output_variables: &[String],
        files: &[String],
    ) -> Buildspec {
        Buildspec {
            env: Env {
                exported_variables: output_variables.to_vec(),
                ..Env::default()
            },
            phases: Phases {
                build: Some(Phase {
                    commands: commands.to_vec(),
                    ..Phase::default()
                }),
                ..Phases::default()
            },
            artifacts: (!files.is_empty()).then(|| Artifacts {
                primary: Some(ArtifactFiles {
                    files: files.to_vec(),
                    ..ArtifactFiles::default()
                }),
                secondary: BTreeMap::new(),
            }),
        }
    }
}

fn syntax_error(error: serde_norway::Error) -> SpecError {
    let location = error.location().map(|at| (at.line(), at.column()));
    let mut message = error.to_string();
    // The parser puts the location in its message; it is reported once, up front.
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if let Some(at) = message.find(&suffix) {
            message.replace_range(at..at + suffix.len(), "");
        }
    }
    SpecError::Syntax { location, message }
}

/// The deepest nesting of flow collections a buildspec may have (the YAML parser's own recursion limit).
/// The parser finds deeper nesting only after scanning the whole text, in time that grows with the
/// square of its length (200 KB of `[` kept it busy for minutes), so it is found here first.
const MAX_FLOW_DEPTH: usize = 128;

/// Where flow collections first nest deeper than [`MAX_FLOW_DEPTH`] (line and column, from 1), by a
/// scan of YAML's lexical structure: quoted scalars, comments and block scalars (`|`, `>`) are text, and
/// in block context `[` or `{` opens a collection only where a value starts (`echo [x]` is a scalar).
fn flow_nesting_beyond_limit(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    // The indentation of the line a block scalar started on, while its lines are being skipped.
    let mut block_scalar: Option<usize> = None;
    // A quoted scalar may go on over several lines.
    let mut quote: Option<char> = None;
    for (number, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_scalar {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut value_start = true;
        let mut chars = line.char_indices().peekable();
        let mut previous = ' ';
        while let Some((at, c)) = chars.next() {
            if let Some(q) = quote {
                match c {
                    '\\' if q == '"' => {
                        chars.next();
                    }
                    '\'' if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                        chars.next();
                    }
                    c if c == q => quote = None,
                    _ => {}
                }
                previous = c;
                continue;
            }
            match c {
                ' ' | '\t' => {}
                '#' if previous == ' ' || previous == '\t' || at == 0 => break,
                '\'' | '"' if value_start => {
                    quote = Some(c);
                    value_start = false;
                }
                '[' | '{' if depth > 0 || value_start => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some((number + 1, line[..at].chars().count() + 1));
                    }
                    value_start = true;
                }
                ']' | '}' if depth > 0 => {
                    depth -= 1;
                    value_start = false;
                }
                ',' if depth > 0 => value_start = true,
                '-' | '?' | ':' if chars.peek().is_none_or(|&(_, n)| n == ' ' || n == '\t') => {
                    value_start = true;
                }
                '|' | '>' if value_start && depth == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                _ => value_start = false,
            }
            previous = c;
        }
    }
    None
}

fn not_local(field: &str, what: &str) -> SpecError {
    field_error(
        field,
        format!("not supported when running locally ({what})"),
    )
}

fn check_version(version: Option<&Value>) -> Result<(), SpecError> {
    let text = match version {
        None => return Err(field_error("version", "required; use 0.2")),
        Some(value) => scalar_text(value),
    };
    match text.as_deref() {
        Some("0.2") => Ok(()),
        Some(found) => Err(field_error(
            "version",
            format!("only version 0.2 is supported, found {found}"),
        )),
        None => Err(field_error("version", "expected 0.2")),
    }
}

fn parse_env(value: &Value) -> Result<Env, SpecError> {
    let mut env = Env::default();
    for (key, value) in entries(optional_mapping(value, "env")?, "env")? {
        let field = format!("env/{key}");
        match key {
            "shell" => match scalar_text(value).as_deref() {
                Some("bash") => {}
                Some(other) => {
                    return Err(field_error(
                        field,
                        format!("only bash is supported when running locally, found {other}"),
                    ));
                }
                None => return Err(field_error(field, "expected bash")),
            },
            "variables" => env.variables = string_map(value, &field)?,
            "parameter-store" => env.parameter_store = string_map(value, &field)?,
            "secrets-manager" => env.secrets_manager = string_map(value, &field)?,
            "exported-variables" => env.exported_variables = string_list(value, &field)?,
            // Git credentials come from the machine's own git configuration.
            "git-credential-helper" => {}
            "run-as" => return Err(not_local(&field, "running commands as another user")),
            other => {
                return Err(field_error(
                    format!("env/{other}"),
                    "unknown key; expected one of shell, variables, parameter-store, \
                     secrets-manager, exported-variables, git-credential-helper",
                ));
            }
        }
    }
    Ok(env)
}

fn parse_phases(value: &Value) -> Result<Phases, SpecError> {
    let mut phases = Phases::default();
    for (key, value) in entries(optional_mapping(value, "phases")?, "phases")? {
        let Some(name) = PhaseName::from_key(key) else {
            return Err(field_error(
                format!("phases/{key}"),
                "unknown phase; expected install, pre_build, build or post_build",
            ));
        };
        *phases.slot(name) = Some(parse_phase(name, value)?);
    }
    Ok(phases)
}

fn parse_phase(name: PhaseName, value: &Value) -> Result<Phase, SpecError> {
    let base = format!("phases/{}", name.key());
    let mut phase = Phase::default();
    for (key, value) in entries(optional_mapping(value, &base)?, &base)? {
        let field = format!("{base}/{key}");
        match key {
            "commands" => phase.commands = string_list(value, &field)?,
            "finally" => phase.finally = string_list(value, &field)?,
            "on-failure" => phase.on_failure = parse_on_failure(value, &field)?,
            "runtime-versions" => phase.runtime_versions = string_map(value, &field)?,
            "run-as" => return Err(not_local(&field, "running commands as another user")),
            other => {
                return Err(field_error(
                    format!("{base}/{other}"),
                    "unknown key; expected one of commands, finally, on-failure, runtime-versions",
                ));
            }
        }
    }
    Ok(phase)
}

fn parse_on_failure(value: &Value, field: &str) -> Result<OnFailure, SpecError> {
    match scalar_text(value).as_deref() {
        Some("ABORT") => Ok(OnFailure::Abort),
        Some("CONTINUE") => Ok(OnFailure::Continue),
        Some(retry) if retry.starts_with("RETRY") => Err(field_error(
            field,
            format!("{retry} is not supported when running locally; use ABORT or CONTINUE"),
        )),
        Some(other) => Err(field_error(
            field,
            format!("expected ABORT or CONTINUE, found {other}"),
        )),
        None => Err(field_error(field, "expected ABORT or CONTINUE")),
    }
}

fn parse_artifacts(value: &Value) -> Result<Option<Artifacts>, SpecError> {
    let mapping = optional_mapping(value, "artifacts")?;
    if mapping.is_empty() {
        return Ok(None);
    }
    let mut secondary = BTreeMap::new();
    let mut primary = Mapping::new();
    for (key, value) in entries(mapping, "artifacts")? {
        if key == "secondary-artifacts" {
            let base = "artifacts/secondary-artifacts";
            for (identifier, value) in entries(optional_mapping(value, base)?, base)? {
                let field = format!("{base}/{identifier}");
                let files = parse_artifact_files(optional_mapping(value, &field)?, &field)?;
                match files {
                    Some(files) => secondary.insert(identifier.to_owned(), files),
                    None => return Err(field_error(format!("{field}/files"), "required")),
                };
            }
        } else {
            primary.insert(Value::String(key.to_owned()), value.clone());
        }
    }
    let primary = parse_artifact_files(&primary, "artifacts")?;
    if primary.is_none() && secondary.is_empty() {
        return Err(field_error("artifacts/files", "required"));
    }
    Ok(Some(Artifacts { primary, secondary }))
}

/// One artifact's fields; `None` when the mapping is empty (`files` is otherwise required).
fn parse_artifact_files(mapping: &Mapping, base: &str) -> Result<Option<ArtifactFiles>, SpecError> {
    if mapping.is_empty() {
        return Ok(None);
    }
    let mut artifact = ArtifactFiles::default();
    let mut has_files = false;
    for (key, value) in entries(mapping, base)? {
        let field = format!("{base}/{key}");
        match key {
            "files" => {
                artifact.files = string_list(value, &field)?;
                has_files = true;
            }
            "name" => artifact.name = Some(scalar(value, &field)?),
            "discard-paths" => artifact.discard_paths = yes_no(value, &field)?,
            "base-directory" => artifact.base_directory = Some(scalar(value, &field)?),
            "exclude-paths" => artifact.exclude_paths = string_list(value, &field)?,
            // Options of CodeBuild's S3 upload; they do not change which files are kept.
            "enable-symlinks" | "s3-prefix" => {}
            other => {
                return Err(field_error(
                    format!("{base}/{other}"),
                    "unknown key; expected one of files, name, discard-paths, base-directory, \
                     exclude-paths, secondary-artifacts",
                ));
            }
        }
    }
    if !has_files || artifact.files.is_empty() {
        return Err(field_error(
            format!("{base}/files"),
            "required: a list of file patterns",
        ));
    }
    Ok(Some(artifact))
}

/// A mapping's entries with string keys, in document order.
fn entries<'a>(mapping: &'a Mapping, field: &str) -> Result<Vec<(&'a str, &'a Value)>, SpecError> {
    mapping
        .iter()
        .map(|(key, value)| match key {
            Value::String(key) => Ok((key.as_str(), value)),
            other => Err(field_error(
                field,
                format!(
                    "keys must be strings, found {}",
                    scalar_text(other).unwrap_or_else(|| kind(other).to_owned())
                ),
            )),
        })
        .collect()
}

/// A mapping, where an empty YAML value (`env:` with nothing under it) counts as empty.
fn optional_mapping<'a>(value: &'a Value, field: &str) -> Result<&'a Mapping, SpecError> {
    static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
    match value {
        Value::Mapping(mapping) => Ok(mapping),
        Value::Null => Ok(EMPTY.get_or_init(Mapping::new)),
        other => Err(field_error(
            field,
            format!("expected a mapping, found {}", kind(other)),
        )),
    }
}

/// A list of strings. Numbers and booleans count as their text (`- true` is the command
/// `true`); a mapping in the list is the classic unquoted `- echo a: b`, so it is refused.
fn string_list(value: &Value, field: &str) -> Result<Vec<String>, SpecError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                scalar_text(item).ok_or_else(|| {
                    field_error(
                        field,
                        format!(
                            "expected a list of strings; item {} is {} (quote text that contains \": \")",
                            index + 1,
                            kind(item)
                        ),
                    )
                })
            })
            .collect(),
        other => Err(field_error(
            field,
            format!("expected a list of strings, found {}", kind(other)),
        )),
    }
}

/// A mapping of name → text; YAML numbers and booleans become their text.
fn string_map(value: &Value, field: &str) -> Result<BTreeMap<String, String>, SpecError> {
    entries(optional_mapping(value, field)?, field)?
        .into_iter()
        .map(|(key, value)| Ok((key.to_owned(), scalar(value, &format!("{field}/{key}"))?)))
        .collect()
}

fn scalar(value: &Value, field: &str) -> Result<String, SpecError> {
    scalar_text(value)
        .ok_or_else(|| field_error(field, format!("expected a string, found {}", kind(value))))
}

fn yes_no(value: &Value, field: &str) -> Result<bool, SpecError> {
    match scalar_text(value).as_deref() {
        Some("yes" | "true") => Ok(true),
        Some("no" | "false") => Ok(false),
        _ => Err(field_error(field, "expected yes or no")),
    }
}

/// The text of a scalar: strings as they are, numbers and booleans as YAML wrote them
/// (a float keeps its shortest form: `1.10` becomes `1.1`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "an empty value",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_and_string_versions_both_mean_0_2() {
        for version in ["0.2", "\"0.2\""] {
            let text = format!("version: {version}\nphases:\n  build:\n    commands: [make]\n");
            assert!(Buildspec::parse(&text).is_ok(), "{version}");
        }
    }

    #[test]
    fn a_multi_line_block_is_one_command() {
        let spec = Buildspec::parse(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        echo a\n        echo b\n",
        )
        .expect("valid");
        let build = spec.phases.build.expect("build phase");
        assert_eq!(build.commands, vec!["echo a\necho b\n".to_owned()]);
    }

    #[test]
    fn variables_keep_numbers_and_booleans_as_text() {
        let spec = Buildspec::parse(
            "version: 0.2\nenv:\n  variables:\n    PORT: 8080\n    DEBUG: true\n    NAME: app\nphases: {}\n",
        )
        .expect("valid");
        let expected: BTreeMap<String, String> =
            [("DEBUG", "true"), ("NAME", "app"), ("PORT", "8080")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(spec.env.variables, expected);
    }
}
