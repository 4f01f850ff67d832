//! Pipelines run by the local runtime: the compiled machine in the embedded engine, the dispatcher and
//! worker handlers over the SQLite store. Providers here are the tests' own (a fake of Sluice's provider
//! port): a source that answers at once, and a "held" action the test finishes when it wants, so the
//! stage lock, execution modes, transitions, stops and approvals can be watched step by step.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use sluice_core::approval::{
    ApprovalError, ApprovalStatus, put_approval_result, waiting_approvals,
};
use sluice_core::compile::CompileOptions;
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    ActionExecutionStore, ActionProvider, ExecutionStore, Job, JobFailure, JobOutcome, JobSuccess,
    Orchestrator, PipelineStore, Ports, Providers, RunStatus, StageStore,
};
use sluice_core::record::{
    ActionExecution, ActionExecutionStatus, PipelineExecution, PipelineExecutionStatus,
    StageExecutionStatus,
};
use sluice_core::usecase::execution::{StartRequest, retry_stage, start_execution, stop_execution};
use sluice_core::usecase::pipeline::{delete_pipeline, put_pipeline};
use sluice_core::usecase::transition::{TransitionType, disable_transition, enable_transition};
use sluice_local::runtime::{LocalRuntime, RandomIds};
use sluice_statemachine::clock::SystemClock;

use common::{InstantSource, Run};

/// The outcome senders of running held actions, by (execution id, action name).
type Running = Arc<Mutex<HashMap<(String, String), oneshot::Sender<JobOutcome>>>>;

/// An action that runs until the test says how it ends.
#[derive(Clone, Default)]
struct Held {
    waiting: Running,
    started: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
}

impl ActionProvider for Held {
    fn run<'a>(&'a self, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            let (send, receive) = oneshot::channel();
            self.waiting.lock().unwrap().insert(
                (job.pipeline_execution_id.clone(), job.action.name.clone()),
                send,
            );
            if let Some(started) = self.started.lock().unwrap().as_ref() {
                let _ = started.send(job.clone());
            }
            receive
                .await
                .unwrap_or_else(|_| JobOutcome::Failed(JobFailure::job_failed("dropped")))
        })
    }
}

impl Held {
    fn finish(&self, execution: &str, action: &str, outcome: JobOutcome) {
        let sender = self
            .waiting
            .lock()
            .unwrap()
            .remove(&(execution.to_string(), action.to_string()))
            .unwrap_or_else(|| panic!("{action} of {execution} is not running"));
        sender.send(outcome).unwrap();
    }

    fn succeed(&self, execution: &str, action: &str) {
        self.finish(
            execution,
            action,
            JobOutcome::Succeeded(JobSuccess::default()),
        );
    }
}

struct Fixture {
    runtime: LocalRuntime,
    held: Held,
    started: mpsc::UnboundedReceiver<Job>,
    _dir: tempfile::TempDir,
}

fn pipeline(mode: &str) -> PipelineDeclaration {
    serde_json::from_value(json!({
        "name": "Flow",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "flow-artifacts"},
        "pipelineType": "V2",
        "executionMode": mode,
        "variables": [{"name": "Env", "defaultValue": "dev"}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch", "namespace": "SourceVariables",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Compile",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p-#{SourceVariables.Rev}-#{variables.Env}-#{codepipeline.PipelineExecutionId}"},
                "inputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Deploy", "actions": [{
                "name": "Ship",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"BucketName": "site", "Extract": "true"},
                "inputArtifacts": [{"name": "Src"}]
            }, {
                "name": "Approve", "runOrder": 2,
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
            }]}
        ]
    }))
    .unwrap()
}

struct ManualApproval;

impl ActionProvider for ManualApproval {
    fn run<'a>(&'a self, _job: &'a Job) -> Run<'a> {
        Box::pin(async { JobOutcome::Waiting })
    }
}

async fn open(dir: &Path, held: &Held) -> LocalRuntime {
    let held = held.clone();
    LocalRuntime::open(
        dir,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        move |runtime| {
            let mut providers = Providers::default();
            providers.register(
                ActionCategory::Source,
                "AWS",
                "S3",
                Arc::new(InstantSource(runtime.ports.artifacts.clone())),
            );
            providers.register(
                ActionCategory::Build,
                "AWS",
                "CodeBuild",
                Arc::new(held.clone()),
            );
            providers.register(ActionCategory::Deploy, "AWS", "S3", Arc::new(held));
            providers.register(
                ActionCategory::Approval,
                "AWS",
                "Manual",
                Arc::new(ManualApproval),
            );
            providers
        },
    )
    .await
    .unwrap()
}

async fn fixture(mode: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let held = Held::default();
    let (send, started) = mpsc::unbounded_channel();
    *held.started.lock().unwrap() = Some(send);
    let runtime = open(dir.path(), &held).await;
    put_pipeline(&runtime.ports, &pipeline(mode), &CompileOptions::default())
        .await
        .unwrap();
    Fixture {
        runtime,
        held,
        started,
        _dir: dir,
    }
}

impl Fixture {
    async fn start(&self) -> String {
        start_execution(&self.runtime.ports, "Flow", StartRequest::default())
            .await
            .unwrap()
            .pipeline_execution_id
    }

    /// The next held action to start: (execution id, action name).
    async fn next_started(&mut self) -> (String, String) {
        let job = self.next_job().await;
        (job.pipeline_execution_id, job.action.name)
    }

    /// The job of the next held action to start.
    async fn next_job(&mut self) -> Job {
        tokio::time::timeout(Duration::from_secs(10), self.started.recv())
            .await
            .expect("an action should start")
            .unwrap()
    }

    async fn execution(&self, id: &str) -> PipelineExecution {
        self.runtime
            .ports
            .store
            .execution("Flow", id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn actions(&self, id: &str) -> Vec<ActionExecution> {
        self.runtime
            .ports
            .store
            .action_executions("Flow", Some(id))
            .await
            .unwrap()
    }

    /// Waits (up to 10 s) until the execution's record satisfies `done`.
    async fn until(&self, id: &str, what: &str, done: impl Fn(&PipelineExecution) -> bool) {
        for _ in 0..1000 {
            if done(&self.execution(id).await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: execution is {:?}", self.execution(id).await);
    }

    async fn until_waiting_approval(&self, id: &str) -> ActionExecution {
        for _ in 0..1000 {
            if let Some(a) = self.actions(id).await.into_iter().find(|a| {
                a.action_name == "Approve" && a.status == ActionExecutionStatus::InProgress
            }) {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no approval waits in {id}");
    }

    async fn approve(&self, id: &str) {
        let approval = self.until_waiting_approval(id).await;
        put_approval_result(
            &self.runtime.ports,
            "Flow",
            "Deploy",
            "Approve",
            &approval.action_execution_id,
            ApprovalStatus::Approved,
            "ok",
        )
        .await
        .unwrap();
    }

    async fn status(&self, id: &str) -> PipelineExecutionStatus {
        self.execution(id).await.status
    }
}

#[tokio::test]
async fn an_execution_runs_every_stage_and_records_each_action_attempt() {
    let mut f = fixture("SUPERSEDED").await;
    let id = f.start().await;
    assert_eq!(f.next_started().await, (id.clone(), "Compile".to_string()));
    f.held.succeed(&id, "Compile");
    assert_eq!(f.next_started().await, (id.clone(), "Ship".to_string()));
    f.held.succeed(&id, "Ship");
    f.approve(&id).await;
    f.until(&id, "succeeds", |e| {
        e.status == PipelineExecutionStatus::Succeeded
    })
    .await;

    let actions = f.actions(&id).await;
    let names: Vec<(&str, ActionExecutionStatus)> = actions
        .iter()
        .map(|a| (a.action_name.as_str(), a.status))
        .collect();
    assert_eq!(
        names,
        [
            ("Fetch", ActionExecutionStatus::Succeeded),
            ("Compile", ActionExecutionStatus::Succeeded),
            ("Ship", ActionExecutionStatus::Succeeded),
            ("Approve", ActionExecutionStatus::Succeeded),
        ]
    );
    let compile = &actions[1];
    assert_eq!(
        compile.resolved_configuration["ProjectName"],
        format!("p-r42-dev-{id}"),
        "variables from an earlier action, the pipeline and codepipeline resolve before the action starts"
    );
    assert_eq!(
        compile.configuration["ProjectName"],
        "p-#{SourceVariables.Rev}-#{variables.Env}-#{codepipeline.PipelineExecutionId}"
    );
    let fetch = &actions[0];
    assert_eq!(fetch.output_variables["Rev"], "r42");
    assert_eq!(compile.input_artifacts, fetch.output_artifacts);
    assert_eq!(compile.input_artifacts[0].revision.as_deref(), Some("r42"));
    assert!(
        fetch.output_artifacts[0]
            .location
            .object_key
            .starts_with("Flow/Src/"),
        "artifacts are keyed <pipeline>/<artifact>/<random>: {:?}",
        fetch.output_artifacts[0].location
    );
    assert_eq!(actions[3].summary.as_deref(), Some("ok"));
    let stages = f
        .runtime
        .ports
        .store
        .stage_executions("Flow", &id)
        .await
        .unwrap();
    assert_eq!(stages.len(), 3);
    assert!(
        stages
            .iter()
            .all(|s| s.status == StageExecutionStatus::Succeeded)
    );
}

#[tokio::test]
async fn superseded_mode_lets_a_newer_waiting_execution_overtake_the_older_one() {
    let mut f = fixture("SUPERSEDED").await;
    let first = f.start().await;
    assert_eq!(
        f.next_started().await,
        (first.clone(), "Compile".to_string())
    );
    let second = f.start().await;
    f.until(&second, "second waits", |_| true).await;
    // The second waits in front of Build; a third arrives and takes its place.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = f.start().await;
    f.until(&second, "second is superseded", |e| {
        e.status == PipelineExecutionStatus::Superseded
    })
    .await;
    assert!(
        f.execution(&second)
            .await
            .status_summary
            .unwrap()
            .contains(&third)
    );
    f.held.succeed(&first, "Compile");
    // The lock passes to the third, not the superseded second.
    let mut order = Vec::new();
    for _ in 0..2 {
        order.push(f.next_started().await);
    }
    assert!(
        order.contains(&(third.clone(), "Compile".to_string())),
        "{order:?}"
    );
    assert!(
        order.contains(&(first.clone(), "Ship".to_string())),
        "{order:?}"
    );
    assert!(
        !f.actions(&second)
            .await
            .iter()
            .any(|a| a.stage_name == "Build"),
        "the superseded execution never ran Build"
    );
}

#[tokio::test]
async fn queued_mode_lets_waiting_executions_enter_in_order() {
    let mut f = fixture("QUEUED").await;
    let first = f.start().await;
    assert_eq!(
        f.next_started().await,
        (first.clone(), "Compile".to_string())
    );
    let second = f.start().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let third = f.start().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    f.held.succeed(&first, "Compile");
    let mut next = Vec::new();
    for _ in 0..2 {
        next.push(f.next_started().await);
    }
    assert!(
        next.contains(&(second.clone(), "Compile".to_string())),
        "{next:?}"
    );
    assert!(
        !next.contains(&(third.clone(), "Compile".to_string())),
        "third must wait: {next:?}"
    );
    f.held.succeed(&second, "Compile");
    loop {
        let (id, action) = f.next_started().await;
        if id == third {
            assert_eq!(action, "Compile");
            break;
        }
    }
    assert_eq!(f.status(&second).await, PipelineExecutionStatus::InProgress);
    assert_eq!(f.status(&third).await, PipelineExecutionStatus::InProgress);
}

#[tokio::test]
async fn parallel_mode_runs_executions_side_by_side() {
    let mut f = fixture("PARALLEL").await;
    let first = f.start().await;
    let second = f.start().await;
    let mut running = vec![f.next_started().await, f.next_started().await];
    running.sort();
    let mut expected = vec![
        (first.clone(), "Compile".to_string()),
        (second.clone(), "Compile".to_string()),
    ];
    expected.sort();
    assert_eq!(running, expected, "both are in Build at once");
}

#[tokio::test]
async fn a_disabled_inbound_transition_holds_the_execution_until_it_is_enabled() {
    let mut f = fixture("SUPERSEDED").await;
    disable_transition(
        &f.runtime.ports,
        "Flow",
        "Build",
        TransitionType::Inbound,
        "freeze",
    )
    .await
    .unwrap();
    let id = f.start().await;
    f.until(&id, "the source ran", |_| true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        f.started.try_recv().is_err(),
        "Build must not start while the transition is disabled"
    );
    let (gate, _) = f.runtime.ports.store.gate("Flow", "Build").await.unwrap();
    assert_eq!(gate.waiting.len(), 1);
    assert_eq!(gate.disabled_reason.as_deref(), Some("freeze"));
    enable_transition(&f.runtime.ports, "Flow", "Build", TransitionType::Inbound)
        .await
        .unwrap();
    assert_eq!(f.next_started().await, (id, "Compile".to_string()));
}

#[tokio::test]
async fn a_failed_action_fails_its_stage_and_execution_and_frees_the_stage() {
    let mut f = fixture("SUPERSEDED").await;
    let first = f.start().await;
    f.next_started().await;
    let second = f.start().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    f.held.finish(
        &first,
        "Compile",
        JobOutcome::Failed(JobFailure::job_failed("exit status 2: tests failed")),
    );
    f.until(&first, "fails", |e| {
        e.status == PipelineExecutionStatus::Failed
    })
    .await;
    let failed = f.execution(&first).await;
    assert!(
        failed
            .status_summary
            .as_deref()
            .unwrap()
            .contains("tests failed"),
        "{failed:?}"
    );
    let compile = f
        .actions(&first)
        .await
        .into_iter()
        .find(|a| a.action_name == "Compile")
        .unwrap();
    assert_eq!(compile.status, ActionExecutionStatus::Failed);
    assert_eq!(compile.error_details.unwrap().code, "JobFailed");
    let stages = f
        .runtime
        .ports
        .store
        .stage_executions("Flow", &first)
        .await
        .unwrap();
    assert!(
        stages
            .iter()
            .any(|s| s.stage_name == "Build" && s.status == StageExecutionStatus::Failed)
    );
    // The waiting second execution enters the freed stage.
    assert_eq!(f.next_started().await, (second, "Compile".to_string()));
}

/// A summary or failure message longer than the model allows is cut when it is written (keeping both
/// ends), so the records, the execution's summary and what the API answers stay inside the model.
#[tokio::test]
async fn summaries_and_failure_messages_are_cut_to_the_models_maxima_when_written() {
    let mut f = fixture("SUPERSEDED").await;
    let id = f.start().await;
    assert_eq!(f.next_started().await, (id.clone(), "Compile".to_string()));
    let summary = format!("built {}", "😀".repeat(5000));
    f.held.finish(
        &id,
        "Compile",
        JobOutcome::Succeeded(JobSuccess {
            summary: Some(summary),
            ..JobSuccess::default()
        }),
    );
    assert_eq!(f.next_started().await, (id.clone(), "Ship".to_string()));
    let message = format!("BEGIN {} END", "é".repeat(200_000));
    f.held.finish(
        &id,
        "Ship",
        JobOutcome::Failed(JobFailure::job_failed(message)),
    );
    f.until(&id, "fails", |e| {
        e.status == PipelineExecutionStatus::Failed
    })
    .await;
    let actions = f.actions(&id).await;
    let compile = actions.iter().find(|a| a.action_name == "Compile").unwrap();
    let summary = compile.summary.as_deref().unwrap();
    assert!(summary.encode_utf16().count() <= 2048, "{summary}");
    assert!(summary.starts_with("built 😀") && summary.contains("characters cut"));
    let ship = actions.iter().find(|a| a.action_name == "Ship").unwrap();
    let message = &ship.error_details.as_ref().unwrap().message;
    assert!(message.encode_utf16().count() <= 5000, "{}", message.len());
    assert!(message.starts_with("BEGIN é") && message.ends_with("é END"));
    let failed = f.execution(&id).await;
    let status = failed.status_summary.unwrap();
    assert!(
        status.contains("BEGIN é") && status.len() < 20_000,
        "{}",
        status.len()
    );
}

#[tokio::test]
async fn deleting_a_pipeline_stops_its_running_execution_and_frees_its_name() {
    let mut f = fixture("SUPERSEDED").await;
    let first = f.start().await;
    f.next_started().await;
    let run = f.execution(&first).await.orchestration.expect("started");

    delete_pipeline(&f.runtime.ports, "Flow").await.unwrap();

    let stopped = f.runtime.ports.orchestrator().describe(&run).await.unwrap();
    assert_eq!(stopped.status, RunStatus::Aborted, "{stopped:?}");
    assert!(
        f.runtime
            .ports
            .store
            .pipeline("Flow")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.runtime
            .ports
            .store
            .execution("Flow", &first)
            .await
            .unwrap()
            .is_none()
    );
    // The provider finishing later writes nothing back, and deleting again is not an error.
    f.held.succeed(&first, "Compile");
    delete_pipeline(&f.runtime.ports, "Flow").await.unwrap();
    // The name is free: the pipeline is created again and runs from its first stage.
    put_pipeline(
        &f.runtime.ports,
        &pipeline("SUPERSEDED"),
        &CompileOptions::default(),
    )
    .await
    .unwrap();
    let second = f.start().await;
    assert_eq!(f.next_started().await, (second, "Compile".to_string()));
}

#[tokio::test]
async fn stop_and_abandon_ends_the_execution_and_frees_its_stage() {
    let mut f = fixture("SUPERSEDED").await;
    let first = f.start().await;
    f.next_started().await;
    let stopped = stop_execution(&f.runtime.ports, "Flow", &first, true, Some("enough"))
        .await
        .unwrap();
    assert_eq!(stopped.status, PipelineExecutionStatus::Stopped);
    let compile = f
        .actions(&first)
        .await
        .into_iter()
        .find(|a| a.action_name == "Compile")
        .unwrap();
    assert_eq!(compile.status, ActionExecutionStatus::Abandoned);
    assert!(matches!(
        stop_execution(&f.runtime.ports, "Flow", &first, true, None).await,
        Err(sluice_core::usecase::execution::ExecutionError::NotStoppable(_))
    ));
    // The provider finishing later changes nothing recorded.
    f.held.succeed(&first, "Compile");
    let second = f.start().await;
    assert_eq!(f.next_started().await, (second, "Compile".to_string()));
    assert_eq!(f.status(&first).await, PipelineExecutionStatus::Stopped);
    let compile = f
        .actions(&first)
        .await
        .into_iter()
        .find(|a| a.action_name == "Compile")
        .unwrap();
    assert_eq!(compile.status, ActionExecutionStatus::Abandoned);
}

#[tokio::test]
async fn abandon_tells_the_running_provider_to_stop_and_a_retry_runs_with_a_live_signal() {
    let mut f = fixture("SUPERSEDED").await;
    let id = f.start().await;
    let job = f.next_job().await;
    assert_eq!(job.action.name, "Compile");
    assert!(!job.stop.is_stopped());
    stop_execution(&f.runtime.ports, "Flow", &id, false, None)
        .await
        .unwrap();
    assert!(!job.stop.is_stopped(), "stop and wait lets it run");
    stop_execution(&f.runtime.ports, "Flow", &id, true, None)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), job.stop.stopped())
        .await
        .expect("abandon stops the provider");
    f.held.finish(
        &id,
        "Compile",
        JobOutcome::Failed(JobFailure::job_failed("the build was stopped")),
    );
    f.until(&id, "stops", |e| {
        e.status == PipelineExecutionStatus::Stopped
    })
    .await;

    retry_stage(&f.runtime.ports, "Flow", "Build", &id, "FAILED_ACTIONS")
        .await
        .unwrap();
    let retried = f.next_job().await;
    assert_eq!(retried.action.name, "Compile");
    assert!(!retried.stop.is_stopped(), "the retry runs normally");
    f.held.succeed(&id, "Compile");
    assert_eq!(f.next_started().await, (id.clone(), "Ship".to_string()));
    let compile: Vec<ActionExecutionStatus> = f
        .actions(&id)
        .await
        .into_iter()
        .filter(|a| a.action_name == "Compile")
        .map(|a| a.status)
        .collect();
    assert_eq!(
        compile,
        [
            ActionExecutionStatus::Abandoned,
            ActionExecutionStatus::Succeeded
        ]
    );
}

#[tokio::test]
async fn a_second_process_cannot_run_the_executions_of_a_data_directory_until_the_first_stops() {
    let f = fixture("SUPERSEDED").await;
    let second = LocalRuntime::open_default(f._dir.path(), |_| Providers::default()).await;
    let error = second.err().expect("refused");
    assert!(
        error.to_string().contains(&format!(
            "another Sluice process (pid {}) runs the executions",
            std::process::id()
        )),
        "{error}"
    );
    f.runtime.shutdown();
    let third = LocalRuntime::open_default(f._dir.path(), |_| Providers::default())
        .await
        .expect("opens once the first has stopped");
    third.shutdown();
}

#[tokio::test]
async fn opening_removes_the_workspaces_an_earlier_process_left_and_keeps_the_directories_private()
{
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let left = data.join("work").join("0f8e4c1e-left-behind").join("shell");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("env.next"), "SECRET=1").unwrap();
    std::fs::write(data.join("work").join("stray"), "").unwrap();
    let runtime = LocalRuntime::open_default(&data, |_| Providers::default())
        .await
        .unwrap();
    assert_eq!(std::fs::read_dir(data.join("work")).unwrap().count(), 0);
    use std::os::unix::fs::PermissionsExt;
    for private in [data.join("work"), data.join("processes")] {
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", private.display());
    }
    runtime.shutdown();

    let fresh = dir.path().join("fresh");
    let runtime = LocalRuntime::open_default(&fresh, |_| Providers::default())
        .await
        .unwrap();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "a new data directory is private");
    runtime.shutdown();
}

#[tokio::test]
async fn stop_and_wait_lets_running_actions_finish_and_starts_nothing_new() {
    let mut f = fixture("SUPERSEDED").await;
    let id = f.start().await;
    f.next_started().await;
    let stopping = stop_execution(&f.runtime.ports, "Flow", &id, false, None)
        .await
        .unwrap();
    assert_eq!(stopping.status, PipelineExecutionStatus::Stopping);
    assert!(matches!(
        stop_execution(&f.runtime.ports, "Flow", &id, false, None).await,
        Err(sluice_core::usecase::execution::ExecutionError::DuplicatedStop(_))
    ));
    f.held.succeed(&id, "Compile");
    f.until(&id, "stops", |e| {
        e.status == PipelineExecutionStatus::Stopped
    })
    .await;
    let actions = f.actions(&id).await;
    assert_eq!(
        actions
            .iter()
            .find(|a| a.action_name == "Compile")
            .unwrap()
            .status,
        ActionExecutionStatus::Succeeded,
        "the running action finished"
    );
    assert!(
        !actions.iter().any(|a| a.action_name == "Ship"),
        "Deploy never started"
    );
}

#[tokio::test]
async fn a_rejected_approval_fails_the_execution_and_a_second_decision_is_refused() {
    let mut f = fixture("SUPERSEDED").await;
    let id = f.start().await;
    f.next_started().await;
    f.held.succeed(&id, "Compile");
    f.next_started().await;
    f.held.succeed(&id, "Ship");
    let approval = f.until_waiting_approval(&id).await;
    let waiting = waiting_approvals(&f.runtime.ports, "Flow", "Deploy", "Approve")
        .await
        .unwrap();
    assert_eq!(waiting[0].action_execution_id, approval.action_execution_id);
    put_approval_result(
        &f.runtime.ports,
        "Flow",
        "Deploy",
        "Approve",
        &approval.action_execution_id,
        ApprovalStatus::Rejected,
        "not today",
    )
    .await
    .unwrap();
    f.until(&id, "fails", |e| {
        e.status == PipelineExecutionStatus::Failed
    })
    .await;
    assert!(
        f.execution(&id)
            .await
            .status_summary
            .unwrap()
            .contains("not today")
    );
    assert!(matches!(
        put_approval_result(
            &f.runtime.ports,
            "Flow",
            "Deploy",
            "Approve",
            &approval.action_execution_id,
            ApprovalStatus::Approved,
            "",
        )
        .await,
        Err(ApprovalError::AlreadyCompleted { .. })
    ));
    assert!(matches!(
        put_approval_result(
            &f.runtime.ports,
            "Flow",
            "Deploy",
            "Ship",
            &approval.action_execution_id,
            ApprovalStatus::Approved,
            "",
        )
        .await,
        Err(ApprovalError::ActionNotFound { .. })
    ));
}

#[tokio::test]
async fn a_waiting_approval_survives_a_restart_and_is_decided_from_an_attached_process() {
    let dir = tempfile::tempdir().unwrap();
    let held = Held::default();
    let runtime = open(dir.path(), &held).await;
    put_pipeline(
        &runtime.ports,
        &pipeline("SUPERSEDED"),
        &CompileOptions::default(),
    )
    .await
    .unwrap();
    let (send, mut started) = mpsc::unbounded_channel();
    *held.started.lock().unwrap() = Some(send);
    let id = start_execution(&runtime.ports, "Flow", StartRequest::default())
        .await
        .unwrap()
        .pipeline_execution_id;
    started.recv().await.unwrap();
    held.succeed(&id, "Compile");
    started.recv().await.unwrap();
    held.succeed(&id, "Ship");
    let f = Fixture {
        runtime,
        held: held.clone(),
        started,
        _dir: dir,
    };
    f.until_waiting_approval(&id).await;
    f.runtime.shutdown();

    // A new process over the same directory carries on; a third one approves.
    let reopened = open(f._dir.path(), &held).await;
    let attached = LocalRuntime::attach(f._dir.path()).unwrap();
    let approval = waiting_approvals(&attached, "Flow", "Deploy", "Approve")
        .await
        .unwrap();
    put_approval_result(
        &attached,
        "Flow",
        "Deploy",
        "Approve",
        &approval[0].action_execution_id,
        ApprovalStatus::Approved,
        "from another terminal",
    )
    .await
    .unwrap();
    for _ in 0..1000 {
        let status = reopened
            .ports
            .store
            .execution("Flow", &id)
            .await
            .unwrap()
            .unwrap()
            .status;
        if status == PipelineExecutionStatus::Succeeded {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the approved execution did not finish");
}

#[tokio::test]
async fn an_unresolvable_variable_fails_the_action_with_a_configuration_error() {
    let f = fixture("SUPERSEDED").await;
    let mut broken = pipeline("SUPERSEDED");
    broken.stages[1].actions[0]
        .configuration
        .insert("ProjectName".into(), "#{Nowhere.Thing}".into());
    put_pipeline(&f.runtime.ports, &broken, &CompileOptions::default())
        .await
        .unwrap();
    let id = f.start().await;
    f.until(&id, "fails", |e| {
        e.status == PipelineExecutionStatus::Failed
    })
    .await;
    let compile = f
        .actions(&id)
        .await
        .into_iter()
        .find(|a| a.action_name == "Compile")
        .unwrap();
    let details = compile.error_details.unwrap();
    assert_eq!(details.code, "ConfigurationError");
    assert!(
        details.message.contains("#{Nowhere.Thing}"),
        "{}",
        details.message
    );
}

#[tokio::test]
async fn an_undeclared_variable_at_start_is_refused_and_nothing_is_recorded() {
    let f = fixture("SUPERSEDED").await;
    let refused = start_execution(
        &f.runtime.ports,
        "Flow",
        StartRequest {
            variables: BTreeMap::from([("Nope".to_string(), "x".to_string())]),
            ..StartRequest::default()
        },
    )
    .await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("Variable 'Nope' is not declared")
    );
    assert!(
        f.runtime
            .ports
            .store
            .executions("Flow")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_approval_nobody_answers_fails_when_its_timeout_passes_on_virtual_time() {
    use sluice_statemachine::clock::ManualClock;
    let dir = tempfile::tempdir().unwrap();
    let held = Held::default();
    let (send, mut started) = mpsc::unbounded_channel();
    *held.started.lock().unwrap() = Some(send);
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let providers_held = held.clone();
    let runtime = LocalRuntime::open(
        dir.path(),
        clock.clone(),
        Arc::new(RandomIds),
        move |runtime| {
            let mut providers = Providers::default();
            providers.register(
                ActionCategory::Source,
                "AWS",
                "S3",
                Arc::new(InstantSource(runtime.ports.artifacts.clone())),
            );
            providers.register(
                ActionCategory::Build,
                "AWS",
                "CodeBuild",
                Arc::new(providers_held.clone()),
            );
            providers.register(
                ActionCategory::Deploy,
                "AWS",
                "S3",
                Arc::new(providers_held),
            );
            providers.register(
                ActionCategory::Approval,
                "AWS",
                "Manual",
                Arc::new(ManualApproval),
            );
            providers
        },
    )
    .await
    .unwrap();
    let mut declaration = pipeline("SUPERSEDED");
    declaration.stages[2].actions[1].timeout_in_minutes = Some(5);
    put_pipeline(&runtime.ports, &declaration, &CompileOptions::default())
        .await
        .unwrap();
    let id = start_execution(&runtime.ports, "Flow", StartRequest::default())
        .await
        .unwrap()
        .pipeline_execution_id;
    started.recv().await.unwrap();
    held.succeed(&id, "Compile");
    started.recv().await.unwrap();
    held.succeed(&id, "Ship");
    let f = Fixture {
        runtime,
        held,
        started,
        _dir: dir,
    };
    f.until_waiting_approval(&id).await;
    clock.advance(4 * 60 * 1000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        f.status(&id).await,
        PipelineExecutionStatus::InProgress,
        "4 minutes are not 5"
    );
    clock.advance(60 * 1000 + 1);
    f.until(&id, "times out", |e| {
        e.status == PipelineExecutionStatus::Failed
    })
    .await;
    let approval = f
        .actions(&id)
        .await
        .into_iter()
        .find(|a| a.action_name == "Approve")
        .unwrap();
    assert_eq!(approval.status, ActionExecutionStatus::Failed);
    assert!(approval.error_details.unwrap().message.contains("timeout"));
}
