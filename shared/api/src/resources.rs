//! The API's smaller resources, kept in the [`ResourceStore`]: tags (by resource ARN), webhooks (by
//! name) and custom action types (by category/provider/version).

use serde_json::{Value, json};
use sluice_core::action::catalog::BUILTIN;
use sluice_core::action::{ActionTypes, CustomActionType};
use sluice_core::port::{PipelineStore, Ports, ResourceStore, StoreError};
use sluice_core::problem::Exception;

use crate::error::ApiError;
use crate::ops::Service;

const TAGS: &str = "tags";
const WEBHOOK: &str = "webhook";
const ACTION_TYPE: &str = sluice_core::action::CUSTOM_ACTION_TYPE_KIND;
/// CodePipeline's quota of tags per resource.
const MAX_TAGS: usize = 50;

fn text<'a>(input: &'a Value, member: &str) -> &'a str {
    input
        .get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The resource's tags, `[{key, value}]`, in the order they were first given.
pub async fn tags<P: Ports>(ports: &P, arn: &str) -> Result<Vec<Value>, ApiError> {
    Ok(ports
        .store()
        .resource(TAGS, arn)
        .await?
        .and_then(|(doc, _)| doc.get("tags").and_then(Value::as_array).cloned())
        .unwrap_or_default())
}

/// Applies `change` to the resource's tags (read again until the conditional write wins).
async fn change_tags<P: Ports>(
    ports: &P,
    arn: &str,
    change: impl Fn(&mut Vec<Value>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    loop {
        let stored = ports.store().resource(TAGS, arn).await?;
        let version = stored.as_ref().map_or(0, |(_, v)| *v);
        let mut tags: Vec<Value> = stored
            .and_then(|(doc, _)| doc.get("tags").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        change(&mut tags)?;
        match ports
            .store()
            .put_resource(TAGS, arn, &json!({ "tags": tags }), version)
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// The pipeline a resource ARN names, when it names one (not a webhook).
fn pipeline_of<'a>(service: &Service, arn: &'a str) -> Option<&'a str> {
    let name = arn.strip_prefix(service.pipeline_arn("").as_str())?;
    (!name.is_empty() && !name.contains(':')).then_some(name)
}

/// The schedules `tags` set for `pipeline` ([`sluice_core::trigger::SCHEDULE_TAG`]); a schedule tag that
/// is not a valid EventBridge schedule is a ValidationException naming the tag.
pub fn schedules_of(
    pipeline: &str,
    tags: &[Value],
) -> Result<Vec<sluice_core::trigger::Trigger>, ApiError> {
    sluice_core::trigger::schedule_triggers(
        pipeline,
        tags.iter()
            .map(|tag| (text(tag, "key"), text(tag, "value"))),
    )
    .map_err(|(key, error)| {
        ApiError::new(
            Exception::ValidationException,
            format!("Tag '{key}' must hold an EventBridge schedule expression: {error}"),
        )
    })
}

/// Makes the pipeline's schedules what its tags now say. Resources other than pipelines have none.
pub async fn sync_schedules<P: Ports>(
    ports: &P,
    service: &Service,
    arn: &str,
) -> Result<(), ApiError> {
    let Some(pipeline) = pipeline_of(service, arn) else {
        return Ok(());
    };
    let schedules = schedules_of(pipeline, &tags(ports, arn).await?)?;
    sluice_core::usecase::pipeline::sync_triggers(
        ports.scheduler(),
        pipeline,
        &schedules,
        sluice_core::trigger::is_schedule_trigger,
    )
    .await?;
    Ok(())
}

/// Adds or replaces tags by key; refuses reserved `aws:` keys and more than 50 tags.
pub async fn add_tags<P: Ports>(ports: &P, arn: &str, new: &[Value]) -> Result<(), ApiError> {
    for tag in new {
        if text(tag, "key").to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::new(
                Exception::InvalidTagsException,
                format!(
                    "Tag key '{}' uses the reserved prefix 'aws:'",
                    text(tag, "key")
                ),
            ));
        }
    }
    change_tags(ports, arn, |tags| {
        for tag in new {
            let key = text(tag, "key");
            match tags.iter_mut().find(|t| text(t, "key") == key) {
                Some(existing) => *existing = tag.clone(),
                None => tags.push(tag.clone()),
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(ApiError::new(
                Exception::TooManyTagsException,
                format!("A resource can have at most {MAX_TAGS} tags"),
            ));
        }
        Ok(())
    })
    .await
}

/// Whether `arn` names a resource that exists (a pipeline, a webhook or a custom action type).
async fn exists<P: Ports>(ports: &P, service: &Service, arn: &str) -> Result<bool, ApiError> {
    let prefix = format!(
        "arn:aws:codepipeline:{}:{}:",
        service.region, service.account
    );
    let Some(rest) = arn.strip_prefix(&prefix) else {
        return Ok(false);
    };
    if let Some(name) = rest.strip_prefix("webhook:") {
        return Ok(ports.store().resource(WEBHOOK, name).await?.is_some());
    }
    if let Some(id) = rest.strip_prefix("actiontype:") {
        return Ok(ports.store().resource(ACTION_TYPE, id).await?.is_some());
    }
    Ok(ports.store().pipeline(rest).await?.is_some())
}

async fn existing<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<String, ApiError> {
    let arn = text(input, "resourceArn").to_string();
    if !exists(ports, service, &arn).await? {
        return Err(ApiError::new(
            Exception::ResourceNotFoundException,
            format!("The resource with the ARN {arn} does not exist"),
        ));
    }
    Ok(arn)
}

fn webhook_arn(service: &Service, name: &str) -> String {
    format!(
        "arn:aws:codepipeline:{}:{}:webhook:{name}",
        service.region, service.account
    )
}

/// A webhook as PutWebhook and ListWebhooks show it: "If a secret token was provided, it will be
/// redacted in the response" (model, `WebhookAuthConfiguration.SecretToken`).
fn listed(mut item: Value) -> Value {
    if let Some(token) = item.pointer_mut("/definition/authenticationConfiguration/SecretToken") {
        *token = json!("****");
    }
    item
}

fn action_type_id(category: &str, provider: &str, version: &str) -> String {
    format!("{category}/Custom/{provider}/{version}")
}

/// The action types pipelines may use: the built-in ones and the registered custom ones.
pub async fn action_types<P: Ports>(ports: &P) -> Result<ActionTypes, ApiError> {
    Ok(ports.store().action_types().await?)
}

fn builtin_action_types() -> Vec<Value> {
    BUILTIN
        .iter()
        .map(|t| {
            json!({
                "id": {"category": t.category.name(), "owner": t.owner.name(), "provider": t.provider, "version": "1"},
                "settings": {},
                "actionConfigurationProperties": t.properties.iter().map(|p| json!({
                    "name": p.name, "required": p.required, "key": true, "secret": p.secret
                })).collect::<Vec<_>>(),
                // ArtifactDetails counts go up to 5 in the API model, though some built-in types take
                // up to 10 artifacts: the listing says 5 there, as the shape allows no more.
                "inputArtifactDetails": {"minimumCount": t.inputs.0.min(5), "maximumCount": t.inputs.1.min(5)},
                "outputArtifactDetails": {"minimumCount": t.outputs.0.min(5), "maximumCount": t.outputs.1.min(5)},
            })
        })
        .collect()
}

/// The resource operations; `None` when `operation` is not one of them.
pub async fn call<P: Ports>(
    ports: &P,
    service: &Service,
    operation: &str,
    input: &Value,
) -> Option<Result<Value, ApiError>> {
    Some(match operation {
        "TagResource" => {
            async {
                let arn = existing(ports, service, input).await?;
                let new = input
                    .get("tags")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(pipeline) = pipeline_of(service, &arn) {
                    schedules_of(pipeline, &new)?;
                }
                add_tags(ports, &arn, &new).await?;
                sync_schedules(ports, service, &arn).await?;
                Ok(json!({}))
            }
            .await
        }
        "UntagResource" => {
            async {
                let arn = existing(ports, service, input).await?;
                let keys: Vec<String> = input
                    .get("tagKeys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(|k| k.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                change_tags(ports, &arn, |tags| {
                    tags.retain(|t| !keys.iter().any(|k| k == text(t, "key")));
                    Ok(())
                })
                .await?;
                sync_schedules(ports, service, &arn).await?;
                Ok(json!({}))
            }
            .await
        }
        "ListTagsForResource" => {
            async {
                let arn = existing(ports, service, input).await?;
                Ok(json!({ "tags": tags(ports, &arn).await? }))
            }
            .await
        }
        "PutWebhook" => put_webhook(ports, service, input).await,
        "ListWebhooks" => {
            async {
                let mut webhooks = Vec::new();
                for (_, item) in ports.store().resources(WEBHOOK).await? {
                    webhooks.push(listed(item));
                }
                Ok(json!({ "webhooks": webhooks }))
            }
            .await
        }
        "DeleteWebhook" => {
            async {
                let name = text(input, "name");
                ports.store().delete_resource(WEBHOOK, name).await?;
                ports
                    .store()
                    .delete_resource(TAGS, &webhook_arn(service, name))
                    .await?;
                Ok(json!({}))
            }
            .await
        }
        "CreateCustomActionType" => create_action_type(ports, service, input).await,
        "DeleteCustomActionType" => {
            async {
                let id = action_type_id(
                    text(input, "category"),
                    text(input, "provider"),
                    text(input, "version"),
                );
                ports.store().delete_resource(ACTION_TYPE, &id).await?;
                Ok(json!({}))
            }
            .await
        }
        "ListActionTypes" => {
            async {
                let owner = input.get("actionOwnerFilter").and_then(Value::as_str);
                let mut types = Vec::new();
                if owner.is_none_or(|o| o == "AWS" || o == "ThirdParty") {
                    types.extend(
                        builtin_action_types()
                            .into_iter()
                            .filter(|t| owner.is_none_or(|o| t["id"]["owner"] == o)),
                    );
                }
                if owner.is_none_or(|o| o == "Custom") {
                    for (_, doc) in ports.store().resources(ACTION_TYPE).await? {
                        if let Some(action_type) = doc.get("actionType") {
                            types.push(action_type.clone());
                        }
                    }
                }
                Ok(json!({ "actionTypes": types }))
            }
            .await
        }
        _ => return None,
    })
}

async fn put_webhook<P: Ports>(
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

async fn create_action_type<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let (category, provider, version) = (
        text(input, "category"),
        text(input, "provider"),
        text(input, "version"),
    );
    let properties = input
        .get("configurationProperties")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let queryable: Vec<&Value> = properties
        .iter()
        .filter(|p| p.get("queryable").and_then(Value::as_bool) == Some(true))
        .collect();
    if queryable.len() > 1 {
        return Err(ApiError::validation(
            "At most one configuration property of an action type may be queryable",
        ));
    }
    if let Some(q) = queryable.first()
        && (q.get("required").and_then(Value::as_bool) != Some(true)
            || q.get("secret").and_then(Value::as_bool) == Some(true))
    {
        return Err(ApiError::validation(
            "A queryable configuration property must be required and not secret",
        ));
    }
    let declared: CustomActionType = serde_json::from_value(input.clone())
        .map_err(|e| ApiError::validation(format!("The custom action type cannot be read: {e}")))?;
    let id = action_type_id(category, provider, version);
    let action_type = json!({
        "id": {"category": category, "owner": "Custom", "provider": provider, "version": version},
        "settings": input.get("settings").cloned().unwrap_or(json!({})),
        "actionConfigurationProperties": properties,
        "inputArtifactDetails": input.get("inputArtifactDetails"),
        "outputArtifactDetails": input.get("outputArtifactDetails"),
    });
    let document = json!({ "declared": declared, "actionType": action_type });
    match ports
        .store()
        .put_resource(ACTION_TYPE, &id, &document, 0)
        .await
    {
        Ok(()) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            return Err(ApiError::validation(format!(
                "The custom action type {id} already exists"
            )));
        }
        Err(other) => return Err(other.into()),
    }
    let arn = format!(
        "arn:aws:codepipeline:{}:{}:actiontype:{id}",
        service.region, service.account
    );
    let new_tags = input
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !new_tags.is_empty() {
        add_tags(ports, &arn, &new_tags).await?;
    }
    let mut answer = json!({ "actionType": action_type });
    if !new_tags.is_empty() {
        answer["tags"] = json!(tags(ports, &arn).await?);
    }
    Ok(answer)
}
