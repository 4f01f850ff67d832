//! Pipelines run through the embedded engine while the store fails on purpose: the dispatcher and the
//! workers see a store that fails 10% of calls transiently before making them, and 1% of writes after
//! they went through (`sluice_core::contract::FaultyStore`, seeded). Every execution must end as it does
//! on a store that never fails, and no action attempt may run twice: the steps retry in process, the
//! compiled machine retries `Sluice.Transient` with backoff and jitter, and every step is idempotent on
//! (execution, stage, action, attempt).
//!
//! Time is the engine's manual clock, moved 500 ms every 2 ms, so the machine's waits of up to 30 s
//! take a fraction of a second. The API side (creating pipelines, starting and retrying executions)
//! uses the store directly: the faults are for the steps.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use sluice_core::compile::CompileOptions;
use sluice_core::contract::{FAULT_RATES, FaultRates, FaultyStore};
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    ActionExecutionStore, ActionProvider, Clock, ExecutionStore, Ids, Job, JobOutcome, JobSuccess,
    Ports, Providers, StageStore,
};
use sluice_core::record::PipelineExecutionStatus;
use sluice_core::usecase::execution::{StartRequest, retry_stage, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::events::EventFile;
use sluice_local::orchestrator::LocalOrchestrator;
use sluice_local::runtime::{FileArtifactStore, LambdaTasks, LocalPorts, RandomIds, SharedClock};
use sluice_local::scheduler::LocalScheduler;
use sluice_local::store::SqliteStore;
use sluice_statemachine::clock::ManualClock;
use sluice_statemachine::engine::{Engine, Location};
use sluice_statemachine::entropy::SeededEntropy;
use sluice_statemachine::store::SqliteStore as EngineStore;

use common::Run;

/// The ports the steps run over: the local ones, with the store failing.
#[derive(Clone)]
struct FaultyPorts {
    store: Arc<FaultyStore<SqliteStore>>,
    local: LocalPorts,
}

impl Ports for FaultyPorts {
    type Store = FaultyStore<SqliteStore>;
    type Orchestrator = LocalOrchestrator;
    type Artifacts = FileArtifactStore;
    type Events = EventFile;
    type Scheduler = LocalScheduler<SqliteStore>;

    fn store(&self) -> &Self::Store {
        &self.store
    }
    fn orchestrator(&self) -> &LocalOrchestrator {
        &self.local.orchestrator
    }
    fn artifacts(&self) -> &FileArtifactStore {
        &self.local.artifacts
    }
    fn events(&self) -> &EventFile {
        &self.local.events
    }
    fn scheduler(&self) -> &LocalScheduler<SqliteStore> {
        &self.local.scheduler
    }
    fn clock(&self) -> &dyn Clock {
        &self.local.clock
    }
    fn ids(&self) -> &dyn Ids {
        self.local.ids.as_ref()
    }
}

/// An attempt's natural key: (execution, stage, action, attempt).
type AttemptKey = (String, String, String, u32);

/// Counts provider runs per attempt; actions whose name starts with `Fail` fail.
#[derive(Clone)]
struct Counting {
    store: Arc<SqliteStore>,
    runs: Arc<Mutex<BTreeMap<AttemptKey, u32>>>,
}

impl ActionProvider for Counting {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            // The attempt was recorded before its provider ran.
            let attempt = self
                .store
                .action_executions(&job.pipeline, Some(&job.pipeline_execution_id))
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.action_execution_id == job.action_execution_id)
                .map(|a| a.attempt)
                .expect("the attempt is recorded before its provider runs");
            *self
                .runs
                .lock()
                .unwrap()
                .entry((
                    job.pipeline_execution_id.clone(),
                    job.stage.clone(),
                    job.action.name.clone(),
                    attempt,
                ))
                .or_insert(0) += 1;
            if job.action.name.starts_with("Fail") {
                JobOutcome::job_failed(format!("{} found 3 failing tests", job.action.name))
            } else {
                JobOutcome::Succeeded(JobSuccess::default())
            }
        })
    }
}

/// An action: its name, category and run order.
type ActionSpec<'a> = (&'a str, ActionCategory, i32);

/// A pipeline of `stages`, each a list of (action, category, run order). Sources output `Src`, every
/// other action reads it. Timeouts are long: virtual time runs fast.
fn pipeline(name: &str, mode: &str, stages: &[(&str, &[ActionSpec])]) -> PipelineDeclaration {
    let stages: Vec<_> = stages
        .iter()
        .map(|(stage, actions)| {
            let actions: Vec<_> = actions
                .iter()
                .map(|(action, category, run_order)| {
                    let (provider, configuration) = match category {
                        ActionCategory::Source => {
                            ("S3", json!({"S3Bucket": "b", "S3ObjectKey": "k.zip"}))
                        }
                        ActionCategory::Deploy => {
                            ("S3", json!({"BucketName": "site", "Extract": "true"}))
                        }
                        _ => ("CodeBuild", json!({"ProjectName": "p"})),
                    };
                    let mut action = json!({
                        "name": action,
                        "actionTypeId": {"category": category.name(), "owner": "AWS", "provider": provider, "version": "1"},
                        "runOrder": run_order,
                        "configuration": configuration,
                        "timeoutInMinutes": 10080,
                    });
                    if *category == ActionCategory::Source {
                        action["outputArtifacts"] = json!([{"name": "Src"}]);
                    } else {
                        action["inputArtifacts"] = json!([{"name": "Src"}]);
                    }
                    action
                })
                .collect();
            json!({"name": stage, "actions": actions})
        })
        .collect();
    serde_json::from_value(json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "pipelineType": "V2",
        "executionMode": mode,
        "stages": stages,
    }))
    .unwrap()
}

fn pipelines() -> Vec<(PipelineDeclaration, usize)> {
    use ActionCategory::{Build, Deploy, Source, Test};
    // A failing action: its stage and execution fail, the next stage never starts; a FAILED_ACTIONS
    // retry of the latest execution runs it again as attempt 1 and keeps what succeeded.
    let broken = (1..=BROKEN).map(|n| {
        (
            pipeline(
                &format!("Broken{n}"),
                "PARALLEL",
                &[
                    ("Source", &[("Fetch", Source, 1)]),
                    ("Build", &[("Compile", Build, 1), ("FailTests", Test, 2)]),
                    ("Deploy", &[("Ship", Deploy, 1)]),
                ],
            ),
            2,
        )
    });
    let mut all = vec![
        // Parallel run orders, three stages, executions side by side.
        (
            pipeline(
                "Fanout",
                "PARALLEL",
                &[
                    ("Source", &[("Fetch", Source, 1)]),
                    (
                        "Build",
                        &[("Unit", Build, 1), ("Lint", Test, 1), ("Docs", Build, 1)],
                    ),
                    (
                        "Deploy",
                        &[("Staging", Deploy, 1), ("Production", Deploy, 2)],
                    ),
                ],
            ),
            12,
        ),
        // Stage locks: one execution in each stage at a time, the others waiting at its gate.
        (
            pipeline(
                "Queue",
                "QUEUED",
                &[
                    ("Source", &[("Fetch", Source, 1)]),
                    ("Build", &[("Compile", Build, 1)]),
                    ("Deploy", &[("Ship", Deploy, 1)]),
                ],
            ),
            12,
        ),
    ];
    all.extend(broken);
    all
}

/// Pipelines with a failing action, two executions each.
const BROKEN: usize = 4;

/// How one execution ended: its status, its stages' and its attempts' statuses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ending {
    pipeline: String,
    /// Its place among the pipeline's executions, in the order they were started.
    index: usize,
    status: &'static str,
    stages: Vec<(String, &'static str)>,
    actions: Vec<(String, String, u32, &'static str)>,
}

struct Outcome {
    endings: Vec<Ending>,
    /// Provider runs per attempt, keyed by (pipeline, execution index, stage, action, attempt).
    runs: BTreeMap<(String, usize, String, String, u32), u32>,
    faults: sluice_core::contract::FaultCounts,
}

/// The engine over a SQLite store in a temporary directory, its Lambda tasks routed to the dispatcher
/// and workers over ports whose store fails at `rates`, and virtual time moving on its own (500 ms
/// every 2 ms) until dropped.
struct World {
    plain: LocalPorts,
    faulty: FaultyPorts,
    providers: Arc<Providers>,
    runs: Arc<Mutex<BTreeMap<AttemptKey, u32>>>,
    engine: Engine,
    ticking: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(seed: u64, rates: FaultRates) -> World {
        let dir = tempfile::tempdir().unwrap();
        let engine_store = Arc::new(EngineStore::open(&dir.path().join("sluice.db")).unwrap());
        let store = Arc::new(
            SqliteStore::on(engine_store.connection(), &dir.path().join("sluice.key")).unwrap(),
        );
        let clock = Arc::new(ManualClock::new(1_750_000_000_000));
        let engine = Engine::start(
            engine_store,
            clock.clone(),
            Box::new(SeededEntropy::new(seed)),
            Location::default(),
        )
        .await
        .unwrap();
        let plain = LocalPorts {
            scheduler: LocalScheduler::new(store.clone(), Arc::new(SharedClock(clock.clone()))),
            store: store.clone(),
            artifacts: FileArtifactStore::new(dir.path()),
            orchestrator: LocalOrchestrator::Engine(engine.clone()),
            events: EventFile::new(dir.path()),
            clock: SharedClock(clock.clone()),
            ids: Arc::new(RandomIds),
        };
        let faulty = FaultyPorts {
            store: Arc::new(FaultyStore::new(store.clone(), seed, rates)),
            local: plain.clone(),
        };
        let runs = Arc::new(Mutex::new(BTreeMap::new()));
        let counting = Arc::new(Counting {
            store: store.clone(),
            runs: runs.clone(),
        });
        let mut providers = Providers::default();
        providers.register(ActionCategory::Source, "AWS", "S3", counting.clone());
        providers.register(ActionCategory::Build, "AWS", "CodeBuild", counting.clone());
        providers.register(ActionCategory::Test, "AWS", "CodeBuild", counting.clone());
        providers.register(ActionCategory::Deploy, "AWS", "S3", counting);
        let providers = Arc::new(providers);
        engine.register(
            "arn:aws:states:::lambda:invoke*",
            Arc::new(LambdaTasks::new(faulty.clone(), providers.clone())),
        );
        let ticking = Arc::new(AtomicBool::new(true));
        {
            let ticking = ticking.clone();
            tokio::spawn(async move {
                while ticking.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    clock.advance(500);
                }
            });
        }
        World {
            plain,
            faulty,
            providers,
            runs,
            engine,
            ticking,
            _dir: dir,
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::SeqCst);
        self.engine.shutdown();
    }
}

/// Runs every pipeline's executions side by side, the steps over a store failing at `rates`; retries
/// the failed execution of each Broken pipeline once; returns how each ended.
async fn run_all(seed: u64, rates: FaultRates) -> Outcome {
    let world = World::new(seed, rates).await;
    let (plain, store) = (&world.plain, world.plain.store.clone());
    let mut started: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (declaration, count) in pipelines() {
        put_pipeline(plain, &declaration, &CompileOptions::default())
            .await
            .unwrap();
        for _ in 0..count {
            let execution = start_execution(plain, &declaration.name, StartRequest::default())
                .await
                .unwrap();
            started
                .entry(declaration.name.clone())
                .or_default()
                .push(execution.pipeline_execution_id);
        }
    }
    until_all_ended(plain, &started).await;
    for n in 1..=BROKEN {
        let pipeline = format!("Broken{n}");
        let latest = started[&pipeline].last().unwrap();
        retry_stage(plain, &pipeline, "Build", latest, "FAILED_ACTIONS")
            .await
            .unwrap();
    }
    until_all_ended(plain, &started).await;

    let mut endings = Vec::new();
    let mut index_of = BTreeMap::new();
    for (pipeline, ids) in &started {
        for (index, id) in ids.iter().enumerate() {
            index_of.insert(id.clone(), (pipeline.clone(), index));
            let execution = store.execution(pipeline, id).await.unwrap().unwrap();
            let mut stages: Vec<_> = store
                .stage_executions(pipeline, id)
                .await
                .unwrap()
                .into_iter()
                .map(|s| (s.stage_name, s.status.name()))
                .collect();
            stages.sort();
            let mut actions: Vec<_> = store
                .action_executions(pipeline, Some(id))
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.stage_name, a.action_name, a.attempt, a.status.name()))
                .collect();
            actions.sort();
            endings.push(Ending {
                pipeline: pipeline.clone(),
                index,
                status: execution.status.name(),
                stages,
                actions,
            });
        }
    }
    let runs = world
        .runs
        .lock()
        .unwrap()
        .iter()
        .map(|((id, stage, action, attempt), count)| {
            let (pipeline, index) = index_of[id].clone();
            (
                (pipeline, index, stage.clone(), action.clone(), *attempt),
                *count,
            )
        })
        .collect();
    Outcome {
        endings,
        runs,
        faults: world.faulty.store.counts(),
    }
}

/// Waits (in real time, at most 20 s: the whole run takes about 3 s) until no started execution is
/// still in progress.
async fn until_all_ended(ports: &LocalPorts, started: &BTreeMap<String, Vec<String>>) {
    let mut open = Vec::new();
    for _ in 0..2_000 {
        open.clear();
        for (pipeline, ids) in started {
            for id in ids {
                let execution = ports.store.execution(pipeline, id).await.unwrap().unwrap();
                if execution.status.is_open() {
                    open.push(format!("{pipeline} {id}"));
                }
            }
        }
        if open.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("executions still in progress after 20 s: {open:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_end_as_without_faults_and_no_action_attempt_runs_twice() {
    let calm = run_all(
        7,
        FaultRates {
            before: 0.0,
            after: 0.0,
        },
    )
    .await;
    // Without faults: what each shape does.
    let statuses: BTreeSet<_> = calm
        .endings
        .iter()
        .map(|e| (e.pipeline.trim_end_matches(char::is_numeric), e.status))
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            ("Broken", "Failed"),
            ("Fanout", "Succeeded"),
            ("Queue", "Succeeded")
        ])
    );
    assert_eq!(calm.endings.len(), 32);
    assert_eq!(calm.faults.before + calm.faults.after, 0);

    let faulty = run_all(11, FAULT_RATES).await;
    // The faults happened: before calls (about 10% of some 3,000) and after writes (1% of some 900).
    assert!(
        faulty.faults.before > 100 && faulty.faults.after > 0,
        "{:?}",
        faulty.faults
    );
    for (calm, faulty) in calm.endings.iter().zip(&faulty.endings) {
        assert_eq!(
            calm, faulty,
            "the execution ends as it would without faults"
        );
    }
    assert_eq!(calm.endings.len(), faulty.endings.len());
    let twice: Vec<_> = faulty.runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "attempts run more than once: {twice:?}");
    assert_eq!(
        calm.runs.keys().collect::<Vec<_>>(),
        faulty.runs.keys().collect::<Vec<_>>(),
        "the same attempts ran"
    );
    // A Broken pipeline's failing action ran once in each execution's first run and once more in the
    // retry of the latest; what succeeded was kept.
    let runs_of = |action: &str, attempt| {
        faulty
            .runs
            .keys()
            .filter(|(pipeline, _, stage, a, n)| {
                pipeline.starts_with("Broken") && stage == "Build" && a == action && *n == attempt
            })
            .count()
    };
    assert_eq!(runs_of("FailTests", 0), 2 * BROKEN);
    assert_eq!(runs_of("FailTests", 1), BROKEN);
    assert_eq!(runs_of("Compile", 0), 2 * BROKEN);
    assert_eq!(runs_of("Compile", 1), 0);
    let statuses: BTreeSet<_> = faulty
        .endings
        .iter()
        .filter(|e| e.pipeline.starts_with("Broken"))
        .map(|e| e.status)
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([PipelineExecutionStatus::Failed.name()])
    );
}

/// The worker's call for `action` of `stage` in the run named `run`, waiting on `token`.
fn action_call(
    execution: &str,
    stage: &str,
    action: &str,
    token: &str,
    run: &str,
) -> serde_json::Value {
    json!({"kind": "Action", "pipeline": "One", "pipelineExecutionId": execution, "stage": stage,
        "action": action, "token": token, "run": run})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_step_run_again_after_its_write_takes_over_the_attempt_and_runs_it_once() {
    use sluice_core::builders::execution::new_execution;
    use sluice_core::contract::Fault::After;
    use sluice_core::contract::Fault::Before;
    use sluice_core::contract::Fault::Pass;
    use sluice_core::port::PipelineStore;
    use sluice_core::record::ActionExecutionStatus;
    use sluice_core::record::ExecutionTrigger;
    use sluice_core::recorder::record_execution;
    use sluice_core::worker::handle;

    let calm = FaultRates {
        before: 0.0,
        after: 0.0,
    };
    let world = World::new(5, calm).await;
    let one = pipeline(
        "One",
        "QUEUED",
        &[("Source", &[("Fetch", ActionCategory::Source, 1)])],
    );
    put_pipeline(&world.plain, &one, &CompileOptions::default())
        .await
        .unwrap();
    // An execution recorded, its machine not started: the test is the machine.
    let stored = world.plain.store.pipeline("One").await.unwrap().unwrap();
    let id = "0c7d3e21-4b5a-4c6d-9e8f-a1b2c3d4e5f6";
    let trigger = ExecutionTrigger {
        trigger_type: "StartPipelineExecution".into(),
        trigger_detail: None,
    };
    let execution = new_execution(
        &stored,
        id.to_string(),
        trigger,
        BTreeMap::new(),
        world.plain.clock.now(),
    );
    record_execution(&world.plain, &execution).await.unwrap();
    let attempts = || async {
        world
            .plain
            .store
            .action_executions("One", Some(id))
            .await
            .unwrap()
    };
    let runs = |attempt: u32| {
        world
            .runs
            .lock()
            .unwrap()
            .get(&(
                id.to_string(),
                "Source".to_string(),
                "Fetch".to_string(),
                attempt,
            ))
            .copied()
            .unwrap_or(0)
    };

    // The attempt's record is written and reported failed; every try after that fails before it
    // reads, until the step's tries are spent: the step is left to the machine.
    world.faulty.store.script("put_action_execution", &[After]);
    world
        .faulty
        .store
        .script("execution", &[Pass, Before, Before, Before, Before]);
    let left = handle(
        &world.faulty,
        &world.providers,
        action_call(id, "Source", "Fetch", "t1", id),
    )
    .await
    .unwrap_err();
    assert_eq!(left.error_type(), "Sluice.Transient", "{left}");
    assert_eq!(runs(0), 0, "the provider has not run");
    let recorded = attempts().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].status, recorded[0].token.as_str()),
        (ActionExecutionStatus::InProgress, "t1")
    );

    // The machine's retry, with a new token: the same attempt, taken over, run once.
    let done = handle(
        &world.faulty,
        &world.providers,
        action_call(id, "Source", "Fetch", "t2", id),
    )
    .await
    .unwrap();
    assert_eq!(done.status, ActionExecutionStatus::Succeeded);
    assert_eq!(done.action_execution_id, recorded[0].action_execution_id);
    assert_eq!(runs(0), 1);
    let recorded = attempts().await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        (recorded[0].status, recorded[0].token.as_str()),
        (ActionExecutionStatus::Succeeded, "t2")
    );

    // Run again after its outcome was written (the answer was lost): answered, not run again.
    let again = handle(
        &world.faulty,
        &world.providers,
        action_call(id, "Source", "Fetch", "t3", id),
    )
    .await
    .unwrap();
    assert_eq!(
        (again.status, again.token.as_str()),
        (ActionExecutionStatus::Succeeded, "t3")
    );
    assert_eq!(runs(0), 1);
    assert_eq!(attempts().await.len(), 1);

    // The outcome's write goes through and is reported failed: written again, not run again.
    let retried_run = sluice_core::protocol::retry_run_name(id, 1);
    world
        .faulty
        .store
        .script("put_action_execution", &[Pass, After]);
    let second = handle(
        &world.faulty,
        &world.providers,
        action_call(id, "Source", "Fetch", "t4", &retried_run),
    )
    .await
    .unwrap();
    assert_eq!(
        (second.status, second.attempt),
        (ActionExecutionStatus::Succeeded, 1)
    );
    assert_eq!(
        (runs(0), runs(1)),
        (1, 1),
        "a stage retry is a new attempt, run once"
    );
    let recorded = attempts().await;
    assert_eq!(
        recorded
            .iter()
            .map(|a| (a.attempt, a.status))
            .collect::<Vec<_>>(),
        vec![
            (0, ActionExecutionStatus::Succeeded),
            (1, ActionExecutionStatus::Succeeded)
        ]
    );
    // One announcement per status of each attempt, faults or not.
    let events = world.plain.events.events().unwrap();
    let states: Vec<String> = events
        .iter()
        .filter(|e| e.detail_type.name() == "CodePipeline Action Execution State Change")
        .map(|e| e.detail["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        states,
        vec!["STARTED", "SUCCEEDED", "STARTED", "SUCCEEDED"],
        "{states:?}"
    );
}
