//! Runs a buildspec on this machine, in bash, the way CodeBuild runs it in its build container.
//!
//! # How commands share one shell
//!
//! CodeBuild 0.2 runs every command of every phase as if in one shell: a `cd`, an `export` or a
//! plain `VERSION=$(cat version)` in one command is seen by the next. Here each command runs in
//! a fresh `bash` started from `SESSION_SCRIPT`, which first restores the state the previous
//! command saved and, when the command ends (normally or by `exit`), saves it again:
//!
//! - exported variables travel as the process environment (so `unset` works too);
//! - other shell variables and functions as `declare` statements the next command sources;
//! - the working directory as the next command's starting directory.
//!
//! A fresh bash per command — rather than one long-lived bash fed commands — keeps one command's
//! `exit`, syntax error or stray `read` from ending or derailing the session, and makes the exit
//! status of each command the status of a process. Shell options (`set -e`, `shopt`) and traps
//! apply to the command that sets them, and bash's own variables (`BASH_*`, `SHLVL`, `IFS`, …)
//! start afresh in each command. A command that `exec`s another program, or sets its own `EXIT`
//! trap and then calls `exit`, cannot save: the next command sees the state from before it.
//!
//! # Processes
//!
//! Every command runs in one process group ([`crate::process`]), held open by an anchor process
//! that also kills the group if this process dies: background processes (`dockerd &` in
//! `install`) outlive their command as in CodeBuild, and the end of the build kills all of them —
//! CodeBuild ends them by discarding the container. On timeout or cancellation the group gets
//! SIGTERM, no further command starts, and once the running command has ended (or the grace
//! period has passed) SIGKILL ends the rest.
//!
//! The saved shell state (the build's whole environment among it) lives in the caller's state
//! directory, created 0700 and removed with the build.
//!
//! Output goes from the commands through a pipe that a task of the build reads as it is written, so
//! it reaches the log as produced and a background process holding the output open never stalls the
//! build. The log is capped at [`LOG_LIMIT_BYTES`]: past it, the first part and the last
//! [`LOG_TAIL_BYTES`] are kept, with a line saying how many bytes were left out between.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::Command;

use crate::process::Processes;

use super::spec::{ArtifactFiles, Artifacts, Buildspec, OnFailure, Phase, PhaseName, SpecError};

/// An input artifact, already extracted into a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSource {
    /// The input artifact's name.
    pub name: String,
    /// Where its files are.
    pub dir: PathBuf,
}

/// Where the buildspec comes from.
#[expect(
    clippy::large_enum_variant,
    reason = "one per build, moved once; boxing would only add noise at every call site"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// YAML text given by the action (CodeBuild's `buildspecOverride`).
    Inline(String),
    /// A path relative to the primary source directory; `buildspec.yml` is CodeBuild's default.
    File(String),
    /// An already-built buildspec, such as [`Buildspec::from_commands`] for a Commands action.
    Parsed(Buildspec),
}

/// One build to run.
#[derive(Debug, Clone)]
pub struct BuildJob {
    /// The buildspec.
    pub spec: SpecSource,
    /// The primary input: `CODEBUILD_SRC_DIR`, where commands start.
    pub primary: InputSource,
    /// Other inputs, each as `CODEBUILD_SRC_DIR_<name>`.
    pub secondary: Vec<InputSource>,
    /// What of the server's environment the build sees ([`crate::environment::passed`]); nothing
    /// else of it reaches the build.
    pub inherited: BTreeMap<OsString, OsString>,
    /// Variables from the action (`EnvironmentVariables`) and the `CODEBUILD_*` variables the
    /// caller sets. As in CodeBuild, these override the buildspec's `env/variables`.
    pub environment: Vec<(String, String)>,
    /// The action's declared output artifact names, primary first; may be empty.
    pub output_artifacts: Vec<String>,
    /// Collected artifacts go to `<artifacts_dir>/<artifact name>/`; the caller passes a
    /// directory of its own so no earlier files mix in.
    pub artifacts_dir: PathBuf,
    /// How long the phases may take.
    pub timeout: Duration,
    /// The build log: command output and CodeBuild-style `[Container]` lines are appended here.
    pub log_path: PathBuf,
    /// The shell: `bash` (looked up on `PATH`) in production.
    pub shell: PathBuf,
    /// A directory for the session script and the saved shell state: created (0700) by the build,
    /// removed when it ends. The caller puts it in the action's workspace.
    pub state_dir: PathBuf,
    /// Where the build's process group is recorded, and how long it has between SIGTERM and
    /// SIGKILL when it is stopped.
    pub processes: Processes,
}

/// What a successful build leaves for the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildOutput {
    /// `env/exported-variables` that were set when the build ended.
    pub exported_variables: BTreeMap<String, String>,
    /// Output artifact name → the directory holding its files, in the order the action declares
    /// them; the caller zips them.
    pub artifacts: Vec<(String, PathBuf)>,
}

/// Why a build did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The buildspec is missing or invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The buildspec asks for an AWS service the local runner cannot reach.
    #[error(
        "{field}: {what} are not available when running locally; use env/variables or the action's environment variables"
    )]
    NotAvailableLocally {
        /// The buildspec field, such as `env/parameter-store`.
        field: &'static str,
        /// What it would read.
        what: &'static str,
    },
    /// A command exited with a non-zero status.
    #[error("Phase {phase} failed: Error while executing command: {command}. Reason: exit status {exit_code}{}", with_tail(.log_tail))]
    CommandFailed {
        /// The phase the command belongs to.
        phase: PhaseName,
        /// The command as written in the buildspec.
        command: String,
        /// Its exit status (128 + n when killed by signal n, as bash reports it).
        exit_code: i32,
        /// The last lines of the build log when it failed.
        log_tail: String,
    },
    /// A command exited with status 127: bash did not find a program it names.
    #[error("Phase {phase} failed: Error while executing command: {command}. Reason: command not found: {program} (exit status 127){}", with_tail(.log_tail))]
    CommandNotFound {
        /// The phase the command belongs to.
        phase: PhaseName,
        /// The command as written in the buildspec.
        command: String,
        /// The program bash could not find.
        program: String,
        /// The last lines of the build log when it failed.
        log_tail: String,
    },
    /// The phases did not finish within the job's timeout; every process was stopped.
    #[error("BUILD_TIMED_OUT: the build did not finish within {after:?}; all its processes were stopped{}", with_tail(.log_tail))]
    TimedOut {
        /// The job's timeout.
        after: Duration,
        /// The last lines of the build log.
        log_tail: String,
    },
    /// The caller stopped the build; every process was stopped.
    #[error("the build was stopped")]
    Cancelled,
    /// The buildspec's artifacts do not give the action its output artifacts.
    #[error("CLIENT_ERROR: {reason}")]
    Artifacts {
        /// The output artifact concerned.
        artifact: String,
        /// What went wrong, naming the artifact and the pattern or field.
        reason: String,
    },
    /// The machine refused a file or process operation.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, such as `start the shell`.
        action: &'static str,
        /// The file or program concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl BuildError {
    /// Whether this is a command's failure, which the phase rules handle, rather than an error
    /// that ends the build at once.
    fn is_command_failure(&self) -> bool {
        matches!(
            self,
            Self::CommandFailed { .. } | Self::CommandNotFound { .. }
        )
    }

    /// CodeBuild's "Phase context" line for a failed phase.
    fn phase_context(&self) -> String {
        match self {
            Self::CommandFailed {
                command, exit_code, ..
            } => format!(
                "COMMAND_EXECUTION_ERROR Message: Error while executing command: {command}. Reason: exit status {exit_code}"
            ),
            Self::CommandNotFound {
                command, program, ..
            } => format!(
                "COMMAND_EXECUTION_ERROR Message: Error while executing command: {command}. Reason: command not found: {program}"
            ),
            other => format!("CLIENT_ERROR Message: {other}"),
        }
    }
}

fn with_tail(log_tail: &str) -> String {
    if log_tail.is_empty() {
        String::new()
    } else {
        format!("\nLast lines of the build log:\n{log_tail}")
    }
}

fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> BuildError {
    let path = path.into();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

/// How many log lines an error carries.
const TAIL_LINES: usize = 20;

/// Runs the build: the phases in order, then — if they all succeeded — the exported variables
/// and the output artifacts.
///
/// Phase rules (CodeBuild's): a failed `install` or `pre_build` ends the build; a failed `build`
/// still runs `post_build`, with `CODEBUILD_BUILD_SUCCEEDING=0`; `on-failure: CONTINUE` lets the
/// next phases run as if the phase had succeeded, but the build still fails. A phase's `finally`
/// commands run after its `commands` whether they failed or not (stopping at the first that
/// fails). The error returned is the first failure.
///
/// The environment is, in increasing precedence: `job.inherited` (the part of the server's environment
/// that is passed on), the buildspec's `env/variables`, `job.environment`, then the runner's own
/// `CODEBUILD_SRC_DIR`, `CODEBUILD_SRC_DIR_<name>` and `CODEBUILD_BUILD_SUCCEEDING`.
///
/// `job.timeout` covers the phases; when it passes, or when `cancel` completes, every process
/// of the build gets SIGTERM, and SIGKILL once the running command has ended or the grace period
/// (`job.processes`) has passed. Copying artifacts afterwards is not interrupted, so a build never
/// leaves a half-written artifact behind an error.
pub async fn run_build(
    job: BuildJob,
    cancel: impl Future<Output = ()>,
) -> Result<BuildOutput, BuildError> {
    let primary_dir = std::path::absolute(&job.primary.dir).map_err(io_error(
        "resolve the primary source directory",
        &job.primary.dir,
    ))?;
    if !primary_dir.is_dir() {
        return Err(BuildError::Io {
            action: "use the primary source directory",
            path: primary_dir,
            source: io::Error::from(io::ErrorKind::NotFound),
        });
    }
    let spec = load_spec(&job.spec, &job.primary.name, &primary_dir)?;
    refuse_remote_variables(&spec)?;
    let shell_program = find_program(&job.shell)?;
    let log = Log::open(&job.log_path)?;

    log.line("Running on this machine with Sluice's local build runner");
    match &job.spec {
        SpecSource::File(path) => log.line(&format!(
            "YAML location is {}",
            primary_dir.join(path).display()
        )),
        SpecSource::Inline(_) => log.line("Using the buildspec given by the action"),
        SpecSource::Parsed(_) => log.line("Using the commands given by the action"),
    }
    log.line("Processing environment variables");
    let environment = initial_environment(&job, &spec, &primary_dir)?;
    log.line(&format!("Moving to directory {}", primary_dir.display()));
    log_phase_list(&log, &spec);

    let work = WorkDir::create(&job.state_dir)?;
    let group = job
        .processes
        .start_group(&shell_program)
        .map_err(io_error("start the shell", &shell_program))?;
    let stopping = Arc::new(AtomicBool::new(false));
    let mut shell = Shell::start(
        shell_program,
        environment,
        primary_dir.clone(),
        work,
        group.id(),
        stopping.clone(),
    );
    let stop = {
        let phases = run_phases(&spec, &mut shell, &log);
        tokio::pin!(phases);
        let stop = tokio::select! {
            biased;
            result = &mut phases => Stop::Finished(result),
            () = cancel => Stop::Cancelled,
            () = tokio::time::sleep(job.timeout) => Stop::TimedOut,
        };
        // Whatever happened, nothing the build started keeps running.
        match stop {
            Stop::Finished(_) => group.kill().await,
            Stop::Cancelled | Stop::TimedOut => {
                stopping.store(true, Ordering::SeqCst);
                log.line(&match stop {
                    Stop::TimedOut => format!(
                        "Build timed out after {:?}; stopping it: SIGTERM to all its processes",
                        job.timeout
                    ),
                    _ => "Build stopped: its pipeline execution was stopped or has ended; SIGTERM to all its processes".to_owned(),
                });
                let grace = job.processes.stop_grace();
                match group.stop(grace, &mut phases).await {
                    Some(_) => log.line(
                        "The running command ended; every process the build left was killed",
                    ),
                    None => log.line(&format!(
                        "Processes were still running {grace:?} after SIGTERM; all were killed (SIGKILL)"
                    )),
                }
            }
        }
        stop
    };
    let variables = shell.variables();
    drop(shell);

    match stop {
        Stop::Finished(Err(error)) => Err(error),
        Stop::Cancelled => {
            log.line("Build stopped; all its processes have ended");
            Err(BuildError::Cancelled)
        }
        Stop::TimedOut => Err(BuildError::TimedOut {
            after: job.timeout,
            log_tail: log.tail(TAIL_LINES),
        }),
        Stop::Finished(Ok(())) => {
            let exported_variables = exported_variables(&spec, &variables, &log);
            let artifacts = upload_artifacts(&spec, &job, &primary_dir, &variables, &log).await?;
            Ok(BuildOutput {
                exported_variables,
                artifacts,
            })
        }
    }
}

/// How the phases ended.
enum Stop {
    Finished(Result<(), BuildError>),
    Cancelled,
    TimedOut,
}

fn load_spec(
    source: &SpecSource,
    source_name: &str,
    primary_dir: &Path,
) -> Result<Buildspec, BuildError> {
    match source {
        SpecSource::Inline(text) => Ok(Buildspec::parse(text)?),
        SpecSource::Parsed(spec) => Ok(spec.clone()),
        SpecSource::File(relative) => {
            let path = primary_dir.join(relative);
            match fs::read_to_string(&path) {
                Ok(text) => Ok(Buildspec::parse(&text)?),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    Err(SpecError::FileNotFound {
                        path: relative.clone(),
                        source_name: source_name.to_owned(),
                    }
                    .into())
                }
                Err(error) => Err(io_error("read the buildspec", path)(error)),
            }
        }
    }
}

/// Parameter Store and Secrets Manager values would come from AWS; refusing them up front is
/// clearer than running the build with the variables silently unset.
fn refuse_remote_variables(spec: &Buildspec) -> Result<(), BuildError> {
    if !spec.env.parameter_store.is_empty() {
        return Err(BuildError::NotAvailableLocally {
            field: "env/parameter-store",
            what: "AWS Systems Manager parameters",
        });
    }
    if !spec.env.secrets_manager.is_empty() {
        return Err(BuildError::NotAvailableLocally {
            field: "env/secrets-manager",
            what: "AWS Secrets Manager secrets",
        });
    }
    Ok(())
}

/// The shell as an absolute path, looked up once in this process's `PATH`: commands may change
/// their own `PATH`, and the next command must still start.
fn find_program(program: &Path) -> Result<PathBuf, BuildError> {
    if program.components().count() > 1 {
        // Commands start in other directories; a relative path must not change meaning.
        return std::path::absolute(program).map_err(io_error("resolve the shell", program));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| BuildError::Io {
            action: "find on PATH the shell",
            path: program.to_path_buf(),
            source: io::Error::from(io::ErrorKind::NotFound),
        })
}

fn initial_environment(
    job: &BuildJob,
    spec: &Buildspec,
    primary_dir: &Path,
) -> Result<BTreeMap<OsString, OsString>, BuildError> {
    let mut env = job.inherited.clone();
    // bash sets these from the directory each command starts in.
    env.remove(OsStr::new("PWD"));
    env.remove(OsStr::new("OLDPWD"));
    env.extend(spec.env.variables.iter().map(|(k, v)| (k.into(), v.into())));
    env.extend(job.environment.iter().map(|(k, v)| (k.into(), v.into())));
    env.insert("CODEBUILD_SRC_DIR".into(), primary_dir.into());
    for source in &job.secondary {
        let dir = std::path::absolute(&source.dir).map_err(io_error(
            "resolve the secondary source directory",
            &source.dir,
        ))?;
        env.insert(
            format!("CODEBUILD_SRC_DIR_{}", source.name).into(),
            dir.into(),
        );
    }
    env.insert(SUCCEEDING.into(), "1".into());
    Ok(env)
}

const SUCCEEDING: &str = "CODEBUILD_BUILD_SUCCEEDING";

fn log_phase_list(log: &Log, spec: &Buildspec) {
    let declared: Vec<(PhaseName, &Phase)> = PhaseName::ALL
        .into_iter()
        .filter_map(|name| spec.phases.get(name).map(|phase| (name, phase)))
        .collect();
    log.line(&format!("Phases found in YAML: {}", declared.len()));
    for (name, phase) in declared {
        log.line(&format!(" {name}: {} commands", phase.commands.len()));
    }
}

async fn run_phases(spec: &Buildspec, shell: &mut Shell, log: &Log) -> Result<(), BuildError> {
    let mut first_failure = None;
    for name in PhaseName::ALL {
        if shell.is_stopping() {
            return Err(BuildError::Cancelled);
        }
        let phase = spec.phases.get(name);
        log.line(&format!("Entering phase {name}"));
        match run_phase(name, phase, shell, log).await {
            Ok(()) => {
                log.line(&format!("Phase complete: {name} State: SUCCEEDED"));
                log.line("Phase context status code:  Message: ");
            }
            Err(failure) if failure.is_command_failure() => {
                log.line(&format!("Phase complete: {name} State: FAILED"));
                log.line(&format!(
                    "Phase context status code: {}",
                    failure.phase_context()
                ));
                first_failure.get_or_insert(failure);
                let on_failure = phase.map_or(OnFailure::Abort, |phase| phase.on_failure);
                // After a failed build phase, CodeBuild still runs post_build.
                if on_failure == OnFailure::Abort && name != PhaseName::Build {
                    break;
                }
            }
            Err(error) => return Err(error),
        }
    }
    first_failure.map_or(Ok(()), Err)
}

async fn run_phase(
    name: PhaseName,
    phase: Option<&Phase>,
    shell: &mut Shell,
    log: &Log,
) -> Result<(), BuildError> {
    let Some(phase) = phase else {
        return Ok(());
    };
    if !phase.runtime_versions.is_empty() {
        let versions: Vec<String> = phase
            .runtime_versions
            .iter()
            .map(|(runtime, version)| format!("{runtime}: {version}"))
            .collect();
        log.line(&format!(
            "Ignoring runtime-versions ({}): running with the tools installed on this machine",
            versions.join(", ")
        ));
    }
    let mut failure = None;
    for command in &phase.commands {
        if let Err(error) = run_command(name, command, shell, log).await {
            failure = Some(error);
            break;
        }
    }
    for command in &phase.finally {
        if let Err(error) = run_command(name, command, shell, log).await {
            if !error.is_command_failure() {
                return Err(error);
            }
            failure.get_or_insert(error);
            break;
        }
    }
    failure.map_or(Ok(()), Err)
}

async fn run_command(
    phase: PhaseName,
    command: &str,
    shell: &mut Shell,
    log: &Log,
) -> Result<(), BuildError> {
    log.line(&format!("Running command {command}"));
    let output_start = log.len();
    let exit_code = shell.run(command, log).await?;
    if exit_code == 0 {
        return Ok(());
    }
    shell.set_succeeding(false);
    log.line(&format!(
        "Command did not exit successfully {command} exit status {exit_code}"
    ));
    let log_tail = log.tail(TAIL_LINES);
    let command = command.to_owned();
    Err(if exit_code == 127 {
        let program = missing_program(&log.text_since(output_start), &command);
        BuildError::CommandNotFound {
            phase,
            command,
            program,
            log_tail,
        }
    } else {
        BuildError::CommandFailed {
            phase,
            command,
            exit_code,
            log_tail,
        }
    })
}

/// The program bash could not find, from its message (`…: line 1: foo: command not found`,
/// `…: ./run.sh: No such file or directory`); failing that, the command's first word.
fn missing_program(output: &str, command: &str) -> String {
    let from_message = output.lines().rev().find_map(|line| {
        let rest = line
            .strip_suffix(": command not found")
            .or_else(|| line.strip_suffix(": No such file or directory"))?;
        Some(
            rest.rsplit_once(": ")
                .map_or(rest, |(_, program)| program)
                .to_owned(),
        )
    });
    from_message
        .or_else(|| command.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// CodeBuild exports only the listed variables that are set; an unset one is left out (and
/// said so in the log) rather than exported empty. Plain shell variables count as well as
/// exported ones, so `VERSION=1.2` works as it does in CodeBuild.
fn exported_variables(
    spec: &Buildspec,
    variables: &BTreeMap<String, String>,
    log: &Log,
) -> BTreeMap<String, String> {
    let mut exported = BTreeMap::new();
    for name in &spec.env.exported_variables {
        match variables.get(name) {
            Some(value) => {
                exported.insert(name.clone(), value.clone());
            }
            None => log.line(&format!(
                "env/exported-variables: {name} is not set at the end of the build; not exported"
            )),
        }
    }
    exported
}

async fn upload_artifacts(
    spec: &Buildspec,
    job: &BuildJob,
    primary_dir: &Path,
    variables: &BTreeMap<String, String>,
    log: &Log,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    if job.output_artifacts.is_empty() {
        return Ok(Vec::new());
    }
    log.line("Entering phase UPLOAD_ARTIFACTS");
    let result = collect_all(spec, job, primary_dir, variables).await;
    match &result {
        Ok(artifacts) => {
            for (name, dir) in artifacts {
                log.line(&format!(
                    "Collected output artifact {name} in {}",
                    dir.display()
                ));
            }
            log.line("Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED");
            log.line("Phase context status code:  Message: ");
        }
        Err(error) => {
            log.line("Phase complete: UPLOAD_ARTIFACTS State: FAILED");
            log.line(&format!(
                "Phase context status code: CLIENT_ERROR Message: {error}"
            ));
        }
    }
    result
}

async fn collect_all(
    spec: &Buildspec,
    job: &BuildJob,
    primary_dir: &Path,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let plan = artifacts::plan(spec.artifacts.as_ref(), &job.output_artifacts)?;
    let mut collected = Vec::with_capacity(plan.len());
    for (name, files) in plan {
        let base = artifacts::base_directory(&files, primary_dir, variables);
        let destination = job.artifacts_dir.join(&name);
        let task = {
            let (name, destination) = (name.clone(), destination.clone());
            tokio::task::spawn_blocking(move || artifacts::copy(&name, &files, &base, &destination))
        };
        task.await.map_err(|error| BuildError::Io {
            action: "collect the files of artifact",
            path: destination.clone(),
            source: io::Error::other(error),
        })??;
        collected.push((name, destination));
    }
    Ok(collected)
}

/// The artifact rules: which buildspec section makes which output artifact, and copying its
/// files.
mod artifacts {
    use super::*;
    use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
    use walkdir::WalkDir;

    /// Which buildspec section produces each declared output artifact.
    ///
    /// - One output: the top-level `artifacts` section produces it. `secondary-artifacts` are
    ///   not used — CodeBuild maps them to outputs by name only when there are several — so a
    ///   buildspec with nothing but secondary artifacts is an error.
    /// - Several outputs: an output named like a `secondary-artifacts` identifier gets that
    ///   entry (CodePipeline's rule, and the only way to say which files go where); the first
    ///   output, if no identifier matches it, gets the top-level section.
    /// - An output no section produces is an error naming it. Sections that no output asks
    ///   for are not collected.
    pub(super) fn plan(
        artifacts: Option<&Artifacts>,
        outputs: &[String],
    ) -> Result<Vec<(String, ArtifactFiles)>, BuildError> {
        let single = outputs.len() == 1;
        outputs
            .iter()
            .enumerate()
            .map(|(index, name)| {
                check_name(name)?;
                let refuse = |reason: String| BuildError::Artifacts { artifact: name.clone(), reason };
                let Some(artifacts) = artifacts else {
                    return Err(refuse(format!(
                        "output artifact {name} is declared by the action, but the buildspec has no artifacts section"
                    )));
                };
                let by_name = (!single).then(|| artifacts.secondary.get(name)).flatten();
                let primary = (index == 0).then_some(artifacts.primary.as_ref()).flatten();
                match by_name.or(primary) {
                    Some(files) => Ok((name.clone(), files.clone())),
                    None if single => Err(refuse(format!(
                        "output artifact {name} needs artifacts/files in the buildspec; secondary-artifacts are used only when the action declares several output artifacts"
                    ))),
                    None => {
                        let known: Vec<&str> = artifacts.secondary.keys().map(String::as_str).collect();
                        Err(refuse(format!(
                            "output artifact {name} is not produced by the buildspec: artifacts/secondary-artifacts has no entry named {name} (entries: {})",
                            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                        )))
                    }
                }
            })
            .collect()
    }

    /// Output names become directory names; CodePipeline allows only `[A-Za-z0-9_-]`, and
    /// anything that could leave `artifacts_dir` is refused.
    fn check_name(name: &str) -> Result<(), BuildError> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(BuildError::Artifacts {
                artifact: name.to_owned(),
                reason: format!("output artifact name {name:?} cannot name a directory"),
            });
        }
        Ok(())
    }

    /// `base-directory`, with `$NAME` and `${NAME}` taken from the build's final variables (the
    /// CodeBuild multi-source sample uses `$CODEBUILD_SRC_DIR_source2`), relative to the primary
    /// source directory.
    pub(super) fn base_directory(
        files: &ArtifactFiles,
        primary_dir: &Path,
        variables: &BTreeMap<String, String>,
    ) -> PathBuf {
        match &files.base_directory {
            Some(base) => primary_dir.join(expand(base, variables)),
            None => primary_dir.to_path_buf(),
        }
    }

    /// Expands `$NAME` and `${NAME}`; an unset name expands to nothing, as in the shell.
    pub(super) fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
        let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let (name, remainder) = if let Some(braced) = after.strip_prefix('{') {
                match braced.split_once('}') {
                    Some((name, remainder)) => (name, remainder),
                    None => ("", after),
                }
            } else {
                let end = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if name.is_empty() {
                out.push('$');
            } else if let Some(value) = variables.get(name) {
                out.push_str(value);
            }
            rest = remainder;
        }
        out.push_str(rest);
        out
    }

    /// Copies the files one artifact selects from `base` into `destination`, keeping relative
    /// paths (or not, with `discard-paths`) and permissions. Every `files` pattern must match
    /// at least one file. Symbolic links are followed for files, not for directories; a
    /// broken link is left out.
    pub(super) fn copy(
        name: &str,
        files: &ArtifactFiles,
        base: &Path,
        destination: &Path,
    ) -> Result<(), BuildError> {
        let refuse = |reason: String| BuildError::Artifacts {
            artifact: name.to_owned(),
            reason,
        };
        if !base.is_dir() {
            return Err(refuse(format!(
                "base-directory {} of output artifact {name} is not a directory",
                base.display()
            )));
        }
        let patterns: Vec<String> = files
            .files
            .iter()
            .map(|pattern| normalize(pattern, base))
            .collect();
        let include = glob_set(&patterns, "files", name)?;
        let exclude = glob_set(
            &files
                .exclude_paths
                .iter()
                .map(|pattern| normalize(pattern, base))
                .collect::<Vec<_>>(),
            "exclude-paths",
            name,
        )?;

        let mut matched = vec![false; patterns.len()];
        let mut selected = Vec::new();
        for entry in WalkDir::new(base).min_depth(1).sort_by_file_name() {
            let entry = entry.map_err(|error| {
                let path = error.path().unwrap_or(base).to_path_buf();
                io_error("read", path)(io::Error::other(error))
            })?;
            // Directories are walked into, not copied; symbolic links count as what they
            // point to, and a broken one is skipped.
            match fs::metadata(entry.path()) {
                Ok(metadata) if metadata.is_file() => {}
                _ => continue,
            }
            let Ok(relative) = entry.path().strip_prefix(base) else {
                continue;
            };
            let hits = include.matches(relative);
            if hits.is_empty() {
                continue;
            }
            for hit in hits {
                matched[hit] = true;
            }
            if !exclude.is_match(relative) {
                selected.push(relative.to_path_buf());
            }
        }
        if let Some(index) = matched.iter().position(|hit| !hit) {
            return Err(refuse(format!(
                "no matching artifact paths found for pattern {} in {} (output artifact {name})",
                files.files[index],
                base.display()
            )));
        }

        fs::create_dir_all(destination).map_err(io_error("create", destination))?;
        let mut placed: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
        for relative in selected {
            let target = if files.discard_paths {
                PathBuf::from(relative.file_name().unwrap_or(relative.as_os_str()))
            } else {
                relative.clone()
            };
            if let Some(earlier) = placed.insert(target.clone(), relative.clone()) {
                return Err(refuse(format!(
                    "discard-paths puts both {} and {} at {} in output artifact {name}",
                    earlier.display(),
                    relative.display(),
                    target.display()
                )));
            }
            let to = destination.join(&target);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io_error("create", parent))?;
            }
            // std's copy keeps the permission bits (the executable bit matters in artifacts).
            fs::copy(base.join(&relative), &to)
                .map_err(io_error("copy an artifact file to", &to))?;
        }
        Ok(())
    }

    /// `./dist/app.js` is `dist/app.js`; `dist/` and a bare directory name mean everything in it.
    fn normalize(pattern: &str, base: &Path) -> String {
        let mut pattern = pattern.trim();
        while let Some(rest) = pattern.strip_prefix("./") {
            pattern = rest;
        }
        if let Some(directory) = pattern.strip_suffix('/') {
            return format!("{directory}/**/*");
        }
        let literal = !pattern.contains(['*', '?', '[', '{']);
        if literal && !pattern.is_empty() && base.join(pattern).is_dir() {
            return format!("{pattern}/**/*");
        }
        pattern.to_owned()
    }

    /// `*` stays within one directory and `**` crosses them, as in CodeBuild's patterns.
    fn glob_set(patterns: &[String], field: &str, artifact: &str) -> Result<GlobSet, BuildError> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            let glob: Glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|error| BuildError::Artifacts {
                    artifact: artifact.to_owned(),
                    reason: format!("{field}: invalid pattern {pattern}: {}", error.kind()),
                })?;
            set.add(glob);
        }
        set.build().map_err(|error| BuildError::Artifacts {
            artifact: artifact.to_owned(),
            reason: format!("{field}: {error}"),
        })
    }
}

/// The most a build log holds: 16 MiB (docs/decisions.md, "Running pipelines"). Past it, the log keeps its
/// first [`LOG_LIMIT_BYTES`] − [`LOG_TAIL_BYTES`] and its last [`LOG_TAIL_BYTES`], with a line saying how
/// much was left out between.
pub const LOG_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// How much of the end of an over-long log is kept (in memory until the build ends).
pub const LOG_TAIL_BYTES: u64 = 1024 * 1024;

/// The build log. The commands write to a pipe that a task of this build reads into the log; these lines
/// are written by us in between, after what the commands wrote before them. See [`Capped`] for the limit.
struct Log {
    path: PathBuf,
    capped: Arc<Mutex<Capped>>,
    pipe: Arc<tokio::net::unix::pipe::Receiver>,
    /// The write end the commands get copies of.
    writer: File,
    reader: tokio::task::JoinHandle<()>,
}

/// The log file with its limit: the first bytes go to the file as they come; once the file has its head
/// (`LOG_LIMIT_BYTES - LOG_TAIL_BYTES`), the rest goes through a ring of the last `LOG_TAIL_BYTES`, and
/// when the build ends a line saying how many bytes were left out is written, then the ring.
struct Capped {
    file: File,
    /// Bytes in the file.
    written: u64,
    /// The end of the log past the head, at most `LOG_TAIL_BYTES` of it.
    ring: std::collections::VecDeque<u8>,
    /// Bytes past the head that the ring no longer holds.
    dropped: u64,
    /// Where reads from the pipe go before they are taken in.
    buffer: Vec<u8>,
}

/// What a read of the pipe found.
#[derive(PartialEq, Eq)]
enum Pipe {
    /// Nothing more for now.
    Empty,
    /// Every write end is closed, or it cannot be read.
    Closed,
}

impl Capped {
    const HEAD: u64 = LOG_LIMIT_BYTES - LOG_TAIL_BYTES;

    fn take(&mut self, mut bytes: &[u8]) {
        if self.written < Self::HEAD {
            let room = usize::try_from(Self::HEAD - self.written).unwrap_or(usize::MAX);
            let (head, rest) = bytes.split_at(bytes.len().min(room));
            // A write that fails (disk full) loses the bytes rather than failing the build: the
            // commands' own output would be lost anyway.
            let _ = (&self.file).write_all(head);
            self.written += u64::try_from(head.len()).unwrap_or(u64::MAX);
            bytes = rest;
        }
        if bytes.is_empty() {
            return;
        }
        let tail = usize::try_from(LOG_TAIL_BYTES).unwrap_or(usize::MAX);
        if bytes.len() >= tail {
            let skipped = bytes.len() - tail + self.ring.len();
            self.dropped += u64::try_from(skipped).unwrap_or(u64::MAX);
            self.ring.clear();
            self.ring.extend(&bytes[bytes.len() - tail..]);
            return;
        }
        let over = (self.ring.len() + bytes.len()).saturating_sub(tail);
        self.ring.drain(..over);
        self.dropped += u64::try_from(over).unwrap_or(u64::MAX);
        self.ring.extend(bytes);
    }

    /// Takes in what the pipe holds now.
    fn drain(&mut self, pipe: &tokio::net::unix::pipe::Receiver) -> Pipe {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.resize(64 * 1024, 0);
        let found = loop {
            match pipe.try_read(&mut buffer) {
                Ok(0) => break Pipe::Closed,
                Ok(n) => self.take(&buffer[..n]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break Pipe::Empty,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break Pipe::Closed,
            }
        };
        self.buffer = buffer;
        found
    }

    /// Every byte the log was given.
    fn len(&self) -> u64 {
        self.written + self.dropped + u64::try_from(self.ring.len()).unwrap_or(u64::MAX)
    }

    /// The last `count` bytes the log was given (fewer if the log is shorter or they were left out).
    fn last(&self, count: usize) -> Vec<u8> {
        let from_ring = count.min(self.ring.len());
        let mut out = Vec::with_capacity(count);
        if from_ring < count && self.dropped == 0 {
            // The rest is the end of the file: the ring follows it with nothing left out between.
            let wanted = u64::try_from(count - from_ring).unwrap_or(u64::MAX);
            let start = self.written.saturating_sub(wanted);
            let mut file = &self.file;
            if file.seek(SeekFrom::Start(start)).is_ok() {
                let _ = file.take(wanted).read_to_end(&mut out);
            }
        }
        out.extend(self.ring.range(self.ring.len() - from_ring..));
        out
    }

    /// Writes what the ring holds after the head, saying how much was left out before it.
    fn finish(&mut self) {
        if self.ring.is_empty() {
            return;
        }
        let mut ring: Vec<u8> = self.ring.drain(..).collect();
        if self.dropped > 0 {
            // The kept end starts at a whole line when one begins in its first 64 KiB.
            let skip = ring
                .iter()
                .take(64 * 1024)
                .position(|&b| b == b'\n')
                .map_or(0, |newline| newline + 1);
            ring.drain(..skip);
            self.dropped += u64::try_from(skip).unwrap_or(u64::MAX);
            let mut marker = Vec::new();
            if self.written > 0 && !self.last(1).ends_with(b"\n") {
                marker.push(b'\n');
            }
            marker.extend_from_slice(
                container_line(&format!(
                    "Sluice left out {} bytes of output here: a build log keeps its first {} MiB and its last {} MiB",
                    self.dropped,
                    Self::HEAD / (1024 * 1024),
                    LOG_TAIL_BYTES / (1024 * 1024)
                ))
                .as_bytes(),
            );
            let _ = (&self.file).write_all(&marker);
        }
        let _ = (&self.file).write_all(&ring);
    }
}

/// `[Container] <UTC time> <message>` and a newline.
fn container_line(message: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "[Container] {:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06} {message}\n",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.microsecond()
    )
}

impl Log {
    fn open(path: &Path) -> Result<Log, BuildError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            fs::create_dir_all(parent).map_err(io_error("create the log directory", parent))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io_error("open the build log", path))?;
        let written = file.metadata().map_or(0, |metadata| metadata.len());
        let cannot_pipe = || io_error("make the pipe of the build log for", path);
        let (sender, receiver) = tokio::net::unix::pipe::pipe().map_err(cannot_pipe())?;
        let writer = File::from(sender.into_blocking_fd().map_err(cannot_pipe())?);
        let capped = Arc::new(Mutex::new(Capped {
            file,
            written,
            ring: std::collections::VecDeque::new(),
            dropped: 0,
            buffer: Vec::new(),
        }));
        let pipe = Arc::new(receiver);
        // Reads while the commands write, so a full pipe never stalls them; what it takes and what
        // `line` writes are in the order they were written, as both hold the lock while reading.
        let reader = tokio::spawn({
            let (capped, pipe) = (capped.clone(), pipe.clone());
            async move {
                while pipe.readable().await.is_ok() {
                    if lock(&capped).drain(&pipe) == Pipe::Closed {
                        return;
                    }
                }
            }
        });
        Ok(Log {
            path: path.to_path_buf(),
            capped,
            pipe,
            writer,
            reader,
        })
    }

    /// The log with what the commands have written so far taken in.
    fn current(&self) -> std::sync::MutexGuard<'_, Capped> {
        let mut capped = lock(&self.capped);
        capped.drain(&self.pipe);
        capped
    }

    /// Appends `[Container] <UTC time> <message>`, after all the commands wrote before.
    fn line(&self, message: &str) {
        self.current().take(container_line(message).as_bytes());
    }

    /// A handle the commands write their stdout or stderr to.
    fn output(&self) -> Result<Stdio, BuildError> {
        let handle = self
            .writer
            .try_clone()
            .map_err(io_error("share the build log", &self.path))?;
        Ok(Stdio::from(handle))
    }

    /// Every byte the log was given so far, including any left out.
    fn len(&self) -> u64 {
        self.current().len()
    }

    /// The last `lines` lines, read from at most the last 64 KiB.
    fn tail(&self, lines: usize) -> String {
        let text = self.text_since(self.len().saturating_sub(64 * 1024));
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The log from `offset` on, at most its last 64 KiB.
    fn text_since(&self, offset: u64) -> String {
        let capped = self.current();
        let wanted = capped.len().saturating_sub(offset).min(64 * 1024);
        let bytes = capped.last(usize::try_from(wanted).unwrap_or(0));
        // A cut into the log may fall inside a character: start at the next one.
        let first = if capped.len() > u64::try_from(bytes.len()).unwrap_or(u64::MAX) {
            bytes
                .iter()
                .take(3)
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count()
        } else {
            0
        };
        String::from_utf8_lossy(&bytes[first..]).into_owned()
    }
}

/// Takes the rest of what the commands wrote and writes the end of an over-long log. Processes still
/// holding the pipe (only one that left the build's process group can) get EPIPE from here on.
impl Drop for Log {
    fn drop(&mut self) {
        self.reader.abort();
        self.current().finish();
    }
}

fn lock(capped: &Mutex<Capped>) -> std::sync::MutexGuard<'_, Capped> {
    capped
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The bash script each command runs in; see the module documentation.
const SESSION_SCRIPT: &str = r#"# Sluice: runs one buildspec command, continuing the shell state of the previous one.
# $1: the state directory; $2: the file holding the command.
__sluice_state=$1
__sluice_command=$2
shift 2
if [[ -f $__sluice_state/shell.sh ]]; then
    . "$__sluice_state/shell.sh"
fi

# Exported variables to env.next (name=value, NUL-separated), other variables and functions to
# shell.next.sh (declare statements) with their scalar values to vars.next, and the working
# directory to cwd.next, written last so that its presence means the rest is complete.
__sluice_save() {
    local __sluice_name __sluice_attributes
    local -a __sluice_names
    # Through a file rather than `< <(…)`: a builtin writing to a file needs no fork, and a
    # build runs this after every command.
    builtin compgen -v >"$__sluice_state/names"
    builtin mapfile -t __sluice_names <"$__sluice_state/names"
    {
        for __sluice_name in "${__sluice_names[@]}"; do
            case $__sluice_name in
                __sluice_* | BASH | BASH_* | BASHOPTS | BASHPID | SHELLOPTS | SHLVL | PPID | UID \
                | EUID | GROUPS | RANDOM | SRANDOM | SECONDS | LINENO | EPOCHSECONDS \
                | EPOCHREALTIME | FUNCNAME | PIPESTATUS | HISTCMD | DIRSTACK | COMP_* | OPTIND \
                | OPTARG | OPTERR | IFS | PWD | OLDPWD | HOSTNAME | HOSTTYPE | MACHTYPE | OSTYPE \
                | PS1 | PS2 | PS4 | _ | CODEBUILD_BUILD_SUCCEEDING) continue ;;
            esac
            __sluice_attributes=${!__sluice_name@a}
            case $__sluice_attributes in
                *x*)
                    [[ -v $__sluice_name ]] \
                        && builtin printf '%s=%s\0' "$__sluice_name" "${!__sluice_name}" >&3 ;;
                *[aA]*) builtin declare -p -- "$__sluice_name" ;;
                *)
                    builtin declare -p -- "$__sluice_name"
                    [[ -v $__sluice_name ]] \
                        && builtin printf '%s=%s\0' "$__sluice_name" "${!__sluice_name}" >&4 ;;
            esac
        done
        builtin compgen -A function >"$__sluice_state/names"
        builtin mapfile -t __sluice_names <"$__sluice_state/names"
        for __sluice_name in "${__sluice_names[@]}"; do
            [[ $__sluice_name == __sluice_* ]] || builtin declare -f -- "$__sluice_name"
        done
    } >"$__sluice_state/shell.next.sh" 3>"$__sluice_state/env.next" 4>"$__sluice_state/vars.next"
    builtin printf '%s' "$PWD" >"$__sluice_state/cwd.next"
    __sluice_saved=1
}

# On `exit` inside the command, or when `set -e` ends it. Options the command set must not
# trace or break the saving.
trap '{ __sluice_status=$?; set +euvxC; } 2>/dev/null; [[ -n $__sluice_saved ]] || __sluice_save; builtin exit "$__sluice_status"' EXIT

. "$__sluice_command"
{ __sluice_status=$?; set +euvxC; } 2>/dev/null
__sluice_save
builtin exit "$__sluice_status"
"#;

/// The shell session: the state carried from one command to the next, and the process group
/// they all run in.
struct Shell {
    program: PathBuf,
    work: WorkDir,
    /// The exported variables the next command starts with.
    env: BTreeMap<OsString, OsString>,
    /// Variables bash cannot hold (names like `a-b`): passed to every command unchanged, since
    /// no command can change them.
    fixed: BTreeMap<OsString, OsString>,
    /// Shell variables that are not exported, with their values.
    plain: BTreeMap<String, String>,
    succeeding: bool,
    cwd: PathBuf,
    primary_dir: PathBuf,
    /// The process group every command runs in.
    group: i32,
    /// Set when the build is being stopped: no further command starts.
    stopping: Arc<AtomicBool>,
}

impl Shell {
    fn start(
        program: PathBuf,
        env: BTreeMap<OsString, OsString>,
        primary_dir: PathBuf,
        work: WorkDir,
        group: i32,
        stopping: Arc<AtomicBool>,
    ) -> Shell {
        let fixed = env
            .iter()
            .filter(|(name, _)| !is_shell_name(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Shell {
            program,
            work,
            env,
            fixed,
            plain: BTreeMap::new(),
            succeeding: true,
            cwd: primary_dir.clone(),
            primary_dir,
            group,
            stopping,
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn set_succeeding(&mut self, succeeding: bool) {
        self.succeeding = succeeding;
    }

    /// Runs one command to its end and returns its exit status.
    async fn run(&mut self, command: &str, log: &Log) -> Result<i32, BuildError> {
        if self.is_stopping() {
            return Err(BuildError::Cancelled);
        }
        let command_file = self.work.path("command.sh");
        fs::write(&command_file, command).map_err(io_error("write", &command_file))?;
        for name in ["env.next", "vars.next", "shell.next.sh", "cwd.next"] {
            let path = self.work.path(name);
            match fs::remove_file(&path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("remove", path)(error));
                }
                _ => {}
            }
        }
        if !self.cwd.is_dir() {
            log.line(&format!(
                "Directory {} no longer exists; the next command starts in {}",
                self.cwd.display(),
                self.primary_dir.display()
            ));
            self.cwd = self.primary_dir.clone();
        }
        let mut child = Command::new(&self.program)
            .arg(self.work.path("session.sh"))
            .arg(&self.work.dir)
            .arg(&command_file)
            .env_clear()
            .envs(&self.env)
            .envs(&self.fixed)
            .env(SUCCEEDING, if self.succeeding { "1" } else { "0" })
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(log.output()?)
            .stderr(log.output()?)
            .process_group(self.group)
            .kill_on_drop(true)
            .spawn()
            .map_err(io_error("start the shell", &self.program))?;
        let status = child
            .wait()
            .await
            .map_err(io_error("wait for the shell", &self.program))?;
        self.load_state()?;
        Ok(status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
    }

    /// Takes the state the command saved. A command that ended without saving (it `exec`ed
    /// another program, or was killed) leaves the state as it was before it.
    fn load_state(&mut self) -> Result<(), BuildError> {
        let Ok(cwd) = fs::read(self.work.path("cwd.next")) else {
            return Ok(());
        };
        self.env = self.read_pairs("env.next")?;
        self.plain = self
            .read_pairs("vars.next")?
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_string_lossy().into_owned(),
                    value.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let shell_next = self.work.path("shell.next.sh");
        fs::rename(&shell_next, self.work.path("shell.sh"))
            .map_err(io_error("keep", &shell_next))?;
        self.cwd = PathBuf::from(OsString::from_vec(cwd));
        Ok(())
    }

    /// `name=value` pairs, NUL-separated, as the session script writes them.
    fn read_pairs(&self, name: &str) -> Result<BTreeMap<OsString, OsString>, BuildError> {
        let path = self.work.path(name);
        let bytes = fs::read(&path).map_err(io_error("read", &path))?;
        Ok(bytes
            .split(|byte| *byte == 0)
            .filter_map(|pair| {
                let equals = pair.iter().position(|byte| *byte == b'=')?;
                Some((
                    OsString::from_vec(pair[..equals].to_vec()),
                    OsString::from_vec(pair[equals + 1..].to_vec()),
                ))
            })
            .collect())
    }

    /// Every variable set at this point, exported or not, as text.
    fn variables(&self) -> BTreeMap<String, String> {
        let mut variables = self.plain.clone();
        for (name, value) in self.env.iter().chain(&self.fixed) {
            variables.insert(
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            );
        }
        variables.insert(
            SUCCEEDING.to_owned(),
            if self.succeeding { "1" } else { "0" }.to_owned(),
        );
        variables
    }
}

/// A name bash can hold as a variable: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_shell_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest
                    .iter()
                    .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        }
        None => false,
    }
}

/// The private directory (0700) of the session script and the saved shell state, removed with the
/// build.
struct WorkDir {
    dir: PathBuf,
}

impl WorkDir {
    /// Creates `dir` afresh: what an earlier, interrupted build of the same action left is removed.
    fn create(dir: &Path) -> Result<WorkDir, BuildError> {
        match fs::remove_dir_all(dir) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(io_error("remove the earlier state directory", dir)(error));
            }
            _ => {}
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("create the state directory", dir))?;
        let work = WorkDir {
            dir: dir.to_path_buf(),
        };
        let script = work.path("session.sh");
        fs::write(&script, SESSION_SCRIPT).map_err(io_error("write", &script))?;
        Ok(work)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::spec::ArtifactFiles;

    fn capped(file: File) -> Capped {
        Capped {
            file,
            written: 0,
            ring: std::collections::VecDeque::new(),
            dropped: 0,
            buffer: Vec::new(),
        }
    }

    #[test]
    fn a_log_within_the_limit_is_kept_whole() {
        let file = tempfile::tempfile().unwrap();
        let mut log = capped(file.try_clone().unwrap());
        let text = "line\n".repeat(1000);
        log.take(text.as_bytes());
        log.finish();
        assert_eq!(fs_len(&file), u64::try_from(text.len()).unwrap());
        assert_eq!(log.last(5), b"line\n");
    }

    fn fs_len(file: &File) -> u64 {
        file.metadata().unwrap().len()
    }

    fn contents(mut file: &File) -> Vec<u8> {
        let mut out = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn past_the_limit_the_head_and_the_last_mib_are_kept_and_what_was_left_out_adds_up() {
        for chunk in [1000, 64 * 1024, 3 * 1024 * 1024] {
            let file = tempfile::tempfile().unwrap();
            let mut log = capped(file.try_clone().unwrap());
            // 42 MB of numbered 21-byte lines (so the head ends inside one), in chunks of `chunk` bytes.
            let text: Vec<u8> = (0..2_000_000)
                .flat_map(|i| format!("line {i:>15}\n").into_bytes())
                .collect();
            for piece in text.chunks(chunk) {
                log.take(piece);
            }
            assert_eq!(log.len(), u64::try_from(text.len()).unwrap());
            assert_eq!(log.last(21), b"line         1999999\n");
            log.finish();
            let kept = contents(&file);
            assert!(
                u64::try_from(kept.len()).unwrap() <= LOG_LIMIT_BYTES + 256,
                "{}",
                kept.len()
            );
            let head = usize::try_from(Capped::HEAD).unwrap();
            assert_eq!(kept[..head], text[..head], "the head is the beginning");
            let kept_text = String::from_utf8_lossy(&kept);
            let (before, after) = kept_text.split_once("[Container] ").unwrap();
            let (marker, tail) = after.split_once('\n').unwrap();
            assert_eq!(before.len(), head + 1, "a newline ends the cut line");
            assert!(before.ends_with('\n'));
            assert!(marker.contains("a build log keeps its first 15 MiB and its last 1 MiB"));
            let left_out: u64 = marker
                .split("Sluice left out ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{marker}"));
            assert!(text.ends_with(tail.as_bytes()), "the tail is the end");
            assert!(tail.starts_with("line "), "the tail starts at a whole line");
            assert!(tail.len() > 1024 * 1024 - 64, "{}", tail.len());
            assert_eq!(
                u64::try_from(head + tail.len()).unwrap() + left_out,
                u64::try_from(text.len()).unwrap(),
                "kept and left out add up (chunks of {chunk})"
            );
        }
    }

    fn files(patterns: &[&str]) -> ArtifactFiles {
        ArtifactFiles {
            files: patterns.iter().map(|p| (*p).to_owned()).collect(),
            ..ArtifactFiles::default()
        }
    }

    fn outputs(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn bash_names_the_missing_program() {
        let output = "/tmp/x/command.sh: line 1: terraform: command not found\n";
        assert_eq!(missing_program(output, "terraform plan"), "terraform");
        let output = "/tmp/x/command.sh: line 1: ./deploy.sh: No such file or directory\n";
        assert_eq!(missing_program(output, "./deploy.sh prod"), "./deploy.sh");
        assert_eq!(missing_program("", "make all"), "make");
    }

    #[test]
    fn base_directory_expands_variables_like_the_shell() {
        let variables: BTreeMap<String, String> = [("SRC".to_owned(), "/src".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(artifacts::expand("$SRC/dist", &variables), "/src/dist");
        assert_eq!(artifacts::expand("${SRC}dist", &variables), "/srcdist");
        assert_eq!(artifacts::expand("$UNSET/dist", &variables), "/dist");
        assert_eq!(artifacts::expand("cost$", &variables), "cost$");
    }

    #[test]
    fn a_single_output_comes_from_the_top_level_section() {
        let spec = Artifacts {
            primary: Some(files(&["a"])),
            secondary: BTreeMap::new(),
        };
        let plan = artifacts::plan(Some(&spec), &outputs(&["Out"])).expect("planned");
        assert_eq!(plan, vec![("Out".to_owned(), files(&["a"]))]);
    }

    #[test]
    fn a_single_output_is_not_taken_from_secondary_artifacts() {
        let spec = Artifacts {
            primary: None,
            secondary: [("Out".to_owned(), files(&["a"]))].into_iter().collect(),
        };
        let error = artifacts::plan(Some(&spec), &outputs(&["Out"])).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("secondary-artifacts are used only"),
            "{error}"
        );
    }

    #[test]
    fn several_outputs_match_identifiers_and_the_first_falls_back_to_the_top_level() {
        let spec = Artifacts {
            primary: Some(files(&["all"])),
            secondary: [("Docs".to_owned(), files(&["docs"]))]
                .into_iter()
                .collect(),
        };
        let plan = artifacts::plan(Some(&spec), &outputs(&["App", "Docs"])).expect("planned");
        assert_eq!(
            plan,
            vec![
                ("App".to_owned(), files(&["all"])),
                ("Docs".to_owned(), files(&["docs"]))
            ]
        );
        let error = artifacts::plan(Some(&spec), &outputs(&["App", "Site"])).expect_err("refused");
        assert!(
            error.to_string().contains("output artifact Site"),
            "{error}"
        );
    }

    #[test]
    fn output_names_cannot_leave_the_artifacts_directory() {
        let spec = Artifacts {
            primary: Some(files(&["a"])),
            secondary: BTreeMap::new(),
        };
        assert!(artifacts::plan(Some(&spec), &outputs(&[".."])).is_err());
    }
}
