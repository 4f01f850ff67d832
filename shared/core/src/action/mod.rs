//! Action types: the built-in catalog and custom action types registered with CreateCustomActionType.

pub mod catalog;
pub mod masking;

use serde::{Deserialize, Serialize};

use crate::pipeline::declaration::{ActionCategory, ActionOwner, ActionTypeId};

pub use catalog::{ActionType, BUILTIN, Property};
pub use masking::{MASK, MaskedSecretError, keep_masked_secrets};

/// The store kind custom action types are kept under; each document holds the type as created
/// (`declared`, a [`CustomActionType`]) and as ListActionTypes shows it (`actionType`).
pub const CUSTOM_ACTION_TYPE_KIND: &str = "action-type";

/// A custom action type, as `aws codepipeline create-custom-action-type --cli-input-json` declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomActionType {
    pub category: ActionCategory,
    pub provider: String,
    pub version: String,
    #[serde(default)]
    pub configuration_properties: Vec<CustomProperty>,
    pub input_artifact_details: ArtifactDetails,
    pub output_artifact_details: ArtifactDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomProperty {
    pub name: String,
    pub required: bool,
    pub key: bool,
    pub secret: bool,
    /// At most one property may be queryable; job workers poll on its value.
    #[serde(default)]
    pub queryable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDetails {
    pub minimum_count: usize,
    pub maximum_count: usize,
}

/// Which action types a pipeline may use.
#[derive(Debug, Clone, Default)]
pub struct ActionTypes {
    /// `None` when the custom types are unknown (offline validation of a file): custom actions are then
    /// accepted as declared. `Some` when they are known (the API, or `--custom-action-types`): an
    /// unregistered custom action is an error.
    pub custom: Option<Vec<CustomActionType>>,
}

/// What an action's `actionTypeId` names.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Builtin(&'static ActionType),
    Custom(&'a CustomActionType),
    /// A custom type this validation cannot see.
    UnknownCustom,
    /// Nothing by that name: not a built-in type, not a registered custom type.
    Unavailable,
}

impl ActionTypes {
    /// The built-in types and the custom types in `documents` (the store's documents of kind
    /// [`CUSTOM_ACTION_TYPE_KIND`]).
    pub fn from_documents<'a>(documents: impl IntoIterator<Item = &'a serde_json::Value>) -> Self {
        let custom = documents
            .into_iter()
            .filter_map(|doc| serde_json::from_value(doc.get("declared")?.clone()).ok())
            .collect();
        ActionTypes {
            custom: Some(custom),
        }
    }

    pub fn resolve(&self, id: &ActionTypeId) -> Resolved<'_> {
        if id.owner == ActionOwner::Custom {
            return match &self.custom {
                None => Resolved::UnknownCustom,
                Some(custom) => custom
                    .iter()
                    .find(|c| {
                        c.category == id.category
                            && c.provider == id.provider
                            && c.version == id.version
                    })
                    .map_or(Resolved::Unavailable, Resolved::Custom),
            };
        }
        match catalog::builtin(id.owner, id.category, &id.provider) {
            Some(builtin) if id.version == "1" => Resolved::Builtin(builtin),
            _ => Resolved::Unavailable,
        }
    }
}
