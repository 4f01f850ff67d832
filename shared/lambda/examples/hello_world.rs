//! The cold-init benchmark's baseline: the smallest Rust Lambda function (lambda_runtime echoing its
//! event), the kind of function the published Rust cold-start figures measure. No AWS clients.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
