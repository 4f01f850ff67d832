//! THE TEST BRIDGE: stands in for Lambda's invocation of the functions, which moto cannot do without
//! Docker (docs/decisions.md). Pipelines are compiled with `Transport::TestBridge`: every task puts its
//! payload and task token on the event bus instead of invoking a function, and [`TestBridge`] — test
//! code, never deployed — reads the scheduled tasks from the executions' histories and calls the same
//! entry points the functions' `main.rs` call (`sluice_lambda::dispatch` and `sluice_lambda::work`).

// Each suite uses part of the bridge.
#![allow(dead_code)]

use std::collections::HashSet;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

use sluice_aws::ports::AwsPorts;
use sluice_aws::provider::{WorkerKind, providers};
use sluice_core::port::{Orchestrator, Providers};

pub(crate) struct TestBridge {
    pub(crate) ports: AwsPorts,
    sfn: aws_sdk_sfn::Client,
    workers: Vec<(&'static str, Providers)>,
    handled: HashSet<(String, i64)>,
}

impl TestBridge {
    /// The workers each function registers, without approval notifications.
    pub(crate) fn new(ports: AwsPorts, sfn: aws_sdk_sfn::Client) -> Self {
        let kinds = [
            ("-worker-source", WorkerKind::Source),
            ("-worker-build", WorkerKind::Build),
            ("-worker-deploy", WorkerKind::Deploy),
            ("-worker-invoke", WorkerKind::Invoke),
        ];
        let workers = kinds
            .into_iter()
            .map(|(suffix, kind)| (suffix, providers(kind, ports.s3.clone(), &ports.kms_key)))
            .collect();
        Self {
            ports,
            sfn,
            workers,
            handled: HashSet::new(),
        }
    }

    /// The invoke worker with `providers` instead (approvals that notify, as the function's `main.rs`
    /// registers them).
    pub(crate) fn with_invoke(mut self, providers: Providers) -> Self {
        if let Some((_, registered)) = self
            .workers
            .iter_mut()
            .find(|(suffix, _)| *suffix == "-worker-invoke")
        {
            *registered = providers;
        }
        self
    }

    /// Hands every task scheduled since the last pass to its handler.
    pub(crate) async fn pass(&mut self) {
        let machines = self.sfn.list_state_machines().send().await.unwrap();
        for machine in machines.state_machines() {
            let running = self
                .sfn
                .list_executions()
                .state_machine_arn(machine.state_machine_arn())
                .status_filter(ExecutionStatus::Running)
                .send()
                .await
                .unwrap();
            for execution in running.executions() {
                let arn = execution.execution_arn().to_string();
                let history = self
                    .sfn
                    .get_execution_history()
                    .execution_arn(&arn)
                    .send()
                    .await
                    .unwrap();
                for event in history.events() {
                    if event.r#type() != &HistoryEventType::TaskScheduled
                        || !self.handled.insert((arn.clone(), event.id()))
                    {
                        continue;
                    }
                    let parameters = event
                        .task_scheduled_event_details()
                        .map(|d| d.parameters())
                        .unwrap_or_default();
                    self.call(serde_json::from_str(parameters).unwrap()).await;
                }
            }
        }
    }

    /// Calls the handler the task names, as Lambda would call the function, and answers the task when
    /// Lambda would have: a request-response task with the result, any task with the function's error.
    async fn call(&self, parameters: Value) {
        let mut detail = parameters["Entries"][0]["Detail"].clone();
        if let Value::String(text) = &detail {
            detail = serde_json::from_str(text).unwrap();
        }
        let function = detail["function"].as_str().unwrap().to_string();
        let payload = detail["payload"].clone();
        let token = detail["taskToken"].as_str().unwrap().to_string();
        let callback = payload.get("token").is_some();
        let event = LambdaEvent::new(payload, Context::default());
        let result = if function.ends_with("-dispatcher") {
            sluice_lambda::dispatch(&self.ports, event).await
        } else {
            let (_, providers) = self
                .workers
                .iter()
                .find(|(suffix, _)| function.ends_with(suffix))
                .unwrap_or_else(|| panic!("no worker is named like {function}"));
            sluice_lambda::work(&self.ports, providers, event).await
        };
        let orchestrator = &self.ports.orchestrator;
        match result {
            Ok(_) if callback => {}
            Ok(output) => orchestrator.task_succeeded(&token, &output).await.unwrap(),
            Err(diagnostic) => orchestrator
                .task_failed(&token, &diagnostic.error_type, &diagnostic.error_message)
                .await
                .unwrap(),
        }
    }
}
