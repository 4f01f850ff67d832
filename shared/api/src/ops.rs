//! The operations: each reads its input (already checked against `<Op>Input` in the model), calls the
//! core handlers over the ports, and writes the `<Op>Output` shape.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_core::action::{ActionTypes, keep_masked_secrets};
use sluice_core::approval::{ApprovalStatus, put_approval_result};
use sluice_core::compile::CompileOptions;
use sluice_core::model::limit;
use sluice_core::pipeline::{LoadError, PipelineFile};
use sluice_core::port::{
    ActionExecutionStore, ExecutionStore, PipelineStore, Ports, ResourceStore, StageStore,
};
use sluice_core::problem::Exception;
use sluice_core::problem::no_execution;
use sluice_core::record::{
    ActionExecution, ExecutionTrigger, LOCAL_ACCOUNT, PipelineExecution, PipelineExecutionStatus,
    SourceRevisionOverride, StoredPipeline,
};
use sluice_core::time::Timestamp;
use sluice_core::usecase::execution::{StartRequest, start_execution, stop_execution};
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_core::usecase::transition::{TransitionType, disable_transition, enable_transition};
use sluice_core::validate::{ValidationContext, validate};

use crate::error::ApiError;

/// Where the API runs: the account and Region its ARNs name.
#[derive(Debug, Clone)]
pub struct Service {
    pub account: String,
    pub region: String,
    pub compile: CompileOptions,
    /// Where the API is reached from outside, for the URLs it hands out (webhooks).
    pub base_url: String,
}

impl Default for Service {
    fn default() -> Self {
        Self {
            account: LOCAL_ACCOUNT.to_string(),
            region: "us-east-1".to_string(),
            compile: CompileOptions::default(),
            base_url: "http://127.0.0.1:4570".to_string(),
        }
    }
}

impl Service {
    pub fn pipeline_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:codepipeline:{}:{}:{name}",
            self.region, self.account
        )
    }

    /// The core's handlers name the local account in their errors; the API answers with its own.
    fn in_account(&self, error: ApiError) -> ApiError {
        match &error.missing_pipeline {
            Some(name) => self.not_found(name),
            None => error,
        }
    }

    pub(crate) fn not_found(&self, name: &str) -> ApiError {
        ApiError::pipeline_not_found(&self.account, name)
    }
}

/// The pipeline `name`, or PipelineNotFoundException.
async fn pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    name: &str,
) -> Result<StoredPipeline, ApiError> {
    ports
        .store()
        .pipeline(name)
        .await?
        .ok_or_else(|| service.not_found(name))
}

fn text<'a>(input: &'a Value, member: &str) -> &'a str {
    input
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn time(timestamp: Timestamp) -> Value {
    json!(timestamp.epoch_seconds())
}

/// Runs one operation.
pub async fn call<P: Ports>(
    ports: &P,
    service: &Service,
    operation: &str,
    input: Value,
) -> Result<Value, ApiError> {
    operate(ports, service, operation, input)
        .await
        .map_err(|error| service.in_account(error))
}

async fn operate<P: Ports>(
    ports: &P,
    service: &Service,
    operation: &str,
    input: Value,
) -> Result<Value, ApiError> {
    match operation {
        "CreatePipeline" => save_pipeline(ports, service, input, true).await,
        "UpdatePipeline" => save_pipeline(ports, service, input, false).await,
        "GetPipeline" => get_pipeline(ports, service, &input).await,
        "DeletePipeline" => {
            let name = text(&input, "name");
            sluice_core::usecase::pipeline::delete_pipeline(ports, name).await?;
            ports
                .store()
                .delete_resource("tags", &service.pipeline_arn(name))
                .await?;
            Ok(json!({}))
        }
        "ListPipelines" => list_pipelines(ports, &input).await,
        "StartPipelineExecution" => start(ports, &input).await,
        "StopPipelineExecution" => {
            let stopped = stop_execution(
                ports,
                text(&input, "pipelineName"),
                text(&input, "pipelineExecutionId"),
                input
                    .get("abandon")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                input.get("reason").and_then(Value::as_str),
            )
            .await?;
            Ok(json!({ "pipelineExecutionId": stopped.pipeline_execution_id }))
        }
        "GetPipelineExecution" => {
            let execution = execution(ports, service, &input).await?;
            Ok(json!({ "pipelineExecution": pipeline_execution(&execution) }))
        }
        "ListPipelineExecutions" => list_executions(ports, service, &input).await,
        "ListActionExecutions" => list_action_executions(ports, service, &input).await,
        "GetPipelineState" => pipeline_state(ports, service, &input).await,
        "PollForJobs" => {
            let max = input
                .get("maxBatchSize")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(1);
            let query = input
                .get("queryParam")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let type_id = input.get("actionTypeId").cloned().unwrap_or_default();
            let jobs = sluice_core::job::poll(ports, &type_id, max, &query).await?;
            Ok(json!({ "jobs": jobs }))
        }
        "AcknowledgeJob" => {
            let status =
                sluice_core::job::acknowledge(ports, text(&input, "jobId"), text(&input, "nonce"))
                    .await?;
            Ok(json!({ "status": status }))
        }
        "GetJobDetails" => Ok(json!({
            "jobDetails": sluice_core::job::details(ports, text(&input, "jobId")).await?
        })),
        "PutJobSuccessResult" => {
            let details = input.get("executionDetails").cloned().unwrap_or_default();
            let success = sluice_core::port::JobSuccess {
                output_variables: input
                    .get("outputVariables")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default(),
                summary: details
                    .get("summary")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                external_execution_id: details
                    .get("externalExecutionId")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                log: None,
            };
            sluice_core::job::finish(
                ports,
                text(&input, "jobId"),
                Ok(success),
                input.get("continuationToken").and_then(Value::as_str),
            )
            .await?;
            Ok(json!({}))
        }
        "PutJobFailureResult" => {
            let details = input.get("failureDetails").cloned().unwrap_or_default();
            let failure = sluice_core::port::JobFailure {
                failure_type: text(&details, "type").to_string(),
                message: text(&details, "message").to_string(),
                log: None,
            };
            sluice_core::job::finish(ports, text(&input, "jobId"), Err(failure), None).await?;
            Ok(json!({}))
        }
        "RetryStageExecution" => {
            let retried = sluice_core::usecase::execution::retry_stage(
                ports,
                text(&input, "pipelineName"),
                text(&input, "stageName"),
                text(&input, "pipelineExecutionId"),
                text(&input, "retryMode"),
            )
            .await?;
            Ok(json!({ "pipelineExecutionId": retried.pipeline_execution_id }))
        }
        "DisableStageTransition" | "EnableStageTransition" => {
            let transition = match text(&input, "transitionType") {
                "Outbound" => TransitionType::Outbound,
                _ => TransitionType::Inbound,
            };
            let (pipeline, stage) = (text(&input, "pipelineName"), text(&input, "stageName"));
            if operation == "DisableStageTransition" {
                disable_transition(ports, pipeline, stage, transition, text(&input, "reason"))
                    .await?;
            } else {
                enable_transition(ports, pipeline, stage, transition).await?;
            }
            Ok(json!({}))
        }
        "PutApprovalResult" => {
            let result = input.get("result").cloned().unwrap_or_default();
            let status = match text(&result, "status") {
                "Approved" => ApprovalStatus::Approved,
                _ => ApprovalStatus::Rejected,
            };
            let approved_at = put_approval_result(
                ports,
                text(&input, "pipelineName"),
                text(&input, "stageName"),
                text(&input, "actionName"),
                text(&input, "token"),
                status,
                text(&result, "summary"),
            )
            .await?;
            Ok(json!({ "approvedAt": time(approved_at) }))
        }
        other => match crate::resources::call(ports, service, other, &input).await {
            Some(answer) => answer,
            None => Err(ApiError::new(
                Exception::UnsupportedOperationException,
                format!("Sluice does not support the operation {other} yet"),
            )),
        },
    }
}

async fn save_pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    input: Value,
    create: bool,
) -> Result<Value, ApiError> {
    let file = PipelineFile::from_value(input).map_err(|e| match e {
        LoadError::Shape(problems) => ApiError::from_problems(&problems),
        LoadError::Syntax { source, .. } => ApiError::serialization(source.to_string()),
    })?;
    let context = ValidationContext {
        region: service.region.clone(),
        action_types: crate::resources::action_types(ports).await?,
    };
    let problems = validate(&file, &context);
    if !problems.is_empty() {
        return Err(ApiError::from_problems(&problems));
    }
    let name = &file.pipeline.name;
    let existing = ports.store().pipeline(name).await?;
    match (&existing, create) {
        (Some(_), true) => {
            return Err(ApiError::new(
                Exception::PipelineNameInUseException,
                format!(
                    "A pipeline with the name '{name}' already exists in account '{}'",
                    service.account
                ),
            ));
        }
        (None, false) => return Err(service.not_found(name)),
        (Some(old), false) => {
            if let Some(given) = file.pipeline.version
                && given != old.version()
            {
                return Err(ApiError::new(
                    Exception::InvalidStructureException,
                    format!(
                        "The pipeline version {given} does not match the current version {} of pipeline '{name}'",
                        old.version()
                    ),
                ));
            }
        }
        (None, true) => {}
    }
    let mut declaration = file.pipeline.clone();
    keep_masked_secrets(
        &mut declaration,
        existing.as_ref().map(|old| &old.declaration),
        &context.action_types,
    )
    .map_err(|e| ApiError::new(Exception::InvalidActionDeclarationException, e.to_string()))?;
    let tags = serde_json::to_value(&file.tags).unwrap_or_default();
    let tags = tags.as_array().cloned().unwrap_or_default();
    if create {
        crate::resources::schedules_of(name, &tags)?;
    }
    let stored = put_pipeline(ports, &declaration, &service.compile).await?;
    let shown = context.action_types.masked_declaration(&stored.declaration);
    let mut output = json!({ "pipeline": shown });
    if create && !tags.is_empty() {
        let arn = service.pipeline_arn(name);
        crate::resources::add_tags(ports, &arn, &tags).await?;
        crate::resources::sync_schedules(ports, service, &arn).await?;
        output["tags"] = json!(tags);
    }
    Ok(output)
}

async fn get_pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    let stored = match input.get("version").and_then(Value::as_i64) {
        Some(version) => {
            let version = i32::try_from(version).unwrap_or(i32::MAX);
            let found = ports.store().pipeline_version(name, version).await?;
            if found.is_none() && ports.store().pipeline(name).await?.is_some() {
                return Err(ApiError::new(
                    Exception::PipelineVersionNotFoundException,
                    format!("Pipeline '{name}' has no version {version}"),
                ));
            }
            found
        }
        None => ports.store().pipeline(name).await?,
    }
    .ok_or_else(|| service.not_found(name))?;
    let types = crate::resources::action_types(ports).await?;
    Ok(json!({
        "pipeline": types.masked_declaration(&stored.declaration),
        "metadata": {
            "pipelineArn": service.pipeline_arn(name),
            "created": time(stored.created),
            "updated": time(stored.updated),
        }
    }))
}

/// A page of `items` from the offset `nextToken` holds.
fn page<T>(
    items: Vec<T>,
    input: &Value,
    default_size: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::new(
                Exception::InvalidNextTokenException,
                "The next token is not valid",
            )
        })?,
    };
    let size = input
        .get("maxResults")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(default_size)
        .max(1);
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page, next))
}

async fn list_pipelines<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
    let pipelines = ports.store().pipelines().await?;
    let (pipelines, next) = page(pipelines, input, 100)?;
    let summaries: Vec<Value> = pipelines.iter().map(pipeline_summary).collect();
    let mut output = json!({ "pipelines": summaries });
    if let Some(next) = next {
        output["nextToken"] = json!(next);
    }
    Ok(output)
}

fn pipeline_summary(stored: &StoredPipeline) -> Value {
    let declaration = &stored.declaration;
    json!({
        "name": declaration.name,
        "version": stored.version(),
        "pipelineType": declaration.pipeline_type.map(|t| serde_json::to_value(t).unwrap_or_default()).unwrap_or(json!("V1")),
        "executionMode": serde_json::to_value(declaration.execution_mode()).unwrap_or_default(),
        "created": time(stored.created),
        "updated": time(stored.updated),
    })
}

async fn start<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
    let name = text(input, "name");
    let token = input.get("clientRequestToken").and_then(Value::as_str);
    let execution_id = ports.ids().uuid();
    if let Some(token) = token {
        // Idempotency: the token is reserved for one execution id; a repeat gets that id.
        let key = format!("{name}/{token}");
        let reservation = json!({ "pipelineExecutionId": execution_id });
        match ports
            .store()
            .put_resource("client-request-token", &key, &reservation, 0)
            .await
        {
            Ok(()) => {}
            Err(sluice_core::port::StoreError::AlreadyExists { .. }) => {
                let existing = ports
                    .store()
                    .resource("client-request-token", &key)
                    .await?
                    .and_then(|(doc, _)| doc.get("pipelineExecutionId").cloned())
                    .unwrap_or_default();
                return Ok(json!({ "pipelineExecutionId": existing }));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let variables: BTreeMap<String, String> = input
        .get("variables")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|v| (text(v, "name").to_string(), text(v, "value").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let source_revisions = input
        .get("sourceRevisions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|r| SourceRevisionOverride {
                    action_name: text(r, "actionName").to_string(),
                    revision_type: text(r, "revisionType").to_string(),
                    revision_value: text(r, "revisionValue").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let execution = start_execution(
        ports,
        name,
        StartRequest {
            variables,
            source_revisions,
            pipeline_execution_id: Some(execution_id),
            client_request_token: token.map(str::to_string),
            trigger: Some(ExecutionTrigger {
                trigger_type: "StartPipelineExecution".to_string(),
                trigger_detail: None,
            }),
        },
    )
    .await;
    let execution = match execution {
        Ok(execution) => execution,
        Err(error) => {
            // Nothing started: the token is free for a corrected request.
            if let Some(token) = token {
                ports
                    .store()
                    .delete_resource("client-request-token", &format!("{name}/{token}"))
                    .await?;
            }
            return Err(error.into());
        }
    };
    Ok(json!({ "pipelineExecutionId": execution.pipeline_execution_id }))
}

async fn execution<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<PipelineExecution, ApiError> {
    let (name, id) = (
        text(input, "pipelineName"),
        text(input, "pipelineExecutionId"),
    );
    pipeline(ports, service, name).await?;
    ports.store().execution(name, id).await?.ok_or_else(|| {
        ApiError::new(
            Exception::PipelineExecutionNotFoundException,
            no_execution(name, id),
        )
    })
}

fn trigger(execution: &PipelineExecution) -> Value {
    let mut trigger = json!({ "triggerType": execution.trigger.trigger_type });
    if let Some(detail) = &execution.trigger.trigger_detail {
        trigger["triggerDetail"] = json!(detail);
    }
    trigger
}

fn pipeline_execution(execution: &PipelineExecution) -> Value {
    let mut value = json!({
        "pipelineName": execution.pipeline_name,
        "pipelineVersion": execution.pipeline_version,
        "pipelineExecutionId": execution.pipeline_execution_id,
        "status": execution.status.name(),
        "artifactRevisions": [],
        "variables": execution.variables.iter().map(|(name, value)| json!({"name": name, "resolvedValue": value})).collect::<Vec<_>>(),
        "trigger": trigger(execution),
        "executionMode": serde_json::to_value(execution.execution_mode).unwrap_or_default(),
        "executionType": "STANDARD",
    });
    if let Some(summary) = &execution.status_summary {
        value["statusSummary"] = json!(summary);
    }
    value
}

async fn list_executions<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "pipelineName");
    pipeline(ports, service, name).await?;
    let executions = ports.store().executions(name).await?;
    let (executions, next) = page(executions, input, 100)?;
    let summaries: Vec<Value> = executions
        .iter()
        .map(|e| {
            let mut summary = json!({
                "pipelineExecutionId": e.pipeline_execution_id,
                "status": e.status.name(),
                "startTime": time(e.start_time),
                "lastUpdateTime": time(e.last_update_time),
                "sourceRevisions": [],
                "trigger": trigger(e),
                "executionMode": serde_json::to_value(e.execution_mode).unwrap_or_default(),
                "executionType": "STANDARD",
            });
            if let Some(text) = &e.status_summary {
                summary["statusSummary"] = json!(text);
            }
            if matches!(
                e.status,
                PipelineExecutionStatus::Stopped | PipelineExecutionStatus::Stopping
            ) {
                // The stop reason, which the execution's summary holds while it stops and once it has.
                let reason = e.status_summary.as_deref().unwrap_or_default();
                summary["stopTrigger"] =
                    json!({ "reason": limit::fit(reason, limit::STOP_REASON) });
            }
            summary
        })
        .collect();
    let mut output = json!({ "pipelineExecutionSummaries": summaries });
    if let Some(next) = next {
        output["nextToken"] = json!(next);
    }
    Ok(output)
}

fn artifact_details(artifacts: &[sluice_core::record::ArtifactDetail]) -> Value {
    json!(artifacts
        .iter()
        .map(|a| json!({"name": a.name, "s3location": {"bucket": a.location.bucket_name, "key": a.location.object_key}}))
        .collect::<Vec<_>>())
}

/// An action execution as ListActionExecutions shows it. The worker records secret values masked
/// already; records written before it did are masked here.
fn action_execution_detail(a: &ActionExecution, service: &Service, types: &ActionTypes) -> Value {
    let mut result = json!({});
    if let Some(id) = &a.external_execution_id {
        result["externalExecutionId"] = json!(id);
    }
    if let Some(summary) = &a.summary {
        result["externalExecutionSummary"] = json!(summary);
    }
    if let Some(error) = &a.error_details {
        result["errorDetails"] = json!({"code": error.code, "message": error.message});
    }
    let mut input = json!({
        "actionTypeId": a.action_type_id,
        "configuration": types.masked_configuration(&a.action_type_id, &a.configuration),
        "resolvedConfiguration": types.masked_configuration(&a.action_type_id, &a.resolved_configuration),
        "region": service.region,
        "inputArtifacts": artifact_details(&a.input_artifacts),
    });
    if let Some(namespace) = &a.namespace {
        input["namespace"] = json!(namespace);
    }
    json!({
        "pipelineExecutionId": a.pipeline_execution_id,
        "actionExecutionId": a.action_execution_id,
        "pipelineVersion": a.pipeline_version,
        "stageName": a.stage_name,
        "actionName": a.action_name,
        "startTime": time(a.start_time),
        "lastUpdateTime": time(a.last_update_time),
        "status": a.status.name(),
        "input": input,
        "output": {
            "outputArtifacts": artifact_details(&a.output_artifacts),
            "executionResult": result,
            "outputVariables": a.output_variables,
        }
    })
}

async fn list_action_executions<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "pipelineName");
    pipeline(ports, service, name).await?;
    let filter = input
        .get("filter")
        .and_then(|f| f.get("pipelineExecutionId"))
        .and_then(Value::as_str);
    if let Some(id) = filter
        && ports.store().execution(name, id).await?.is_none()
    {
        return Err(ApiError::new(
            Exception::PipelineExecutionNotFoundException,
            no_execution(name, id),
        ));
    }
    // Newest first, as CodePipeline lists them.
    let mut actions = ports.store().action_executions(name, filter).await?;
    actions.reverse();
    let (actions, next) = page(actions, input, 100)?;
    let types = crate::resources::action_types(ports).await?;
    let mut output = json!({
        "actionExecutionDetails": actions.iter().map(|a| action_execution_detail(a, service, &types)).collect::<Vec<_>>()
    });
    if let Some(next) = next {
        output["nextToken"] = json!(next);
    }
    Ok(output)
}

async fn pipeline_state<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    let stored = pipeline(ports, service, name).await?;
    // Only the latest of everything: the cost does not grow with the pipeline's history.
    let actions = ports.store().latest_action_executions(name).await?;
    let latest_stages = ports.store().latest_stage_executions(name).await?;
    let mut stage_states = Vec::new();
    for stage in &stored.declaration.stages {
        let (gate, _) = ports.store().gate(name, &stage.name).await?;
        let mut transition = json!({ "enabled": gate.inbound_enabled });
        if let Some(reason) = &gate.disabled_reason {
            transition["disabledReason"] = json!(reason);
        }
        if let Some(at) = gate.last_changed_at {
            transition["lastChangedAt"] = time(at);
        }
        if let Some(by) = &gate.last_changed_by {
            transition["lastChangedBy"] = json!(by);
        }
        let mut state = json!({
            "stageName": stage.name,
            "inboundTransitionState": transition,
        });
        let mut inbound = Vec::new();
        for waiting in &gate.waiting {
            let status = ports
                .store()
                .execution(name, &waiting.execution_id)
                .await?
                .map(|e| e.status.name())
                .unwrap_or("InProgress");
            inbound.push(json!({"pipelineExecutionId": waiting.execution_id, "status": status, "type": "STANDARD"}));
        }
        if let Some(first) = inbound.first() {
            state["inboundExecution"] = first.clone();
            state["inboundExecutions"] = json!(inbound);
        }
        if let Some(entered) = latest_stages.iter().find(|s| s.stage_name == stage.name) {
            state["latestExecution"] = json!({
                "pipelineExecutionId": entered.pipeline_execution_id,
                "status": entered.status.name(),
                "type": "STANDARD",
            });
        }
        let action_states: Vec<Value> = stage
            .actions
            .iter()
            .map(|action| {
                let mut action_state = json!({ "actionName": action.name });
                if let Some(latest) = actions
                    .iter()
                    .find(|a| a.stage_name == stage.name && a.action_name == action.name)
                {
                    let mut execution = json!({
                        "actionExecutionId": latest.action_execution_id,
                        "status": latest.status.name(),
                        "lastStatusChange": time(latest.last_update_time),
                    });
                    if let Some(summary) = &latest.summary {
                        execution["summary"] = json!(summary);
                    }
                    if let Some(id) = &latest.external_execution_id {
                        execution["externalExecutionId"] = json!(id);
                    }
                    if let Some(error) = &latest.error_details {
                        execution["errorDetails"] =
                            json!({"code": error.code, "message": error.message});
                    }
                    let waiting_approval = latest.status
                        == sluice_core::record::ActionExecutionStatus::InProgress
                        && latest.action_type_id.category
                            == sluice_core::pipeline::declaration::ActionCategory::Approval;
                    if waiting_approval {
                        execution["token"] = json!(latest.action_execution_id);
                    }
                    action_state["latestExecution"] = execution;
                }
                action_state
            })
            .collect();
        state["actionStates"] = json!(action_states);
        stage_states.push(state);
    }
    Ok(json!({
        "pipelineName": name,
        "pipelineVersion": stored.version(),
        "stageStates": stage_states,
        "created": time(stored.created),
        "updated": time(stored.updated),
    }))
}
