//! The source worker function: builds its AWS clients and its providers once, then runs the actions the
//! state machines hand it (sluice_core::protocol::worker_of says which categories are its).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_aws::provider::{WorkerKind, providers};

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let ports = AwsPorts::new(&AwsConfig::from_env().await, &settings);
    let providers = providers(WorkerKind::Source, ports.s3.clone(), &settings.kms_key);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        sluice_lambda::work(&ports, &providers, event)
    }))
    .await
}
