//! What ran and how it stands: ListActionExecutions and GetPipelineState.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice_core::action::ActionTypes;
use sluice_core::approval::attempt_review_link;
use sluice_core::pipeline::declaration::ActionCategory;
use sluice_core::port::{ActionExecutionStore, ExecutionStore, PipelineStore, Ports, StageStore};
use sluice_core::problem::{Exception, no_execution};
use sluice_core::record::{ActionExecution, ActionExecutionStatus, StoredPipeline};

use super::action_types::action_types;
use super::pipelines::pipeline;
use super::{page, text, time};
use crate::error::ApiError;
use crate::service::Service;

pub(super) fn artifact_details(artifacts: &[sluice_core::record::ArtifactDetail]) -> Value {
    json!(artifacts
        .iter()
        .map(|a| json!({"name": a.name, "s3location": {"bucket": a.location.bucket_name, "key": a.location.object_key}}))
        .collect::<Vec<_>>())
}

/// An action execution as ListActionExecutions shows it. The worker records secret values masked
/// already; records written before it did are masked here.
pub(super) fn action_execution_detail(
    a: &ActionExecution,
    service: &Service,
    types: &ActionTypes,
) -> Value {
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
    let mut detail = json!({
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
    });
    if let Some(by) = &a.last_updated_by {
        detail["updatedBy"] = json!(by);
    }
    detail
}

/// The approval page of each waiting approval among `actions`, by approval token, as CodePipeline
/// links an approval to its console page: signed for the attempt and the pipeline version it runs.
async fn review_urls<P: Ports>(
    ports: &P,
    service: &Service,
    stored: &StoredPipeline,
    actions: &[ActionExecution],
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut urls = BTreeMap::new();
    let Some(links) = service.review_links() else {
        return Ok(urls);
    };
    for attempt in actions.iter().filter(|a| {
        a.status == ActionExecutionStatus::InProgress
            && a.action_type_id.category == ActionCategory::Approval
    }) {
        let other_version;
        let declaration = if attempt.pipeline_version == stored.version() {
            &stored.declaration
        } else {
            match ports
                .store()
                .pipeline_version(&attempt.pipeline_name, attempt.pipeline_version)
                .await?
            {
                Some(version) => {
                    other_version = version;
                    &other_version.declaration
                }
                None => continue,
            }
        };
        if let Some(url) = attempt_review_link(&links, declaration, attempt) {
            urls.insert(attempt.action_execution_id.clone(), url);
        }
    }
    Ok(urls)
}

pub(super) async fn list_action_executions<P: Ports>(
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
    let types = action_types(ports).await?;
    let mut output = json!({
        "actionExecutionDetails": actions.iter().map(|a| action_execution_detail(a, service, &types)).collect::<Vec<_>>()
    });
    if let Some(next) = next {
        output["nextToken"] = json!(next);
    }
    Ok(output)
}

pub(super) async fn pipeline_state<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    let stored = pipeline(ports, service, name).await?;
    // Only the latest of everything: the cost does not grow with the pipeline's history.
    let actions = ports.store().latest_action_executions(name).await?;
    let latest_stages = ports.store().latest_stage_executions(name).await?;
    let review_urls = review_urls(ports, service, &stored, &actions).await?;
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
                    let waiting_approval = latest.status == ActionExecutionStatus::InProgress
                        && latest.action_type_id.category == ActionCategory::Approval;
                    if waiting_approval {
                        execution["token"] = json!(latest.action_execution_id);
                        if let Some(url) = review_urls.get(&latest.action_execution_id) {
                            execution["externalExecutionUrl"] = json!(url);
                        }
                    }
                    if let Some(by) = &latest.last_updated_by {
                        execution["lastUpdatedBy"] = json!(by);
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
