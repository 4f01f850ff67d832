//! What is wrong with a pipeline, in CodePipeline's own exception names, and the exception every error
//! that can reach the API is answered with ([`Coded`]).
//!
//! A [`Problem`] is one finding. Validation collects every finding of a layer instead of stopping at the
//! first, so a user fixes a file in one pass. Each problem carries the [`Rule`] it enforces, so the corpus
//! of invalid pipelines can prove that every rule is covered.

use std::fmt;

/// The exception CodePipeline answers with (the `__type` of its error body): the validation findings'
/// and every error that can reach the API carry one as a typed value ([`Coded`]), and the API maps it to the
/// wire (its status) without reading any text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exception {
    /// A member breaks a constraint of the API model (required, length, pattern, enum, range, list size), or a request breaks a rule of the operation.
    ValidationException,
    /// A member has the wrong JSON type, so the request cannot be read at all.
    SerializationException,
    /// The pipeline as a whole is malformed: stage count, artifact flow, stores, triggers, pipeline type.
    InvalidStructureException,
    /// One stage is malformed: its actions, names, conditions.
    InvalidStageDeclarationException,
    /// One action is malformed: its type, configuration, artifacts, variables.
    InvalidActionDeclarationException,
    /// A stage declares a blocker (reserved by CodePipeline for future use).
    InvalidBlockerDeclarationException,
    /// A tag uses the reserved `aws:` prefix.
    InvalidTagsException,
    InvalidWebhookAuthenticationParametersException,
    InvalidWebhookFilterPatternException,
    /// More tags than a resource may carry.
    TooManyTagsException,
    /// CreatePipeline of a name that exists.
    PipelineNameInUseException,
    PipelineNotFoundException,
    PipelineVersionNotFoundException,
    PipelineExecutionNotFoundException,
    /// StopPipelineExecution of an execution that is not in progress.
    PipelineExecutionNotStoppableException,
    /// StopPipelineExecution of an execution already stopping, without abandon.
    DuplicatedStopRequestException,
    StageNotFoundException,
    /// RetryStageExecution of a stage that has not failed, or of an updated pipeline.
    StageNotRetryableException,
    /// RetryStageExecution of an execution a newer one passed.
    NotLatestPipelineExecutionException,
    ActionNotFoundException,
    /// PutApprovalResult with a token that names no waiting approval.
    InvalidApprovalTokenException,
    /// PutApprovalResult of an approval already decided.
    ApprovalAlreadyCompletedException,
    JobNotFoundException,
    /// AcknowledgeJob with a nonce that is not the job's.
    InvalidNonceException,
    /// A job result for a job in a state that does not take it.
    InvalidJobStateException,
    /// A list call's nextToken that no earlier answer gave.
    InvalidNextTokenException,
    /// A tag call on an ARN that names nothing; an EventBridge rule or event bus that does not exist.
    ResourceNotFoundException,
    /// More of something than a quota allows (an EventBridge rule's five targets).
    LimitExceededException,
    /// The request conflicts with the resource's state (a duplicate, a retry of an open execution).
    ConflictException,
    /// Another writer changed the resource between the read and the write: try again.
    ConcurrentModificationException,
    /// An operation of CodePipeline's API that Sluice does not carry out yet.
    UnsupportedOperationException,
    /// An operation CodePipeline's API does not have.
    UnknownOperationException,
    /// A request body larger than the API reads.
    RequestEntityTooLargeException,
    /// An unsigned request.
    MissingAuthenticationTokenException,
    /// A signature missing one of its parts.
    IncompleteSignatureException,
    /// A signature by an access key the server does not know.
    UnrecognizedClientException,
    /// A signature that does not verify (or is expired, or for another service or region).
    InvalidSignatureException,
    /// The caller may not do this.
    AccessDeniedException,
    /// The store could not answer now (throttled, busy): the SDKs and the aws CLI retry.
    ServiceUnavailable,
    /// Sluice itself failed (a store or orchestrator that failed for good).
    InternalFailure,
}

impl Exception {
    pub fn name(self) -> &'static str {
        match self {
            Self::ValidationException => "ValidationException",
            Self::SerializationException => "SerializationException",
            Self::InvalidStructureException => "InvalidStructureException",
            Self::InvalidStageDeclarationException => "InvalidStageDeclarationException",
            Self::InvalidActionDeclarationException => "InvalidActionDeclarationException",
            Self::InvalidBlockerDeclarationException => "InvalidBlockerDeclarationException",
            Self::InvalidTagsException => "InvalidTagsException",
            Self::InvalidWebhookAuthenticationParametersException => {
                "InvalidWebhookAuthenticationParametersException"
            }
            Self::InvalidWebhookFilterPatternException => "InvalidWebhookFilterPatternException",
            Self::TooManyTagsException => "TooManyTagsException",
            Self::PipelineNameInUseException => "PipelineNameInUseException",
            Self::PipelineNotFoundException => "PipelineNotFoundException",
            Self::PipelineVersionNotFoundException => "PipelineVersionNotFoundException",
            Self::PipelineExecutionNotFoundException => "PipelineExecutionNotFoundException",
            Self::PipelineExecutionNotStoppableException => {
                "PipelineExecutionNotStoppableException"
            }
            Self::DuplicatedStopRequestException => "DuplicatedStopRequestException",
            Self::StageNotFoundException => "StageNotFoundException",
            Self::StageNotRetryableException => "StageNotRetryableException",
            Self::NotLatestPipelineExecutionException => "NotLatestPipelineExecutionException",
            Self::ActionNotFoundException => "ActionNotFoundException",
            Self::InvalidApprovalTokenException => "InvalidApprovalTokenException",
            Self::ApprovalAlreadyCompletedException => "ApprovalAlreadyCompletedException",
            Self::JobNotFoundException => "JobNotFoundException",
            Self::InvalidNonceException => "InvalidNonceException",
            Self::InvalidJobStateException => "InvalidJobStateException",
            Self::InvalidNextTokenException => "InvalidNextTokenException",
            Self::ResourceNotFoundException => "ResourceNotFoundException",
            Self::LimitExceededException => "LimitExceededException",
            Self::ConflictException => "ConflictException",
            Self::ConcurrentModificationException => "ConcurrentModificationException",
            Self::UnsupportedOperationException => "UnsupportedOperationException",
            Self::UnknownOperationException => "UnknownOperationException",
            Self::RequestEntityTooLargeException => "RequestEntityTooLargeException",
            Self::MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            Self::IncompleteSignatureException => "IncompleteSignatureException",
            Self::UnrecognizedClientException => "UnrecognizedClientException",
            Self::InvalidSignatureException => "InvalidSignatureException",
            Self::AccessDeniedException => "AccessDeniedException",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InternalFailure => "InternalFailure",
        }
    }
}

/// An error that can reach the API, with the exception it is answered with. Its message is its
/// `Display`, written once where the error is defined.
pub trait Coded: std::error::Error {
    fn exception(&self) -> Exception;
}

/// CodePipeline's words for a pipeline that does not exist, for every error that says it.
pub fn no_pipeline(account: &str, name: &str) -> String {
    format!("Account '{account}' does not have a pipeline with name '{name}'")
}

/// CodePipeline's words for an execution that does not exist.
pub fn no_execution(pipeline: &str, id: &str) -> String {
    format!("Pipeline execution ID {id} does not exist in pipeline {pipeline}")
}

/// CodePipeline's words for a stage that does not exist.
pub fn no_stage(pipeline: &str, stage: &str) -> String {
    format!("Pipeline '{pipeline}' does not have a stage named '{stage}'")
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule a problem enforces: the model's shape constraints, or a structural rule of
/// docs/validation.md (S1–S22, with the artifact counts of docs/codepipeline.md as S9), and two
/// the list leaves out (blockers, approval-only timeouts).
/// docs/validation.md lists what each rule checks and which exception it raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A constraint of the API model: required, length, pattern, enum, range, list size.
    Shape,
    /// A JSON type that does not match the model.
    Type,
    /// A member the model does not have (a typo such as `runorder`).
    UnknownMember,
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    S7,
    S8,
    S9,
    S10,
    S11,
    S12,
    S13,
    S14,
    S15,
    S16,
    S17,
    S18,
    S19,
    S20,
    S21,
    S22,
    /// A stage declares a blocker, which CodePipeline reserves for future use.
    Blocker,
    /// `timeoutInMinutes` on an action that is not a manual approval.
    Timeout,
}

impl Rule {
    /// Every rule, in order.
    pub const ALL: [Rule; 27] = [
        Rule::Shape,
        Rule::Type,
        Rule::UnknownMember,
        Rule::S1,
        Rule::S2,
        Rule::S3,
        Rule::S4,
        Rule::S5,
        Rule::S6,
        Rule::S7,
        Rule::S8,
        Rule::S9,
        Rule::S10,
        Rule::S11,
        Rule::S12,
        Rule::S13,
        Rule::S14,
        Rule::S15,
        Rule::S16,
        Rule::S17,
        Rule::S18,
        Rule::S19,
        Rule::S20,
        Rule::S21,
        Rule::S22,
        Rule::Blocker,
        Rule::Timeout,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::Shape => "shape",
            Rule::Type => "type",
            Rule::UnknownMember => "unknown-member",
            Rule::S1 => "S1",
            Rule::S2 => "S2",
            Rule::S3 => "S3",
            Rule::S4 => "S4",
            Rule::S5 => "S5",
            Rule::S6 => "S6",
            Rule::S7 => "S7",
            Rule::S8 => "S8",
            Rule::S9 => "S9",
            Rule::S10 => "S10",
            Rule::S11 => "S11",
            Rule::S12 => "S12",
            Rule::S13 => "S13",
            Rule::S14 => "S14",
            Rule::S15 => "S15",
            Rule::S16 => "S16",
            Rule::S17 => "S17",
            Rule::S18 => "S18",
            Rule::S19 => "S19",
            Rule::S20 => "S20",
            Rule::S21 => "S21",
            Rule::S22 => "S22",
            Rule::Blocker => "blocker",
            Rule::Timeout => "timeout",
        }
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One finding: the exception CodePipeline raises for it, the rule, and a message naming the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{exception}: {}", self.message())]
pub struct Problem {
    pub exception: Exception,
    pub rule: Rule,
    /// For a `ValidationException`, one constraint violation in AWS's wording
    /// ("Value 'x' at 'pipeline.name' failed to satisfy constraint: ..."); otherwise the whole message.
    pub detail: String,
}

impl Problem {
    pub fn new(exception: Exception, rule: Rule, detail: impl Into<String>) -> Self {
        Self {
            exception,
            rule,
            detail: detail.into(),
        }
    }

    /// The message CodePipeline would answer with if this were the only problem.
    pub fn message(&self) -> String {
        match self.exception {
            Exception::ValidationException => {
                format!("1 validation error detected: {}", self.detail)
            }
            _ => self.detail.clone(),
        }
    }
}

/// The message of one `ValidationException` carrying several violations, as AWS words it:
/// "2 validation errors detected: Value ... ; Value ...". Problems of other exceptions are ignored.
pub fn validation_message(problems: &[Problem]) -> Option<String> {
    let details: Vec<&str> = problems
        .iter()
        .filter(|p| p.exception == Exception::ValidationException)
        .map(|p| p.detail.as_str())
        .collect();
    match details.len() {
        0 => None,
        1 => Some(format!("1 validation error detected: {}", details[0])),
        n => Some(format!(
            "{n} validation errors detected: {}",
            details.join("; ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_problem_reads_as_aws_words_a_single_violation() {
        let p = Problem::new(
            Exception::ValidationException,
            Rule::Shape,
            "Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null",
        );
        assert_eq!(
            p.to_string(),
            "ValidationException: 1 validation error detected: Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn several_violations_merge_into_one_message_with_a_count() {
        let a = Problem::new(Exception::ValidationException, Rule::Shape, "A");
        let b = Problem::new(Exception::ValidationException, Rule::Shape, "B");
        let c = Problem::new(Exception::InvalidStructureException, Rule::S1, "C");
        assert_eq!(
            validation_message(&[a.clone(), c.clone(), b]).as_deref(),
            Some("2 validation errors detected: A; B")
        );
        assert_eq!(validation_message(&[c]), None);
        assert_eq!(
            validation_message(&[a]).as_deref(),
            Some("1 validation error detected: A")
        );
    }

    #[test]
    fn rule_ids_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
        }
        assert_eq!(Rule::from_id("S23"), None);
    }
}
