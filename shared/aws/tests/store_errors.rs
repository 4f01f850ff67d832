//! How the DynamoDB store reports what went wrong: throttling, DynamoDB's own failures, timeouts, a
//! request that could not be sent and a race lost to a transaction are `StoreError::Transient` (the step
//! fails with `Sluice.Transient` and the machine runs it again); a broken call (a missing table, a denied
//! permission) is `StoreError::Backend` and fails the step for good.
//!
//! moto_server answers the cases it can give (a missing table, a conditional write lost to another
//! writer); a silent socket and a closed port give the SDK's own timeout and dispatch failure. moto never
//! throttles nor fails on purpose, so those answers are mocked (aws-smithy-mocks): the HTTP response
//! DynamoDB sends, read by the real client and its deserializer. Those tests say `mocked` in their names.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use sluice_aws::config::{AwsConfig, Endpoint};
use sluice_aws::dynamo::DynamoStore;
use sluice_core::dispatcher::DispatchError;
use sluice_core::port::{PipelineStore, StageStore, StoreError};
use sluice_core::stage::Gate;
use sluice_core::worker::WorkerError;

fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Transient { .. })
}

/// The error names a dispatcher and a worker step fail with for this store error.
fn step_errors(error: StoreError) -> (&'static str, &'static str) {
    let dispatch = DispatchError::Store(error);
    let dispatcher = dispatch.error_type();
    let DispatchError::Store(error) = dispatch else {
        unreachable!("built as a store error")
    };
    (
        dispatcher.name(),
        WorkerError::Store(error).error_type().name(),
    )
}

/// A client of `url` that gives up on a call after `timeout`, with no retries of its own.
async fn impatient_client(url: &str, timeout: Duration) -> aws_sdk_dynamodb::Client {
    let config = AwsConfig::for_endpoint(&Endpoint {
        url: url.to_string(),
        region: "us-east-1".to_string(),
        access_key_id: "test".to_string(),
        secret_access_key: "test".to_string(),
    })
    .await;
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config.sdk)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(timeout)
                    .connect_timeout(timeout)
                    .build(),
            )
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build(),
    )
}

#[tokio::test]
async fn a_missing_table_fails_the_step_for_good() {
    let moto = common::Moto::start();
    let store = DynamoStore::new(moto.config().await.dynamodb(), "no-such-table");
    let error = store.pipeline("P").await.unwrap_err();
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(
        error.to_string().contains("ResourceNotFoundException"),
        "{error}"
    );
    assert_eq!(
        step_errors(error),
        ("Sluice.DispatchFailed", "Sluice.WorkerFailed")
    );
}

#[tokio::test]
async fn a_conditional_write_lost_to_another_writer_is_retried_by_the_step() {
    let moto = common::Moto::start();
    let store = DynamoStore::new(moto.config().await.dynamodb(), "sluice");
    store.create_table().await.unwrap();
    let gate = Gate::default();
    store.put_gate("P", "Build", &gate, 0).await.unwrap();
    // A second writer that read the gate before the first one wrote it.
    let lost = store.put_gate("P", "Build", &gate, 0).await.unwrap_err();
    assert!(matches!(lost, StoreError::Conflict { .. }), "{lost:?}");
    assert!(lost.is_retryable());
    assert_eq!(step_errors(lost), ("Sluice.Transient", "Sluice.Transient"));
}

#[tokio::test]
async fn a_call_that_gets_no_answer_in_time_is_transient() {
    // Accepts connections (the kernel's backlog does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let client = impatient_client(&url, Duration::from_millis(300)).await;
    let error = DynamoStore::new(client, "sluice")
        .pipeline("P")
        .await
        .unwrap_err();
    assert!(is_transient(&error), "{error:?}");
    assert!(
        error.to_string().contains("timed out") || error.to_string().contains("timeout"),
        "{error}"
    );
    assert_eq!(step_errors(error), ("Sluice.Transient", "Sluice.Transient"));
    drop(silent);
}

#[tokio::test]
async fn a_call_that_cannot_be_sent_is_transient() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is gone: connecting is refused.
    let client =
        impatient_client(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).await;
    let gate = Gate::default();
    let error = DynamoStore::new(client, "sluice")
        .put_gate("P", "Build", &gate, 3)
        .await
        .unwrap_err();
    assert!(is_transient(&error), "{error:?}");
    assert_eq!(step_errors(error), ("Sluice.Transient", "Sluice.Transient"));
}

/// A client whose every call gets DynamoDB's error answer `status` with `code` and `message` (and
/// `extra` members in the body), read by the SDK's own deserializer.
fn answering(status: u16, code: &str, message: &str, extra: &str) -> aws_sdk_dynamodb::Client {
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{message}"{extra}}}"#
    );
    let rules: Vec<Rule> = vec![
        mock!(aws_sdk_dynamodb::Client::get_item)
            .sequence()
            .http_status(status, Some(body.clone()))
            .repeatedly()
            .build(),
        mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .http_status(status, Some(body.clone()))
            .repeatedly()
            .build(),
        mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .sequence()
            .http_status(status, Some(body))
            .repeatedly()
            .build(),
    ];
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in &rules {
        interceptor = interceptor.with_rule(rule);
    }
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// What each store call answers with a client that always gets this error.
async fn every_call_fails_with(client: aws_sdk_dynamodb::Client) -> Vec<StoreError> {
    let store = DynamoStore::new(client, "sluice");
    let gate = Gate::default();
    vec![
        store.pipeline("P").await.unwrap_err(),
        store.put_gate("P", "Build", &gate, 2).await.unwrap_err(),
    ]
}

#[tokio::test]
async fn mocked_throttling_and_dynamodb_failures_are_transient() {
    let cases = [
        (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        (
            400,
            "RequestLimitExceeded",
            "Throughput exceeds the current throughput limit for your account.",
        ),
        (500, "InternalServerError", "Internal server error"),
        (
            400,
            "TransactionConflictException",
            "Transaction is ongoing for the item",
        ),
    ];
    for (status, code, message) in cases {
        for error in every_call_fails_with(answering(status, code, message, "")).await {
            assert!(is_transient(&error), "{code}: {error:?}");
            assert!(error.to_string().contains(code), "{error}");
            assert_eq!(
                step_errors(error),
                ("Sluice.Transient", "Sluice.Transient"),
                "{code}"
            );
        }
    }
}

#[tokio::test]
async fn mocked_refusals_of_the_call_itself_are_not_transient() {
    let cases = [
        (
            400,
            "AccessDeniedException",
            "User is not authorized to perform: dynamodb:GetItem",
        ),
        (
            400,
            "ValidationException",
            "One or more parameter values were invalid",
        ),
    ];
    for (status, code, message) in cases {
        for error in every_call_fails_with(answering(status, code, message, "")).await {
            assert!(
                matches!(error, StoreError::Backend { .. }),
                "{code}: {error:?}"
            );
            assert_eq!(
                step_errors(error),
                ("Sluice.DispatchFailed", "Sluice.WorkerFailed"),
                "{code}"
            );
        }
    }
}

#[tokio::test]
async fn mocked_transactions_cancelled_by_a_race_are_transient_and_by_a_condition_a_conflict() {
    let pipeline = sluice_core::record::StoredPipeline {
        declaration: serde_json::from_value(serde_json::json!({
            "name": "P", "roleArn": "arn:aws:iam::123456789012:role/p", "version": 2,
            "artifactStore": {"type": "S3", "location": "b"}, "stages": []
        }))
        .unwrap(),
        created: sluice_core::time::Timestamp::from_epoch_millis(0),
        updated: sluice_core::time::Timestamp::from_epoch_millis(0),
        machine: "m".to_string(),
    };
    let cancelled = |reasons: &str| {
        answering(
            400,
            "TransactionCanceledException",
            &format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{reasons}]"
            ),
            "",
        )
    };
    let raced = DynamoStore::new(cancelled("None, TransactionConflict"), "sluice")
        .put_pipeline(&pipeline, Some(1))
        .await
        .unwrap_err();
    assert!(is_transient(&raced), "{raced:?}");
    let stale = DynamoStore::new(cancelled("ConditionalCheckFailed, None"), "sluice")
        .put_pipeline(&pipeline, Some(1))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");
}
