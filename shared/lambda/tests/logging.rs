//! The functions' logs: JSON lines naming the pipeline, execution, stage and action of the invocation.

use std::io::Write;
use std::sync::{Arc, Mutex};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use sluice_local::provider::{LocalConfig, providers_for};
use sluice_local::runtime::LocalRuntime;

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Lines {
    type Writer = Lines;
    fn make_writer(&'w self) -> Lines {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_workers_log_lines_name_the_pipeline_execution_stage_and_action() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalRuntime::open_default(
        dir.path(),
        providers_for(LocalConfig::default(), Default::default()),
    )
    .await
    .unwrap();
    let lines = Lines::default();
    let _logging = tracing::subscriber::set_default(sluice_lambda::json_logs(lines.clone()));

    // An action of an execution that does not exist: the worker fails, and says so in the span.
    let payload = json!({"kind": "Action", "pipeline": "Shop", "pipelineExecutionId": "e-17",
                         "stage": "Build", "action": "Compile", "token": "t"});
    let failed = sluice_lambda::work(
        &local.ports,
        &Default::default(),
        LambdaEvent::new(payload, Context::default()),
    )
    .await
    .unwrap_err();
    assert_eq!(failed.error_type, "Sluice.WorkerFailed");

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let line: Value = serde_json::from_str(text.lines().last().expect("a log line")).unwrap();
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(
        line["span"],
        json!({"name": "invocation", "function": "worker", "pipeline": "Shop", "execution": "e-17",
               "stage": "Build", "action": "Compile"}),
        "{line}"
    );
    assert!(
        line["fields"]["error"].as_str().unwrap().contains("e-17"),
        "{line}"
    );
    local.shutdown();
}
