//! Tags, by resource ARN: TagResource, UntagResource, ListTagsForResource; the `sluice:schedule` tag.

use serde_json::{Value, json};
use sluice_core::port::{PipelineStore, Ports, ResourceStore, StoreError};
use sluice_core::problem::Exception;

use super::action_types::ACTION_TYPE;
use super::text;
use super::webhooks::WEBHOOK;
use crate::error::ApiError;
use crate::service::Service;

pub(super) const TAGS: &str = "tags";

/// CodePipeline's quota of tags per resource.
pub(super) const MAX_TAGS: usize = 50;

/// The resource's tags, `[{key, value}]`, in the order they were first given.
pub(super) async fn tags<P: Ports>(ports: &P, arn: &str) -> Result<Vec<Value>, ApiError> {
    Ok(ports
        .store()
        .resource(TAGS, arn)
        .await?
        .and_then(|(doc, _)| doc.get("tags").and_then(Value::as_array).cloned())
        .unwrap_or_default())
}

/// Applies `change` to the resource's tags (read again until the conditional write wins).
pub(super) async fn change_tags<P: Ports>(
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
pub(super) fn pipeline_of<'a>(service: &Service, arn: &'a str) -> Option<&'a str> {
    let name = arn.strip_prefix(service.pipeline_arn("").as_str())?;
    (!name.is_empty() && !name.contains(':')).then_some(name)
}

/// The schedules `tags` set for `pipeline` ([`sluice_core::trigger::SCHEDULE_TAG`]); a schedule tag that
/// is not a valid EventBridge schedule is a ValidationException naming the tag.
pub(super) fn schedules_of(
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
pub(super) async fn sync_schedules<P: Ports>(
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
pub(super) async fn add_tags<P: Ports>(
    ports: &P,
    arn: &str,
    new: &[Value],
) -> Result<(), ApiError> {
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
pub(super) async fn exists<P: Ports>(
    ports: &P,
    service: &Service,
    arn: &str,
) -> Result<bool, ApiError> {
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

pub(super) async fn existing<P: Ports>(
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

/// TagResource.
pub(super) async fn tag_resource<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
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

/// UntagResource.
pub(super) async fn untag_resource<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
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

/// ListTagsForResource.
pub(super) async fn list_tags_for_resource<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let arn = existing(ports, service, input).await?;
    Ok(json!({ "tags": tags(ports, &arn).await? }))
}
