//! Secret configuration values (a GitHub `OAuthToken`, a custom type's property declared `secret`) as
//! CodePipeline shows them: `****` in every answer — GetPipeline, CreatePipeline's and UpdatePipeline's
//! output, ListActionExecutions' configuration and resolved configuration — and only the job worker gets
//! the value (GetJobDetails, PollForJobs; model `ActionConfigurationProperty.secret`).
//!
//! Going back, "passing `****` without changing any other values of the action preserves the previous
//! value of the secret" (same place): [`keep_masked_secrets`] puts the stored value back before an
//! UpdatePipeline is stored, and refuses the mask for an action whose other values changed.

use super::{ActionTypes, Resolved};
use crate::pipeline::declaration::{
    ActionDeclaration, ActionTypeId, Configuration, PipelineDeclaration,
};

/// What CodePipeline shows in place of a secret value.
pub const MASK: &str = "****";

impl ActionTypes {
    /// The configuration keys of actions of type `id` that are secret. None for a custom type these
    /// action types do not know: build them with the registered custom types
    /// ([`crate::port::ResourceStore::action_types`]) wherever values are shown.
    pub fn secret_keys(&self, id: &ActionTypeId) -> Vec<&str> {
        match self.resolve(id) {
            Resolved::Builtin(builtin) => builtin
                .properties
                .iter()
                .filter(|p| p.secret)
                .map(|p| p.name)
                .collect(),
            Resolved::Custom(custom) => custom
                .configuration_properties
                .iter()
                .filter(|p| p.secret)
                .map(|p| p.name.as_str())
                .collect(),
            Resolved::UnknownCustom | Resolved::Unavailable => Vec::new(),
        }
    }

    /// `configuration` of an action of type `id`, its secret values masked.
    pub fn masked_configuration(
        &self,
        id: &ActionTypeId,
        configuration: &Configuration,
    ) -> Configuration {
        let secret = self.secret_keys(id);
        configuration
            .iter()
            .map(|(key, value)| {
                let shown = if secret.contains(&key.as_str()) {
                    MASK.to_string()
                } else {
                    value.clone()
                };
                (key.clone(), shown)
            })
            .collect()
    }

    /// The declaration as the API shows it: every secret configuration value masked.
    pub fn masked_declaration(&self, declaration: &PipelineDeclaration) -> PipelineDeclaration {
        let mut shown = declaration.clone();
        for action in shown.stages.iter_mut().flat_map(|s| s.actions.iter_mut()) {
            action.configuration =
                self.masked_configuration(&action.action_type_id, &action.configuration);
        }
        shown
    }
}

/// A secret given as the mask where the mask cannot keep a previous value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Action {action} in stage {stage}: configuration {key} is the mask {MASK}, which keeps the previous secret only {rule}; give the secret itself"
)]
pub struct MaskedSecretError {
    pub stage: String,
    pub action: String,
    pub key: String,
    /// Why the mask stands for nothing here.
    pub rule: String,
}

/// UpdatePipeline: each secret value given as [`MASK`] becomes the value stored for the same key of the
/// same action (same stage and name) in `previous`, when the action's type and every other configuration
/// value are unchanged; for an action whose type or other values changed, the mask is refused rather
/// than stored in place of the secret it hides. Where nothing is stored to keep (a new pipeline, a new
/// action, a key the action did not have) the mask is a value like any other, as in CodePipeline: the
/// MyWebAppPipeline example (examples/seed-mywebapp/) declares `"OAuthToken": "****"`.
pub fn keep_masked_secrets(
    declaration: &mut PipelineDeclaration,
    previous: Option<&PipelineDeclaration>,
    types: &ActionTypes,
) -> Result<(), MaskedSecretError> {
    for stage in &mut declaration.stages {
        for action in &mut stage.actions {
            let secret = types.secret_keys(&action.action_type_id);
            let masked: Vec<String> = action
                .configuration
                .iter()
                .filter(|(key, value)| secret.contains(&key.as_str()) && *value == MASK)
                .map(|(key, _)| key.clone())
                .collect();
            if masked.is_empty() {
                continue;
            }
            let refuse = |key: &str, rule: String| MaskedSecretError {
                stage: stage.name.clone(),
                action: action.name.clone(),
                key: key.to_string(),
                rule,
            };
            let before = previous.and_then(|p| {
                p.stages
                    .iter()
                    .find(|s| s.name == stage.name)
                    .and_then(|s| s.actions.iter().find(|a| a.name == action.name))
            });
            let Some(before) = before else { continue };
            let kept: Vec<(String, String)> = masked
                .iter()
                .filter_map(|key| Some((key.clone(), before.configuration.get(key)?.clone())))
                .collect();
            if kept.is_empty() {
                continue;
            }
            check_unchanged(action, before, &masked).map_err(|rule| refuse(&kept[0].0, rule))?;
            action.configuration.extend(kept);
        }
    }
    Ok(())
}

/// Whether `action` is `before` but for the masked keys.
fn check_unchanged(
    action: &ActionDeclaration,
    before: &ActionDeclaration,
    masked: &[String],
) -> Result<(), String> {
    if action.action_type_id != before.action_type_id {
        return Err("when the action's type is unchanged".to_string());
    }
    let others = |configuration: &Configuration| -> Configuration {
        configuration
            .iter()
            .filter(|(key, _)| !masked.contains(key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (now, then) = (others(&action.configuration), others(&before.configuration));
    let mut changed: Vec<&str> = now
        .keys()
        .chain(then.keys())
        .filter(|key| now.get(*key) != then.get(*key))
        .map(String::as_str)
        .collect();
    changed.sort_unstable();
    changed.dedup();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "when no other configuration value of the action changes (changed: {})",
            changed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ArtifactDetails;
    use crate::action::CustomActionType;
    use crate::action::CustomProperty;
    use crate::pipeline::declaration::ActionCategory;

    fn pipeline(token: &str, repo: &str) -> PipelineDeclaration {
        serde_json::from_value(serde_json::json!({
            "name": "P",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                    "configuration": {"Owner": "o", "Repo": repo, "Branch": "main", "OAuthToken": token},
                    "outputArtifacts": [{"name": "A"}]
                }]},
                {"name": "Ship", "actions": [{
                    "name": "Job",
                    "actionTypeId": {"category": "Deploy", "owner": "Custom", "provider": "Mine", "version": "1"},
                    "configuration": {"Target": "prod", "ApiKey": "key-1"},
                    "inputArtifacts": [{"name": "A"}]
                }]}
            ]
        }))
        .unwrap()
    }

    fn types() -> ActionTypes {
        let property = |name: &str, secret: bool| CustomProperty {
            name: name.to_string(),
            required: true,
            key: false,
            secret,
            queryable: false,
        };
        let custom = |provider: &str| CustomActionType {
            category: ActionCategory::Deploy,
            provider: provider.to_string(),
            version: "1".to_string(),
            configuration_properties: vec![property("Target", false), property("ApiKey", true)],
            input_artifact_details: ArtifactDetails {
                minimum_count: 0,
                maximum_count: 1,
            },
            output_artifact_details: ArtifactDetails {
                minimum_count: 0,
                maximum_count: 0,
            },
        };
        ActionTypes {
            custom: Some(vec![custom("Mine"), custom("Other")]),
        }
    }

    fn configuration<'a>(declaration: &'a PipelineDeclaration, action: &str) -> &'a Configuration {
        &declaration
            .actions()
            .find(|(_, a)| a.name == action)
            .unwrap()
            .1
            .configuration
    }

    #[test]
    fn the_catalogs_and_custom_types_secret_keys_are_masked_and_nothing_else() {
        let stored = pipeline("ghp_clear", "app");
        let shown = types().masked_declaration(&stored);
        let source = configuration(&shown, "Src");
        assert_eq!(source["OAuthToken"], MASK);
        assert_eq!(source["Repo"], "app");
        let job = configuration(&shown, "Job");
        assert_eq!(job["ApiKey"], MASK);
        assert_eq!(job["Target"], "prod");
        assert!(!serde_json::to_string(&shown).unwrap().contains("ghp_clear"));
        // The stored declaration is untouched.
        assert_eq!(configuration(&stored, "Src")["OAuthToken"], "ghp_clear");
    }

    #[test]
    fn the_mask_sent_back_unchanged_keeps_the_stored_secrets() {
        let stored = pipeline("ghp_clear", "app");
        let mut update = types().masked_declaration(&stored);
        keep_masked_secrets(&mut update, Some(&stored), &types()).unwrap();
        assert_eq!(configuration(&update, "Src")["OAuthToken"], "ghp_clear");
        assert_eq!(configuration(&update, "Job")["ApiKey"], "key-1");

        // A new secret given in clear replaces the old one.
        let mut rotated = pipeline("ghp_new", "app");
        keep_masked_secrets(&mut rotated, Some(&stored), &types()).unwrap();
        assert_eq!(configuration(&rotated, "Src")["OAuthToken"], "ghp_new");
    }

    #[test]
    fn the_mask_with_the_type_or_another_value_changed_is_refused_naming_the_action() {
        let stored = pipeline("ghp_clear", "app");
        let mut retargeted = pipeline(MASK, "other-repo");
        let error = keep_masked_secrets(&mut retargeted, Some(&stored), &types()).unwrap_err();
        assert_eq!(
            (error.stage.as_str(), error.action.as_str()),
            ("Source", "Src")
        );
        assert_eq!(error.key, "OAuthToken");
        assert!(error.to_string().contains("changed: Repo"), "{error}");

        let mut retyped = types().masked_declaration(&stored);
        retyped.stages[1].actions[0].action_type_id.provider = "Other".to_string();
        let error = keep_masked_secrets(&mut retyped, Some(&stored), &types()).unwrap_err();
        assert_eq!(
            (error.action.as_str(), error.key.as_str()),
            ("Job", "ApiKey")
        );
        assert!(error.to_string().contains("type is unchanged"), "{error}");
    }

    #[test]
    fn where_nothing_is_stored_to_keep_the_mask_is_a_value_like_any_other() {
        let mut created = pipeline(MASK, "app");
        keep_masked_secrets(&mut created, None, &types()).unwrap();
        assert_eq!(configuration(&created, "Src")["OAuthToken"], MASK);

        let stored = pipeline("ghp_clear", "app");
        let mut renamed = pipeline(MASK, "other-repo");
        renamed.stages[0].actions[0].name = "NewSrc".to_string();
        keep_masked_secrets(&mut renamed, Some(&stored), &types()).unwrap();
        assert_eq!(configuration(&renamed, "NewSrc")["OAuthToken"], MASK);

        let mut no_value = stored.clone();
        no_value.stages[0].actions[0]
            .configuration
            .remove("OAuthToken");
        let mut update = pipeline(MASK, "other-repo");
        keep_masked_secrets(&mut update, Some(&no_value), &types()).unwrap();
        assert_eq!(configuration(&update, "Src")["OAuthToken"], MASK);
    }

    #[test]
    fn a_mask_in_a_key_that_is_not_secret_is_an_ordinary_value() {
        let mut stored = pipeline("ghp_clear", "app");
        stored.stages[0].actions[0]
            .configuration
            .insert("Branch".to_string(), MASK.to_string());
        let mut update = stored.clone();
        keep_masked_secrets(&mut update, None, &types()).unwrap();
        assert_eq!(configuration(&update, "Src")["Branch"], MASK);
    }
}
