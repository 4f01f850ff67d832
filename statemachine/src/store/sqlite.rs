//! The store in one SQLite file (WAL): executions survive the process. Each change is one transaction
//! holding the execution's new state and its new history events, conditional on the stored version.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{ExecutionSummary, MachineRecord, Store, StoreError};
use crate::execution::{ExecutionState, ExecutionStatus, HistoryEvent};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE machines (
        arn TEXT NOT NULL,
        revision INTEGER NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (arn, revision)
    );
    CREATE TABLE executions (
        arn TEXT PRIMARY KEY,
        machine_arn TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        start_date INTEGER NOT NULL,
        stop_date INTEGER,
        version INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX executions_by_machine ON executions (machine_arn, start_date);
    CREATE INDEX executions_by_status ON executions (status);
    CREATE TABLE events (
        execution_arn TEXT NOT NULL,
        id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (execution_arn, id)
    ) WITHOUT ROWID;
"#];

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    /// Copies the write-ahead log into the database file in the background (file stores only).
    _checkpointer: Option<Checkpointer>,
}

/// SQLite checkpoints the WAL from inside a commit once it passes 1000 pages, and that commit then waits
/// for the copy and its fsync: milliseconds on the request that happens to commit. Instead the serving
/// connection never checkpoints, and this thread does, on its own connection, in PASSIVE mode (it never
/// blocks the writer). Committed transactions are durable in the WAL either way.
struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let connection = Connection::open(path).map_err(backend)?;
        connection
            .execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(backend)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_string())
            .spawn(move || {
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    // A failed checkpoint leaves the WAL as it is; the next one tries again.
                    let _ = connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
                }
                let _ = connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
            })
            .map_err(backend)?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(backend)?;
        let mut store = Self::prepare(connection)?;
        store
            .lock()
            .execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .map_err(backend)?;
        store._checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// A store in memory, for tests of the SQLite code itself.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory().map_err(backend)?)
    }

    fn prepare(mut connection: Connection) -> Result<Self, StoreError> {
        connection.set_prepared_statement_cache_capacity(64);
        // WAL lets readers run beside the writer; NORMAL syncs at checkpoints, which keeps every
        // committed transaction across a process crash (only an OS crash can lose the last ones).
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(backend)?;
        let applied: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        let applied = usize::try_from(applied).unwrap_or(0);
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let transaction = connection.transaction().map_err(backend)?;
            transaction.execute_batch(migration).map_err(backend)?;
            transaction
                .execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(backend)?;
            transaction.commit().map_err(backend)?;
        }
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            _checkpointer: None,
        })
    }

    /// The store's connection, for an embedding program that keeps its own tables in the same file:
    /// one connection means one writer, so the two never wait on each other's locks.
    pub fn connection(&self) -> Arc<Mutex<Connection>> {
        self.connection.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn status_from(text: &str) -> ExecutionStatus {
    match text {
        "SUCCEEDED" => ExecutionStatus::Succeeded,
        "FAILED" => ExecutionStatus::Failed,
        "TIMED_OUT" => ExecutionStatus::TimedOut,
        "ABORTED" => ExecutionStatus::Aborted,
        _ => ExecutionStatus::Running,
    }
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(backend)
}

fn append_events(
    transaction: &rusqlite::Transaction<'_>,
    arn: &str,
    events: &[HistoryEvent],
) -> Result<(), StoreError> {
    let mut insert = transaction
        .prepare_cached("INSERT INTO events (execution_arn, id, body) VALUES (?1, ?2, ?3)")
        .map_err(backend)?;
    for event in events {
        let body = serde_json::to_string(event).map_err(backend)?;
        insert
            .execute(params![
                arn,
                i64::try_from(event.id).unwrap_or(i64::MAX),
                body
            ])
            .map_err(backend)?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn put_machine(&self, machine: &MachineRecord) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached("INSERT OR REPLACE INTO machines (arn, revision, name, definition, created) VALUES (?1, ?2, ?3, ?4, ?5)")
.map_err(backend)?
.execute(params![
                    machine.arn,
                    i64::try_from(machine.revision).unwrap_or(i64::MAX),
                    machine.name,
                    machine.definition,
                    machine.created
                ],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn machines(&self) -> Result<Vec<MachineRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare("SELECT arn, revision, name, definition, created FROM machines ORDER BY arn, revision")
            .map_err(backend)?;
        let rows = query
            .query_map([], |row| {
                Ok(MachineRecord {
                    arn: row.get(0)?,
                    revision: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    name: row.get(2)?,
                    definition: row.get(3)?,
                    created: row.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn delete_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.lock()
            .execute("DELETE FROM machines WHERE arn = ?1", [arn])
            .map_err(backend)?;
        Ok(())
    }

    fn insert_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        let state = serde_json::to_string(execution).map_err(backend)?;
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(backend)?;
        let inserted = transaction
            .prepare_cached("INSERT OR IGNORE INTO executions (arn, machine_arn, name, status, start_date, stop_date, version, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
.map_err(backend)?
.execute(params![
                    execution.execution_arn,
                    execution.state_machine_arn,
                    execution.name,
                    execution.status.name(),
                    execution.start_date,
                    execution.stop_date,
                    i64::try_from(execution.version).unwrap_or(i64::MAX),
                    state
                ],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(execution.execution_arn.clone()));
        }
        append_events(&transaction, &execution.execution_arn, &events)?;
        transaction.commit().map_err(backend)
    }

    fn update_execution(
        &self,
        execution: &ExecutionState,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        let state = serde_json::to_string(execution).map_err(backend)?;
        let expected = execution.version.saturating_sub(1);
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(backend)?;
        let updated = transaction
            .prepare_cached("UPDATE executions SET status = ?2, stop_date = ?3, version = ?4, state = ?5 WHERE arn = ?1 AND version = ?6")
.map_err(backend)?
.execute(params![
                    execution.execution_arn,
                    execution.status.name(),
                    execution.stop_date,
                    i64::try_from(execution.version).unwrap_or(i64::MAX),
                    state,
                    i64::try_from(expected).unwrap_or(i64::MAX)
                ],
            )
            .map_err(backend)?;
        if updated == 0 {
            let exists: Option<i64> = transaction
                .query_row(
                    "SELECT version FROM executions WHERE arn = ?1",
                    [&execution.execution_arn],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            return Err(match exists {
                None => StoreError::NotFound(execution.execution_arn.clone()),
                Some(_) => StoreError::Conflict {
                    arn: execution.execution_arn.clone(),
                    expected,
                },
            });
        }
        append_events(&transaction, &execution.execution_arn, &events)?;
        transaction.commit().map_err(backend)
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError> {
        let text: Option<String> = self
            .lock()
            .query_row(
                "SELECT state FROM executions WHERE arn = ?1",
                [arn],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend)?;
        text.map(|t| decode(&t)).transpose()
    }

    fn open_executions(&self) -> Result<Vec<ExecutionState>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare("SELECT state FROM executions WHERE status = 'RUNNING'")
            .map_err(backend)?;
        let texts = query
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        texts.iter().map(|t| decode(t)).collect()
    }

    fn list_executions(
        &self,
        state_machine_arn: &str,
    ) -> Result<Vec<ExecutionSummary>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT arn, machine_arn, name, status, start_date, stop_date FROM executions
                 WHERE machine_arn = ?1 ORDER BY start_date DESC, name DESC",
            )
            .map_err(backend)?;
        let rows = query
            .query_map([state_machine_arn], |row| {
                Ok(ExecutionSummary {
                    execution_arn: row.get(0)?,
                    state_machine_arn: row.get(1)?,
                    name: row.get(2)?,
                    status: status_from(&row.get::<_, String>(3)?),
                    start_date: row.get(4)?,
                    stop_date: row.get(5)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        let connection = self.lock();
        let exists: Option<i64> = connection
            .query_row("SELECT 1 FROM executions WHERE arn = ?1", [arn], |row| {
                row.get(0)
            })
            .optional()
            .map_err(backend)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(arn.to_string()));
        }
        let mut query = connection
            .prepare("SELECT body FROM events WHERE execution_arn = ?1 ORDER BY id")
            .map_err(backend)?;
        let texts = query
            .query_map([arn], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        texts.iter().map(|t| decode(t)).collect()
    }
}
