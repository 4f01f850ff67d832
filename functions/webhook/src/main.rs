//! The webhook function: builds its AWS clients and reads the webhook secret once, then takes the HTTP
//! API's deliveries, its own delivery-recorded events and the recovery schedule's
//! (sluice_lambda::webhook says which is which).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use sluice_aws::config::AwsConfig;
use sluice_aws::ports::{AwsPorts, Settings};
use sluice_aws::secrets::SecretsManagerSecrets;
use sluice_aws::webhook::{DeliveryAnnouncer, receiver_secrets, secret_arn};
use sluice_lambda::webhook::WebhookFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sluice_lambda::init_logging();
    let settings = Settings::from_env()?;
    let arn = secret_arn(|name| std::env::var(name).ok())?;
    let config = AwsConfig::from_env().await;
    let ports = AwsPorts::new(&config, &settings);
    let secrets = SecretsManagerSecrets::new(config.secrets_manager(), &settings.kms_key);
    let secrets = receiver_secrets(&secrets, &arn).await?;
    let announcer = DeliveryAnnouncer::new(
        sluice_aws::eventbridge::client(&config),
        &settings.event_bus,
    );
    let function = WebhookFunction::new(ports, secrets, announcer);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}
