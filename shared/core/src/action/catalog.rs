//! The action types CodePipeline provides, as data: who owns them, their category, the configuration keys
//! they take, how many artifacts they consume and produce (docs/codepipeline.md, "Action types and artifact counts"), whether they need a
//! V2 pipeline, and their default timeout (§3.2). Provider-specific rules that depend on values (an S3
//! deploy without `Extract` needs an `ObjectKey`, …) are small functions beside the entries.
//!
//! `open_configuration` marks the types whose full key list we could not source: for those, unknown keys
//! are let through rather than rejecting a pipeline AWS would accept.

use ActionCategory::{Approval, Build, Compute, Deploy, Invoke, Source, Test};

use crate::pipeline::declaration::{ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId};
use crate::variable::contains_reference;

/// One configuration key of an action type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub required: bool,
    /// Shown masked (`****`) by get-pipeline; never logged.
    pub secret: bool,
}

const fn required(name: &'static str) -> Property {
    Property {
        name,
        required: true,
        secret: false,
    }
}

const fn optional(name: &'static str) -> Property {
    Property {
        name,
        required: false,
        secret: false,
    }
}

const fn secret(name: &'static str) -> Property {
    Property {
        name,
        required: true,
        secret: true,
    }
}

/// A built-in action type (version "1").
#[derive(Debug, Clone, Copy)]
pub struct ActionType {
    pub owner: ActionOwner,
    pub category: ActionCategory,
    pub provider: &'static str,
    /// Least and most input artifacts.
    pub inputs: (usize, usize),
    /// Least and most output artifacts.
    pub outputs: (usize, usize),
    pub properties: &'static [Property],
    pub open_configuration: bool,
    pub v2_only: bool,
    pub default_timeout_minutes: u32,
    /// Value-dependent rules; each returned string is one problem with the action's configuration.
    pub check: Option<fn(&ActionDeclaration) -> Vec<String>>,
}

impl ActionType {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

const HOUR: u32 = 60;
const DAY: u32 = 24 * HOUR;

const fn aws(
    category: ActionCategory,
    provider: &'static str,
    inputs: (usize, usize),
    outputs: (usize, usize),
    properties: &'static [Property],
) -> ActionType {
    ActionType {
        owner: ActionOwner::Aws,
        category,
        provider,
        inputs,
        outputs,
        properties,
        open_configuration: false,
        v2_only: false,
        default_timeout_minutes: HOUR,
        check: None,
    }
}

const CODEBUILD_PROPERTIES: &[Property] = &[
    required("ProjectName"),
    optional("PrimarySource"),
    optional("BatchEnabled"),
    optional("CombineArtifacts"),
    optional("EnvironmentVariables"),
];

const CODEBUILD: ActionType = ActionType {
    default_timeout_minutes: 8 * HOUR,
    check: Some(check_codebuild),
    ..aws(Build, "CodeBuild", (1, 5), (0, 5), CODEBUILD_PROPERTIES)
};

/// Every built-in action type Sluice knows, by (owner, category, provider).
pub const BUILTIN: &[ActionType] = &[
    // Source: no inputs, one output.
    ActionType {
        check: Some(check_s3_source),
        ..aws(
            Source,
            "S3",
            (0, 0),
            (1, 1),
            &[
                required("S3Bucket"),
                required("S3ObjectKey"),
                optional("PollForSourceChanges"),
                optional("AllowOverrideForS3ObjectKey"),
            ],
        )
    },
    ActionType {
        check: Some(check_codecommit),
        ..aws(
            Source,
            "CodeCommit",
            (0, 0),
            (1, 1),
            &[
                required("RepositoryName"),
                required("BranchName"),
                optional("PollForSourceChanges"),
                optional("OutputArtifactFormat"),
            ],
        )
    },
    aws(
        Source,
        "ECR",
        (0, 0),
        (1, 1),
        &[required("RepositoryName"), optional("ImageTag")],
    ),
    ActionType {
        check: Some(check_connection_source),
        ..aws(
            Source,
            "CodeStarSourceConnection",
            (0, 0),
            (1, 1),
            &[
                required("ConnectionArn"),
                required("FullRepositoryId"),
                required("BranchName"),
                optional("OutputArtifactFormat"),
                optional("DetectChanges"),
            ],
        )
    },
    ActionType {
        owner: ActionOwner::ThirdParty,
        check: Some(check_github_source),
        ..aws(
            Source,
            "GitHub",
            (0, 0),
            (1, 1),
            &[
                required("Owner"),
                required("Repo"),
                required("Branch"),
                secret("OAuthToken"),
                optional("PollForSourceChanges"),
            ],
        )
    },
    // Build and Test.
    CODEBUILD,
    ActionType {
        category: Test,
        ..CODEBUILD
    },
    ActionType {
        v2_only: true,
        ..aws(
            Build,
            "ECRBuildAndPublish",
            (1, 1),
            (0, 0),
            &[
                required("ECRRepositoryName"),
                optional("DockerFilePath"),
                optional("ImageTags"),
                optional("RegistryType"),
            ],
        )
    },
    ActionType {
        open_configuration: true,
        ..aws(
            Test,
            "DeviceFarm",
            (1, 1),
            (0, 0),
            &[
                required("AppType"),
                required("ProjectId"),
                required("App"),
                required("DevicePoolArn"),
                required("TestType"),
            ],
        )
    },
    // Compute: the Commands action runs the declaration's `commands` (V2 only).
    ActionType {
        v2_only: true,
        open_configuration: true,
        ..aws(Compute, "Commands", (1, 10), (0, 1), &[])
    },
    // Deploy.
    ActionType {
        default_timeout_minutes: 90,
        check: Some(check_s3_deploy),
        ..aws(
            Deploy,
            "S3",
            (1, 1),
            (0, 0),
            &[
                required("BucketName"),
                required("Extract"),
                optional("ObjectKey"),
                optional("KMSEncryptionKeyARN"),
                optional("CannedACL"),
                optional("CacheControl"),
            ],
        )
    },
    ActionType {
        default_timeout_minutes: 3 * DAY,
        check: Some(check_cloudformation),
        ..aws(
            Deploy,
            "CloudFormation",
            (0, 10),
            (0, 1),
            &[
                required("ActionMode"),
                required("StackName"),
                optional("Capabilities"),
                optional("ChangeSetName"),
                optional("RoleArn"),
                optional("TemplatePath"),
                optional("OutputFileName"),
                optional("ParameterOverrides"),
                optional("TemplateConfiguration"),
            ],
        )
    },
    ActionType {
        open_configuration: true,
        ..aws(
            Deploy,
            "CloudFormationStackSet",
            (1, 3),
            (0, 0),
            &[required("StackSetName"), required("TemplatePath")],
        )
    },
    ActionType {
        open_configuration: true,
        ..aws(
            Deploy,
            "CloudFormationStackInstances",
            (0, 2),
            (0, 0),
            &[
                required("StackSetName"),
                required("DeploymentTargets"),
                required("Regions"),
            ],
        )
    },
    ActionType {
        default_timeout_minutes: 5 * DAY,
        ..aws(
            Deploy,
            "CodeDeploy",
            (1, 1),
            (0, 0),
            &[required("ApplicationName"), required("DeploymentGroupName")],
        )
    },
    ActionType {
        default_timeout_minutes: 5 * DAY,
        open_configuration: true,
        ..aws(
            Deploy,
            "CodeDeployToECS",
            (1, 3),
            (0, 0),
            &[
                required("ApplicationName"),
                required("DeploymentGroupName"),
                required("TaskDefinitionTemplateArtifact"),
                required("AppSpecTemplateArtifact"),
            ],
        )
    },
    ActionType {
        check: Some(check_ecs),
        ..aws(
            Deploy,
            "ECS",
            (1, 1),
            (0, 0),
            &[
                required("ClusterName"),
                required("ServiceName"),
                optional("FileName"),
                optional("DeploymentTimeout"),
            ],
        )
    },
    aws(
        Deploy,
        "ElasticBeanstalk",
        (1, 1),
        (0, 0),
        &[required("ApplicationName"), required("EnvironmentName")],
    ),
    ActionType {
        open_configuration: true,
        ..aws(Deploy, "OpsWorks", (1, 1), (0, 0), &[])
    },
    ActionType {
        open_configuration: true,
        ..aws(Deploy, "ServiceCatalog", (1, 1), (0, 0), &[])
    },
    aws(
        Deploy,
        "AppConfig",
        (1, 1),
        (0, 0),
        &[
            required("Application"),
            required("Environment"),
            required("ConfigurationProfile"),
            required("InputArtifactConfigurationPath"),
            optional("DeploymentStrategy"),
        ],
    ),
    ActionType {
        open_configuration: true,
        ..aws(Deploy, "EC2", (1, 1), (0, 0), &[required("InstanceTagKey")])
    },
    ActionType {
        open_configuration: true,
        ..aws(Deploy, "EKS", (1, 1), (0, 0), &[])
    },
    ActionType {
        open_configuration: true,
        ..aws(
            Deploy,
            "Lambda",
            (1, 1),
            (0, 0),
            &[required("FunctionName")],
        )
    },
    ActionType {
        owner: ActionOwner::ThirdParty,
        ..aws(
            Deploy,
            "AlexaSkillsKit",
            (1, 2),
            (0, 0),
            &[
                required("ClientId"),
                secret("ClientSecret"),
                secret("RefreshToken"),
                required("SkillId"),
            ],
        )
    },
    // Approval.
    ActionType {
        default_timeout_minutes: 7 * DAY,
        ..aws(
            Approval,
            "Manual",
            (0, 0),
            (0, 0),
            &[
                optional("NotificationArn"),
                optional("CustomData"),
                optional("ExternalEntityLink"),
            ],
        )
    },
    // Invoke.
    ActionType {
        default_timeout_minutes: DAY,
        ..aws(
            Invoke,
            "Lambda",
            (0, 5),
            (0, 5),
            &[required("FunctionName"), optional("UserParameters")],
        )
    },
    ActionType {
        default_timeout_minutes: 7 * DAY,
        check: Some(check_step_functions),
        ..aws(
            Invoke,
            "StepFunctions",
            (0, 1),
            (0, 1),
            &[
                required("StateMachineArn"),
                optional("ExecutionNamePrefix"),
                optional("InputType"),
                optional("Input"),
            ],
        )
    },
    ActionType {
        check: Some(check_invoke_pipeline),
        ..aws(
            Invoke,
            "CodePipeline",
            (0, 0),
            (0, 0),
            &[
                required("PipelineName"),
                optional("SourceRevisions"),
                optional("Variables"),
            ],
        )
    },
];

/// Custom actions time out after 24 hours unless their type says otherwise (§3.2).
pub const CUSTOM_DEFAULT_TIMEOUT_MINUTES: u32 = DAY;

/// The built-in type for an owner, category and provider.
pub fn builtin(
    owner: ActionOwner,
    category: ActionCategory,
    provider: &str,
) -> Option<&'static ActionType> {
    BUILTIN
        .iter()
        .find(|t| t.owner == owner && t.category == category && t.provider == provider)
}

/// The providers an owner offers in a category, for error messages.
pub fn providers(owner: ActionOwner, category: ActionCategory) -> Vec<&'static str> {
    BUILTIN
        .iter()
        .filter(|t| t.owner == owner && t.category == category)
        .map(|t| t.provider)
        .collect()
}

/// The categories in which some owner offers `provider`, for "did you mean" hints.
pub fn categories_of(provider: &str) -> Vec<ActionCategory> {
    let mut found: Vec<ActionCategory> = BUILTIN
        .iter()
        .filter(|t| t.provider == provider)
        .map(|t| t.category)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn config<'a>(action: &'a ActionDeclaration, key: &str) -> Option<&'a str> {
    action.configuration.get(key).map(String::as_str)
}

/// A value to compare against a fixed set: `None` when absent or when it holds a variable reference,
/// which only resolves at run time.
fn literal<'a>(action: &'a ActionDeclaration, key: &str) -> Option<&'a str> {
    config(action, key).filter(|v| !contains_reference(v))
}

fn boolean(action: &ActionDeclaration, key: &str, problems: &mut Vec<String>) {
    if let Some(value) = literal(action, key)
        && !value.eq_ignore_ascii_case("true")
        && !value.eq_ignore_ascii_case("false")
    {
        problems.push(format!(
            "Action configuration for action '{}' has an invalid value for '{key}': '{value}' (expected true or false)",
            action.name
        ));
    }
}

fn one_of(action: &ActionDeclaration, key: &str, allowed: &[&str], problems: &mut Vec<String>) {
    if let Some(value) = literal(action, key)
        && !allowed.contains(&value)
    {
        problems.push(format!(
            "Action configuration for action '{}' has an invalid value for '{key}': '{value}' (expected one of {})",
            action.name,
            allowed.join(", ")
        ));
    }
}

fn needs(action: &ActionDeclaration, key: &str, because: &str, problems: &mut Vec<String>) {
    if config(action, key).is_none() {
        problems.push(format!(
            "Action configuration for action '{}' is missing required configuration '{key}': it is required {because}",
            action.name
        ));
    }
}

/// Checks a JSON-valued configuration key; `expect` says what the JSON must be.
fn json_value(
    action: &ActionDeclaration,
    key: &str,
    expect: fn(&serde_json::Value) -> bool,
    what: &str,
    problems: &mut Vec<String>,
) {
    if let Some(text) = config(action, key) {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) if expect(&value) => {}
            Ok(_) => problems.push(format!(
                "Action configuration for action '{}' has an invalid value for '{key}': it must be {what}",
                action.name
            )),
            Err(e) => problems.push(format!(
                "Action configuration for action '{}' has an invalid value for '{key}': it must be {what}, but it is not valid JSON ({e})",
                action.name
            )),
        }
    }
}

fn check_s3_source(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    boolean(action, "PollForSourceChanges", &mut problems);
    boolean(action, "AllowOverrideForS3ObjectKey", &mut problems);
    problems
}

const ARTIFACT_FORMATS: &[&str] = &["CODE_ZIP", "CODEBUILD_CLONE_REF"];

fn check_codecommit(action: &ActionDeclaration) -> Vec<String> {
    repository_source(action, "PollForSourceChanges")
}

fn check_connection_source(action: &ActionDeclaration) -> Vec<String> {
    repository_source(action, "DetectChanges")
}

/// CodeCommit and connection sources: a change-detection switch and an artifact format.
fn repository_source(action: &ActionDeclaration, detection_key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    boolean(action, detection_key, &mut problems);
    one_of(
        action,
        "OutputArtifactFormat",
        ARTIFACT_FORMATS,
        &mut problems,
    );
    problems
}

fn check_github_source(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    boolean(action, "PollForSourceChanges", &mut problems);
    problems
}

fn check_codebuild(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    let inputs: Vec<&str> = action
        .input_artifacts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    match literal(action, "PrimarySource") {
        Some(primary) if !inputs.contains(&primary) => problems.push(format!(
            "Action configuration for action '{}' has an invalid value for 'PrimarySource': '{primary}' is not one of its input artifacts ({})",
            action.name,
            inputs.join(", ")
        )),
        None if inputs.len() > 1 && config(action, "PrimarySource").is_none() => {
            needs(
                action,
                "PrimarySource",
                "when a CodeBuild action has more than one input artifact",
                &mut problems,
            );
        }
        _ => {}
    }
    boolean(action, "BatchEnabled", &mut problems);
    boolean(action, "CombineArtifacts", &mut problems);
    if literal(action, "CombineArtifacts").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && !literal(action, "BatchEnabled").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        problems.push(format!(
            "Action configuration for action '{}' sets CombineArtifacts, which needs BatchEnabled set to true",
            action.name
        ));
    }
    json_value(
        action,
        "EnvironmentVariables",
        |v| {
            v.as_array().is_some_and(|items| {
                items.iter().all(|item| {
                    item.get("name").is_some_and(serde_json::Value::is_string)
                        && item.get("value").is_some_and(serde_json::Value::is_string)
                        && item.get("type").is_none_or(|t| {
                            matches!(
                                t.as_str(),
                                Some("PLAINTEXT" | "PARAMETER_STORE" | "SECRETS_MANAGER")
                            )
                        })
                })
            })
        },
        "a JSON list of {\"name\", \"value\", \"type\"} objects, type PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER",
        &mut problems,
    );
    problems
}

fn check_s3_deploy(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    boolean(action, "Extract", &mut problems);
    if literal(action, "Extract").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        needs(action, "ObjectKey", "when Extract is false", &mut problems);
    }
    problems
}

const CFN_ACTION_MODES: &[&str] = &[
    "CHANGE_SET_EXECUTE",
    "CHANGE_SET_REPLACE",
    "CREATE_UPDATE",
    "DELETE_ONLY",
    "REPLACE_ON_FAILURE",
];

fn check_cloudformation(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    one_of(action, "ActionMode", CFN_ACTION_MODES, &mut problems);
    if let Some(mode) = literal(action, "ActionMode") {
        let because = format!("for ActionMode {mode}");
        if matches!(mode, "CHANGE_SET_REPLACE" | "CHANGE_SET_EXECUTE") {
            needs(action, "ChangeSetName", &because, &mut problems);
        }
        if matches!(
            mode,
            "CREATE_UPDATE" | "REPLACE_ON_FAILURE" | "DELETE_ONLY" | "CHANGE_SET_REPLACE"
        ) {
            needs(action, "RoleArn", &because, &mut problems);
        }
        if matches!(
            mode,
            "CREATE_UPDATE" | "REPLACE_ON_FAILURE" | "CHANGE_SET_REPLACE"
        ) {
            needs(action, "TemplatePath", &because, &mut problems);
        }
    }
    if let Some(capabilities) = literal(action, "Capabilities") {
        for capability in capabilities.split(',').map(str::trim) {
            if !matches!(
                capability,
                "CAPABILITY_IAM" | "CAPABILITY_NAMED_IAM" | "CAPABILITY_AUTO_EXPAND"
            ) {
                problems.push(format!(
                    "Action configuration for action '{}' has an invalid value for 'Capabilities': '{capability}' (expected CAPABILITY_IAM, CAPABILITY_NAMED_IAM or CAPABILITY_AUTO_EXPAND)",
                    action.name
                ));
            }
        }
    }
    for key in ["TemplatePath", "TemplateConfiguration"] {
        if let Some(path) = literal(action, key)
            && !path
                .split_once("::")
                .is_some_and(|(artifact, file)| !artifact.is_empty() && !file.is_empty())
        {
            problems.push(format!(
                "Action configuration for action '{}' has an invalid value for '{key}': '{path}' (expected ArtifactName::path/in/artifact)",
                action.name
            ));
        }
    }
    json_value(
        action,
        "ParameterOverrides",
        serde_json::Value::is_object,
        "a JSON object of parameter names to values",
        &mut problems,
    );
    problems
}

fn check_ecs(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(timeout) = literal(action, "DeploymentTimeout")
        && !timeout
            .parse::<u32>()
            .is_ok_and(|minutes| (1..=60).contains(&minutes))
    {
        problems.push(format!(
            "Action configuration for action '{}' has an invalid value for 'DeploymentTimeout': '{timeout}' (expected minutes from 1 to 60)",
            action.name
        ));
    }
    problems
}

fn check_step_functions(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    one_of(action, "InputType", &["Literal", "FilePath"], &mut problems);
    if literal(action, "InputType") == Some("FilePath") {
        needs(action, "Input", "when InputType is FilePath", &mut problems);
    }
    problems
}

fn check_invoke_pipeline(action: &ActionDeclaration) -> Vec<String> {
    let mut problems = Vec::new();
    for key in ["SourceRevisions", "Variables"] {
        json_value(
            action,
            key,
            serde_json::Value::is_array,
            "a JSON list",
            &mut problems,
        );
    }
    problems
}

/// How long an action may run, in minutes: its `timeoutInMinutes`, else its type's default. The machine's
/// `TimeoutSeconds` for the action's task and an approval's expiry both come from it.
pub fn timeout_minutes(action: &ActionDeclaration) -> u64 {
    action
        .timeout_in_minutes
        .and_then(|minutes| u64::try_from(minutes).ok())
        .unwrap_or_else(|| u64::from(default_timeout_minutes(&action.action_type_id)))
}

/// The default timeout of an action, in minutes, when it declares none.
pub fn default_timeout_minutes(id: &ActionTypeId) -> u32 {
    match builtin(id.owner, id.category, &id.provider) {
        Some(action_type) => action_type.default_timeout_minutes,
        None if id.owner == ActionOwner::Custom => CUSTOM_DEFAULT_TIMEOUT_MINUTES,
        None => 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_type_is_listed_once() {
        for (i, a) in BUILTIN.iter().enumerate() {
            for b in &BUILTIN[i + 1..] {
                assert!(
                    !(a.owner == b.owner && a.category == b.category && a.provider == b.provider),
                    "{} {} listed twice",
                    a.category.name(),
                    a.provider
                );
            }
            assert!(a.inputs.0 <= a.inputs.1 && a.outputs.0 <= a.outputs.1);
        }
    }

    #[test]
    fn codebuild_serves_build_and_test() {
        assert_eq!(categories_of("CodeBuild"), vec![Build, Test]);
        assert!(builtin(ActionOwner::Aws, Test, "CodeBuild").is_some());
        assert!(builtin(ActionOwner::Aws, Deploy, "CodeBuild").is_none());
        assert_eq!(providers(ActionOwner::Aws, Approval), vec!["Manual"]);
    }

    #[test]
    fn default_timeouts_follow_the_quotas_page() {
        let minutes = |category, provider| {
            builtin(ActionOwner::Aws, category, provider)
                .unwrap()
                .default_timeout_minutes
        };
        assert_eq!(minutes(Approval, "Manual"), 7 * 24 * 60);
        assert_eq!(minutes(Deploy, "CloudFormation"), 3 * 24 * 60);
        assert_eq!(minutes(Deploy, "S3"), 90);
        assert_eq!(minutes(Invoke, "Lambda"), 24 * 60);
        assert_eq!(minutes(Source, "S3"), 60);
    }

    #[test]
    fn default_timeouts_come_from_the_catalog() {
        let id = |owner, category, provider: &str| ActionTypeId {
            category,
            owner,
            provider: provider.to_string(),
            version: "1".to_string(),
        };
        assert_eq!(
            default_timeout_minutes(&id(ActionOwner::Aws, ActionCategory::Approval, "Manual")),
            10_080
        );
        assert_eq!(
            default_timeout_minutes(&id(ActionOwner::Custom, ActionCategory::Build, "Jenkins")),
            1_440
        );
    }
}
