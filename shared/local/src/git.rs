//! The local git source: a branch of a git repository as a CODE_ZIP artifact (the files of one
//! commit, no `.git`), read with the `git` program.
//!
//! A repository is named by a URL (`https://`, `http://`, `ssh://`, `git://`, `file://`, or
//! scp-like `git@host:path`) or by the path of a work tree or bare repository. Names starting with
//! `-` and remote-helper addresses (`ext::…`) are refused.
//!
//! git runs with a clean configuration: no system or global config file (so the user's
//! `~/.gitconfig` changes nothing), no terminal prompt (`GIT_TERMINAL_PROMPT=0`, and ssh in batch
//! mode unless `GIT_SSH_COMMAND` or `GIT_SSH` is set), the C locale, and none of the `GIT_DIR`-like
//! variables of the calling process.
//!
//! [`export`] fetches the branch into a temporary bare repository (only the tip, one commit deep;
//! every branch and tag when a revision is pinned, so that any commit reachable in the repository
//! can be found) and writes `git archive --format=zip` of the commit. As with `git archive`, files
//! marked `export-ignore` in `.gitattributes` are left out, and symbolic links are stored as links.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::archive::{self, ArchiveError};

/// The URL schemes git is allowed to use.
const SCHEMES: [&str; 5] = ["https", "http", "ssh", "git", "file"];
/// How much of git's stderr an error keeps.
const STDERR_TAIL_LINES: usize = 5;

/// The commit an artifact was made from: what CodePipeline reports as the source revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub commit_id: String,
    /// The full commit message, without its trailing newline.
    pub message: String,
    /// RFC 3339, UTC, whole seconds: `2024-05-01T12:00:00Z`.
    pub author_date: String,
    /// RFC 3339, UTC, whole seconds.
    pub committer_date: String,
    pub author_name: String,
    pub author_email: String,
    pub branch: String,
}

/// Why a git source could not be read. `detail` is the tail of git's stderr.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("the git source needs the git program, which is not on PATH")]
    GitNotInstalled,
    #[error(
        "repository {repository} was not found, is not a git repository, or cannot be read: {detail}"
    )]
    RepositoryNotFound { repository: String, detail: String },
    #[error("branch {branch} was not found in repository {repository}")]
    BranchNotFound { repository: String, branch: String },
    #[error(
        "revision {revision} was not found in repository {repository}: a revision is a full or \
         abbreviated commit id reachable from a branch or tag ({detail})"
    )]
    RevisionNotFound {
        repository: String,
        revision: String,
        detail: String,
    },
    #[error("`git {command}` failed for repository {repository}: {detail}")]
    Command {
        repository: String,
        command: String,
        detail: String,
    },
    #[error("could not run `git {command}`: {source}")]
    Run {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("could not access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// The commit id `branch` points at in `repository` (`git ls-remote`).
pub async fn head(repository: &str, branch: &str) -> Result<String, GitError> {
    let source = locate(repository)?;
    branch_tip(repository, &source, branch).await
}

/// Writes the files of a commit of `repository` to `dest_zip`: the tip of `branch`, or `revision`
/// (a full or abbreviated commit id, which must be reachable from a branch or tag of the
/// repository; `branch` must exist too). Committed content only.
pub async fn export(
    repository: &str,
    branch: &str,
    revision: Option<&str>,
    dest_zip: &Path,
) -> Result<Commit, GitError> {
    let source = locate(repository)?;
    let revision = revision
        .map(|r| check_revision(repository, r))
        .transpose()?;
    branch_tip(repository, &source, branch).await?;
    let work = TempDir::new("git-export")?;
    let git_dir = work.path();
    let init = [os("init"), os("--bare"), os("-q"), git_dir.into()];
    run_ok(repository, init).await?;
    let fetch = ["fetch", "-q", "--no-tags"].map(os);
    let commit_id = match &revision {
        None => {
            let tip = [
                os("--depth=1"),
                os("--"),
                source,
                os(&format!("refs/heads/{branch}")),
            ];
            run_ok(repository, at(git_dir, fetch.into_iter().chain(tip))).await?;
            let output =
                run_ok(repository, at(git_dir, ["rev-parse", "FETCH_HEAD"].map(os))).await?;
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Some(revision) => {
            let all = [
                os("--"),
                source,
                os("+refs/heads/*:refs/heads/*"),
                os("+refs/tags/*:refs/tags/*"),
            ];
            run_ok(repository, at(git_dir, fetch.into_iter().chain(all))).await?;
            resolve_revision(repository, git_dir, revision).await?
        }
    };
    let mut commit = read_commit(repository, git_dir, &commit_id).await?;
    commit.branch = branch.to_owned();
    write_archive(repository, git_dir, &commit_id, dest_zip).await?;
    Ok(commit)
}

/// Zips `dir` as it is on disk (every file, committed or not, except any `.git`) into `dest_zip`.
/// For a directory that is not the top of a repository, such as an example app inside another
/// repository: see [`is_repository_root`].
///
/// Inside a git work tree, the commit is the enclosing repository's HEAD and the branch is
/// `git rev-parse --abbrev-ref HEAD` (`HEAD` when detached). Elsewhere (or in a repository with
/// no commit yet, or without git installed) the commit id is `sha256:<hex>` of the zip, which is
/// the same for the same files, the message is `local directory <absolute path>`, both dates are
/// now, and author and branch are empty.
pub async fn snapshot(dir: &Path, dest_zip: &Path) -> Result<Commit, GitError> {
    let meta = fs::metadata(dir).map_err(|source| io_error(dir, source))?;
    if !meta.is_dir() {
        let source = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
        return Err(io_error(dir, source));
    }
    let (from, to) = (dir.to_path_buf(), dest_zip.to_path_buf());
    let is_git = |relative: &Path| relative.file_name().is_some_and(|n| n == ".git");
    tokio::task::spawn_blocking(move || archive::zip_dir_except(&from, &to, is_git))
        .await
        .map_err(|join| io_error(dir, io::Error::other(join)))??;
    if let Some(commit) = enclosing_head(dir).await {
        return Ok(commit);
    }
    let digests = archive::digests(dest_zip)?;
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let now = rfc3339(OffsetDateTime::now_utc().unix_timestamp());
    Ok(Commit {
        commit_id: format!("sha256:{}", digests.sha256),
        message: format!("local directory {}", absolute.display()),
        author_date: now.clone(),
        committer_date: now,
        author_name: String::new(),
        author_email: String::new(),
        branch: String::new(),
    })
}

/// Whether `path` is the top of a git work tree or a bare repository: a source [`export`] can
/// read. False for a directory inside a work tree, outside any repository, or when git is missing.
pub fn is_repository_root(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    let output = clean_git()
        .arg("-C")
        .arg(&path)
        .args([
            "rev-parse",
            "--is-bare-repository",
            "--absolute-git-dir",
            "--show-toplevel",
        ])
        .stderr(Stdio::null())
        .output();
    // In a bare repository `--show-toplevel` fails after printing the other two lines.
    let Ok(output) = output else {
        return false;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let root = match (lines.next(), lines.next(), lines.next()) {
        (Some("true"), Some(git_dir), _) => git_dir,
        (Some("false"), Some(_), Some(top_level)) => top_level,
        _ => return false,
    };
    Path::new(root)
        .canonicalize()
        .is_ok_and(|root| root == path)
}

/// `repository` as git is given it: a URL as it is, a path made absolute.
fn locate(repository: &str) -> Result<OsString, GitError> {
    let refuse = |detail: &str| GitError::RepositoryNotFound {
        repository: repository.to_owned(),
        detail: detail.to_owned(),
    };
    if repository.is_empty() {
        return Err(refuse("the repository is empty; give a URL or a path"));
    }
    if repository.starts_with('-') {
        return Err(refuse("a repository cannot start with `-`"));
    }
    if let Some((scheme, _)) = repository.split_once("://") {
        return match SCHEMES.contains(&scheme) {
            true => Ok(repository.into()),
            false => Err(refuse(
                "the URL scheme must be https, http, ssh, git or file",
            )),
        };
    }
    if is_remote_helper(repository) {
        return Err(refuse(
            "remote helpers (`transport::address`) are not accepted",
        ));
    }
    // git's own rule: a `:` before any `/` makes `host:path` an ssh address.
    let colon = repository.find(':');
    if colon.is_some_and(|c| repository.find('/').is_none_or(|s| c < s)) {
        return Ok(repository.into());
    }
    match Path::new(repository).canonicalize() {
        Ok(path) => Ok(path.into_os_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(refuse("there is nothing at that path"))
        }
        Err(e) => Err(refuse(&e.to_string())),
    }
}

fn is_remote_helper(repository: &str) -> bool {
    repository.split_once("::").is_some_and(|(transport, _)| {
        !transport.is_empty()
            && transport
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

fn check_revision(repository: &str, revision: &str) -> Result<String, GitError> {
    let hex = revision.chars().all(|c| c.is_ascii_hexdigit());
    if hex && (4..=64).contains(&revision.len()) {
        return Ok(revision.to_ascii_lowercase());
    }
    Err(GitError::RevisionNotFound {
        repository: repository.to_owned(),
        revision: revision.to_owned(),
        detail: "it is not 4 to 64 hexadecimal digits".to_owned(),
    })
}

async fn branch_tip(repository: &str, source: &OsStr, branch: &str) -> Result<String, GitError> {
    let branch_ref = format!("refs/heads/{branch}");
    let args = [
        os("ls-remote"),
        os("--"),
        source.into(),
        branch_ref.clone().into(),
    ];
    let output = run(args).await?;
    if !output.status.success() {
        return Err(GitError::RepositoryNotFound {
            repository: repository.to_owned(),
            detail: output.stderr_tail(),
        });
    }
    // ls-remote matches patterns by their tail; only the branch itself counts.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tip = stdout.lines().find_map(|line| match line.split_once('\t') {
        Some((id, name)) if name == branch_ref => Some(id.to_owned()),
        _ => None,
    });
    tip.ok_or_else(|| GitError::BranchNotFound {
        repository: repository.to_owned(),
        branch: branch.to_owned(),
    })
}

async fn resolve_revision(
    repository: &str,
    git_dir: &Path,
    revision: &str,
) -> Result<String, GitError> {
    let not_found = |detail: String| GitError::RevisionNotFound {
        repository: repository.to_owned(),
        revision: revision.to_owned(),
        detail,
    };
    let peeled = format!("{revision}^{{commit}}");
    let output = run(at(
        git_dir,
        ["rev-parse", "--verify", "-q", &peeled].map(os),
    ))
    .await?;
    if !output.status.success() {
        let tail = output.stderr_tail();
        let detail = if tail.is_empty() {
            "no such commit".to_owned()
        } else {
            tail
        };
        return Err(not_found(detail));
    }
    let commit_id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    // A branch or tag named like the hex digits wins in rev-parse; a revision is a commit id.
    if !commit_id.starts_with(revision) {
        return Err(not_found(format!(
            "it names a branch or tag (commit {commit_id}), not a commit"
        )));
    }
    Ok(commit_id)
}

/// The commit's fields, read in `git_dir` (a repository, or a directory of a work tree).
async fn read_commit(repository: &str, git_dir: &Path, rev: &str) -> Result<Commit, GitError> {
    let format = "--format=%H%x00%an%x00%ae%x00%at%x00%ct%x00%B";
    let args = ["log", "-1", format, rev, "--"].map(os);
    let output = run_ok(repository, at(git_dir, args)).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = stdout.splitn(6, '\0').collect();
    let unexpected = || GitError::Command {
        repository: repository.to_owned(),
        command: "log".to_owned(),
        detail: format!("unexpected output {stdout:?}"),
    };
    let [commit_id, name, email, author_time, committer_time, message] = fields[..] else {
        return Err(unexpected());
    };
    let date = |seconds: &str| {
        seconds
            .trim()
            .parse::<i64>()
            .map(rfc3339)
            .map_err(|_| unexpected())
    };
    Ok(Commit {
        commit_id: commit_id.to_owned(),
        message: message.trim_end().to_owned(),
        author_date: date(author_time)?,
        committer_date: date(committer_time)?,
        author_name: name.to_owned(),
        author_email: email.to_owned(),
        branch: String::new(),
    })
}

async fn write_archive(
    repository: &str,
    git_dir: &Path,
    commit_id: &str,
    dest_zip: &Path,
) -> Result<(), GitError> {
    if let Some(parent) = dest_zip.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    let file = fs::File::create(dest_zip).map_err(|source| io_error(dest_zip, source))?;
    let mut command = tokio::process::Command::from(clean_git());
    command
        .arg("-C")
        .arg(git_dir)
        .args(["archive", "--format=zip", commit_id])
        .stdout(file)
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let result = match command.spawn() {
        Ok(child) => child
            .wait_with_output()
            .await
            .map_err(|source| run_error("archive", source))
            .and_then(|output| {
                let output = Output::from(output);
                match output.status.success() {
                    true => Ok(()),
                    false => Err(command_failed(repository, "archive", &output)),
                }
            }),
        Err(source) => Err(run_error("archive", source)),
    };
    if result.is_err() {
        let _ = fs::remove_file(dest_zip);
    }
    result
}

/// The enclosing repository's HEAD, when `dir` is inside a work tree with a commit.
async fn enclosing_head(dir: &Path) -> Option<Commit> {
    let inside = ["rev-parse", "--is-inside-work-tree"].map(os);
    let output = run(at(dir, inside)).await.ok()?;
    if !output.status.success() || String::from_utf8_lossy(&output.stdout).trim() != "true" {
        return None;
    }
    let mut commit = read_commit(&dir.display().to_string(), dir, "HEAD")
        .await
        .ok()?;
    let branch = ["rev-parse", "--abbrev-ref", "HEAD"].map(os);
    let output = run(at(dir, branch)).await.ok()?;
    commit.branch = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some(commit)
}

fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix_seconds.to_string())
}

/// `git` with a clean configuration and environment (see the module documentation).
fn clean_git() -> std::process::Command {
    let mut command = std::process::Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    for variable in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    ] {
        command.env_remove(variable);
    }
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        command.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    command
}

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Self {
            status: output.status,
            stdout: output.stdout,
            stderr,
        }
    }
}

impl Output {
    fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("; ")
    }
}

/// Runs git; a failure to start it is an error, its exit status is the caller's to judge.
async fn run(args: impl IntoIterator<Item = OsString>) -> Result<Output, GitError> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut command = tokio::process::Command::from(clean_git());
    command.args(&args).kill_on_drop(true);
    match command.output().await {
        Ok(output) => Ok(output.into()),
        Err(source) => Err(run_error(&subcommand(&args), source)),
    }
}

/// Runs git and requires it to succeed.
async fn run_ok(
    repository: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Output, GitError> {
    let args: Vec<OsString> = args.into_iter().collect();
    let output = run(args.clone()).await?;
    match output.status.success() {
        true => Ok(output),
        false => Err(command_failed(repository, &subcommand(&args), &output)),
    }
}

/// The git subcommand of an argument list, for messages: `-C <dir>` is left out.
fn subcommand(args: &[OsString]) -> String {
    let start = if args.first().is_some_and(|a| a == "-C") {
        2
    } else {
        0
    };
    args.get(start)
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn command_failed(repository: &str, command: &str, output: &Output) -> GitError {
    GitError::Command {
        repository: repository.to_owned(),
        command: command.to_owned(),
        detail: output.stderr_tail(),
    }
}

fn run_error(command: &str, source: io::Error) -> GitError {
    match source.kind() {
        io::ErrorKind::NotFound => GitError::GitNotInstalled,
        _ => GitError::Run {
            command: command.to_owned(),
            source,
        },
    }
}

fn io_error(path: &Path, source: io::Error) -> GitError {
    GitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn os(s: &str) -> OsString {
    s.into()
}

/// `git -C <dir> <args…>`.
fn at(dir: &Path, args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    [os("-C"), dir.into()].into_iter().chain(args).collect()
}

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Result<Self, GitError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("sluice-{label}-{}-{nanos}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Self(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(io_error(&path, source)),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_cannot_be_found_is_reported_as_git_not_installed() {
        let missing = std::process::Command::new("sluice-no-such-program-for-git").output();
        let error = run_error(
            "ls-remote",
            missing.expect_err("the program does not exist"),
        );
        assert!(matches!(error, GitError::GitNotInstalled));
        assert_eq!(
            error.to_string(),
            "the git source needs the git program, which is not on PATH"
        );
    }
}
