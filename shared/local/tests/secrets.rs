//! The file secrets keep sluice-core's secrets contract, in a private directory of private files.

use std::os::unix::fs::PermissionsExt;

use sluice_core::contract::secrets_contract;
use sluice_core::port::{SecretValue, Secrets};
use sluice_local::secrets::FileSecrets;

#[tokio::test]
async fn file_secrets_keep_the_secrets_contract() {
    let data = tempfile::tempdir().unwrap();
    secrets_contract(&FileSecrets::in_data_dir(data.path())).await;
}

#[tokio::test]
async fn the_directory_and_files_are_private_and_writes_leave_no_temporary_files() {
    let data = tempfile::tempdir().unwrap();
    let secrets = FileSecrets::in_data_dir(data.path());
    secrets
        .put_secret("webhook/Release", &SecretValue::from("first"))
        .await
        .unwrap();
    secrets
        .put_secret("webhook/Release", &SecretValue::from("second"))
        .await
        .unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(secrets.dir()),
        0o700,
        "only its owner opens the directory"
    );
    let file = secrets.path_of("webhook/Release");
    assert_eq!(
        file.parent(),
        Some(secrets.dir()),
        "a name with / is one flat file"
    );
    assert_eq!(mode(&file), 0o600, "only its owner reads the file");
    assert_eq!(std::fs::read(&file).unwrap(), b"second");
    let entries: Vec<String> = std::fs::read_dir(secrets.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["webhook%2FRelease"], "no temporary file is left");
}

#[tokio::test]
async fn a_directory_left_open_to_others_is_made_private_again() {
    let data = tempfile::tempdir().unwrap();
    let secrets = FileSecrets::in_data_dir(data.path());
    std::fs::create_dir_all(secrets.dir()).unwrap();
    std::fs::set_permissions(secrets.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    secrets
        .put_secret("key", &SecretValue::from("v"))
        .await
        .unwrap();
    let mode = std::fs::metadata(secrets.dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}
