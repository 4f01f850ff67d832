//! Webhook deliveries (anyone on the network can send one): the body's decoding, the signature check,
//! the three providers' payloads, PutWebhook definitions and matching against a pipeline never panic.

use proptest::prelude::*;
use serde_json::json;
use sluice_core::pipeline::declaration::PipelineDeclaration;
use sluice_core::webhook::event::{GitProvider, read_event};
use sluice_core::webhook::matching::{FilterRule, filters_pass, match_pipeline};
use sluice_core::webhook::signature::{verify_sha256, verify_token};
use sluice_core::webhook::{check_definition, in_range, payload};

use crate::{config, json_value, mutate, text_from};

const EVENTS: [&str; 10] = [
    "push",
    "pull_request",
    "ping",
    "repo:push",
    "pullrequest:created",
    "pullrequest:fulfilled",
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "issues",
];

fn push() -> serde_json::Value {
    json!({
        "ref": "refs/heads/main", "after": "abc", "deleted": false,
        "repository": {"full_name": "o/r"}, "project": {"path_with_namespace": "o/r"},
        "commits": [{"added": ["a"], "modified": [], "removed": []}],
        "action": "opened",
        "pull_request": {"head": {"ref": "f", "sha": "1"}, "base": {"ref": "main"}},
        "push": {"changes": [{"new": {"type": "branch", "name": "main", "target": {"hash": "h"}}}]},
        "object_attributes": {"action": "open", "source_branch": "f", "target_branch": "main", "last_commit": {"id": "c"}}
    })
}

fn pipeline() -> PipelineDeclaration {
    serde_json::from_value(json!({
        "name": "P", "pipelineType": "V2", "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "b"},
        "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
            "sourceActionName": "S",
            "push": [{"branches": {"includes": ["ma[", "**"], "excludes": ["{a,"]}, "filePaths": {"includes": ["\\"]}}],
            "pullRequest": [{"branches": {"includes": ["*"]}}]
        }}],
        "stages": [{"name": "Source", "actions": [{
            "name": "S",
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
            "configuration": {"FullRepositoryId": "o/r", "BranchName": "main", "ConnectionArn": "c"},
            "outputArtifacts": [{"name": "A"}]
        }]}]
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bodies_and_content_types_never_panic(
        content_type in text_from("application/jsonx-www-form-urlencoded; charset=", 48),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        form in text_from("payload=%{}\"+&0123456789abcdefABCDEF", 64),
    ) {
        let _ = payload(Some(&content_type), &body);
        let _ = payload(Some("application/x-www-form-urlencoded"), form.as_bytes());
    }

    #[test]
    fn signature_headers_never_panic_and_forgeries_fail(
        header in text_from("sha256=0123456789abcdef", 80),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // A header the generator made is, but for a 2^-256 chance, not the body's signature.
        prop_assert!(verify_sha256("X-Hub-Signature-256", Some(&header), b"secret", &body).is_err());
        let _ = verify_token("X-Gitlab-Token", Some(&header), b"secret");
    }

    #[test]
    fn payloads_of_every_provider_never_panic_and_match_without_panicking(
        event in proptest::sample::select(EVENTS.to_vec()),
        choice in any::<usize>(),
        replacement in json_value(),
        random in json_value(),
    ) {
        let declaration = pipeline();
        for document in [mutate(&push(), choice, replacement), random] {
            for provider in [GitProvider::GitHub, GitProvider::Bitbucket, GitProvider::GitLab] {
                if let Ok(read) = read_event(provider, Some(event), &document) {
                    let _ = match_pipeline(&declaration, &read);
                }
            }
            let action = &declaration.stages[0].actions[0];
            let rules = vec![FilterRule { json_path: "$.ref".into(), match_equals: Some("refs/heads/{BranchName}".into()) }];
            let _ = filters_pass(&rules, action, &document);
        }
    }

    #[test]
    fn webhook_definitions_and_ranges_never_panic(
        definition in json_value(),
        path in text_from("$.[]*?()@'\"=<>!0123456789abc", 32),
        range in text_from("0123456789abcdef.:/", 48),
    ) {
        let _ = check_definition(&definition);
        let _ = check_definition(&json!({"filters": [{"jsonPath": path}], "authentication": "IP",
                                         "authenticationConfiguration": {"AllowedIPRange": range.clone()}}));
        let _ = in_range(&range, "10.0.0.1".parse().unwrap());
        let _ = in_range(&range, "2001:db8::1".parse().unwrap());
    }
}
