//! Benchmarks of the engine, side by side with the npm peer aws-local-stepfunctions on the same
//! definitions (`benches/definitions/*.asl.json`), inputs and iteration counts, in one run:
//!
//! ```text
//! cargo bench -p sluice-statemachine --bench engine
//! ```
//!
//! Executions are timed end to end through the public [`Engine`] API (start → wait for completion),
//! sequentially on a single-threaded runtime as the peer runs them, over MemoryStore or SqliteStore (a
//! temporary WAL file), with SystemClock and OsEntropy; the pure `run::start` core is an extra row. The
//! parked-executions benchmark runs in a child process of this binary so that its RSS is its own. The
//! peer side is `benches/peer.mjs`, run with `node` from PATH; without node the peer columns stay empty.

/// The allocator the `sluice` binary uses (cli/src/main.rs), so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_statemachine::clock::SystemClock;
use sluice_statemachine::engine::{Engine, Location, TaskHandler, TaskOutcome, TaskRequest};
use sluice_statemachine::entropy::OsEntropy;
use sluice_statemachine::execution::{ExecutionStatus, Phase};
use sluice_statemachine::program::Program;
use sluice_statemachine::run;
use sluice_statemachine::store::{MemoryStore, SqliteStore, Store};

const BENCHES: &str = env!("CARGO_MANIFEST_DIR");
const TWENTY: &str = "twenty-states";
const MAP: &str = "map-1000";
const PARKED: &str = "parked-task";
/// The parked-task definition's Task state, which the peer overrides by name.
const PARKED_STATE: &str = "Park";
const PARKED_COUNT: usize = 10_000;
const CALLBACK: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One timed workload: a definition and its input, warm-up and measured iteration counts.
#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    warmup: usize,
    iterations: usize,
}

const TWENTY_RUNS: Workload = Workload {
    name: TWENTY,
    warmup: 200,
    iterations: 2_000,
};
const MAP_RUNS: Workload = Workload {
    name: MAP,
    warmup: 3,
    iterations: 30,
};

fn definitions() -> PathBuf {
    Path::new(BENCHES).join("benches").join("definitions")
}

fn definition_path(name: &str) -> PathBuf {
    definitions().join(format!("{name}.asl.json"))
}

fn input_path(name: &str) -> PathBuf {
    definitions().join(format!("{name}.input.json"))
}

fn definition(name: &str) -> String {
    std::fs::read_to_string(definition_path(name)).expect("a benchmark definition")
}

fn input(name: &str) -> Value {
    let text = std::fs::read_to_string(input_path(name)).expect("a benchmark input");
    serde_json::from_str(&text).expect("a JSON benchmark input")
}

/// Median, p95 and friends of one series, in milliseconds (quantile q is the ⌈q·n⌉-th smallest sample,
/// as `peer.mjs` computes it).
#[derive(Debug, Clone, Copy)]
struct Stats {
    iterations: usize,
    median: f64,
    p95: f64,
    mean: f64,
    min: f64,
}

impl Stats {
    fn of(samples: &[Duration]) -> Stats {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Stats {
            iterations: ms.len(),
            median: at(0.5),
            p95: at(0.95),
            mean: ms.iter().sum::<f64>() / ms.len() as f64,
            min: ms[0],
        }
    }

    fn from_peer(value: &Value) -> Option<Stats> {
        let field = |name: &str| value.get(name).and_then(Value::as_f64);
        Some(Stats {
            iterations: value.get("iterations")?.as_u64()? as usize,
            median: field("median_ms")?,
            p95: field("p95_ms")?,
            mean: field("mean_ms")?,
            min: field("min_ms")?,
        })
    }
}

/// What one measured series produced: its timings and the output of its last execution.
struct Measured {
    stats: Stats,
    output: Value,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn engine_over(store: Arc<dyn Store>) -> Engine {
    Engine::start(
        store,
        Arc::new(SystemClock),
        Box::new(OsEntropy),
        Location::default(),
    )
    .await
    .expect("an engine")
}

/// Sequential executions through the public API: start, then wait for the end.
fn engine_runs(store: Arc<dyn Store>, workload: Workload) -> Measured {
    let definition = definition(workload.name);
    let input = input(workload.name);
    runtime().block_on(async {
        let engine = engine_over(store).await;
        let machine = engine
            .create_state_machine(workload.name, &definition)
            .expect("a valid benchmark definition");
        let mut samples = Vec::with_capacity(workload.iterations);
        let mut output = Value::Null;
        for i in 0..workload.warmup + workload.iterations {
            let input = input.clone();
            let began = Instant::now();
            let started = engine
                .start_execution(&machine, None, input)
                .await
                .expect("started");
            let done = engine.wait(&started.execution_arn).await.expect("ended");
            let took = began.elapsed();
            assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.error);
            if i >= workload.warmup {
                samples.push(took);
            }
            output = done.output.unwrap_or(Value::Null);
        }
        engine.shutdown();
        Measured {
            stats: Stats::of(&samples),
            output,
        }
    })
}

/// The pure core alone: `run::start` on a prepared program, no store, no runtime.
fn core_runs(workload: Workload) -> Measured {
    let machine = sluice_statemachine::read_str(&definition(workload.name)).expect("valid");
    let program = Program::new(machine);
    let input = input(workload.name);
    let clock = SystemClock;
    let mut entropy = OsEntropy;
    let machine_arn = "arn:aws:states:local:000000000000:stateMachine:bench";
    let execution_arn = "arn:aws:states:local:000000000000:execution:bench:run";
    let mut samples = Vec::with_capacity(workload.iterations);
    let mut output = Value::Null;
    for i in 0..workload.warmup + workload.iterations {
        let input = input.clone();
        let began = Instant::now();
        let (execution, effects) = run::start(
            &program,
            machine_arn,
            execution_arn,
            "run",
            input,
            sluice_statemachine::clock::Clock::now(&clock),
            &mut entropy,
        );
        let took = began.elapsed();
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        std::hint::black_box(&effects);
        if i >= workload.warmup {
            samples.push(took);
        }
        output = execution.output.unwrap_or(Value::Null);
    }
    Measured {
        stats: Stats::of(&samples),
        output,
    }
}

/// A SQLite store in a fresh temporary file, removed (with its WAL) when dropped.
struct TempDatabase(PathBuf);

impl TempDatabase {
    fn new(label: &str) -> TempDatabase {
        let path = std::env::temp_dir().join(format!(
            "sluice-bench-{}-{label}.sqlite",
            std::process::id()
        ));
        let database = TempDatabase(path);
        database.remove();
        database
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.0).expect("a SQLite store"))
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        self.remove();
    }
}

/// VmRSS and VmHWM of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Takes callback tasks and never answers them: their executions stay open.
struct Park {
    taken: AtomicUsize,
}

impl TaskHandler for Park {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        std::hint::black_box(task);
        self.taken.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { TaskOutcome::Accepted })
    }
}

/// The child process: parks `count` executions on task tokens and prints its memory as JSON.
fn parked_child(store: &str, count: usize) {
    let database = TempDatabase::new("parked");
    let definition = definition(PARKED);
    let input = input(PARKED);
    runtime().block_on(async {
        let store: Arc<dyn Store> = match store {
            "sqlite" => database.store(),
            _ => Arc::new(MemoryStore::new()),
        };
        let engine = engine_over(store).await;
        let park = Arc::new(Park {
            taken: AtomicUsize::new(0),
        });
        engine.register(CALLBACK, park.clone());
        let machine = engine
            .create_state_machine(PARKED, &definition)
            .expect("valid");
        let before = memory();
        let began = Instant::now();
        let mut arns = Vec::with_capacity(count);
        for i in 0..count {
            let mut input = input.clone();
            input["i"] = json!(i);
            let started = engine
                .start_execution(&machine, None, input)
                .await
                .expect("started");
            arns.push(started.execution_arn);
        }
        // Every handler has taken its task and the engine has written that down.
        let mut parked = 0;
        while parked < count {
            tokio::task::yield_now().await;
            if park.taken.load(Ordering::SeqCst) < count {
                continue;
            }
            parked = arns
                .iter()
                .filter(|arn| {
                    let execution = engine.describe_execution(arn).expect("an execution");
                    execution.status == ExecutionStatus::Running
                        && matches!(&execution.threads[0].phase, Phase::Task(task) if task.dispatched)
                })
                .count();
        }
        let elapsed = began.elapsed();
        let after = memory();
        println!(
            "{}",
            json!({
                "count": count,
                "parked": parked,
                "elapsed_ms": elapsed.as_secs_f64() * 1e3,
                "before": {"vm_rss": before.0, "vm_hwm": before.1},
                "after": {"vm_rss": after.0, "vm_hwm": after.1},
            })
        );
        engine.shutdown();
    });
}

/// Runs this binary again as the parked-executions child and reads its report.
fn parked(store: &str) -> Option<Value> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .args(["--parked", store, &PARKED_COUNT.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "the parked child ({store}) failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// Runs `peer.mjs` with node from PATH and reads its JSON.
fn peer(args: &[String]) -> Option<Value> {
    let script = Path::new(BENCHES).join("benches").join("peer.mjs");
    let output = match Command::new("node").arg(&script).args(args).output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("the peer did not run (node from PATH): {e}");
            return None;
        }
    };
    if !output.status.success() {
        eprintln!(
            "the peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().last().map(serde_json::from_str::<Value>) {
        Some(Ok(value)) => Some(value),
        _ => {
            eprintln!("the peer printed no JSON: {text}");
            None
        }
    }
}

fn peer_timings(workloads: &[Workload]) -> Option<Value> {
    let runs: Vec<Value> = workloads
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "definition": definition_path(w.name),
                "input": input_path(w.name),
                "warmup": w.warmup,
                "iterations": w.iterations,
            })
        })
        .collect();
    peer(&["timings".to_string(), json!({ "runs": runs }).to_string()])
}

fn peer_parked() -> Option<Value> {
    let script = Path::new(BENCHES).join("benches").join("peer.mjs");
    let output = Command::new("node")
        .arg("--expose-gc")
        .arg(&script)
        .arg("parked")
        .arg(definition_path(PARKED))
        .arg(input_path(PARKED))
        .arg(PARKED_COUNT.to_string())
        .arg(PARKED_STATE)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "the peer (parked) failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_slice::<Value>(&output.stdout).ok()
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.1} ms")
    } else if value >= 1.0 {
        format!("{value:.2} ms")
    } else {
        format!("{:.1} µs", value * 1e3)
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
}

/// One side of the parked-executions table, in bytes and milliseconds.
struct Parked {
    before: f64,
    after: f64,
    hwm: f64,
    elapsed: f64,
}

/// One row of the timing table.
struct Row {
    name: String,
    ours: Stats,
    peer: Option<Stats>,
    target: String,
    met: Option<bool>,
}

fn print_rows(rows: &[Row]) {
    println!(
        "| {:<44} | {:>5} | {:>11} | {:>11} | {:>11} | {:>11} | {:>9} | {:<22} | {:<4} |",
        "benchmark",
        "n",
        "ours median",
        "ours p95",
        "peer median",
        "peer p95",
        "peer/ours",
        "target",
        "met"
    );
    println!(
        "|{:-<46}|{:->7}|{:->13}|{:->13}|{:->13}|{:->13}|{:->11}|{:-<24}|{:-<6}|",
        "", "", "", "", "", "", "", "", ""
    );
    for row in rows {
        let (peer_median, peer_p95, ratio) = match row.peer {
            Some(peer) => (
                ms(peer.median),
                ms(peer.p95),
                format!("{:.1}×", peer.median / row.ours.median),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {:<44} | {:>5} | {:>11} | {:>11} | {:>11} | {:>11} | {:>9} | {:<22} | {:<4} |",
            row.name,
            row.ours.iterations,
            ms(row.ours.median),
            ms(row.ours.p95),
            peer_median,
            peer_p95,
            ratio,
            row.target,
            match row.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            }
        );
    }
}

/// For profiling (`perf record … engine-<hash> --loop core twenty-states 20000`): one workload, no
/// report but the median.
fn profile_loop(kind: &str, name: &str, iterations: usize) {
    let workload = Workload {
        name: if name == MAP { MAP } else { TWENTY },
        warmup: 0,
        iterations,
    };
    let measured = match kind {
        "core" => core_runs(workload),
        "sqlite" => {
            let database = TempDatabase::new("loop");
            engine_runs(database.store(), workload)
        }
        _ => engine_runs(Arc::new(MemoryStore::new()), workload),
    };
    println!("{kind} {name}: median {}", ms(measured.stats.median));
    if kind == "core" {
        // What one execution produces, to see where the work goes.
        let machine = sluice_statemachine::read_str(&definition(workload.name)).expect("valid");
        let program = Program::new(machine);
        let (execution, effects) = run::start(
            &program,
            "arn:aws:states:local:000000000000:stateMachine:bench",
            "arn:aws:states:local:000000000000:execution:bench:run",
            "run",
            input(workload.name),
            0,
            &mut OsEntropy,
        );
        let events = serde_json::to_string(&effects.events).unwrap_or_default();
        let state = serde_json::to_string(&execution).unwrap_or_default();
        println!(
            "{} history events ({} bytes as JSON), {} threads, state {} bytes",
            effects.events.len(),
            events.len(),
            execution.threads.len(),
            state.len()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--loop") {
        let kind = args.get(at + 1).map(String::as_str).unwrap_or("core");
        let name = args.get(at + 2).map(String::as_str).unwrap_or(TWENTY);
        let iterations = args
            .get(at + 3)
            .and_then(|c| c.parse().ok())
            .unwrap_or(10_000);
        profile_loop(kind, name, iterations);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--parked") {
        let store = args.get(at + 1).map(String::as_str).unwrap_or("memory");
        let count = args
            .get(at + 2)
            .and_then(|c| c.parse().ok())
            .unwrap_or(PARKED_COUNT);
        parked_child(store, count);
        return;
    }

    println!(
        "sluice-statemachine benchmarks (profile: bench = release; single-threaded, sequential)"
    );
    println!();

    let twenty_engine = engine_runs(Arc::new(MemoryStore::new()), TWENTY_RUNS);
    let twenty_core = core_runs(TWENTY_RUNS);
    let twenty_sqlite = {
        let database = TempDatabase::new(TWENTY);
        engine_runs(database.store(), TWENTY_RUNS)
    };
    let map_engine = engine_runs(Arc::new(MemoryStore::new()), MAP_RUNS);
    let map_core = core_runs(MAP_RUNS);
    let map_sqlite = {
        let database = TempDatabase::new(MAP);
        engine_runs(database.store(), MAP_RUNS)
    };
    let parked_memory = parked("memory");
    let parked_sqlite = parked("sqlite");

    let peer = peer_timings(&[TWENTY_RUNS, MAP_RUNS]);
    let peer_runs = peer.as_ref().and_then(|p| p.get("runs"));
    let peer_stats = |name: &str| {
        peer_runs
            .and_then(|r| r.get(name))
            .and_then(Stats::from_peer)
    };
    let peer_output = |name: &str| {
        peer_runs
            .and_then(|r| r.get(name))
            .and_then(|r| r.get("output"))
    };
    let peer_twenty = peer_stats(TWENTY);
    let peer_map = peer_stats(MAP);

    if let Some(peer) = &peer {
        println!(
            "peer: aws-local-stepfunctions {} on node {}",
            peer["version"].as_str().unwrap_or("?"),
            peer["node"].as_str().unwrap_or("?")
        );
    }
    for (name, ours) in [(TWENTY, &twenty_engine.output), (MAP, &map_engine.output)] {
        match peer_output(name) {
            Some(theirs) if theirs == ours => println!("{name}: outputs are equal on both sides"),
            Some(theirs) => println!("{name}: OUTPUTS DIFFER: ours {ours}, peer {theirs}"),
            None => {}
        }
    }
    assert_eq!(twenty_engine.output, twenty_core.output);
    assert_eq!(twenty_engine.output, twenty_sqlite.output);
    assert_eq!(map_engine.output, map_core.output);
    println!();

    let tenfold = peer_twenty.map(|p| p.median / twenty_engine.stats.median >= 10.0);
    let rows = [
        Row {
            name: "(a) 20 states, Engine + MemoryStore".into(),
            ours: twenty_engine.stats,
            peer: peer_twenty,
            target: "≥ 10× the peer".into(),
            met: tenfold,
        },
        Row {
            name: "    20 states, run::start core only".into(),
            ours: twenty_core.stats,
            peer: peer_twenty,
            target: String::new(),
            met: None,
        },
        Row {
            name: "(b) Map of 1,000 Pass items, Engine + Memory".into(),
            ours: map_engine.stats,
            peer: peer_map,
            target: "compare".into(),
            met: None,
        },
        Row {
            name: "    Map of 1,000, run::start core only".into(),
            ours: map_core.stats,
            peer: peer_map,
            target: String::new(),
            met: None,
        },
        Row {
            name: "(c) 20 states, Engine + SqliteStore (WAL)".into(),
            ours: twenty_sqlite.stats,
            peer: peer_twenty,
            target: "≤ 2 ms (median)".into(),
            met: Some(twenty_sqlite.stats.median <= 2.0),
        },
        Row {
            name: "    Map of 1,000, Engine + SqliteStore (WAL)".into(),
            ours: map_sqlite.stats,
            peer: peer_map,
            target: String::new(),
            met: None,
        },
    ];
    print_rows(&rows);
    println!();
    for row in &rows {
        println!(
            "{:<46} mean {:>10}  min {:>10}",
            row.name.trim(),
            ms(row.ours.mean),
            ms(row.ours.min)
        );
    }
    for (name, peer) in [(TWENTY, peer_twenty), (MAP, peer_map)] {
        if let Some(peer) = peer {
            println!(
                "{:<46} mean {:>10}  min {:>10}",
                format!("peer {name}"),
                ms(peer.mean),
                ms(peer.min)
            );
        }
    }
    println!();

    println!(
        "(d) {PARKED_COUNT} executions parked on task tokens (.waitForTaskToken, handler answers Accepted)"
    );
    println!(
        "| {:<36} | {:>12} | {:>12} | {:>12} | {:>12} | {:>14} | {:>10} | {:<12} | {:<4} |",
        "side",
        "RSS before",
        "RSS after",
        "HWM after",
        "RSS growth",
        "per execution",
        "time",
        "target",
        "met"
    );
    println!(
        "|{:-<38}|{:->14}|{:->14}|{:->14}|{:->14}|{:->16}|{:->12}|{:-<14}|{:-<6}|",
        "", "", "", "", "", "", "", "", ""
    );
    let peer_parked = peer_parked();
    let kib = |v: &Value| v.as_f64().unwrap_or(0.0) * 1024.0;
    let ours = |report: &Option<Value>| {
        report.as_ref().map(|r| Parked {
            before: r["before"]["vm_rss"].as_f64().unwrap_or(0.0),
            after: r["after"]["vm_rss"].as_f64().unwrap_or(0.0),
            hwm: r["after"]["vm_hwm"].as_f64().unwrap_or(0.0),
            elapsed: r["elapsed_ms"].as_f64().unwrap_or(0.0),
        })
    };
    let theirs = peer_parked.as_ref().map(|p| {
        let r = &p["parked"];
        Parked {
            before: kib(&r["before"]["vm_rss_kib"]),
            after: kib(&r["after"]["vm_rss_kib"]),
            hwm: kib(&r["after"]["vm_hwm_kib"]),
            elapsed: r["elapsed_ms"].as_f64().unwrap_or(0.0),
        }
    });
    let sides = [
        ("ours, Engine + MemoryStore", ours(&parked_memory), true),
        (
            "ours, Engine + SqliteStore (WAL)",
            ours(&parked_sqlite),
            true,
        ),
        ("peer (handler never answers)", theirs, false),
    ];
    for (side, figures, judged) in sides {
        match figures {
            Some(Parked {
                before,
                after,
                hwm,
                elapsed,
            }) => {
                let growth = after - before;
                println!(
                    "| {:<36} | {:>12} | {:>12} | {:>12} | {:>12} | {:>14} | {:>10} | {:<12} | {:<4} |",
                    side,
                    mib(before),
                    mib(after),
                    mib(hwm),
                    mib(growth),
                    format!("{:.1} KiB", growth / PARKED_COUNT as f64 / 1024.0),
                    ms(elapsed),
                    if judged { "≤ 1 GiB RSS" } else { "" },
                    match (judged, hwm.max(after) <= GIB) {
                        (false, _) => "",
                        (true, true) => "yes",
                        (true, false) => "NO",
                    }
                );
            }
            None => println!("| {side:<36} | (did not run) |"),
        }
    }
}
