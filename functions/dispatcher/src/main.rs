//! The dispatcher function: builds its AWS clients once, then serves the state machines' dispatcher tasks.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let ports = AwsPorts::new(&AwsConfig::from_env().await, &settings);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        sluice_lambda::dispatch(&ports, event)
    }))
    .await
}
