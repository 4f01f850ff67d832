//! The artifact store: zip files by location (S3 on AWS, bucket folders locally).

use std::path::Path;

use crate::record::ArtifactLocation;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifact s3://{}/{} does not exist", .location.bucket_name, .location.object_key)]
    NotFound { location: ArtifactLocation },
    #[error("artifact s3://{}/{}: {message}", .location.bucket_name, .location.object_key)]
    Backend {
        location: ArtifactLocation,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// The artifact store: zip files by location. Its promises are checked by
/// [`crate::contract::artifact_contract`] against every adapter.
pub trait ArtifactStore: Send + Sync {
    /// Stores the bytes of `file` at `location`, replacing what was there.
    fn put_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> impl Future<Output = Result<(), ArtifactError>> + Send;
    /// Writes the artifact at `location` to `file`, creating its missing parent directories and replacing a
    /// file already there. A missing artifact is [`ArtifactError::NotFound`], and nothing is written.
    fn get_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> impl Future<Output = Result<(), ArtifactError>> + Send;
}
