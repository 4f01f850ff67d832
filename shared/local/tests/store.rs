//! The store ports' contract, kept by the SQLite store (in memory and in a file that is reopened), and
//! its records that hold secrets sealed on disk.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use sluice_core::contract::store_contract;
use sluice_core::pipeline::declaration::PipelineDeclaration;
use sluice_core::port::{ActionExecutionStore, PipelineStore, ResourceStore};
use sluice_core::record::{ActionExecution, StoredPipeline};
use sluice_core::time::Timestamp;
use sluice_local::store::{SqliteStore, TaskAnswer};

#[tokio::test]
async fn the_sqlite_store_keeps_the_store_contract() {
    store_contract(&SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn a_reopened_store_file_keeps_its_records_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    store_contract(&SqliteStore::open(&path).unwrap()).await;
    let reopened = SqliteStore::open(&path).unwrap();
    assert!(reopened.pipeline("A").await.unwrap().is_some());
}

#[test]
fn task_answers_from_another_process_are_taken_once_in_order() {
    let store = SqliteStore::in_memory().unwrap();
    let first = TaskAnswer::Succeeded {
        output: serde_json::json!({"a": 1}),
    };
    let second = TaskAnswer::Failed {
        error: "E".into(),
        cause: "C".into(),
    };
    store.push_task_answer("t1", &first).unwrap();
    store.push_task_answer("t2", &second).unwrap();
    assert_eq!(
        store.take_task_answers().unwrap(),
        vec![("t1".to_string(), first), ("t2".to_string(), second)]
    );
    assert!(store.take_task_answers().unwrap().is_empty());
}

/// A pipeline whose GitHub source holds `token`.
fn github_pipeline(token: &str) -> StoredPipeline {
    let declaration: PipelineDeclaration = serde_json::from_value(json!({
        "name": "Guarded",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "version": 1,
        "stages": [{"name": "Source", "actions": [{
            "name": "Source",
            "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
            "configuration": {"Owner": "o", "Repo": "r", "Branch": "main", "OAuthToken": token},
            "outputArtifacts": [{"name": "A"}]
        }]}]
    }))
    .unwrap();
    StoredPipeline {
        declaration,
        created: Timestamp::from_epoch_millis(1),
        updated: Timestamp::from_epoch_millis(1),
        machine: "m".to_string(),
    }
}

/// The database, its write-ahead log and its shared memory, as bytes.
fn raw_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        bytes.extend(std::fs::read(&name).unwrap_or_default());
    }
    bytes
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[tokio::test]
async fn pipelines_and_resources_are_sealed_on_disk_and_read_back_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_pipeline(&github_pipeline("ghp_sealed_token"), None)
        .await
        .unwrap();
    let webhook =
        json!({"definition": {"authenticationConfiguration": {"SecretToken": "hmac_sealed"}}});
    store
        .put_resource("webhook", "hook", &webhook, 0)
        .await
        .unwrap();

    let bytes = raw_bytes(&path);
    assert!(holds(&bytes, "Guarded"), "the test reads the right bytes");
    for secret in [
        "ghp_sealed_token",
        "hmac_sealed",
        "OAuthToken",
        "SecretToken",
    ] {
        assert!(!holds(&bytes, secret), "{secret} is in the file");
    }
    let key = dir.path().join("sluice.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A reopened store (another process) reads them with the key beside the file.
    let reopened = SqliteStore::open(&path).unwrap();
    let read = reopened.pipeline("Guarded").await.unwrap().unwrap();
    assert_eq!(
        read.declaration.stages[0].actions[0].configuration["OAuthToken"],
        "ghp_sealed_token"
    );
    assert_eq!(
        reopened
            .resource("webhook", "hook")
            .await
            .unwrap()
            .unwrap()
            .0,
        webhook
    );
    assert_eq!(reopened.resources("webhook").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_store_without_its_key_or_with_another_one_says_so_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_pipeline(&github_pipeline("ghp_x"), None)
        .await
        .unwrap();
    drop(store);
    let key = dir.path().join("sluice.key");
    let kept = std::fs::read(&key).unwrap();

    std::fs::remove_file(&key).unwrap();
    let Err(error) = SqliteStore::open(&path) else {
        panic!("opened without its key")
    };
    assert!(
        error.to_string().contains("sluice.key is missing"),
        "{error}"
    );
    assert!(!key.exists(), "no new key was made for sealed records");

    std::fs::write(&key, [7u8; 32]).unwrap();
    let wrong = SqliteStore::open(&path).unwrap();
    let error = wrong.pipeline("Guarded").await.unwrap_err();
    assert!(error.to_string().contains("another key"), "{error}");

    std::fs::write(&key, kept).unwrap();
    let right = SqliteStore::open(&path).unwrap();
    assert!(right.pipeline("Guarded").await.unwrap().is_some());
}

#[tokio::test]
async fn records_an_earlier_sluice_wrote_in_clear_are_sealed_and_masked_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    drop(SqliteStore::open(&path).unwrap());
    // As an earlier Sluice left it: clear records, no key, the sealing never done.
    std::fs::remove_file(dir.path().join("sluice.key")).unwrap();
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        let pipeline = serde_json::to_string(&github_pipeline("ghp_old_clear")).unwrap();
        let mut action = serde_json::to_value(sample_action()).unwrap();
        action["configuration"]["OAuthToken"] = json!("ghp_old_clear");
        action["resolvedConfiguration"]["OAuthToken"] = json!("ghp_old_clear");
        raw.execute_batch(&format!(
            "DELETE FROM sluice_migrations WHERE component = 'sealing';
             INSERT INTO pipeline_versions (name, version, record) VALUES ('Guarded', 1, '{pipeline}');
             INSERT INTO resources (kind, id, version, record)
                 VALUES ('webhook', 'hook', 1, '{{\"SecretToken\":\"hmac_old_clear\"}}');
             INSERT INTO action_executions (id, pipeline, execution_id, record)
                 VALUES ('a1', 'Guarded', 'e1', '{action}');"
        ))
        .unwrap();
    }
    assert!(holds(&raw_bytes(&path), "ghp_old_clear"));

    let store = SqliteStore::open(&path).unwrap();
    let bytes = raw_bytes(&path);
    for secret in ["ghp_old_clear", "hmac_old_clear"] {
        assert!(!holds(&bytes, secret), "{secret} is still in the file");
    }
    let read = store.pipeline("Guarded").await.unwrap().unwrap();
    assert_eq!(
        read.declaration.stages[0].actions[0].configuration["OAuthToken"],
        "ghp_old_clear"
    );
    assert_eq!(
        store.resource("webhook", "hook").await.unwrap().unwrap().0,
        json!({"SecretToken": "hmac_old_clear"})
    );
    let actions = store.action_executions("Guarded", None).await.unwrap();
    assert_eq!(actions[0].configuration["OAuthToken"], "****");
    assert_eq!(actions[0].resolved_configuration["OAuthToken"], "****");
    assert_eq!(actions[0].configuration["Repo"], "r", "the rest is kept");
}

/// A GitHub source's action execution record.
fn sample_action() -> ActionExecution {
    serde_json::from_value(json!({
        "pipelineName": "Guarded",
        "pipelineExecutionId": "e1",
        "pipelineVersion": 1,
        "stageName": "Source",
        "actionName": "Source",
        "actionExecutionId": "a1",
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "status": "Succeeded",
        "startTime": 1,
        "lastUpdateTime": 1,
        "configuration": {"Repo": "r"},
        "resolvedConfiguration": {"Repo": "r"},
        "inputArtifacts": [],
        "outputArtifacts": [],
        "token": "t"
    }))
    .unwrap()
}

#[tokio::test]
async fn a_database_another_connection_holds_is_a_transient_failure() {
    use sluice_core::dispatcher::DispatchError;
    use sluice_core::port::StageStore;
    use sluice_core::port::StoreError;
    use sluice_core::stage::Gate;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let connection = Arc::new(Mutex::new(rusqlite::Connection::open(&path).unwrap()));
    let store = SqliteStore::on(connection.clone(), &dir.path().join("sluice.key")).unwrap();
    // The store waits for a lock up to its busy timeout (5 s); here it gives up at once.
    connection
        .lock()
        .unwrap()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    // Another process (`sluice approve`) in the middle of a write.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let busy = store
        .put_gate("P", "Build", &Gate::default(), 0)
        .await
        .unwrap_err();
    assert!(matches!(busy, StoreError::Transient { .. }), "{busy:?}");
    assert_eq!(DispatchError::Store(busy).error_type(), "Sluice.Transient");
    other.execute_batch("COMMIT").unwrap();
    store
        .put_gate("P", "Build", &Gate::default(), 0)
        .await
        .expect("the same write passes once the lock is released");
}

/// The store keeps the latest pipelines decoded between reads; a change made through another store on
/// the same file (another process) is seen at the next read, a deletion and a new pipeline of the same
/// name and version included.
#[tokio::test]
async fn pipelines_changed_through_another_store_on_the_file_are_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let reader = SqliteStore::open(&path).unwrap();
    let writer = SqliteStore::open(&path).unwrap();
    let with_token = |token: &str, version: i32| {
        let mut stored = github_pipeline(token);
        stored.declaration.version = Some(version);
        stored
    };
    let token = |stored: &StoredPipeline| {
        stored.declaration.stages[0].actions[0].configuration["OAuthToken"].clone()
    };
    writer
        .put_pipeline(&with_token("one", 1), None)
        .await
        .unwrap();
    let read = reader.pipelines().await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(token(&read[0]), "one");
    assert_eq!(
        reader.pipelines().await.unwrap()[0].version(),
        1,
        "read again unchanged"
    );

    writer
        .put_pipeline(&with_token("two", 2), Some(1))
        .await
        .unwrap();
    let read = reader.pipelines().await.unwrap();
    assert_eq!((read[0].version(), token(&read[0])), (2, "two".to_string()));
    let one = reader.pipeline("Guarded").await.unwrap().unwrap();
    assert_eq!(token(&one), "two");

    writer.delete_pipeline("Guarded").await.unwrap();
    assert!(reader.pipelines().await.unwrap().is_empty());
    assert!(reader.pipeline("Guarded").await.unwrap().is_none());
    writer
        .put_pipeline(&with_token("three", 1), None)
        .await
        .unwrap();
    let read = reader.pipelines().await.unwrap();
    assert_eq!(
        (read[0].version(), token(&read[0])),
        (1, "three".to_string())
    );
}
