//! Action providers on AWS. Each worker function registers the providers of its kind
//! ([`sluice_core::protocol::worker_of`]); an action whose provider is not here yet fails with
//! "Sluice cannot run here yet", naming its type.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_sdk_s3::types::ServerSideEncryption;

use sluice_core::approval::ManualApproval;
use sluice_core::pipeline::declaration::ActionCategory;
use sluice_core::port::{ActionProvider, Job, JobOutcome, JobSuccess, Notifier, Providers};

/// The four worker functions (infra/template.yaml), by the kind of work they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerKind {
    Source,
    Build,
    Deploy,
    Invoke,
}

/// The providers a worker function of `kind` runs. Manual approvals send no notifications: an approval
/// action naming a `NotificationArn` fails, saying so; [`providers_with`] gives them a notifier.
pub fn providers(kind: WorkerKind, s3: aws_sdk_s3::Client, kms_key: &str) -> Providers {
    providers_with(kind, s3, kms_key, ManualApproval::without_notifier())
}

/// The providers a worker function of `kind` runs, manual approvals publishing through `approval`'s
/// notifier (an [`crate::sns::SnsNotifier`] in the invoke worker).
pub fn providers_with<N: Notifier + 'static>(
    kind: WorkerKind,
    s3: aws_sdk_s3::Client,
    kms_key: &str,
    approval: ManualApproval<N>,
) -> Providers {
    let mut providers = Providers::default();
    match kind {
        WorkerKind::Source => providers.register(
            ActionCategory::Source,
            "AWS",
            "S3",
            Arc::new(S3Source {
                s3,
                kms_key: kms_key.to_string(),
            }),
        ),
        WorkerKind::Invoke => providers.register(
            ActionCategory::Approval,
            "AWS",
            "Manual",
            Arc::new(approval),
        ),
        // CodeBuild, Commands, S3 and CloudFormation deploys and Lambda invokes on AWS come next.
        WorkerKind::Build | WorkerKind::Deploy => {}
    }
    providers
}

/// The S3 source action: the object (the version pinned by a source revision, or the latest) copied
/// within S3 to the output artifact's location, encrypted with the pipeline's key. Nothing passes
/// through the function.
pub struct S3Source {
    s3: aws_sdk_s3::Client,
    kms_key: String,
}

impl ActionProvider for S3Source {
    fn run<'a>(&'a self, job: &'a Job) -> Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async move { self.copy(job).await.unwrap_or_else(|outcome| outcome) })
    }
}

impl S3Source {
    async fn copy(&self, job: &Job) -> Result<JobOutcome, JobOutcome> {
        let bucket = job.required("S3Bucket")?;
        let mut key = job.required("S3ObjectKey")?.to_string();
        let mut version = None;
        if let Some(revision) = &job.source_revision {
            match revision.revision_type.as_str() {
                "S3_OBJECT_VERSION_ID" => version = Some(revision.revision_value.clone()),
                "S3_OBJECT_KEY" => key = revision.revision_value.clone(),
                _ => {}
            }
        }
        let output = job.output_artifacts.first().ok_or_else(|| {
            JobOutcome::configuration_error(format!(
                "Source action {} declares no output artifact",
                job.action.name
            ))
        })?;
        let location = &output.location;
        let mut source = format!("{bucket}/{}", encode_key(&key));
        if let Some(version) = &version {
            source.push_str(&format!("?versionId={version}"));
        }
        let copied = self
            .s3
            .copy_object()
            .copy_source(source)
            .bucket(&location.bucket_name)
            .key(&location.object_key)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key)
            .bucket_key_enabled(true)
            .send()
            .await
            .map_err(|e| {
                let message = format!(
                    "cannot read s3://{bucket}/{key}: {}",
                    crate::error::describe("S3", &e)
                );
                // A missing object or bucket is the action's configuration; anything else may pass.
                if matches!(
                    crate::error::code(&e),
                    Some("NoSuchKey" | "NoSuchBucket" | "AccessDenied")
                ) {
                    JobOutcome::configuration_error(message)
                } else {
                    JobOutcome::job_failed(message)
                }
            })?;
        let version_id = copied
            .copy_source_version_id()
            .map(str::to_string)
            .or(version)
            .unwrap_or_default();
        let etag = copied
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        Ok(JobOutcome::Succeeded(JobSuccess {
            output_variables: BTreeMap::from([
                ("ETag".to_string(), etag),
                ("VersionId".to_string(), version_id.clone()),
            ]),
            summary: Some(format!("s3://{bucket}/{key}")),
            external_execution_id: Some(version_id),
            log: None,
        }))
    }
}

/// CopySource is `bucket/key`, with the key URL-encoded (slashes kept).
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_encode_keys_but_keep_slashes() {
        assert_eq!(encode_key("app/v1 (new).zip"), "app/v1%20%28new%29.zip");
    }
}
