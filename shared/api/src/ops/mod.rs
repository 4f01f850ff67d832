//! The operation table: every operation of CodePipeline's API that Sluice answers, by name, each a function
//! of its family's module. Each reads its input (already checked against `<Op>Input` in the model), calls
//! the core's use cases over the ports, and writes the `<Op>Output` shape. An operation of the model that is
//! not in the table answers UnsupportedOperationException.

mod action_types;
mod executions;
mod jobs;
mod pipelines;
mod state;
mod tags;
mod webhooks;

use serde_json::{Value, json};
use sluice_core::port::Ports;
use sluice_core::problem::Exception;
use sluice_core::time::Timestamp;

use crate::error::ApiError;
use crate::service::Service;

/// A string member of an input (checked against the model already), or `""`.
pub(crate) fn text<'a>(input: &'a Value, member: &str) -> &'a str {
    input
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A time as the JSON protocol writes it: epoch seconds.
pub(crate) fn time(timestamp: Timestamp) -> Value {
    json!(timestamp.epoch_seconds())
}

/// A page of `items` from the offset `nextToken` holds.
pub(crate) fn page<T>(
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

/// The table.
async fn operate<P: Ports>(
    ports: &P,
    service: &Service,
    operation: &str,
    input: Value,
) -> Result<Value, ApiError> {
    let given = &input;
    match operation {
        "CreatePipeline" => pipelines::save_pipeline(ports, service, input, true).await,
        "UpdatePipeline" => pipelines::save_pipeline(ports, service, input, false).await,
        "GetPipeline" => pipelines::get_pipeline(ports, service, given).await,
        "ListPipelines" => pipelines::list_pipelines(ports, given).await,
        "DeletePipeline" => pipelines::delete_pipeline(ports, service, given).await,
        "StartPipelineExecution" => executions::start(ports, given).await,
        "StopPipelineExecution" => executions::stop_pipeline_execution(ports, given).await,
        "GetPipelineExecution" => executions::get_pipeline_execution(ports, service, given).await,
        "ListPipelineExecutions" => executions::list_executions(ports, service, given).await,
        "RetryStageExecution" => executions::retry_stage_execution(ports, given).await,
        "DisableStageTransition" => executions::disable_stage_transition(ports, given).await,
        "EnableStageTransition" => executions::enable_stage_transition(ports, given).await,
        "PutApprovalResult" => executions::put_approval_result(ports, given).await,
        "ListActionExecutions" => state::list_action_executions(ports, service, given).await,
        "GetPipelineState" => state::pipeline_state(ports, service, given).await,
        "PollForJobs" => jobs::poll_for_jobs(ports, given).await,
        "AcknowledgeJob" => jobs::acknowledge_job(ports, given).await,
        "GetJobDetails" => jobs::get_job_details(ports, given).await,
        "PutJobSuccessResult" => jobs::put_job_success_result(ports, given).await,
        "PutJobFailureResult" => jobs::put_job_failure_result(ports, given).await,
        "TagResource" => tags::tag_resource(ports, service, given).await,
        "UntagResource" => tags::untag_resource(ports, service, given).await,
        "ListTagsForResource" => tags::list_tags_for_resource(ports, service, given).await,
        "PutWebhook" => webhooks::put_webhook(ports, service, given).await,
        "ListWebhooks" => webhooks::list_webhooks(ports).await,
        "DeleteWebhook" => webhooks::delete_webhook(ports, service, given).await,
        "CreateCustomActionType" => action_types::create_action_type(ports, service, given).await,
        "DeleteCustomActionType" => action_types::delete_custom_action_type(ports, given).await,
        "ListActionTypes" => action_types::list_action_types(ports, given).await,
        other => Err(ApiError::new(
            Exception::UnsupportedOperationException,
            format!("Sluice does not support the operation {other} yet"),
        )),
    }
}
