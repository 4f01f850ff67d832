//! One SDK configuration per process: the HTTP client (hyper 1, rustls with ring), timeouts and retries
//! that every AWS client of the adapters shares. Lambda mains call [`AwsConfig::from_env`] once, at init.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// A single call (with its retries) gives up after this long: a Lambda must not spend its whole timeout
/// waiting on one request.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// One attempt gives up after this long and is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per call, the first included (SDK "standard" retry mode: throttling and transient errors,
/// exponential backoff with jitter).
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK configuration the adapters' clients are built from.
#[derive(Clone, Debug)]
pub struct AwsConfig {
    pub sdk: aws_config::SdkConfig,
}

/// Where and as whom to call AWS when the environment should not decide (tests against moto_server).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl AwsConfig {
    /// The environment's region, credentials and endpoint (`AWS_ENDPOINT_URL`), as on Lambda.
    pub async fn from_env() -> Self {
        Self {
            sdk: base().load().await,
        }
    }

    /// An explicit endpoint, region and static credentials.
    pub async fn for_endpoint(endpoint: &Endpoint) -> Self {
        let credentials = aws_sdk_dynamodb::config::Credentials::new(
            &endpoint.access_key_id,
            &endpoint.secret_access_key,
            None,
            None,
            "sluice-endpoint",
        );
        Self {
            sdk: base()
                .endpoint_url(&endpoint.url)
                .region(aws_config::Region::new(endpoint.region.clone()))
                .credentials_provider(credentials)
                .load()
                .await,
        }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// Path-style addressing when an endpoint is set: moto and other S3 emulators serve buckets as paths.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let path_style = self.sdk.endpoint_url().is_some();
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(path_style)
                .build(),
        )
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }
}

fn base() -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(OPERATION_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}
