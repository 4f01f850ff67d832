//! EventBridge's rule operations, where Sluice is its own EventBridge (`sluice serve`, on the API's port):
//! awsJson1.1 `POST /` with `X-Amz-Target: AWSEvents.<Op>`, signed for `events` as the aws CLI signs them.
//! PutRule, PutTargets, DescribeRule, ListRules, ListTargetsByRule, RemoveTargets, DeleteRule, EnableRule
//! and DisableRule, with EventBridge's shapes (its botocore model checks every input) and errors.
//!
//! Rules are kept in the store (resources of kind [`RULE`], by name); what a rule and its targets mean as
//! triggers is the core's ([`sluice_core::usecase::rule`]): an enabled rule with a `ScheduleExpression`
//! and a target whose `Arn` is a pipeline of this server starts that pipeline on its schedule, and the
//! execution records trigger type `CloudWatchEvent` with the rule's ARN.
//!
//! What Sluice does not take (docs/decisions.md, "EventBridge rules on `sluice serve`"):
//! - an `EventPattern`: ValidationException naming it, since no event reaches a rule here (S3 and ECR
//!   sources start their pipelines through the pipeline's own change detection);
//! - a target that is not a pipeline of this server (`arn:aws:codepipeline:<region>:<account>:<name>`), or
//!   names a pipeline that does not exist: a failed entry of PutTargets, as EventBridge reports a target it
//!   cannot take;
//! - an event bus other than `default`: ResourceNotFoundException, as for a bus that does not exist.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use sluice_core::model;
use sluice_core::model::check::Checker;
use sluice_core::port::{PipelineStore, Ports, ResourceStore, StoreError};
use sluice_core::problem::{Exception, no_pipeline};
use sluice_core::schedule;
use sluice_core::trigger::Trigger;
use sluice_core::usecase::rule::{ScheduleRule, sync_rule_triggers, triggers_of};

use crate::error::ApiError;
use crate::service::Service;

/// awsJson1.1's target prefix for EventBridge.
pub const TARGET_PREFIX: &str = "AWSEvents.";
/// The name EventBridge's requests are signed for (its model's `endpointPrefix`; the aws CLI signs
/// `aws events` calls so).
pub const SIGNING_NAME: &str = "events";
/// The resource kind rules are kept under, by rule name.
pub const RULE: &str = "eventbridge-rule";
/// The operations answered, in the order EventBridge's reference lists them.
pub const OPERATIONS: [&str; 9] = [
    "DeleteRule",
    "DescribeRule",
    "DisableRule",
    "EnableRule",
    "ListRules",
    "ListTargetsByRule",
    "PutRule",
    "PutTargets",
    "RemoveTargets",
];
/// EventBridge's quota of targets per rule.
const MAX_TARGETS: usize = 5;
/// The only event bus: the one schedules run on.
const DEFAULT_BUS: &str = "default";
/// ListRules' and ListTargetsByRule's page size when `Limit` is not given (EventBridge's maximum).
const PAGE: usize = 100;

/// Runs one EventBridge operation (its input already checked against the model).
pub async fn call<P: Ports>(
    ports: &P,
    service: &Service,
    operation: &str,
    input: Value,
) -> Result<Value, ApiError> {
    let answered = match operation {
        "PutRule" => put_rule(ports, service, &input).await,
        "PutTargets" => put_targets(ports, service, &input).await,
        "DescribeRule" => describe_rule(ports, service, &input).await,
        "ListRules" => list_rules(ports, service, &input).await,
        "ListTargetsByRule" => list_targets_by_rule(ports, service, &input).await,
        "RemoveTargets" => remove_targets(ports, service, &input).await,
        "DeleteRule" => delete_rule(ports, service, &input).await,
        "EnableRule" => set_state(ports, service, &input, "ENABLED").await,
        "DisableRule" => set_state(ports, service, &input, "DISABLED").await,
        other => Err(ApiError::new(
            Exception::UnsupportedOperationException,
            format!(
                "Sluice answers EventBridge's rule operations only ({}), not {other}",
                OPERATIONS.join(", ")
            ),
        )),
    };
    answered.map_err(|mut error| {
        // EventBridge's name for its own failure.
        if error.error_type == Exception::InternalFailure.name() {
            error.error_type = "InternalException".to_string();
        }
        error
    })
}

/// Checks the input against the operation's input shape in EventBridge's model, with AWS's camel-cased
/// member paths (`'name'`, `'targets.1.member.arn'`).
pub fn check_input(operation: &str, input: &Value) -> Result<(), ApiError> {
    let model = model::eventbridge();
    let Some(shape) = model
        .operations
        .get(operation)
        .and_then(|op| op.input.as_ref())
    else {
        return Ok(());
    };
    let mut checker = Checker::new(model, false).camel_case_paths();
    checker.check(&shape.shape, input, "");
    let problems = checker.into_problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::from_problems(&problems))
    }
}

/// The rule's ARN: `arn:aws:events:<region>:<account>:rule/<name>` (rules on the default bus).
pub fn rule_arn(service: &Service, name: &str) -> String {
    format!(
        "arn:aws:events:{}:{}:rule/{name}",
        service.region, service.account
    )
}

/// A rule as it is kept: the rule as DescribeRule shows it, its targets as PutTargets took them, and
/// its tags.
struct Stored {
    rule: Map<String, Value>,
    targets: Vec<Value>,
    tags: Vec<Value>,
}

impl Stored {
    fn read(document: Value) -> Self {
        let part = |name: &str| document.get(name).cloned();
        Self {
            rule: part("rule")
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default(),
            targets: part("targets")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default(),
            tags: part("tags")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default(),
        }
    }

    fn document(&self) -> Value {
        json!({ "rule": self.rule, "targets": self.targets, "tags": self.tags })
    }

    fn text(&self, member: &str) -> Option<&str> {
        self.rule.get(member).and_then(Value::as_str)
    }

    fn name(&self) -> &str {
        self.text("Name").unwrap_or_default()
    }
}

/// A string member of an input, when given.
fn member<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

fn not_found(rule: &str) -> ApiError {
    ApiError::new(
        Exception::ResourceNotFoundException,
        format!("Rule {rule} does not exist on EventBus {DEFAULT_BUS}."),
    )
}

/// Only the default bus exists: by name or by ARN.
fn check_bus(service: &Service, input: &Value) -> Result<(), ApiError> {
    let Some(bus) = member(input, "EventBusName") else {
        return Ok(());
    };
    let default_arn = format!(
        "arn:aws:events:{}:{}:event-bus/{DEFAULT_BUS}",
        service.region, service.account
    );
    if bus == DEFAULT_BUS || bus == default_arn {
        Ok(())
    } else {
        Err(ApiError::new(
            Exception::ResourceNotFoundException,
            format!(
                "Event bus {bus} does not exist. (Sluice has the {DEFAULT_BUS} event bus only.)"
            ),
        ))
    }
}

/// The pipeline a target's ARN names, when it is one of this server's:
/// `arn:aws:codepipeline:<region>:<account>:<name>`.
fn pipeline_of<'a>(service: &Service, arn: &'a str) -> Option<&'a str> {
    let name = arn.strip_prefix(service.pipeline_arn("").as_str())?;
    (!name.is_empty() && !name.contains([':', '/'])).then_some(name)
}

/// Whether an ARN names a CodePipeline resource (of any account or Region), whose targets need a role.
fn is_codepipeline_arn(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("codepipeline") && arn.starts_with("arn:")
}

/// What of a stored rule decides its triggers: its targets that name pipelines of this server that
/// exist (one deleted took its triggers with it, see [`sluice_core::usecase::rule::restore_rule_triggers`]).
async fn schedule_rule<P: Ports>(
    ports: &P,
    service: &Service,
    stored: &Stored,
) -> Result<ScheduleRule, ApiError> {
    let mut pipelines = BTreeSet::new();
    for target in &stored.targets {
        if let Some(pipeline) = member(target, "Arn").and_then(|arn| pipeline_of(service, arn))
            && ports.store().pipeline(pipeline).await?.is_some()
        {
            pipelines.insert(pipeline.to_string());
        }
    }
    Ok(ScheduleRule {
        name: stored.name().to_string(),
        schedule_expression: stored.text("ScheduleExpression").map(str::to_string),
        enabled: stored.text("State") != Some("DISABLED"),
        pipelines,
    })
}

/// The rules that target `pipeline`, for a pipeline just created ([`ScheduleRule`]s of every stored rule).
pub async fn rules<P: Ports>(ports: &P, service: &Service) -> Result<Vec<ScheduleRule>, ApiError> {
    let mut rules = Vec::new();
    for (_, document) in ports.store().resources(RULE).await? {
        rules.push(schedule_rule(ports, service, &Stored::read(document)).await?);
    }
    Ok(rules)
}

/// Changes a rule and its triggers: reads it (`None` when it does not exist), lets `change` make the rule
/// that should be kept (`None`: delete it), makes the triggers follow, then writes it on the version read.
/// A write that loses to another one reads again and starts over, deleting any trigger this call put that
/// the rule no longer stands for. Returns what `change` returned with the rule.
async fn change_rule<P: Ports, T>(
    ports: &P,
    service: &Service,
    name: &str,
    change: impl Fn(Option<Stored>) -> Result<(Option<Stored>, T), ApiError>,
) -> Result<T, ApiError> {
    let mut touched: Vec<Trigger> = Vec::new();
    loop {
        let found = ports.store().resource(RULE, name).await?;
        let version = found.as_ref().map_or(0, |(_, v)| *v);
        let before = found.map(|(document, _)| Stored::read(document));
        let existed = before.is_some();
        let current = match &before {
            Some(before) => Some(schedule_rule(ports, service, before).await?),
            None => None,
        };
        let (after, answer) = match change(before) {
            Ok(changed) => changed,
            Err(refused) => {
                if !touched.is_empty() {
                    // An earlier round put triggers for a change that is now refused: back to the rule's.
                    sync_rule_triggers(ports.scheduler(), &touched, current.as_ref()).await?;
                }
                return Err(refused);
            }
        };
        let mut stale = touched.clone();
        stale.extend(current.as_ref().map(triggers_of).unwrap_or_default());
        let wanted = match &after {
            Some(after) => Some(schedule_rule(ports, service, after).await?),
            None => None,
        };
        let put = sync_rule_triggers(ports.scheduler(), &stale, wanted.as_ref()).await?;
        touched.extend(put);
        let written = match &after {
            Some(after) => {
                ports
                    .store()
                    .put_resource(RULE, name, &after.document(), version)
                    .await
            }
            None if existed => ports.store().delete_resource(RULE, name).await,
            None => Ok(()),
        };
        match written {
            Ok(()) => return Ok(answer),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// PutRule: creates the rule, or replaces it keeping its targets (and its tags when none are given). What
/// it omits is not kept, as EventBridge documents; the state is `ENABLED` unless `State` says otherwise.
async fn put_rule<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let name = member(input, "Name").unwrap_or_default().to_string();
    let expression = member(input, "ScheduleExpression");
    if member(input, "EventPattern").is_some() {
        return Err(ApiError::validation(
            "Parameter EventPattern is not supported by Sluice: no events reach rules on this server, so \
             a rule here fires on its ScheduleExpression only (an S3 or ECR source starts its pipeline \
             through the pipeline's own change detection)",
        ));
    }
    let Some(expression) = expression else {
        return Err(ApiError::validation(
            "Parameter(s) ScheduleExpression or EventPattern must be specified.",
        ));
    };
    if let Err(error) = schedule::parse(expression) {
        return Err(ApiError::validation(format!(
            "Parameter ScheduleExpression is not valid: {error}"
        )));
    }
    let arn = rule_arn(service, &name);
    let mut rule = Map::new();
    rule.insert("Name".into(), json!(name));
    rule.insert("Arn".into(), json!(arn));
    rule.insert("ScheduleExpression".into(), json!(expression));
    rule.insert(
        "State".into(),
        json!(member(input, "State").unwrap_or("ENABLED")),
    );
    for optional in ["Description", "RoleArn"] {
        if let Some(value) = member(input, optional) {
            rule.insert(optional.into(), json!(value));
        }
    }
    rule.insert("EventBusName".into(), json!(DEFAULT_BUS));
    rule.insert("CreatedBy".into(), json!(service.account));
    let tags = input.get("Tags").and_then(Value::as_array).cloned();
    change_rule(ports, service, &name, |before| {
        let (targets, old_tags) = before.map(|b| (b.targets, b.tags)).unwrap_or_default();
        let after = Stored {
            rule: rule.clone(),
            targets,
            tags: tags.clone().unwrap_or(old_tags),
        };
        Ok((Some(after), ()))
    })
    .await?;
    Ok(json!({ "RuleArn": arn }))
}

/// A target PutTargets could not take, as EventBridge reports one.
fn failed(id: &str, code: Exception, message: String) -> Value {
    json!({ "TargetId": id, "ErrorCode": code.name(), "ErrorMessage": message })
}

/// PutTargets: adds the targets, or replaces those with the same `Id`. A target must be a pipeline of this
/// server that exists; any other is a failed entry and the rest are still taken.
async fn put_targets<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let rule = member(input, "Rule").unwrap_or_default().to_string();
    let given = input
        .get("Targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // CodePipeline targets start executions as a role, so EventBridge refuses one without it.
    for target in &given {
        let arn = member(target, "Arn").unwrap_or_default();
        if is_codepipeline_arn(arn) && member(target, "RoleArn").is_none() {
            return Err(ApiError::validation(format!(
                "RoleArn is required for target {arn}."
            )));
        }
    }
    // A rule that does not exist is the answer before any target is looked at.
    stored_rule(ports, &rule).await?;
    let mut accepted = Vec::new();
    let mut failures = Vec::new();
    for target in given {
        let id = member(&target, "Id").unwrap_or_default().to_string();
        let arn = member(&target, "Arn").unwrap_or_default();
        match pipeline_of(service, arn) {
            None => failures.push(failed(
                &id,
                Exception::ValidationException,
                format!(
                    "Target {arn} is not a pipeline of this Sluice server: its rules start its own pipelines, {}",
                    service.pipeline_arn("<pipeline name>")
                ),
            )),
            Some(pipeline) if ports.store().pipeline(pipeline).await?.is_none() => failures.push(
                failed(
                    &id,
                    Exception::ResourceNotFoundException,
                    no_pipeline(&service.account, pipeline),
                ),
            ),
            Some(_) => accepted.push((id, target)),
        }
    }
    change_rule(ports, service, &rule, |before| {
        let mut stored = before.ok_or_else(|| not_found(&rule))?;
        for (id, target) in &accepted {
            match stored
                .targets
                .iter_mut()
                .find(|t| member(t, "Id") == Some(id.as_str()))
            {
                Some(existing) => *existing = target.clone(),
                None => stored.targets.push(target.clone()),
            }
        }
        if stored.targets.len() > MAX_TARGETS {
            return Err(ApiError::new(
                Exception::LimitExceededException,
                format!(
                    "The requested resource exceeds the maximum number allowed: rule {rule} would have {} targets, and a rule can have up to {MAX_TARGETS}.",
                    stored.targets.len()
                ),
            ));
        }
        Ok((Some(stored), ()))
    })
    .await?;
    Ok(json!({ "FailedEntryCount": failures.len(), "FailedEntries": failures }))
}

/// RemoveTargets: removes the targets with these ids; an id the rule does not have is not an error.
async fn remove_targets<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let rule = member(input, "Rule").unwrap_or_default().to_string();
    let ids: Vec<String> = input
        .get("Ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    change_rule(ports, service, &rule, |before| {
        let mut stored = before.ok_or_else(|| not_found(&rule))?;
        stored
            .targets
            .retain(|t| !ids.iter().any(|id| member(t, "Id") == Some(id.as_str())));
        Ok((Some(stored), ()))
    })
    .await?;
    Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

/// DeleteRule: a rule that still has targets is refused, as EventBridge refuses it; a missing one is not
/// an error.
async fn delete_rule<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let rule = member(input, "Name").unwrap_or_default().to_string();
    change_rule(ports, service, &rule, |before| match before {
        Some(stored) if !stored.targets.is_empty() => Err(ApiError::validation(
            "Rule can't be deleted since it has targets.",
        )),
        _ => Ok((None, ())),
    })
    .await?;
    Ok(json!({}))
}

/// EnableRule and DisableRule.
async fn set_state<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
    state: &str,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let rule = member(input, "Name").unwrap_or_default().to_string();
    change_rule(ports, service, &rule, |before| {
        let mut stored = before.ok_or_else(|| not_found(&rule))?;
        stored.rule.insert("State".into(), json!(state));
        Ok((Some(stored), ()))
    })
    .await?;
    Ok(json!({}))
}

async fn stored_rule<P: Ports>(ports: &P, rule: &str) -> Result<Stored, ApiError> {
    match ports.store().resource(RULE, rule).await? {
        Some((document, _)) => Ok(Stored::read(document)),
        None => Err(not_found(rule)),
    }
}

/// DescribeRule.
async fn describe_rule<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let stored = stored_rule(ports, member(input, "Name").unwrap_or_default()).await?;
    Ok(Value::Object(stored.rule))
}

/// One page of `items` from the offset `NextToken` holds, `Limit` long.
fn page<T>(items: Vec<T>, input: &Value) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match member(input, "NextToken") {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::validation(format!(
                "NextToken '{token}' is not valid: it is not one an earlier answer gave"
            ))
        })?,
    };
    let size = input
        .get("Limit")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(PAGE)
        .max(1);
    let total = items.len();
    let page = items.into_iter().skip(start).take(size).collect();
    Ok((
        page,
        (start + size < total).then(|| (start + size).to_string()),
    ))
}

/// ListRules: by name, those starting with `NamePrefix`.
async fn list_rules<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let prefix = member(input, "NamePrefix").unwrap_or_default();
    let mut rules: Vec<(String, Value)> = ports
        .store()
        .resources(RULE)
        .await?
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect();
    rules.sort_by(|a, b| a.0.cmp(&b.0));
    let (rules, next) = page(rules, input)?;
    let listed: Vec<Value> = rules
        .into_iter()
        .map(|(_, document)| {
            let mut rule = Stored::read(document).rule;
            // The listing's Rule shape has no CreatedBy.
            rule.remove("CreatedBy");
            Value::Object(rule)
        })
        .collect();
    let mut answer = json!({ "Rules": listed });
    if let Some(next) = next {
        answer["NextToken"] = json!(next);
    }
    Ok(answer)
}

/// ListTargetsByRule: in the order they were first put.
async fn list_targets_by_rule<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    check_bus(service, input)?;
    let stored = stored_rule(ports, member(input, "Rule").unwrap_or_default()).await?;
    let (targets, next) = page(stored.targets, input)?;
    let mut answer = json!({ "Targets": targets });
    if let Some(next) = next {
        answer["NextToken"] = json!(next);
    }
    Ok(answer)
}
