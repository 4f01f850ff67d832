//! EventBridge rules of `sluice serve`'s own (PutRule, PutTargets, …, answered by `sluice_api`): what a rule
//! and its targets mean as triggers of pipelines.
//!
//! A rule that is enabled, has a schedule expression and targets one or more pipelines is one trigger of
//! each of those pipelines ([`Trigger::of_rule`]): it fires on the rule's schedule, and the executions it
//! starts name the rule's ARN, as CodePipeline records an execution an EventBridge rule started. A rule
//! that is disabled, or has no target that is a pipeline, stands for no trigger. Two targets of one rule
//! that name the same pipeline are one trigger: the pipeline starts once per firing.

use std::collections::BTreeSet;

use crate::port::{Scheduler, SchedulerError};
use crate::trigger::Trigger;

/// What of an EventBridge rule decides its triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRule {
    pub name: String,
    /// `rate(...)` or `cron(...)`, as PutRule took it (and checked it); `None` for a rule without one.
    pub schedule_expression: Option<String>,
    /// `ENABLED` (or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`, which means the same for a schedule).
    pub enabled: bool,
    /// The pipelines its targets start, by name.
    pub pipelines: BTreeSet<String>,
}

/// The triggers `rule` stands for: one per pipeline it targets, when it is enabled and has a schedule.
pub fn triggers_of(rule: &ScheduleRule) -> Vec<Trigger> {
    match (&rule.schedule_expression, rule.enabled) {
        (Some(expression), true) => rule
            .pipelines
            .iter()
            .map(|pipeline| Trigger::of_rule(pipeline, &rule.name, expression))
            .collect(),
        _ => Vec::new(),
    }
}

/// Makes the scheduler hold the triggers `rule` stands for now (none when it is deleted, `None`): puts
/// each of them, then deletes each trigger of `stale` that is not among them. `stale` is what may be kept
/// for the rule: the triggers of the rule as it was stored, and any this call put before (a caller that
/// retries after a conflicting write passes those too, so none is left behind). Returns the triggers put.
///
/// Putting before deleting means a failure leaves the rule's new triggers in place and the old ones that
/// remain are deleted by the caller's retry, which computes the same change again.
pub async fn sync_rule_triggers<S: Scheduler + ?Sized>(
    scheduler: &S,
    stale: &[Trigger],
    rule: Option<&ScheduleRule>,
) -> Result<Vec<Trigger>, SchedulerError> {
    let wanted = rule.map(triggers_of).unwrap_or_default();
    for trigger in &wanted {
        scheduler.put_trigger(trigger).await?;
    }
    for old in stale {
        let kept = wanted
            .iter()
            .any(|w| w.pipeline == old.pipeline && w.name == old.name);
        if !kept {
            scheduler.delete_trigger(&old.pipeline, &old.name).await?;
        }
    }
    Ok(wanted)
}

/// Gives a pipeline that was just created the triggers of the stored rules that target it: a rule keeps its
/// targets when their pipeline is deleted (as EventBridge does; the pipeline's triggers went with it), so
/// a pipeline created again under the same name is started by them again.
pub async fn restore_rule_triggers<S: Scheduler + ?Sized>(
    scheduler: &S,
    pipeline: &str,
    rules: &[ScheduleRule],
) -> Result<(), SchedulerError> {
    for rule in rules {
        for trigger in triggers_of(rule) {
            if trigger.pipeline == pipeline {
                scheduler.put_trigger(&trigger).await?;
            }
        }
    }
    Ok(())
}
