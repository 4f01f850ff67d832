//! The local scheduler: the Scheduler contract over the SQLite store, and its cron on virtual time (a
//! manual clock moved by the test; nothing sleeps) starting real executions in the local runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use sluice_core::compile::CompileOptions;
use sluice_core::contract::scheduler_contract;
use sluice_core::pipeline::declaration::{ActionCategory, PipelineDeclaration};
use sluice_core::port::{
    ActionProvider, ExecutionStore, Ids, Job, JobOutcome, PipelineStore, Providers, ResourceStore,
    Scheduler,
};
use sluice_core::record::{ExecutionTrigger, PipelineExecution, PipelineExecutionStatus};
use sluice_core::system::SystemClock;
use sluice_core::time::{Timestamp, parse_timestamp};
use sluice_core::trigger::Trigger;
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_local::runtime::LocalRuntime;
use sluice_local::scheduler::{Firing, KIND, LocalScheduler, fires_locally};
use sluice_local::store::SqliteStore;
use sluice_statemachine::clock::ManualClock;

#[tokio::test]
async fn the_local_scheduler_keeps_the_scheduler_contract() {
    let scheduler = LocalScheduler::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(SystemClock),
    );
    scheduler_contract(&scheduler).await;
}

#[tokio::test]
async fn triggers_are_kept_in_the_store_file_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let nightly = Trigger::schedule("Flow", "nightly", "cron(0 2 * * ? *)");
    {
        let scheduler = LocalScheduler::new(
            Arc::new(SqliteStore::open(&path).unwrap()),
            Arc::new(SystemClock),
        );
        scheduler.put_trigger(&nightly).await.unwrap();
    }
    let reopened = LocalScheduler::new(
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SystemClock),
    );
    assert_eq!(reopened.triggers("Flow").await.unwrap(), [nightly]);
}

/// An approval that waits forever: an execution stays in progress, and the test reads its record.
struct Waits;

impl ActionProvider for Waits {
    fn run<'a>(&'a self, _job: &'a Job) -> Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async { JobOutcome::Waiting })
    }
}

/// UUIDs in sequence, so a test knows the next execution id.
#[derive(Default)]
struct Sequence(AtomicU64);

impl Ids for Sequence {
    fn uuid(&self) -> String {
        format!(
            "00000000-0000-4000-8000-{:012}",
            self.0.fetch_add(1, Ordering::SeqCst) + 1
        )
    }
    fn token(&self, len: usize) -> String {
        "x".repeat(len)
    }
}

fn nth_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn declaration() -> PipelineDeclaration {
    serde_json::from_value(json!({
        "name": "Flow",
        "roleArn": "arn:aws:iam::123456789012:role/p",
        "artifactStore": {"type": "S3", "location": "flow-artifacts"},
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [{"name": "Gate", "actions": [{
            "name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
        }]}]
    }))
    .unwrap()
}

fn at(text: &str) -> i64 {
    parse_timestamp(text).unwrap().epoch_millis()
}

struct Cron {
    runtime: LocalRuntime,
    clock: Arc<ManualClock>,
    scheduler: LocalScheduler<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Cron {
    /// A runtime at `start` with pipeline Flow, and its scheduler on the same store and clock.
    async fn start(start: &str) -> Cron {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at(start)));
        let runtime = LocalRuntime::open(
            dir.path(),
            clock.clone(),
            Arc::new(Sequence::default()),
            |_| {
                let mut providers = Providers::default();
                providers.register(ActionCategory::Approval, "AWS", "Manual", Arc::new(Waits));
                providers
            },
        )
        .await
        .unwrap();
        put_pipeline(&runtime.ports, &declaration(), &CompileOptions::default())
            .await
            .unwrap();
        let scheduler = LocalScheduler::new(
            runtime.ports.store.clone(),
            Arc::new(runtime.ports.clock.clone()),
        )
        .with_arns("eu-west-1", "111122223333");
        Cron {
            runtime,
            clock,
            scheduler,
            _dir: dir,
        }
    }

    fn advance_to(&self, time: &str) {
        let target = at(time);
        let now = sluice_statemachine::clock::Clock::now(self.clock.as_ref());
        assert!(target >= now, "time only moves forward");
        self.clock.advance(target - now);
    }

    /// One look; the executions it started, by id.
    async fn look(&self) -> Vec<Firing> {
        let look = self.scheduler.look(&self.runtime.ports).await.unwrap();
        assert!(look.problems.is_empty(), "{:?}", look.problems);
        look.fired.into_iter().map(|f| f.firing).collect()
    }

    async fn executions(&self) -> Vec<PipelineExecution> {
        self.runtime.ports.store.executions("Flow").await.unwrap()
    }
}

fn ts(text: &str) -> Timestamp {
    parse_timestamp(text).unwrap()
}

#[tokio::test]
async fn a_schedule_fires_at_its_time_and_once_for_all_the_times_missed() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let hourly = Trigger::schedule("Flow", "hourly", "cron(0 * * * ? *)");
    cron.scheduler.put_trigger(&hourly).await.unwrap();
    assert_eq!(cron.look().await, [], "nothing is due when it is put");
    cron.advance_to("2026-01-01T00:59:59Z");
    assert_eq!(cron.look().await, []);

    cron.advance_to("2026-01-01T01:00:00.200Z");
    let fired = cron.look().await;
    assert_eq!(
        fired,
        [Firing {
            scheduled: ts("2026-01-01T01:00:00Z"),
            decided: ts("2026-01-01T01:00:00.200Z"),
            execution_id: nth_uuid(1),
            started: true,
            error: None,
        }]
    );
    assert_eq!(
        cron.look().await,
        [],
        "a second look in the same minute fires nothing"
    );
    let executions = cron.executions().await;
    assert_eq!(executions.len(), 1);
    let execution = &executions[0];
    assert_eq!(execution.pipeline_execution_id, nth_uuid(1));
    assert_eq!(
        execution.trigger,
        ExecutionTrigger {
            trigger_type: "CloudWatchEvent".to_string(),
            trigger_detail: Some(
                "arn:aws:events:eu-west-1:111122223333:rule/sluice-Flow-hourly".to_string()
            ),
        },
        "a scheduled start is a CloudWatchEvent with the rule's ARN, as CodePipeline records it"
    );
    assert_eq!(execution.status, PipelineExecutionStatus::InProgress);
    assert!(
        execution.orchestration.is_some(),
        "the execution's machine was started"
    );

    // The machine is off from 01:00 to 06:17: five hourly times are missed, and fire once.
    cron.advance_to("2026-01-01T06:17:00Z");
    let fired = cron.look().await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].scheduled, ts("2026-01-01T06:00:00Z"));
    assert_eq!(cron.look().await, []);
    assert_eq!(cron.executions().await.len(), 2);
    assert_eq!(
        cron.scheduler
            .last_firing("Flow", "hourly")
            .await
            .unwrap()
            .map(|f| f.execution_id),
        Some(nth_uuid(2)),
        "the last decision is written down"
    );
}

#[tokio::test]
async fn a_rate_counts_from_when_the_trigger_was_put_and_restarts_when_it_changes() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let every_5 = Trigger::schedule("Flow", "often", "rate(5 minutes)");
    cron.scheduler.put_trigger(&every_5).await.unwrap();
    cron.advance_to("2026-01-01T00:05:29Z");
    assert_eq!(cron.look().await, []);
    cron.advance_to("2026-01-01T00:05:30Z");
    assert_eq!(cron.look().await[0].scheduled, ts("2026-01-01T00:05:30Z"));

    cron.advance_to("2026-01-01T00:07:00Z");
    cron.scheduler.put_trigger(&every_5).await.unwrap();
    cron.advance_to("2026-01-01T00:10:30Z");
    assert_eq!(
        cron.look().await[0].scheduled,
        ts("2026-01-01T00:10:30Z"),
        "putting the same trigger again keeps its count"
    );

    cron.advance_to("2026-01-01T00:11:00Z");
    let every_10 = Trigger::schedule("Flow", "often", "rate(10 minutes)");
    cron.scheduler.put_trigger(&every_10).await.unwrap();
    cron.advance_to("2026-01-01T00:20:59Z");
    assert_eq!(
        cron.look().await,
        [],
        "a changed rate counts from its change"
    );
    cron.advance_to("2026-01-01T00:21:00Z");
    assert_eq!(cron.look().await[0].scheduled, ts("2026-01-01T00:21:00Z"));
}

#[tokio::test]
async fn a_firing_decided_before_a_crash_is_started_by_the_next_look_with_its_id() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let hourly = Trigger::schedule("Flow", "hourly", "cron(0 * * * ? *)");
    cron.scheduler.put_trigger(&hourly).await.unwrap();
    // What a look that crashed after writing its decision left behind.
    let (_, version) = cron
        .runtime
        .ports
        .store
        .resource(KIND, "Flow/hourly")
        .await
        .unwrap()
        .unwrap();
    let decided = json!({
        "trigger": hourly,
        "anchor": 1767225630,
        "checkedUntil": 1767229200,
        "firing": {"scheduled": 1767229200, "decided": 1767229200, "executionId": "decided-before-the-crash", "started": false}
    });
    cron.runtime
        .ports
        .store
        .put_resource(KIND, "Flow/hourly", &decided, version)
        .await
        .unwrap();
    cron.advance_to("2026-01-01T01:00:05Z");
    let fired = cron.look().await;
    assert_eq!(fired.len(), 1, "the pending firing, and no new one");
    assert_eq!(
        (fired[0].execution_id.as_str(), fired[0].started),
        ("decided-before-the-crash", true)
    );
    let executions = cron.executions().await;
    assert_eq!(executions.len(), 1);
    assert_eq!(
        executions[0].pipeline_execution_id,
        "decided-before-the-crash"
    );
    assert_eq!(cron.look().await, []);
}

#[tokio::test]
async fn an_execution_recorded_before_a_crash_gets_its_machine_started_once() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let hourly = Trigger::schedule("Flow", "hourly", "cron(0 * * * ? *)");
    cron.scheduler.put_trigger(&hourly).await.unwrap();
    cron.advance_to("2026-01-01T01:00:00Z");
    // The crash came after the execution was recorded and before its machine started: the record exists
    // with the id the look is about to choose, and no orchestration.
    let pipeline = cron
        .runtime
        .ports
        .store
        .pipeline("Flow")
        .await
        .unwrap()
        .unwrap();
    let now = ts("2026-01-01T01:00:00Z");
    let recorded = PipelineExecution {
        pipeline_name: "Flow".to_string(),
        pipeline_version: pipeline.version(),
        pipeline_execution_id: nth_uuid(1),
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        execution_mode: pipeline.declaration.execution_mode(),
        trigger: ExecutionTrigger {
            trigger_type: "CloudWatchEvent".to_string(),
            trigger_detail: None,
        },
        variables: Default::default(),
        source_revisions: Vec::new(),
        orchestration: None,
        client_request_token: None,
        retry: None,
        start_time: now,
        last_update_time: now,
        record_version: 0,
    };
    cron.runtime
        .ports
        .store
        .create_execution(&recorded)
        .await
        .unwrap();
    let fired = cron.look().await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].error, None);
    let executions = cron.executions().await;
    assert_eq!(executions.len(), 1, "no second execution");
    assert!(
        executions[0].orchestration.is_some(),
        "the recorded execution's machine was started"
    );
}

#[tokio::test]
async fn a_firing_that_cannot_start_is_written_down_with_why_and_not_retried() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let orphan = Trigger::schedule("Gone", "hourly", "cron(0 * * * ? *)");
    cron.scheduler.put_trigger(&orphan).await.unwrap();
    cron.advance_to("2026-01-01T01:00:00Z");
    let fired = cron.look().await;
    assert_eq!(fired.len(), 1);
    assert!(fired[0].started);
    let error = fired[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("PipelineNotFoundException"),
        "the reason is kept: {error}"
    );
    assert_eq!(
        cron.scheduler.last_firing("Gone", "hourly").await.unwrap(),
        Some(fired[0].clone())
    );
    assert_eq!(cron.look().await, [], "not tried again");
}

#[tokio::test]
async fn ecr_triggers_are_kept_but_never_fire_here_and_s3_ones_are_left_to_the_source_watcher() {
    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let upload = Trigger::s3_object_created("Flow", "source-Upload", "bucket", "app.zip");
    let image = Trigger::ecr_image_pushed("Flow", "source-Image", "app", "latest");
    cron.scheduler.put_trigger(&upload).await.unwrap();
    cron.scheduler.put_trigger(&image).await.unwrap();
    assert!(fires_locally(&upload) && !fires_locally(&image));
    cron.advance_to("2026-01-02T00:00:00Z");
    let look = cron.scheduler.look(&cron.runtime.ports).await.unwrap();
    assert!(look.fired.is_empty());
    assert_eq!(look.inert, std::slice::from_ref(&image));
    assert!(cron.executions().await.is_empty());
    assert_eq!(
        cron.scheduler.triggers("Flow").await.unwrap(),
        [image, upload],
        "they are listed as put"
    );
}

/// An EventBridge rule made with PutRule and PutTargets on `sluice serve`, as the core turns it into
/// triggers: it fires on its schedule with the rule's own ARN, stops when disabled, and fires again when
/// enabled.
#[tokio::test]
async fn a_rule_of_its_own_fires_naming_the_rule_and_only_while_enabled() {
    use sluice_core::usecase::rule::{ScheduleRule, sync_rule_triggers};

    let cron = Cron::start("2026-01-01T00:00:30Z").await;
    let daily = ScheduleRule {
        name: "DailyPipelineTrigger".to_string(),
        schedule_expression: Some("cron(0 2 * * ? *)".to_string()),
        enabled: true,
        pipelines: ["Flow".to_string()].into(),
    };
    let put = sync_rule_triggers(&cron.scheduler, &[], Some(&daily))
        .await
        .unwrap();
    assert_eq!(cron.look().await, []);
    cron.advance_to("2026-01-01T02:00:00.100Z");
    let fired = cron.look().await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].scheduled, ts("2026-01-01T02:00:00Z"));
    let executions = cron.executions().await;
    assert_eq!(
        executions[0].trigger,
        ExecutionTrigger {
            trigger_type: "CloudWatchEvent".to_string(),
            trigger_detail: Some(
                "arn:aws:events:eu-west-1:111122223333:rule/DailyPipelineTrigger".to_string()
            ),
        },
        "the rule's own ARN, as CodePipeline records an execution the rule started"
    );

    let disabled = ScheduleRule {
        enabled: false,
        ..daily.clone()
    };
    sync_rule_triggers(&cron.scheduler, &put, Some(&disabled))
        .await
        .unwrap();
    assert_eq!(cron.scheduler.triggers("Flow").await.unwrap(), []);
    cron.advance_to("2026-01-02T02:00:00.100Z");
    assert_eq!(cron.look().await, [], "a disabled rule does not fire");

    sync_rule_triggers(&cron.scheduler, &[], Some(&daily))
        .await
        .unwrap();
    cron.advance_to("2026-01-03T02:00:00.100Z");
    assert_eq!(cron.look().await.len(), 1, "enabled again, it fires again");
    assert_eq!(cron.executions().await.len(), 2);
}
