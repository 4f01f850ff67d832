//! Triggers on AWS: one EventBridge rule per trigger, on the default event bus (the only bus schedules,
//! S3 and ECR events reach), whose one target starts the pipeline's state machine, as the stack's events
//! role (infra/template.yaml `EventsRole`: `states:StartExecution` on `<stack>-*`).
//!
//! - A schedule is the rule's `ScheduleExpression`.
//! - An S3 trigger is an `EventPattern` on S3's EventBridge notifications: `aws.s3` / `Object Created`
//!   for the bucket and key (the bucket must have EventBridge notifications switched on).
//! - An ECR trigger is an `EventPattern` on `aws.ecr` / `ECR Image Action`, a successful PUSH of the
//!   repository and tag, the pattern CodePipeline's console creates.
//!
//! The target's input transformer makes the machine's input `{"pipeline", "pipelineExecutionId", "trigger"}`:
//! the execution id is the event's id (a UUID), and `trigger` is what the execution record needs,
//! `{"triggerType": "CloudWatchEvent", "triggerDetail": <the rule's ARN>}`.
//!
//! Rules are named [`sluice_core::trigger::rule_name`] (`<prefix>-<pipeline>-<name>`, shortened with a hash
//! where needed), so a pipeline's rules are listed by name prefix. Their description, `Sluice trigger
//! <name> of pipeline <pipeline>`, records the owner: a listing keeps only the pipeline's own rules (other
//! pipelines' names may start the same), and a put never takes over a rule another trigger owns.

use std::collections::HashMap;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::{InputTransformer, Rule, RuleState, Target};
use serde_json::{Value, json};

use sluice_core::port::{Scheduler, SchedulerError};
use sluice_core::trigger::{
    FiresOn, Trigger, TriggerError, check_rule_prefix, rule_name, rule_name_prefix,
};

use crate::config::AwsConfig;
use crate::error::{code, describe};

/// The id of the one target each rule has: the pipeline's state machine.
pub const TARGET_ID: &str = "pipeline";
const DESCRIPTION_START: &str = "Sluice trigger ";
const DESCRIPTION_OWNER: &str = " of pipeline ";

/// An EventBridge client from the process's SDK configuration.
pub fn client(config: &AwsConfig) -> Client {
    Client::new(&config.sdk)
}

/// EventBridge as the [`Scheduler`].
#[derive(Clone, Debug)]
pub struct EventBridgeScheduler {
    client: Client,
    prefix: String,
    events_role_arn: String,
    machine_arn_prefix: String,
}

impl EventBridgeScheduler {
    /// - `prefix`: the stack name, which starts the rule names (and the state machine names); at most 32
    ///   rule-name characters ([`sluice_core::trigger::MAX_RULE_PREFIX`]).
    /// - `events_role_arn`: the role the rules' targets start executions as (the stack's `EventsRoleArn`).
    /// - `machine_arn_prefix`: the state machines' ARN up to their name,
    ///   `arn:<partition>:states:<region>:<account>:stateMachine:`; a pipeline's machine is
    ///   `<prefix>-<pipeline>`, as [`crate::sfn::StepFunctions`] names it.
    pub fn new(
        client: Client,
        prefix: impl Into<String>,
        events_role_arn: impl Into<String>,
        machine_arn_prefix: impl Into<String>,
    ) -> Result<Self, TriggerError> {
        let prefix = prefix.into();
        check_rule_prefix(&prefix)?;
        Ok(Self {
            client,
            prefix,
            events_role_arn: events_role_arn.into(),
            machine_arn_prefix: machine_arn_prefix.into(),
        })
    }

    /// The name of the rule of trigger `name` of `pipeline`.
    pub fn rule_name(&self, pipeline: &str, name: &str) -> String {
        rule_name(&self.prefix, pipeline, name)
    }

    /// The ARN of the pipeline's state machine: [`crate::sfn::machine_name`] after the ARN prefix.
    pub fn machine_arn(&self, pipeline: &str) -> String {
        format!(
            "{}{}",
            self.machine_arn_prefix,
            crate::sfn::machine_name(&self.prefix, pipeline)
        )
    }

    /// The rule, if it exists.
    async fn rule(&self, name: &str) -> Result<Option<Rule>, SchedulerError> {
        match self.client.describe_rule().name(name).send().await {
            Ok(found) => Ok(Some(
                Rule::builder()
                    .set_name(found.name)
                    .set_arn(found.arn)
                    .set_event_pattern(found.event_pattern)
                    .set_schedule_expression(found.schedule_expression)
                    .set_description(found.description)
                    .build(),
            )),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    /// The rules of `pipeline`: those named with its prefix whose description names it.
    async fn owned_rules(&self, pipeline: &str) -> Result<Vec<Rule>, SchedulerError> {
        let prefix = rule_name_prefix(&self.prefix, pipeline);
        let mut rules = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_rules()
                .name_prefix(&prefix)
                .set_next_token(next)
                .send()
                .await
                .map_err(sdk)?;
            for rule in page.rules() {
                let name = rule.name().unwrap_or_default();
                let owned = owner(rule.description()).is_some_and(|(p, _)| p == pipeline);
                // moto reads NamePrefix as a regular expression: check the prefix here too.
                if owned && name.starts_with(&prefix) {
                    rules.push(rule.clone());
                }
            }
            match page.next_token {
                Some(token) => next = Some(token),
                None => return Ok(rules),
            }
        }
    }

    /// Removes the rule's targets, then the rule. A rule or target already gone is not an error.
    async fn remove_rule(&self, name: &str) -> Result<(), SchedulerError> {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let listed = self
                .client
                .list_targets_by_rule()
                .rule(name)
                .set_next_token(next)
                .send()
                .await;
            let page = match listed {
                Ok(page) => page,
                Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(()),
                Err(e) => return Err(sdk(e)),
            };
            ids.extend(page.targets().iter().map(|t| t.id().to_string()));
            match page.next_token {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        // RemoveTargets takes at most 100 ids.
        for chunk in ids.chunks(100) {
            let removed = self
                .client
                .remove_targets()
                .rule(name)
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await;
            match removed {
                Ok(output) if output.failed_entry_count() > 0 => {
                    return Err(backend(format!(
                        "EventBridge could not remove the targets of rule {name}: {}",
                        failures(
                            output
                                .failed_entries()
                                .iter()
                                .map(|f| (f.error_code(), f.error_message()))
                        )
                    )));
                }
                Ok(_) => {}
                Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(()),
                Err(e) => return Err(sdk(e)),
            }
        }
        match self.client.delete_rule().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(sdk(e)),
        }
    }
}

impl Scheduler for EventBridgeScheduler {
    async fn put_trigger(&self, trigger: &Trigger) -> Result<(), SchedulerError> {
        trigger
            .validate()
            .map_err(|e| SchedulerError::invalid(trigger, e))?;
        if let Some(rule) = &trigger.rule {
            // On AWS such a rule is EventBridge's own, made there with its target the pipeline's state
            // machine (infra/README.md); Sluice does not make a second rule in its place.
            return Err(SchedulerError::invalid(
                trigger,
                TriggerError::Field {
                    field: "rule",
                    value: rule.clone(),
                    rule: "is an EventBridge rule of its own: on AWS, make it in EventBridge with the pipeline's state machine as its target".to_string(),
                },
            ));
        }
        let name = self.rule_name(&trigger.pipeline, &trigger.name);
        if let Some(existing) = self.rule(&name).await?
            && owner(existing.description())
                != Some((trigger.pipeline.as_str(), trigger.name.as_str()))
        {
            return Err(SchedulerError::Conflict(format!(
                "trigger {} of pipeline {}: its rule {name} belongs to {}; rename the trigger",
                trigger.name,
                trigger.pipeline,
                existing
                    .description()
                    .map_or("something else".to_string(), |d| format!("{d:?}"))
            )));
        }
        let mut put = self
            .client
            .put_rule()
            .name(&name)
            .description(description(trigger))
            .state(RuleState::Enabled);
        put = match &trigger.fires_on {
            FiresOn::Schedule { expression } => put.schedule_expression(expression),
            other => put.event_pattern(event_pattern(other).unwrap_or_default().to_string()),
        };
        let rule_arn = put
            .send()
            .await
            .map_err(sdk)?
            .rule_arn()
            .map(str::to_string)
            .ok_or_else(|| backend(format!("PutRule answered no ARN for rule {name}")))?;
        let transformer = InputTransformer::builder()
            .set_input_paths_map(Some(input_paths()))
            .input_template(input_template(&trigger.pipeline, &rule_arn))
            .build()
            .map_err(SchedulerError::backend)?;
        let target = Target::builder()
            .id(TARGET_ID)
            .arn(self.machine_arn(&trigger.pipeline))
            .role_arn(&self.events_role_arn)
            .input_transformer(transformer)
            .build()
            .map_err(SchedulerError::backend)?;
        let targeted = self
            .client
            .put_targets()
            .rule(&name)
            .targets(target)
            .send()
            .await
            .map_err(sdk)?;
        if targeted.failed_entry_count() > 0 {
            return Err(backend(format!(
                "EventBridge did not set the target of rule {name}: {}",
                failures(
                    targeted
                        .failed_entries()
                        .iter()
                        .map(|f| (f.error_code(), f.error_message()))
                )
            )));
        }
        Ok(())
    }

    async fn delete_trigger(&self, pipeline: &str, name: &str) -> Result<(), SchedulerError> {
        let rule = self.rule_name(pipeline, name);
        match self.rule(&rule).await? {
            Some(existing) if owner(existing.description()) == Some((pipeline, name)) => {
                self.remove_rule(&rule).await
            }
            // Missing, or another trigger's (a shared hashed name): this trigger has no rule.
            _ => Ok(()),
        }
    }

    async fn triggers(&self, pipeline: &str) -> Result<Vec<Trigger>, SchedulerError> {
        let mut triggers = self
            .owned_rules(pipeline)
            .await?
            .iter()
            .map(trigger_of)
            .collect::<Result<Vec<_>, _>>()?;
        triggers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(triggers)
    }

    async fn delete_pipeline_triggers(&self, pipeline: &str) -> Result<(), SchedulerError> {
        for rule in self.owned_rules(pipeline).await? {
            self.remove_rule(rule.name().unwrap_or_default()).await?;
        }
        Ok(())
    }
}

/// The rule's description, which records its owner.
pub fn description(trigger: &Trigger) -> String {
    format!(
        "{DESCRIPTION_START}{}{DESCRIPTION_OWNER}{}",
        trigger.name, trigger.pipeline
    )
}

/// The (pipeline, trigger name) a description records. Neither holds a space, so the split is exact.
fn owner(description: Option<&str>) -> Option<(&str, &str)> {
    let (name, pipeline) = description?
        .strip_prefix(DESCRIPTION_START)?
        .split_once(DESCRIPTION_OWNER)?;
    Some((pipeline, name))
}

/// The event pattern of an S3 or ECR trigger; `None` for a schedule.
pub fn event_pattern(fires_on: &FiresOn) -> Option<Value> {
    match fires_on {
        FiresOn::Schedule { .. } => None,
        FiresOn::S3ObjectCreated { bucket, key } => Some(json!({
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [key]}}
        })),
        FiresOn::EcrImagePushed { repository, tag } => Some(json!({
            "source": ["aws.ecr"],
            "detail-type": ["ECR Image Action"],
            "detail": {
                "action-type": ["PUSH"],
                "result": ["SUCCESS"],
                "repository-name": [repository],
                "image-tag": [tag]
            }
        })),
    }
}

/// The target's input template: the machine's input, with `<id>` the event's id. The pipeline name and
/// rule ARN are written as JSON strings; neither can hold `<` or `>`, so neither reads as a placeholder.
/// `<id>` stands inside quotes: a placeholder in quotes takes the value as text, on AWS and on moto.
pub fn input_template(pipeline: &str, rule_arn: &str) -> String {
    format!(
        r#"{{"pipeline": {}, "pipelineExecutionId": "<id>", "trigger": {{"triggerType": "CloudWatchEvent", "triggerDetail": {}}}}}"#,
        Value::from(pipeline),
        Value::from(rule_arn)
    )
}

/// The trigger a rule of this scheduler stands for.
fn trigger_of(rule: &Rule) -> Result<Trigger, SchedulerError> {
    let rule_name = rule.name().unwrap_or_default();
    let not_ours =
        |why: &str| backend(format!("rule {rule_name} is not as Sluice wrote it: {why}"));
    let (pipeline, name) =
        owner(rule.description()).ok_or_else(|| not_ours("its description names no trigger"))?;
    let fires_on = if let Some(expression) = rule.schedule_expression() {
        FiresOn::Schedule {
            expression: expression.to_string(),
        }
    } else {
        let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap_or_default())
            .map_err(|e| not_ours(&format!("its event pattern is not JSON: {e}")))?;
        fires_on_pattern(&pattern).ok_or_else(|| not_ours(&format!("event pattern {pattern}")))?
    };
    Ok(Trigger {
        pipeline: pipeline.to_string(),
        name: name.to_string(),
        fires_on,
        rule: None,
    })
}

/// Reads back a pattern [`event_pattern`] wrote.
fn fires_on_pattern(pattern: &Value) -> Option<FiresOn> {
    let one = |pointer: &str| {
        pattern
            .pointer(pointer)
            .and_then(Value::as_array)
            .filter(|values| values.len() == 1)
            .and_then(|values| values[0].as_str())
            .map(str::to_string)
    };
    match one("/source")?.as_str() {
        "aws.s3" => Some(FiresOn::S3ObjectCreated {
            bucket: one("/detail/bucket/name")?,
            key: one("/detail/object/key")?,
        }),
        "aws.ecr" => Some(FiresOn::EcrImagePushed {
            repository: one("/detail/repository-name")?,
            tag: one("/detail/image-tag")?,
        }),
        _ => None,
    }
}

fn failures<'a>(entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> String {
    entries
        .map(|(code, message)| {
            format!(
                "{}: {}",
                code.unwrap_or("error"),
                message.unwrap_or("no message")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn backend(message: String) -> SchedulerError {
    SchedulerError::Backend {
        message,
        source: None,
    }
}

/// Any other SDK failure. The error itself stays the source.
fn sdk<E, R>(error: SdkError<E, R>) -> SchedulerError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    SchedulerError::Backend {
        message: describe("EventBridge", &error),
        source: Some(Box::new(error)),
    }
}

/// The input transformer's paths: the event's id only.
pub fn input_paths() -> HashMap<String, String> {
    HashMap::from([("id".to_string(), "$.id".to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_records_the_owner() {
        let trigger = Trigger::schedule("team@Flow", "nightly", "rate(1 day)");
        assert_eq!(
            description(&trigger),
            "Sluice trigger nightly of pipeline team@Flow"
        );
        assert_eq!(
            owner(Some(&description(&trigger))),
            Some(("team@Flow", "nightly"))
        );
        assert_eq!(owner(Some("made by hand")), None);
        assert_eq!(owner(None), None);
    }

    #[test]
    fn patterns_read_back_as_the_trigger_they_were_made_from() {
        for fires_on in [
            FiresOn::S3ObjectCreated {
                bucket: "b-1".to_string(),
                key: "dir/app.zip".to_string(),
            },
            FiresOn::EcrImagePushed {
                repository: "team/app".to_string(),
                tag: "latest".to_string(),
            },
        ] {
            let pattern = event_pattern(&fires_on).unwrap();
            assert_eq!(fires_on_pattern(&pattern), Some(fires_on));
        }
        assert_eq!(
            event_pattern(&FiresOn::Schedule {
                expression: "rate(1 day)".to_string()
            }),
            None
        );
        assert_eq!(fires_on_pattern(&json!({"source": ["aws.ec2"]})), None);
    }

    #[test]
    fn the_template_is_the_machine_input_once_the_id_is_filled_in() {
        let template = input_template("team@Flow", "arn:aws:events:us-east-1:1:rule/s-team_Flow-n");
        let input: Value =
            serde_json::from_str(&template.replace("<id>", "0f4c2d5e-0000-4000-8000-000000000001"))
                .unwrap();
        assert_eq!(
            input,
            json!({
                "pipeline": "team@Flow",
                "pipelineExecutionId": "0f4c2d5e-0000-4000-8000-000000000001",
                "trigger": {
                    "triggerType": "CloudWatchEvent",
                    "triggerDetail": "arn:aws:events:us-east-1:1:rule/s-team_Flow-n"
                }
            })
        );
        assert_eq!(input_paths()["id"], "$.id");
    }
}
