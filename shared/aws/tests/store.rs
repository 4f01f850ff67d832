//! The store contract every store adapter keeps, run against the DynamoDB store on moto_server.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;

use sluice_aws::dynamo::DynamoStore;
use sluice_core::contract::store_contract;
use sluice_core::port::ResourceStore;

#[tokio::test]
async fn the_dynamodb_store_keeps_the_store_contract() {
    let moto = common::Moto::start();
    let store = DynamoStore::new(moto.config().await.dynamodb(), "sluice");
    store.create_table().await.unwrap();
    store_contract(&store).await;
}

#[tokio::test]
async fn the_contract_holds_when_every_listing_takes_several_pages() {
    let moto = common::Moto::start();
    let store = DynamoStore::new(moto.config().await.dynamodb(), "sluice").with_page_size(1);
    store.create_table().await.unwrap();
    store_contract(&store).await;
}

/// The item as stored, read past the adapter.
async fn raw_item(
    client: &aws_sdk_dynamodb::Client,
    pk: &str,
    sk: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name("sluice")
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("{pk} {sk} is stored"))
}

#[tokio::test]
async fn a_client_request_token_expires_and_can_then_be_taken_again() {
    let moto = common::Moto::start();
    let client = moto.config().await.dynamodb();
    let store = DynamoStore::new(client.clone(), "sluice");
    store.create_table().await.unwrap();
    let reservation = serde_json::json!({"executionId": "e1"});
    store
        .put_resource("client-request-token", "P/t1", &reservation, 0)
        .await
        .unwrap();
    let item = raw_item(&client, "R#client-request-token", "P/t1").await;
    let expires: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 24 * 3600 - 5..=now + 24 * 3600 + 5).contains(&expires),
        "kept for a day: {expires} vs now {now}"
    );
    // DynamoDB deletes expired items late: an expired reservation reads as gone and can be taken again.
    client
        .update_item()
        .table_name("sluice")
        .key("PK", AttributeValue::S("R#client-request-token".into()))
        .key("SK", AttributeValue::S("P/t1".into()))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N((now - 1).to_string()))
        .send()
        .await
        .unwrap();
    assert!(
        store
            .resource("client-request-token", "P/t1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .resources("client-request-token")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .put_resource("client-request-token", "P/t1", &reservation, 0)
        .await
        .unwrap();
    // Other kinds never expire.
    store
        .put_resource("webhook", "w", &reservation, 0)
        .await
        .unwrap();
    let item = raw_item(&client, "R#webhook", "w").await;
    assert!(!item.contains_key("expires_at"));
}

#[tokio::test]
async fn a_stale_write_says_which_version_won() {
    use sluice_core::port::ExecutionStore;
    use sluice_core::port::StoreError;
    let moto = common::Moto::start();
    let store = DynamoStore::new(moto.config().await.dynamodb(), "sluice");
    store.create_table().await.unwrap();
    let execution: sluice_core::record::PipelineExecution = serde_json::from_value(serde_json::json!({
        "pipelineName": "P", "pipelineVersion": 1, "pipelineExecutionId": "e1", "status": "InProgress",
        "executionMode": "SUPERSEDED", "trigger": {"triggerType": "StartPipelineExecution"},
        "variables": {}, "sourceRevisions": [], "startTime": 1000, "lastUpdateTime": 1000, "recordVersion": 0
    }))
    .unwrap();
    store.create_execution(&execution).await.unwrap();
    store.update_execution(&execution).await.unwrap();
    match store.update_execution(&execution).await {
        Err(StoreError::Conflict { what }) => {
            assert_eq!(what, "pipeline execution e1 (now at version 1)")
        }
        other => panic!("a stale update must conflict, got {other:?}"),
    }
}
