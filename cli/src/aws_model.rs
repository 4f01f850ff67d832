//! `sluice aws-model`: CodePipeline's API model for the aws CLI, signing for the deployed stack.
//!
//! The deployed api function sits behind an IAM-authorised HTTP API, and API Gateway accepts only
//! signatures made for the service name `execute-api`. The aws CLI signs `aws codepipeline` calls for
//! `codepipeline`, the name in its model, so API Gateway refuses them before Sluice sees them. The CLI
//! reads extra models from `~/.aws/models`: this prints CodePipeline's model with `signingName` set, for
//! `aws configure add-model`, after which `aws sluice <operation> --endpoint-url <ApiUrl>` signs as API
//! Gateway expects and sends CodePipeline's own requests.

use std::process::ExitCode;

use serde_json::Value;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The service name to sign for: `execute-api` for a deployed stack's HTTP API.
    #[arg(long, default_value = "execute-api", value_name = "NAME")]
    signing_name: String,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    match model(&args.signing_name) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice aws-model: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The model with `metadata.signingName` set. Only awsJson1.1 is listed: it is what the HTTP API routes
/// `POST /` to, and what every aws CLI speaks.
fn model(signing_name: &str) -> Result<String, String> {
    if signing_name.is_empty()
        || !signing_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "--signing-name {signing_name:?}: a service name is letters, digits and '-'"
        ));
    }
    let mut model: Value = serde_json::from_str(sluice_core::model::CODEPIPELINE_MODEL)
        .map_err(|e| format!("the built-in model does not read: {e}"))?;
    let metadata = model
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or("the built-in model has no metadata")?;
    metadata.insert("signingName".into(), signing_name.into());
    metadata.insert("protocol".into(), "json".into());
    metadata.insert("protocols".into(), serde_json::json!(["json"]));
    serde_json::to_string_pretty(&model).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_signs_for_the_given_name_and_speaks_json() {
        let model: Value = serde_json::from_str(&model("execute-api").unwrap()).unwrap();
        assert_eq!(model["metadata"]["signingName"], "execute-api");
        assert_eq!(model["metadata"]["protocol"], "json");
        assert_eq!(model["metadata"]["targetPrefix"], "CodePipeline_20150709");
        assert!(model["operations"]["PutApprovalResult"].is_object());
    }

    #[test]
    fn a_bad_signing_name_is_refused() {
        assert!(model("execute api").unwrap_err().contains("--signing-name"));
        assert!(model("").is_err());
    }
}
