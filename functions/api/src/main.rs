//! The api function: builds its AWS clients and reads the stack's links once, then serves CodePipeline's
//! API through API Gateway with the same router `sluice serve` runs.

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_lambda::StackLinks;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let config = AwsConfig::from_env().await;
    let ports = AwsPorts::new(&config, &settings);
    let region = std::env::var("AWS_REGION").unwrap_or_default();
    // PutWebhook's URLs and the approval pages GetPipelineState links to start with SLUICE_PUBLIC_URL.
    let links = StackLinks::read(&config, &settings).await?;
    let service = sluice_lambda::service(&settings, &region, &links)?;
    lambda_http::run(sluice_lambda::api_router(ports, service)).await
}
