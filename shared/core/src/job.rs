//! The job-worker protocol (docs/codepipeline.md, "Job workers") for custom actions: an action of a `Custom` type
//! becomes a job that waits in the store until a job worker takes it with PollForJobs, acknowledges it,
//! and reports its end with PutJobSuccessResult or PutJobFailureResult.
//!
//! Job states follow `JobStatus`: Queued → Dispatched (polled) → InProgress (acknowledged) → Succeeded or
//! Failed. A success with a continuationToken queues a new job for the same action execution.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::port::{
    ActionExecutionStore, ActionProvider, Job, JobFailure, JobOutcome, JobSuccess, Ports,
    ResourceStore, StoreError,
};
use crate::problem::{Coded, Exception};
use crate::record::{ActionExecutionStatus, LOCAL_ACCOUNT};
use crate::worker::complete_action;

/// The store kind jobs are kept under.
const JOB: &str = "job";

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("The job {0} does not exist")]
    NotFound(String),
    #[error("The nonce {nonce} does not match job {job}")]
    InvalidNonce { job: String, nonce: String },
    #[error("Job {job} is {status}; {rule}")]
    InvalidState {
        job: String,
        status: String,
        rule: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job's action could not be completed: {0}")]
    Worker(#[from] crate::worker::WorkerError),
}

impl Coded for JobError {
    fn exception(&self) -> Exception {
        match self {
            Self::NotFound(_) => Exception::JobNotFoundException,
            Self::InvalidNonce { .. } => Exception::InvalidNonceException,
            Self::InvalidState { .. } => Exception::InvalidJobStateException,
            Self::Store(error) => error.exception(),
            Self::Worker(_) => Exception::InternalFailure,
        }
    }
}

/// Queues a job for a custom action; the action waits until a worker reports.
pub async fn enqueue<P: Ports>(
    ports: &P,
    job: &Job,
    continuation_token: Option<&str>,
) -> Result<String, StoreError> {
    let id = ports.ids().uuid();
    let artifact = |a: &crate::record::ArtifactDetail| {
        json!({
            "name": a.name,
            "revision": a.revision,
            "location": {"type": "S3", "s3Location": {"bucketName": a.location.bucket_name, "objectKey": a.location.object_key}}
        })
    };
    let mut data = json!({
        "actionTypeId": job.action.action_type_id,
        "actionConfiguration": {"configuration": job.configuration},
        "pipelineContext": {
            "pipelineName": job.pipeline,
            "stage": {"name": job.stage},
            "action": {"name": job.action.name, "actionExecutionId": job.action_execution_id},
            "pipelineExecutionId": job.pipeline_execution_id,
        },
        "inputArtifacts": job.input_artifacts.iter().map(artifact).collect::<Vec<_>>(),
        "outputArtifacts": job.output_artifacts.iter().map(artifact).collect::<Vec<_>>(),
        "artifactCredentials": {"accessKeyId": "local", "secretAccessKey": "local", "sessionToken": "local"},
    });
    if let Some(token) = continuation_token {
        data["continuationToken"] = json!(token);
    }
    let document = json!({
        "id": id,
        "nonce": ports.ids().token(16),
        "status": "Queued",
        "accountId": LOCAL_ACCOUNT,
        "data": data,
        "pipeline": job.pipeline,
        "pipelineExecutionId": job.pipeline_execution_id,
        "actionExecutionId": job.action_execution_id,
    });
    // The provider runs once per attempt, so a job that cannot be queued now is tried again here. A try
    // whose write went through before it failed leaves the job (this id) queued: the next try finds it.
    let mut tried = false;
    crate::transient::OUTCOME
        .retry(&job.stop, || {
            let again = std::mem::replace(&mut tried, true);
            let document = &document;
            let id = &id;
            async move {
                match ports.store().put_resource(JOB, id, document, 0).await {
                    Err(StoreError::AlreadyExists { .. }) if again => Ok(()),
                    other => other,
                }
            }
        })
        .await?;
    Ok(id)
}

/// Applies `change` to a job until the conditional write wins; returns the changed job.
async fn change<P: Ports>(
    ports: &P,
    id: &str,
    change: impl Fn(&mut Value) -> Result<(), JobError>,
) -> Result<Value, JobError> {
    loop {
        let (mut job, version) = ports
            .store()
            .resource(JOB, id)
            .await?
            .ok_or_else(|| JobError::NotFound(id.to_string()))?;
        change(&mut job)?;
        match ports.store().put_resource(JOB, id, &job, version).await {
            Ok(()) => return Ok(job),
            Err(StoreError::Conflict { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

fn status(job: &Value) -> &str {
    job.get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The job as the API shows it (`Job`, `JobDetails`).
pub fn public(job: &Value) -> Value {
    json!({
        "id": job["id"],
        "data": job["data"],
        "nonce": job["nonce"],
        "accountId": job["accountId"],
    })
}

/// PollForJobs: up to `max` queued jobs of the action type (and whose queryable configuration matches
/// `query`), now Dispatched.
pub async fn poll<P: Ports>(
    ports: &P,
    action_type_id: &Value,
    max: usize,
    query: &serde_json::Map<String, Value>,
) -> Result<Vec<Value>, JobError> {
    let mut taken = Vec::new();
    for (id, job) in ports.store().resources(JOB).await? {
        if taken.len() >= max {
            break;
        }
        let same_type = job["data"]["actionTypeId"] == *action_type_id;
        let matches = query.iter().all(|(key, value)| {
            job["data"]["actionConfiguration"]["configuration"].get(key) == Some(value)
        });
        if status(&job) != "Queued" || !same_type || !matches {
            continue;
        }
        // Another worker may take it first: then it is not ours.
        match change(ports, &id, |job| {
            if status(job) != "Queued" {
                return Err(JobError::InvalidState {
                    job: id.clone(),
                    status: status(job).to_string(),
                    rule: "it was taken by another worker".to_string(),
                });
            }
            job["status"] = json!("Dispatched");
            Ok(())
        })
        .await
        {
            Ok(job) => taken.push(public(&job)),
            Err(JobError::InvalidState { .. }) => continue,
            Err(other) => return Err(other),
        }
    }
    Ok(taken)
}

/// AcknowledgeJob: the worker confirms it has the job; returns the job's status.
pub async fn acknowledge<P: Ports>(ports: &P, id: &str, nonce: &str) -> Result<String, JobError> {
    let job = change(ports, id, |job| {
        if job["nonce"] != nonce {
            return Err(JobError::InvalidNonce {
                job: id.to_string(),
                nonce: nonce.to_string(),
            });
        }
        if matches!(status(job), "Queued" | "Dispatched") {
            job["status"] = json!("InProgress");
        }
        Ok(())
    })
    .await?;
    Ok(status(&job).to_string())
}

/// GetJobDetails.
pub async fn details<P: Ports>(ports: &P, id: &str) -> Result<Value, JobError> {
    let (job, _) = ports
        .store()
        .resource(JOB, id)
        .await?
        .ok_or_else(|| JobError::NotFound(id.to_string()))?;
    Ok(json!({ "id": job["id"], "data": job["data"], "accountId": job["accountId"] }))
}

/// PutJobSuccessResult / PutJobFailureResult: ends the job and, unless a continuation token queues the
/// next job, the action.
pub async fn finish<P: Ports>(
    ports: &P,
    id: &str,
    outcome: Result<JobSuccess, JobFailure>,
    continuation_token: Option<&str>,
) -> Result<(), JobError> {
    let job = change(ports, id, |job| {
        if !matches!(status(job), "Dispatched" | "InProgress") {
            return Err(JobError::InvalidState {
                job: id.to_string(),
                status: status(job).to_string(),
                rule: "only a job a worker took can be completed".to_string(),
            });
        }
        job["status"] = json!(if outcome.is_ok() {
            "Succeeded"
        } else {
            "Failed"
        });
        Ok(())
    })
    .await?;
    let pipeline = job["pipeline"].as_str().unwrap_or_default();
    let execution = job["pipelineExecutionId"].as_str().unwrap_or_default();
    let action_execution_id = job["actionExecutionId"].as_str().unwrap_or_default();
    let Some(attempt) = ports
        .store()
        .action_executions(pipeline, Some(execution))
        .await?
        .into_iter()
        .find(|a| a.action_execution_id == action_execution_id)
    else {
        return Ok(());
    };
    if attempt.status != ActionExecutionStatus::InProgress {
        // Stopped or timed out meanwhile: the worker's answer comes too late to count.
        return Ok(());
    }
    if let (Ok(_), Some(token)) = (&outcome, continuation_token) {
        let mut next = job.clone();
        let next_id = ports.ids().uuid();
        next["id"] = json!(next_id);
        next["nonce"] = json!(ports.ids().token(16));
        next["status"] = json!("Queued");
        next["data"]["continuationToken"] = json!(token);
        ports.store().put_resource(JOB, &next_id, &next, 0).await?;
        return Ok(());
    }
    complete_action(ports, attempt, outcome).await?;
    Ok(())
}

/// The provider of every `Custom` action type: it queues a job and waits for a job worker.
pub struct CustomJobs<P>(pub Arc<P>);

impl<P: Ports + 'static> ActionProvider for CustomJobs<P> {
    fn run<'a>(&'a self, job: &'a Job) -> Pin<Box<dyn Future<Output = JobOutcome> + Send + 'a>> {
        Box::pin(async move {
            match enqueue(self.0.as_ref(), job, None).await {
                Ok(_) => JobOutcome::Waiting,
                Err(error) => JobOutcome::Failed(JobFailure::job_failed(format!(
                    "the job could not be queued: {error}"
                ))),
            }
        })
    }
}
