//! Sluice on AWS: sluice-core's ports over the AWS SDK. The Lambda functions build one [`config::AwsConfig`]
//! per process and hand its clients to the adapters; the contract suites run the adapters against
//! moto_server.

pub mod approval;
pub mod config;
pub mod dynamo;
mod error;
pub mod eventbridge;
pub mod eventbridge_events;
pub mod ports;
pub mod provider;
pub mod s3;
pub mod secrets;
pub mod sfn;
pub mod sns;
pub mod webhook;
