//! The approval function: the approval pages behind the stack's HTTP API, answered by the same router
//! `sluice serve` runs (`sluice_api::approval`): `GET /view/<pipeline>/<stage>/<action>/approve/<link>`
//! shows an approval and a POST of its form decides it. The route has no IAM authorization (a reviewer
//! opens the link in a browser): the link's signature, under the stack's signing key, is what lets a
//! request in, and the form token is what lets a POST decide.
//!
//! A decision is carried out here, in the request: the attempt's record in DynamoDB and the waiting task
//! resumed with SendTaskSuccess or SendTaskFailure, through the same ports PutApprovalResult uses.
//! The reviewer's address is API Gateway's `requestContext.http.sourceIp` ([`crate::http::respond`]).

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

use sluice_api::approval::ApprovalPages;
use sluice_core::port::Ports;

use crate::http::{HttpEventError, is_http_request, read_request};
use crate::{StackLinks, failure};

/// Why the approval function refuses an invocation: it takes HTTP API requests only.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalInvocationError {
    #[error(
        "the event is not an HTTP API request (payload 2.0, with requestContext.http): the approval function serves the approval pages' routes only"
    )]
    NotHttp,
    #[error(transparent)]
    Http(#[from] HttpEventError),
}

/// The approval function's state, built once at init.
pub struct ApprovalFunction {
    router: sluice_api::Router,
}

impl ApprovalFunction {
    /// The pages over `ports`, checking links with the stack's key and forms against its public URL.
    pub fn new<P: Ports + 'static>(ports: P, links: StackLinks) -> Self {
        let pages = Arc::new(ApprovalPages {
            ports,
            key: links.key,
            public_url: links.public_url,
            log: Arc::new(|line: &str| tracing::info!("{line}")),
        });
        Self {
            router: sluice_api::approval::router(pages),
        }
    }

    /// One invocation: the HTTP API's response to the request.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let span = tracing::info_span!("invocation", function = "approval");
        async move {
            let request = if is_http_request(&event.payload) {
                read_request(event.payload).map_err(ApprovalInvocationError::from)
            } else {
                Err(ApprovalInvocationError::NotHttp)
            };
            let request = request.map_err(|error| {
                failure(
                    "Sluice.UnreadableInvocation",
                    &error,
                    "approval function invoked with an event it does not take",
                )
            })?;
            crate::http::respond(&self.router, request)
                .await
                .map_err(|error| {
                    failure(
                        "Sluice.ApprovalPageFailed",
                        &error,
                        "the HTTP API response cannot be written",
                    )
                })
        }
        .instrument(span)
        .await
    }
}
