//! Sluice on one machine, wired: the SQLite store, the file artifact store and the embedded engine behind
//! sluice-core's ports, the engine's Lambda tasks routed to the same dispatcher and worker handlers the
//! Lambda functions run, and the local action providers.
//!
//! Data directory layout:
//! ```text
//! <data-dir>/sluice.db                         pipelines, executions, gates, action executions, engine state
//! <data-dir>/sluice.key                        the key the store's records holding secrets are sealed with
//! <data-dir>/approval.key                      the key approval links are signed with
//! <data-dir>/events.jsonl                      state-change events, one EventBridge envelope a line
//! <data-dir>/s3/<bucket>/<key>                 every S3 bucket, the artifact store's included
//! <data-dir>/logs/<pipeline>/<execution>/…     one log per action attempt
//! <data-dir>/work/<action execution id>/       an action's workspace (0700), removed when the action ends
//! <data-dir>/processes/<pgid>-<start time>     the process group of each running build or function
//! <data-dir>/engine.lock                       held by the one process that runs the executions
//! ```
//!
//! The data directory is private to the server's user: 0700, and `sluice.db` (with its `-wal` and `-shm`)
//! and `sluice.key` and `approval.key` 0600, created so and tightened when opened ([`crate::private`]). Opening it with the engine first
//! ends what an earlier process left running (its recorded process groups), then removes leftover workspaces, and only then carries
//! on the open executions: an action handed over again never runs beside its previous run.

use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use sluice_core::approval::link::ApprovalKey;
use sluice_core::port::{
    ArtifactError, ArtifactStore, Clock, Ids, Ports, Providers, StopSignal, StoreError,
};
use sluice_core::record::ArtifactLocation;
use sluice_core::time::Timestamp;
use sluice_statemachine::clock::{Clock as EngineClock, SystemClock};
use sluice_statemachine::engine::{Engine, Location, TaskHandler, TaskOutcome, TaskRequest};
use sluice_statemachine::entropy::OsEntropy;
use sluice_statemachine::store::SqliteStore as EngineStore;

use crate::events::EventFile;
use crate::guard::segment;
use crate::orchestrator::{LocalOrchestrator, deliver_task_answers};
use crate::private::{private_dir, private_file, tighten};
use crate::process::{ProcessError, Processes};
use crate::s3_folder::{S3Folder, S3FolderError};
use crate::scheduler::LocalScheduler;
use crate::sealing::{StoreKey, approval_key};
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

    /// The file an artifact is kept in. An artifact's key starts with its pipeline's name, which
    /// CodePipeline allows to be `.` or `..`: each segment of the key is one path segment
    /// ([`crate::guard::segment`]), so a key is never read as a path.
    pub fn path(&self, location: &ArtifactLocation) -> Result<PathBuf, ArtifactError> {
        self.buckets
            .object_path(&location.bucket_name, &stored_key(location))
            .map_err(|e| backend_error(location, e))
    }
}

impl FileArtifactStore {
    /// Keeps the file `from` (a zip Sluice made for this artifact, which it no longer needs) as the
    /// artifact, moving it into place through the guard rather than copying it.
    pub async fn move_artifact(
        &self,
        location: &ArtifactLocation,
        from: &Path,
    ) -> Result<(), ArtifactError> {
        let (buckets, key, from) = (self.buckets.clone(), stored_key(location), from.to_owned());
        let bucket = location.bucket_name.clone();
        let moved = tokio::task::spawn_blocking(move || buckets.move_object(&bucket, &key, &from));
        match moved.await {
            Ok(result) => result.map(|_| ()).map_err(|e| backend_error(location, e)),
            Err(join) => Err(io_error(location, std::io::Error::other(join))),
        }
    }
}

fn stored_key(location: &ArtifactLocation) -> String {
    let segments: Vec<_> = location.object_key.split('/').map(segment).collect();
    segments.join("/")
}

fn io_error(location: &ArtifactLocation, error: std::io::Error) -> ArtifactError {
    ArtifactError::Backend {
        location: location.clone(),
        message: error.to_string(),
        source: Some(Box::new(error)),
    }
}

fn backend_error(location: &ArtifactLocation, error: S3FolderError) -> ArtifactError {
    if let S3FolderError::MissingObject { .. } = error {
        return ArtifactError::NotFound {
            location: location.clone(),
        };
    }
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
        let (buckets, key, file) = (self.buckets.clone(), stored_key(location), file.to_owned());
        let bucket = location.bucket_name.clone();
        let put = tokio::task::spawn_blocking(move || buckets.put_object(&bucket, &key, &file));
        match put.await {
            Ok(result) => result.map(|_| ()).map_err(|e| backend_error(location, e)),
            Err(join) => Err(io_error(location, std::io::Error::other(join))),
        }
    }

    async fn get_artifact(
        &self,
        location: &ArtifactLocation,
        file: &Path,
    ) -> Result<(), ArtifactError> {
        let (buckets, key, file) = (self.buckets.clone(), stored_key(location), file.to_owned());
        let bucket = location.bucket_name.clone();
        let get = tokio::task::spawn_blocking(move || buckets.get_object(&bucket, &key, &file));
        match get.await {
            Ok(result) => result.map_err(|e| backend_error(location, e)),
            Err(join) => Err(io_error(location, std::io::Error::other(join))),
        }
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
    #[error(
        "another Sluice process (pid {pid}) runs the executions of {}; only one process may (sluice approve, status and list work beside it)",
        data_dir.display()
    )]
    InUse { data_dir: PathBuf, pid: String },
    #[error("cannot end what an earlier Sluice process left running: {0}")]
    Leftovers(#[from] ProcessError),
    #[error(transparent)]
    Key(#[from] crate::sealing::SealError),
}

/// A running local Sluice.
#[derive(Clone)]
pub struct LocalRuntime {
    pub ports: LocalPorts,
    engine: Engine,
    pub data_dir: PathBuf,
    /// The process groups of builds and functions, recorded in `<data-dir>/processes`.
    pub processes: Processes,
    /// The key approval links are signed with (`<data-dir>/approval.key`, [`crate::sealing::approval_key`]).
    pub approval_key: ApprovalKey,
    /// The data directory's engine lock, held until [`LocalRuntime::shutdown`].
    lock: Arc<Mutex<Option<File>>>,
}

impl LocalRuntime {
    /// Opens the data directory (creating it), ends what an earlier process left running, starts the
    /// engine and carries on the open executions. `providers` is built by the caller from the runtime's
    /// ports and processes (see [`crate::provider::local_providers`]).
    pub async fn open(
        data_dir: &Path,
        clock: Arc<dyn EngineClock>,
        ids: Arc<dyn Ids>,
        providers: impl FnOnce(&LocalRuntime) -> Providers,
    ) -> Result<LocalRuntime, RuntimeError> {
        let data_dir_error = |source| RuntimeError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        private_dir(data_dir).map_err(data_dir_error)?;
        let lock = lock_engine(data_dir)?;
        let processes = Processes::recorded_in(data_dir.join("processes"));
        processes.end_leftovers().await?;
        remove_workspaces(&data_dir.join("work")).map_err(data_dir_error)?;
        let database = private_database(data_dir).map_err(data_dir_error)?;
        let approval_key = approval_key(data_dir)?;
        let engine_store = Arc::new(EngineStore::open(&database)?);
        let store = Arc::new(SqliteStore::on(
            engine_store.connection(),
            &StoreKey::path_for(&database),
        )?);
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
            processes,
            approval_key,
            lock: Arc::new(Mutex::new(Some(lock))),
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
        private_database(data_dir).map_err(|source| RuntimeError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
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

    /// Stops the engine: nothing more is written; a later open carries on (and first ends the builds
    /// this one still runs).
    pub fn shutdown(&self) {
        self.engine().shutdown();
        let _ = self.lock.lock().map(|mut lock| lock.take());
    }
}

/// `<data-dir>/sluice.db`, created 0600 before SQLite opens it, so that its `-wal` and `-shm` files,
/// which SQLite creates with the database's permissions, are private too; existing ones are tightened.
fn private_database(data_dir: &Path) -> std::io::Result<PathBuf> {
    let database = data_dir.join("sluice.db");
    // An empty file is an empty database to SQLite.
    private_file(&database)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = database.clone().into_os_string();
        name.push(suffix);
        tighten(Path::new(&name))?;
    }
    Ok(database)
}

/// Takes `<data-dir>/engine.lock`: two processes running one data directory's executions would run each
/// one twice, and each would end the other's builds at its start.
fn lock_engine(data_dir: &Path) -> Result<File, RuntimeError> {
    let path = data_dir.join("engine.lock");
    let data_dir_error = |source| RuntimeError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(data_dir_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(RuntimeError::InUse {
                data_dir: data_dir.to_path_buf(),
                pid: pid.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(data_dir_error(source)),
    }
    file.set_len(0).map_err(data_dir_error)?;
    writeln!(file, "{}", std::process::id()).map_err(data_dir_error)?;
    Ok(file)
}

/// Makes `work` an empty 0700 directory: the workspaces in it belong to actions an earlier process ran.
fn remove_workspaces(work: &Path) -> std::io::Result<()> {
    match std::fs::read_dir(work) {
        Ok(entries) => {
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() && !path.is_symlink() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    private_dir(work)
}

/// The machine's Lambda tasks, run in process: `sluice-dispatcher` and the four `sluice-worker-<kind>`,
/// over `ports` (the runtime's own; tests pass ports whose store fails on purpose).
pub struct LambdaTasks<P> {
    ports: P,
    providers: Arc<Providers>,
}

impl<P> LambdaTasks<P> {
    pub fn new(ports: P, providers: Arc<Providers>) -> Self {
        Self { ports, providers }
    }
}

impl<P: Ports + 'static> TaskHandler for LambdaTasks<P> {
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
                let stop = StopSignal::from_channel(task.cancellation.receiver());
                match sluice_core::worker::handle_until(&self.ports, &self.providers, payload, stop)
                    .await
                {
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
