//! CodePipeline's state-change events: one when a pipeline execution, a stage execution or an action
//! attempt changes status, with CodePipeline's EventBridge detail-types and detail shapes (the user guide's
//! "Monitoring CodePipeline events"), built from the records by pure functions. [`crate::recorder`]
//! publishes them with every status change.

use serde_json::{Map, Value, json};

use crate::port::{DetailType, Event};
use crate::record::{
    ActionExecution, ActionExecutionStatus, ArtifactDetail, PipelineExecution,
    PipelineExecutionStatus, StageExecution, StageExecutionStatus,
};
use crate::time::iso_millis;

/// `pipeline-execution-attempt`: 1, and one more for each RetryStageExecution.
fn attempt(execution: &PipelineExecution) -> f64 {
    f64::from(execution.retry.as_ref().map_or(0, |r| r.attempt)) + 1.0
}

/// The pipeline execution's event, when its status changed from `previous` (`None`: it was just
/// created). `None` when the status is what it was.
pub fn pipeline_event(
    execution: &PipelineExecution,
    previous: Option<PipelineExecutionStatus>,
) -> Option<Event> {
    use PipelineExecutionStatus as S;
    if previous == Some(execution.status) {
        return None;
    }
    let state = match execution.status {
        // Back in progress after it ended: RetryStageExecution.
        S::InProgress if previous.is_some_and(|p| !p.is_open()) => "RESUMED",
        S::InProgress => "STARTED",
        S::Stopping => "STOPPING",
        S::Stopped => "STOPPED",
        S::Succeeded => "SUCCEEDED",
        S::Superseded => "SUPERSEDED",
        S::Failed => "FAILED",
        S::Cancelled => "CANCELED",
    };
    let mut trigger = Map::new();
    trigger.insert(
        "trigger-type".to_string(),
        json!(execution.trigger.trigger_type),
    );
    if let Some(detail) = &execution.trigger.trigger_detail {
        trigger.insert("trigger-detail".to_string(), json!(detail));
    }
    let mut detail = json!({
        "pipeline": execution.pipeline_name,
        "execution-id": execution.pipeline_execution_id,
        "start-time": iso_millis(execution.start_time),
        "execution-trigger": trigger,
        "state": state,
        "version": f64::from(execution.pipeline_version),
        "pipeline-execution-attempt": attempt(execution),
    });
    if execution.status == S::Stopping
        && let (Some(comments), Some(fields)) = (&execution.status_summary, detail.as_object_mut())
    {
        fields.insert("stop-execution-comments".to_string(), json!(comments));
    }
    Some(Event {
        detail_type: DetailType::PipelineExecution,
        time: execution.last_update_time,
        detail,
    })
}

/// The event of a stage execution as just written, in `execution`. `None` for a skipped stage, for which
/// CodePipeline documents no state.
pub fn stage_event(execution: &PipelineExecution, stage: &StageExecution) -> Option<Event> {
    use StageExecutionStatus as S;
    let retried = execution
        .retry
        .as_ref()
        .is_some_and(|r| r.stage_name == stage.stage_name);
    let state = match stage.status {
        S::InProgress if retried => "RESUMED",
        S::InProgress => "STARTED",
        S::Stopping => "STOPPING",
        S::Stopped => "STOPPED",
        S::Succeeded => "SUCCEEDED",
        S::Failed => "FAILED",
        S::Cancelled => "CANCELED",
        S::Skipped => return None,
    };
    Some(Event {
        detail_type: DetailType::StageExecution,
        time: stage.last_update_time,
        detail: json!({
            "pipeline": stage.pipeline_name,
            "execution-id": stage.pipeline_execution_id,
            "start-time": iso_millis(execution.start_time),
            "stage": stage.stage_name,
            "state": state,
            "version": f64::from(execution.pipeline_version),
            "pipeline-execution-attempt": attempt(execution),
        }),
    })
}

/// The event of an action attempt as just written, in `execution`: its input artifacts when it starts,
/// its output artifacts when it succeeds, and its result (summary, external id, error code) when it ends.
pub fn action_event(execution: &PipelineExecution, action: &ActionExecution) -> Event {
    use ActionExecutionStatus as S;
    let state = match action.status {
        S::InProgress => "STARTED",
        S::Succeeded => "SUCCEEDED",
        S::Failed => "FAILED",
        S::Abandoned => "ABANDONED",
    };
    let type_id = &action.action_type_id;
    let mut detail = Map::new();
    let mut put = |key: &str, value: Value| {
        detail.insert(key.to_string(), value);
    };
    put("pipeline", json!(action.pipeline_name));
    put("execution-id", json!(action.pipeline_execution_id));
    put("start-time", json!(iso_millis(action.start_time)));
    put("stage", json!(action.stage_name));
    if matches!(action.status, S::Succeeded | S::Failed) {
        let mut result = Map::new();
        let summary = action.summary.clone().or_else(|| {
            (action.status == S::Failed)
                .then(|| action.error_details.as_ref().map(|e| e.message.clone()))
                .flatten()
        });
        if let Some(summary) = summary {
            result.insert("external-execution-summary".to_string(), json!(summary));
        }
        if let Some(id) = &action.external_execution_id {
            result.insert("external-execution-id".to_string(), json!(id));
        }
        if action.status == S::Failed
            && let Some(error) = &action.error_details
        {
            result.insert("error-code".to_string(), json!(error.code));
        }
        if !result.is_empty() {
            put("execution-result", Value::Object(result));
        }
    }
    if action.status == S::Succeeded && !action.output_artifacts.is_empty() {
        put("output-artifacts", artifacts(&action.output_artifacts));
    }
    put("action-execution-id", json!(action.action_execution_id));
    put("action", json!(action.action_name));
    put("state", json!(state));
    put(
        "type",
        json!({
            "owner": type_id.owner.name(),
            "provider": type_id.provider,
            "category": type_id.category.name(),
            "version": type_id.version,
        }),
    );
    put("version", json!(f64::from(action.pipeline_version)));
    put("pipeline-execution-attempt", json!(attempt(execution)));
    if action.status == S::InProgress && !action.input_artifacts.is_empty() {
        put("input-artifacts", artifacts(&action.input_artifacts));
    }
    Event {
        detail_type: DetailType::ActionExecution,
        time: action.last_update_time,
        detail: Value::Object(detail),
    }
}

fn artifacts(artifacts: &[ArtifactDetail]) -> Value {
    artifacts
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "s3location": {"bucket": a.location.bucket_name, "key": a.location.object_key},
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::pipeline::declaration::ActionCategory;
    use crate::pipeline::declaration::ActionOwner;
    use crate::pipeline::declaration::ActionTypeId;
    use crate::pipeline::declaration::ExecutionMode;
    use crate::port::Event;
    use crate::record::ArtifactLocation;
    use crate::record::ErrorDetails;
    use crate::record::ExecutionTrigger;
    use crate::record::StageRetry;
    use crate::time::Timestamp;

    const ID: &str = "12345678-1234-4678-8bcd-12345678abcd";

    fn execution(status: PipelineExecutionStatus) -> PipelineExecution {
        PipelineExecution {
            pipeline_name: "myPipeline".to_string(),
            pipeline_version: 3,
            pipeline_execution_id: ID.to_string(),
            status,
            status_summary: None,
            execution_mode: ExecutionMode::Superseded,
            trigger: ExecutionTrigger {
                trigger_type: "StartPipelineExecution".to_string(),
                trigger_detail: Some("arn:aws:sts::123456789012:assumed-role/Admin/me".to_string()),
            },
            variables: BTreeMap::new(),
            source_revisions: Vec::new(),
            orchestration: None,
            client_request_token: None,
            retry: None,
            // 2023-10-26T13:49:39.208Z
            start_time: Timestamp::from_epoch_millis(1_698_328_179_208),
            last_update_time: Timestamp::from_epoch_millis(1_698_328_180_000),
            record_version: 0,
        }
    }

    fn artifact(name: &str) -> ArtifactDetail {
        ArtifactDetail {
            name: name.to_string(),
            location: ArtifactLocation {
                bucket_name: "artifacts".to_string(),
                object_key: format!("myPipeline/{name}/abcdefg"),
            },
            revision: Some("r1".to_string()),
        }
    }

    fn action(status: ActionExecutionStatus) -> ActionExecution {
        ActionExecution {
            pipeline_name: "myPipeline".to_string(),
            pipeline_execution_id: ID.to_string(),
            pipeline_version: 3,
            stage_name: "Prod".to_string(),
            action_name: "Deploy".to_string(),
            action_execution_id: "47f821c5-a902-44b2-ae61-b878d31ecd21".to_string(),
            attempt: 0,
            action_type_id: ActionTypeId {
                category: ActionCategory::Deploy,
                owner: ActionOwner::Aws,
                provider: "CodeDeploy".to_string(),
                version: "1".to_string(),
            },
            status,
            // 2023-10-26T13:51:09.981Z
            start_time: Timestamp::from_epoch_millis(1_698_328_269_981),
            last_update_time: Timestamp::from_epoch_millis(1_698_328_270_000),
            configuration: BTreeMap::new(),
            resolved_configuration: BTreeMap::new(),
            namespace: None,
            input_artifacts: vec![artifact("SourceArtifact")],
            output_artifacts: vec![artifact("Built")],
            output_variables: BTreeMap::new(),
            summary: None,
            external_execution_id: Some("d-123".to_string()),
            log: None,
            error_details: None,
            token: "t".to_string(),
            last_updated_by: None,
        }
    }

    #[test]
    fn a_started_pipeline_execution_has_codepipelines_detail() {
        let event = pipeline_event(&execution(PipelineExecutionStatus::InProgress), None).unwrap();
        assert_eq!(
            event.detail_type.name(),
            "CodePipeline Pipeline Execution State Change"
        );
        assert_eq!(event.time, Timestamp::from_epoch_millis(1_698_328_180_000));
        assert_eq!(
            event.detail.to_string(),
            r#"{"pipeline":"myPipeline","execution-id":"12345678-1234-4678-8bcd-12345678abcd","start-time":"2023-10-26T13:49:39.208Z","execution-trigger":{"trigger-type":"StartPipelineExecution","trigger-detail":"arn:aws:sts::123456789012:assumed-role/Admin/me"},"state":"STARTED","version":3.0,"pipeline-execution-attempt":1.0}"#,
            "numbers are written as CodePipeline writes them (3.0)"
        );
    }

    #[test]
    fn pipeline_states_follow_the_status_and_what_it_was() {
        use PipelineExecutionStatus as S;
        let state = |status, previous| {
            pipeline_event(&execution(status), previous)
                .map(|e| e.detail["state"].as_str().unwrap().to_string())
        };
        assert_eq!(state(S::InProgress, Some(S::InProgress)), None, "no change");
        assert_eq!(state(S::InProgress, Some(S::Failed)).unwrap(), "RESUMED");
        assert_eq!(
            state(S::Succeeded, Some(S::InProgress)).unwrap(),
            "SUCCEEDED"
        );
        assert_eq!(state(S::Failed, Some(S::InProgress)).unwrap(), "FAILED");
        assert_eq!(state(S::Stopping, Some(S::InProgress)).unwrap(), "STOPPING");
        assert_eq!(state(S::Stopped, Some(S::Stopping)).unwrap(), "STOPPED");
        assert_eq!(
            state(S::Superseded, Some(S::InProgress)).unwrap(),
            "SUPERSEDED"
        );
        assert_eq!(
            state(S::Cancelled, Some(S::InProgress)).unwrap(),
            "CANCELED"
        );

        let mut stopping = execution(S::Stopping);
        stopping.status_summary = Some("for an update".to_string());
        let event = pipeline_event(&stopping, Some(S::InProgress)).unwrap();
        assert_eq!(event.detail["stop-execution-comments"], "for an update");

        let mut retried = execution(S::InProgress);
        retried.retry = Some(StageRetry {
            stage_name: "Build".to_string(),
            retry_mode: "FAILED_ACTIONS".to_string(),
            attempt: 1,
        });
        let event = pipeline_event(&retried, Some(S::Failed)).unwrap();
        assert_eq!(event.detail["pipeline-execution-attempt"], json!(2.0));
    }

    #[test]
    fn stage_events_name_the_stage_and_a_retried_stage_resumes() {
        let mut stage = StageExecution {
            pipeline_name: "myPipeline".to_string(),
            pipeline_execution_id: ID.to_string(),
            stage_name: "Build".to_string(),
            status: StageExecutionStatus::InProgress,
            last_update_time: Timestamp::from_epoch_millis(1_698_328_181_000),
            entry: None,
        };
        let running = execution(PipelineExecutionStatus::InProgress);
        let event = stage_event(&running, &stage).unwrap();
        assert_eq!(
            event.detail_type.name(),
            "CodePipeline Stage Execution State Change"
        );
        assert_eq!(event.time, stage.last_update_time);
        assert_eq!(
            event.detail,
            json!({
                "pipeline": "myPipeline",
                "execution-id": ID,
                "start-time": "2023-10-26T13:49:39.208Z",
                "stage": "Build",
                "state": "STARTED",
                "version": 3.0,
                "pipeline-execution-attempt": 1.0
            })
        );
        let mut retried = running.clone();
        retried.retry = Some(StageRetry {
            stage_name: "Build".to_string(),
            retry_mode: "ALL_ACTIONS".to_string(),
            attempt: 1,
        });
        let resumed = stage_event(&retried, &stage).unwrap();
        assert_eq!(resumed.detail["state"], "RESUMED");
        assert_eq!(resumed.detail["pipeline-execution-attempt"], json!(2.0));
        stage.status = StageExecutionStatus::Stopped;
        assert_eq!(
            stage_event(&retried, &stage).unwrap().detail["state"],
            "STOPPED"
        );
        stage.status = StageExecutionStatus::Skipped;
        assert!(stage_event(&running, &stage).is_none());
    }

    #[test]
    fn action_events_carry_inputs_when_started_and_outputs_and_result_when_done() {
        let running = execution(PipelineExecutionStatus::InProgress);
        let started = action_event(&running, &action(ActionExecutionStatus::InProgress));
        assert_eq!(
            started.detail_type.name(),
            "CodePipeline Action Execution State Change"
        );
        assert_eq!(
            started.detail,
            json!({
                "pipeline": "myPipeline",
                "execution-id": ID,
                "start-time": "2023-10-26T13:51:09.981Z",
                "stage": "Prod",
                "action-execution-id": "47f821c5-a902-44b2-ae61-b878d31ecd21",
                "action": "Deploy",
                "state": "STARTED",
                "type": {"owner": "AWS", "provider": "CodeDeploy", "category": "Deploy", "version": "1"},
                "version": 3.0,
                "pipeline-execution-attempt": 1.0,
                "input-artifacts": [{
                    "name": "SourceArtifact",
                    "s3location": {"bucket": "artifacts", "key": "myPipeline/SourceArtifact/abcdefg"}
                }]
            })
        );

        let mut done = action(ActionExecutionStatus::Succeeded);
        done.summary = Some("deployed".to_string());
        let succeeded = action_event(&running, &done);
        assert_eq!(
            succeeded.detail["execution-result"],
            json!({"external-execution-summary": "deployed", "external-execution-id": "d-123"})
        );
        assert_eq!(
            succeeded.detail["output-artifacts"][0]["s3location"]["key"],
            "myPipeline/Built/abcdefg"
        );
        assert!(succeeded.detail.get("input-artifacts").is_none());

        let mut failed = action(ActionExecutionStatus::Failed);
        failed.external_execution_id = None;
        failed.error_details = Some(ErrorDetails {
            code: "JobFailed".to_string(),
            message: "exit status 1".to_string(),
        });
        let failed = action_event(&running, &failed);
        assert_eq!(failed.detail["state"], "FAILED");
        assert_eq!(
            failed.detail["execution-result"],
            json!({"external-execution-summary": "exit status 1", "error-code": "JobFailed"})
        );
        assert!(failed.detail.get("output-artifacts").is_none());

        let abandoned = action_event(&running, &action(ActionExecutionStatus::Abandoned));
        assert_eq!(abandoned.detail["state"], "ABANDONED");
        assert!(abandoned.detail.get("execution-result").is_none());
    }

    #[test]
    fn an_envelope_reads_back_as_the_event() {
        let event = pipeline_event(&execution(PipelineExecutionStatus::InProgress), None).unwrap();
        let envelope = event.envelope("id-1", "123456789012", "local");
        assert_eq!(envelope["time"], "2023-10-26T13:49:40Z");
        assert_eq!(envelope["source"], "sluice.codepipeline");
        assert_eq!(Event::from_envelope(&envelope).unwrap(), event);
        let mut foreign = envelope.clone();
        foreign["source"] = json!("aws.codepipeline");
        assert_eq!(Event::from_envelope(&foreign).unwrap_err().field, "source");
        let mut unknown = envelope;
        unknown["detail-type"] = json!("CodePipeline Something");
        assert_eq!(
            Event::from_envelope(&unknown).unwrap_err().field,
            "detail-type"
        );
    }
}
