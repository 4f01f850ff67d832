//! The ports the Lambda functions run over, built once per process from the environment the SAM template
//! sets (infra/template.yaml): the DynamoDB store, the S3 artifact store, Step Functions and the
//! EventBridge bus state-change events go to.

use sluice_core::compile::CompileOptions;
use sluice_core::port::{Clock, Ids, Ports, Scheduler, SchedulerError};
use sluice_core::system::{RandomIds, SystemClock};
use sluice_core::trigger::Trigger;

use crate::config::AwsConfig;
use crate::dynamo::DynamoStore;
use crate::eventbridge::EventBridgeScheduler;
use crate::eventbridge_events::EventBridgePublisher;
use crate::s3::S3ArtifactStore;
use crate::sfn::StepFunctions;

/// A setting the functions read from their environment is missing or empty.
#[derive(Debug, thiserror::Error)]
#[error("the environment variable {name} is not set: {purpose} (infra/template.yaml sets it)")]
pub struct MissingSetting {
    pub name: &'static str,
    pub purpose: &'static str,
}

/// `SLUICE_EVENT_BUS`: the EventBridge bus state-change events are put on (optional).
pub const EVENT_BUS_VARIABLE: &str = "SLUICE_EVENT_BUS";
/// The bus when `SLUICE_EVENT_BUS` is unset or empty: the account's default bus, where CodePipeline puts
/// its own events.
pub const DEFAULT_EVENT_BUS: &str = "default";

/// `SLUICE_PUBLIC_URL`: the stack's public URL ([`Settings::public_url`]).
pub const PUBLIC_URL_VARIABLE: &str = "SLUICE_PUBLIC_URL";

/// What a function needs to know about its stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `SLUICE_TABLE`: the single table.
    pub table: String,
    /// `SLUICE_KMS_KEY_ARN`: the customer key artifacts are encrypted with.
    pub kms_key: String,
    /// `SLUICE_STATE_MACHINE_ROLE_ARN`: the role compiled machines run as (the api function only).
    pub state_machine_role: Option<String>,
    /// `SLUICE_FUNCTION_PREFIX`: the stack's name; functions are `<prefix>-dispatcher`,
    /// `<prefix>-worker-<kind>`, and state machines `<prefix>-<pipeline>`.
    pub prefix: String,
    /// `SLUICE_EVENT_BUS`: the bus state-change events go to ([`DEFAULT_EVENT_BUS`] when unset).
    pub event_bus: String,
    /// `SLUICE_EVENTS_ROLE_ARN`: the role EventBridge rules start executions as (the api function only,
    /// which puts the rules).
    pub events_role: Option<String>,
    /// `SLUICE_PUBLIC_URL`: where the stack is reached from outside, the HTTP API's URL. Every link a
    /// function hands out starts with it: approval pages and notifications, PutWebhook's URLs (the
    /// api, approval and invoke worker functions).
    pub public_url: Option<String>,
    /// `SLUICE_APPROVAL_KEY_ARN`: the secret approval links are signed with (the same three functions;
    /// [`crate::approval`]).
    pub approval_key_arn: Option<String>,
}

impl Settings {
    /// Reads the settings through `variable` (the process environment in a function, a map in tests).
    pub fn from_lookup(variable: impl Fn(&str) -> Option<String>) -> Result<Self, MissingSetting> {
        let required = |name: &'static str, purpose: &'static str| {
            variable(name)
                .filter(|value| !value.is_empty())
                .ok_or(MissingSetting { name, purpose })
        };
        Ok(Self {
            table: required(
                "SLUICE_TABLE",
                "the DynamoDB table of pipelines and executions",
            )?,
            kms_key: required(
                "SLUICE_KMS_KEY_ARN",
                "the KMS key artifacts are encrypted with",
            )?,
            state_machine_role: variable("SLUICE_STATE_MACHINE_ROLE_ARN").filter(|v| !v.is_empty()),
            prefix: required(
                "SLUICE_FUNCTION_PREFIX",
                "the stack name that prefixes functions and state machines",
            )?,
            event_bus: variable(EVENT_BUS_VARIABLE)
                .filter(|bus| !bus.is_empty())
                .unwrap_or_else(|| DEFAULT_EVENT_BUS.to_string()),
            events_role: variable("SLUICE_EVENTS_ROLE_ARN").filter(|v| !v.is_empty()),
            public_url: variable(PUBLIC_URL_VARIABLE).filter(|v| !v.is_empty()),
            approval_key_arn: variable(crate::approval::KEY_ARN_VARIABLE).filter(|v| !v.is_empty()),
        })
    }

    pub fn from_env() -> Result<Self, MissingSetting> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// How pipelines compile here: the stack's dispatcher and workers.
    pub fn compile_options(&self) -> CompileOptions {
        CompileOptions {
            dispatcher: format!("{}-dispatcher", self.prefix),
            worker_prefix: format!("{}-worker", self.prefix),
            ..CompileOptions::default()
        }
    }
}

/// The ports over AWS. Clone it freely: the clients inside are shared.
#[derive(Clone, Debug)]
pub struct AwsPorts {
    pub store: DynamoStore,
    pub orchestrator: StepFunctions,
    pub artifacts: S3ArtifactStore,
    pub events: EventBridgePublisher,
    pub scheduler: StackScheduler,
    pub s3: aws_sdk_s3::Client,
    pub kms_key: String,
}

impl AwsPorts {
    pub fn new(config: &AwsConfig, settings: &Settings) -> Self {
        let s3 = config.s3();
        let eventbridge = aws_sdk_eventbridge::Client::new(&config.sdk);
        let region = config
            .sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        Self {
            store: DynamoStore::new(config.dynamodb(), &settings.table),
            orchestrator: StepFunctions::new(
                config.sfn(),
                settings.state_machine_role.clone().unwrap_or_default(),
                &settings.prefix,
            ),
            artifacts: S3ArtifactStore::new(s3.clone(), &settings.kms_key),
            events: EventBridgePublisher::new(eventbridge.clone(), &settings.event_bus),
            scheduler: StackScheduler::new(eventbridge, settings, &region),
            s3,
            kms_key: settings.kms_key.clone(),
        }
    }
}

/// The triggers of a function: EventBridge rules for the api function, the one that changes pipelines and
/// so their triggers; it has the events role and the state machine role (whose ARN gives the account).
/// The other functions never change triggers, and their scheduler says so if asked.
#[derive(Clone, Debug)]
pub enum StackScheduler {
    Rules(EventBridgeScheduler),
    Unavailable(String),
}

impl StackScheduler {
    fn new(eventbridge: aws_sdk_eventbridge::Client, settings: &Settings, region: &str) -> Self {
        // `arn:<partition>:iam::<account>:role/<name>`
        let role_parts = settings
            .state_machine_role
            .as_deref()
            .map(|arn| arn.split(':').collect::<Vec<_>>());
        let (Some(events_role), Some([_, partition, _, _, account, ..])) =
            (&settings.events_role, role_parts.as_deref())
        else {
            return Self::Unavailable(
                "this function changes no triggers: SLUICE_EVENTS_ROLE_ARN and SLUICE_STATE_MACHINE_ROLE_ARN are set for the api function only".to_string(),
            );
        };
        let machines = format!("arn:{partition}:states:{region}:{account}:stateMachine:");
        match EventBridgeScheduler::new(eventbridge, &settings.prefix, events_role, machines) {
            Ok(rules) => Self::Rules(rules),
            Err(error) => Self::Unavailable(format!("SLUICE_FUNCTION_PREFIX: {error}")),
        }
    }

    fn rules(&self) -> Result<&EventBridgeScheduler, SchedulerError> {
        match self {
            Self::Rules(rules) => Ok(rules),
            Self::Unavailable(why) => Err(SchedulerError::Backend {
                message: why.clone(),
                source: None,
            }),
        }
    }
}

impl Scheduler for StackScheduler {
    async fn put_trigger(&self, trigger: &Trigger) -> Result<(), SchedulerError> {
        self.rules()?.put_trigger(trigger).await
    }
    async fn delete_trigger(&self, pipeline: &str, name: &str) -> Result<(), SchedulerError> {
        self.rules()?.delete_trigger(pipeline, name).await
    }
    async fn triggers(&self, pipeline: &str) -> Result<Vec<Trigger>, SchedulerError> {
        self.rules()?.triggers(pipeline).await
    }
    async fn delete_pipeline_triggers(&self, pipeline: &str) -> Result<(), SchedulerError> {
        self.rules()?.delete_pipeline_triggers(pipeline).await
    }
}

impl Ports for AwsPorts {
    type Store = DynamoStore;
    type Orchestrator = StepFunctions;
    type Artifacts = S3ArtifactStore;
    type Events = EventBridgePublisher;
    type Scheduler = StackScheduler;

    fn store(&self) -> &DynamoStore {
        &self.store
    }
    fn orchestrator(&self) -> &StepFunctions {
        &self.orchestrator
    }
    fn artifacts(&self) -> &S3ArtifactStore {
        &self.artifacts
    }
    fn events(&self) -> &EventBridgePublisher {
        &self.events
    }
    fn scheduler(&self) -> &StackScheduler {
        &self.scheduler
    }
    fn clock(&self) -> &dyn Clock {
        &SystemClock
    }
    fn ids(&self) -> &dyn Ids {
        &RandomIds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_name_the_missing_variable() {
        let error = Settings::from_lookup(lookup(&[("SLUICE_TABLE", "t")])).unwrap_err();
        assert_eq!(error.name, "SLUICE_KMS_KEY_ARN");
        assert!(error.to_string().contains("SLUICE_KMS_KEY_ARN is not set"));
        let empty = Settings::from_lookup(lookup(&[
            ("SLUICE_TABLE", ""),
            ("SLUICE_KMS_KEY_ARN", "k"),
            ("SLUICE_FUNCTION_PREFIX", "p"),
        ]))
        .unwrap_err();
        assert_eq!(empty.name, "SLUICE_TABLE", "an empty value is missing too");
    }

    #[test]
    fn pipelines_compile_to_the_stacks_functions() {
        let settings = Settings::from_lookup(lookup(&[
            ("SLUICE_TABLE", "t"),
            ("SLUICE_KMS_KEY_ARN", "k"),
            ("SLUICE_FUNCTION_PREFIX", "prod"),
        ]))
        .unwrap();
        let options = settings.compile_options();
        assert_eq!(options.dispatcher, "prod-dispatcher");
        assert_eq!(
            options.worker(sluice_core::pipeline::declaration::ActionCategory::Test),
            "prod-worker-build"
        );
        assert_eq!(settings.state_machine_role, None);
    }

    #[test]
    fn events_go_to_the_named_bus_or_the_default_one() {
        let base = [
            ("SLUICE_TABLE", "t"),
            ("SLUICE_KMS_KEY_ARN", "k"),
            ("SLUICE_FUNCTION_PREFIX", "p"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Settings::from_lookup(lookup(&pairs)).unwrap()
        };
        assert_eq!(
            with(&[("SLUICE_EVENT_BUS", "sluice-events")]).event_bus,
            "sluice-events"
        );
        assert_eq!(with(&[]).event_bus, "default");
        assert_eq!(
            with(&[("SLUICE_EVENT_BUS", "")]).event_bus,
            "default",
            "an empty value is unset"
        );
        assert_eq!(with(&[]).events_role, None);
    }

    #[tokio::test]
    async fn only_a_function_with_the_events_role_and_the_machines_role_may_change_triggers() {
        let config = AwsConfig::for_endpoint(&crate::config::Endpoint {
            url: "http://127.0.0.1:9".to_string(),
            region: "eu-west-1".to_string(),
            access_key_id: "test".to_string(),
            secret_access_key: "test".to_string(),
        })
        .await;
        let base = [
            ("SLUICE_TABLE", "t"),
            ("SLUICE_KMS_KEY_ARN", "k"),
            ("SLUICE_FUNCTION_PREFIX", "prod"),
            (
                "SLUICE_STATE_MACHINE_ROLE_ARN",
                "arn:aws-cn:iam::210987654321:role/m",
            ),
        ];
        let worker = AwsPorts::new(&config, &Settings::from_lookup(lookup(&base)).unwrap());
        let refused = worker.scheduler.triggers("P").await.unwrap_err();
        assert!(
            refused.to_string().contains("SLUICE_EVENTS_ROLE_ARN"),
            "{refused}"
        );
        let mut api = base.to_vec();
        api.push((
            "SLUICE_EVENTS_ROLE_ARN",
            "arn:aws-cn:iam::210987654321:role/e",
        ));
        let api = AwsPorts::new(&config, &Settings::from_lookup(lookup(&api)).unwrap());
        match &api.scheduler {
            StackScheduler::Rules(rules) => assert_eq!(
                rules.machine_arn("P"),
                "arn:aws-cn:states:eu-west-1:210987654321:stateMachine:prod-P",
                "the machines' ARN takes the partition and account of the state machine role"
            ),
            StackScheduler::Unavailable(why) => panic!("the api function's scheduler: {why}"),
        }
    }
}
