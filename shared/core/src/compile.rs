//! A pipeline compiled into the Amazon States Language machine that runs it (docs/architecture.md, "The compiled state machine"), the same on
//! Step Functions and in the embedded engine:
//!
//! ```text
//! Start ─ Resume? ─▶ <stage>: Enter ─▶ <stage>: RunOrder 1 ─▶ … ─▶ <stage>: Exit ─▶ … ─▶ Finish ─▶ Succeeded
//!   │                  (dispatcher,     (Parallel: one branch per action,
//!   │                   callback)        each a callback Task to its category's worker)
//!   │      any stage failure ─▶ <stage>: Failed (dispatcher) ─▶ Failed
//!   └─ Sluice.DuplicateStart ─▶ Duplicate (Succeed: another machine runs this execution)
//! ```
//!
//! The machine carries references only (pipeline, execution id, stage, action), never artifacts. Its
//! input is `{"pipeline", "pipelineExecutionId", "resumeFrom"?, "trigger"?}`; `resumeFrom` names the
//! stage a retry starts at; `trigger` is set by an EventBridge rule's target, which starts the machine
//! before any record exists (the dispatcher's Start records it). Output is deterministic: the same
//! pipeline gives the same JSON, byte for byte.

use serde_json::{Map, Value, json};

use crate::action::catalog::timeout_minutes;
use crate::pipeline::declaration::{ActionCategory, PipelineDeclaration, StageDeclaration};

use crate::protocol::{DUPLICATE_START_ERROR, PayloadKind, TRANSIENT_ERROR, worker_of};

/// The longest state name Step Functions accepts.
const MAX_STATE_NAME: usize = 80;

/// The Lambda invoke integrations the machine uses.
const INVOKE: &str = "arn:aws:states:::lambda:invoke";
const INVOKE_AND_WAIT: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/// Which functions the machine calls: names or ARNs, as the deployment has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    /// Execution and stage bookkeeping: start, stage entry (transition gate, lock), exit, failure.
    pub dispatcher: String,
    /// Workers are `{prefix}-source`, `-build`, `-deploy` and `-invoke` ([`CompileOptions::worker`]).
    pub worker_prefix: String,
    /// How the machine's tasks reach the functions.
    pub transport: Transport,
}

/// How a compiled machine calls its dispatcher and workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Lambda invocations (`lambda:invoke`, `.waitForTaskToken` for callbacks): Step Functions, and the
    /// embedded engine, which routes them to the handlers in process.
    #[default]
    Lambda,
    /// FOR TESTS ON EMULATORS THAT CANNOT INVOKE LAMBDA (moto runs functions only in Docker): every task
    /// puts `{"function", "payload", "taskToken"}` on the default event bus and waits for its token; a test
    /// bridge reads the scheduled tasks from the execution's history, calls the same handlers a function
    /// would, and answers the token. Never for a deployment.
    TestBridge,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            dispatcher: "sluice-dispatcher".to_string(),
            worker_prefix: "sluice-worker".to_string(),
            transport: Transport::Lambda,
        }
    }
}

impl CompileOptions {
    pub fn worker(&self, category: ActionCategory) -> String {
        format!("{}-{}", self.worker_prefix, worker_of(category))
    }
}

/// How the machine runs a dispatcher or worker step again after it failed with [`TRANSIENT_ERROR`]
/// (docs/decisions.md, "Transient faults"). The step has already tried again in process, and on AWS the
/// SDK has retried each call, so these retries are for an outage of seconds to a minute or two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransientRetry {
    /// The first retry waits up to this long.
    pub interval_seconds: u64,
    /// Each retry may wait this many times longer than the one before.
    pub backoff_rate: f64,
    /// Retries after the first try.
    pub max_attempts: u64,
    /// No wait is longer than this.
    pub max_delay_seconds: u64,
}

/// Waits of at most 1, 2, 4, 8, 16, 30, 30 and 30 seconds (FULL jitter: a random part of each), so a step
/// rides out about two minutes of throttling, and executions throttled together do not retry together.
pub const TRANSIENT_RETRY: TransientRetry = TransientRetry {
    interval_seconds: 1,
    backoff_rate: 2.0,
    max_attempts: 8,
    max_delay_seconds: 30,
};

impl TransientRetry {
    /// The retrier, first in every dispatcher and worker Task's Retry: a Catch (of `States.ALL`, on
    /// the Task or around it) sees the error only once these retries are spent.
    pub fn retrier(&self) -> Value {
        json!({
            "ErrorEquals": [TRANSIENT_ERROR],
            "IntervalSeconds": self.interval_seconds,
            "BackoffRate": self.backoff_rate,
            "MaxAttempts": self.max_attempts,
            "MaxDelaySeconds": self.max_delay_seconds,
            "JitterStrategy": "FULL"
        })
    }
}

/// Retries for the Lambda service's own transient errors, as the developer guide recommends for every
/// Lambda task.
fn lambda_retry() -> Value {
    json!({
        "ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2.0
    })
}

/// The payload every dispatcher and worker call carries: what it is about, never artifacts.
fn payload(
    kind: PayloadKind,
    stage: Option<&str>,
    action: Option<&str>,
    with_token: bool,
) -> Value {
    let mut payload = Map::new();
    payload.insert("kind".into(), json!(kind.name()));
    payload.insert("pipeline.$".into(), json!("$.pipeline"));
    payload.insert(
        "pipelineExecutionId.$".into(),
        json!("$.pipelineExecutionId"),
    );
    if let Some(stage) = stage {
        payload.insert("stage".into(), json!(stage));
    }
    if let Some(action) = action {
        payload.insert("action".into(), json!(action));
    }
    if with_token {
        payload.insert("token.$".into(), json!("$$.Task.Token"));
    }
    Value::Object(payload)
}

fn invoke(options: &CompileOptions, function: &str, payload: Value, wait_for_token: bool) -> Value {
    match options.transport {
        Transport::Lambda => json!({
            "Type": "Task",
            "Resource": if wait_for_token { INVOKE_AND_WAIT } else { INVOKE },
            "Parameters": { "FunctionName": function, "Payload": payload },
            "ResultPath": null,
            "Retry": [TRANSIENT_RETRY.retrier(), lambda_retry()],
        }),
        Transport::TestBridge => json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
            "Parameters": { "Entries": [{
                "Source": "sluice.test-bridge",
                "DetailType": function,
                "Detail": { "function": function, "payload": payload, "taskToken.$": "$$.Task.Token" }
            }]},
            "ResultPath": null,
            // The bridge fails the token with the handler's error, Sluice.Transient included.
            "Retry": [TRANSIENT_RETRY.retrier()],
        }),
    }
}

/// Readable, unique state names within Step Functions' 80 characters: `<stage>: <what>` (stage names
/// cannot hold ": ", so no two stages' states meet), shortened with the stage's position when long.
fn state_name(stage_index: usize, stage: &str, what: &str) -> String {
    let full = format!("{stage}: {what}");
    if full.chars().count() <= MAX_STATE_NAME {
        return full;
    }
    let suffix = format!(": {what}");
    let prefix = format!("#{} ", stage_index + 1);
    let room = MAX_STATE_NAME.saturating_sub(prefix.chars().count() + suffix.chars().count() + 1);
    let short: String = stage.chars().take(room).collect();
    let name = format!("{prefix}{short}…{suffix}");
    name.chars().take(MAX_STATE_NAME).collect()
}

/// Compiles a pipeline (which validation accepted) into its state machine definition.
pub fn compile(pipeline: &PipelineDeclaration, options: &CompileOptions) -> Value {
    let mut states = Map::new();
    let stage_names: Vec<(String, &StageDeclaration)> = pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| (state_name(i, &stage.name, "Enter"), stage))
        .collect();
    let first_enter = stage_names
        .first()
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "Finish".to_string());

    // The start carries what recording an execution a rule started needs: the whole input (its
    // `trigger`) and this machine's id, which tells a duplicate delivery's machine from the first. Neither
    // path can be missing (`$` and `$$.Execution.Id` always exist), so no input fails the state.
    let mut start_payload = payload(PayloadKind::ExecutionStarted, None, None, false);
    start_payload["input.$"] = json!("$");
    start_payload["execution.$"] = json!("$$.Execution.Id");
    let mut start = invoke(options, &options.dispatcher, start_payload, false);
    start["Next"] = json!("Resume");
    start["Catch"] = json!([{ "ErrorEquals": [DUPLICATE_START_ERROR], "ResultPath": "$.error", "Next": "Duplicate" }]);
    states.insert("Start".into(), start);
    states.insert(
        "Duplicate".into(),
        json!({
            "Type": "Succeed",
            "Comment": "A second delivery of the event that started this execution: the machine that recorded it runs it, and this one ends without changing it"
        }),
    );

    // A retried execution starts at the stage it names; every other starts at the first stage.
    let choices: Vec<Value> = stage_names
        .iter()
        .map(|(enter, stage)| {
            json!({
                "And": [
                    {"Variable": "$.resumeFrom", "IsPresent": true},
                    {"Variable": "$.resumeFrom", "StringEquals": stage.name}
                ],
                "Next": enter
            })
        })
        .collect();
    states.insert(
        "Resume".into(),
        json!({ "Type": "Choice", "Choices": choices, "Default": first_enter }),
    );

    for (index, stage) in pipeline.stages.iter().enumerate() {
        let name = &stage.name;
        let enter = state_name(index, name, "Enter");
        let exit = state_name(index, name, "Exit");
        let failed = state_name(index, name, "Failed");
        let next_stage = stage_names
            .get(index + 1)
            .map(|(enter, _)| enter.clone())
            .unwrap_or_else(|| "Finish".to_string());

        let mut groups: Vec<i32> = stage.actions.iter().map(|a| a.run_order()).collect();
        groups.sort_unstable();
        groups.dedup();
        let group_names: Vec<String> = groups
            .iter()
            .map(|order| state_name(index, name, &format!("RunOrder {order}")))
            .collect();

        // Entry waits on the dispatcher: the inbound transition and the stage lock may hold it.
        let mut entry = invoke(
            options,
            &options.dispatcher,
            payload(PayloadKind::StageEnter, Some(name), None, true),
            true,
        );
        entry["Next"] = json!(group_names.first().unwrap_or(&exit));
        entry["Catch"] =
            json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed }]);
        states.insert(enter, entry);

        for (group, (order, group_name)) in groups.iter().zip(&group_names).enumerate() {
            let branches: Vec<Value> = stage
                .actions
                .iter()
                .filter(|action| action.run_order() == *order)
                .map(|action| {
                    // "Action …" keeps an action named like a stage step ("Enter") apart from it.
                    let task_name = state_name(index, name, &format!("Action {}", action.name));
                    let minutes = timeout_minutes(action);
                    // The run (the machine's execution name) tells the worker which attempt of the
                    // action this is: its step is idempotent on it.
                    let mut action_payload =
                        payload(PayloadKind::Action, Some(name), Some(&action.name), true);
                    action_payload["run.$"] = json!("$$.Execution.Name");
                    let mut task = invoke(
                        options,
                        &options.worker(action.action_type_id.category),
                        action_payload,
                        true,
                    );
                    task["TimeoutSeconds"] = json!(minutes * 60);
                    task["End"] = json!(true);
                    json!({ "StartAt": task_name, "States": { task_name.clone(): task } })
                })
                .collect();
            let next = group_names.get(group + 1).unwrap_or(&exit);
            states.insert(
                group_name.clone(),
                json!({
                    "Type": "Parallel",
                    "Branches": branches,
                    "ResultPath": null,
                    "Next": next,
                    "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed }]
                }),
            );
        }

        let mut exit_state = invoke(
            options,
            &options.dispatcher,
            payload(PayloadKind::StageExit, Some(name), None, false),
            false,
        );
        exit_state["Next"] = json!(next_stage);
        exit_state["Catch"] =
            json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed }]);
        states.insert(exit, exit_state);

        // A failure is recorded (and the stage released) before the execution fails.
        let mut failure_payload = payload(PayloadKind::StageFailed, Some(name), None, false);
        failure_payload["error.$"] = json!("$.error");
        let mut failure = invoke(options, &options.dispatcher, failure_payload, false);
        failure["Next"] = json!("Failed");
        states.insert(failed, failure);
    }

    let mut finish = invoke(
        options,
        &options.dispatcher,
        payload(PayloadKind::ExecutionSucceeded, None, None, false),
        false,
    );
    finish["Next"] = json!("Succeeded");
    states.insert("Finish".into(), finish);
    states.insert("Succeeded".into(), json!({ "Type": "Succeed" }));
    states.insert(
        "Failed".into(),
        json!({ "Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause" }),
    );

    json!({
        "Comment": format!("Pipeline {}: compiled by Sluice from its CodePipeline declaration", pipeline.name),
        "StartAt": "Start",
        "States": states,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shortened_uniquely_within_80_characters() {
        let long = "S".repeat(100);
        let name = state_name(3, &long, "RunOrder 1");
        assert!(name.chars().count() <= 80, "{name}");
        assert!(
            name.starts_with("#4 ") && name.ends_with(": RunOrder 1"),
            "{name}"
        );
        assert_eq!(state_name(0, "Build", "Enter"), "Build: Enter");
    }

    #[test]
    fn the_test_bridge_transport_invokes_no_lambda_and_carries_every_payload() {
        let pipeline: PipelineDeclaration = serde_json::from_value(json!({
            "name": "P", "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": [
                {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "A"}]}]},
                {"name": "Approve", "actions": [{"name": "R", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}
            ]
        }))
        .unwrap();
        let options = CompileOptions {
            transport: Transport::TestBridge,
            ..CompileOptions::default()
        };
        let machine = compile(&pipeline, &options).to_string();
        assert!(!machine.contains("lambda:invoke"), "{machine}");
        let lambda = compile(&pipeline, &CompileOptions::default()).to_string();
        assert_eq!(
            machine.matches("events:putEvents.waitForTaskToken").count(),
            lambda.matches("lambda:invoke").count(),
            "one bridged task for every Lambda task"
        );
        assert!(!machine.contains(r#""FunctionName""#));
        assert!(machine.contains(r#""function":"sluice-worker-invoke""#));
    }

    #[test]
    fn the_four_workers_share_the_categories() {
        let options = CompileOptions::default();
        let worker = |category| options.worker(category);
        assert_eq!(worker(ActionCategory::Source), "sluice-worker-source");
        assert_eq!(worker(ActionCategory::Build), "sluice-worker-build");
        assert_eq!(worker(ActionCategory::Test), "sluice-worker-build");
        assert_eq!(worker(ActionCategory::Compute), "sluice-worker-build");
        assert_eq!(worker(ActionCategory::Deploy), "sluice-worker-deploy");
        assert_eq!(worker(ActionCategory::Approval), "sluice-worker-invoke");
        assert_eq!(worker(ActionCategory::Invoke), "sluice-worker-invoke");
    }
}
