//! Secrets Manager secrets against moto_server: sluice-core's secrets contract, the customer key on every
//! secret, deletion without a recovery window, and a secret someone scheduled for deletion.

mod common;

use aws_sdk_secretsmanager::Client;

use common::Moto;
use sluice_aws::secrets::SecretsManagerSecrets;
use sluice_core::contract::secrets_contract;
use sluice_core::port::{SecretError, SecretValue, Secrets};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1f9f2c47-6c4e-4c55-9d7e-3a5bd5f0b0a1";

async fn client(moto: &Moto) -> Client {
    Client::new(&moto.config().await.sdk)
}

#[tokio::test]
async fn secrets_manager_keeps_the_secrets_contract() {
    let moto = Moto::start();
    secrets_contract(&SecretsManagerSecrets::new(client(&moto).await, KEY_ARN)).await;
}

#[tokio::test]
async fn secrets_are_encrypted_with_the_customer_key_text_as_string_bytes_as_binary() {
    let moto = Moto::start();
    let raw = client(&moto).await;
    let secrets = SecretsManagerSecrets::new(raw.clone(), KEY_ARN);
    secrets
        .put_secret("webhook/Release", &SecretValue::from("text"))
        .await
        .unwrap();
    secrets
        .put_secret("signing/key", &SecretValue::new(vec![0xff, 0x00, 0x80]))
        .await
        .unwrap();
    for name in ["webhook/Release", "signing/key"] {
        let described = raw.describe_secret().secret_id(name).send().await.unwrap();
        assert_eq!(
            described.kms_key_id(),
            Some(KEY_ARN),
            "{name} uses the customer key"
        );
    }
    let text = raw
        .get_secret_value()
        .secret_id("webhook/Release")
        .send()
        .await
        .unwrap();
    assert_eq!(text.secret_string(), Some("text"));
    assert!(text.secret_binary().is_none());
    let binary = raw
        .get_secret_value()
        .secret_id("signing/key")
        .send()
        .await
        .unwrap();
    assert_eq!(
        binary.secret_binary().map(|b| b.as_ref()),
        Some(&[0xff, 0x00, 0x80][..])
    );
    assert!(binary.secret_string().is_none());
}

#[tokio::test]
async fn deleting_removes_the_secret_at_once_without_a_recovery_window() {
    let moto = Moto::start();
    let raw = client(&moto).await;
    let secrets = SecretsManagerSecrets::new(raw.clone(), KEY_ARN);
    secrets
        .put_secret("webhook/Gone", &SecretValue::from("v"))
        .await
        .unwrap();
    secrets.delete_secret("webhook/Gone").await.unwrap();
    let described = raw.describe_secret().secret_id("webhook/Gone").send().await;
    let error = described.expect_err("the secret is not merely scheduled for deletion");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&error),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_reads_as_missing_and_a_put_restores_and_replaces_it() {
    let moto = Moto::start();
    let raw = client(&moto).await;
    let secrets = SecretsManagerSecrets::new(raw.clone(), KEY_ARN);
    secrets
        .put_secret("webhook/Again", &SecretValue::from("old"))
        .await
        .unwrap();
    raw.delete_secret()
        .secret_id("webhook/Again")
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert!(
        secrets.secret("webhook/Again").await.unwrap().is_none(),
        "a secret on its way out is not served"
    );
    secrets
        .put_secret("webhook/Again", &SecretValue::from("new"))
        .await
        .unwrap();
    let read = secrets.secret("webhook/Again").await.unwrap().unwrap();
    assert_eq!(read.expose_str(), Some("new"));
    let described = raw
        .describe_secret()
        .secret_id("webhook/Again")
        .send()
        .await
        .unwrap();
    assert!(
        described.deleted_date().is_none(),
        "the deletion was cancelled"
    );
}

#[tokio::test]
async fn a_prefix_names_the_stacks_secrets_and_counts_toward_the_512_characters() {
    let moto = Moto::start();
    let raw = client(&moto).await;
    let secrets = SecretsManagerSecrets::new(raw.clone(), KEY_ARN).with_prefix("sluice/prod/");
    secrets
        .put_secret("webhook/Release", &SecretValue::from("v"))
        .await
        .unwrap();
    let stored = raw
        .get_secret_value()
        .secret_id("sluice/prod/webhook/Release")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.secret_string(), Some("v"));
    let too_long = "n".repeat(510);
    match secrets.put_secret(&too_long, &SecretValue::from("v")).await {
        Err(SecretError::Invalid {
            field: "name",
            rule,
        }) => {
            assert!(rule.contains("sluice/prod/"), "{rule}")
        }
        other => panic!("expected the name refused, got {other:?}"),
    }
    let listed = raw.list_secrets().send().await.unwrap();
    let names: Vec<&str> = listed
        .secret_list()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(
        names,
        ["sluice/prod/webhook/Release"],
        "nothing else was created"
    );
}
