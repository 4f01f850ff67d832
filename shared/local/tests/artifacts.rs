//! The file artifact store keeps sluice-core's artifact contract.

use sluice_core::contract::artifact_contract;
use sluice_local::runtime::FileArtifactStore;

#[tokio::test]
async fn the_file_store_keeps_the_artifact_contract() {
    let data_dir = tempfile::tempdir().unwrap();
    let store = FileArtifactStore::new(data_dir.path());
    // The file store has no multipart path: a few hundred KiB stand for "large".
    artifact_contract(&store, "sluice-artifacts", 300 * 1024).await;
}
