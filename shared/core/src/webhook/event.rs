//! What a delivery says, whatever provider sent it: a push of a branch or tag, a pull request opened,
//! updated or closed, a ping, or an event Sluice does not act on. Read from the provider's own payload:
//! - GitHub: the `X-GitHub-Event` header (`push`, `pull_request`, `ping`) and its payload,
//!   https://docs.github.com/en/webhooks/webhook-events-and-payloads
//! - Bitbucket Cloud: `X-Event-Key` (`repo:push`, `pullrequest:created|updated|fulfilled|rejected`),
//!   https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/
//! - GitLab: `X-Gitlab-Event` (`Push Hook`, `Tag Push Hook`, `Merge Request Hook`),
//!   https://docs.gitlab.com/user/project/integrations/webhook_events/

use serde_json::Value;

use crate::pipeline::declaration::PullRequestEvent;

/// Who sent a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GitProvider {
    GitHub,
    Bitbucket,
    GitLab,
}

impl GitProvider {
    /// The name in a receiver's path (`/webhooks/github`) and in a delivery's key.
    pub fn slug(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::Bitbucket => "bitbucket",
            Self::GitLab => "gitlab",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        [Self::GitHub, Self::Bitbucket, Self::GitLab]
            .into_iter()
            .find(|p| p.slug() == slug)
    }

    /// The header naming the event.
    pub fn event_header(self) -> &'static str {
        match self {
            Self::GitHub => "x-github-event",
            Self::Bitbucket => "x-event-key",
            Self::GitLab => "x-gitlab-event",
        }
    }

    /// The header carrying the delivery's unique id, the same on a redelivery.
    pub fn delivery_header(self) -> &'static str {
        match self {
            Self::GitHub => "x-github-delivery",
            Self::Bitbucket => "x-request-uuid",
            Self::GitLab => "x-gitlab-event-uuid",
        }
    }
}

impl std::fmt::Display for GitProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::GitHub => "GitHub",
            Self::Bitbucket => "Bitbucket",
            Self::GitLab => "GitLab",
        })
    }
}

/// A pushed ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitRef {
    Branch(String),
    Tag(String),
}

impl GitRef {
    /// `refs/heads/main` → branch `main`, `refs/tags/v1` → tag `v1`; other refs are not branches or tags.
    pub fn parse(full: &str) -> Option<Self> {
        if let Some(branch) = full.strip_prefix("refs/heads/") {
            Some(Self::Branch(branch.to_string()))
        } else {
            full.strip_prefix("refs/tags/")
                .map(|tag| Self::Tag(tag.to_string()))
        }
    }
}

/// A push of one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `owner/name` as the provider writes it (GitHub's `full_name`, GitLab's `path_with_namespace`).
    pub repository: String,
    pub git_ref: GitRef,
    /// The commit the ref points at now; empty for a deletion.
    pub commit: String,
    /// The ref was deleted: nothing to build.
    pub deleted: bool,
    /// Files added, modified or removed by the pushed commits, as far as the payload lists them.
    pub changed_files: Vec<String>,
    pub commit_message: Option<String>,
}

/// A pull request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub repository: String,
    /// CodePipeline's event: OPEN (opened, reopened), UPDATED (new commits), CLOSED (closed or merged).
    pub event: PullRequestEvent,
    pub source_branch: String,
    pub destination_branch: String,
    /// The head commit of the source branch.
    pub commit: String,
    pub number: Option<u64>,
    pub title: Option<String>,
}

/// What a delivery asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitEvent {
    Ping,
    Push(Push),
    PullRequest(PullRequest),
    /// An event or action Sluice does not act on (answered 202): its name, for the log.
    Other(String),
}

/// Why a delivery's payload cannot be read. Answered as 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the delivery has no {0} header naming its event")]
    NoEvent(&'static str),
    #[error("the {event} payload has no {field}")]
    Missing { event: String, field: &'static str },
}

fn text<'a>(payload: &'a Value, pointer: &str) -> Option<&'a str> {
    payload.pointer(pointer).and_then(Value::as_str)
}

fn required(
    payload: &Value,
    event: &str,
    pointer: &str,
    field: &'static str,
) -> Result<String, EventError> {
    text(payload, pointer)
        .map(str::to_string)
        .ok_or_else(|| EventError::Missing {
            event: event.to_string(),
            field,
        })
}

/// A commit id of zeros: git's way of saying a ref did not exist before, or no longer exists.
fn is_null_commit(commit: &str) -> bool {
    !commit.is_empty() && commit.bytes().all(|b| b == b'0')
}

/// Files of the commits listed in a GitHub or GitLab push (`commits[].added|modified|removed`).
fn commit_files(payload: &Value) -> Vec<String> {
    let mut files = Vec::new();
    for commit in payload
        .get("commits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for list in ["added", "modified", "removed"] {
            for file in commit
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !files.iter().any(|f| f == file) {
                    files.push(file.to_string());
                }
            }
        }
    }
    files
}

/// Reads a delivery of `provider` whose event header says `event` (None when it has none).
pub fn read_event(
    provider: GitProvider,
    event: Option<&str>,
    payload: &Value,
) -> Result<GitEvent, EventError> {
    let event = event.ok_or(EventError::NoEvent(provider.event_header()))?;
    match provider {
        GitProvider::GitHub => github(event, payload),
        GitProvider::Bitbucket => bitbucket(event, payload),
        GitProvider::GitLab => gitlab(event, payload),
    }
}

/// A push as GitHub and GitLab describe it: `ref`, `after` (zeros for a deletion, which GitHub also
/// flags as `deleted`), the repository at `repository` (a JSON pointer and its name for messages), and
/// the commit message at `message` (`/commits/-1/…` is the last commit).
fn ref_push(
    payload: &Value,
    event: &str,
    repository: (&str, &'static str),
    message: &str,
) -> Result<GitEvent, EventError> {
    let full_ref = required(payload, event, "/ref", "ref")?;
    let Some(git_ref) = GitRef::parse(&full_ref) else {
        return Ok(GitEvent::Other(format!("{event} of {full_ref}")));
    };
    let commit = text(payload, "/after").unwrap_or_default().to_string();
    let deleted =
        payload.get("deleted").and_then(Value::as_bool) == Some(true) || is_null_commit(&commit);
    let message = match message.strip_prefix("/commits/-1") {
        Some(rest) => payload
            .get("commits")
            .and_then(Value::as_array)
            .and_then(|c| c.last())
            .and_then(|c| text(c, rest)),
        None => text(payload, message),
    };
    Ok(GitEvent::Push(Push {
        repository: required(payload, event, repository.0, repository.1)?,
        git_ref,
        commit: if deleted { String::new() } else { commit },
        deleted,
        changed_files: commit_files(payload),
        commit_message: message.map(str::to_string),
    }))
}

fn github(event: &str, payload: &Value) -> Result<GitEvent, EventError> {
    match event {
        "ping" => Ok(GitEvent::Ping),
        "push" => ref_push(
            payload,
            event,
            ("/repository/full_name", "repository.full_name"),
            "/head_commit/message",
        ),
        "pull_request" => {
            let action = required(payload, event, "/action", "action")?;
            let event_kind = match action.as_str() {
                "opened" | "reopened" => PullRequestEvent::Open,
                "synchronize" => PullRequestEvent::Updated,
                "closed" => PullRequestEvent::Closed,
                other => return Ok(GitEvent::Other(format!("pull_request {other}"))),
            };
            Ok(GitEvent::PullRequest(PullRequest {
                repository: required(
                    payload,
                    event,
                    "/repository/full_name",
                    "repository.full_name",
                )?,
                event: event_kind,
                source_branch: required(
                    payload,
                    event,
                    "/pull_request/head/ref",
                    "pull_request.head.ref",
                )?,
                destination_branch: required(
                    payload,
                    event,
                    "/pull_request/base/ref",
                    "pull_request.base.ref",
                )?,
                commit: required(
                    payload,
                    event,
                    "/pull_request/head/sha",
                    "pull_request.head.sha",
                )?,
                number: payload.get("number").and_then(Value::as_u64),
                title: text(payload, "/pull_request/title").map(str::to_string),
            }))
        }
        other => Ok(GitEvent::Other(other.to_string())),
    }
}

fn bitbucket(event: &str, payload: &Value) -> Result<GitEvent, EventError> {
    let repository = || {
        required(
            payload,
            event,
            "/repository/full_name",
            "repository.full_name",
        )
    };
    match event {
        "diagnostics:ping" => Ok(GitEvent::Ping),
        "repo:push" => {
            // One push may change several refs; Sluice acts on the first (Bitbucket sends one per ref
            // for ordinary pushes).
            let Some(change) = payload.pointer("/push/changes/0") else {
                return Err(EventError::Missing {
                    event: event.to_string(),
                    field: "push.changes",
                });
            };
            let new = change.get("new").filter(|n| !n.is_null());
            let side = new
                .or_else(|| change.get("old"))
                .ok_or(EventError::Missing {
                    event: event.to_string(),
                    field: "push.changes[0].new",
                })?;
            let name = required(side, event, "/name", "push.changes[0].new.name")?;
            let git_ref = match text(side, "/type") {
                Some("tag") | Some("annotated_tag") => GitRef::Tag(name),
                Some("branch") | Some("named_branch") => GitRef::Branch(name),
                other => {
                    return Ok(GitEvent::Other(format!(
                        "repo:push of a {}",
                        other.unwrap_or("ref")
                    )));
                }
            };
            let deleted = new.is_none();
            Ok(GitEvent::Push(Push {
                repository: repository()?,
                git_ref,
                commit: if deleted {
                    String::new()
                } else {
                    text(side, "/target/hash").unwrap_or_default().to_string()
                },
                deleted,
                changed_files: Vec::new(),
                commit_message: text(side, "/target/message").map(str::to_string),
            }))
        }
        "pullrequest:created"
        | "pullrequest:updated"
        | "pullrequest:fulfilled"
        | "pullrequest:rejected" => {
            let event_kind = match event {
                "pullrequest:created" => PullRequestEvent::Open,
                "pullrequest:updated" => PullRequestEvent::Updated,
                _ => PullRequestEvent::Closed,
            };
            Ok(GitEvent::PullRequest(PullRequest {
                repository: repository()?,
                event: event_kind,
                source_branch: required(
                    payload,
                    event,
                    "/pullrequest/source/branch/name",
                    "pullrequest.source.branch.name",
                )?,
                destination_branch: required(
                    payload,
                    event,
                    "/pullrequest/destination/branch/name",
                    "pullrequest.destination.branch.name",
                )?,
                commit: required(
                    payload,
                    event,
                    "/pullrequest/source/commit/hash",
                    "pullrequest.source.commit.hash",
                )?,
                number: payload.pointer("/pullrequest/id").and_then(Value::as_u64),
                title: text(payload, "/pullrequest/title").map(str::to_string),
            }))
        }
        other => Ok(GitEvent::Other(other.to_string())),
    }
}

fn gitlab(event: &str, payload: &Value) -> Result<GitEvent, EventError> {
    let repository = || {
        required(
            payload,
            event,
            "/project/path_with_namespace",
            "project.path_with_namespace",
        )
    };
    match event {
        // GitLab lists the commits oldest first; the last is the one pushed.
        "Push Hook" | "Tag Push Hook" => ref_push(
            payload,
            event,
            (
                "/project/path_with_namespace",
                "project.path_with_namespace",
            ),
            "/commits/-1/message",
        ),
        "Merge Request Hook" => {
            let action = text(payload, "/object_attributes/action").unwrap_or_default();
            let event_kind = match action {
                "open" | "reopen" => PullRequestEvent::Open,
                "update" => PullRequestEvent::Updated,
                "close" | "merge" => PullRequestEvent::Closed,
                other => return Ok(GitEvent::Other(format!("{event} {other}"))),
            };
            Ok(GitEvent::PullRequest(PullRequest {
                repository: repository()?,
                event: event_kind,
                source_branch: required(
                    payload,
                    event,
                    "/object_attributes/source_branch",
                    "object_attributes.source_branch",
                )?,
                destination_branch: required(
                    payload,
                    event,
                    "/object_attributes/target_branch",
                    "object_attributes.target_branch",
                )?,
                commit: required(
                    payload,
                    event,
                    "/object_attributes/last_commit/id",
                    "object_attributes.last_commit.id",
                )?,
                number: payload
                    .pointer("/object_attributes/iid")
                    .and_then(Value::as_u64),
                title: text(payload, "/object_attributes/title").map(str::to_string),
            }))
        }
        other => Ok(GitEvent::Other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_pushes_of_branches_tags_and_deletions() {
        let push = json!({
            "ref": "refs/heads/main", "after": "abc123", "deleted": false,
            "repository": {"full_name": "octo/app"},
            "head_commit": {"message": "Fix"},
            "commits": [{"added": ["a.txt"], "modified": ["src/b.rs"], "removed": []},
                        {"added": [], "modified": ["a.txt"], "removed": ["c"]}]
        });
        let GitEvent::Push(read) = read_event(GitProvider::GitHub, Some("push"), &push).unwrap()
        else {
            panic!("a push");
        };
        assert_eq!(read.git_ref, GitRef::Branch("main".into()));
        assert_eq!(read.changed_files, ["a.txt", "src/b.rs", "c"]);
        assert!(!read.deleted);
        let tag =
            json!({"ref": "refs/tags/v1.0", "after": "abc", "repository": {"full_name": "o/r"}});
        let GitEvent::Push(read) = read_event(GitProvider::GitHub, Some("push"), &tag).unwrap()
        else {
            panic!("a push");
        };
        assert_eq!(read.git_ref, GitRef::Tag("v1.0".into()));
        let deletion = json!({"ref": "refs/heads/x", "after": "0000000000000000000000000000000000000000",
                              "deleted": true, "repository": {"full_name": "o/r"}});
        let GitEvent::Push(read) =
            read_event(GitProvider::GitHub, Some("push"), &deletion).unwrap()
        else {
            panic!("a push");
        };
        assert!(read.deleted);
        assert_eq!(read.commit, "");
    }

    #[test]
    fn missing_fields_and_headers_are_named() {
        assert_eq!(
            read_event(GitProvider::GitHub, None, &json!({})),
            Err(EventError::NoEvent("x-github-event"))
        );
        assert_eq!(
            read_event(
                GitProvider::GitHub,
                Some("push"),
                &json!({"ref": "refs/heads/m"})
            ),
            Err(EventError::Missing {
                event: "push".into(),
                field: "repository.full_name"
            })
        );
        assert_eq!(
            read_event(GitProvider::GitHub, Some("issues"), &json!({})),
            Ok(GitEvent::Other("issues".into()))
        );
    }

    #[test]
    fn pull_request_actions_map_to_codepipelines_events() {
        let pr = |action: &str| {
            json!({
                "action": action, "number": 7,
                "repository": {"full_name": "o/r"},
                "pull_request": {"head": {"ref": "feature", "sha": "f00"}, "base": {"ref": "main"}, "title": "T"}
            })
        };
        for (action, event) in [
            ("opened", PullRequestEvent::Open),
            ("reopened", PullRequestEvent::Open),
            ("synchronize", PullRequestEvent::Updated),
            ("closed", PullRequestEvent::Closed),
        ] {
            let GitEvent::PullRequest(read) =
                read_event(GitProvider::GitHub, Some("pull_request"), &pr(action)).unwrap()
            else {
                panic!("a pull request");
            };
            assert_eq!(read.event, event);
            assert_eq!(read.destination_branch, "main");
            assert_eq!(read.commit, "f00");
        }
        assert_eq!(
            read_event(GitProvider::GitHub, Some("pull_request"), &pr("labeled")),
            Ok(GitEvent::Other("pull_request labeled".into()))
        );
    }

    #[test]
    fn bitbucket_and_gitlab_read_alike() {
        let bitbucket = json!({
            "repository": {"full_name": "team/app"},
            "push": {"changes": [{"new": {"type": "branch", "name": "main", "target": {"hash": "b1"}}, "old": null}]}
        });
        let GitEvent::Push(read) =
            read_event(GitProvider::Bitbucket, Some("repo:push"), &bitbucket).unwrap()
        else {
            panic!("a push");
        };
        assert_eq!(
            (read.repository.as_str(), read.commit.as_str()),
            ("team/app", "b1")
        );
        let removed = json!({
            "repository": {"full_name": "team/app"},
            "push": {"changes": [{"new": null, "old": {"type": "branch", "name": "gone"}}]}
        });
        let GitEvent::Push(read) =
            read_event(GitProvider::Bitbucket, Some("repo:push"), &removed).unwrap()
        else {
            panic!("a push");
        };
        assert!(read.deleted);
        let gitlab = json!({
            "ref": "refs/heads/main", "after": "c1",
            "project": {"path_with_namespace": "group/app"},
            "commits": [{"message": "m", "added": ["x"], "modified": [], "removed": []}]
        });
        let GitEvent::Push(read) =
            read_event(GitProvider::GitLab, Some("Push Hook"), &gitlab).unwrap()
        else {
            panic!("a push");
        };
        assert_eq!(
            (read.repository.as_str(), read.changed_files.as_slice()),
            ("group/app", &["x".to_string()][..])
        );
        let mr = json!({
            "project": {"path_with_namespace": "group/app"},
            "object_attributes": {"action": "merge", "source_branch": "f", "target_branch": "main",
                                   "last_commit": {"id": "c2"}, "iid": 3}
        });
        let GitEvent::PullRequest(read) =
            read_event(GitProvider::GitLab, Some("Merge Request Hook"), &mr).unwrap()
        else {
            panic!("a merge request");
        };
        assert_eq!(read.event, PullRequestEvent::Closed);
    }
}
