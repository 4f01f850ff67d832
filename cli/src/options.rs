//! The options that go before every command (`sluice --endpoint URL …`): the API the control commands
//! call, and how to sign for it.

/// The options that point the control commands at an API. They go before the command
/// (`sluice --endpoint URL approve …`): `validate` and `serve` have a `--region` and `--signing-name` of their
/// own, with other meanings.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Options {
    /// Call this Sluice API instead of using the local data directory: a deployed stack's ApiUrl output,
    /// `sluice serve`'s URL, or CodePipeline's endpoint. Credentials come from the environment or the
    /// profile, as for the aws CLI.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// The Region to sign for [default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region].
    #[arg(long, requires = "endpoint")]
    pub(crate) region: Option<String>,
    /// The service name to sign for [default: execute-api, as a deployed stack's HTTP API checks]: use
    /// `codepipeline` for `sluice serve` (unless it runs with --signing-name execute-api) or CodePipeline.
    #[arg(long, requires = "endpoint", value_name = "NAME")]
    pub(crate) signing_name: Option<String>,
}

impl Options {
    /// For the commands that only work on this machine: `Some(exit 2)` with the reason when `--endpoint`
    /// was given, so nobody believes a remote stack was touched.
    pub(crate) fn refuse(&self, command: &str, instead: &str) -> Option<std::process::ExitCode> {
        let endpoint = self.endpoint.as_ref()?;
        eprintln!("sluice {command}: --endpoint {endpoint} does not apply: `{command}` {instead}");
        Some(std::process::ExitCode::from(2))
    }

    /// How the user's commands reach the same API, for hints (`sluice --endpoint URL approve …`).
    pub(crate) fn prefix(&self) -> String {
        let mut prefix = String::new();
        if let Some(endpoint) = &self.endpoint {
            prefix.push_str(&format!("--endpoint {endpoint} "));
        }
        if let Some(region) = &self.region {
            prefix.push_str(&format!("--region {region} "));
        }
        if let Some(name) = &self.signing_name {
            prefix.push_str(&format!("--signing-name {name} "));
        }
        prefix
    }
}
