//! Action types: CreateCustomActionType, DeleteCustomActionType, ListActionTypes.

use serde_json::{Value, json};
use sluice_core::action::catalog::BUILTIN;
use sluice_core::action::{ActionTypes, CustomActionType};
use sluice_core::port::{Ports, ResourceStore, StoreError};

use super::tags::{add_tags, tags};
use super::text;
use crate::error::ApiError;
use crate::service::Service;

pub(super) const ACTION_TYPE: &str = sluice_core::action::CUSTOM_ACTION_TYPE_KIND;

pub(super) fn action_type_id(category: &str, provider: &str, version: &str) -> String {
    format!("{category}/Custom/{provider}/{version}")
}

/// The action types pipelines may use: the built-in ones and the registered custom ones.
pub(crate) async fn action_types<P: Ports>(ports: &P) -> Result<ActionTypes, ApiError> {
    Ok(ports.store().action_types().await?)
}

pub(super) fn builtin_action_types() -> Vec<Value> {
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

pub(super) async fn create_action_type<P: Ports>(
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

/// DeleteCustomActionType.
pub(super) async fn delete_custom_action_type<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
    let id = action_type_id(
        text(input, "category"),
        text(input, "provider"),
        text(input, "version"),
    );
    ports.store().delete_resource(ACTION_TYPE, &id).await?;
    Ok(json!({}))
}

/// ListActionTypes.
pub(super) async fn list_action_types<P: Ports>(
    ports: &P,
    input: &Value,
) -> Result<Value, ApiError> {
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
