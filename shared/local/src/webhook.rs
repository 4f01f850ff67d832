//! The webhook receiver's secrets on one machine: `SLUICE_GITHUB_WEBHOOK_SECRET`,
//! `SLUICE_BITBUCKET_WEBHOOK_SECRET` and `SLUICE_GITLAB_WEBHOOK_SECRET`, or a file named in sluice.json
//! (`"webhooks": {"github": {"secretFile": "…"}}`). The variable wins when both are set. A provider with
//! neither has no secret, and its endpoint refuses every delivery with 401.

use std::path::PathBuf;

use sluice_core::port::SecretValue;
use sluice_core::usecase::webhook::ReceiverSecrets;
use sluice_core::webhook::event::GitProvider;

use crate::provider::LocalConfig;

/// Why the secrets cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("cannot read the {provider} webhook secret file {path}: {source}")]
    Read {
        provider: GitProvider,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the {provider} webhook secret ({from}) is empty")]
    Empty { provider: GitProvider, from: String },
}

/// The variable holding a provider's secret.
pub fn secret_variable(provider: GitProvider) -> String {
    format!(
        "SLUICE_{}_WEBHOOK_SECRET",
        provider.slug().to_ascii_uppercase()
    )
}

/// Where each provider's secret comes from, for `sluice serve` to say (never the secret itself).
pub fn secret_sources(
    config: &LocalConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(GitProvider, String)> {
    [
        GitProvider::GitHub,
        GitProvider::Bitbucket,
        GitProvider::GitLab,
    ]
    .into_iter()
    .filter_map(|provider| {
        let variable = secret_variable(provider);
        if env(&variable).is_some() {
            Some((provider, variable))
        } else {
            config
                .webhooks
                .get(provider.slug())
                .map(|w| (provider, w.secret_file.clone()))
        }
    })
    .collect()
}

/// Reads every provider's secret. `env` reads a variable (the process's environment in `sluice serve`).
pub fn receiver_secrets(
    config: &LocalConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ReceiverSecrets, WebhookSecretError> {
    let mut secrets = ReceiverSecrets::default();
    for provider in [
        GitProvider::GitHub,
        GitProvider::Bitbucket,
        GitProvider::GitLab,
    ] {
        let variable = secret_variable(provider);
        let (secret, from) = if let Some(value) = env(&variable) {
            (value.into_bytes(), variable)
        } else if let Some(webhook) = config.webhooks.get(provider.slug()) {
            let path = PathBuf::from(&webhook.secret_file);
            let mut bytes = std::fs::read(&path).map_err(|source| WebhookSecretError::Read {
                provider,
                path: path.clone(),
                source,
            })?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            (bytes, path.display().to_string())
        } else {
            continue;
        };
        if secret.is_empty() {
            return Err(WebhookSecretError::Empty { provider, from });
        }
        secrets
            .by_provider
            .insert(provider, SecretValue::new(secret));
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::WebhookConfig;

    #[test]
    fn the_variable_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("github.secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut config = LocalConfig::default();
        config.webhooks.insert(
            "github".into(),
            WebhookConfig {
                secret_file: file.display().to_string(),
            },
        );
        let none = |_: &str| None;
        let secrets = receiver_secrets(&config, &none).unwrap();
        assert_eq!(
            secrets.by_provider[&GitProvider::GitHub].expose(),
            b"from-file"
        );
        assert!(!secrets.by_provider.contains_key(&GitProvider::GitLab));
        let env =
            |name: &str| (name == "SLUICE_GITHUB_WEBHOOK_SECRET").then(|| "from-env".to_string());
        let secrets = receiver_secrets(&config, &env).unwrap();
        assert_eq!(
            secrets.by_provider[&GitProvider::GitHub].expose(),
            b"from-env"
        );
        let empty = |name: &str| (name == "SLUICE_GITLAB_WEBHOOK_SECRET").then(String::new);
        assert!(matches!(
            receiver_secrets(&config, &empty),
            Err(WebhookSecretError::Empty { .. })
        ));
    }
}
