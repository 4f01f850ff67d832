//! The stores on one machine: SQLite in WAL mode, one file in the data directory, shared with the
//! embedded engine's tables. Records are kept as JSON, keyed as the DynamoDB table keys them; every
//! change runs in a transaction with the version check the ports require.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use sluice_core::execution::{ActionExecution, PipelineExecution, StageExecution};
use sluice_core::port::{
    ActionExecutionStore, ExecutionStore, PipelineStore, ResourceStore, StageStore, StoreError,
    StoredPipeline,
};
use sluice_core::stage::Gate;

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
];

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the store in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::on(Arc::new(Mutex::new(
            Connection::open(path).map_err(StoreError::backend)?,
        )))
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::on(Arc::new(Mutex::new(
            Connection::open_in_memory().map_err(StoreError::backend)?,
        )))
    }

    /// The store over a connection it shares (with the embedded engine's store): one connection is one
    /// writer, so the two stores never wait on each other's file locks.
    pub fn on(connection: Arc<Mutex<Connection>>) -> Result<Self, StoreError> {
        {
            let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            // Every statement of both stores sharing the connection stays prepared.
            connection.set_prepared_statement_cache_capacity(64);
            connection
                .execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
                     CREATE TABLE IF NOT EXISTS sluice_migrations (component TEXT PRIMARY KEY, applied INTEGER NOT NULL);",
                )
                .map_err(StoreError::backend)?;
            let transaction = connection.transaction().map_err(StoreError::backend)?;
            let applied: usize = transaction
                .query_row(
                    "SELECT applied FROM sluice_migrations WHERE component = 'pipelines'",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .optional()
                .map_err(StoreError::backend)?
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0);
            for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
                transaction
                    .execute_batch(migration)
                    .map_err(StoreError::backend)?;
                transaction
                    .prepare_cached("INSERT INTO sluice_migrations (component, applied) VALUES ('pipelines', ?1)
                         ON CONFLICT (component) DO UPDATE SET applied = excluded.applied")
.map_err(StoreError::backend)?
.execute(params![i64::try_from(index + 1).unwrap_or(i64::MAX)],
                    )
                    .map_err(StoreError::backend)?;
            }
            transaction.commit().map_err(StoreError::backend)?;
        }
        Ok(Self { connection })
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written record: every write is one
        // transaction, so the connection is still sound.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
            .map_err(StoreError::backend)?
            .execute(params![token, to_json(answer)?])
            .map_err(StoreError::backend)?;
        Ok(())
    }

    /// Takes every waiting answer, oldest first.
    pub fn take_task_answers(&self) -> Result<Vec<(String, TaskAnswer)>, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(StoreError::backend)?;
        let rows: Vec<(String, String)> = {
            let mut statement = transaction
                .prepare("SELECT token, answer FROM task_answers ORDER BY seq")
                .map_err(StoreError::backend)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(StoreError::backend)?;
            rows.collect::<Result<_, _>>()
                .map_err(StoreError::backend)?
        };
        transaction
            .prepare_cached("DELETE FROM task_answers")
            .map_err(StoreError::backend)?
            .execute([])
            .map_err(StoreError::backend)?;
        transaction.commit().map_err(StoreError::backend)?;
        rows.into_iter()
            .map(|(token, answer)| Ok((token, from_json(&answer)?)))
            .collect()
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
    let mut statement = connection
        .prepare_cached(sql)
        .map_err(StoreError::backend)?;
    let rows = statement
        .query_map(parameters, |row| row.get::<_, String>(0))
        .map_err(StoreError::backend)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json(&row.map_err(StoreError::backend)?)?);
    }
    Ok(out)
}

impl PipelineStore for SqliteStore {
    async fn pipeline(&self, name: &str) -> Result<Option<StoredPipeline>, StoreError> {
        let connection = self.connection();
        Ok(records(
            &connection,
            "SELECT record FROM pipeline_versions WHERE name = ?1 ORDER BY version DESC LIMIT 1",
            params![name],
        )?
        .pop())
    }

    async fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<StoredPipeline>, StoreError> {
        let connection = self.connection();
        Ok(records(
            &connection,
            "SELECT record FROM pipeline_versions WHERE name = ?1 AND version = ?2",
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
        let transaction = connection.transaction().map_err(StoreError::backend)?;
        let name = &pipeline.declaration.name;
        let latest: Option<i32> = transaction
            .query_row(
                "SELECT MAX(version) FROM pipeline_versions WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?
            .execute(params![name, pipeline.version(), to_json(pipeline)?])
            .map_err(StoreError::backend)?;
        transaction.commit().map_err(StoreError::backend)
    }

    async fn pipelines(&self) -> Result<Vec<StoredPipeline>, StoreError> {
        let connection = self.connection();
        records(
            &connection,
            "SELECT record FROM pipeline_versions v WHERE version =
               (SELECT MAX(version) FROM pipeline_versions WHERE name = v.name) ORDER BY name",
            [],
        )
    }

    async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(StoreError::backend)?;
        for table in [
            "DELETE FROM pipeline_versions WHERE name = ?1",
            "DELETE FROM pipeline_executions WHERE pipeline = ?1",
            "DELETE FROM stage_gates WHERE pipeline = ?1",
            "DELETE FROM stage_executions WHERE pipeline = ?1",
            "DELETE FROM action_executions WHERE pipeline = ?1",
        ] {
            transaction
                .execute(table, params![name])
                .map_err(StoreError::backend)?;
        }
        transaction.commit().map_err(StoreError::backend)
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
            .map_err(StoreError::backend)?
            .execute(params![
                execution.pipeline_name,
                execution.pipeline_execution_id,
                execution.start_time.epoch_millis(),
                to_json(&PipelineExecution {
                    record_version: 0,
                    ..execution.clone()
                })?
            ])
            .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?
            .execute(params![
                record,
                i64::try_from(next).unwrap_or(i64::MAX),
                execution.pipeline_name,
                execution.pipeline_execution_id,
                i64::try_from(execution.record_version).unwrap_or(i64::MAX)
            ])
            .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?;
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
.map_err(StoreError::backend)?
.execute(params![pipeline, stage, record],
            )
        } else {
            connection.prepare_cached("UPDATE stage_gates SET record = ?1, version = version + 1
                 WHERE pipeline = ?2 AND stage = ?3 AND version = ?4")
.map_err(StoreError::backend)?
.execute(params![record, pipeline, stage, expected],
            )
        }
        .map_err(StoreError::backend)?;
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
.map_err(StoreError::backend)?
.execute(params![
                    stage.pipeline_name,
                    stage.pipeline_execution_id,
                    stage.stage_name,
                    to_json(stage)?
                ],
            )
            .map_err(StoreError::backend)?;
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
.map_err(StoreError::backend)?
.execute(params![
                    action.action_execution_id,
                    action.pipeline_name,
                    action.pipeline_execution_id,
                    to_json(action)?
                ],
            )
            .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?;
        row.map(|(record, version)| {
            Ok((
                from_json(&record)?,
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
        let connection = self.connection();
        let record = to_json(document)?;
        let changed = if expected_version == 0 {
            connection.prepare_cached("INSERT INTO resources (kind, id, version, record) VALUES (?1, ?2, 1, ?3) ON CONFLICT DO NOTHING")
.map_err(StoreError::backend)?
.execute(params![kind, id, record],
            )
        } else {
            connection.prepare_cached("UPDATE resources SET record = ?1, version = version + 1 WHERE kind = ?2 AND id = ?3 AND version = ?4")
.map_err(StoreError::backend)?
.execute(params![record, kind, id, i64::try_from(expected_version).unwrap_or(i64::MAX)],
            )
        }
        .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?;
        let rows = statement
            .query_map(params![kind], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(StoreError::backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, record) = row.map_err(StoreError::backend)?;
            out.push((id, from_json(&record)?));
        }
        Ok(out)
    }

    async fn delete_resource(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        self.connection()
            .prepare_cached("DELETE FROM resources WHERE kind = ?1 AND id = ?2")
            .map_err(StoreError::backend)?
            .execute(params![kind, id])
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
