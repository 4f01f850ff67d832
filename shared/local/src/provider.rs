//! The local action providers, all real: git for source actions, a bucket folder for S3 sources and
//! deploys, the buildspec runner for CodeBuild and Commands actions, a waiting approval, and a command or
//! HTTP endpoint for Lambda invokes. Each one turns CodePipeline's job into files and processes on this
//! machine and reports what CodePipeline would: output artifacts in the artifact store, output variables,
//! a summary, a log.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use sluice_core::approval::link::{PublicUrl, ReviewLinks};
use sluice_core::approval::{ApprovalNotices, ManualApproval};
use sluice_core::pipeline::declaration::ActionCategory;
use sluice_core::port::{
    ActionProvider, ArtifactStore, Clock, Job, JobFailure, JobOutcome, JobSuccess, Providers,
};
use sluice_core::record::ArtifactDetail;

use crate::archive;
use crate::build::{BuildJob, InputSource, SpecSource, run_build};
use crate::git;
use crate::notifier::LocalNotifier;
use crate::notifier::config::NotifierConfig;
use crate::process::{DEFAULT_STOP_GRACE, Processes, private_dir};
use crate::runtime::{FileArtifactStore, LocalRuntime};
use crate::s3_folder::S3Folder;

/// The local configuration file (`sluice.json`): where the repositories, build projects and functions a
/// pipeline names are on this machine. Paths are relative to the file's folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// Repository (FullRepositoryId, Owner/Repo, RepositoryName) → a path or git URL.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// CodeBuild project name → its settings.
    #[serde(default)]
    pub projects: BTreeMap<String, ProjectConfig>,
    /// Lambda function name → how to run it locally.
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    /// Variables of the server's environment builds and local functions see, beyond
    /// [`crate::environment::ALWAYS_PASSED`]; no other variable of it reaches them.
    #[serde(default, rename = "passEnvironment")]
    pub pass_environment: Vec<String>,
    /// The webhook receiver's secrets, by provider (`github`, `bitbucket`, `gitlab`): each a file
    /// holding it, so the secret itself is not in a file that is committed (`crate::webhook`).
    #[serde(default)]
    pub webhooks: BTreeMap<String, WebhookConfig>,
    /// Where approval notifications go besides `<data_dir>/notifications.jsonl`: Slack-compatible
    /// webhooks and SMTP servers, each for the topics it names ([`crate::notifier::config`]).
    #[serde(default)]
    pub notifications: Vec<NotifierConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookConfig {
    /// A file whose contents (without a trailing newline) are the secret; relative to sluice.json.
    pub secret_file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The buildspec: a file in the primary source (CodeBuild's default is buildspec.yml), or YAML text.
    #[serde(default)]
    pub buildspec: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// A command run with bash; the job event on its standard input.
    #[serde(default)]
    pub command: Option<String>,
    /// An http:// endpoint the job event is POSTed to.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {field}: {rule}")]
    Invalid {
        path: PathBuf,
        field: String,
        rule: String,
    },
}

impl LocalConfig {
    /// Reads a config file; relative source paths become paths from the file's folder.
    pub fn load(path: &Path) -> Result<LocalConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: LocalConfig =
            serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        for (index, name) in config.pass_environment.iter().enumerate() {
            crate::environment::check_name(name).map_err(|rule| ConfigError::Invalid {
                path: path.to_path_buf(),
                field: format!("passEnvironment[{index}]"),
                rule,
            })?;
        }
        crate::notifier::config::check(&config.notifications, |name| {
            std::env::var_os(name).is_some()
        })
        .map_err(|invalid| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: invalid.field,
            rule: invalid.rule,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (provider, webhook) in config.webhooks.iter_mut() {
            if sluice_core::webhook::event::GitProvider::from_slug(provider).is_none() {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    field: format!("webhooks.{provider}"),
                    rule: "must be github, bitbucket or gitlab".to_string(),
                });
            }
            webhook.secret_file = resolve_location(base, &webhook.secret_file);
        }
        for location in config.sources.values_mut() {
            *location = resolve_location(base, location);
        }
        Ok(config)
    }
}

/// A URL as it is; a relative path from `base`.
pub fn resolve_location(base: &Path, location: &str) -> String {
    if is_url(location) || Path::new(location).is_absolute() {
        location.to_string()
    } else {
        base.join(location).to_string_lossy().into_owned()
    }
}

fn is_url(location: &str) -> bool {
    ["https://", "http://", "ssh://", "git://", "file://", "git@"]
        .iter()
        .any(|prefix| location.starts_with(prefix))
}

/// What every local provider shares.
pub struct LocalContext {
    pub data_dir: PathBuf,
    pub artifacts: FileArtifactStore,
    pub buckets: S3Folder,
    pub config: LocalConfig,
    /// `--source ACTION=PATH|URL`: per-run overrides by source action name.
    pub source_overrides: BTreeMap<String, String>,
    /// How the processes of builds and functions are started and stopped.
    pub processes: Processes,
    /// The shell builds run in.
    pub shell: PathBuf,
    /// The runtime's clock.
    pub clock: Arc<dyn Clock>,
    /// Where approvals' notifications link to, and the key their review links are signed with.
    pub review_links: ReviewLinks,
    /// What of the server's environment builds and local functions see ([`crate::environment`]).
    pub inherited_environment: BTreeMap<OsString, OsString>,
}

/// The region local approval notifications report: `sluice serve`'s default `--region`.
pub const LOCAL_REGION: &str = "us-east-1";
/// Where local approval notifications link to unless the server says otherwise: `sluice serve`'s
/// default address.
pub const LOCAL_SERVER_ADDRESS: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4570));

impl LocalContext {
    fn log_path(&self, job: &Job) -> PathBuf {
        self.data_dir
            .join("logs")
            .join(crate::guard::segment(&job.pipeline).as_ref())
            .join(&job.pipeline_execution_id)
            .join(format!("{}.{}.log", job.stage, job.action.name))
    }

    fn workspace(&self, job: &Job) -> PathBuf {
        self.data_dir.join("work").join(&job.action_execution_id)
    }
}

/// The registry of local providers.
pub fn local_providers(context: Arc<LocalContext>) -> Providers {
    let mut providers = Providers::default();
    let source: Arc<dyn ActionProvider> = Arc::new(GitSource(context.clone()));
    for (owner, provider) in [
        ("AWS", "CodeStarSourceConnection"),
        ("AWS", "CodeCommit"),
        ("ThirdParty", "GitHub"),
    ] {
        providers.register(ActionCategory::Source, owner, provider, source.clone());
    }
    providers.register(
        ActionCategory::Source,
        "AWS",
        "S3",
        Arc::new(S3Source(context.clone())),
    );
    let build: Arc<dyn ActionProvider> = Arc::new(Build(context.clone()));
    providers.register(ActionCategory::Build, "AWS", "CodeBuild", build.clone());
    providers.register(ActionCategory::Test, "AWS", "CodeBuild", build.clone());
    providers.register(ActionCategory::Compute, "AWS", "Commands", build);
    providers.register(
        ActionCategory::Deploy,
        "AWS",
        "S3",
        Arc::new(S3Deploy(context.clone())),
    );
    providers.register(
        ActionCategory::Approval,
        "AWS",
        "Manual",
        Arc::new(ManualApproval::with_notifier(ApprovalNotices {
            notifier: LocalNotifier::new(
                &context.data_dir,
                &context.config.notifications,
                |name| std::env::var(name).ok(),
            ),
            region: LOCAL_REGION.to_string(),
            links: context.review_links.clone(),
        })),
    );
    providers.register(
        ActionCategory::Invoke,
        "AWS",
        "Lambda",
        Arc::new(LambdaInvoke(context)),
    );
    providers
}

/// Builds the runtime's providers from a config.
pub fn providers_for(
    config: LocalConfig,
    source_overrides: BTreeMap<String, String>,
) -> impl FnOnce(&LocalRuntime) -> Providers {
    providers_stopping_after(config, source_overrides, DEFAULT_STOP_GRACE)
}

/// [`providers_for`], with the grace period a stopped build or function has between SIGTERM and
/// SIGKILL.
pub fn providers_stopping_after(
    config: LocalConfig,
    source_overrides: BTreeMap<String, String>,
    stop_grace: std::time::Duration,
) -> impl FnOnce(&LocalRuntime) -> Providers {
    providers_linking_to(
        config,
        source_overrides,
        stop_grace,
        PublicUrl::for_address(LOCAL_SERVER_ADDRESS),
    )
}

/// [`providers_stopping_after`], with approval links starting at `public_url` (`sluice serve
/// --public-url`) and signed with the runtime's key.
pub fn providers_linking_to(
    config: LocalConfig,
    source_overrides: BTreeMap<String, String>,
    stop_grace: std::time::Duration,
    public_url: PublicUrl,
) -> impl FnOnce(&LocalRuntime) -> Providers {
    move |runtime| {
        let inherited_environment =
            crate::environment::passed_from_server(&config.pass_environment);
        let mut providers = local_providers(Arc::new(LocalContext {
            data_dir: runtime.data_dir.clone(),
            artifacts: runtime.ports.artifacts.clone(),
            buckets: S3Folder::new(&runtime.data_dir),
            config,
            source_overrides,
            processes: runtime.processes.clone().with_stop_grace(stop_grace),
            shell: PathBuf::from("bash"),
            clock: Arc::new(runtime.ports.clock.clone()),
            review_links: ReviewLinks::signed(public_url, runtime.approval_key.clone()),
            inherited_environment,
        }));
        // Custom action types wait for a job worker (PollForJobs through `sluice serve`).
        providers.register_custom(Arc::new(sluice_core::job::CustomJobs(Arc::new(
            runtime.ports.clone(),
        ))));
        providers
    }
}

type Run<'a> = Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>>;

fn failed(error: impl std::fmt::Display) -> JobOutcome {
    JobOutcome::job_failed(error)
}

fn configuration_error(message: impl Into<String>) -> JobOutcome {
    JobOutcome::configuration_error(message)
}

/// Moves the artifact's zip (a file in the job's scratch folder) to its place in the artifact store.
async fn store_artifact(
    context: &LocalContext,
    output: &ArtifactDetail,
    zip: &Path,
) -> Result<(), JobOutcome> {
    context
        .artifacts
        .move_artifact(&output.location, zip)
        .await
        .map_err(failed)
}

/// Runs file work on tokio's blocking threads, so the async threads keep answering.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, JobOutcome> + Send + 'static,
) -> Result<T, JobOutcome> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| failed(format!("the file work stopped: {e}")))?
}

/// A scratch folder for one job (0700, as is `<data-dir>/work`), removed when the job is done.
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: PathBuf) -> Result<Scratch, JobOutcome> {
        let _ = std::fs::remove_dir_all(&path);
        if let Some(work) = path.parent() {
            private_dir(work)
                .map_err(|e| failed(format!("cannot create {}: {e}", work.display())))?;
        }
        private_dir(&path).map_err(|e| failed(format!("cannot create {}: {e}", path.display())))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------- git

struct GitSource(Arc<LocalContext>);

impl ActionProvider for GitSource {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move { self.source(job).await.unwrap_or_else(|outcome| outcome) })
    }
}

impl GitSource {
    async fn source(&self, job: &Job) -> Result<JobOutcome, JobOutcome> {
        let context = &self.0;
        let provider = job.action.action_type_id.provider.as_str();
        let (repository, branch) = match provider {
            "GitHub" => (
                format!("{}/{}", job.required("Owner")?, job.required("Repo")?),
                job.required("Branch")?.to_string(),
            ),
            "CodeCommit" => (
                job.required("RepositoryName")?.to_string(),
                job.required("BranchName")?.to_string(),
            ),
            _ => (
                job.required("FullRepositoryId")?.to_string(),
                job.required("BranchName")?.to_string(),
            ),
        };
        let location = context
            .source_overrides
            .get(&job.action.name)
            .or_else(|| context.config.sources.get(&repository))
            .cloned()
            .ok_or_else(|| {
                configuration_error(format!(
                    "Repository {repository} of source action {} is not mapped to a local path or URL: add \"sources\": {{\"{repository}\": \"PATH_OR_URL\"}} to sluice.json, or pass --source {}=PATH_OR_URL",
                    job.action.name, job.action.name
                ))
            })?;
        let output = job.output_artifacts.first().ok_or_else(|| {
            configuration_error(format!(
                "Source action {} declares no output artifact",
                job.action.name
            ))
        })?;
        let scratch = Scratch::new(context.workspace(job))?;
        let zip = scratch.0.join("source.zip");
        let revision = job
            .source_revision
            .as_ref()
            .filter(|r| r.revision_type == "COMMIT_ID")
            .map(|r| r.revision_value.clone());
        let path = Path::new(&location);
        let snapshot = !is_url(&location) && path.is_dir() && !git::is_repository_root(path);
        let commit = if snapshot {
            git::snapshot(path, &zip).await
        } else {
            git::export(&location, &branch, revision.as_deref(), &zip).await
        }
        .map_err(|e| {
            JobOutcome::Failed(JobFailure {
                failure_type: "RevisionUnavailable".to_string(),
                message: e.to_string(),
                log: None,
            })
        })?;
        store_artifact(context, output, &zip).await?;
        let mut variables = BTreeMap::from([
            ("CommitId".to_string(), commit.commit_id.clone()),
            ("CommitMessage".to_string(), commit.message.clone()),
            ("AuthorDate".to_string(), commit.author_date.clone()),
            ("CommitterDate".to_string(), commit.committer_date.clone()),
            ("BranchName".to_string(), branch.clone()),
            ("AuthorDisplayName".to_string(), commit.author_name.clone()),
            ("AuthorEmail".to_string(), commit.author_email.clone()),
        ]);
        match provider {
            "CodeCommit" | "GitHub" => {
                variables.insert("RepositoryName".to_string(), repository.clone());
            }
            _ => {
                variables.insert("FullRepositoryName".to_string(), repository.clone());
                if let Some(arn) = job.configuration.get("ConnectionArn") {
                    variables.insert("ConnectionArn".to_string(), arn.clone());
                }
            }
        }
        let short: String = commit.commit_id.chars().take(12).collect();
        let summary = if snapshot {
            format!("the files of {location} as they are on disk ({short})")
        } else {
            let first_line: String = commit
                .message
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(72)
                .collect();
            format!("{short} {first_line}")
        };
        Ok(JobOutcome::Succeeded(JobSuccess {
            output_variables: variables,
            summary: Some(summary),
            external_execution_id: Some(commit.commit_id),
            log: None,
        }))
    }
}

// ------------------------------------------------------------------------------------------ S3 source

struct S3Source(Arc<LocalContext>);

impl ActionProvider for S3Source {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            let result: Result<JobOutcome, JobOutcome> = async {
                let context = &self.0;
                let bucket = job.required("S3Bucket")?;
                let key = job.required("S3ObjectKey")?;
                let output = job.output_artifacts.first().ok_or_else(|| {
                    configuration_error(format!(
                        "Source action {} declares no output artifact",
                        job.action.name
                    ))
                })?;
                // Read into the job's scratch folder, then moved (not copied) into the artifact
                // store through the guard; the file work off the async threads, which answer the
                // API meanwhile.
                let scratch = Scratch::new(context.workspace(job))?;
                let zip = scratch.0.join("source.zip");
                let (buckets, bucket_name, key_name, target) = (
                    context.buckets.clone(),
                    bucket.to_string(),
                    key.to_string(),
                    zip.clone(),
                );
                let revision = blocking(move || {
                    buckets
                        .read_source(&bucket_name, &key_name, &target)
                        .map_err(|e| configuration_error(e.to_string()))
                })
                .await?;
                store_artifact(context, output, &zip).await?;
                Ok(JobOutcome::Succeeded(JobSuccess {
                    output_variables: BTreeMap::from([
                        ("ETag".to_string(), revision.etag.clone()),
                        ("VersionId".to_string(), revision.version_id.clone()),
                    ]),
                    summary: Some(format!("s3://{bucket}/{key}")),
                    external_execution_id: Some(revision.version_id),
                    log: None,
                }))
            }
            .await;
            result.unwrap_or_else(|outcome| outcome)
        })
    }
}

// ----------------------------------------------------------------------------------------- builds

struct Build(Arc<LocalContext>);

/// CodeBuild's `EnvironmentVariables` configuration value.
#[derive(Deserialize)]
struct CodeBuildVariable {
    name: String,
    value: String,
    #[serde(default, rename = "type")]
    variable_type: Option<String>,
}

impl ActionProvider for Build {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move { self.build(job).await.unwrap_or_else(|outcome| outcome) })
    }
}

impl Build {
    async fn build(&self, job: &Job) -> Result<JobOutcome, JobOutcome> {
        let context = &self.0;
        let commands = job.action.action_type_id.provider == "Commands";
        let scratch = Scratch::new(context.workspace(job))?;
        let log_path = context.log_path(job);
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
        }
        let _ = std::fs::remove_file(&log_path);

        // Inputs: each extracted in its own folder; the primary one is where the build starts.
        let mut inputs = Vec::new();
        for input in &job.input_artifacts {
            let zip = scratch.0.join(format!("{}.zip", input.name));
            context
                .artifacts
                .get_artifact(&input.location, &zip)
                .await
                .map_err(failed)?;
            let dir = scratch.0.join("src").join(&input.name);
            let (from, to) = (zip.clone(), dir.clone());
            blocking(move || {
                archive::unzip(&from, &to).map_err(failed)?;
                let _ = std::fs::remove_file(&from);
                Ok(())
            })
            .await?;
            inputs.push(InputSource {
                name: input.name.clone(),
                dir,
            });
        }
        let primary_name = job
            .configuration
            .get("PrimarySource")
            .cloned()
            .or_else(|| inputs.first().map(|i| i.name.clone()));
        let primary = match primary_name {
            Some(name) => {
                let index = inputs.iter().position(|i| i.name == name).ok_or_else(|| {
                    configuration_error(format!(
                        "PrimarySource {name} of action {} is not one of its input artifacts",
                        job.action.name
                    ))
                })?;
                inputs.remove(index)
            }
            None => {
                let dir = scratch.0.join("src").join("empty");
                std::fs::create_dir_all(&dir).map_err(failed)?;
                InputSource {
                    name: String::new(),
                    dir,
                }
            }
        };

        let mut environment = vec![
            (
                "CODEBUILD_BUILD_ID".to_string(),
                format!(
                    "{}:{}",
                    job.configuration
                        .get("ProjectName")
                        .map(String::as_str)
                        .unwrap_or(&job.pipeline),
                    job.action_execution_id
                ),
            ),
            (
                "CODEBUILD_INITIATOR".to_string(),
                format!("codepipeline/{}", job.pipeline),
            ),
            ("CODEBUILD_BUILD_NUMBER".to_string(), "1".to_string()),
            ("CODEBUILD_CI".to_string(), "true".to_string()),
            (
                "CODEPIPELINE_EXECUTION_ID".to_string(),
                job.pipeline_execution_id.clone(),
            ),
            ("AWS_REGION".to_string(), "local".to_string()),
            ("AWS_DEFAULT_REGION".to_string(), "local".to_string()),
        ];
        if let Some(revision) = job
            .input_artifacts
            .iter()
            .find(|a| a.name == primary.name)
            .and_then(|a| a.revision.clone())
        {
            environment.push(("CODEBUILD_RESOLVED_SOURCE_VERSION".to_string(), revision));
        }
        if let Some(input) = job.input_artifacts.first() {
            environment.push((
                "CODEBUILD_SOURCE_VERSION".to_string(),
                format!(
                    "arn:aws:s3:::{}/{}",
                    input.location.bucket_name, input.location.object_key
                ),
            ));
        }
        let spec = if commands {
            SpecSource::Parsed(crate::build::Buildspec::from_commands(
                &job.action.commands,
                &job.action.output_variables,
                &job.action
                    .output_artifacts
                    .iter()
                    .flat_map(|o| o.files.iter().cloned())
                    .collect::<Vec<_>>(),
            ))
        } else {
            let project = job
                .configuration
                .get("ProjectName")
                .and_then(|name| context.config.projects.get(name));
            match project.and_then(|p| p.buildspec.clone()) {
                Some(text) if text.contains('\n') => SpecSource::Inline(text),
                Some(path) => SpecSource::File(path),
                None => SpecSource::File("buildspec.yml".to_string()),
            }
        };
        if commands {
            environment.extend(job.environment_variables.iter().cloned());
        } else if let Some(text) = job.configuration.get("EnvironmentVariables") {
            let variables: Vec<CodeBuildVariable> =
                serde_json::from_str(text).map_err(|e| {
                    configuration_error(format!(
                        "EnvironmentVariables of action {} is not a JSON list of {{name, value, type}}: {e}",
                        job.action.name
                    ))
                })?;
            for variable in variables {
                match variable.variable_type.as_deref() {
                    None | Some("PLAINTEXT") => environment.push((variable.name, variable.value)),
                    Some(other) => {
                        return Err(configuration_error(format!(
                            "Environment variable {} of action {} has type {other}, which needs AWS; locally only PLAINTEXT values are available",
                            variable.name, job.action.name
                        )));
                    }
                }
            }
        }

        let artifacts_dir = scratch.0.join("out");
        let outcome = run_build(
            BuildJob {
                spec,
                primary,
                secondary: inputs,
                inherited: context.inherited_environment.clone(),
                environment,
                output_artifacts: job
                    .output_artifacts
                    .iter()
                    .map(|o| o.name.clone())
                    .collect(),
                artifacts_dir,
                timeout: job.timeout,
                log_path: log_path.clone(),
                shell: context.shell.clone(),
                state_dir: scratch.0.join("shell"),
                processes: context.processes.clone(),
            },
            job.stop.stopped(),
        )
        .await;
        let log = Some(log_path.to_string_lossy().into_owned());
        let output = match outcome {
            Ok(output) => output,
            Err(error) => {
                return Err(JobOutcome::Failed(JobFailure {
                    failure_type: "JobFailed".to_string(),
                    message: error.to_string(),
                    log,
                }));
            }
        };
        for declared in &job.output_artifacts {
            let Some((_, dir)) = output
                .artifacts
                .iter()
                .find(|(name, _)| *name == declared.name)
            else {
                return Err(failed(format!(
                    "The build produced no files for output artifact {}",
                    declared.name
                )));
            };
            let zip = scratch.0.join(format!("{}.out.zip", declared.name));
            let (from, to) = (dir.clone(), zip.clone());
            blocking(move || archive::zip_dir(&from, &to).map_err(failed)).await?;
            store_artifact(context, declared, &zip).await?;
        }
        Ok(JobOutcome::Succeeded(JobSuccess {
            output_variables: output.exported_variables,
            summary: Some(format!("Build succeeded; log: {}", log_path.display())),
            external_execution_id: Some(job.action_execution_id.clone()),
            log,
        }))
    }
}

// ------------------------------------------------------------------------------------------ S3 deploy

struct S3Deploy(Arc<LocalContext>);

impl ActionProvider for S3Deploy {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            let result: Result<JobOutcome, JobOutcome> = async {
                let context = &self.0;
                let bucket = job.required("BucketName")?;
                let extract = match job.configuration.get("Extract").map(String::as_str) {
                    Some("true") => true,
                    Some("false") => false,
                    other => {
                        return Err(configuration_error(format!(
                            "Extract of action {} must be \"true\" or \"false\", not {}",
                            job.action.name,
                            other.unwrap_or("missing")
                        )));
                    }
                };
                let key = job.configuration.get("ObjectKey").map(String::as_str);
                let input = job.input_artifacts.first().ok_or_else(|| {
                    configuration_error(format!(
                        "Deploy action {} declares no input artifact",
                        job.action.name
                    ))
                })?;
                let scratch = Scratch::new(context.workspace(job))?;
                let zip = scratch.0.join("artifact.zip");
                context
                    .artifacts
                    .get_artifact(&input.location, &zip)
                    .await
                    .map_err(failed)?;
                let (buckets, bucket_name, key_name, artifact) = (
                    context.buckets.clone(),
                    bucket.to_string(),
                    key.map(str::to_string),
                    zip.clone(),
                );
                let written = blocking(move || {
                    buckets
                        .deploy(&bucket_name, key_name.as_deref(), extract, &artifact)
                        .map_err(|e| configuration_error(e.to_string()))
                })
                .await?;
                let target = match key {
                    Some(key) => format!("s3://{bucket}/{key}"),
                    None => format!("s3://{bucket}/"),
                };
                Ok(JobOutcome::Succeeded(JobSuccess {
                    summary: Some(format!(
                        "Deployed {} file(s) to {target} ({})",
                        written.len(),
                        context.buckets.root().join(bucket).display()
                    )),
                    ..JobSuccess::default()
                }))
            }
            .await;
            result.unwrap_or_else(|outcome| outcome)
        })
    }
}

// ------------------------------------------------------------------------------------------- invoke

struct LambdaInvoke(Arc<LocalContext>);

/// What a local function answers: PutJobSuccessResult's or PutJobFailureResult's content.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionAnswer {
    #[serde(default)]
    output_variables: BTreeMap<String, String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    failure_details: Option<FailureDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureDetails {
    #[serde(rename = "type", default)]
    failure_type: Option<String>,
    message: String,
}

impl ActionProvider for LambdaInvoke {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move { self.invoke(job).await.unwrap_or_else(|outcome| outcome) })
    }
}

impl LambdaInvoke {
    /// The `CodePipeline.job` event of the job-worker protocol (docs/codepipeline.md, "Job workers").
    fn event(job: &Job) -> serde_json::Value {
        let artifact = |a: &ArtifactDetail| {
            json!({
                "name": a.name,
                "revision": null,
                "location": {"type": "S3", "s3Location": {"bucketName": a.location.bucket_name, "objectKey": a.location.object_key}}
            })
        };
        json!({
            "CodePipeline.job": {
                "id": job.action_execution_id,
                "accountId": sluice_core::record::LOCAL_ACCOUNT,
                "data": {
                    "actionConfiguration": {"configuration": {
                        "FunctionName": job.configuration.get("FunctionName"),
                        "UserParameters": job.configuration.get("UserParameters"),
                    }},
                    "inputArtifacts": job.input_artifacts.iter().map(artifact).collect::<Vec<_>>(),
                    "outputArtifacts": job.output_artifacts.iter().map(artifact).collect::<Vec<_>>(),
                    "artifactCredentials": {"accessKeyId": "", "secretAccessKey": "", "sessionToken": ""}
                }
            }
        })
    }

    async fn invoke(&self, job: &Job) -> Result<JobOutcome, JobOutcome> {
        let name = job.required("FunctionName")?;
        let function = self.0.config.functions.get(name).ok_or_else(|| {
            configuration_error(format!(
                "Function {name} of action {} is not defined locally: add \"functions\": {{\"{name}\": {{\"command\": \"…\"}}}} (or \"url\") to sluice.json",
                job.action.name
            ))
        })?;
        let event = Self::event(job).to_string();
        let answer = match (&function.command, &function.url) {
            (Some(command), _) => run_function_command(&self.0, command, &event, job).await?,
            (None, Some(url)) => post_event(url, &event).await.map_err(failed)?,
            (None, None) => {
                return Err(configuration_error(format!(
                    "Function {name} in sluice.json needs a command or a url"
                )));
            }
        };
        let answer: FunctionAnswer = if answer.trim().is_empty() {
            FunctionAnswer::default()
        } else {
            serde_json::from_str(answer.trim()).map_err(|e| {
                failed(format!(
                    "Function {name} answered with something other than a job result ({e}): {}",
                    answer.chars().take(200).collect::<String>()
                ))
            })?
        };
        if let Some(failure) = answer.failure_details {
            return Ok(JobOutcome::Failed(JobFailure {
                failure_type: failure
                    .failure_type
                    .unwrap_or_else(|| "JobFailed".to_string()),
                message: failure.message,
                log: None,
            }));
        }
        Ok(JobOutcome::Succeeded(JobSuccess {
            output_variables: answer.output_variables,
            summary: answer.summary,
            external_execution_id: Some(job.action_execution_id.clone()),
            log: None,
        }))
    }
}

/// Runs a local function's command in a process group of its own, which ends with it: when the job is
/// stopped or times out the group gets SIGTERM, then SIGKILL after the grace period. It sees only the
/// part of the server's environment that is passed on ([`crate::environment`]).
async fn run_function_command(
    context: &LocalContext,
    command: &str,
    event: &str,
    job: &Job,
) -> Result<String, JobOutcome> {
    use tokio::io::AsyncWriteExt;
    let (shell, processes) = (&context.shell, &context.processes);
    let cannot_run = |e: std::io::Error| failed(format!("cannot run {}: {e}", shell.display()));
    let group = processes.start_group(shell).map_err(cannot_run)?;
    let mut child = tokio::process::Command::new(shell)
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(&context.inherited_environment)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(group.id())
        .kill_on_drop(true)
        .spawn()
        .map_err(cannot_run)?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(event.as_bytes()).await;
    }
    let running = child.wait_with_output();
    tokio::pin!(running);
    let ended = tokio::select! {
        output = &mut running => Ok(output),
        () = job.stop.stopped() => Err(failed("The function was stopped: its pipeline execution was stopped or has ended")),
        () = tokio::time::sleep(job.timeout) => Err(failed(format!(
            "The function did not answer within {:?}",
            job.timeout
        ))),
    };
    let output = match ended {
        Ok(output) => {
            // What the command left in the background ends with it.
            group.kill().await;
            output.map_err(failed)?
        }
        Err(stopped) => {
            group.stop(processes.stop_grace(), &mut running).await;
            return Err(stopped);
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(failed(format!(
            "The function command `{command}` failed with {}: {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// POSTs the event to an http:// endpoint (HTTP/1.1, one request per connection) and returns the body
/// of a 2xx answer.
async fn post_event(url: &str, event: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// endpoints can be invoked locally"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        event.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("{url}: the answer is not HTTP"))?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "{url} answered {status}: {}",
            body.chars().take(200).collect::<String>()
        ));
    }
    Ok(body.to_string())
}
