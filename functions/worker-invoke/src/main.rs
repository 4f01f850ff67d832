//! The invoke worker function: builds its AWS clients and its providers once, then runs the actions the
//! state machines hand it (sluice_core::protocol::worker_of says which categories are its).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_aws::provider::{WorkerKind, providers_with};
use sluice_lambda::StackLinks;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let config = AwsConfig::from_env().await;
    let ports = AwsPorts::new(&config, &settings);
    // Approval notifications link to the stack's approval pages, signed as the approval function checks.
    let links = StackLinks::read(&config, &settings).await?;
    let approvals = sluice_lambda::notifying_approvals(&config, &links);
    let providers = providers_with(
        WorkerKind::Invoke,
        ports.s3.clone(),
        &settings.kms_key,
        approvals,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        sluice_lambda::work(&ports, &providers, event)
    }))
    .await
}
