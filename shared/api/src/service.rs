//! Where the API runs: its account, Region and compile options, and the names it gives what it keeps.

use sluice_core::compile::CompileOptions;
use sluice_core::record::LOCAL_ACCOUNT;

use crate::error::ApiError;

/// Where the API runs: the account and Region its ARNs name.
#[derive(Debug, Clone)]
pub struct Service {
    pub account: String,
    pub region: String,
    pub compile: CompileOptions,
    /// Where the API is reached from outside, for the URLs it hands out (webhooks).
    pub base_url: String,
    /// Whether the API is also its own EventBridge and answers the rule operations (`AWSEvents.*`,
    /// [`crate::events`]): `sluice serve`. On AWS, EventBridge itself keeps the rules.
    pub eventbridge: bool,
}

impl Default for Service {
    fn default() -> Self {
        Self {
            account: LOCAL_ACCOUNT.to_string(),
            region: "us-east-1".to_string(),
            compile: CompileOptions::default(),
            base_url: "http://127.0.0.1:4570".to_string(),
            eventbridge: false,
        }
    }
}

impl Service {
    pub fn pipeline_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:codepipeline:{}:{}:{name}",
            self.region, self.account
        )
    }

    /// The core's handlers name the local account in their errors; the API answers with its own.
    pub(crate) fn in_account(&self, error: ApiError) -> ApiError {
        match &error.missing_pipeline {
            Some(name) => self.not_found(name),
            None => error,
        }
    }

    pub(crate) fn not_found(&self, name: &str) -> ApiError {
        ApiError::pipeline_not_found(&self.account, name)
    }
}
