//! One contract suite for the execution store, run against every adapter: in memory and SQLite.

use serde_json::json;
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::execution::{ExecutionState, ExecutionStatus, HistoryEvent};
use sluice_statemachine::program::Program;
use sluice_statemachine::read;
use sluice_statemachine::run;
use sluice_statemachine::store::{MachineRecord, MemoryStore, SqliteStore, Store, StoreError};

fn execution(name: &str, start: i64) -> (ExecutionState, Vec<HistoryEvent>) {
    let definition =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}});
    let program = Program::new(read(&definition).unwrap());
    let (mut state, effects) = run::start(
        &program,
        "arn:aws:states:local:000000000000:stateMachine:m",
        &format!("arn:aws:states:local:000000000000:execution:m:{name}"),
        name,
        json!({"n": name}),
        start,
        &mut SeededEntropy::new(1),
    );
    state.version = 1;
    (state, effects.events)
}

fn contract(store: &dyn Store) {
    // Machines keep every revision.
    let machine = |revision| MachineRecord {
        arn: "arn:aws:states:local:000000000000:stateMachine:m".into(),
        name: "m".into(),
        revision,
        definition: format!("{{\"rev\": {revision}}}"),
        created: 5,
    };
    store.put_machine(&machine(1)).unwrap();
    store.put_machine(&machine(2)).unwrap();
    assert_eq!(store.machines().unwrap(), vec![machine(1), machine(2)]);
    // Deleting a machine removes every revision of it, and only of it; deleting again is fine.
    let other = MachineRecord {
        arn: "arn:aws:states:local:000000000000:stateMachine:other".into(),
        name: "other".into(),
        ..machine(1)
    };
    store.put_machine(&other).unwrap();
    store.delete_machine(&other.arn).unwrap();
    store.delete_machine(&other.arn).unwrap();
    assert_eq!(store.machines().unwrap(), vec![machine(1), machine(2)]);

    // Insert once; a second insert of the same ARN is refused and changes nothing.
    let (first, events) = execution("first", 100);
    store.insert_execution(&first, events.clone()).unwrap();
    assert!(matches!(
        store.insert_execution(&first, Vec::new()),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.execution(&first.execution_arn).unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.history(&first.execution_arn).unwrap(), events);

    // Updates are conditional on the version read.
    let mut next = first.clone();
    next.version = 2;
    next.status = ExecutionStatus::Succeeded;
    next.stop_date = Some(200);
    let more = vec![HistoryEvent {
        id: events.len() as u64 + 1,
        previous_event_id: events.len() as u64,
        timestamp: 200,
        event_type: "ExecutionSucceeded".into(),
        details: Default::default(),
    }];
    store.update_execution(&next, more).unwrap();
    let mut stale = first.clone();
    stale.version = 2;
    assert!(matches!(
        store.update_execution(&stale, Vec::new()),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.execution(&first.execution_arn).unwrap(),
        Some(next.clone())
    );
    assert_eq!(
        store.history(&first.execution_arn).unwrap().len(),
        events.len() + 1
    );

    // Listing is newest first; only running executions are open.
    let (second, events) = execution("second", 300);
    store.insert_execution(&second, events).unwrap();
    let listed: Vec<String> = store
        .list_executions(&second.state_machine_arn)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(listed, vec!["second", "first"]);
    let open: Vec<String> = store
        .open_executions()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(open, vec!["second"]);

    // Unknown executions.
    assert_eq!(store.execution("arn:nope").unwrap(), None);
    assert!(matches!(
        store.history("arn:nope"),
        Err(StoreError::NotFound(_))
    ));
    let (ghost, _) = execution("ghost", 1);
    let mut ghost = ghost;
    ghost.version = 2;
    assert!(matches!(
        store.update_execution(&ghost, Vec::new()),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn the_memory_store_keeps_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn the_sqlite_store_keeps_the_contract() {
    contract(&SqliteStore::in_memory().unwrap());
}

#[test]
fn the_sqlite_store_keeps_executions_across_reopening_the_file() {
    let dir = std::env::temp_dir().join(format!("sluice-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("engine.db");
    let _ = std::fs::remove_file(&path);
    let (state, events) = execution("kept", 7);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.insert_execution(&state, events.clone()).unwrap();
    }
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.execution(&state.execution_arn).unwrap(),
        Some(state.clone())
    );
    assert_eq!(reopened.history(&state.execution_arn).unwrap(), events);
    assert_eq!(reopened.open_executions().unwrap().len(), 1);
}
