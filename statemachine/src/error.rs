//! Errors as Step Functions names them, and how Retry and Catch match them.

use std::fmt;

/// The error names Step Functions raises itself.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
}

/// A failure of a state: the error name Retry and Catch match on, and a cause for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub error: String,
    pub cause: String,
}

impl StateError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// Terminal errors end the execution whatever the Catch says: `States.ALL` does not match them
    /// (Step Functions developer guide, error handling).
    pub fn is_terminal(&self) -> bool {
        self.error == errors::RUNTIME || self.error == errors::DATA_LIMIT_EXCEEDED
    }

    fn is_timeout(&self) -> bool {
        self.error == errors::TIMEOUT || self.error == errors::HEARTBEAT_TIMEOUT
    }

    /// Whether a retrier's or catcher's `ErrorEquals` list covers this error.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        error_equals.iter().any(|name| match name.as_str() {
            errors::ALL => !self.is_terminal(),
            // "States.TaskFailed acts as a wildcard that matches any known error except for
            // States.Timeout" (developer guide).
            errors::TASK_FAILED => !self.is_terminal() && !self.is_timeout(),
            // A missed heartbeat is a kind of timeout: the guide describes States.Timeout as covering
            // "failed to send a heartbeat for a period longer than the HeartbeatSeconds value".
            errors::TIMEOUT => self.is_timeout(),
            other => other == self.error,
        })
    }

    /// The Error Output a catcher passes on: `{"Error": …, "Cause": …}`.
    pub fn output(&self) -> serde_json::Value {
        serde_json::json!({ "Error": self.error, "Cause": self.cause })
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StateError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn states_all_matches_everything_but_terminal_errors() {
        assert!(StateError::new("Custom.Error", "").matches(&names(&["States.ALL"])));
        assert!(StateError::new(errors::TIMEOUT, "").matches(&names(&["States.ALL"])));
        assert!(!StateError::new(errors::RUNTIME, "").matches(&names(&["States.ALL"])));
        assert!(!StateError::new(errors::DATA_LIMIT_EXCEEDED, "").matches(&names(&["States.ALL"])));
    }

    #[test]
    fn task_failed_matches_all_but_timeouts() {
        assert!(StateError::new("Lambda.Unknown", "").matches(&names(&["States.TaskFailed"])));
        assert!(!StateError::new(errors::TIMEOUT, "").matches(&names(&["States.TaskFailed"])));
        assert!(
            !StateError::new(errors::HEARTBEAT_TIMEOUT, "").matches(&names(&["States.TaskFailed"]))
        );
    }

    #[test]
    fn a_missed_heartbeat_is_caught_as_a_heartbeat_timeout_or_as_a_timeout() {
        let missed = StateError::new(errors::HEARTBEAT_TIMEOUT, "");
        assert!(missed.matches(&names(&["States.HeartbeatTimeout"])));
        assert!(missed.matches(&names(&["States.Timeout"])));
        assert!(
            !StateError::new(errors::TIMEOUT, "").matches(&names(&["States.HeartbeatTimeout"]))
        );
    }

    #[test]
    fn named_errors_match_exactly() {
        let e = StateError::new("Worker.Busy", "x");
        assert!(e.matches(&names(&["Other", "Worker.Busy"])));
        assert!(!e.matches(&names(&["worker.busy"])));
        assert_eq!(
            e.output(),
            serde_json::json!({"Error": "Worker.Busy", "Cause": "x"})
        );
    }
}
