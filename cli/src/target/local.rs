//! The data directory on this machine, through the API's handlers (`sluice_api::ops`): each input is
//! checked against its shape as the router checks it, and each answer read as the wire shape the
//! commands keep of it.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_api::service::Service;
use sluice_core::approval::ApprovalStatus;
use sluice_local::runtime::{LocalPorts, LocalRuntime};

use crate::failure::Failure;
use crate::wire::{
    Approval, ExecutionList, ExecutionSummary, PipelineList, PipelineState, PipelineSummary,
};

/// A data directory opened without an engine, beside the process that runs its pipelines.
pub(crate) struct Local {
    ports: LocalPorts,
    data_dir: PathBuf,
}

impl Local {
    pub(super) fn attach(data_dir: PathBuf) -> Result<Local, Failure> {
        let ports =
            LocalRuntime::attach(&data_dir).map_err(|e| Failure::Unusable(e.to_string()))?;
        Ok(Local { ports, data_dir })
    }

    /// How to run `sluice <command>` on the same data directory, for hints.
    pub(super) fn command(&self, command: &str) -> String {
        format!("sluice {command} --data-dir {}", self.data_dir.display())
    }

    /// One operation through the API's handlers: the input checked against its shape as the router
    /// checks it, then the operation.
    async fn call(&self, operation: &str, input: Value) -> Result<Value, Failure> {
        let answered = match sluice_api::check_input(operation, &input) {
            Ok(()) => {
                sluice_api::ops::call(&self.ports, &Service::default(), operation, input).await
            }
            Err(error) => Err(error),
        };
        answered.map_err(|e| Failure::Refused(format!("{}: {}", e.error_type, e.message)))
    }

    /// Reads an operation's answer as the wire shape this module keeps of it.
    fn read<T: for<'de> Deserialize<'de>>(operation: &str, answer: Value) -> Result<T, Failure> {
        serde_json::from_value(answer)
            .map_err(|e| Failure::Unusable(format!("{operation}'s answer does not read: {e}")))
    }

    pub(super) async fn pipelines(&self) -> Result<Vec<PipelineSummary>, Failure> {
        let mut pipelines = Vec::new();
        let mut input = json!({});
        loop {
            let page: PipelineList =
                Self::read("ListPipelines", self.call("ListPipelines", input).await?)?;
            pipelines.extend(page.pipelines);
            match page.next_token {
                Some(token) => input = json!({ "nextToken": token }),
                None => return Ok(pipelines),
            }
        }
    }

    pub(super) async fn state(&self, pipeline: &str) -> Result<PipelineState, Failure> {
        Self::read(
            "GetPipelineState",
            self.call("GetPipelineState", json!({ "name": pipeline }))
                .await?,
        )
    }

    pub(super) async fn latest_execution(
        &self,
        pipeline: &str,
    ) -> Result<Option<ExecutionSummary>, Failure> {
        let input = json!({ "pipelineName": pipeline, "maxResults": 1 });
        let listed: ExecutionList = Self::read(
            "ListPipelineExecutions",
            self.call("ListPipelineExecutions", input).await?,
        )?;
        Ok(listed.pipeline_execution_summaries.into_iter().next())
    }

    pub(super) async fn put_approval_result(&self, approval: &Approval<'_>) -> Result<(), Failure> {
        let input = json!({
            "pipelineName": approval.pipeline,
            "stageName": approval.stage,
            "actionName": approval.action,
            "token": approval.token,
            "result": {
                "summary": approval.summary,
                "status": match approval.status {
                    ApprovalStatus::Approved => "Approved",
                    ApprovalStatus::Rejected => "Rejected",
                },
            },
        });
        self.call("PutApprovalResult", input).await?;
        Ok(())
    }
}
