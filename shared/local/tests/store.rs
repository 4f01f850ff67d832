//! The store ports' contract, kept by the SQLite store (in memory and in a file that is reopened).

use sluice_core::contract::store_contract;
use sluice_core::port::PipelineStore;
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
