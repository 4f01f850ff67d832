//! Sluice on one machine, wired: the SQLite store, the file artifact store and the embedded engine behind
//! sluice-core's ports, the engine's Lambda tasks routed to the same dispatcher and worker handlers the
//! Lambda functions run, and the local action providers.
//!
//! Data directory layout:
//! ```text
//! <data-dir>/sluice.db                         pipelines, executions, gates, action executions, engine state
//! <data-dir>/events.jsonl                      state-change events, one EventBridge envelope a line
//! <data-dir>/s3/<bucket>/<key>                 every S3 bucket, the artifact store's included
//! <data-dir>/logs/<pipeline>/<execution>/…     one log per action attempt
//! <data-dir>/work/<action execution id>/       a build's workspace (removed when the action succeeds)
//! ```

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::watch;

use sluice_core::port::{
    ArtifactError, ArtifactLocation, ArtifactStore, Clock, Ids, Ports, StoreError,
};
use sluice_core::time::Timestamp;
use sluice_core::worker::Providers;
use sluice_statemachine::clock::{Clock as EngineClock, SystemClock};
use sluice_statemachine::engine::{Engine, Location, TaskHandler, TaskOutcome, TaskRequest};
use sluice_statemachine::entropy::OsEntropy;
use sluice_statemachine::sqlite::SqliteStore as EngineStore;

use crate::events::EventFile;
use crate::orchestrator::{LocalOrchestrator, deliver_task_answers};
use crate::s3_folder::S3Folder;
use crate::scheduler::LocalScheduler;
use crate::store::SqliteStore;

/// The local artifact store: artifacts are zip files in the bucket folders.
#[derive(Clone)]
pub struct FileArtifactStore {
    buckets: Arc<S3Folder>,
}

impl FileArtifactStore {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            buckets: Arc::new(S3Folder::new(data_dir)),
        }
    }

    /// The file an artifact is kept in.
    pub fn path(&self, location: &ArtifactLocation) -> Result<PathBuf, ArtifactError> {
        self.buckets
            .object_path(&location.bucket_name, &location.object_key)
            .map_err(|e| ArtifactError::Backend {
                location: location.clone(),
                message: e.to_string(),
                source: Some(Box::new(e)),
            })
    }
}

fn io_error(location: &ArtifactLocation, error: std::io::Error) -> ArtifactError {
    ArtifactError::Backend {
        location: location.clone(),
        message: error.to_string(),
        source: Some(Box::new(error)),
    }
}

impl ArtifactStore for FileArtifactStore {
    async fn put_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> Result<(), ArtifactError> {
        let target = self.path(location)?;
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(location, e))?;
        }
        tokio::fs::copy(file, &target)
            .await
            .map_err(|e| io_error(location, e))?;
        Ok(())
    }

    async fn get_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> Result<(), ArtifactError> {
        let source = self.path(location)?;
        if !source.is_file() {
            return Err(ArtifactError::NotFound {
                location: location.clone(),
            });
        }
        if let Some(parent) = file.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(location, e))?;
        }
        tokio::fs::copy(&source, file)
            .await
            .map_err(|e| io_error(location, e))?;
        Ok(())
    }
}

/// The core's clock over the engine's, so both agree (and tests drive both with one manual clock).
#[derive(Clone)]
pub struct SharedClock(pub Arc<dyn EngineClock>);

impl Clock for SharedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_epoch_millis(self.0.now())
    }
}

/// Identifiers from the operating system's randomness (the AWS runtime uses the same).
pub use sluice_core::system::RandomIds;

/// Cancels the local jobs of executions that are stopped. One channel holds the set of cancelled
/// executions, so nothing is kept for the executions that are never cancelled.
#[derive(Clone)]
pub struct Cancellations {
    cancelled: Arc<watch::Sender<BTreeSet<String>>>,
}

impl Default for Cancellations {
    fn default() -> Self {
        Self {
            cancelled: Arc::new(watch::channel(BTreeSet::new()).0),
        }
    }
}

impl Cancellations {
    /// Resolves when the execution is cancelled.
    pub fn signal(&self, execution_id: &str) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.cancelled.subscribe();
        let execution_id = execution_id.to_string();
        async move {
            let _ = receiver
                .wait_for(|cancelled| cancelled.contains(&execution_id))
                .await;
        }
    }

    pub fn cancel(&self, execution_id: &str) {
        self.cancelled.send_modify(|cancelled| {
            cancelled.insert(execution_id.to_string());
        });
    }
}

/// The ports on one machine.
#[derive(Clone)]
pub struct LocalPorts {
    pub store: Arc<SqliteStore>,
    pub artifacts: FileArtifactStore,
    pub orchestrator: LocalOrchestrator,
    pub events: EventFile,
    /// Triggers, kept in the store; `sluice serve` runs their cron ([`LocalScheduler::run`]).
    pub scheduler: LocalScheduler<SqliteStore>,
    pub clock: SharedClock,
    pub ids: Arc<dyn Ids>,
}

impl Ports for LocalPorts {
    type Store = SqliteStore;
    type Orchestrator = LocalOrchestrator;
    type Artifacts = FileArtifactStore;
    type Events = EventFile;
    type Scheduler = LocalScheduler<SqliteStore>;

    fn store(&self) -> &SqliteStore {
        &self.store
    }
    fn orchestrator(&self) -> &LocalOrchestrator {
        &self.orchestrator
    }
    fn artifacts(&self) -> &FileArtifactStore {
        &self.artifacts
    }
    fn events(&self) -> &EventFile {
        &self.events
    }
    fn scheduler(&self) -> &LocalScheduler<SqliteStore> {
        &self.scheduler
    }
    fn clock(&self) -> &dyn Clock {
        &self.clock
    }
    fn ids(&self) -> &dyn Ids {
        self.ids.as_ref()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the embedded engine failed: {0}")]
    Engine(#[from] sluice_statemachine::engine::EngineError),
    #[error("the engine's store failed: {0}")]
    EngineStore(#[from] sluice_statemachine::store::StoreError),
}

/// A running local Sluice.
#[derive(Clone)]
pub struct LocalRuntime {
    pub ports: LocalPorts,
    engine: Engine,
    pub data_dir: PathBuf,
    pub cancellations: Cancellations,
}

impl LocalRuntime {
    /// Opens the data directory (creating it), starts the engine and carries on whatever was running.
    /// `providers` is built by the caller from the runtime's ports and cancellations (see
    /// [`crate::provider::local_providers`]).
    pub async fn open(
        data_dir: &Path,
        clock: Arc<dyn EngineClock>,
        ids: Arc<dyn Ids>,
        providers: impl FnOnce(&LocalRuntime) -> Providers,
    ) -> Result<LocalRuntime, RuntimeError> {
        std::fs::create_dir_all(data_dir).map_err(|source| RuntimeError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let database = data_dir.join("sluice.db");
        let engine_store = Arc::new(EngineStore::open(&database)?);
        let store = Arc::new(SqliteStore::on(engine_store.connection())?);
        let engine = Engine::start(
            engine_store,
            clock.clone(),
            Box::new(OsEntropy),
            Location::default(),
        )
        .await?;
        let runtime = LocalRuntime {
            ports: LocalPorts {
                scheduler: LocalScheduler::new(store.clone(), Arc::new(SharedClock(clock.clone()))),
                store,
                artifacts: FileArtifactStore::new(data_dir),
                orchestrator: LocalOrchestrator::Engine(engine.clone()),
                events: EventFile::new(data_dir),
                clock: SharedClock(clock),
                ids,
            },
            engine: engine.clone(),
            data_dir: data_dir.to_path_buf(),
            cancellations: Cancellations::default(),
        };
        let providers = Arc::new(providers(&runtime));
        engine.register(
            "arn:aws:states:::lambda:invoke*",
            Arc::new(LambdaTasks {
                ports: runtime.ports.clone(),
                providers,
            }),
        );
        engine.recover().await?;
        // Answers given by attached processes (`sluice approve` in another terminal).
        let (delivery_engine, delivery_store) = (engine.clone(), runtime.ports.store.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
            loop {
                tick.tick().await;
                if delivery_engine.is_shut_down() {
                    break;
                }
                deliver_task_answers(&delivery_engine, &delivery_store).await;
            }
        });
        Ok(runtime)
    }

    /// Opens the data directory without running the engine, for commands that only record decisions
    /// while another process runs the pipelines (see [`LocalOrchestrator::Attached`]).
    pub fn attach(data_dir: &Path) -> Result<LocalPorts, RuntimeError> {
        let database = data_dir.join("sluice.db");
        if !database.is_file() {
            return Err(RuntimeError::DataDir {
                path: data_dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no sluice.db here: nothing has run with this data directory",
                ),
            });
        }
        let store = Arc::new(SqliteStore::open(&database)?);
        let clock = SharedClock(Arc::new(SystemClock));
        Ok(LocalPorts {
            scheduler: LocalScheduler::new(store.clone(), Arc::new(clock.clone())),
            store: store.clone(),
            artifacts: FileArtifactStore::new(data_dir),
            orchestrator: LocalOrchestrator::Attached(store),
            events: EventFile::new(data_dir),
            clock,
            ids: Arc::new(RandomIds),
        })
    }

    /// Opens with the system clock and random ids.
    pub async fn open_default(
        data_dir: &Path,
        providers: impl FnOnce(&LocalRuntime) -> Providers,
    ) -> Result<LocalRuntime, RuntimeError> {
        Self::open(
            data_dir,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
            providers,
        )
        .await
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops the engine: nothing more is written; a later open carries on.
    pub fn shutdown(&self) {
        self.engine().shutdown();
    }
}

/// The machine's Lambda tasks, run in process: `sluice-dispatcher` and the four `sluice-worker-<kind>`.
struct LambdaTasks {
    ports: LocalPorts,
    providers: Arc<Providers>,
}

impl TaskHandler for LambdaTasks {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        Box::pin(async move {
            let function = task
                .input
                .get("FunctionName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let payload = task.input.get("Payload").cloned().unwrap_or(Value::Null);
            if function == "sluice-dispatcher" {
                match sluice_core::dispatcher::handle(&self.ports, payload).await {
                    Ok(result) => {
                        TaskOutcome::Succeeded(json!({ "StatusCode": 200, "Payload": result }))
                    }
                    Err(error) => TaskOutcome::Failed {
                        error: error.error_type().to_string(),
                        cause: error.to_string(),
                    },
                }
            } else if function.starts_with("sluice-worker-") {
                match sluice_core::worker::handle(&self.ports, &self.providers, payload).await {
                    Ok(_) => TaskOutcome::Accepted,
                    Err(error) => TaskOutcome::Failed {
                        error: error.error_type().to_string(),
                        cause: error.to_string(),
                    },
                }
            } else {
                TaskOutcome::Failed {
                    error: "Lambda.ResourceNotFoundException".to_string(),
                    cause: format!("Function not found: {function}"),
                }
            }
        })
    }
}

/// The nice value of the threads that run executions' work in [`work_runtime`] (0 is normal, 19 the
/// lowest priority).
pub const WORK_NICE: i32 = 10;

/// A tokio runtime for the executions' work: the engine, the task handlers, the providers and the builds
/// they start. Its threads run at a lower priority ([`WORK_NICE`]) than the threads that serve the API, so
/// a busy machine still answers API calls promptly; build processes inherit the priority. Open the
/// [`LocalRuntime`] on it (the engine spawns its work on the runtime it was started on).
pub fn work_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("sluice-work")
        .on_thread_start(lower_thread_priority)
        .enable_all()
        .build()
}

/// Lowers the calling thread's priority: on Linux a nice value belongs to the thread, not the process.
fn lower_thread_priority() {
    // Best effort: a host that forbids it keeps the normal priority, which is only slower.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), WORK_NICE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("getpriority")
    }

    #[test]
    fn the_work_runtime_runs_tasks_and_blocking_work_at_the_lower_priority() {
        let normal = own_nice();
        let work = work_runtime(1).expect("builds");
        let (in_task, in_blocking) = work.block_on(async {
            let task = tokio::spawn(async { own_nice() }).await.expect("task");
            let blocking = tokio::task::spawn_blocking(own_nice)
                .await
                .expect("blocking");
            (task, blocking)
        });
        // At least WORK_NICE: a process already niced further (say, by its CI) may keep its value.
        assert!(in_task >= WORK_NICE, "task at nice {in_task}");
        assert!(
            in_blocking >= WORK_NICE,
            "blocking work at nice {in_blocking}"
        );
        assert_eq!(own_nice(), normal, "the calling thread keeps its priority");
    }
}
