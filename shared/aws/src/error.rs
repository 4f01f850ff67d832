//! What every adapter says about an SDK failure. The SDK crates share these types (`SdkError`,
//! `ProvideErrorMetadata`), so one description serves DynamoDB, S3 and Step Functions alike.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The service's error code (`ConditionalCheckFailedException`, `NoSuchKey`…), when the service answered.
pub(crate) fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.as_service_error().and_then(|e| e.code())
}

/// One readable line: a service error as its code and message; a transport failure (timeout, refused
/// connection) as its whole chain, which the SDK's own `Display` leaves out.
pub(crate) fn describe<E, R>(service: &str, error: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(answered) => format!(
            "{service} {}: {}",
            answered.code().unwrap_or("error"),
            answered.message().unwrap_or("no message")
        ),
        None => format!("{service}: {}", DisplayErrorContext(error)),
    }
}
