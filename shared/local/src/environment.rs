//! What of the server's environment the commands a pipeline runs (builds, local functions) see: a
//! defined few variables, and those `sluice.json` names in `"passEnvironment"`, never the rest. A server
//! started with `AWS_SECRET_ACCESS_KEY`, a registry token or a database password in its environment
//! must not hand them to every build, as a CodeBuild container never sees the caller's environment.
//!
//! A build then adds the buildspec's `env/variables`, the action's own variables and the `CODEBUILD_*`
//! variables over these ([`crate::build::run_build`]).

use std::collections::BTreeMap;
use std::ffi::OsString;

/// The variables of the server's environment every build and local function sees, when set: where to
/// find programs, the user's home, the language and the time zone.
pub const ALWAYS_PASSED: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ"];

/// The `PATH` commands get when the server has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variables of `from` the pipeline's commands see: [`ALWAYS_PASSED`] and the names in `also`,
/// with `PATH` defaulting to [`DEFAULT_PATH`].
pub fn passed(
    from: impl IntoIterator<Item = (OsString, OsString)>,
    also: &[String],
) -> BTreeMap<OsString, OsString> {
    let mut passed: BTreeMap<OsString, OsString> = from
        .into_iter()
        .filter(|(name, _)| {
            name.to_str()
                .is_some_and(|name| ALWAYS_PASSED.contains(&name) || also.iter().any(|a| a == name))
        })
        .collect();
    passed
        .entry("PATH".into())
        .or_insert_with(|| DEFAULT_PATH.into());
    passed
}

/// [`passed`] from this process's environment.
pub fn passed_from_server(also: &[String]) -> BTreeMap<OsString, OsString> {
    passed(std::env::vars_os(), also)
}

/// A name `"passEnvironment"` may hold: a shell variable name (`[A-Za-z_][A-Za-z0-9_]*`), which is also
/// every name bash can hand on.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("a name must not be empty".to_string()),
        Some(first) if !(first.is_ascii_alphabetic() || first == '_') => Err(format!(
            "{name:?} does not start with a letter or _; use a shell variable name"
        )),
        Some(_) => match chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            Some(bad) => Err(format!(
                "{name:?} holds {bad:?}; use letters, digits and _ only"
            )),
            None => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn only_the_defined_variables_and_the_named_ones_pass() {
        let server = env(&[
            ("PATH", "/opt/bin:/usr/bin"),
            ("HOME", "/home/ci"),
            ("LANG", "C.UTF-8"),
            ("TZ", "UTC"),
            ("AWS_SECRET_ACCESS_KEY", "sekrit"),
            ("NPM_TOKEN", "npm-sekrit"),
            ("PATHS", "not PATH"),
        ]);
        let passed_on = passed(server.clone(), &[]);
        let names: Vec<&str> = passed_on.keys().filter_map(|k| k.to_str()).collect();
        assert_eq!(names, ["HOME", "LANG", "PATH", "TZ"]);
        assert_eq!(passed_on[&OsString::from("PATH")], "/opt/bin:/usr/bin");

        let with_npm = passed(server, &["NPM_TOKEN".to_string(), "UNSET".to_string()]);
        assert_eq!(with_npm[&OsString::from("NPM_TOKEN")], "npm-sekrit");
        assert!(!with_npm.contains_key(&OsString::from("AWS_SECRET_ACCESS_KEY")));
        assert!(!with_npm.contains_key(&OsString::from("UNSET")));
    }

    #[test]
    fn a_server_without_path_gives_the_default_one() {
        let passed_on = passed(env(&[("HOME", "/root")]), &[]);
        assert_eq!(passed_on[&OsString::from("PATH")], DEFAULT_PATH);
    }

    #[test]
    fn names_are_shell_variable_names() {
        for good in ["NPM_TOKEN", "_x", "a1"] {
            check_name(good).unwrap();
        }
        for (bad, rule) in [
            ("", "empty"),
            ("1A", "start"),
            ("A-B", "'-'"),
            ("A=B", "'='"),
        ] {
            let error = check_name(bad).unwrap_err();
            assert!(error.contains(rule), "{bad:?}: {error}");
        }
    }
}
