//! The S3 artifact store against moto_server: sluice-core's artifact contract, and SSE-KMS with the
//! customer key and the bucket key on every object, whichever way it was uploaded.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::types::ServerSideEncryption;
use common::Moto;
use sluice_aws::s3::S3ArtifactStore;
use sluice_core::contract::artifact_contract;
use sluice_core::port::{ArtifactError, ArtifactStore};
use sluice_core::record::ArtifactLocation;

const BUCKET: &str = "sluice-artifacts";
const MIB: usize = 1024 * 1024;
/// S3's smallest part, so the contract's large artifact goes up in parts.
const THRESHOLD: usize = 5 * MIB;
/// Three parts: 5 + 5 + 1 MiB.
const LARGE: usize = 11 * MIB;
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1f9f2c47-6c4e-4c55-9d7e-3a5bd5f0b0a1";

async fn store(moto: &Moto) -> (S3ArtifactStore, aws_sdk_s3::Client) {
    let s3 = moto.config().await.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let store =
        S3ArtifactStore::new(s3.clone(), KEY_ARN).with_multipart_threshold(THRESHOLD as u64);
    (store, s3)
}

fn location(key: &str) -> ArtifactLocation {
    ArtifactLocation {
        bucket_name: BUCKET.to_string(),
        object_key: key.to_string(),
    }
}

#[tokio::test]
async fn the_s3_store_keeps_the_artifact_contract() {
    let moto = Moto::start();
    let (store, _) = store(&moto).await;
    artifact_contract(&store, BUCKET, LARGE).await;
}

#[tokio::test]
async fn every_object_is_encrypted_with_the_customer_key_and_a_bucket_key() {
    let moto = Moto::start();
    let (_, s3) = store(&moto).await;
    let requests = Requests::default();
    let recording = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .interceptor(requests.clone())
            .build(),
    );
    let store = S3ArtifactStore::new(recording, KEY_ARN).with_multipart_threshold(THRESHOLD as u64);
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.zip");
    let large = dir.path().join("large.zip");
    std::fs::write(&small, b"small artifact").unwrap();
    std::fs::write(&large, vec![7u8; LARGE]).unwrap();
    store
        .put_artifact(&location("P/Small/aaaaaaa"), &small)
        .await
        .unwrap();
    store
        .put_artifact(&location("P/Large/bbbbbbb"), &large)
        .await
        .unwrap();

    // What was sent: the bucket policy looks at the PutObject and CreateMultipartUpload requests.
    let sent = requests.0.lock().unwrap().clone();
    let operations: Vec<&str> = sent.iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "UploadPart",
            "UploadPart",
            "CompleteMultipartUpload"
        ],
        "a small file is one put, an 11 MiB one three parts of at most 5 MiB"
    );
    for request in sent
        .iter()
        .filter(|r| r.operation != "UploadPart" && r.operation != "CompleteMultipartUpload")
    {
        assert_eq!(
            request.encryption.as_deref(),
            Some("aws:kms"),
            "{} names SSE-KMS",
            request.operation
        );
        assert_eq!(
            request.key_id.as_deref(),
            Some(KEY_ARN),
            "{} names the customer key",
            request.operation
        );
        assert_eq!(
            request.bucket_key.as_deref(),
            Some("true"),
            "{} turns the bucket key on",
            request.operation
        );
    }

    // What S3 reports for the stored objects.
    for (key, parts) in [("P/Small/aaaaaaa", None), ("P/Large/bbbbbbb", Some(3))] {
        let head = s3
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms),
            "{key} is encrypted with SSE-KMS"
        );
        assert_eq!(
            head.ssekms_key_id(),
            Some(KEY_ARN),
            "{key} names the customer key"
        );
        // A multipart object's ETag ends in -<number of parts>; a single put's does not.
        let etag = head.e_tag().unwrap().trim_matches('"');
        assert_eq!(
            etag.split_once('-').map(|(_, n)| n.parse::<u32>().unwrap()),
            parts,
            "{key} was uploaded in the expected number of parts (ETag {etag})"
        );
    }
    // moto 5.2.5 keeps the bucket-key flag of a PutObject but drops the one of a CreateMultipartUpload
    // (its FakeMultipart has no such field), so HeadObject of the multipart object reports none; the
    // request check above is what covers the multipart case.
    let single = s3
        .head_object()
        .bucket(BUCKET)
        .key("P/Small/aaaaaaa")
        .send()
        .await
        .unwrap();
    assert_eq!(
        single.bucket_key_enabled(),
        Some(true),
        "the single put has the bucket key on"
    );
}

/// The S3 requests a client sent, with their SSE-KMS headers.
#[derive(Clone, Debug, Default)]
struct Requests(Arc<Mutex<Vec<Sent>>>);

#[derive(Clone, Debug)]
struct Sent {
    operation: &'static str,
    encryption: Option<String>,
    key_id: Option<String>,
    bucket_key: Option<String>,
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let uri = request.uri();
        let query = uri.split_once('?').map_or("", |(_, q)| q);
        let has = |param: &str| {
            query
                .split('&')
                .any(|p| p == param || p.starts_with(&format!("{param}=")))
        };
        let operation = match request.method() {
            "POST" if has("uploads") => "CreateMultipartUpload",
            "POST" if has("uploadId") => "CompleteMultipartUpload",
            "PUT" if has("partNumber") => "UploadPart",
            "PUT" => "PutObject",
            _ => "other",
        };
        let header = |name: &str| request.headers().get(name).map(str::to_string);
        self.0.lock().unwrap().push(Sent {
            operation,
            encryption: header("x-amz-server-side-encryption"),
            key_id: header("x-amz-server-side-encryption-aws-kms-key-id"),
            bucket_key: header("x-amz-server-side-encryption-bucket-key-enabled"),
        });
        Ok(())
    }
}

#[tokio::test]
async fn a_missing_bucket_is_a_backend_error_not_a_missing_artifact() {
    let moto = Moto::start();
    let (store, _) = store(&moto).await;
    let elsewhere = ArtifactLocation {
        bucket_name: "no-such-bucket".to_string(),
        object_key: "P/Out/abcdefg".to_string(),
    };
    let file = tempfile::tempdir().unwrap().path().join("out.zip");
    match store.get_artifact(&elsewhere, &file).await {
        Err(ArtifactError::Backend {
            message, source, ..
        }) => {
            assert!(
                message.contains("NoSuchBucket"),
                "the message says why: {message}"
            );
            assert!(source.is_some(), "the SDK error is kept as the source");
        }
        other => panic!("expected a Backend error, got {other:?}"),
    }
}
