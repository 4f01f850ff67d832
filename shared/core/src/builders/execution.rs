//! New records: an execution as it starts, and the location of an action's output artifact.

use std::collections::BTreeMap;

use crate::pipeline::declaration::PipelineDeclaration;
use crate::port::Ids;
use crate::record::{
    ArtifactLocation, ExecutionTrigger, PipelineExecution, PipelineExecutionStatus, StoredPipeline,
};
use crate::time::Timestamp;

/// A new execution of the pipeline's version `pipeline`, in progress, with no machine yet: the record
/// StartPipelineExecution writes, and the one the dispatcher writes for an execution an EventBridge rule
/// started (`dispatcher`'s `ExecutionStarted`).
pub fn new_execution(
    pipeline: &StoredPipeline,
    execution_id: String,
    trigger: ExecutionTrigger,
    variables: BTreeMap<String, String>,
    now: Timestamp,
) -> PipelineExecution {
    PipelineExecution {
        pipeline_name: pipeline.declaration.name.clone(),
        pipeline_version: pipeline.version(),
        pipeline_execution_id: execution_id,
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        execution_mode: pipeline.declaration.execution_mode(),
        trigger,
        variables,
        source_revisions: Vec::new(),
        orchestration: None,
        client_request_token: None,
        retry: None,
        start_time: now,
        last_update_time: now,
        record_version: 0,
    }
}

/// Produces the key CodePipeline gives an output artifact: `<pipeline name, 20 chars>/<artifact name,
/// 10 chars>/<7 random characters>` in the artifact store's bucket.
pub fn artifact_location(
    declaration: &PipelineDeclaration,
    artifact: &str,
    ids: &dyn Ids,
) -> ArtifactLocation {
    let bucket = declaration
        .artifact_store
        .as_ref()
        .map(|store| store.location.clone())
        .or_else(|| {
            declaration
                .artifact_stores
                .as_ref()
                .and_then(|stores| stores.values().next().map(|s| s.location.clone()))
        })
        .unwrap_or_else(|| "codepipeline-artifacts".to_string());
    let pipeline: String = declaration.name.chars().take(20).collect();
    let name: String = artifact.chars().take(10).collect();
    ArtifactLocation {
        bucket_name: bucket,
        object_key: format!("{pipeline}/{name}/{}", ids.token(7)),
    }
}
