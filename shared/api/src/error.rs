//! API errors: CodePipeline's exception names, HTTP statuses and messages. The mapping from domain
//! errors lives here, in one place ([`From`] impls), with a test per variant.

use sluice_core::approval::ApprovalError;
use sluice_core::dispatcher::DispatchError;
use sluice_core::model::limit;
use sluice_core::port::{OrchestratorError, SchedulerError, StoreError};
use sluice_core::problem::{Problem, validation_message};
use sluice_core::usecase::execution::ExecutionError;
use sluice_core::usecase::transition::TransitionError;

use crate::sigv4::SignatureError;

/// An error answer: `{"__type": error_type, "message": message}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error_type: String,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    pub fn new(error_type: &str, message: impl Into<String>) -> Self {
        let status = match error_type {
            "ConflictException" => 409,
            "InternalFailure" | "InternalServerError" => 500,
            "ServiceUnavailable" => 503,
            crate::body::TOO_LARGE => 413,
            // The JSON protocol's signature errors are 400s (sigv4::SignatureError::status).
            "AccessDeniedException" => 403,
            _ => 400,
        };
        Self {
            error_type: error_type.to_string(),
            message: message.into(),
            status,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", message)
    }

    /// The model's shape problems or the pipeline rules' problems as the one error AWS answers: every
    /// ValidationException constraint in one message, else the first problem.
    pub fn from_problems(problems: &[Problem]) -> Self {
        if let Some(message) = validation_message(problems) {
            return Self::validation(message);
        }
        match problems.first() {
            Some(problem) => Self::new(problem.exception.name(), problem.message()),
            None => Self::internal("no problem was reported"),
        }
    }

    /// The message as answered: cut to the model's `Message` maximum (5,000), as a message quoting a
    /// caller's oversized value would otherwise break it.
    pub fn answer_message(&self) -> std::borrow::Cow<'_, str> {
        limit::fit(&self.message, limit::MESSAGE)
    }

    /// The body of the answer.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "__type": self.error_type, "message": self.answer_message() })
    }
}

/// Splits `"ExceptionName: message"` as the domain errors render themselves.
fn split(text: &str, fallback: &str) -> ApiError {
    match text.split_once(": ") {
        Some((name, message)) if name.ends_with("Exception") && !name.contains(' ') => {
            ApiError::new(name, message)
        }
        _ => ApiError::new(fallback, text),
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => ApiError::new(
                "ConcurrentModificationException",
                format!("{error}; try again"),
            ),
            StoreError::AlreadyExists { .. } => {
                ApiError::new("ConflictException", error.to_string())
            }
            // A throttled or busy store: a 503, which the SDKs and the aws CLI retry.
            StoreError::Transient { .. } => {
                ApiError::new("ServiceUnavailable", format!("{error}; try again"))
            }
            StoreError::Backend { .. } => ApiError::internal(error.to_string()),
        }
    }
}

impl From<OrchestratorError> for ApiError {
    fn from(error: OrchestratorError) -> Self {
        ApiError::internal(error.to_string())
    }
}

impl From<ExecutionError> for ApiError {
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::Store(e) => e.into(),
            ExecutionError::Orchestrator(e) => e.into(),
            ExecutionError::Dispatch(e) => e.into(),
            ExecutionError::Scheduler(e) => e.into(),
            other => split(&other.to_string(), "ValidationException"),
        }
    }
}

impl From<SchedulerError> for ApiError {
    fn from(error: SchedulerError) -> Self {
        match error {
            SchedulerError::Invalid { .. } => {
                ApiError::new("ValidationException", error.to_string())
            }
            SchedulerError::Conflict(message) => ApiError::new("ConflictException", message),
            SchedulerError::Backend { .. } => ApiError::internal(error.to_string()),
        }
    }
}

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Store(e) => e.into(),
            ApprovalError::Worker(e) => ApiError::internal(e.to_string()),
            other => split(&other.to_string(), "ValidationException"),
        }
    }
}

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> Self {
        match error {
            DispatchError::Store(e) => e.into(),
            DispatchError::Orchestrator(e) => e.into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::Dispatch(e) => e.into(),
            other => split(&other.to_string(), "ValidationException"),
        }
    }
}

impl From<sluice_core::job::JobError> for ApiError {
    fn from(error: sluice_core::job::JobError) -> Self {
        match error {
            sluice_core::job::JobError::Store(e) => e.into(),
            sluice_core::job::JobError::Worker(e) => ApiError::internal(e.to_string()),
            other => split(&other.to_string(), "ValidationException"),
        }
    }
}

impl From<SignatureError> for ApiError {
    fn from(error: SignatureError) -> Self {
        ApiError {
            error_type: error.error_type().to_string(),
            message: error.to_string(),
            status: error.status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_model() {
        assert_eq!(ApiError::new("ConflictException", "x").status, 409);
        assert_eq!(ApiError::new("PipelineNotFoundException", "x").status, 400);
        assert_eq!(ApiError::new("AccessDeniedException", "x").status, 403);
        assert_eq!(ApiError::internal("x").status, 500);
        assert_eq!(
            ApiError::new("RequestEntityTooLargeException", "x").status,
            413
        );
    }

    #[test]
    fn answered_messages_are_cut_to_the_models_maximum() {
        let long = ApiError::validation(format!("Value '{}' is too long", "é".repeat(10_000)));
        let body = long.body();
        let message = body["message"].as_str().unwrap();
        assert!(message.encode_utf16().count() <= 5000);
        assert!(message.starts_with("Value 'é") && message.ends_with("é' is too long"));
        assert!(message.contains("characters cut"), "{message}");
        let short = ApiError::validation("fine");
        assert_eq!(short.body()["message"], "fine");
    }

    #[test]
    fn domain_errors_keep_their_exception_names() {
        let not_found: ApiError = ExecutionError::PipelineNotFound {
            account: "123456789012".into(),
            name: "p".into(),
        }
        .into();
        assert_eq!(not_found.error_type, "PipelineNotFoundException");
        assert_eq!(
            not_found.message,
            "Account '123456789012' does not have a pipeline with name 'p'"
        );
        let stopping: ApiError = ExecutionError::DuplicatedStop("e".into()).into();
        assert_eq!(stopping.error_type, "DuplicatedStopRequestException");
        let not_stoppable: ApiError = ExecutionError::NotStoppable("e".into()).into();
        assert_eq!(
            not_stoppable.error_type,
            "PipelineExecutionNotStoppableException"
        );
        let gone: ApiError = ExecutionError::ExecutionNotFound {
            pipeline: "p".into(),
            id: "e".into(),
        }
        .into();
        assert_eq!(gone.error_type, "PipelineExecutionNotFoundException");
        let invalid: ApiError =
            ExecutionError::Validation("Variable 'x' is not declared".into()).into();
        assert_eq!(invalid.error_type, "ValidationException");
        let conflict: ApiError = StoreError::Conflict { what: "w".into() }.into();
        assert_eq!(conflict.error_type, "ConcurrentModificationException");
        let exists: ApiError = StoreError::AlreadyExists { what: "w".into() }.into();
        assert_eq!(exists.status, 409);
        let busy: ApiError = StoreError::Transient {
            message: "throttled".into(),
            source: None,
        }
        .into();
        assert_eq!(
            (busy.error_type.as_str(), busy.status),
            ("ServiceUnavailable", 503)
        );
        let token: ApiError = ApprovalError::InvalidToken {
            pipeline: "p".into(),
            stage: "s".into(),
            action: "a".into(),
            token: "t".into(),
        }
        .into();
        assert_eq!(token.error_type, "InvalidApprovalTokenException");
        let stage: ApiError = TransitionError::StageNotFound {
            pipeline: "p".into(),
            stage: "s".into(),
        }
        .into();
        assert_eq!(stage.error_type, "StageNotFoundException");
    }
}
