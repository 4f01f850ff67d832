//! The handlers over in-memory ports: the dispatcher, the workers, the use cases and approvals, each
//! called as the compiled machine and the API call them, with a clock that moves only when told. The
//! test plays the machine: it sends the payloads the machine would send and reads which task tokens were
//! answered, and how, from the recording orchestrator.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use sluice_core::approval::link::{ApprovalKey, LinkError, PublicUrl, ReviewLinks, verify};
use sluice_core::approval::page::{
    self, ApprovalPage, PageError, PageForm, PageRequest, PageState, Submitted,
};
use sluice_core::approval::{
    ApprovalError, ApprovalNotices, ApprovalStatus, DECISION_KIND, ManualApproval,
    RecordedDecision, Reviewer, attempt_review_link, put_approval_result, waiting_approvals,
};
use sluice_core::compile::CompileOptions;
use sluice_core::contract::{FaultRates, FaultyStore};
use sluice_core::dispatcher;
use sluice_core::memory::{MemoryNotifier, MemoryPorts, MemoryStore, TaskAnswer};
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    ActionExecutionStore, ActionProvider, ExecutionStore, Job, JobOutcome, JobSuccess,
    Orchestrator, PipelineStore, Providers, ResourceStore, RunStatus, StageStore,
};
use sluice_core::protocol::{
    ACTION_FAILED_ERROR, DISPATCH_FAILED_ERROR, DUPLICATE_START_ERROR, PayloadKind,
    START_FAILED_ERROR, STOPPED_ERROR, SUPERSEDED_ERROR, TIMEOUT_ERROR, TRANSIENT_ERROR,
    WORKER_FAILED_ERROR, retry_run_name,
};
use sluice_core::record::{
    ActionExecution, ActionExecutionStatus, PipelineExecution, PipelineExecutionStatus,
    StageExecutionStatus,
};
use sluice_core::usecase::execution::{
    ExecutionError, StartRequest, retry_stage, start_execution, stop_execution,
};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_core::usecase::transition::{TransitionType, disable_transition, enable_transition};
use sluice_core::worker;

/// What a scripted action does: its outcome by action name (success by default), and every job it got.
#[derive(Default)]
struct Scripted {
    outcomes: Mutex<BTreeMap<String, JobOutcome>>,
    jobs: Mutex<Vec<Job>>,
}

impl Scripted {
    fn will(&self, action: &str, outcome: JobOutcome) {
        self.outcomes
            .lock()
            .unwrap()
            .insert(action.to_string(), outcome);
    }

    /// How often the provider ran the action.
    fn runs(&self, action: &str) -> usize {
        self.jobs
            .lock()
            .unwrap()
            .iter()
            .filter(|job| job.action.name == action)
            .count()
    }

    fn last_job(&self, action: &str) -> Job {
        self.jobs
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|job| job.action.name == action)
            .cloned()
            .unwrap_or_else(|| panic!("{action} never ran"))
    }
}

impl ActionProvider for Scripted {
    fn run<'a>(
        &'a self,
        job: &'a Job,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async move {
            self.jobs.lock().unwrap().push(job.clone());
            self.outcomes
                .lock()
                .unwrap()
                .get(&job.action.name)
                .cloned()
                .unwrap_or(JobOutcome::Succeeded(JobSuccess::default()))
        })
    }
}

/// The ports, the providers, and a counter for the machine's task tokens.
struct Machine {
    ports: Arc<MemoryPorts>,
    scripted: Arc<Scripted>,
    providers: Providers,
    tokens: Mutex<u32>,
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:approvals";

impl Machine {
    fn new() -> Machine {
        let ports = Arc::new(MemoryPorts::default());
        let scripted = Arc::new(Scripted::default());
        let mut providers = Providers::default();
        for (category, provider) in [
            (ActionCategory::Source, "S3"),
            (ActionCategory::Build, "CodeBuild"),
            (ActionCategory::Deploy, "S3"),
        ] {
            providers.register(category, "AWS", provider, scripted.clone());
        }
        Machine {
            ports,
            scripted,
            providers,
            tokens: Mutex::new(0),
        }
    }

    /// Registers the Manual approval with an in-memory notifier, whose messages it returns.
    fn with_approvals(mut self) -> (Machine, Arc<MemoryNotifier>) {
        let notifier = Arc::new(MemoryNotifier::default());
        self.providers.register(
            ActionCategory::Approval,
            "AWS",
            "Manual",
            Arc::new(ManualApproval::with_notifier(ApprovalNotices {
                notifier: NotifierRef(notifier.clone()),
                region: "us-east-1".to_string(),
                links: review_links(),
            })),
        );
        (self, notifier)
    }

    fn token(&self, what: &str) -> String {
        let mut next = self.tokens.lock().unwrap();
        *next += 1;
        format!("token-{next}-{what}")
    }

    async fn put(&self, pipeline: Value) -> PipelineDeclaration {
        let declaration: PipelineDeclaration = serde_json::from_value(pipeline).unwrap();
        put_pipeline(&*self.ports, &declaration, &CompileOptions::default())
            .await
            .unwrap();
        declaration
    }

    async fn start(&self, pipeline: &str) -> PipelineExecution {
        start_execution(&*self.ports, pipeline, StartRequest::default())
            .await
            .unwrap()
    }

    async fn dispatch(&self, payload: Value) -> Result<Value, dispatcher::DispatchError> {
        dispatcher::handle(&*self.ports, payload).await
    }

    /// The machine's StageEnter for `stage`; returns its token.
    async fn enter(&self, execution: &PipelineExecution, stage: &str) -> String {
        let token = self.token(&format!("enter-{stage}"));
        self.dispatch(json!({
            "kind": PayloadKind::StageEnter.name(), "pipeline": execution.pipeline_name,
            "pipelineExecutionId": execution.pipeline_execution_id, "stage": stage, "token": token
        }))
        .await
        .unwrap();
        token
    }

    async fn exit(&self, execution: &PipelineExecution, stage: &str) {
        self.dispatch(json!({
            "kind": PayloadKind::StageExit.name(), "pipeline": execution.pipeline_name,
            "pipelineExecutionId": execution.pipeline_execution_id, "stage": stage
        }))
        .await
        .unwrap();
    }

    async fn failed(&self, execution: &PipelineExecution, stage: &str, error: &str, cause: &str) {
        self.dispatch(json!({
            "kind": PayloadKind::StageFailed.name(), "pipeline": execution.pipeline_name,
            "pipelineExecutionId": execution.pipeline_execution_id, "stage": stage,
            "error": {"Error": error, "Cause": cause}
        }))
        .await
        .unwrap();
    }

    async fn succeeded(&self, execution: &PipelineExecution) {
        self.dispatch(json!({
            "kind": PayloadKind::ExecutionSucceeded.name(), "pipeline": execution.pipeline_name,
            "pipelineExecutionId": execution.pipeline_execution_id
        }))
        .await
        .unwrap();
    }

    /// The machine's call of an action's worker in run `run` (the machine's execution name); returns
    /// the token and the recorded attempt.
    async fn act(
        &self,
        execution: &PipelineExecution,
        stage: &str,
        action: &str,
        run: &str,
    ) -> (String, ActionExecution) {
        let token = self.token(action);
        let recorded = worker::handle(
            &*self.ports,
            &self.providers,
            json!({
                "kind": PayloadKind::Action.name(), "pipeline": execution.pipeline_name,
                "pipelineExecutionId": execution.pipeline_execution_id, "stage": stage,
                "action": action, "token": token, "run": run
            }),
        )
        .await
        .unwrap();
        (token, recorded)
    }

    fn answer(&self, token: &str) -> Option<TaskAnswer> {
        self.ports.orchestrator.answer(token)
    }

    async fn execution(&self, execution: &PipelineExecution) -> PipelineExecution {
        self.ports
            .store
            .execution(&execution.pipeline_name, &execution.pipeline_execution_id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn stage_status(
        &self,
        execution: &PipelineExecution,
        stage: &str,
    ) -> Option<StageExecutionStatus> {
        self.ports
            .store
            .stage_executions(&execution.pipeline_name, &execution.pipeline_execution_id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.stage_name == stage)
            .map(|s| s.status)
    }
}

/// The key the approvals' links are signed with.
fn link_key() -> ApprovalKey {
    ApprovalKey::new(b"the approval links' key, 32 bytes and more".to_vec()).unwrap()
}

fn review_links() -> ReviewLinks {
    ReviewLinks::signed(
        PublicUrl::parse("https://ci.example.com/sluice").unwrap(),
        link_key(),
    )
}

/// The notifier behind an `Arc`, so the test keeps a handle on what was sent.
struct NotifierRef(Arc<MemoryNotifier>);

impl sluice_core::port::Notifier for NotifierRef {
    async fn publish(
        &self,
        topic: &str,
        message: &sluice_core::port::Message,
    ) -> Result<String, sluice_core::port::NotifyError> {
        self.0.publish(topic, message).await
    }
}

fn succeeded(answer: Option<TaskAnswer>) -> bool {
    matches!(answer, Some(TaskAnswer::Succeeded { .. }))
}

fn failed_with(answer: Option<TaskAnswer>) -> (String, String) {
    match answer {
        Some(TaskAnswer::Failed { error, cause }) => (error, cause),
        other => panic!("expected a failed task, got {other:?}"),
    }
}

/// Source (an S3 source with output `Src`) → Build (CodeBuild `Compile` and `Lint` side by side, reading
/// `Src`) → Deploy (S3 `Ship`), in `mode`.
fn pipeline(name: &str, mode: &str) -> Value {
    json!({
        "name": name, "roleArn": "arn:aws:iam::123456789012:role/p", "pipelineType": "V2",
        "executionMode": mode,
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "variables": [{"name": "Env", "defaultValue": "staging"}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch", "namespace": "SourceVariables",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "incoming", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "Src"}]
            }]},
            {"name": "Build", "actions": [
                {"name": "Compile", "namespace": "BuildVariables",
                 "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                 "configuration": {"ProjectName": "compile"},
                 "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Bin"}]},
                {"name": "Lint",
                 "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                 "configuration": {"ProjectName": "lint"},
                 "inputArtifacts": [{"name": "Src"}]}
            ]},
            {"name": "Deploy", "actions": [{
                "name": "Ship",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {
                    "BucketName": "site-#{variables.Env}", "Extract": "true",
                    "ObjectKey": "#{BuildVariables.Version}/#{codepipeline.PipelineExecutionId}/#{SourceVariables.ETag}"
                },
                "inputArtifacts": [{"name": "Bin"}]
            }]}
        ]
    })
}

/// Runs an execution through Source and into Build (the Build stage's lock held, its actions not run).
async fn into_build(machine: &Machine, name: &str) -> PipelineExecution {
    let execution = machine.start(name).await;
    let id = execution.pipeline_execution_id.clone();
    let entry = machine.enter(&execution, "Source").await;
    assert!(succeeded(machine.answer(&entry)));
    let (fetch, _) = machine.act(&execution, "Source", "Fetch", &id).await;
    assert!(succeeded(machine.answer(&fetch)));
    machine.exit(&execution, "Source").await;
    let entry = machine.enter(&execution, "Build").await;
    assert!(succeeded(machine.answer(&entry)), "{name}: Build is free");
    execution
}

#[tokio::test]
async fn superseded_mode_lets_the_newest_waiting_execution_in_and_supersedes_the_one_it_passed() {
    let machine = Machine::new();
    machine.put(pipeline("p", "SUPERSEDED")).await;
    let first = into_build(&machine, "p").await;
    let second = machine.start("p").await;
    let third = machine.start("p").await;
    let second_entry = machine.enter(&second, "Build").await;
    assert_eq!(
        machine.answer(&second_entry),
        None,
        "Build is locked: the second waits"
    );
    let third_entry = machine.enter(&third, "Build").await;
    let (error, cause) = failed_with(machine.answer(&second_entry));
    assert_eq!(error, SUPERSEDED_ERROR);
    assert!(cause.contains(&third.pipeline_execution_id), "{cause}");
    assert_eq!(
        machine.execution(&second).await.status,
        PipelineExecutionStatus::Superseded
    );
    assert_eq!(
        machine.answer(&third_entry),
        None,
        "the first still holds Build"
    );

    machine.exit(&first, "Build").await;
    assert!(
        succeeded(machine.answer(&third_entry)),
        "the first left: the newest enters"
    );
    assert_eq!(
        machine.stage_status(&third, "Build").await,
        Some(StageExecutionStatus::InProgress)
    );
}

#[tokio::test]
async fn queued_mode_lets_waiting_executions_in_in_the_order_they_came() {
    let machine = Machine::new();
    machine.put(pipeline("q", "QUEUED")).await;
    let first = into_build(&machine, "q").await;
    let second = machine.start("q").await;
    let third = machine.start("q").await;
    let second_entry = machine.enter(&second, "Build").await;
    let third_entry = machine.enter(&third, "Build").await;
    assert_eq!(machine.answer(&second_entry), None);
    assert_eq!(machine.answer(&third_entry), None, "queued, not superseded");

    machine.exit(&first, "Build").await;
    assert!(succeeded(machine.answer(&second_entry)));
    assert_eq!(machine.answer(&third_entry), None, "one at a time");
    machine.exit(&second, "Build").await;
    assert!(succeeded(machine.answer(&third_entry)));
    assert_eq!(
        machine.execution(&second).await.status,
        PipelineExecutionStatus::InProgress
    );
}

#[tokio::test]
async fn parallel_mode_lets_every_execution_in_at_once() {
    let machine = Machine::new();
    machine.put(pipeline("par", "PARALLEL")).await;
    let _first = into_build(&machine, "par").await;
    let second = machine.start("par").await;
    let third = machine.start("par").await;
    assert!(succeeded(
        machine.answer(&machine.enter(&second, "Build").await)
    ));
    assert!(succeeded(
        machine.answer(&machine.enter(&third, "Build").await)
    ));
}

#[tokio::test]
async fn a_disabled_transition_holds_executions_until_it_is_enabled() {
    let machine = Machine::new();
    machine.put(pipeline("t", "SUPERSEDED")).await;
    disable_transition(
        &*machine.ports,
        "t",
        "Deploy",
        TransitionType::Inbound,
        "change freeze",
    )
    .await
    .unwrap();
    let execution = into_build(&machine, "t").await;
    machine.exit(&execution, "Build").await;
    let entry = machine.enter(&execution, "Deploy").await;
    assert_eq!(machine.answer(&entry), None, "the transition is disabled");
    let (gate, _) = machine.ports.store.gate("t", "Deploy").await.unwrap();
    assert_eq!(gate.disabled_reason.as_deref(), Some("change freeze"));

    enable_transition(&*machine.ports, "t", "Deploy", TransitionType::Inbound)
        .await
        .unwrap();
    assert!(succeeded(machine.answer(&entry)), "enabled: it enters");
}

#[tokio::test]
async fn stop_lets_running_actions_finish_and_starts_no_stage_while_abandon_ends_them_now() {
    let machine = Machine::new();
    machine.put(pipeline("s", "PARALLEL")).await;
    let stopping = into_build(&machine, "s").await;
    let stopped = stop_execution(
        &*machine.ports,
        "s",
        &stopping.pipeline_execution_id,
        false,
        Some("not today"),
    )
    .await
    .unwrap();
    assert_eq!(stopped.status, PipelineExecutionStatus::Stopping);
    assert!(matches!(
        stop_execution(
            &*machine.ports,
            "s",
            &stopping.pipeline_execution_id,
            false,
            None
        )
        .await,
        Err(ExecutionError::DuplicatedStop(_))
    ));
    let id = stopping.pipeline_execution_id.clone();
    let (token, attempt) = machine.act(&stopping, "Build", "Compile", &id).await;
    assert_eq!(attempt.status, ActionExecutionStatus::Failed);
    assert_eq!(failed_with(machine.answer(&token)).0, STOPPED_ERROR);
    assert_eq!(machine.scripted.runs("Compile"), 0, "no new action starts");

    // Abandon: the action in progress is marked Abandoned and the machine is stopped now.
    let (machine2, _) = Machine::new().with_approvals();
    let mut waiting = pipeline("a", "PARALLEL");
    waiting["stages"][1]["actions"][1] = json!({
        "name": "Hold", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
    });
    machine2.put(waiting).await;
    let execution = into_build(&machine2, "a").await;
    let id = execution.pipeline_execution_id.clone();
    let (_, held) = machine2.act(&execution, "Build", "Hold", &id).await;
    assert_eq!(held.status, ActionExecutionStatus::InProgress);
    let ended = stop_execution(&*machine2.ports, "a", &id, true, Some("abandon"))
        .await
        .unwrap();
    assert_eq!(ended.status, PipelineExecutionStatus::Stopped);
    let attempts = machine2
        .ports
        .store
        .action_executions("a", Some(&id))
        .await
        .unwrap();
    let hold = attempts.iter().find(|a| a.action_name == "Hold").unwrap();
    assert_eq!(hold.status, ActionExecutionStatus::Abandoned);
    let run = machine2
        .ports
        .orchestrator
        .run(execution.orchestration.as_deref().unwrap())
        .unwrap();
    assert_eq!(run.status, RunStatus::Aborted);
    assert_eq!(run.stopped.unwrap().0, STOPPED_ERROR);
}

/// An execution whose Build stage failed: Compile succeeded, Lint failed.
async fn failed_build(machine: &Machine) -> PipelineExecution {
    machine.put(pipeline("r", "SUPERSEDED")).await;
    machine
        .scripted
        .will("Lint", JobOutcome::job_failed("3 warnings"));
    let execution = into_build(machine, "r").await;
    let id = execution.pipeline_execution_id.clone();
    let (compile, _) = machine.act(&execution, "Build", "Compile", &id).await;
    assert!(succeeded(machine.answer(&compile)));
    let (lint, attempt) = machine.act(&execution, "Build", "Lint", &id).await;
    let (error, cause) = failed_with(machine.answer(&lint));
    assert_eq!(error, ACTION_FAILED_ERROR);
    assert_eq!(cause, "Action Lint failed: 3 warnings");
    assert_eq!(attempt.error_details.unwrap().code, "JobFailed");
    machine
        .failed(&execution, "Build", ACTION_FAILED_ERROR, &cause)
        .await;
    let failed = machine.execution(&execution).await;
    assert_eq!(failed.status, PipelineExecutionStatus::Failed);
    assert_eq!(
        machine.stage_status(&execution, "Build").await,
        Some(StageExecutionStatus::Failed)
    );
    failed
}

#[tokio::test]
async fn a_failed_actions_retry_runs_only_what_failed_and_an_all_actions_retry_runs_everything() {
    for (mode, compile_runs) in [("FAILED_ACTIONS", 1), ("ALL_ACTIONS", 2)] {
        let machine = Machine::new();
        let execution = failed_build(&machine).await;
        let id = execution.pipeline_execution_id.clone();
        machine
            .scripted
            .will("Lint", JobOutcome::Succeeded(JobSuccess::default()));
        let retried = retry_stage(&*machine.ports, "r", "Build", &id, mode)
            .await
            .unwrap();
        assert_eq!(retried.status, PipelineExecutionStatus::InProgress);
        let run_name = retry_run_name(&id, 1);
        let run = machine
            .ports
            .orchestrator
            .run(retried.orchestration.as_deref().unwrap())
            .unwrap();
        assert_eq!(run.name, run_name);
        assert_eq!(run.input["resumeFrom"], "Build");

        let entry = machine.enter(&retried, "Build").await;
        assert!(succeeded(machine.answer(&entry)));
        let (compile, kept) = machine.act(&retried, "Build", "Compile", &run_name).await;
        let (lint, again) = machine.act(&retried, "Build", "Lint", &run_name).await;
        assert!(succeeded(machine.answer(&compile)) && succeeded(machine.answer(&lint)));
        assert_eq!(machine.scripted.runs("Compile"), compile_runs, "{mode}");
        assert_eq!(machine.scripted.runs("Lint"), 2, "{mode}");
        assert_eq!(again.attempt, 1, "{mode}");
        assert_eq!(
            kept.attempt,
            if compile_runs == 1 { 0 } else { 1 },
            "{mode}"
        );
        // A retry of a stage that has not failed is refused.
        assert!(matches!(
            retry_stage(&*machine.ports, "r", "Build", &id, mode).await,
            Err(ExecutionError::Conflict(_))
        ));
    }
}

/// A pipeline whose second stage is a Manual approval with a topic.
async fn approval_pipeline(machine: &Machine) -> (PipelineExecution, String, ActionExecution) {
    let mut declared = pipeline("ap", "SUPERSEDED");
    declared["stages"][1] = json!({"name": "Approve", "actions": [{
        "name": "Gate",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": {"NotificationArn": TOPIC, "CustomData": "release #{variables.Env}?"}
    }]});
    machine.put(declared).await;
    let execution = machine.start("ap").await;
    let id = execution.pipeline_execution_id.clone();
    machine.enter(&execution, "Source").await;
    machine.act(&execution, "Source", "Fetch", &id).await;
    machine.exit(&execution, "Source").await;
    machine.enter(&execution, "Approve").await;
    let (token, waiting) = machine.act(&execution, "Approve", "Gate", &id).await;
    assert_eq!(waiting.status, ActionExecutionStatus::InProgress);
    assert_eq!(machine.answer(&token), None, "an approval waits");
    (execution, token, waiting)
}

#[tokio::test]
async fn an_approval_is_announced_and_waits_then_approval_resumes_the_machine() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    let sent = notifier.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, TOPIC);
    assert!(
        sent[0].1.body.contains("release staging?"),
        "CustomData, resolved: {}",
        sent[0].1.body
    );
    let listed = waiting_approvals(&*machine.ports, "ap", "Approve", "Gate")
        .await
        .unwrap();
    assert_eq!(listed[0].action_execution_id, waiting.action_execution_id);

    put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Approved,
        "looks good",
    )
    .await
    .unwrap();
    assert!(succeeded(machine.answer(&token)));
    let again = put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Rejected,
        "",
    )
    .await;
    assert!(
        matches!(again, Err(ApprovalError::AlreadyCompleted { ref status, .. }) if status == "Succeeded"),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_rejected_approval_fails_the_action_with_the_reviewers_summary() {
    let (machine, _) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Rejected,
        "not this week",
    )
    .await
    .unwrap();
    let (error, cause) = failed_with(machine.answer(&token));
    assert_eq!(error, ACTION_FAILED_ERROR);
    assert_eq!(cause, "Action Gate failed: Rejected: not this week");
    let wrong_token = put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        "00000000-0000-4000-8000-00000000ffff",
        ApprovalStatus::Approved,
        "",
    )
    .await;
    assert!(matches!(
        wrong_token,
        Err(ApprovalError::InvalidToken { .. })
    ));
}

#[tokio::test]
async fn an_approval_that_times_out_fails_and_can_no_longer_be_decided() {
    let (machine, _) = Machine::new().with_approvals();
    let (execution, token, waiting) = approval_pipeline(&machine).await;
    // The task's timeout: the machine closes the token and fails the stage with States.Timeout.
    machine
        .ports
        .clock
        .advance(Duration::from_secs(7 * 24 * 3600));
    machine.ports.orchestrator.close_token(&token);
    machine
        .failed(&execution, "Approve", TIMEOUT_ERROR, "the task timed out")
        .await;
    let attempt = machine
        .ports
        .store
        .action_executions("ap", Some(&execution.pipeline_execution_id))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.action_name == "Gate")
        .unwrap();
    assert_eq!(attempt.status, ActionExecutionStatus::Failed);
    assert_eq!(
        attempt.last_update_time,
        sluice_core::port::Clock::now(&machine.ports.clock),
        "recorded at the manual clock's time"
    );
    let late = put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Approved,
        "",
    )
    .await;
    assert!(
        matches!(late, Err(ApprovalError::AlreadyCompleted { .. })),
        "{late:?}"
    );
    assert_eq!(
        machine.execution(&execution).await.status,
        PipelineExecutionStatus::Failed
    );
}

#[tokio::test]
async fn variables_resolve_across_namespaces_pipeline_variables_and_the_execution_id() {
    let machine = Machine::new();
    machine.put(pipeline("v", "SUPERSEDED")).await;
    let mut fetched = BTreeMap::new();
    fetched.insert("ETag".to_string(), "abc123".to_string());
    machine.scripted.will(
        "Fetch",
        JobOutcome::Succeeded(JobSuccess {
            output_variables: fetched,
            ..JobSuccess::default()
        }),
    );
    let mut built = BTreeMap::new();
    built.insert("Version".to_string(), "1.4.2".to_string());
    machine.scripted.will(
        "Compile",
        JobOutcome::Succeeded(JobSuccess {
            output_variables: built,
            ..JobSuccess::default()
        }),
    );
    let execution = into_build(&machine, "v").await;
    let id = execution.pipeline_execution_id.clone();
    machine.act(&execution, "Build", "Compile", &id).await;
    machine.act(&execution, "Build", "Lint", &id).await;
    machine.exit(&execution, "Build").await;
    machine.enter(&execution, "Deploy").await;
    let (token, attempt) = machine.act(&execution, "Deploy", "Ship", &id).await;
    assert!(succeeded(machine.answer(&token)));
    let job = machine.scripted.last_job("Ship");
    assert_eq!(job.configuration["BucketName"], "site-staging");
    assert_eq!(job.configuration["ObjectKey"], format!("1.4.2/{id}/abc123"));
    assert_eq!(
        attempt.resolved_configuration["ObjectKey"],
        format!("1.4.2/{id}/abc123")
    );
    machine.exit(&execution, "Deploy").await;
    machine.succeeded(&execution).await;
    assert_eq!(
        machine.execution(&execution).await.status,
        PipelineExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn failures_record_their_sluice_error_names() {
    let machine = Machine::new();
    machine.put(pipeline("f", "SUPERSEDED")).await;

    // An action whose type no provider runs: a configuration error, answered as Sluice.ActionFailed.
    let mut unknown = pipeline("u", "SUPERSEDED");
    unknown["stages"][0]["actions"][0]["actionTypeId"]["provider"] = json!("CodeCommit");
    machine.put(unknown).await;
    let execution = machine.start("u").await;
    let id = execution.pipeline_execution_id.clone();
    machine.enter(&execution, "Source").await;
    let (token, attempt) = machine.act(&execution, "Source", "Fetch", &id).await;
    let (error, cause) = failed_with(machine.answer(&token));
    assert_eq!(error, ACTION_FAILED_ERROR);
    assert!(
        cause.contains("which Sluice cannot run here yet"),
        "{cause}"
    );
    assert_eq!(attempt.error_details.unwrap().code, "ConfigurationError");

    // A reference nothing defines fails the action before its provider runs.
    let mut dangling = pipeline("d", "SUPERSEDED");
    dangling["stages"][1]["actions"][0]["configuration"]["ProjectName"] = json!("#{Nowhere.Key}");
    machine.put(dangling).await;
    let execution = into_build(&machine, "d").await;
    let id = execution.pipeline_execution_id.clone();
    let (token, attempt) = machine.act(&execution, "Build", "Compile", &id).await;
    let (error, cause) = failed_with(machine.answer(&token));
    assert_eq!(error, ACTION_FAILED_ERROR);
    assert!(cause.contains("Nowhere.Key"), "{cause}");
    assert_eq!(attempt.status, ActionExecutionStatus::Failed);
    assert_eq!(machine.scripted.runs("Compile"), 0);

    // A malformed dispatcher event, and a step about an execution that does not exist.
    let bad = machine
        .dispatch(json!({"kind": "StageEnter"}))
        .await
        .unwrap_err();
    assert_eq!(bad.error_type(), DISPATCH_FAILED_ERROR);
    let missing = machine
        .dispatch(json!({
            "kind": "StageExit", "pipeline": "f",
            "pipelineExecutionId": "00000000-0000-4000-8000-0000000000aa", "stage": "Build"
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.error_type(), DISPATCH_FAILED_ERROR);

    // A malformed worker call.
    let worker_error = worker::handle(&*machine.ports, &machine.providers, json!({"stage": 1}))
        .await
        .unwrap_err();
    assert_eq!(worker_error.error_type(), WORKER_FAILED_ERROR);

    // A stage that no longer starts: the execution was stopped.
    let execution = machine.start("f").await;
    stop_execution(
        &*machine.ports,
        "f",
        &execution.pipeline_execution_id,
        false,
        None,
    )
    .await
    .unwrap();
    let entry = machine.enter(&execution, "Source").await;
    assert_eq!(failed_with(machine.answer(&entry)).0, STOPPED_ERROR);

    // The orchestrator's run of each started execution was recorded under the machine put_pipeline
    // deployed.
    let definition = machine.ports.orchestrator.definition("machine:f").unwrap();
    assert!(definition["States"].is_object());
}

#[tokio::test]
async fn the_in_memory_store_keeps_the_store_contract() {
    sluice_core::contract::store_contract(&sluice_core::memory::MemoryStore::default()).await;
}

#[tokio::test]
async fn the_in_memory_scheduler_keeps_the_scheduler_contract() {
    sluice_core::contract::scheduler_contract(&sluice_core::memory::MemoryScheduler::default())
        .await;
}

#[tokio::test]
async fn the_recording_orchestrator_accepts_one_answer_per_token() {
    let ports = MemoryPorts::default();
    let orchestrator = &ports.orchestrator;
    orchestrator.task_succeeded("t", &json!({})).await.unwrap();
    assert!(orchestrator.task_failed("t", "E", "c").await.is_err());
    assert!(orchestrator.task_heartbeat("t").await.is_err());
    orchestrator.close_token("u");
    assert!(orchestrator.task_succeeded("u", &json!({})).await.is_err());
    assert_eq!(orchestrator.answers().len(), 1);
}

/// The machine's first step for an execution an EventBridge rule started: no record exists yet.
fn triggered_start(pipeline: &str, id: &str, machine: &str) -> Value {
    json!({
        "kind": PayloadKind::ExecutionStarted.name(), "pipeline": pipeline, "pipelineExecutionId": id,
        "execution": machine,
        "input": {"pipeline": pipeline, "pipelineExecutionId": id,
                  "trigger": {"triggerType": "CloudWatchEvent", "triggerDetail": "arn:aws:events:us-east-1:123456789012:rule/r"}}
    })
}

#[tokio::test]
async fn a_rule_start_is_recorded_once_a_second_delivery_is_a_duplicate_and_one_that_cannot_run_fails()
 {
    let machine = Machine::new();
    machine.put(pipeline("e", "SUPERSEDED")).await;
    let id = "00000000-0000-4000-8000-0000000000e1";
    machine
        .dispatch(triggered_start("e", id, "run-1"))
        .await
        .unwrap();
    let recorded = machine
        .ports
        .store
        .execution("e", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.trigger.trigger_type, "CloudWatchEvent");
    assert_eq!(recorded.orchestration.as_deref(), Some("run-1"));
    machine
        .dispatch(triggered_start("e", id, "run-1"))
        .await
        .expect("the same machine's step run again");
    let duplicate = machine
        .dispatch(triggered_start("e", id, "run-2"))
        .await
        .unwrap_err();
    assert_eq!(duplicate.error_type(), DUPLICATE_START_ERROR);

    // A declared variable without a default cannot be given by a rule: the execution is recorded Failed.
    let mut needs = pipeline("n", "SUPERSEDED");
    needs["variables"] = json!([{"name": "Env"}]);
    machine.put(needs).await;
    let id = "00000000-0000-4000-8000-0000000000e2";
    let cannot = machine
        .dispatch(triggered_start("n", id, "run-3"))
        .await
        .unwrap_err();
    assert_eq!(cannot.error_type(), START_FAILED_ERROR);
    let failed = machine
        .ports
        .store
        .execution("n", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, PipelineExecutionStatus::Failed);
    assert!(
        failed
            .status_summary
            .unwrap()
            .contains("has no default value"),
        "the record says why"
    );
}

/// The in-memory ports with a store that fails on purpose.
struct Faulty {
    ports: MemoryPorts,
    store: FaultyStore<MemoryStore>,
}

impl sluice_core::port::Ports for Faulty {
    type Store = FaultyStore<MemoryStore>;
    type Orchestrator = sluice_core::memory::MemoryOrchestrator;
    type Artifacts = sluice_core::memory::MemoryArtifacts;
    type Events = sluice_core::memory::MemoryEvents;
    type Scheduler = sluice_core::memory::MemoryScheduler;
    fn store(&self) -> &Self::Store {
        &self.store
    }
    fn orchestrator(&self) -> &Self::Orchestrator {
        &self.ports.orchestrator
    }
    fn artifacts(&self) -> &Self::Artifacts {
        &self.ports.artifacts
    }
    fn events(&self) -> &Self::Events {
        &self.ports.events
    }
    fn scheduler(&self) -> &Self::Scheduler {
        &self.ports.scheduler
    }
    fn clock(&self) -> &dyn sluice_core::port::Clock {
        &self.ports.clock
    }
    fn ids(&self) -> &dyn sluice_core::port::Ids {
        &self.ports.ids
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_that_keeps_failing_fails_the_step_as_transient_for_the_machine_to_retry() {
    let store = Arc::new(MemoryStore::default());
    let faulty = Faulty {
        ports: MemoryPorts::default(),
        // While on, every call fails before it is made.
        store: FaultyStore::new(
            store,
            7,
            FaultRates {
                before: 1.0,
                after: 0.0,
            },
        ),
    };
    faulty.store.set_failing(false);
    let declaration: PipelineDeclaration =
        serde_json::from_value(pipeline("x", "SUPERSEDED")).unwrap();
    put_pipeline(&faulty, &declaration, &CompileOptions::default())
        .await
        .unwrap();
    let execution = start_execution(&faulty, "x", StartRequest::default())
        .await
        .unwrap();
    faulty.store.set_failing(true);
    let enter = json!({
        "kind": PayloadKind::StageEnter.name(), "pipeline": "x",
        "pipelineExecutionId": execution.pipeline_execution_id, "stage": "Source", "token": "t-1"
    });
    let error = dispatcher::handle(&faulty, enter.clone())
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), TRANSIENT_ERROR);
    let act = json!({
        "pipeline": "x", "pipelineExecutionId": execution.pipeline_execution_id,
        "stage": "Source", "action": "Fetch", "token": "t-2"
    });
    let error = worker::handle(&faulty, &Providers::default(), act)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), TRANSIENT_ERROR);
    // Once the store answers again, the machine's retry of the step goes through.
    faulty.store.set_failing(false);
    dispatcher::handle(&faulty, enter).await.unwrap();
    assert!(succeeded(faulty.ports.orchestrator.answer("t-1")));
}

mod rules {
    use sluice_core::memory::MemoryScheduler;
    use sluice_core::port::Scheduler;
    use sluice_core::trigger::Trigger;
    use sluice_core::usecase::rule::{
        ScheduleRule, restore_rule_triggers, sync_rule_triggers, triggers_of,
    };

    fn daily(enabled: bool, pipelines: &[&str]) -> ScheduleRule {
        ScheduleRule {
            name: "DailyPipelineTrigger".to_string(),
            schedule_expression: Some("cron(0 2 * * ? *)".to_string()),
            enabled,
            pipelines: pipelines.iter().map(|p| p.to_string()).collect(),
        }
    }

    async fn all(scheduler: &MemoryScheduler) -> Vec<Trigger> {
        let mut found = Vec::new();
        for pipeline in ["A", "B"] {
            found.extend(scheduler.triggers(pipeline).await.unwrap());
        }
        found
    }

    #[test]
    fn an_enabled_schedule_rule_is_a_trigger_of_each_pipeline_it_targets() {
        assert_eq!(
            triggers_of(&daily(true, &["A", "B"])),
            [
                Trigger::of_rule("A", "DailyPipelineTrigger", "cron(0 2 * * ? *)"),
                Trigger::of_rule("B", "DailyPipelineTrigger", "cron(0 2 * * ? *)"),
            ]
        );
        assert_eq!(triggers_of(&daily(false, &["A"])), []);
        assert_eq!(triggers_of(&daily(true, &[])), []);
        let no_schedule = ScheduleRule {
            schedule_expression: None,
            ..daily(true, &["A"])
        };
        assert_eq!(triggers_of(&no_schedule), []);
    }

    #[tokio::test]
    async fn syncing_a_rule_puts_its_triggers_and_deletes_what_it_no_longer_stands_for() {
        let scheduler = MemoryScheduler::default();
        let tag = Trigger::schedule("A", "schedule", "rate(1 day)");
        scheduler.put_trigger(&tag).await.unwrap();

        let put = sync_rule_triggers(&scheduler, &[], Some(&daily(true, &["A", "B"])))
            .await
            .unwrap();
        assert_eq!(put.len(), 2);
        assert_eq!(all(&scheduler).await.len(), 3);

        // A target removed: its pipeline's trigger goes, the other stays, the tag's trigger is untouched.
        let kept = sync_rule_triggers(&scheduler, &put, Some(&daily(true, &["B"])))
            .await
            .unwrap();
        let mut left = all(&scheduler).await;
        left.sort_by(|a, b| (&a.pipeline, &a.name).cmp(&(&b.pipeline, &b.name)));
        assert_eq!(left, [tag.clone(), kept[0].clone()]);

        // Disabled, then enabled again.
        let none = sync_rule_triggers(&scheduler, &kept, Some(&daily(false, &["B"])))
            .await
            .unwrap();
        assert_eq!(none, []);
        assert_eq!(all(&scheduler).await, std::slice::from_ref(&tag));
        sync_rule_triggers(&scheduler, &[], Some(&daily(true, &["B"])))
            .await
            .unwrap();
        assert_eq!(all(&scheduler).await.len(), 2);

        // Deleted.
        sync_rule_triggers(&scheduler, &triggers_of(&daily(true, &["B"])), None)
            .await
            .unwrap();
        assert_eq!(all(&scheduler).await, [tag]);
    }

    #[tokio::test]
    async fn a_pipeline_created_again_gets_the_triggers_of_the_rules_that_target_it() {
        let scheduler = MemoryScheduler::default();
        let rules = [
            daily(true, &["A", "B"]),
            ScheduleRule {
                name: "Off".to_string(),
                ..daily(false, &["A"])
            },
        ];
        restore_rule_triggers(&scheduler, "A", &rules)
            .await
            .unwrap();
        assert_eq!(
            scheduler.triggers("A").await.unwrap(),
            [Trigger::of_rule(
                "A",
                "DailyPipelineTrigger",
                "cron(0 2 * * ? *)"
            )]
        );
        assert_eq!(
            scheduler.triggers("B").await.unwrap(),
            [],
            "only pipeline A's"
        );
    }
}

// ------------------------------------------------------------------------------- the approval page

/// The link token of the notification's approvalReviewLink (its last path segment).
fn notified_link(notifier: &MemoryNotifier) -> (String, String) {
    let sent = notifier.sent();
    let body: Value = serde_json::from_str(&sent.last().unwrap().1.body).unwrap();
    let review = body["approval"]["approvalReviewLink"]
        .as_str()
        .unwrap()
        .to_string();
    let link = review.rsplit('/').next().unwrap().to_string();
    (review, link)
}

fn page_request(link: &str) -> PageRequest<'_> {
    PageRequest {
        pipeline: "ap",
        stage: "Approve",
        action: "Gate",
        link,
    }
}

/// The form a reviewer sends from `page`: the page's own hidden fields, with `decision` and a name.
fn filled<'a>(page: &'a ApprovalPage, decision: &'a str) -> PageForm<'a> {
    let PageState::Waiting { form } = &page.state else {
        panic!("the page offers no form: {:?}", page.state);
    };
    PageForm {
        decision: Some(decision),
        summary: Some("checked staging"),
        name: Some("Ada Lovelace"),
        nonce: Some(&form.nonce),
        form_token: Some(&form.token),
    }
}

async fn attempt_of(machine: &Machine, waiting: &ActionExecution) -> ActionExecution {
    machine
        .ports
        .store
        .action_executions("ap", Some(&waiting.pipeline_execution_id))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.action_execution_id == waiting.action_execution_id)
        .unwrap()
}

const REVIEWER: Option<std::net::IpAddr> =
    Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)));

#[tokio::test]
async fn the_notification_and_the_state_link_to_the_same_signed_page_expiring_with_the_approval() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, _, waiting) = approval_pipeline(&machine).await;
    let (review, link) = notified_link(&notifier);
    let stored = machine.ports.store.pipeline("ap").await.unwrap().unwrap();
    assert_eq!(
        attempt_review_link(&review_links(), &stored.declaration, &waiting),
        Some(review.clone()),
        "GetPipelineState's externalExecutionUrl is the notification's link"
    );
    assert!(
        review.starts_with("https://ci.example.com/sluice/view/ap/Approve/Gate/approve/"),
        "{review}"
    );
    let verified = verify(&link_key(), "ap", "Approve", "Gate", &link).unwrap();
    assert_eq!(verified.token, waiting.action_execution_id);
    assert_eq!(verified.execution_id, waiting.pipeline_execution_id);
    // A Manual approval waits 7 days unless it says otherwise.
    assert_eq!(
        verified.expires.epoch_millis() - waiting.start_time.epoch_millis(),
        7 * 24 * 3600 * 1000
    );
    assert_eq!(
        attempt_review_link(
            &ReviewLinks::unsigned(PublicUrl::parse("http://h").unwrap()),
            &stored.declaration,
            &waiting
        ),
        None,
        "no key, no page to link to"
    );
}

#[tokio::test]
async fn viewing_the_page_changes_nothing_however_often_it_is_fetched() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    let (_, link) = notified_link(&notifier);
    let events = machine.ports.events.published().len();
    let first = page::view(&*machine.ports, &link_key(), &page_request(&link))
        .await
        .unwrap();
    let second = page::view(&*machine.ports, &link_key(), &page_request(&link))
        .await
        .unwrap();
    let (PageState::Waiting { form: one }, PageState::Waiting { form: two }) =
        (&first.state, &second.state)
    else {
        panic!("{:?}", first.state);
    };
    assert_ne!(one.nonce, two.nonce, "each page its own nonce");
    assert_eq!(first.custom_data.as_deref(), Some("release staging?"));
    assert_eq!(first.execution_id, waiting.pipeline_execution_id);
    assert_eq!(first.sources[0].action, "Fetch");
    assert_eq!(attempt_of(&machine, &waiting).await, waiting);
    assert_eq!(machine.answer(&token), None);
    assert_eq!(machine.ports.events.published().len(), events, "no event");
    assert!(
        machine
            .ports
            .store
            .resource(DECISION_KIND, &waiting.action_execution_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_decision_on_the_page_resumes_the_machine_and_records_who_and_a_second_is_refused() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    let (_, link) = notified_link(&notifier);
    let request = page_request(&link);
    let shown = page::view(&*machine.ports, &link_key(), &request)
        .await
        .unwrap();
    let (after, submitted) = page::submit(
        &*machine.ports,
        &link_key(),
        &request,
        &filled(&shown, "approve"),
        REVIEWER,
    )
    .await
    .unwrap();
    assert_eq!(submitted, Submitted::Recorded);
    assert!(succeeded(machine.answer(&token)));
    let decided = attempt_of(&machine, &waiting).await;
    assert_eq!(decided.status, ActionExecutionStatus::Succeeded);
    assert_eq!(decided.summary.as_deref(), Some("checked staging"));
    assert_eq!(
        decided.last_updated_by.as_deref(),
        Some("Ada Lovelace (192.0.2.7)")
    );
    let PageState::Decided(decision) = &after.state else {
        panic!("{:?}", after.state);
    };
    assert_eq!(decision.status, ApprovalStatus::Approved);
    assert_eq!(decision.reviewer.as_ref().unwrap().name, "Ada Lovelace");

    // The same form again (a double click, a reload), and a rejection from a page loaded before.
    for decision in ["approve", "reject"] {
        let (again, submitted) = page::submit(
            &*machine.ports,
            &link_key(),
            &request,
            &filled(&shown, decision),
            REVIEWER,
        )
        .await
        .unwrap();
        assert_eq!(submitted, Submitted::AlreadyDecided, "{decision}");
        assert_eq!(again.state, after.state);
        assert_eq!(attempt_of(&machine, &waiting).await, decided);
    }
    let through_the_api = put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Rejected,
        "",
    )
    .await;
    assert!(
        matches!(through_the_api, Err(ApprovalError::AlreadyCompleted { .. })),
        "{through_the_api:?}"
    );
}

#[tokio::test]
async fn a_form_without_its_token_or_with_another_pages_or_bad_fields_changes_nothing() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    let (_, link) = notified_link(&notifier);
    let request = page_request(&link);
    let shown = page::view(&*machine.ports, &link_key(), &request)
        .await
        .unwrap();
    let good = filled(&shown, "approve");
    let cases: Vec<(PageForm<'_>, &str)> = vec![
        (
            PageForm {
                nonce: None,
                form_token: None,
                ..good
            },
            "no form token",
        ),
        (
            PageForm {
                form_token: Some("00"),
                ..good
            },
            "does not match",
        ),
        (
            PageForm {
                nonce: Some("another"),
                ..good
            },
            "does not match",
        ),
        (
            PageForm {
                decision: Some("maybe"),
                ..good
            },
            "must be approve or reject",
        ),
        (
            PageForm {
                decision: None,
                ..good
            },
            "no decision",
        ),
        (
            PageForm {
                name: Some("   "),
                ..good
            },
            "name (your name) is required",
        ),
        (
            PageForm {
                name: Some("Ada\u{7}"),
                ..good
            },
            "without control characters",
        ),
    ];
    let long_summary = "s".repeat(513);
    let long_name = "n".repeat(101);
    let mut cases = cases;
    cases.push((
        PageForm {
            summary: Some(&long_summary),
            ..good
        },
        "at most 512 characters",
    ));
    cases.push((
        PageForm {
            name: Some(&long_name),
            ..good
        },
        "at most 100 characters",
    ));
    for (form, why) in cases {
        let error = page::submit(&*machine.ports, &link_key(), &request, &form, REVIEWER)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(why), "{why}: {error}");
    }
    assert_eq!(attempt_of(&machine, &waiting).await, waiting);
    assert_eq!(machine.answer(&token), None);

    // A link with a later expiry, or on another approval's path, is refused before anything is read.
    let later = {
        let mut parts: Vec<&str> = link.split('.').collect();
        let expires = (parts[2].parse::<i64>().unwrap() + 1).to_string();
        parts[2] = &expires;
        parts.join(".")
    };
    let forged = page::view(&*machine.ports, &link_key(), &page_request(&later))
        .await
        .unwrap_err();
    assert!(
        matches!(forged, PageError::Link(LinkError::Forged)),
        "{forged:?}"
    );
    let elsewhere = PageRequest {
        action: "Other",
        ..request
    };
    let moved = page::view(&*machine.ports, &link_key(), &elsewhere)
        .await
        .unwrap_err();
    assert!(
        matches!(moved, PageError::Link(LinkError::Forged)),
        "{moved:?}"
    );
    let other_key = ApprovalKey::new(vec![9; 32]).unwrap();
    let foreign = page::view(&*machine.ports, &other_key, &request)
        .await
        .unwrap_err();
    assert!(
        matches!(foreign, PageError::Link(LinkError::Forged)),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn an_expired_link_decides_nothing_and_a_timed_out_approval_says_it_failed_without_a_decision()
 {
    let (machine, notifier) = Machine::new().with_approvals();
    let (execution, token, waiting) = approval_pipeline(&machine).await;
    let (_, link) = notified_link(&notifier);
    let request = page_request(&link);
    let shown = page::view(&*machine.ports, &link_key(), &request)
        .await
        .unwrap();
    machine
        .ports
        .clock
        .advance(Duration::from_secs(7 * 24 * 3600));
    let expired = page::view(&*machine.ports, &link_key(), &request)
        .await
        .unwrap();
    assert_eq!(expired.state, PageState::Expired);
    let (_, submitted) = page::submit(
        &*machine.ports,
        &link_key(),
        &request,
        &filled(&shown, "approve"),
        REVIEWER,
    )
    .await
    .unwrap();
    assert_eq!(submitted, Submitted::Closed);
    assert_eq!(attempt_of(&machine, &waiting).await, waiting);
    assert_eq!(machine.answer(&token), None);

    machine.ports.orchestrator.close_token(&token);
    machine
        .failed(&execution, "Approve", TIMEOUT_ERROR, "the task timed out")
        .await;
    let timed_out = page::view(&*machine.ports, &link_key(), &request)
        .await
        .unwrap();
    assert!(
        matches!(&timed_out.state, PageState::Closed { message, .. } if message.contains("did not finish within its timeout")),
        "{:?}",
        timed_out.state
    );
}

#[tokio::test]
async fn a_decision_recorded_but_not_carried_out_is_carried_out_by_the_next_request() {
    let (machine, notifier) = Machine::new().with_approvals();
    let (_, token, waiting) = approval_pipeline(&machine).await;
    let (_, link) = notified_link(&notifier);
    // A server that recorded a rejection and stopped before it answered the machine.
    let recorded = RecordedDecision {
        pipeline: "ap".to_string(),
        stage: "Approve".to_string(),
        action: "Gate".to_string(),
        status: ApprovalStatus::Rejected,
        summary: "not today".to_string(),
        reviewer: Some(Reviewer {
            name: "Grace".to_string(),
            address: None,
        }),
        decided: sluice_core::port::Clock::now(&machine.ports.clock),
    };
    machine
        .ports
        .store
        .put_resource(
            DECISION_KIND,
            &waiting.action_execution_id,
            &serde_json::to_value(&recorded).unwrap(),
            0,
        )
        .await
        .unwrap();
    let shown = page::view(&*machine.ports, &link_key(), &page_request(&link))
        .await
        .unwrap();
    assert_eq!(shown.state, PageState::Decided(recorded.clone()));
    let late = put_approval_result(
        &*machine.ports,
        "ap",
        "Approve",
        "Gate",
        &waiting.action_execution_id,
        ApprovalStatus::Approved,
        "",
    )
    .await;
    assert!(
        matches!(&late, Err(ApprovalError::AlreadyCompleted { status, .. }) if status == "Failed"),
        "{late:?}"
    );
    let (_, cause) = failed_with(machine.answer(&token));
    assert_eq!(cause, "Action Gate failed: Rejected: not today");
    assert_eq!(
        attempt_of(&machine, &waiting)
            .await
            .last_updated_by
            .as_deref(),
        Some("Grace")
    );
}
