//! The webhook receiver's use case over in-memory ports: a delivery is authenticated before anything of
//! it is read, recorded once before the answer, started after it, and a start a crash left unmarked is
//! finished, never doubled.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_core::compile::CompileOptions;
use sluice_core::memory::MemoryPorts;
use sluice_core::pipeline::declaration::PipelineDeclaration;
use sluice_core::port::{ExecutionStore, ResourceStore, SecretValue};
use sluice_core::usecase::execution::{StartRequest, start_once};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_core::usecase::webhook::{
    DELIVERY_KIND, Delivery, Endpoint, Receipt, ReceiverSecrets, WEBHOOK_KIND, WebhookError,
    receive, recover_deliveries, start_delivery,
};
use sluice_core::webhook::event::GitProvider;
use sluice_core::webhook::signature::{SignatureError, sign_sha256};

const SECRET: &[u8] = b"receiver secret";

fn pipeline(name: &str, triggers: Value) -> Value {
    json!({
        "name": name, "roleArn": "arn:aws:iam::123456789012:role/p", "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "triggers": triggers,
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Code",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/c",
                                  "FullRepositoryId": "octo/app", "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Compile",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "compile"},
                "inputArtifacts": [{"name": "Src"}]
            }]}
        ]
    })
}

async fn ports_with(pipelines: &[Value]) -> MemoryPorts {
    let ports = MemoryPorts::default();
    for p in pipelines {
        let declaration: PipelineDeclaration = serde_json::from_value(p.clone()).unwrap();
        put_pipeline(&ports, &declaration, &CompileOptions::default())
            .await
            .unwrap();
    }
    ports
}

fn secrets() -> ReceiverSecrets {
    let mut secrets = ReceiverSecrets::default();
    secrets
        .by_provider
        .insert(GitProvider::GitHub, SecretValue::new(SECRET));
    secrets
}

fn push_body(branch: &str) -> Vec<u8> {
    json!({"ref": format!("refs/heads/{branch}"), "after": "0123abcd", "deleted": false,
           "repository": {"full_name": "octo/app"}, "commits": []})
    .to_string()
    .into_bytes()
}

fn headers(event: &str, id: &str, signature: Option<String>) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::from([
        ("content-type".to_string(), "application/json".to_string()),
        ("x-github-event".to_string(), event.to_string()),
        ("x-github-delivery".to_string(), id.to_string()),
    ]);
    if let Some(signature) = signature {
        headers.insert("x-hub-signature-256".to_string(), signature);
    }
    headers
}

async fn deliver(
    ports: &MemoryPorts,
    endpoint: Endpoint,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Receipt, WebhookError> {
    receive(
        ports,
        &secrets(),
        &Delivery {
            endpoint,
            headers,
            body,
            source: Some("203.0.113.7".parse().unwrap()),
        },
    )
    .await
}

async fn recorded(ports: &MemoryPorts) -> usize {
    ports.store.resources(DELIVERY_KIND).await.unwrap().len()
}

#[tokio::test]
async fn a_signed_push_is_recorded_then_started_once_and_a_redelivery_starts_nothing() {
    let ports = ports_with(&[pipeline("App", json!([]))]).await;
    let body = push_body("main");
    let signed = headers("push", "d-1", Some(sign_sha256(SECRET, &body)));
    let Receipt::Recorded { key, starts } = deliver(
        &ports,
        Endpoint::Provider(GitProvider::GitHub),
        &signed,
        &body,
    )
    .await
    .unwrap() else {
        panic!("a push to main of octo/app is recorded");
    };
    assert_eq!(starts.len(), 1);
    assert!(
        ports.orchestrator.runs().is_empty(),
        "nothing starts before the answer"
    );
    start_delivery(&ports, &key).await.unwrap();
    assert_eq!(ports.orchestrator.runs().len(), 1);
    let execution = ports
        .store
        .execution("App", &starts[0].execution_id)
        .await
        .unwrap()
        .expect("the planned execution id is the execution's");
    assert_eq!(execution.trigger.trigger_type, "WebhookV2");
    assert_eq!(
        execution.trigger.trigger_detail.as_deref(),
        Some("arn:aws:codeconnections:us-east-1:123456789012:connection/c")
    );
    assert_eq!(execution.source_revisions[0].revision_value, "0123abcd");
    assert_eq!(execution.source_revisions[0].action_name, "Code");
    // A redelivery (same X-GitHub-Delivery) is answered and starts nothing, even after a restart.
    assert!(matches!(
        deliver(
            &ports,
            Endpoint::Provider(GitProvider::GitHub),
            &signed,
            &body
        )
        .await,
        Ok(Receipt::Duplicate { .. })
    ));
    start_delivery(&ports, &key).await.unwrap();
    assert!(recover_deliveries(&ports).await.unwrap().is_empty());
    assert_eq!(ports.orchestrator.runs().len(), 1);
}

#[tokio::test]
async fn a_crash_before_the_start_or_before_its_mark_is_recovered_without_a_second_execution() {
    let ports = ports_with(&[pipeline("App", json!([]))]).await;
    let body = push_body("main");
    // Crash 1: recorded, never started (the process died after answering).
    let Receipt::Recorded { .. } = deliver(
        &ports,
        Endpoint::Provider(GitProvider::GitHub),
        &headers("push", "d-1", Some(sign_sha256(SECRET, &body))),
        &body,
    )
    .await
    .unwrap() else {
        panic!("recorded");
    };
    // Crash 2: started, but the process died before it marked the start.
    let Receipt::Recorded { starts, .. } = deliver(
        &ports,
        Endpoint::Provider(GitProvider::GitHub),
        &headers("push", "d-2", Some(sign_sha256(SECRET, &body))),
        &body,
    )
    .await
    .unwrap() else {
        panic!("recorded");
    };
    start_once(
        &ports,
        "App",
        StartRequest {
            pipeline_execution_id: Some(starts[0].execution_id.clone()),
            ..StartRequest::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ports.orchestrator.runs().len(), 1);
    let recovered = recover_deliveries(&ports).await.unwrap();
    assert_eq!(recovered.len(), 2, "{recovered:?}");
    assert_eq!(
        ports.orchestrator.runs().len(),
        2,
        "one execution per delivery, the half-done one not doubled"
    );
    assert!(recover_deliveries(&ports).await.unwrap().is_empty());
}

#[tokio::test]
async fn unsigned_badly_signed_and_sha1_only_deliveries_are_refused_and_record_nothing() {
    let ports = ports_with(&[pipeline("App", json!([]))]).await;
    let body = push_body("main");
    let github = || Endpoint::Provider(GitProvider::GitHub);
    let cases = [
        (headers("push", "a", None), "unsigned"),
        (
            headers("push", "b", Some(sign_sha256(b"wrong secret", &body))),
            "wrong secret",
        ),
        (
            headers("push", "c", Some(sign_sha256(SECRET, b"another body"))),
            "tampered",
        ),
    ];
    for (headers, what) in cases {
        assert!(
            matches!(
                deliver(&ports, github(), &headers, &body).await,
                Err(WebhookError::Unauthorized(_))
            ),
            "{what}"
        );
    }
    let mut sha1 = headers("push", "d", None);
    sha1.insert("x-hub-signature".into(), "sha1=0123".into());
    assert!(matches!(
        deliver(&ports, github(), &sha1, &body).await,
        Err(WebhookError::Unauthorized(SignatureError::Sha1Only))
    ));
    // No secret configured for GitLab: every GitLab delivery is refused.
    assert!(matches!(
        deliver(
            &ports,
            Endpoint::Provider(GitProvider::GitLab),
            &BTreeMap::new(),
            &body
        )
        .await,
        Err(WebhookError::Unauthorized(SignatureError::NoSecret(_)))
    ));
    assert_eq!(recorded(&ports).await, 0);
    assert!(ports.orchestrator.runs().is_empty());
}

#[tokio::test]
async fn pings_other_events_and_unmatched_pushes_start_nothing() {
    let ports = ports_with(&[pipeline("App", json!([]))]).await;
    let ping = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
    let github = || Endpoint::Provider(GitProvider::GitHub);
    assert_eq!(
        deliver(
            &ports,
            github(),
            &headers("ping", "p", Some(sign_sha256(SECRET, ping))),
            ping
        )
        .await
        .unwrap(),
        Receipt::Pong
    );
    assert!(matches!(
        deliver(
            &ports,
            github(),
            &headers("issues", "i", Some(sign_sha256(SECRET, ping))),
            ping
        )
        .await,
        Ok(Receipt::Ignored(_))
    ));
    let body = push_body("feature");
    let Receipt::NoMatch { why } = deliver(
        &ports,
        github(),
        &headers("push", "f", Some(sign_sha256(SECRET, &body))),
        &body,
    )
    .await
    .unwrap() else {
        panic!("a push to another branch matches nothing");
    };
    assert!(
        why.contains("App: source action Code builds branch main"),
        "{why}"
    );
    assert_eq!(recorded(&ports).await, 0);
}

#[tokio::test]
async fn a_putwebhook_url_uses_its_own_authentication_and_filters() {
    let ports = ports_with(&[pipeline("App", json!([]))]).await;
    let webhook = |auth: &str, config: Value| {
        json!({
            "definition": {
                "name": format!("hook-{auth}"), "targetPipeline": "App", "targetAction": "Code",
                "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
                "authentication": auth, "authenticationConfiguration": config
            },
            "url": format!("http://127.0.0.1:4570/webhooks/token{auth}"),
            "arn": format!("arn:aws:codepipeline:us-east-1:123456789012:webhook:hook-{auth}")
        })
    };
    for (auth, config) in [
        ("GITHUB_HMAC", json!({"SecretToken": "hook secret"})),
        ("IP", json!({"AllowedIPRange": "203.0.113.0/24"})),
        ("UNAUTHENTICATED", json!({})),
    ] {
        ports
            .store
            .put_resource(
                WEBHOOK_KIND,
                &format!("hook-{auth}"),
                &webhook(auth, config),
                0,
            )
            .await
            .unwrap();
    }
    let body = push_body("main");
    let endpoint = |auth: &str| Endpoint::Webhook(format!("token{auth}"));
    let signed = headers("push", "w1", Some(sign_sha256(b"hook secret", &body)));
    let Receipt::Recorded { starts, .. } = deliver(&ports, endpoint("GITHUB_HMAC"), &signed, &body)
        .await
        .unwrap()
    else {
        panic!("signed with the webhook's own token");
    };
    assert_eq!(starts[0].trigger.trigger_type, "Webhook");
    assert_eq!(
        starts[0].trigger.trigger_detail.as_deref(),
        Some("arn:aws:codepipeline:us-east-1:123456789012:webhook:hook-GITHUB_HMAC")
    );
    // The receiver's secret is not this webhook's.
    let receiver_signed = headers("push", "w2", Some(sign_sha256(SECRET, &body)));
    assert!(matches!(
        deliver(&ports, endpoint("GITHUB_HMAC"), &receiver_signed, &body).await,
        Err(WebhookError::Unauthorized(_))
    ));
    // IP: the source address 203.0.113.7 is in range; no signature needed.
    assert!(matches!(
        deliver(&ports, endpoint("IP"), &headers("push", "w3", None), &body).await,
        Ok(Receipt::Recorded { .. })
    ));
    // The filter: refs/heads/{BranchName} is refs/heads/main.
    let other = push_body("dev");
    assert!(matches!(
        deliver(
            &ports,
            endpoint("UNAUTHENTICATED"),
            &headers("push", "w4", None),
            &other
        )
        .await,
        Ok(Receipt::NoMatch { .. })
    ));
    assert!(matches!(
        deliver(
            &ports,
            Endpoint::Webhook("nope".into()),
            &headers("push", "w5", None),
            &body
        )
        .await,
        Err(WebhookError::UnknownWebhook)
    ));
}
