//! Which pipelines a git event starts, as CodePipeline decides it:
//! - a V2 pipeline's `triggers` (gitConfiguration): push filters on branches (with file paths) or tags,
//!   pull-request filters on events, destination branches and file paths; includes and excludes are
//!   CodePipeline's glob patterns, an exclude wins, and any one filter of a trigger is enough;
//! - a connection source action (`CodeStarSourceConnection`) without a trigger: a push to its
//!   `BranchName` of its `FullRepositoryId`, unless `DetectChanges` is false;
//! - a GitHub (version 1) source action: a push to its `Branch` of `Owner`/`Repo`;
//! - a PutWebhook definition: its JSONPath filters over the payload, `{ConfigKey}` placeholders filled
//!   from its target action's configuration.
//!
//! https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-filter.html,
//! https://docs.aws.amazon.com/codepipeline/latest/userguide/syntax-glob.html,
//! https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_WebhookFilterRule.html

use globset::{GlobBuilder, GlobMatcher};
use serde_json::Value;

use super::event::{GitEvent, GitRef, PullRequest, Push};
use crate::pipeline::declaration::{
    ActionCategory, ActionDeclaration, ActionOwner, GitFilterCriteria, PipelineDeclaration,
};
use crate::record::{ExecutionTrigger, SourceRevisionOverride};

/// The trigger type of executions a connection trigger starts.
pub const WEBHOOK_V2: &str = "WebhookV2";
/// The trigger type of executions a GitHub (version 1) webhook starts.
pub const WEBHOOK: &str = "Webhook";

/// What a matched delivery starts in one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineMatch {
    pub pipeline: String,
    pub trigger: ExecutionTrigger,
    /// The delivered commit, pinned for each source action that matched.
    pub revisions: Vec<SourceRevisionOverride>,
}

/// One CodePipeline glob: `*` and `?` within a path segment, `**` across them, `[...]`, `{a,b}`, `\`
/// escapes. A pattern that is not a glob (an unclosed `[`) matches only itself, literally.
fn glob(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

fn matches_pattern(pattern: &str, value: &str) -> bool {
    match glob(pattern) {
        Some(matcher) => matcher.is_match(value),
        None => pattern == value,
    }
}

/// Whether `value` passes `criteria`: not excluded, and included (no includes means everything is).
pub fn passes(criteria: &GitFilterCriteria, value: &str) -> bool {
    let excluded = criteria.excludes.iter().any(|p| matches_pattern(p, value));
    let included =
        criteria.includes.is_empty() || criteria.includes.iter().any(|p| matches_pattern(p, value));
    included && !excluded
}

/// Whether the changed files pass a file-path filter: at least one file is included and not excluded.
fn files_pass(criteria: &Option<GitFilterCriteria>, files: &[String]) -> bool {
    match criteria {
        None => true,
        Some(criteria) => files.iter().any(|file| passes(criteria, file)),
    }
}

fn config<'a>(action: &'a ActionDeclaration, key: &str) -> Option<&'a str> {
    action.configuration.get(key).map(String::as_str)
}

/// The repository a source action watches, and the default branch it builds.
fn watched(action: &ActionDeclaration) -> Option<(String, Option<&str>)> {
    let id = &action.action_type_id;
    if id.category != ActionCategory::Source {
        return None;
    }
    match (id.owner, id.provider.as_str()) {
        (ActionOwner::Aws, "CodeStarSourceConnection") => config(action, "FullRepositoryId")
            .map(|repo| (repo.to_string(), config(action, "BranchName"))),
        (ActionOwner::ThirdParty, "GitHub") => {
            match (config(action, "Owner"), config(action, "Repo")) {
                (Some(owner), Some(repo)) => {
                    Some((format!("{owner}/{repo}"), config(action, "Branch")))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn same_repository(a: &str, b: &str) -> bool {
    // GitHub, Bitbucket and GitLab all treat owner and repository names case-insensitively.
    a.eq_ignore_ascii_case(b)
}

/// Why the event starts nothing in this pipeline, or what it starts.
pub fn match_pipeline(
    declaration: &PipelineDeclaration,
    event: &GitEvent,
) -> Result<PipelineMatch, String> {
    let (repository, commit) = match event {
        GitEvent::Push(push) if push.deleted => {
            return Err("the push deletes a ref, which starts nothing".to_string());
        }
        GitEvent::Push(push) => (&push.repository, &push.commit),
        GitEvent::PullRequest(pr) => (&pr.repository, &pr.commit),
        GitEvent::Ping | GitEvent::Other(_) => return Err("the event starts nothing".to_string()),
    };
    let mut revisions = Vec::new();
    let mut trigger = None;
    let mut why_not = Vec::new();
    let first_stage = declaration
        .stages
        .first()
        .map(|s| s.actions.as_slice())
        .unwrap_or_default();
    for action in first_stage {
        let Some((watched_repository, default_branch)) = watched(action) else {
            continue;
        };
        if !same_repository(&watched_repository, repository) {
            continue;
        }
        let connection = action.action_type_id.provider == "CodeStarSourceConnection";
        let declared = declaration
            .triggers
            .iter()
            .find(|t| t.git_configuration.source_action_name == action.name);
        let outcome = match (declared, event) {
            (Some(declared), GitEvent::Push(push)) => {
                let git = &declared.git_configuration;
                if git.push.iter().any(|filter| push_passes(filter, push)) {
                    Ok(())
                } else {
                    Err(format!(
                        "no push filter of the trigger of source action {} takes {}",
                        action.name,
                        describe_push(push)
                    ))
                }
            }
            (Some(declared), GitEvent::PullRequest(pr)) => {
                let git = &declared.git_configuration;
                if git
                    .pull_request
                    .iter()
                    .any(|filter| pull_passes(filter, pr))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "no pull-request filter of the trigger of source action {} takes {}",
                        action.name,
                        describe_pull(pr)
                    ))
                }
            }
            (None, GitEvent::Push(push)) => {
                if connection
                    && config(action, "DetectChanges")
                        .is_some_and(|d| d.eq_ignore_ascii_case("false"))
                {
                    Err(format!(
                        "source action {} has DetectChanges false",
                        action.name
                    ))
                } else if push.git_ref
                    == GitRef::Branch(default_branch.unwrap_or_default().to_string())
                {
                    Ok(())
                } else {
                    Err(format!(
                        "source action {} builds branch {}, not {}",
                        action.name,
                        default_branch.unwrap_or_default(),
                        describe_push(push)
                    ))
                }
            }
            (None, GitEvent::PullRequest(_)) => Err(format!(
                "source action {} has no trigger for pull requests",
                action.name
            )),
            (_, GitEvent::Ping | GitEvent::Other(_)) => continue,
        };
        match outcome {
            Ok(()) => {
                revisions.push(SourceRevisionOverride {
                    action_name: action.name.clone(),
                    revision_type: "COMMIT_ID".to_string(),
                    revision_value: commit.clone(),
                });
                trigger.get_or_insert_with(|| {
                    if connection {
                        ExecutionTrigger {
                            trigger_type: WEBHOOK_V2.to_string(),
                            trigger_detail: config(action, "ConnectionArn").map(str::to_string),
                        }
                    } else {
                        ExecutionTrigger {
                            trigger_type: WEBHOOK.to_string(),
                            trigger_detail: None,
                        }
                    }
                });
            }
            Err(reason) => why_not.push(reason),
        }
    }
    match trigger {
        Some(trigger) => Ok(PipelineMatch {
            pipeline: declaration.name.clone(),
            trigger,
            revisions,
        }),
        None if why_not.is_empty() => Err(format!("no source action watches {repository}")),
        None => Err(why_not.join("; ")),
    }
}

fn describe_push(push: &Push) -> String {
    match &push.git_ref {
        GitRef::Branch(branch) => format!("a push to branch {branch}"),
        GitRef::Tag(tag) => format!("a push of tag {tag}"),
    }
}

fn describe_pull(pr: &PullRequest) -> String {
    format!(
        "{:?} of a pull request into {}",
        pr.event, pr.destination_branch
    )
}

fn push_passes(filter: &crate::pipeline::declaration::GitPushFilter, push: &Push) -> bool {
    match &push.git_ref {
        GitRef::Tag(tag) => filter.tags.as_ref().is_some_and(|tags| passes(tags, tag)),
        GitRef::Branch(branch) => {
            filter
                .branches
                .as_ref()
                .is_some_and(|branches| passes(branches, branch))
                && files_pass(&filter.file_paths, &push.changed_files)
        }
    }
}

/// A pull-request filter: its events (all three when none are listed), the destination branch, and
/// file paths. A pull-request delivery lists no changed files, so a file-path filter never passes one
/// (docs/decisions.md, "Webhooks").
fn pull_passes(
    filter: &crate::pipeline::declaration::GitPullRequestFilter,
    pr: &PullRequest,
) -> bool {
    let event_listed = filter.events.is_empty() || filter.events.contains(&pr.event);
    event_listed
        && filter
            .branches
            .as_ref()
            .is_some_and(|branches| passes(branches, &pr.destination_branch))
        && files_pass(&filter.file_paths, &[])
}

/// A PutWebhook filter rule: `jsonPath` over the payload, and what it must equal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterRule {
    pub json_path: String,
    #[serde(default)]
    pub match_equals: Option<String>,
}

/// `refs/heads/{Branch}` with the target action's `Branch`: each `{Key}` naming a configuration key of
/// the action is replaced by its value; other braces stay.
pub fn fill_placeholders(template: &str, action: &ActionDeclaration) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match config(action, key) {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a payload passes every filter rule of a PutWebhook definition (CodePipeline: "the request is
/// ignored" otherwise). A rule's path must select a value; with `matchEquals`, the first value selected
/// must equal it (a string as it is, anything else as JSON).
pub fn filters_pass(
    rules: &[FilterRule],
    action: &ActionDeclaration,
    payload: &Value,
) -> Result<(), String> {
    for rule in rules {
        let path = serde_json_path::JsonPath::parse(&rule.json_path).map_err(|e| {
            format!(
                "filter jsonPath {:?} is not a JSONPath: {e}",
                rule.json_path
            )
        })?;
        let selected = path.query(payload).first().cloned();
        let Some(selected) = selected else {
            return Err(format!(
                "filter {} selects nothing in the payload",
                rule.json_path
            ));
        };
        if let Some(expected) = &rule.match_equals {
            let expected = fill_placeholders(expected, action);
            let actual = match selected {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            if actual != expected {
                return Err(format!(
                    "filter {} is {actual:?}, not {expected:?}",
                    rule.json_path
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::declaration::PullRequestEvent;
    use serde_json::json;

    fn criteria(includes: &[&str], excludes: &[&str]) -> GitFilterCriteria {
        GitFilterCriteria {
            includes: includes.iter().map(|s| s.to_string()).collect(),
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn globs_follow_codepipelines_rules() {
        assert!(passes(&criteria(&["main"], &[]), "main"));
        assert!(!passes(&criteria(&["main"], &[]), "main2"));
        assert!(passes(&criteria(&["feature/*"], &[]), "feature/a"));
        assert!(
            !passes(&criteria(&["feature/*"], &[]), "feature/a/b"),
            "* stays in its segment"
        );
        assert!(
            passes(&criteria(&["feature/**"], &[]), "feature/a/b"),
            "** crosses segments"
        );
        assert!(passes(&criteria(&["release-?"], &[]), "release-1"));
        assert!(!passes(&criteria(&["release-?"], &[]), "release-10"));
        assert!(passes(&criteria(&["*.{js,ts}"], &[]), "app.ts"));
        assert!(passes(&criteria(&["v[0-9]*"], &[]), "v1.2"));
        assert!(passes(&criteria(&["\\*"], &[]), "*"));
        assert!(!passes(&criteria(&["\\*"], &[]), "x"));
        assert!(
            !passes(&criteria(&["**"], &["main"]), "main"),
            "an exclude wins"
        );
        assert!(
            passes(&criteria(&[], &["main"]), "dev"),
            "no includes: everything else"
        );
        assert!(
            passes(&criteria(&["["], &[]), "["),
            "a broken glob matches itself"
        );
    }

    fn declaration(triggers: Value) -> PipelineDeclaration {
        serde_json::from_value(json!({
            "name": "P", "pipelineType": "V2",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "bucket"},
            "triggers": triggers,
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                    "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                                      "FullRepositoryId": "Octo/App", "BranchName": "main"},
                    "outputArtifacts": [{"name": "Out"}]
                }]},
                {"name": "Build", "actions": [{
                    "name": "Build",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "Out"}]
                }]}
            ]
        }))
        .expect("the declaration reads")
    }

    fn push(git_ref: GitRef, files: &[&str]) -> GitEvent {
        GitEvent::Push(Push {
            repository: "octo/app".into(),
            git_ref,
            commit: "c0ffee".into(),
            deleted: false,
            changed_files: files.iter().map(|s| s.to_string()).collect(),
            commit_message: None,
        })
    }

    #[test]
    fn without_triggers_a_push_to_the_branch_starts_it() {
        let pipeline = declaration(json!([]));
        let matched = match_pipeline(&pipeline, &push(GitRef::Branch("main".into()), &[])).unwrap();
        assert_eq!(matched.trigger.trigger_type, "WebhookV2");
        assert_eq!(matched.revisions[0].revision_value, "c0ffee");
        assert_eq!(matched.revisions[0].action_name, "Src");
        let other =
            match_pipeline(&pipeline, &push(GitRef::Branch("dev".into()), &[])).unwrap_err();
        assert!(other.contains("builds branch main"), "{other}");
        let mut deletion = push(GitRef::Branch("main".into()), &[]);
        if let GitEvent::Push(p) = &mut deletion {
            p.deleted = true;
        }
        assert!(match_pipeline(&pipeline, &deletion).is_err());
    }

    #[test]
    fn push_filters_on_branches_files_and_tags() {
        let pipeline = declaration(json!([{
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {"sourceActionName": "Src", "push": [
                {"branches": {"includes": ["release/**"]}, "filePaths": {"includes": ["src/**"], "excludes": ["**/*.md"]}},
                {"tags": {"includes": ["v*"], "excludes": ["v0*"]}}
            ]}
        }]));
        let branch = |b: &str, files: &[&str]| {
            match_pipeline(&pipeline, &push(GitRef::Branch(b.into()), files))
        };
        assert!(branch("release/1/x", &["src/a.rs"]).is_ok());
        assert!(
            branch("release/1", &["docs/a.md", "src/b.md"]).is_err(),
            "only excluded files"
        );
        assert!(
            branch("main", &["src/a.rs"]).is_err(),
            "the trigger replaces BranchName"
        );
        let tag = |t: &str| match_pipeline(&pipeline, &push(GitRef::Tag(t.into()), &[]));
        assert!(tag("v1.0").is_ok());
        assert!(tag("v0.9").is_err());
    }

    #[test]
    fn pull_request_filters_on_events_and_destination() {
        let pipeline = declaration(json!([{
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {"sourceActionName": "Src", "pullRequest": [
                {"events": ["OPEN", "UPDATED"], "branches": {"includes": ["main"]}}
            ]}
        }]));
        let pr = |event, into: &str| {
            GitEvent::PullRequest(PullRequest {
                repository: "octo/app".into(),
                event,
                source_branch: "feature".into(),
                destination_branch: into.into(),
                commit: "head".into(),
                number: Some(1),
                title: None,
            })
        };
        let matched = match_pipeline(&pipeline, &pr(PullRequestEvent::Open, "main")).unwrap();
        assert_eq!(matched.revisions[0].revision_value, "head");
        assert!(match_pipeline(&pipeline, &pr(PullRequestEvent::Closed, "main")).is_err());
        assert!(match_pipeline(&pipeline, &pr(PullRequestEvent::Updated, "dev")).is_err());
        assert!(
            match_pipeline(&pipeline, &push(GitRef::Branch("main".into()), &[])).is_err(),
            "no push filter"
        );
    }

    #[test]
    fn webhook_filters_fill_placeholders_from_the_action() {
        let action: ActionDeclaration = serde_json::from_value(json!({
            "name": "Src",
            "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
            "configuration": {"Owner": "o", "Repo": "r", "Branch": "main"}
        }))
        .unwrap();
        assert_eq!(
            fill_placeholders("refs/heads/{Branch}", &action),
            "refs/heads/main"
        );
        assert_eq!(fill_placeholders("{Nope}-{Repo}", &action), "{Nope}-r");
        let rules = vec![FilterRule {
            json_path: "$.ref".into(),
            match_equals: Some("refs/heads/{Branch}".into()),
        }];
        assert_eq!(
            filters_pass(&rules, &action, &json!({"ref": "refs/heads/main"})),
            Ok(())
        );
        assert!(filters_pass(&rules, &action, &json!({"ref": "refs/heads/dev"})).is_err());
        assert!(filters_pass(&rules, &action, &json!({})).is_err());
        let exists = vec![FilterRule {
            json_path: "$.commits[0].id".into(),
            match_equals: None,
        }];
        assert!(filters_pass(&exists, &action, &json!({"commits": [{"id": "x"}]})).is_ok());
    }
}
