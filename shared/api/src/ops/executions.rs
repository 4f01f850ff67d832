//! The execution operations: start, stop, get, list and retry executions; stage transitions; approvals.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_core::approval::ApprovalStatus;
use sluice_core::model::limit;
use sluice_core::port::{ExecutionStore, Ports, ResourceStore};
use sluice_core::problem::{Exception, no_execution};
use sluice_core::record::{
    ExecutionTrigger, PipelineExecution, PipelineExecutionStatus, SourceRevisionOverride,
};
use sluice_core::usecase::execution::{StartRequest, start_execution, stop_execution};
use sluice_core::usecase::transition::{TransitionType, disable_transition, enable_transition};

use super::pipelines::pipeline;
use super::{page, text, time};
use crate::error::ApiError;
use crate::service::Service;

pub(super) async fn start<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
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

/// StopPipelineExecution.
pub(super) async fn stop_pipeline_execution<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    let stopped = stop_execution(
        ports,
        text(input, "pipelineName"),
        text(input, "pipelineExecutionId"),
        input
            .get("abandon")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        input.get("reason").and_then(Value::as_str),
    )
    .await?;
    Ok(json!({ "pipelineExecutionId": stopped.pipeline_execution_id }))
}

pub(super) async fn execution<P: Ports>(
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

/// GetPipelineExecution.
pub(super) async fn get_pipeline_execution<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let execution = execution(ports, service, input).await?;
    Ok(json!({ "pipelineExecution": pipeline_execution(&execution) }))
}

pub(super) fn trigger(execution: &PipelineExecution) -> Value {
    let mut trigger = json!({ "triggerType": execution.trigger.trigger_type });
    if let Some(detail) = &execution.trigger.trigger_detail {
        trigger["triggerDetail"] = json!(detail);
    }
    trigger
}

pub(super) fn pipeline_execution(execution: &PipelineExecution) -> Value {
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

pub(super) async fn list_executions<P: Ports>(
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

/// RetryStageExecution.
pub(super) async fn retry_stage_execution<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    let retried = sluice_core::usecase::execution::retry_stage(
        ports,
        text(input, "pipelineName"),
        text(input, "stageName"),
        text(input, "pipelineExecutionId"),
        text(input, "retryMode"),
    )
    .await?;
    Ok(json!({ "pipelineExecutionId": retried.pipeline_execution_id }))
}

/// PutApprovalResult.
pub(super) async fn put_approval_result<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    let result = input.get("result").cloned().unwrap_or_default();
    let status = match text(&result, "status") {
        "Approved" => ApprovalStatus::Approved,
        _ => ApprovalStatus::Rejected,
    };
    let approved_at = sluice_core::approval::put_approval_result(
        ports,
        text(input, "pipelineName"),
        text(input, "stageName"),
        text(input, "actionName"),
        text(input, "token"),
        status,
        text(&result, "summary"),
    )
    .await?;
    Ok(json!({ "approvedAt": time(approved_at) }))
}

/// The transition DisableStageTransition and EnableStageTransition name.
fn transition_type(input: &Value) -> TransitionType {
    match text(input, "transitionType") {
        "Outbound" => TransitionType::Outbound,
        _ => TransitionType::Inbound,
    }
}

/// DisableStageTransition.
pub(super) async fn disable_stage_transition<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    disable_transition(
        ports,
        text(input, "pipelineName"),
        text(input, "stageName"),
        transition_type(input),
        text(input, "reason"),
    )
    .await?;
    Ok(json!({}))
}

/// EnableStageTransition.
pub(super) async fn enable_stage_transition<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    enable_transition(
        ports,
        text(input, "pipelineName"),
        text(input, "stageName"),
        transition_type(input),
    )
    .await?;
    Ok(json!({}))
}
