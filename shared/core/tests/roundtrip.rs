//! The typed pipeline model is CodePipeline's: it carries every member of the API model, and a pipeline
//! survives parse → serialize → parse unchanged.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sluice_core::model;
use sluice_core::model::Shape;
use sluice_core::pipeline::*;
use sluice_core::time::Timestamp;

/// A JSON value with every member of `shape` present, recursively: the most a file can say.
fn maximal(shape_name: &str) -> Value {
    let model = model::codepipeline();
    match model.shape(shape_name).expect("shape exists") {
        Shape::Structure { members, .. } => {
            let mut object = Map::new();
            for (name, member) in members {
                object.insert(name.clone(), maximal(&member.shape));
            }
            Value::Object(object)
        }
        Shape::List { member, .. } => json!([maximal(&member.shape)]),
        Shape::Map { value, .. } => json!({ "us-east-1": maximal(&value.shape) }),
        Shape::String { values, .. } => match values {
            Some(values) => json!(values[0]),
            None => json!("x"),
        },
        Shape::Integer { min, .. } | Shape::Long { min, .. } => json!(min.unwrap_or(1).max(1)),
        Shape::Timestamp {} => json!(1_700_000_000),
        Shape::Boolean {} => json!(true),
        other => panic!("no pipeline member has shape {other:?}"),
    }
}

#[test]
fn the_typed_model_carries_every_member_of_the_api_model() {
    let document = json!({
        "pipeline": maximal("PipelineDeclaration"),
        "metadata": maximal("PipelineMetadata"),
        "tags": maximal("TagList"),
    });
    let typed: PipelineFile =
        serde_json::from_value(document.clone()).expect("typed model reads it");
    let written = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        written, document,
        "a member was dropped, renamed or added by the typed model"
    );
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_-]{0,7}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{1,12}"
}

fn configuration() -> impl Strategy<Value = Configuration> {
    btree_map(name(), text(), 0..4)
}

fn criteria() -> impl Strategy<Value = GitFilterCriteria> {
    (vec(text(), 0..3), vec(text(), 0..3))
        .prop_map(|(includes, excludes)| GitFilterCriteria { includes, excludes })
}

fn action_type_id() -> impl Strategy<Value = ActionTypeId> {
    (
        proptest::sample::select(ActionCategory::ALL.to_vec()),
        prop_oneof![
            Just(ActionOwner::Aws),
            Just(ActionOwner::ThirdParty),
            Just(ActionOwner::Custom)
        ],
        name(),
        "[0-9]{1,3}",
    )
        .prop_map(|(category, owner, provider, version)| ActionTypeId {
            category,
            owner,
            provider,
            version,
        })
}

fn action() -> impl Strategy<Value = ActionDeclaration> {
    (
        (
            name(),
            action_type_id(),
            option::of(1..=999i32),
            configuration(),
            vec(text(), 0..3),
            vec(
                (name(), vec(text(), 0..2))
                    .prop_map(|(name, files)| OutputArtifact { name, files }),
                0..3,
            ),
            vec(name().prop_map(|name| InputArtifact { name }), 0..3),
        ),
        (
            vec(name(), 0..3),
            option::of(Just("arn:aws:iam::111111111111:role/r".to_string())),
            option::of("[a-z]{2}-[a-z]{4}-[1-9]"),
            option::of(name()),
            option::of(5..=86_400i32),
            vec(
                (
                    "[A-Z_]{1,8}",
                    text(),
                    option::of(prop_oneof![
                        Just(EnvironmentVariableType::Plaintext),
                        Just(EnvironmentVariableType::SecretsManager)
                    ]),
                )
                    .prop_map(|(name, value, variable_type)| EnvironmentVariable {
                        name,
                        value,
                        variable_type,
                    }),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(
                (
                    name,
                    action_type_id,
                    run_order,
                    configuration,
                    commands,
                    output_artifacts,
                    input_artifacts,
                ),
                (
                    output_variables,
                    role_arn,
                    region,
                    namespace,
                    timeout_in_minutes,
                    environment_variables,
                ),
            )| ActionDeclaration {
                name,
                action_type_id,
                run_order,
                configuration,
                commands,
                output_artifacts,
                input_artifacts,
                output_variables,
                role_arn,
                region,
                namespace,
                timeout_in_minutes,
                environment_variables,
            },
        )
}

fn result() -> impl Strategy<Value = ConditionResult> {
    prop_oneof![
        Just(ConditionResult::Rollback),
        Just(ConditionResult::Fail),
        Just(ConditionResult::Retry),
        Just(ConditionResult::Skip)
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let rule = (
        name(),
        name(),
        option::of(Just("1".to_string())),
        configuration(),
        vec(text(), 0..2),
        vec(name().prop_map(|name| InputArtifact { name }), 0..2),
        option::of(5..=600i32),
    )
        .prop_map(
            |(
                name,
                provider,
                version,
                configuration,
                commands,
                input_artifacts,
                timeout_in_minutes,
            )| {
                RuleDeclaration {
                    name,
                    rule_type_id: RuleTypeId {
                        category: RuleCategory::Rule,
                        owner: Some(RuleOwner::Aws),
                        provider,
                        version,
                    },
                    configuration,
                    commands,
                    input_artifacts,
                    role_arn: None,
                    region: None,
                    timeout_in_minutes,
                }
            },
        );
    (option::of(result()), vec(rule, 1..3)).prop_map(|(result, rules)| Condition { result, rules })
}

fn stage() -> impl Strategy<Value = StageDeclaration> {
    (
        name(),
        vec(
            name().prop_map(|name| BlockerDeclaration {
                name,
                blocker_type: BlockerType::Schedule,
            }),
            0..2,
        ),
        vec(action(), 1..4),
        option::of(
            (
                option::of(result()),
                option::of(option::of(prop_oneof![
                    Just(StageRetryMode::FailedActions),
                    Just(StageRetryMode::AllActions)
                ])),
                vec(condition(), 0..=1),
            )
                .prop_map(|(result, retry, conditions)| FailureConditions {
                    result,
                    retry_configuration: retry.map(|retry_mode| RetryConfiguration { retry_mode }),
                    conditions,
                }),
        ),
        option::of(condition().prop_map(|c| SuccessConditions {
            conditions: vec![c],
        })),
        option::of(condition().prop_map(|c| BeforeEntryConditions {
            conditions: vec![c],
        })),
    )
        .prop_map(
            |(name, blockers, actions, on_failure, on_success, before_entry)| StageDeclaration {
                name,
                blockers,
                actions,
                on_failure,
                on_success,
                before_entry,
            },
        )
}

fn store() -> impl Strategy<Value = ArtifactStore> {
    ("[a-z0-9]{3,12}", option::of(text())).prop_map(|(location, key)| ArtifactStore {
        store_type: ArtifactStoreType::S3,
        location,
        encryption_key: key.map(|id| EncryptionKey {
            id,
            key_type: EncryptionKeyType::Kms,
        }),
    })
}

fn trigger() -> impl Strategy<Value = PipelineTriggerDeclaration> {
    let push = (
        option::of(criteria()),
        option::of(criteria()),
        option::of(criteria()),
    )
        .prop_map(|(tags, branches, file_paths)| GitPushFilter {
            tags,
            branches,
            file_paths,
        });
    let pull = (
        vec(
            prop_oneof![
                Just(PullRequestEvent::Open),
                Just(PullRequestEvent::Updated),
                Just(PullRequestEvent::Closed)
            ],
            0..3,
        ),
        option::of(criteria()),
        option::of(criteria()),
    )
        .prop_map(|(events, branches, file_paths)| GitPullRequestFilter {
            events,
            branches,
            file_paths,
        });
    (name(), vec(push, 0..3), vec(pull, 0..3)).prop_map(
        |(source_action_name, push, pull_request)| PipelineTriggerDeclaration {
            provider_type: TriggerProviderType::CodeStarSourceConnection,
            git_configuration: GitConfiguration {
                source_action_name,
                push,
                pull_request,
            },
        },
    )
}

fn pipeline_file() -> impl Strategy<Value = PipelineFile> {
    (
        (
            name(),
            option::of(store()),
            option::of(btree_map("[a-z]{2}-[a-z]{4}-[1-9]", store(), 1..3)),
            vec(stage(), 1..4),
            option::of(1..=1000i32),
        ),
        (
            option::of(prop_oneof![
                Just(ExecutionMode::Queued),
                Just(ExecutionMode::Superseded),
                Just(ExecutionMode::Parallel)
            ]),
            option::of(prop_oneof![Just(PipelineType::V1), Just(PipelineType::V2)]),
            vec(
                (name(), option::of(text()), option::of(text())).prop_map(
                    |(name, default_value, description)| PipelineVariableDeclaration {
                        name,
                        default_value,
                        description,
                    },
                ),
                0..3,
            ),
            vec(trigger(), 0..2),
            option::of(
                (
                    option::of(0i64..4_000_000_000_000),
                    option::of(0i64..4_000_000_000_000),
                )
                    .prop_map(|(created, updated)| PipelineMetadata {
                        pipeline_arn: Some(
                            "arn:aws:codepipeline:us-east-1:111111111111:p".to_string(),
                        ),
                        created: created.map(Timestamp::from_epoch_millis),
                        updated: updated.map(Timestamp::from_epoch_millis),
                        polling_disabled_at: None,
                    }),
            ),
            vec(
                (name(), "[ -~]{0,10}").prop_map(|(key, value)| Tag { key, value }),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(
                (name, artifact_store, artifact_stores, stages, version),
                (execution_mode, pipeline_type, variables, triggers, metadata, tags),
            )| PipelineFile {
                pipeline: PipelineDeclaration {
                    name,
                    role_arn: "arn:aws:iam::111111111111:role/CodePipelineRole".to_string(),
                    artifact_store,
                    artifact_stores,
                    stages,
                    version,
                    execution_mode,
                    pipeline_type,
                    variables,
                    triggers,
                },
                metadata,
                tags,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Generated pipelines keep to the model's shapes, so this exercises the whole loader, shape checks
    /// included: parse → serialize → parse is the identity.
    #[test]
    fn parse_serialize_parse_is_the_identity(file in pipeline_file()) {
        let text = serde_json::to_string(&file).unwrap();
        let parsed = PipelineFile::from_json(&text);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), text);
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed, &file);
        let again = PipelineFile::from_json(&parsed.to_json_pretty()).unwrap();
        prop_assert_eq!(again, parsed);
    }
}

#[test]
fn a_bare_declaration_is_written_back_as_the_cli_input_form() {
    let bare = r#"{"name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [{"name": "A", "actions": [{"name": "a", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}}]}]}"#;
    let file = PipelineFile::from_json(bare).unwrap();
    let written: Value = serde_json::from_str(&file.to_json_pretty()).unwrap();
    assert_eq!(written["pipeline"]["name"], "p");
    assert_eq!(
        PipelineFile::from_json(&file.to_json_pretty()).unwrap(),
        file
    );
}
