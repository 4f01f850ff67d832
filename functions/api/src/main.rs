//! The api function: builds its AWS clients once, then serves CodePipeline's API through API Gateway
//! with the same router `sluice serve` runs.

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let ports = AwsPorts::new(&AwsConfig::from_env().await, &settings);
    let region = std::env::var("AWS_REGION").unwrap_or_default();
    // Webhook URLs the API hands out are under SLUICE_BASE_URL (the HTTP API's URL) when it is set.
    let base_url = std::env::var("SLUICE_BASE_URL").unwrap_or_default();
    let service = sluice_lambda::service(&settings, &region, &base_url)?;
    lambda_http::run(sluice_lambda::api_router(ports, service)).await
}
