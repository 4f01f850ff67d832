//! The approval function: builds its AWS clients and reads the stack's public URL and signing key once,
//! then answers the approval pages' requests from the HTTP API (sluice_lambda::approval).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_lambda::StackLinks;
use sluice_lambda::approval::ApprovalFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let config = AwsConfig::from_env().await;
    let links = StackLinks::read(&config, &settings).await?;
    let function = ApprovalFunction::new(AwsPorts::new(&config, &settings), links);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}
