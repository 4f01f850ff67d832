//! API errors: CodePipeline's exception names, HTTP statuses and messages. The mapping from domain
//! errors lives here, in one place ([`From`] impls), with a test per variant: each error carries its
//! exception as a typed value ([`Coded`]), so nothing here reads an error's text.

use sluice_core::approval::ApprovalError;
use sluice_core::dispatcher::DispatchError;
use sluice_core::job::JobError;
use sluice_core::model::limit;
use sluice_core::port::{OrchestratorError, SchedulerError, StoreError};
use sluice_core::problem::{Coded, Exception, Problem, no_pipeline, validation_message};
use sluice_core::usecase::execution::ExecutionError;
use sluice_core::usecase::transition::TransitionError;

use crate::sigv4::SignatureError;

/// An error answer: `{"__type": error_type, "message": message}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error_type: String,
    pub message: String,
    pub status: u16,
    /// The pipeline a PipelineNotFoundException names: the core's handlers word it in the local account,
    /// and [`crate::service::Service`] words it again in its own.
    pub missing_pipeline: Option<String>,
}

/// The HTTP status each exception is answered with.
fn status(exception: Exception) -> u16 {
    match exception {
        Exception::ConflictException => 409,
        Exception::InternalFailure => 500,
        Exception::ServiceUnavailable => 503,
        Exception::RequestEntityTooLargeException => 413,
        // The JSON protocol's signature errors are 400s (sigv4::SignatureError::status).
        Exception::AccessDeniedException => 403,
        _ => 400,
    }
}

impl ApiError {
    pub fn new(exception: Exception, message: impl Into<String>) -> Self {
        Self {
            error_type: exception.name().to_string(),
            message: message.into(),
            status: status(exception),
            missing_pipeline: None,
        }
    }

    /// The answer to a domain error: its exception, and its message as written where it is defined.
    pub fn coded(error: &(impl Coded + ?Sized)) -> Self {
        Self::new(error.exception(), error.to_string())
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(Exception::ValidationException, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(Exception::SerializationException, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Exception::InternalFailure, message)
    }

    /// PipelineNotFoundException for `name` in `account`.
    pub fn pipeline_not_found(account: &str, name: &str) -> Self {
        Self {
            missing_pipeline: Some(name.to_string()),
            ..Self::new(
                Exception::PipelineNotFoundException,
                no_pipeline(account, name),
            )
        }
    }

    /// The model's shape problems or the pipeline rules' problems as the one error AWS answers: every
    /// ValidationException constraint in one message, else the first problem.
    pub fn from_problems(problems: &[Problem]) -> Self {
        if let Some(message) = validation_message(problems) {
            return Self::validation(message);
        }
        match problems.first() {
            Some(problem) => Self::new(problem.exception, problem.message()),
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

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let exception = error.exception();
        match error {
            // Both can pass when tried again, which the answer says.
            StoreError::Conflict { .. } | StoreError::Transient { .. } => {
                ApiError::new(exception, format!("{error}; try again"))
            }
            StoreError::AlreadyExists { .. } | StoreError::Backend { .. } => {
                ApiError::coded(&error)
            }
        }
    }
}

impl From<OrchestratorError> for ApiError {
    fn from(error: OrchestratorError) -> Self {
        ApiError::coded(&error)
    }
}

impl From<ExecutionError> for ApiError {
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::Store(e) => e.into(),
            ExecutionError::Dispatch(e) => e.into(),
            ExecutionError::PipelineNotFound { account, name } => {
                ApiError::pipeline_not_found(&account, &name)
            }
            other => ApiError::coded(&other),
        }
    }
}

impl From<SchedulerError> for ApiError {
    fn from(error: SchedulerError) -> Self {
        ApiError::coded(&error)
    }
}

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Store(e) => e.into(),
            ApprovalError::PipelineNotFound { account, name } => {
                ApiError::pipeline_not_found(&account, &name)
            }
            other => ApiError::coded(&other),
        }
    }
}

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> Self {
        match error {
            DispatchError::Store(e) => e.into(),
            other => ApiError::coded(&other),
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::Dispatch(e) => e.into(),
            TransitionError::PipelineNotFound { account, name } => {
                ApiError::pipeline_not_found(&account, &name)
            }
            other => ApiError::coded(&other),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::Store(e) => e.into(),
            JobError::Worker(e) => ApiError::internal(e.to_string()),
            other => ApiError::coded(&other),
        }
    }
}

impl From<sluice_core::webhook::DefinitionError> for ApiError {
    fn from(error: sluice_core::webhook::DefinitionError) -> Self {
        ApiError::coded(&error)
    }
}

impl From<SignatureError> for ApiError {
    fn from(error: SignatureError) -> Self {
        ApiError {
            status: error.status(),
            ..ApiError::coded(&error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_model() {
        assert_eq!(ApiError::new(Exception::ConflictException, "x").status, 409);
        assert_eq!(
            ApiError::new(Exception::PipelineNotFoundException, "x").status,
            400
        );
        assert_eq!(
            ApiError::new(Exception::AccessDeniedException, "x").status,
            403
        );
        assert_eq!(ApiError::internal("x").status, 500);
        assert_eq!(
            ApiError::new(Exception::RequestEntityTooLargeException, "x").status,
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
