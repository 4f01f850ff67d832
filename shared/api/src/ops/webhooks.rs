//! Webhooks, by name: PutWebhook, ListWebhooks, DeleteWebhook.

use serde_json::{Value, json};
use sluice_core::port::{PipelineStore, Ports, ResourceStore, StoreError};

use super::tags::{TAGS, add_tags, tags};
use super::text;
use crate::error::ApiError;
use crate::service::Service;

pub(super) const WEBHOOK: &str = "webhook";

pub(super) fn webhook_arn(service: &Service, name: &str) -> String {
    format!(
        "arn:aws:codepipeline:{}:{}:webhook:{name}",
        service.region, service.account
    )
}

/// A webhook as PutWebhook and ListWebhooks show it: "If a secret token was provided, it will be
/// redacted in the response" (model, `WebhookAuthConfiguration.SecretToken`).
pub(super) fn listed(mut item: Value) -> Value {
    if let Some(token) = item.pointer_mut("/definition/authenticationConfiguration/SecretToken") {
        *token = json!("****");
    }
    item
}

pub(super) async fn put_webhook<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let definition = input.get("webhook").cloned().unwrap_or_default();
    let name = text(&definition, "name").to_string();
    let pipeline = text(&definition, "targetPipeline");
    let action = text(&definition, "targetAction");
    let stored = ports
        .store()
        .pipeline(pipeline)
        .await?
        .ok_or_else(|| service.not_found(pipeline))?;
    sluice_core::webhook::check_definition(&definition)?;
    let in_first_stage = stored
        .declaration
        .stages
        .first()
        .is_some_and(|s| s.actions.iter().any(|a| a.name == action));
    if !in_first_stage {
        return Err(ApiError::validation(format!(
            "The webhook's target action {action} must be an action of the first stage of pipeline {pipeline}"
        )));
    }
    let arn = webhook_arn(service, &name);
    // Recreating a webhook gives it a new URL, as CodePipeline does.
    let url = format!(
        "{}/webhooks/{}",
        service.base_url.trim_end_matches('/'),
        ports.ids().token(32)
    );
    let item = json!({ "definition": definition, "url": url, "arn": arn });
    loop {
        let version = ports
            .store()
            .resource(WEBHOOK, &name)
            .await?
            .map_or(0, |(_, v)| v);
        match ports
            .store()
            .put_resource(WEBHOOK, &name, &item, version)
            .await
        {
            Ok(()) => break,
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    let new_tags = input
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !new_tags.is_empty() {
        add_tags(ports, &arn, &new_tags).await?;
    }
    let mut answer = listed(item);
    let tags = tags(ports, &arn).await?;
    if !tags.is_empty() {
        answer["tags"] = json!(tags);
    }
    Ok(json!({ "webhook": answer }))
}

/// ListWebhooks.
pub(super) async fn list_webhooks<P: Ports>(ports: &P) -> Result<Value, ApiError> {
    let mut webhooks = Vec::new();
    for (_, item) in ports.store().resources(WEBHOOK).await? {
        webhooks.push(listed(item));
    }
    Ok(json!({ "webhooks": webhooks }))
}

/// DeleteWebhook.
pub(super) async fn delete_webhook<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    ports.store().delete_resource(WEBHOOK, name).await?;
    ports
        .store()
        .delete_resource(TAGS, &webhook_arn(service, name))
        .await?;
    Ok(json!({}))
}
