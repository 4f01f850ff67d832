//! Triggers on one machine: the [`Scheduler`] port over the store's resources (kind `trigger`, id
//! `<pipeline>/<name>`), and an in-process cron that starts the executions schedules ask for.
//!
//! Each trigger's document holds the trigger, when it was put (a rate counts from then, as EventBridge's
//! does from a rule's creation), how far the cron has looked, and its last firing:
//! ```json
//! {"trigger": {...}, "anchor": 1767225600, "checkedUntil": 1767229200,
//!  "firing": {"scheduled": 1767229200, "decided": 1767229200.4, "executionId": "…", "started": true}}
//! ```
//!
//! The cron looks every few seconds. Each look is a window `(checkedUntil, now]`: a schedule with one or
//! more times in it fires once, stamped with the latest of them ([`due`]). After the machine was off for
//! hours, an hourly schedule fires once on restart, not once per hour missed. The decision (the window's
//! end and the firing with its execution id) is written before the execution starts, and the firing is
//! marked started after, so a crash in between is finished by the next look with the same execution id,
//! never started twice.
//!
//! S3 triggers fire through [`crate::watcher`], which sees a bucket folder's object created. There is no
//! ECR event source on one machine, so ECR triggers are kept and listed but never fire here
//! ([`fires_locally`]); `sluice serve` says so once per trigger. They are not refused: they are derived
//! from a pipeline's source actions, and refusing them would refuse pipelines that run locally from
//! StartPipelineExecution.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::port::{Clock, Ports, ResourceStore, Scheduler, SchedulerError, StoreError};
use sluice_core::problem::Coded;
use sluice_core::record::{ExecutionTrigger, LOCAL_ACCOUNT};
use sluice_core::schedule::Schedule;
use sluice_core::time::Timestamp;
use sluice_core::trigger::{FiresOn, Trigger, rule_name};
use sluice_core::usecase::execution::{ExecutionError, StartRequest, start_once};
use time::OffsetDateTime;

/// The resource kind triggers are kept under.
pub const KIND: &str = "trigger";
/// The rule-name prefix of local rule ARNs (an execution's trigger detail), as a stack named `sluice`
/// would name its rules on AWS.
pub const RULE_PREFIX: &str = "sluice";
/// How often `sluice serve`'s cron looks: schedules fire at whole minutes, so a look every second starts
/// them within a second of their time.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);
/// A cron that fires every minute, missed for years, is not stepped through minute by minute beyond this
/// many steps; the firing is then stamped with the last time reached, not the latest.
const MAX_CRON_STEPS: usize = 100_000;

/// The triggers on one machine. `S` is the store (the runtime's [`crate::store::SqliteStore`]).
pub struct LocalScheduler<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    region: String,
    account: String,
}

impl<S> Clone for LocalScheduler<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
        }
    }
}

/// The stored document of one trigger.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    trigger: Trigger,
    /// When the trigger was put as it is now: a rate counts from here, and no time before it fires.
    anchor: Timestamp,
    /// The end of the last window decided.
    checked_until: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firing: Option<Firing>,
}

/// A schedule's decision to start an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Firing {
    /// The scheduled time this firing stands for: the latest in its window.
    pub scheduled: Timestamp,
    /// When the cron decided it.
    pub decided: Timestamp,
    /// The pipeline execution it starts.
    pub execution_id: String,
    /// Whether the start was made (successfully or not); a firing not started is started by the next look.
    pub started: bool,
    /// Why the execution could not start (the pipeline is gone, a variable has no default value…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One firing a look made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub trigger: Trigger,
    pub firing: Firing,
}

/// What one look of the cron did.
#[derive(Debug, Default)]
pub struct Look {
    pub fired: Vec<Fired>,
    /// The ECR triggers, which never fire here.
    pub inert: Vec<Trigger>,
    /// Triggers the look could not decide or start (a store failure); the next look tries again.
    pub problems: Vec<String>,
}

/// Whether a trigger can fire on one machine: schedules do (this cron), S3 events do (the source
/// watcher, [`crate::watcher`]); ECR events have no source here.
pub fn fires_locally(trigger: &Trigger) -> bool {
    matches!(
        trigger.fires_on,
        FiresOn::Schedule { .. } | FiresOn::S3ObjectCreated { .. }
    )
}

/// The ARN of a trigger's rule in `region` and `account`: its own rule's, or the one a stack named
/// [`RULE_PREFIX`] would give it on AWS.
pub fn rule_arn(region: &str, account: &str, trigger: &Trigger) -> String {
    let rule = match &trigger.rule {
        Some(rule) => rule.clone(),
        None => rule_name(RULE_PREFIX, &trigger.pipeline, &trigger.name),
    };
    format!("arn:aws:events:{region}:{account}:rule/{rule}")
}

fn id(pipeline: &str, name: &str) -> String {
    format!("{pipeline}/{name}")
}

fn read_record(document: Value) -> Result<Record, SchedulerError> {
    serde_json::from_value(document).map_err(SchedulerError::backend)
}

fn write_record(record: &Record) -> Result<Value, SchedulerError> {
    serde_json::to_value(record).map_err(SchedulerError::backend)
}

impl<S: ResourceStore> LocalScheduler<S> {
    /// Triggers in `store`, on `clock`, with rule ARNs in us-east-1 and the local account.
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            region: "us-east-1".to_string(),
            account: LOCAL_ACCOUNT.to_string(),
        }
    }

    /// The Region and account the rule ARNs name (`sluice serve --region --account`).
    pub fn with_arns(mut self, region: &str, account: &str) -> Self {
        self.region = region.to_string();
        self.account = account.to_string();
        self
    }

    /// The ARN of the trigger's rule: the trigger detail of the executions it starts, as CodePipeline
    /// records a rule's ARN. A rule of its own ([`Trigger::rule`], made with PutRule) is named as it was
    /// made; any other trigger's is the rule it would have on AWS in a stack named [`RULE_PREFIX`].
    pub fn rule_arn(&self, trigger: &Trigger) -> String {
        rule_arn(&self.region, &self.account, trigger)
    }

    /// The trigger's last firing, if it ever fired.
    pub async fn last_firing(
        &self,
        pipeline: &str,
        name: &str,
    ) -> Result<Option<Firing>, SchedulerError> {
        let found = self
            .store
            .resource(KIND, &id(pipeline, name))
            .await
            .map_err(SchedulerError::backend)?;
        match found {
            Some((document, _)) => Ok(read_record(document)?.firing),
            None => Ok(None),
        }
    }

    /// One look of the cron: decides which schedules are due now (one firing per trigger at most, see
    /// [`due`]), writes each decision down, then starts the executions, with trigger type
    /// `CloudWatchEvent` and the rule's ARN as detail. Firings decided earlier and not started (a crash)
    /// are started too. Fails only when the triggers cannot be read at all.
    pub async fn look<P: Ports>(&self, ports: &P) -> Result<Look, SchedulerError> {
        let now = self.clock.now();
        let mut look = Look::default();
        let documents = self
            .store
            .resources(KIND)
            .await
            .map_err(SchedulerError::backend)?;
        for (id, document) in documents {
            let record = match read_record(document) {
                Ok(record) => record,
                Err(e) => {
                    look.problems.push(format!("trigger {id}: {e}"));
                    continue;
                }
            };
            if !fires_locally(&record.trigger) {
                look.inert.push(record.trigger);
                continue;
            }
            match self.advance(ports, &id, now).await {
                Ok(Some(fired)) => look.fired.push(fired),
                Ok(None) => {}
                Err(e) => look.problems.push(format!(
                    "trigger {} of pipeline {}: {e}",
                    record.trigger.name, record.trigger.pipeline
                )),
            }
        }
        Ok(look)
    }

    /// Decides and starts the firing of one schedule trigger, if one is due or pending.
    async fn advance<P: Ports>(
        &self,
        ports: &P,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<Fired>, SchedulerError> {
        let (trigger, firing) = loop {
            let Some((document, version)) = self
                .store
                .resource(KIND, id)
                .await
                .map_err(SchedulerError::backend)?
            else {
                return Ok(None);
            };
            let mut record = read_record(document)?;
            if let Some(pending) = record.firing.clone().filter(|f| !f.started) {
                break (record.trigger, pending);
            }
            let schedule = match record.trigger.parsed_schedule() {
                Some(Ok(schedule)) => schedule,
                // Put validated it; a document edited by hand is reported, not guessed at.
                Some(Err(e)) => return Err(SchedulerError::invalid(&record.trigger, e.into())),
                None => return Ok(None),
            };
            let Some(scheduled) = due(&schedule, record.anchor, record.checked_until, now) else {
                return Ok(None);
            };
            let firing = Firing {
                scheduled,
                decided: now,
                execution_id: ports.ids().uuid(),
                started: false,
                error: None,
            };
            record.checked_until = now;
            record.firing = Some(firing.clone());
            match self
                .store
                .put_resource(KIND, id, &write_record(&record)?, version)
                .await
            {
                Ok(()) => break (record.trigger, firing),
                // A put of the trigger (or another look) wrote first: decide again from what it wrote.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(SchedulerError::backend(e)),
            }
        };
        let error = self.start(ports, &trigger, &firing).await?;
        let firing = Firing {
            started: true,
            error,
            ..firing
        };
        self.mark_started(id, &firing).await?;
        Ok(Some(Fired { trigger, firing }))
    }

    /// Starts the firing's execution. `Ok(Some(reason))` when it cannot start and trying again would not
    /// help; `Err` when it may (a store failure), and the firing stays pending.
    async fn start<P: Ports>(
        &self,
        ports: &P,
        trigger: &Trigger,
        firing: &Firing,
    ) -> Result<Option<String>, SchedulerError> {
        let request = StartRequest {
            pipeline_execution_id: Some(firing.execution_id.clone()),
            trigger: Some(ExecutionTrigger {
                trigger_type: "CloudWatchEvent".to_string(),
                trigger_detail: Some(self.rule_arn(trigger)),
            }),
            ..StartRequest::default()
        };
        match start_once(ports, &trigger.pipeline, request).await {
            Ok(()) => Ok(None),
            Err(ExecutionError::Store(e)) => Err(SchedulerError::backend(e)),
            // Kept as the firing's outcome, named as the API would answer it.
            Err(other) => Ok(Some(format!("{}: {other}", other.exception()))),
        }
    }

    /// Records that the firing was started, unless the trigger changed hands meanwhile.
    async fn mark_started(&self, id: &str, firing: &Firing) -> Result<(), SchedulerError> {
        loop {
            let Some((document, version)) = self
                .store
                .resource(KIND, id)
                .await
                .map_err(SchedulerError::backend)?
            else {
                return Ok(());
            };
            let mut record = read_record(document)?;
            match &record.firing {
                Some(current) if current.execution_id == firing.execution_id => {}
                _ => return Ok(()),
            }
            record.firing = Some(firing.clone());
            match self
                .store
                .put_resource(KIND, id, &write_record(&record)?, version)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(SchedulerError::backend(e)),
            }
        }
    }

    /// The cron: a [`LocalScheduler::look`] every `every`, for as long as the task runs. Prints each
    /// execution it starts, each trigger that does not fire here (once), and each problem.
    pub async fn run<P: Ports>(&self, ports: &P, every: Duration) {
        let mut announced = BTreeSet::new();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let look = match self.look(ports).await {
                Ok(look) => look,
                Err(e) => {
                    eprintln!("sluice: the trigger cron cannot read the triggers: {e}");
                    continue;
                }
            };
            for fired in look.fired {
                let Fired { trigger, firing } = fired;
                match firing.error {
                    None => println!(
                        "Trigger {} started execution {} of pipeline {} ({})",
                        trigger.name, firing.execution_id, trigger.pipeline, trigger.fires_on
                    ),
                    Some(error) => eprintln!(
                        "sluice: trigger {} of pipeline {} could not start an execution: {error}",
                        trigger.name, trigger.pipeline
                    ),
                }
            }
            for trigger in look.inert {
                if announced.insert((trigger.pipeline.clone(), trigger.name.clone())) {
                    println!(
                        "Trigger {} of pipeline {} fires {}: kept, but it does not fire here (no ECR events on one machine); start the pipeline with StartPipelineExecution",
                        trigger.name, trigger.pipeline, trigger.fires_on
                    );
                }
            }
            for problem in look.problems {
                eprintln!("sluice: {problem}");
            }
        }
    }
}

impl<S: ResourceStore> Scheduler for LocalScheduler<S> {
    async fn put_trigger(&self, trigger: &Trigger) -> Result<(), SchedulerError> {
        trigger
            .validate()
            .map_err(|e| SchedulerError::invalid(trigger, e))?;
        let id = id(&trigger.pipeline, &trigger.name);
        loop {
            let existing = self
                .store
                .resource(KIND, &id)
                .await
                .map_err(SchedulerError::backend)?;
            let (firing, version) = match existing {
                Some((document, version)) => {
                    let record = read_record(document)?;
                    if record.trigger == *trigger {
                        // Unchanged: a rate keeps counting from when it was first put.
                        return Ok(());
                    }
                    (record.firing, version)
                }
                None => (None, 0),
            };
            let now = self.clock.now();
            let record = Record {
                trigger: trigger.clone(),
                anchor: now,
                checked_until: now,
                // A firing decided and not yet started still starts.
                firing,
            };
            match self
                .store
                .put_resource(KIND, &id, &write_record(&record)?, version)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(SchedulerError::backend(e)),
            }
        }
    }

    async fn delete_trigger(&self, pipeline: &str, name: &str) -> Result<(), SchedulerError> {
        self.store
            .delete_resource(KIND, &id(pipeline, name))
            .await
            .map_err(SchedulerError::backend)
    }

    async fn triggers(&self, pipeline: &str) -> Result<Vec<Trigger>, SchedulerError> {
        let mine = format!("{pipeline}/");
        let mut triggers = Vec::new();
        for (id, document) in self
            .store
            .resources(KIND)
            .await
            .map_err(SchedulerError::backend)?
        {
            if id.starts_with(&mine) {
                triggers.push(read_record(document)?.trigger);
            }
        }
        triggers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(triggers)
    }

    async fn delete_pipeline_triggers(&self, pipeline: &str) -> Result<(), SchedulerError> {
        for trigger in self.triggers(pipeline).await? {
            self.delete_trigger(pipeline, &trigger.name).await?;
        }
        Ok(())
    }
}

fn to_time(at: Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.epoch_millis()) * 1_000_000).ok()
}

fn from_time(at: OffsetDateTime) -> Timestamp {
    let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
    Timestamp::from_epoch_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// Whether a schedule is due when the cron looks at `now`, having last looked at `since`: the latest
/// scheduled time in `(since, now]`, or `None` when there is none. However many times the window holds (the
/// machine was off), the schedule fires once for it.
///
/// A rate counts from `anchor` (when the trigger was put): its times are `anchor + k × period`, k ≥ 1. A
/// cron's times are the whole minutes it matches, in UTC.
pub fn due(
    schedule: &Schedule,
    anchor: Timestamp,
    since: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    if now <= since {
        return None;
    }
    match schedule {
        Schedule::Rate { .. } => {
            let first = from_time(schedule.next_after(to_time(anchor)?)?);
            let period = first.epoch_millis() - anchor.epoch_millis();
            if period <= 0 || now < first {
                return None;
            }
            let periods = (now.epoch_millis() - anchor.epoch_millis()) / period;
            let latest = Timestamp::from_epoch_millis(anchor.epoch_millis() + periods * period);
            (latest > since).then_some(latest)
        }
        Schedule::Cron(_) => {
            let end = to_time(now)?;
            let mut latest = schedule.next_after(to_time(since)?)?;
            if latest > end {
                return None;
            }
            // After a long gap, skip to the last day: a cron that fires every minute then takes at most
            // 1440 steps to reach the latest time.
            let day_before = end - time::Duration::DAY;
            if day_before > latest
                && let Some(later) = schedule.next_after(day_before)
                && later <= end
            {
                latest = later;
            }
            for _ in 0..MAX_CRON_STEPS {
                match schedule.next_after(latest) {
                    Some(next) if next <= end => latest = next,
                    _ => break,
                }
            }
            Some(from_time(latest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::schedule::parse;
    use sluice_core::time::parse_timestamp;

    fn at(text: &str) -> Timestamp {
        parse_timestamp(text).unwrap()
    }

    #[test]
    fn a_cron_fires_at_its_time_and_not_before() {
        let hourly = parse("cron(0 * * * ? *)").unwrap();
        let put = at("2026-01-01T00:00:30Z");
        assert_eq!(due(&hourly, put, put, at("2026-01-01T00:59:59.999Z")), None);
        assert_eq!(
            due(&hourly, put, put, at("2026-01-01T01:00:00Z")),
            Some(at("2026-01-01T01:00:00Z")),
            "a time at the end of the window is in it"
        );
        assert_eq!(
            due(
                &hourly,
                put,
                at("2026-01-01T01:00:00Z"),
                at("2026-01-01T01:30:00Z")
            ),
            None,
            "and not in the next one"
        );
    }

    #[test]
    fn missed_times_fire_once_stamped_with_the_latest() {
        let hourly = parse("cron(0 * * * ? *)").unwrap();
        let since = at("2026-01-01T01:00:00Z");
        assert_eq!(
            due(&hourly, since, since, at("2026-01-01T06:17:00Z")),
            Some(at("2026-01-01T06:00:00Z"))
        );
        let minutely = parse("cron(* * * * ? *)").unwrap();
        assert_eq!(
            due(&minutely, since, since, at("2031-06-01T12:34:56Z")),
            Some(at("2031-06-01T12:34:00Z")),
            "five years of minutes, stepped through quickly"
        );
    }

    #[test]
    fn a_rate_counts_from_its_anchor() {
        let every_5 = parse("rate(5 minutes)").unwrap();
        let put = at("2026-01-01T00:00:30Z");
        assert_eq!(due(&every_5, put, put, at("2026-01-01T00:05:29Z")), None);
        assert_eq!(
            due(&every_5, put, put, at("2026-01-01T00:05:30Z")),
            Some(at("2026-01-01T00:05:30Z"))
        );
        assert_eq!(
            due(
                &every_5,
                put,
                at("2026-01-01T00:05:30Z"),
                at("2026-01-01T00:23:00Z")
            ),
            Some(at("2026-01-01T00:20:30Z")),
            "three missed times fire once, as the latest"
        );
        assert_eq!(
            due(
                &every_5,
                put,
                at("2026-01-01T00:20:30Z"),
                at("2026-01-01T00:25:29Z")
            ),
            None
        );
    }

    #[test]
    fn a_cron_that_never_fires_again_is_never_due() {
        let past = parse("cron(0 0 1 1 ? 2020)").unwrap();
        let since = at("2026-01-01T00:00:00Z");
        assert_eq!(due(&past, since, since, at("2030-01-01T00:00:00Z")), None);
        assert_eq!(due(&past, since, since, since), None, "an empty window");
    }
}
