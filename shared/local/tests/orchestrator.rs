//! The orchestrator contract, run against the embedded engine (the same suite runs against Step Functions
//! on moto in shared/aws).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_core::contract::{TaskTokens, orchestrator_contract};
use sluice_local::orchestrator::LocalOrchestrator;
use sluice_statemachine::clock::SystemClock;
use sluice_statemachine::engine::{Engine, Location, TaskHandler, TaskOutcome, TaskRequest};
use sluice_statemachine::entropy::OsEntropy;
use sluice_statemachine::store::MemoryStore;

/// Takes the contract machine's callback tasks, keeping each execution's token.
#[derive(Default)]
struct Callbacks(Mutex<HashMap<String, String>>);

impl TaskHandler for Callbacks {
    fn invoke(&self, task: TaskRequest) -> Pin<Box<dyn Future<Output = TaskOutcome> + Send + '_>> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .insert(task.execution_arn, task.token);
            TaskOutcome::Accepted
        })
    }
}

struct Tokens(Arc<Callbacks>);

impl TaskTokens for Tokens {
    async fn token(&self, execution: &str) -> String {
        for _ in 0..500 {
            if let Some(token) = self.0.0.lock().unwrap().get(execution) {
                return token.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{execution} handed no task over");
    }
}

#[tokio::test]
async fn the_embedded_engine_keeps_the_orchestrator_contract() {
    let engine = Engine::start(
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock),
        Box::new(OsEntropy),
        Location::default(),
    )
    .await
    .unwrap();
    let callbacks = Arc::new(Callbacks::default());
    engine.register(
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        callbacks.clone(),
    );
    orchestrator_contract(&LocalOrchestrator::Engine(engine), &Tokens(callbacks)).await;
}
