//! Orchestration overhead of the local runtime (issue 4): a pipeline of a source and five stages of
//! no-op Commands actions (`true`), run by the embedded engine, the dispatcher and the worker over SQLite.
//!
//! - `overhead` = an execution's wall time minus its actions' own time (each action execution record's
//!   start to end: fetching and unpacking its input, the build, storing its output). The target is ≤ 50 ms.
//! - `parallel` = the wall time of 100 executions started together in PARALLEL mode, against one alone.
//!   The target is ≤ 3×.
//!
//! The same is measured with the Commands actions answered in process (a no-op provider, no bash), which
//! isolates what the orchestration itself costs when executions run side by side.
//!
//! Run: `cargo bench -p sluice-local --bench orchestration` (optionally `-- <runs> <parallel count>
//! [bash|in-process]`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use sluice_core::compile::CompileOptions;
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    ActionExecutionStore, ActionProvider, ExecutionStore, Job, JobOutcome, JobSuccess,
};
use sluice_core::record::PipelineExecutionStatus;
use sluice_core::usecase::execution::{StartRequest, start_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::{LocalRuntime, RandomIds};

/// Answers every action at once: the orchestration with no work under it.
struct Noop;

impl ActionProvider for Noop {
    fn run<'a>(
        &'a self,
        _job: &'a Job,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async { JobOutcome::Succeeded(JobSuccess::default()) })
    }
}

fn pipeline(mode: &str) -> PipelineDeclaration {
    let mut stages = vec![json!({"name": "Source", "actions": [{
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "inbox", "S3ObjectKey": "app"},
        "outputArtifacts": [{"name": "Src"}]
    }]})];
    for stage in 1..=5 {
        stages.push(json!({"name": format!("Stage{stage}"), "actions": [{
            "name": "Noop",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "commands": ["true"],
            "inputArtifacts": [{"name": "Src"}]
        }]}));
    }
    serde_json::from_value(json!({
        "name": format!("Bench{mode}"),
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "bench-artifacts"},
        "pipelineType": "V2",
        "executionMode": mode,
        "stages": stages
    }))
    .expect("the benchmark pipeline reads")
}

struct Measured {
    wall: Duration,
    actions: Duration,
}

/// Runs one execution to its end; returns its wall time and its actions' own time.
async fn one(runtime: &LocalRuntime, name: &str) -> Measured {
    let started = Instant::now();
    let execution = start_execution(&runtime.ports, name, StartRequest::default())
        .await
        .expect("starts");
    finish(runtime, name, &execution.pipeline_execution_id).await;
    let wall = started.elapsed();
    let actions: i64 = runtime
        .ports
        .store
        .action_executions(name, Some(&execution.pipeline_execution_id))
        .await
        .expect("reads")
        .iter()
        .map(|a| a.last_update_time.epoch_millis() - a.start_time.epoch_millis())
        .sum();
    Measured {
        wall,
        actions: Duration::from_millis(u64::try_from(actions).unwrap_or(0)),
    }
}

async fn finish(runtime: &LocalRuntime, name: &str, id: &str) {
    let execution = runtime
        .ports
        .store
        .execution(name, id)
        .await
        .expect("reads")
        .expect("exists");
    let arn = execution.orchestration.expect("started");
    runtime.engine().wait(&arn).await.expect("ends");
    let done = runtime
        .ports
        .store
        .execution(name, id)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(done.status, PipelineExecutionStatus::Succeeded, "{done:?}");
}

/// CPU time used so far by this process and its waited-for children (the builds' bash processes),
/// from /proc/self/stat, in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which ends with ')': utime is field 14, then stime, cutime, cstime.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn open(dir: &Path, in_process: bool) -> LocalRuntime {
    std::fs::create_dir_all(dir.join("s3/inbox/app")).expect("mkdir");
    std::fs::write(dir.join("s3/inbox/app/readme.txt"), "bench").expect("write");
    let local = providers_for(LocalConfig::default(), BTreeMap::new());
    LocalRuntime::open(
        dir,
        std::sync::Arc::new(sluice_statemachine::clock::SystemClock),
        std::sync::Arc::new(RandomIds),
        move |runtime| {
            let mut providers = local(runtime);
            if in_process {
                providers.register(
                    ActionCategory::Compute,
                    "AWS",
                    "Commands",
                    std::sync::Arc::new(Noop),
                );
            }
            providers
        },
    )
    .await
    .expect("opens")
}

async fn measure(in_process: bool, runs: usize, parallel: usize) {
    let label = if in_process {
        "in-process no-op actions"
    } else {
        "Commands `true` in bash"
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = open(dir.path(), in_process).await;
    for mode in ["SUPERSEDED", "PARALLEL"] {
        put_pipeline(&runtime.ports, &pipeline(mode), &CompileOptions::default())
            .await
            .expect("pipeline");
    }
    // Warm-up: page cache, first process spawns.
    one(&runtime, "BenchSUPERSEDED").await;

    let mut walls = Vec::new();
    let mut overheads = Vec::new();
    let mut action_times = Vec::new();
    for _ in 0..runs {
        let m = one(&runtime, "BenchSUPERSEDED").await;
        overheads.push(m.wall.saturating_sub(m.actions));
        walls.push(m.wall);
        action_times.push(m.actions);
    }
    println!(
        "[{label}] one execution (1 source + 5 Commands stages), median of {runs}: wall {:.1} ms, actions {:.1} ms, overhead {:.1} ms (min {:.1}, max {:.1})",
        median(walls).as_secs_f64() * 1e3,
        median(action_times).as_secs_f64() * 1e3,
        median(overheads.clone()).as_secs_f64() * 1e3,
        overheads
            .iter()
            .min()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        overheads
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
    );

    let mut alone = Vec::new();
    for _ in 0..5 {
        alone.push(one(&runtime, "BenchPARALLEL").await.wall);
    }
    let one_parallel = median(alone);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..parallel {
        ids.push(
            start_execution(&runtime.ports, "BenchPARALLEL", StartRequest::default())
                .await
                .expect("starts")
                .pipeline_execution_id,
        );
    }
    for id in &ids {
        finish(&runtime, "BenchPARALLEL", id).await;
    }
    let all = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_execution = cpu.as_secs_f64() / parallel as f64;
    println!(
        "[{label}] {parallel} executions in PARALLEL mode: {:.0} ms; one alone (median of 5): {:.1} ms; ratio {:.2}x; CPU {:.2} ms per execution, so {cores} cores need at least {:.0} ms for {parallel}",
        all.as_secs_f64() * 1e3,
        one_parallel.as_secs_f64() * 1e3,
        all.as_secs_f64() / one_parallel.as_secs_f64(),
        per_execution * 1e3,
        per_execution * parallel as f64 / cores as f64 * 1e3,
    );
    runtime.shutdown();
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    let parallel: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(async {
        // A third argument picks one side: `bash` or `in-process` (for profiling).
        let only = args.get(2).map(String::as_str);
        if only != Some("in-process") {
            measure(false, runs, parallel).await;
        }
        if only != Some("bash") {
            measure(true, runs, parallel).await;
        }
    });
}
