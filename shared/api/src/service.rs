//! Where the API runs: its account, Region and compile options, and the names it gives what it keeps.

use sluice_core::approval::link::{ApprovalKey, PublicUrl, ReviewLinks};
use sluice_core::compile::CompileOptions;
use sluice_core::record::LOCAL_ACCOUNT;

use crate::error::ApiError;

/// Where the API runs: the account and Region its ARNs name.
#[derive(Debug, Clone)]
pub struct Service {
    pub account: String,
    pub region: String,
    pub compile: CompileOptions,
    /// Where the API is reached from outside, for the URLs it hands out (webhooks, approval pages):
    /// `sluice serve --public-url`.
    pub base_url: String,
    /// The key approval pages' links are signed with, where this server serves them ([`crate::approval`]):
    /// GetPipelineState then links each waiting approval to its page (`externalExecutionUrl`).
    pub approval_key: Option<ApprovalKey>,
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
            approval_key: None,
            eventbridge: false,
        }
    }
}

impl Service {
    /// Where approvals link to: `None` unless this server serves approval pages, or when its base URL
    /// is not a public URL (a misconfiguration `sluice serve` refuses at start).
    pub fn review_links(&self) -> Option<ReviewLinks> {
        let key = self.approval_key.clone()?;
        Some(ReviewLinks::signed(
            PublicUrl::parse(&self.base_url).ok()?,
            key,
        ))
    }

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
