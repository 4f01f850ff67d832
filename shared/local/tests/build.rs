//! The local buildspec runner, with real bash in temporary directories.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_local::build::{
    BuildError, BuildJob, BuildOutput, Buildspec, InputSource, PhaseName, SpecError, SpecSource,
    run_build,
};
use sluice_local::process::Processes;
use tempfile::TempDir;

/// A primary source directory, a log and an artifacts directory in one temporary directory.
struct Workspace {
    root: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let workspace = Workspace {
            root: tempfile::tempdir().expect("temporary directory"),
        };
        fs::create_dir_all(workspace.src()).expect("source directory");
        workspace
    }

    fn src(&self) -> PathBuf {
        self.root.path().join("src")
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.src().join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("directories");
        fs::write(&path, text).expect("file");
        path
    }

    fn log(&self) -> String {
        fs::read_to_string(self.root.path().join("build.log")).unwrap_or_default()
    }

    fn out(&self, artifact: &str) -> PathBuf {
        self.root.path().join("out").join(artifact)
    }

    fn job(&self, buildspec: &str) -> BuildJob {
        BuildJob {
            spec: SpecSource::Inline(buildspec.to_owned()),
            primary: InputSource {
                name: "SourceOutput".to_owned(),
                dir: self.src(),
            },
            secondary: Vec::new(),
            inherited: sluice_local::environment::passed_from_server(&[]),
            environment: Vec::new(),
            output_artifacts: Vec::new(),
            artifacts_dir: self.root.path().join("out"),
            timeout: Duration::from_secs(60),
            log_path: self.root.path().join("build.log"),
            shell: PathBuf::from("bash"),
            state_dir: self.root.path().join("work").join("shell"),
            processes: Processes::unrecorded(),
        }
    }

    async fn run(&self, buildspec: &str) -> Result<BuildOutput, BuildError> {
        run_build(self.job(buildspec), std::future::pending()).await
    }
}

/// Files under `dir`, as sorted relative paths.
fn listing(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            entry
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).expect("readable file")
}

/// Whether a process is gone or a zombie, waiting (at most ~5 s) for SIGKILL to take effect.
async fn process_ended(pid: &str) -> bool {
    for _ in 0..250 {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            // The state follows the parenthesised command name.
            Ok(stat)
                if stat
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

#[test]
fn invalid_buildspecs_are_refused_naming_the_field_and_the_rule() {
    let cases = [
        (
            "version: 0.1\nphases: {}\n",
            "YAML_FILE_ERROR: version: only version 0.2 is supported, found 0.1",
        ),
        ("phases: {}\n", "YAML_FILE_ERROR: version: required"),
        (
            "version: 0.2\nphases:\n  build:\n    commands: make\n",
            "YAML_FILE_ERROR: phases/build/commands: expected a list of strings",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
            "YAML_FILE_ERROR: phases/build/commands: expected a list of strings; item 1 is a mapping",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2\n    commands: [make]\n",
            "YAML_FILE_ERROR: phases/build/on-failure: RETRY-2 is not supported",
        ),
        (
            "version: 0.2\nphases:\n  install:\n    on-failure: IGNORE\n",
            "YAML_FILE_ERROR: phases/install/on-failure: expected ABORT or CONTINUE, found IGNORE",
        ),
        (
            "version: 0.2\nenv:\n  shell: sh\nphases: {}\n",
            "YAML_FILE_ERROR: env/shell: only bash is supported",
        ),
        (
            "version: 0.2\nrun-as: root\nphases: {}\n",
            "YAML_FILE_ERROR: run-as: not supported when running locally",
        ),
        (
            "version: 0.2\nphases: {}\nstages: {}\n",
            "YAML_FILE_ERROR: stages: unknown key",
        ),
        (
            "version: 0.2\nphases:\n  deploy:\n    commands: [make]\n",
            "YAML_FILE_ERROR: phases/deploy: unknown phase",
        ),
        (
            "version: 0.2\nenv:\n  variables:\n    A: [1]\nphases: {}\n",
            "YAML_FILE_ERROR: env/variables/A: expected a string",
        ),
        (
            "version: 0.2\nphases: {}\nartifacts:\n  name: app\n",
            "YAML_FILE_ERROR: artifacts/files: required",
        ),
        (
            "version: 0.2\nphases: {}\nartifacts:\n  files: ['**/*']\n  discard-paths: maybe\n",
            "YAML_FILE_ERROR: artifacts/discard-paths: expected yes or no",
        ),
        (
            "version: 0.2\nphases:\n  build:\n  commands: [a\n",
            "YAML_FILE_ERROR: invalid YAML at line 5 column 1: did not find expected ',' or ']', while parsing",
        ),
    ];
    for (text, expected) in cases {
        let error = Buildspec::parse(text).expect_err(text);
        assert!(
            error.to_string().starts_with(expected),
            "{text:?}\n  gave: {error}\n  want: {expected}"
        );
    }
}

#[test]
fn a_full_buildspec_parses_with_its_ignored_sections() {
    let spec = Buildspec::parse(
        r#"
version: "0.2"
env:
  shell: bash
  git-credential-helper: yes
  variables: { STAGE: prod, RETRIES: 3 }
  exported-variables: [IMAGE_TAG]
phases:
  install:
    runtime-versions: { nodejs: 20 }
  build:
    on-failure: CONTINUE
    commands:
      - npm ci
      - true
    finally:
      - echo done
artifacts:
  files: ['dist/**/*']
  base-directory: app
  discard-paths: yes
  exclude-paths: ['**/*.map']
  name: site
  secondary-artifacts:
    Docs: { files: ['docs/**/*'] }
reports: { junit: { files: ['*.xml'] } }
cache: { paths: ['/root/.npm/**/*'] }
"#,
    )
    .expect("valid buildspec");
    assert_eq!(
        spec.env.variables.get("RETRIES").map(String::as_str),
        Some("3")
    );
    let build = spec.phases.build.as_ref().expect("build phase");
    assert_eq!(build.commands, ["npm ci", "true"]);
    assert_eq!(build.finally, ["echo done"]);
    let artifacts = spec.artifacts.as_ref().expect("artifacts");
    let primary = artifacts.primary.as_ref().expect("primary artifact");
    assert!(primary.discard_paths);
    assert_eq!(primary.base_directory.as_deref(), Some("app"));
    assert!(artifacts.secondary.contains_key("Docs"));
}

#[tokio::test]
async fn a_missing_buildspec_file_names_the_path_and_the_primary_source() {
    let workspace = Workspace::new();
    let mut job = workspace.job("");
    job.spec = SpecSource::File("ci/buildspec.yml".to_owned());
    let error = run_build(job, std::future::pending())
        .await
        .expect_err("no buildspec");
    assert!(
        matches!(error, BuildError::Spec(SpecError::FileNotFound { .. })),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "YAML_FILE_ERROR: ci/buildspec.yml not found in the primary source SourceOutput"
    );
}

#[tokio::test]
async fn a_buildspec_file_in_the_primary_source_is_read_from_there() {
    let workspace = Workspace::new();
    workspace.write(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo from-file > marker\n",
    );
    let mut job = workspace.job("");
    job.spec = SpecSource::File("buildspec.yml".to_owned());
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(read(workspace.src().join("marker")), "from-file\n");
}

#[tokio::test]
async fn exports_variables_functions_and_cd_carry_over_between_commands_and_phases() {
    let workspace = Workspace::new();
    fs::create_dir_all(workspace.src().join("app")).expect("app directory");
    workspace
        .run(
            r#"
version: 0.2
phases:
  install:
    commands:
      - export EXPORTED=one
      - PLAIN="two words"
      - greet() { echo "hello $1"; }
      - cd app
      - export GONE=x
  build:
    commands:
      - unset GONE
      - echo "$EXPORTED|$PLAIN|$(greet you)|$(basename "$PWD")|${GONE-unset}" > seen
      - bash -c 'echo "$EXPORTED|${PLAIN-not exported}"' > child
"#,
        )
        .await
        .expect("build succeeds");
    assert_eq!(
        read(workspace.src().join("app/seen")),
        "one|two words|hello you|app|unset\n"
    );
    assert_eq!(
        read(workspace.src().join("app/child")),
        "one|not exported\n"
    );
}

#[tokio::test]
async fn action_variables_override_buildspec_variables_which_override_the_inherited_environment() {
    let workspace = Workspace::new();
    let mut job = workspace.job(
        r#"
version: 0.2
env:
  variables:
    STAGE: from-buildspec
    REGION: eu-west-1
phases:
  build:
    commands:
      - echo "$STAGE $REGION $CODEBUILD_BUILD_SUCCEEDING ${HOME:+has-home} $CODEBUILD_SRC_DIR" > env
"#,
    );
    job.inherited
        .insert("REGION".into(), "from-the-server".into());
    job.environment = vec![("STAGE".to_owned(), "from-action".to_owned())];
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(
        read(workspace.src().join("env")),
        format!(
            "from-action eu-west-1 1 has-home {}\n",
            workspace.src().display()
        )
    );
}

#[tokio::test]
async fn the_build_sees_only_the_environment_it_inherits_not_this_processs() {
    let workspace = Workspace::new();
    let mut job = workspace.job(
        r#"
version: 0.2
phases:
  build:
    commands:
      - env | sort > env
"#,
    );
    // This test process has cargo's variables (CARGO_MANIFEST_DIR, …) in its environment.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    job.inherited = sluice_local::environment::passed(
        [
            ("PATH".into(), std::env::var_os("PATH").unwrap()),
            ("PASSED_ON".into(), "yes".into()),
            ("NOT_NAMED".into(), "no".into()),
        ],
        &["PASSED_ON".to_owned()],
    );
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    let env = read(workspace.src().join("env"));
    let names: Vec<&str> = env
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            !name.starts_with("CODEBUILD_") && !["PWD", "SHLVL", "_", "OLDPWD"].contains(name)
        })
        .collect();
    assert_eq!(names, ["PASSED_ON", "PATH"], "{env}");
}

#[tokio::test]
async fn secondary_sources_are_named_in_codebuild_src_dir_variables() {
    let workspace = Workspace::new();
    let other = workspace.root.path().join("other");
    fs::create_dir_all(&other).expect("secondary source");
    fs::write(other.join("lib.txt"), "library\n").expect("file");
    let mut job = workspace.job(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - cp \"$CODEBUILD_SRC_DIR_Lib/lib.txt\" .\n",
    );
    job.secondary = vec![InputSource {
        name: "Lib".to_owned(),
        dir: other,
    }];
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(read(workspace.src().join("lib.txt")), "library\n");
}

#[tokio::test]
async fn a_failed_build_phase_still_runs_post_build_and_fails_with_its_exit_status_and_log() {
    let workspace = Workspace::new();
    let error = workspace
        .run(
            r#"
version: 0.2
phases:
  build:
    commands:
      - echo compiling; echo broken >&2; exit 3
      - echo never > never
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING" > post
"#,
        )
        .await
        .expect_err("build fails");
    let BuildError::CommandFailed {
        phase,
        command,
        exit_code,
        log_tail,
    } = &error
    else {
        panic!("expected CommandFailed, got {error:?}");
    };
    assert_eq!(
        (*phase, command.as_str(), *exit_code),
        (
            PhaseName::Build,
            "echo compiling; echo broken >&2; exit 3",
            3
        )
    );
    assert!(log_tail.contains("compiling\nbroken"), "{log_tail}");
    assert!(
        error.to_string().starts_with(
            "Phase BUILD failed: Error while executing command: echo compiling; echo broken >&2; exit 3. Reason: exit status 3\n"
        ),
        "{error}"
    );
    assert!(!workspace.src().join("never").exists());
    assert_eq!(read(workspace.src().join("post")), "succeeding=0\n");
    let log = workspace.log();
    assert!(log.contains("Phase complete: BUILD State: FAILED"), "{log}");
    assert!(
        log.contains("Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: echo compiling; echo broken >&2; exit 3. Reason: exit status 3"),
        "{log}"
    );
    assert!(
        log.contains("Phase complete: POST_BUILD State: SUCCEEDED"),
        "{log}"
    );
}

#[tokio::test]
async fn a_failed_install_skips_every_later_phase() {
    let workspace = Workspace::new();
    let error = workspace
        .run(
            r#"
version: 0.2
phases:
  install:
    commands: [ "false" ]
  pre_build:
    commands: [ "touch pre" ]
  build:
    commands: [ "touch build" ]
  post_build:
    commands: [ "touch post" ]
"#,
        )
        .await
        .expect_err("build fails");
    assert!(
        matches!(
            error,
            BuildError::CommandFailed {
                phase: PhaseName::Install,
                exit_code: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(listing(&workspace.src()), Vec::<String>::new());
    assert!(!workspace.log().contains("Entering phase PRE_BUILD"));
}

#[tokio::test]
async fn on_failure_continue_runs_the_next_phases_but_the_build_still_fails() {
    let workspace = Workspace::new();
    let error = workspace
        .run(
            r#"
version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands: [ "exit 4" ]
  build:
    commands: [ "echo $CODEBUILD_BUILD_SUCCEEDING > build" ]
"#,
        )
        .await
        .expect_err("build fails");
    assert!(
        matches!(
            error,
            BuildError::CommandFailed {
                phase: PhaseName::PreBuild,
                exit_code: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(read(workspace.src().join("build")), "0\n");
}

#[tokio::test]
async fn finally_commands_run_after_a_failed_command_and_the_remaining_commands_do_not() {
    let workspace = Workspace::new();
    let error = workspace
        .run(
            r#"
version: 0.2
phases:
  pre_build:
    commands:
      - export STEP=failed-here
      - "false"
      - touch skipped
    finally:
      - echo "$STEP" > cleanup
"#,
        )
        .await
        .expect_err("build fails");
    assert!(
        matches!(
            error,
            BuildError::CommandFailed {
                phase: PhaseName::PreBuild,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(read(workspace.src().join("cleanup")), "failed-here\n");
    assert!(!workspace.src().join("skipped").exists());
}

#[tokio::test]
async fn a_multi_line_block_is_one_command_whose_status_is_its_last() {
    let workspace = Workspace::new();
    workspace
        .run("version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        false\n        echo recovered > block\n")
        .await
        .expect("the block's last command succeeded");
    assert_eq!(read(workspace.src().join("block")), "recovered\n");
    let error = workspace
        .run("version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        true\n        exit 7\n")
        .await
        .expect_err("the block's last command failed");
    assert!(
        matches!(error, BuildError::CommandFailed { exit_code: 7, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_missing_program_is_named_as_command_not_found() {
    let workspace = Workspace::new();
    let error = workspace
        .run("version: 0.2\nphases:\n  build:\n    commands:\n      - no-such-tool-xyz --version\n")
        .await
        .expect_err("build fails");
    let BuildError::CommandNotFound { program, .. } = &error else {
        panic!("expected CommandNotFound, got {error:?}");
    };
    assert_eq!(program, "no-such-tool-xyz");
    assert!(
        error
            .to_string()
            .contains("Reason: command not found: no-such-tool-xyz (exit status 127)"),
        "{error}"
    );
}

#[tokio::test]
async fn exported_variables_are_read_at_the_end_and_unset_ones_are_left_out() {
    let workspace = Workspace::new();
    let output = workspace
        .run(
            r#"
version: 0.2
env:
  exported-variables: [IMAGE_TAG, COMMIT, NEVER_SET]
phases:
  build:
    commands:
      - export IMAGE_TAG=v1
      - COMMIT=abc123
  post_build:
    commands:
      - IMAGE_TAG="$IMAGE_TAG-final"
"#,
        )
        .await
        .expect("build succeeds");
    let expected: BTreeMap<String, String> = [("COMMIT", "abc123"), ("IMAGE_TAG", "v1-final")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    assert_eq!(output.exported_variables, expected);
}

#[tokio::test]
async fn parameter_store_variables_are_refused_locally() {
    let workspace = Workspace::new();
    let error = workspace
        .run("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\nphases: {}\n")
        .await
        .expect_err("refused");
    assert!(
        error.to_string().starts_with(
            "env/parameter-store: AWS Systems Manager parameters are not available when running locally"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn artifacts_keep_paths_under_the_base_directory_without_excluded_files_and_with_permissions()
{
    let workspace = Workspace::new();
    let mut job = workspace.job(
        r#"
version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/js dist/bin
      - echo app > dist/js/app.js; echo map > dist/js/app.js.map; echo index > dist/index.html
      - printf '#!/bin/sh\n' > dist/bin/run; chmod 755 dist/bin/run
      - echo ignored > outside.txt
artifacts:
  base-directory: dist
  files: ['**/*']
  exclude-paths: ['**/*.map']
"#,
    );
    job.output_artifacts = vec!["BuildOutput".to_owned()];
    let output = run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(
        output.artifacts,
        vec![("BuildOutput".to_owned(), workspace.out("BuildOutput"))]
    );
    assert_eq!(
        listing(&workspace.out("BuildOutput")),
        ["bin/run", "index.html", "js/app.js"]
    );
    let mode = fs::metadata(workspace.out("BuildOutput").join("bin/run"))
        .expect("copied")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(
        workspace
            .log()
            .contains("Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED")
    );
}

#[tokio::test]
async fn single_star_stays_in_one_directory_and_discard_paths_flattens() {
    let workspace = Workspace::new();
    workspace.write("a.txt", "a");
    workspace.write("reports/unit/b.txt", "b");
    workspace.write("reports/c.log", "c");
    let mut job = workspace.job(
        "version: 0.2\nphases: {}\nartifacts:\n  files: ['*.txt', 'reports/**/*.txt']\n  discard-paths: yes\n",
    );
    job.output_artifacts = vec!["Flat".to_owned()];
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(listing(&workspace.out("Flat")), ["a.txt", "b.txt"]);
}

#[tokio::test]
async fn secondary_artifacts_give_several_outputs_their_files_by_name() {
    let workspace = Workspace::new();
    workspace.write("app/main.js", "main");
    workspace.write("docs/guide.md", "guide");
    let other = workspace.root.path().join("other");
    fs::create_dir_all(&other).expect("secondary source");
    fs::write(other.join("extra.txt"), "extra").expect("file");
    let mut job = workspace.job(
        r#"
version: 0.2
phases: {}
artifacts:
  files: ['app/**/*']
  secondary-artifacts:
    Docs:
      files: ['**/*']
      base-directory: docs
    Extra:
      files: [extra.txt]
      base-directory: $CODEBUILD_SRC_DIR_Other
"#,
    );
    job.secondary = vec![InputSource {
        name: "Other".to_owned(),
        dir: other,
    }];
    job.output_artifacts = vec!["App".to_owned(), "Docs".to_owned(), "Extra".to_owned()];
    let output = run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    let names: Vec<&str> = output
        .artifacts
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["App", "Docs", "Extra"]);
    assert_eq!(listing(&workspace.out("App")), ["app/main.js"]);
    assert_eq!(listing(&workspace.out("Docs")), ["guide.md"]);
    assert_eq!(listing(&workspace.out("Extra")), ["extra.txt"]);
}

#[tokio::test]
async fn a_files_pattern_matching_nothing_fails_naming_the_pattern() {
    let workspace = Workspace::new();
    workspace.write("app.js", "app");
    let mut job =
        workspace.job("version: 0.2\nphases: {}\nartifacts:\n  files: [app.js, 'dist/**/*.zip']\n");
    job.output_artifacts = vec!["BuildOutput".to_owned()];
    let error = run_build(job, std::future::pending())
        .await
        .expect_err("no zip");
    assert!(
        matches!(&error, BuildError::Artifacts { artifact, .. } if artifact == "BuildOutput"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "CLIENT_ERROR: no matching artifact paths found for pattern dist/**/*.zip"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn an_output_artifact_the_buildspec_does_not_produce_is_named() {
    let workspace = Workspace::new();
    workspace.write("app.js", "app");
    let mut job = workspace.job("version: 0.2\nphases: {}\nartifacts:\n  files: [app.js]\n");
    job.output_artifacts = vec!["App".to_owned(), "Site".to_owned()];
    let error = run_build(job, std::future::pending())
        .await
        .expect_err("Site is not produced");
    assert!(
        matches!(&error, BuildError::Artifacts { artifact, .. } if artifact == "Site"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("output artifact Site is not produced"),
        "{error}"
    );
}

#[tokio::test]
async fn the_timeout_kills_background_grandchildren_of_earlier_commands() {
    let workspace = Workspace::new();
    let mut job = workspace.job(
        r#"
version: 0.2
phases:
  install:
    commands:
      - sleep 100 & echo $! > background.pid
  build:
    commands:
      - sleep 100
"#,
    );
    job.timeout = Duration::from_secs(1);
    let error = run_build(job, std::future::pending())
        .await
        .expect_err("timed out");
    assert!(matches!(error, BuildError::TimedOut { .. }), "{error:?}");
    assert!(
        error.to_string().contains("Running command sleep 100"),
        "{error}"
    );
    let pid = read(workspace.src().join("background.pid"));
    assert!(
        process_ended(pid.trim()).await,
        "background sleep {pid} still runs"
    );
}

#[tokio::test]
async fn cancelling_stops_the_build_and_its_processes() {
    let workspace = Workspace::new();
    let pid_file = workspace.src().join("build.pid");
    let started = {
        let pid_file = pid_file.clone();
        async move {
            while !pid_file.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let job = workspace.job(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 100 & echo $! > build.pid; wait\n",
    );
    let error = run_build(job, started).await.expect_err("cancelled");
    assert!(matches!(error, BuildError::Cancelled), "{error:?}");
    let pid = read(&pid_file);
    assert!(process_ended(pid.trim()).await, "sleep {pid} still runs");
}

#[tokio::test]
async fn background_processes_end_with_a_successful_build() {
    let workspace = Workspace::new();
    workspace
        .run("version: 0.2\nphases:\n  install:\n    commands:\n      - sleep 100 & echo $! > daemon.pid\n")
        .await
        .expect("build succeeds");
    let pid = read(workspace.src().join("daemon.pid"));
    assert!(process_ended(pid.trim()).await, "sleep {pid} still runs");
}

/// A build printing 40 MB leaves a log of at most 16 MiB and a line: its beginning, a line saying how many
/// bytes were left out, and its end with the last lines and the phase lines that followed.
#[tokio::test]
async fn a_build_log_is_capped_keeping_its_beginning_and_its_end_and_saying_what_was_left_out() {
    let workspace = Workspace::new();
    let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo FIRST-LINE\n      - head -c 39999960 /dev/zero | tr '\\0' x | fold -w 99; echo; echo LAST-LINE\n  post_build:\n    commands:\n      - echo after-the-build\n";
    workspace.run(spec).await.expect("build succeeds");
    let log = fs::read(workspace.root.path().join("build.log")).unwrap();
    let limit = usize::try_from(sluice_local::build::runner::LOG_LIMIT_BYTES).unwrap();
    assert!(log.len() <= limit + 512, "{} bytes", log.len());
    assert!(log.len() > limit - 1024, "{} bytes", log.len());
    let text = String::from_utf8(log).unwrap();
    assert!(text.contains("\nFIRST-LINE\n"));
    let markers: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("Sluice left out"))
        .collect();
    assert_eq!(markers.len(), 1, "{markers:?}");
    let left_out: u64 = markers[0]
        .split("Sluice left out ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // 39,999,960 x in lines of 99 and the phase lines, 16 MiB of them kept.
    assert!(
        (40_404_000 - 16 * 1024 * 1024..40_404_000 - 15 * 1024 * 1024).contains(&left_out),
        "{left_out}"
    );
    let (_, end) = text.split_once(markers[0]).unwrap();
    assert!(
        end.len() > 1024 * 1024 - 200,
        "the last MiB is kept: {}",
        end.len()
    );
    let last: Vec<&str> = end.lines().rev().take(30).collect();
    assert!(last.contains(&"LAST-LINE"), "{last:?}");
    assert!(last.contains(&"after-the-build"), "{last:?}");
    assert!(
        last[0].contains("Phase complete: POST_BUILD State: SUCCEEDED")
            || last[1].contains("Phase complete: POST_BUILD State: SUCCEEDED"),
        "{last:?}"
    );
    // The kept end starts at a whole line.
    let first_kept = end.lines().nth(1).unwrap();
    assert_eq!(first_kept, "x".repeat(99));
}

#[tokio::test]
async fn the_log_has_codebuild_phase_lines_around_the_commands_output() {
    let workspace = Workspace::new();
    workspace
        .run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo out; echo err >&2\n")
        .await
        .expect("build succeeds");
    let log = workspace.log();
    let lines: Vec<&str> = log.lines().collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{log}"))
    };
    let output_line = |output: &str| {
        lines
            .iter()
            .position(|line| *line == output)
            .unwrap_or_else(|| panic!("{output:?} not in:\n{log}"))
    };
    let stamp = lines
        .first()
        .and_then(|line| line.strip_prefix("[Container] "))
        .unwrap_or_default();
    let shape: String = stamp
        .chars()
        .take(27)
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999/99/99 99:99:99.999999 ", "{log}");
    assert!(position("Entering phase INSTALL") < position("Entering phase BUILD"));
    assert!(position("Running command echo out; echo err >&2") < output_line("out"));
    assert!(output_line("err") < position("Phase complete: BUILD State: SUCCEEDED"));
    assert!(
        position("Phase complete: BUILD State: SUCCEEDED") < position("Phase complete: POST_BUILD")
    );
}

#[tokio::test]
async fn a_commands_action_runs_its_commands_exports_its_variables_and_keeps_its_files() {
    let workspace = Workspace::new();
    let spec = Buildspec::from_commands(
        &[
            "mkdir -p out".to_owned(),
            "echo built > out/result.txt".to_owned(),
            "export VERSION=2.1".to_owned(),
        ],
        &["VERSION".to_owned()],
        &["out/**/*".to_owned()],
    );
    let mut job = workspace.job("");
    job.spec = SpecSource::Parsed(spec);
    job.output_artifacts = vec!["CommandsOutput".to_owned()];
    let output = run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(
        output.exported_variables.get("VERSION").map(String::as_str),
        Some("2.1")
    );
    assert_eq!(
        listing(&workspace.out("CommandsOutput")),
        ["out/result.txt"]
    );
    assert!(
        Buildspec::from_commands(&["true".to_owned()], &[], &[])
            .artifacts
            .is_none()
    );
}

/// Resolves once `file` exists.
async fn created(file: PathBuf) {
    while !file.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_shell_state_lives_in_the_callers_private_state_directory_and_goes_with_the_build() {
    let workspace = Workspace::new();
    let job = workspace.job(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - export TOKEN=kept\n      - stat -c %a \"$STATE\" > mode.txt; ls \"$STATE\" > files.txt\n",
    );
    let state = job.state_dir.clone();
    let mut job = job;
    job.environment
        .push(("STATE".to_owned(), state.to_string_lossy().into_owned()));
    run_build(job, std::future::pending())
        .await
        .expect("build succeeds");
    assert_eq!(read(workspace.src().join("mode.txt")).trim(), "700");
    let files = read(workspace.src().join("files.txt"));
    assert!(files.lines().any(|f| f == "session.sh"), "{files}");
    assert!(!state.exists(), "{} is left behind", state.display());
}

#[tokio::test]
async fn a_stopped_build_runs_no_further_command_and_says_its_command_ended() {
    let workspace = Workspace::new();
    let job = workspace.job(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - touch started; sleep 100\n  post_build:\n    commands:\n      - touch post\n",
    );
    let error = run_build(job, created(workspace.src().join("started")))
        .await
        .expect_err("stopped");
    assert!(matches!(error, BuildError::Cancelled), "{error:?}");
    assert!(!workspace.src().join("post").exists(), "post_build ran");
    let log = workspace.log();
    assert!(log.contains("SIGTERM to all its processes"), "{log}");
    assert!(log.contains("The running command ended"), "{log}");
    assert!(
        log.contains("Build stopped; all its processes have ended"),
        "{log}"
    );
}

#[tokio::test]
async fn a_build_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let workspace = Workspace::new();
    let mut job = workspace.job(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - trap 'echo got TERM >> terms' TERM; echo $$ > shell.pid; while :; do sleep 0.05; done\n",
    );
    job.processes = Processes::unrecorded().with_stop_grace(Duration::from_millis(500));
    let error = run_build(job, created(workspace.src().join("shell.pid")))
        .await
        .expect_err("stopped");
    assert!(matches!(error, BuildError::Cancelled), "{error:?}");
    let pid = read(workspace.src().join("shell.pid"));
    assert!(process_ended(pid.trim()).await, "shell {pid} still runs");
    assert!(
        read(workspace.src().join("terms")).contains("got TERM"),
        "SIGTERM came first"
    );
    let log = workspace.log();
    assert!(
        log.contains("Processes were still running 500ms after SIGTERM; all were killed (SIGKILL)"),
        "{log}"
    );
}
