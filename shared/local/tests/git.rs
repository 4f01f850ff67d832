//! The local git source, against real repositories made with the `git` program.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_local::archive::unzip;
use sluice_local::git::{self, GitError};

/// Runs git in `dir` with a fixed identity and no user or system configuration.
fn git_in(dir: &Path, args: &[&str], date: &str) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", "Charles Babbage")
        .env("GIT_COMMITTER_EMAIL", "charles@example.com")
        .env("GIT_COMMITTER_DATE", "2024-03-02T08:30:00Z")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create the parent");
    fs::write(path, content).expect("write the file");
}

/// A work tree on `main` with two commits: "first" (a.txt = one, run.sh executable) and
/// "second" (a.txt = two, b.txt), then an uncommitted change to a.txt.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    first: String,
    second: String,
}

const AUTHOR_DATE: &str = "2024-03-01T12:00:00+02:00";

impl Repo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("repo");
        fs::create_dir_all(&dir).expect("mkdir");
        git_in(&dir, &["init", "-q", "-b", "main"], AUTHOR_DATE);
        write(&dir.join("a.txt"), "one");
        write(&dir.join("run.sh"), "#!/bin/sh\necho built\n");
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        let first = commit(&dir, "first");
        write(&dir.join("a.txt"), "two");
        write(&dir.join("b.txt"), "bee");
        let second = commit(&dir, "second\n\nWith a body.");
        write(&dir.join("a.txt"), "uncommitted");
        Repo {
            _tmp: tmp,
            dir,
            first,
            second,
        }
    }

    fn path(&self) -> &str {
        self.dir.to_str().expect("a UTF-8 path")
    }

    fn scratch(&self, name: &str) -> PathBuf {
        self.dir.parent().expect("the temp dir").join(name)
    }
}

fn commit(dir: &Path, message: &str) -> String {
    git_in(dir, &["add", "-A"], AUTHOR_DATE);
    git_in(dir, &["commit", "-q", "-m", message], AUTHOR_DATE);
    git_in(dir, &["rev-parse", "HEAD"], AUTHOR_DATE)
}

/// The files of a zip, extracted next to it.
fn extracted(zip: &Path) -> PathBuf {
    let out = zip.with_extension("out");
    unzip(zip, &out).expect("a zip");
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn export_writes_the_committed_files_of_the_branch_tip_without_git_metadata() {
    let repo = Repo::new();
    let zip = repo.scratch("out/source.zip");

    let commit = git::export(repo.path(), "main", None, &zip)
        .await
        .expect("exported");

    let out = extracted(&zip);
    assert_eq!(
        read(&out.join("a.txt")),
        "two",
        "committed content, not the work tree"
    );
    assert_eq!(read(&out.join("b.txt")), "bee");
    let mode = fs::metadata(out.join("run.sh"))
        .expect("run.sh")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "run.sh stays executable");
    assert!(!out.join(".git").exists());
    assert_eq!(
        commit,
        git::Commit {
            commit_id: repo.second.clone(),
            message: "second\n\nWith a body.".to_owned(),
            author_date: "2024-03-01T10:00:00Z".to_owned(),
            committer_date: "2024-03-02T08:30:00Z".to_owned(),
            author_name: "Ada Lovelace".to_owned(),
            author_email: "ada@example.com".to_owned(),
            branch: "main".to_owned(),
        }
    );
}

#[tokio::test]
async fn export_of_a_pinned_revision_writes_that_older_commit() {
    let repo = Repo::new();
    let zip = repo.scratch("pinned.zip");

    let commit = git::export(repo.path(), "main", Some(&repo.first[..8]), &zip)
        .await
        .expect("exported");

    assert_eq!(commit.commit_id, repo.first);
    assert_eq!(commit.message, "first");
    let out = extracted(&zip);
    assert_eq!(read(&out.join("a.txt")), "one");
    assert!(!out.join("b.txt").exists());
}

#[tokio::test]
async fn export_of_a_second_branch_writes_its_tip_and_names_it() {
    let repo = Repo::new();
    git_in(&repo.dir, &["checkout", "-q", "-b", "feature"], AUTHOR_DATE);
    write(&repo.dir.join("feature.txt"), "new feature");
    let feature = commit(&repo.dir, "feature work");
    git_in(&repo.dir, &["checkout", "-q", "main"], AUTHOR_DATE);
    let zip = repo.scratch("feature.zip");

    let commit = git::export(repo.path(), "feature", None, &zip)
        .await
        .expect("exported");

    assert_eq!(
        (commit.commit_id.as_str(), commit.branch.as_str()),
        (feature.as_str(), "feature")
    );
    assert_eq!(read(&extracted(&zip).join("feature.txt")), "new feature");
}

#[tokio::test]
async fn a_pinned_revision_may_be_any_commit_reachable_in_the_repository() {
    let repo = Repo::new();
    git_in(&repo.dir, &["checkout", "-q", "-b", "feature"], AUTHOR_DATE);
    write(&repo.dir.join("feature.txt"), "new feature");
    let feature = commit(&repo.dir, "feature work");
    let zip = repo.scratch("pinned.zip");

    let commit = git::export(repo.path(), "main", Some(&feature), &zip)
        .await
        .expect("exported");

    assert_eq!(commit.commit_id, feature);
    assert!(extracted(&zip).join("feature.txt").exists());
}

#[tokio::test]
async fn export_reads_a_bare_repository_and_a_file_url() {
    let repo = Repo::new();
    let bare = repo.scratch("bare.git");
    let bare_path = bare.to_str().expect("UTF-8");
    git_in(
        &repo.dir,
        &["clone", "-q", "--bare", repo.path(), bare_path],
        AUTHOR_DATE,
    );

    for repository in [bare_path.to_owned(), format!("file://{bare_path}")] {
        let zip = repo.scratch("bare.zip");
        let commit = git::export(&repository, "main", None, &zip)
            .await
            .expect(&repository);

        assert_eq!(commit.commit_id, repo.second, "{repository}");
        assert_eq!(read(&extracted(&zip).join("a.txt")), "two");
        fs::remove_dir_all(zip.with_extension("out")).expect("clean up");
    }
}

#[tokio::test]
async fn an_unknown_branch_is_an_error_naming_the_branch_and_the_repository() {
    let repo = Repo::new();
    let zip = repo.scratch("x.zip");

    let error = git::export(repo.path(), "release", None, &zip)
        .await
        .expect_err("no such branch");

    assert!(
        matches!(&error, GitError::BranchNotFound { repository, branch } if repository == repo.path() && branch == "release")
    );
    assert_eq!(
        error.to_string(),
        format!("branch release was not found in repository {}", repo.path())
    );
    assert!(!zip.exists());
}

#[tokio::test]
async fn an_unknown_revision_is_an_error_naming_the_revision() {
    let repo = Repo::new();
    let zip = repo.scratch("x.zip");

    for revision in ["deadbeefdeadbeef", "HEAD~1", "--upload-pack=evil"] {
        let error = git::export(repo.path(), "main", Some(revision), &zip)
            .await
            .expect_err(revision);

        assert!(
            matches!(&error, GitError::RevisionNotFound { revision: r, .. } if r == revision),
            "{revision}: {error}"
        );
        assert!(error.to_string().contains(revision));
    }
    assert!(!zip.exists());
}

#[tokio::test]
async fn a_directory_that_is_not_a_repository_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plain = tmp.path().join("plain");
    fs::create_dir_all(&plain).expect("mkdir");
    let missing = tmp.path().join("missing");

    for path in [&plain, &missing] {
        let repository = path.to_str().expect("UTF-8");

        let error = git::export(repository, "main", None, &tmp.path().join("x.zip"))
            .await
            .expect_err(repository);

        assert!(
            matches!(&error, GitError::RepositoryNotFound { repository: r, .. } if r == repository),
            "{error}"
        );
        assert!(error.to_string().contains(repository));
    }
}

#[tokio::test]
async fn repositories_that_would_be_read_as_options_or_remote_helpers_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pwned = tmp.path().join("pwned");
    let repositories = [
        format!("--upload-pack=touch {}", pwned.display()),
        format!("ext::sh -c touch% {}", pwned.display()),
        "ftp://host/repo".to_owned(),
    ];
    for repository in &repositories {
        let error = git::head(repository, "main").await.expect_err(repository);

        assert!(
            matches!(error, GitError::RepositoryNotFound { .. }),
            "{repository}: {error}"
        );
    }
    assert!(!pwned.exists());
}

#[tokio::test]
async fn head_is_the_commit_the_branch_points_at() {
    let repo = Repo::new();

    assert_eq!(
        git::head(repo.path(), "main").await.expect("head"),
        repo.second
    );
    let error = git::head(repo.path(), "nope")
        .await
        .expect_err("no such branch");
    assert!(matches!(error, GitError::BranchNotFound { .. }));
}

#[tokio::test]
async fn a_snapshot_of_a_subdirectory_has_the_files_on_disk_and_the_enclosing_head() {
    let repo = Repo::new();
    let app = repo.dir.join("examples/app");
    write(&app.join("index.js"), "committed");
    let head = commit(&repo.dir, "add the example app");
    write(&app.join("index.js"), "changed on disk");
    write(&app.join("new.js"), "untracked");
    write(
        &app.join("vendor/lib/.git/config"),
        "a nested repository's metadata",
    );
    write(&app.join("vendor/lib/lib.js"), "vendored");
    let zip = repo.scratch("snapshot.zip");

    assert!(!git::is_repository_root(&app));
    let commit = git::snapshot(&app, &zip).await.expect("snapshot");

    let out = extracted(&zip);
    assert_eq!(read(&out.join("index.js")), "changed on disk");
    assert_eq!(read(&out.join("new.js")), "untracked");
    assert_eq!(read(&out.join("vendor/lib/lib.js")), "vendored");
    assert!(!out.join("vendor/lib/.git").exists(), "no .git folder");
    assert_eq!(commit.commit_id, head);
    assert_eq!(commit.message, "add the example app");
    assert_eq!(commit.branch, "main");
    assert_eq!(commit.author_email, "ada@example.com");
    assert_eq!(commit.author_date, "2024-03-01T10:00:00Z");
}

#[tokio::test]
async fn a_snapshot_outside_any_repository_is_identified_by_a_digest_of_its_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("site");
    write(&dir.join("index.html"), "<h1>hi</h1>");
    write(&dir.join("css/site.css"), "body{}");

    let first = git::snapshot(&dir, &tmp.path().join("1.zip"))
        .await
        .expect("snapshot");
    let second = git::snapshot(&dir, &tmp.path().join("2.zip"))
        .await
        .expect("snapshot");
    write(&dir.join("index.html"), "<h1>changed</h1>");
    let changed = git::snapshot(&dir, &tmp.path().join("3.zip"))
        .await
        .expect("snapshot");

    let hex = first
        .commit_id
        .strip_prefix("sha256:")
        .expect("a sha256 digest");
    assert_eq!(hex.len(), 64);
    assert_eq!(
        first.commit_id, second.commit_id,
        "the same files, the same id"
    );
    assert_ne!(first.commit_id, changed.commit_id);
    assert_eq!(first.message, format!("local directory {}", dir.display()));
    assert!(
        first.author_date.ends_with('Z') && first.author_date.len() == 20,
        "{}",
        first.author_date
    );
    assert_eq!(first.committer_date, first.author_date);
    assert_eq!(
        read(&extracted(&tmp.path().join("1.zip")).join("css/site.css")),
        "body{}"
    );
}

#[test]
fn the_top_of_a_work_tree_and_a_bare_repository_are_repository_roots() {
    let repo = Repo::new();
    let bare = repo.scratch("bare.git");
    git_in(
        &repo.dir,
        &["init", "-q", "--bare", bare.to_str().expect("UTF-8")],
        AUTHOR_DATE,
    );
    let plain = repo.scratch("plain");
    fs::create_dir_all(&plain).expect("mkdir");
    fs::create_dir_all(repo.dir.join("sub")).expect("mkdir");

    assert!(git::is_repository_root(&repo.dir));
    assert!(git::is_repository_root(&bare));
    assert!(!git::is_repository_root(&repo.dir.join("sub")));
    assert!(!git::is_repository_root(&bare.join("objects")));
    assert!(!git::is_repository_root(&repo.dir.join(".git")));
    assert!(!git::is_repository_root(&plain));
    assert!(!git::is_repository_root(&repo.scratch("missing")));
}
