//! The orchestrator contract, run against Step Functions on moto_server with its ASL interpreter switched
//! on (the same suite runs against the embedded engine in shared/local).

mod common;

use std::time::Duration;

use aws_sdk_sfn::types::HistoryEventType;
use serde_json::Value;

use sluice_aws::sfn::StepFunctions;
use sluice_core::contract::{TaskTokens, orchestrator_contract};

/// Reads a waiting task's token from the execution's history: the TaskScheduled event's parameters
/// carry it in the event the task puts on the bus.
struct History(aws_sdk_sfn::Client);

impl TaskTokens for History {
    async fn token(&self, execution: &str) -> String {
        for _ in 0..500 {
            let history = self
                .0
                .get_execution_history()
                .execution_arn(execution)
                .send()
                .await
                .unwrap();
            for event in history.events() {
                if event.r#type() != &HistoryEventType::TaskScheduled {
                    continue;
                }
                let parameters = event
                    .task_scheduled_event_details()
                    .map(|d| d.parameters())
                    .unwrap_or_default();
                let parameters: Value = serde_json::from_str(parameters).unwrap();
                if let Some(token) = find_token(&parameters) {
                    return token;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{execution} scheduled no task");
    }
}

/// The `token` member anywhere in the parameters (the event's Detail may arrive as a JSON string).
fn find_token(value: &Value) -> Option<String> {
    match value {
        Value::Object(members) => members.iter().find_map(|(key, member)| match member {
            Value::String(token) if key == "token" => Some(token.clone()),
            _ => find_token(member),
        }),
        Value::Array(items) => items.iter().find_map(find_token),
        Value::String(text) => serde_json::from_str(text)
            .ok()
            .as_ref()
            .and_then(find_token),
        _ => None,
    }
}

#[tokio::test]
async fn step_functions_keeps_the_orchestrator_contract() {
    let moto = common::Moto::start();
    moto.execute_state_machines();
    let client = moto.config().await.sfn();
    let orchestrator = StepFunctions::new(
        client.clone(),
        "arn:aws:iam::123456789012:role/sluice-state-machine",
        "sluice",
    );
    orchestrator_contract(&orchestrator, &History(client)).await;
}
