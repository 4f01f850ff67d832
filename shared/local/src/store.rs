//! The stores on one machine: SQLite in WAL mode, one file in the data directory, shared with the
//! embedded engine's tables. Records are kept as JSON, keyed as the DynamoDB table keys them; every
//! change runs in a transaction with the version check the ports require.
//!
//! The records that can hold secrets — pipeline versions (OAuth tokens, secret configuration values) and
//! resources (webhooks' `SecretToken`s, custom jobs' configuration) — are sealed ([`crate::sealing`])
//! under the key beside the database. Action execution records are written with secret values masked
//! (by sluice-core's worker), so they stay plain JSON the engine and `sqlite3` can query.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use sluice_core::action::{ActionTypes, CUSTOM_ACTION_TYPE_KIND};
use sluice_core::port::{
    ActionExecutionStore, ExecutionStore, PipelineStore, ResourceStore, StageStore, StoreError,
};
use sluice_core::record::{ActionExecution, PipelineExecution, StageExecution, StoredPipeline};
use sluice_core::stage::Gate;

use crate::sealing::{SealError, StoreKey};

/// Schema migrations of this store, applied in order. The engine's tables share the file and keep their
/// own count in `PRAGMA user_version`, so this store counts in its own table.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE pipeline_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE pipeline_executions (
        pipeline TEXT NOT NULL,
        id TEXT NOT NULL,
        record_version INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (pipeline, id)
    );
    CREATE TABLE stage_gates (
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (pipeline, stage)
    );
    CREATE TABLE stage_executions (
        pipeline TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (pipeline, execution_id, stage)
    );
    CREATE TABLE action_executions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        pipeline TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX action_executions_by_execution ON action_executions (pipeline, execution_id, seq);
"#,
    r#"
    CREATE TABLE task_answers (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        token TEXT NOT NULL,
        answer TEXT NOT NULL
    );
"#,
    r#"
    CREATE TABLE resources (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    );
"#,
    // Counts the changes to pipeline_versions: a store keeps the latest versions decoded while the
    // count is the one it read them at (every process on the file bumps it with its change).
    r#"
    CREATE TABLE pipeline_generation (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        changes INTEGER NOT NULL
    );
    INSERT INTO pipeline_generation (id, changes) VALUES (0, 0);
"#,
];

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    key: StoreKey,
    /// The latest version of every pipeline, decoded, as of a `pipeline_generation` count: matching a
    /// webhook delivery or a watched source reads them all, and opening and parsing each record every
    /// time was most of a delivery's cost.
    latest: Mutex<Option<LatestPipelines>>,
}

struct LatestPipelines {
    generation: i64,
    pipelines: Vec<Arc<StoredPipeline>>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the store in `path`, its records sealed with the key beside it
    /// ([`StoreKey::path_for`]).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::on(
            Arc::new(Mutex::new(Connection::open(path).map_err(sql_error)?)),
            &StoreKey::path_for(path),
        )
    }

    /// A store in memory, sealed with a key that lives as long as it.
    pub fn in_memory() -> Result<Self, StoreError> {
        let connection = Arc::new(Mutex::new(Connection::open_in_memory().map_err(sql_error)?));
        migrate(&connection)?;
        Self::with_key(connection, StoreKey::random().map_err(StoreError::backend)?)
    }

    /// The store over a connection it shares (with the embedded engine's store): one connection is one
    /// writer, so the two stores never wait on each other's file locks. Its records are sealed with the
    /// key in `key_file`, made (0600) at the first open; a store holding sealed records whose key file is
    /// gone is refused rather than given a new key that opens none of them.
    pub fn on(connection: Arc<Mutex<Connection>>, key_file: &Path) -> Result<Self, StoreError> {
        migrate(&connection)?;
        let key = match StoreKey::load(key_file).map_err(StoreError::backend)? {
            Some(key) => key,
            None => {
                let sealed: bool = lock(&connection)
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM pipeline_versions WHERE record LIKE 'sealed:%')
                             OR EXISTS (SELECT 1 FROM resources WHERE record LIKE 'sealed:%')",
                        [],
                        |row| row.get(0),
                    )
                    .map_err(sql_error)?;
                if sealed {
                    return Err(StoreError::backend(SealError::KeyMissing {
                        path: key_file.to_path_buf(),
                    }));
                }
                StoreKey::create(key_file).map_err(StoreError::backend)?
            }
        };
        Self::with_key(connection, key)
    }

    fn with_key(connection: Arc<Mutex<Connection>>, key: StoreKey) -> Result<Self, StoreError> {
        let store = Self {
            connection,
            key,
            latest: Mutex::new(None),
        };
        store.seal_earlier_records()?;
        Ok(store)
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        lock(&self.connection)
    }
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-written record: every write is one
    // transaction, so the connection is still sound.
    connection
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Creates the tables, or brings them up to date.
fn migrate(connection: &Mutex<Connection>) -> Result<(), StoreError> {
    let mut connection = lock(connection);
    // Every statement of both stores sharing the connection stays prepared.
    connection.set_prepared_statement_cache_capacity(64);
    connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS sluice_migrations (component TEXT PRIMARY KEY, applied INTEGER NOT NULL);",
            )
            .map_err(sql_error)?;
    let transaction = connection.transaction().map_err(sql_error)?;
    let applied: usize = transaction
        .query_row(
            "SELECT applied FROM sluice_migrations WHERE component = 'pipelines'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .optional()
        .map_err(sql_error)?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction.execute_batch(migration).map_err(sql_error)?;
        transaction
            .prepare_cached(
                "INSERT INTO sluice_migrations (component, applied) VALUES ('pipelines', ?1)
                     ON CONFLICT (component) DO UPDATE SET applied = excluded.applied",
            )
            .map_err(sql_error)?
            .execute(params![i64::try_from(index + 1).unwrap_or(i64::MAX)])
            .map_err(sql_error)?;
    }
    transaction.commit().map_err(sql_error)?;
    Ok(())
}

/// Part of every change to `pipeline_versions`: the decoded latest versions are read again.
fn bump_pipeline_generation(transaction: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    transaction
        .prepare_cached("UPDATE pipeline_generation SET changes = changes + 1 WHERE id = 0")
        .map_err(sql_error)?
        .execute([])
        .map_err(sql_error)?;
    Ok(())
}

/// The associated data of a pipeline version's sealed record: its row.
fn pipeline_row(name: &str, version: i32) -> String {
    format!("pipeline_versions\0{name}\0{version}")
}

/// The associated data of a resource's sealed record: its row.
fn resource_row(kind: &str, id: &str) -> String {
    format!("resources\0{kind}\0{id}")
}

impl SqliteStore {
    fn seal(&self, record: &impl Serialize, row: &str) -> Result<String, StoreError> {
        self.key
            .seal(&to_json(record)?, row)
            .map_err(StoreError::backend)
    }

    fn open_record<T: DeserializeOwned>(&self, text: &str, row: &str) -> Result<T, StoreError> {
        from_json(&self.key.open(text, row).map_err(StoreError::backend)?)
    }

    /// The latest version of every pipeline, by name: decoded again only when a pipeline changed since
    /// the last call (in this process or another on the same file).
    fn latest_pipelines(&self) -> Result<Vec<Arc<StoredPipeline>>, StoreError> {
        let connection = self.connection();
        // The count is read before the records: a change committed between the two makes the next call
        // read them again, never keeps older records under a newer count.
        let generation: i64 = connection
            .prepare_cached("SELECT changes FROM pipeline_generation WHERE id = 0")
            .map_err(sql_error)?
            .query_row([], |row| row.get(0))
            .map_err(sql_error)?;
        let mut latest = self
            .latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = latest.as_ref()
            && cached.generation == generation
        {
            return Ok(cached.pipelines.clone());
        }
        let pipelines: Vec<Arc<StoredPipeline>> = self
            .pipeline_records_on(
                &connection,
                "SELECT name, version, record FROM pipeline_versions v WHERE version =
                   (SELECT MAX(version) FROM pipeline_versions WHERE name = v.name) ORDER BY name",
                [],
            )?
            .into_iter()
            .map(Arc::new)
            .collect();
        *latest = Some(LatestPipelines {
            generation,
            pipelines: pipelines.clone(),
        });
        Ok(pipelines)
    }

    /// Pipeline versions from `sql`, which selects `name, version, record`.
    fn pipeline_records(
        &self,
        sql: &str,
        parameters: impl rusqlite::Params,
    ) -> Result<Vec<StoredPipeline>, StoreError> {
        self.pipeline_records_on(&self.connection(), sql, parameters)
    }

    fn pipeline_records_on(
        &self,
        connection: &Connection,
        sql: &str,
        parameters: impl rusqlite::Params,
    ) -> Result<Vec<StoredPipeline>, StoreError> {
        let mut statement = connection.prepare_cached(sql).map_err(sql_error)?;
        let rows = statement
            .query_map(parameters, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i32>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(sql_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (name, version, record) = row.map_err(sql_error)?;
            out.push(self.open_record(&record, &pipeline_row(&name, version))?);
        }
        Ok(out)
    }

    /// Once per database: seals the records an earlier Sluice wrote in clear and masks the secret
    /// values in its action execution records, then rewrites the file (VACUUM) and empties the
    /// write-ahead log, so no earlier clear copy is left in free pages or old log frames.
    fn seal_earlier_records(&self) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(sql_error)?;
        let done = transaction
            .query_row(
                "SELECT applied FROM sluice_migrations WHERE component = 'sealing'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map_err(sql_error)?
            .is_some();
        if done {
            return Ok(());
        }
        let mut changed = 0usize;
        let clear = |sql: &str| -> Result<Vec<(String, String, String)>, StoreError> {
            let mut statement = transaction.prepare(sql).map_err(sql_error)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(sql_error)?;
            rows.collect::<Result<_, _>>().map_err(sql_error)
        };
        let pipelines = clear(
            "SELECT name, CAST(version AS TEXT), record FROM pipeline_versions WHERE record NOT LIKE 'sealed:%'",
        )?;
        let resources =
            clear("SELECT kind, id, record FROM resources WHERE record NOT LIKE 'sealed:%'")?;
        for (name, version, record) in &pipelines {
            let version: i32 = version.parse().map_err(StoreError::backend)?;
            let sealed = self
                .key
                .seal(record, &pipeline_row(name, version))
                .map_err(StoreError::backend)?;
            changed += transaction
                .execute(
                    "UPDATE pipeline_versions SET record = ?1 WHERE name = ?2 AND version = ?3",
                    params![sealed, name, version],
                )
                .map_err(sql_error)?;
        }
        if !pipelines.is_empty() {
            bump_pipeline_generation(&transaction)?;
        }
        let mut type_documents = Vec::new();
        for (kind, id, record) in &resources {
            if kind == CUSTOM_ACTION_TYPE_KIND {
                type_documents.push(from_json::<serde_json::Value>(record)?);
            }
            let sealed = self
                .key
                .seal(record, &resource_row(kind, id))
                .map_err(StoreError::backend)?;
            changed += transaction
                .execute(
                    "UPDATE resources SET record = ?1 WHERE kind = ?2 AND id = ?3",
                    params![sealed, kind, id],
                )
                .map_err(sql_error)?;
        }
        let types = ActionTypes::from_documents(&type_documents);
        let actions: Vec<(i64, String)> = {
            let mut statement = transaction
                .prepare("SELECT seq, record FROM action_executions")
                .map_err(sql_error)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(sql_error)?;
            rows.collect::<Result<_, _>>().map_err(sql_error)?
        };
        for (seq, record) in actions {
            let mut action: ActionExecution = from_json(&record)?;
            let masked = (
                types.masked_configuration(&action.action_type_id, &action.configuration),
                types.masked_configuration(&action.action_type_id, &action.resolved_configuration),
            );
            if masked
                != (
                    action.configuration.clone(),
                    action.resolved_configuration.clone(),
                )
            {
                (action.configuration, action.resolved_configuration) = masked;
                changed += transaction
                    .execute(
                        "UPDATE action_executions SET record = ?1 WHERE seq = ?2",
                        params![to_json(&action)?, seq],
                    )
                    .map_err(sql_error)?;
            }
        }
        transaction
            .execute(
                "INSERT INTO sluice_migrations (component, applied) VALUES ('sealing', 1)",
                [],
            )
            .map_err(sql_error)?;
        transaction.commit().map_err(sql_error)?;
        if changed > 0 {
            // Best effort: another process reading the file can keep VACUUM or the checkpoint from
            // finishing; the records themselves are sealed either way.
            let _ = connection.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
        }
        Ok(())
    }
}

/// An answer to a task token given in a process that does not run the engine (`sluice approve` while
/// `sluice run` runs the pipeline): the process that runs the engine delivers it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome")]
pub enum TaskAnswer {
    Succeeded {
        output: serde_json::Value,
    },
    Failed {
        error: String,
        cause: String,
    },
    /// A long task is still being worked on (SendTaskHeartbeat).
    Heartbeat,
}

impl SqliteStore {
    pub fn push_task_answer(&self, token: &str, answer: &TaskAnswer) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached("INSERT INTO task_answers (token, answer) VALUES (?1, ?2)")
            .map_err(sql_error)?
            .execute(params![token, to_json(answer)?])
            .map_err(sql_error)?;
        Ok(())
    }

    /// Takes every waiting answer, oldest first.
    pub fn take_task_answers(&self) -> Result<Vec<(String, TaskAnswer)>, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(sql_error)?;
        let rows: Vec<(String, String)> = {
            let mut statement = transaction
                .prepare("SELECT token, answer FROM task_answers ORDER BY seq")
                .map_err(sql_error)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(sql_error)?;
            rows.collect::<Result<_, _>>().map_err(sql_error)?
        };
        transaction
            .prepare_cached("DELETE FROM task_answers")
            .map_err(sql_error)?
            .execute([])
            .map_err(sql_error)?;
        transaction.commit().map_err(sql_error)?;
        rows.into_iter()
            .map(|(token, answer)| Ok((token, from_json(&answer)?)))
            .collect()
    }
}

/// A SQLite failure as the ports say it: the database busy or locked by another connection (past the
/// busy timeout) is transient, anything else is the store failing.
fn sql_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::transient(error)
        }
        _ => StoreError::backend(error),
    }
}

fn to_json(record: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(StoreError::backend)
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(StoreError::backend)
}

fn records<T: DeserializeOwned>(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(sql_error)?;
    let rows = statement
        .query_map(parameters, |row| row.get::<_, String>(0))
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json(&row.map_err(sql_error)?)?);
    }
    Ok(out)
}

impl PipelineStore for SqliteStore {
    async fn pipeline(&self, name: &str) -> Result<Option<StoredPipeline>, StoreError> {
        Ok(self
            .latest_pipelines()?
            .iter()
            .find(|p| p.declaration.name == name)
            .map(|p| StoredPipeline::clone(p)))
    }

    async fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<StoredPipeline>, StoreError> {
        Ok(self
            .pipeline_records(
                "SELECT name, version, record FROM pipeline_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
            )?
            .pop())
    }

    async fn put_pipeline(
        &self,
        pipeline: &StoredPipeline,
        expected_version: Option<i32>,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(sql_error)?;
        let name = &pipeline.declaration.name;
        let latest: Option<i32> = transaction
            .query_row(
                "SELECT MAX(version) FROM pipeline_versions WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .map_err(sql_error)?;
        if latest != expected_version {
            return Err(match expected_version {
                None => StoreError::AlreadyExists {
                    what: format!("pipeline {name}"),
                },
                Some(_) => StoreError::Conflict {
                    what: format!("pipeline {name}"),
                },
            });
        }
        transaction
            .prepare_cached(
                "INSERT INTO pipeline_versions (name, version, record) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql_error)?
            .execute(params![
                name,
                pipeline.version(),
                self.seal(pipeline, &pipeline_row(name, pipeline.version()))?
            ])
            .map_err(sql_error)?;
        bump_pipeline_generation(&transaction)?;
        transaction.commit().map_err(sql_error)
    }

    async fn pipelines(&self) -> Result<Vec<Arc<StoredPipeline>>, StoreError> {
        self.latest_pipelines()
    }

    async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(sql_error)?;
        for table in [
            "DELETE FROM pipeline_versions WHERE name = ?1",
            "DELETE FROM pipeline_executions WHERE pipeline = ?1",
            "DELETE FROM stage_gates WHERE pipeline = ?1",
            "DELETE FROM stage_executions WHERE pipeline = ?1",
            "DELETE FROM action_executions WHERE pipeline = ?1",
        ] {
            transaction
                .execute(table, params![name])
                .map_err(sql_error)?;
        }
        bump_pipeline_generation(&transaction)?;
        transaction.commit().map_err(sql_error)
    }
}

impl ExecutionStore for SqliteStore {
    async fn create_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let connection = self.connection();
        let inserted = connection
            .prepare_cached(
                "INSERT INTO pipeline_executions (pipeline, id, record_version, start_time, record)
                 VALUES (?1, ?2, 0, ?3, ?4) ON CONFLICT DO NOTHING",
            )
            .map_err(sql_error)?
            .execute(params![
                execution.pipeline_name,
                execution.pipeline_execution_id,
                execution.start_time.epoch_millis(),
                to_json(&PipelineExecution {
                    record_version: 0,
                    ..execution.clone()
                })?
            ])
            .map_err(sql_error)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists {
                what: format!("pipeline execution {}", execution.pipeline_execution_id),
            });
        }
        Ok(())
    }

    async fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Option<PipelineExecution>, StoreError> {
        let connection = self.connection();
        Ok(records(
            &connection,
            "SELECT record FROM pipeline_executions WHERE pipeline = ?1 AND id = ?2",
            params![pipeline, execution_id],
        )?
        .pop())
    }

    async fn update_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let connection = self.connection();
        let next = execution.record_version + 1;
        let record = to_json(&PipelineExecution {
            record_version: next,
            ..execution.clone()
        })?;
        let updated = connection
            .prepare_cached(
                "UPDATE pipeline_executions SET record = ?1, record_version = ?2
                 WHERE pipeline = ?3 AND id = ?4 AND record_version = ?5",
            )
            .map_err(sql_error)?
            .execute(params![
                record,
                i64::try_from(next).unwrap_or(i64::MAX),
                execution.pipeline_name,
                execution.pipeline_execution_id,
                i64::try_from(execution.record_version).unwrap_or(i64::MAX)
            ])
            .map_err(sql_error)?;
        if updated == 0 {
            return Err(StoreError::Conflict {
                what: format!("pipeline execution {}", execution.pipeline_execution_id),
            });
        }
        Ok(())
    }

    async fn executions(&self, pipeline: &str) -> Result<Vec<PipelineExecution>, StoreError> {
        let connection = self.connection();
        records(
            &connection,
            "SELECT record FROM pipeline_executions WHERE pipeline = ?1
             ORDER BY start_time DESC, rowid DESC",
            params![pipeline],
        )
    }
}

impl StageStore for SqliteStore {
    async fn gate(&self, pipeline: &str, stage: &str) -> Result<(Gate, u64), StoreError> {
        let connection = self.connection();
        let row: Option<(String, i64)> = connection
            .query_row(
                "SELECT record, version FROM stage_gates WHERE pipeline = ?1 AND stage = ?2",
                params![pipeline, stage],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sql_error)?;
        match row {
            None => Ok((Gate::default(), 0)),
            Some((record, version)) => Ok((
                from_json(&record)?,
                u64::try_from(version).unwrap_or_default(),
            )),
        }
    }

    async fn put_gate(
        &self,
        pipeline: &str,
        stage: &str,
        gate: &Gate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let connection = self.connection();
        let record = to_json(gate)?;
        let expected = i64::try_from(expected_version).unwrap_or(i64::MAX);
        let changed = if expected_version == 0 {
            connection.prepare_cached("INSERT INTO stage_gates (pipeline, stage, version, record) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT DO NOTHING")
.map_err(sql_error)?
.execute(params![pipeline, stage, record],
            )
        } else {
            connection.prepare_cached("UPDATE stage_gates SET record = ?1, version = version + 1
                 WHERE pipeline = ?2 AND stage = ?3 AND version = ?4")
.map_err(sql_error)?
.execute(params![record, pipeline, stage, expected],
            )
        }
        .map_err(sql_error)?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                what: format!("the gate of stage {stage} of pipeline {pipeline}"),
            });
        }
        Ok(())
    }

    async fn put_stage_execution(&self, stage: &StageExecution) -> Result<(), StoreError> {
        let connection = self.connection();
        connection
            .prepare_cached("INSERT INTO stage_executions (pipeline, execution_id, stage, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (pipeline, execution_id, stage) DO UPDATE SET record = excluded.record")
.map_err(sql_error)?
.execute(params![
                    stage.pipeline_name,
                    stage.pipeline_execution_id,
                    stage.stage_name,
                    to_json(stage)?
                ],
            )
            .map_err(sql_error)?;
        Ok(())
    }

    async fn latest_stage_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        // The row of the execution that entered a stage last is the newest one: a stage execution is
        // inserted when its execution enters and only updated after.
        let connection = self.connection();
        records(
            &connection,
            "SELECT record FROM stage_executions WHERE rowid IN (
                 SELECT MAX(rowid) FROM stage_executions WHERE pipeline = ?1 GROUP BY stage)",
            params![pipeline],
        )
    }

    async fn stage_executions(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        let connection = self.connection();
        records(
            &connection,
            "SELECT record FROM stage_executions WHERE pipeline = ?1 AND execution_id = ?2",
            params![pipeline, execution_id],
        )
    }
}

impl ActionExecutionStore for SqliteStore {
    async fn latest_action_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let connection = self.connection();
        records(
            &connection,
            "SELECT record FROM action_executions WHERE seq IN (
                 SELECT MAX(seq) FROM action_executions WHERE pipeline = ?1
                 GROUP BY json_extract(record, '$.stageName'), json_extract(record, '$.actionName'))
             ORDER BY seq",
            params![pipeline],
        )
    }

    async fn put_action_execution(&self, action: &ActionExecution) -> Result<(), StoreError> {
        let connection = self.connection();
        connection
            .prepare_cached("INSERT INTO action_executions (id, pipeline, execution_id, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record")
.map_err(sql_error)?
.execute(params![
                    action.action_execution_id,
                    action.pipeline_name,
                    action.pipeline_execution_id,
                    to_json(action)?
                ],
            )
            .map_err(sql_error)?;
        Ok(())
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        execution_id: Option<&str>,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let connection = self.connection();
        match execution_id {
            Some(id) => records(
                &connection,
                "SELECT record FROM action_executions WHERE pipeline = ?1 AND execution_id = ?2 ORDER BY seq",
                params![pipeline, id],
            ),
            None => records(
                &connection,
                "SELECT record FROM action_executions WHERE pipeline = ?1 ORDER BY seq",
                params![pipeline],
            ),
        }
    }
}

impl ResourceStore for SqliteStore {
    async fn resource(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(serde_json::Value, u64)>, StoreError> {
        let connection = self.connection();
        let row: Option<(String, i64)> = connection
            .query_row(
                "SELECT record, version FROM resources WHERE kind = ?1 AND id = ?2",
                params![kind, id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sql_error)?;
        row.map(|(record, version)| {
            Ok((
                self.open_record(&record, &resource_row(kind, id))?,
                u64::try_from(version).unwrap_or_default(),
            ))
        })
        .transpose()
    }

    async fn put_resource(
        &self,
        kind: &str,
        id: &str,
        document: &serde_json::Value,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let record = self.seal(document, &resource_row(kind, id))?;
        let connection = self.connection();
        let changed = if expected_version == 0 {
            connection.prepare_cached("INSERT INTO resources (kind, id, version, record) VALUES (?1, ?2, 1, ?3) ON CONFLICT DO NOTHING")
.map_err(sql_error)?
.execute(params![kind, id, record],
            )
        } else {
            connection.prepare_cached("UPDATE resources SET record = ?1, version = version + 1 WHERE kind = ?2 AND id = ?3 AND version = ?4")
.map_err(sql_error)?
.execute(params![record, kind, id, i64::try_from(expected_version).unwrap_or(i64::MAX)],
            )
        }
        .map_err(sql_error)?;
        if changed == 0 {
            return Err(if expected_version == 0 {
                StoreError::AlreadyExists {
                    what: format!("{kind} {id}"),
                }
            } else {
                StoreError::Conflict {
                    what: format!("{kind} {id}"),
                }
            });
        }
        Ok(())
    }

    async fn resources(&self, kind: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT id, record FROM resources WHERE kind = ?1 ORDER BY id")
            .map_err(sql_error)?;
        let rows = statement
            .query_map(params![kind], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(sql_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, record) = row.map_err(sql_error)?;
            let document = self.open_record(&record, &resource_row(kind, &id))?;
            out.push((id, document));
        }
        Ok(out)
    }

    async fn delete_resource(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached("DELETE FROM resources WHERE kind = ?1 AND id = ?2")
            .map_err(sql_error)?
            .execute(params![kind, id])
            .map_err(sql_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod sql_error_tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_busy_or_locked_database_is_transient_and_other_failures_are_not() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            assert!(matches!(
                sql_error(failure(code)),
                StoreError::Transient { .. }
            ));
        }
        for code in [
            rusqlite::ffi::SQLITE_CONSTRAINT,
            rusqlite::ffi::SQLITE_CORRUPT,
            rusqlite::ffi::SQLITE_READONLY,
        ] {
            assert!(matches!(
                sql_error(failure(code)),
                StoreError::Backend { .. }
            ));
        }
        assert!(matches!(
            sql_error(rusqlite::Error::QueryReturnedNoRows),
            StoreError::Backend { .. }
        ));
    }
}
