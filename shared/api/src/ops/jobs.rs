//! The job-worker operations custom actions are run with: PollForJobs, AcknowledgeJob, GetJobDetails,
//! PutJobSuccessResult, PutJobFailureResult.

use serde_json::{Value, json};
use sluice_core::port::Ports;

use super::text;
use crate::error::ApiError;

/// PollForJobs.
pub(super) async fn poll_for_jobs<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
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

/// AcknowledgeJob.
pub(super) async fn acknowledge_job<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
    let status =
        sluice_core::job::acknowledge(ports, text(input, "jobId"), text(input, "nonce")).await?;
    Ok(json!({ "status": status }))
}

/// GetJobDetails.
pub(super) async fn get_job_details<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
    Ok(json!({
        "jobDetails": sluice_core::job::details(ports, text(input, "jobId")).await?
    }))
}

/// PutJobSuccessResult.
pub(super) async fn put_job_success_result<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
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
        text(input, "jobId"),
        Ok(success),
        input.get("continuationToken").and_then(Value::as_str),
    )
    .await?;
    Ok(json!({}))
}

/// PutJobFailureResult.
pub(super) async fn put_job_failure_result<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    let details = input.get("failureDetails").cloned().unwrap_or_default();
    let failure = sluice_core::port::JobFailure {
        failure_type: text(&details, "type").to_string(),
        message: text(&details, "message").to_string(),
        log: None,
    };
    sluice_core::job::finish(ports, text(input, "jobId"), Err(failure), None).await?;
    Ok(json!({}))
}
