//! Triggers: what starts a pipeline without a call to StartPipelineExecution. A trigger belongs to one
//! pipeline, has a name unique within it, and fires on a schedule (an EventBridge `rate()` or `cron()`
//! expression, [`crate::schedule`]), when an S3 object is created, or when an ECR image is pushed.
//!
//! CodePipeline's own model: change detection for S3 and ECR sources, and scheduled starts, are EventBridge
//! rules whose target starts the pipeline; the execution they start has trigger type `CloudWatchEvent` and
//! the rule's ARN as its detail (docs/codepipeline.md, "Execution triggers"). The [`crate::port::Scheduler`] port keeps
//! triggers: EventBridge rules on AWS (`sluice_aws::eventbridge`), a table and an in-process cron locally
//! (`sluice_local::scheduler`). Its promises are checked by [`crate::contract::scheduler_contract`].
//!
//! Rule names: EventBridge allows 64 characters of `[A-Za-z0-9._-]`, while a pipeline name may be 100
//! characters and hold `@`. [`rule_name`] keeps `<prefix>-<pipeline>-<name>` when it fits and shortens each
//! part that does not with a hash of it (see [`rule_name`] for the scheme).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::pipeline::declaration::{ActionCategory, ActionOwner, PipelineDeclaration};
use crate::schedule;
use crate::schedule::ScheduleError;

/// EventBridge's limits on a rule name: length, and the characters it may hold.
pub const MAX_RULE_NAME: usize = 64;
/// A trigger's name becomes part of a rule name, so it follows the same rules.
pub const MAX_TRIGGER_NAME: usize = 64;
/// CodePipeline's limit on a pipeline name.
pub const MAX_PIPELINE_NAME: usize = 100;
/// The longest rule-name prefix (the stack name on AWS): what is left of the 64 characters must hold a
/// readable start of the pipeline and trigger names and their hashes.
pub const MAX_RULE_PREFIX: usize = 32;
/// EventBridge's limit on `ScheduleExpression`.
const MAX_SCHEDULE_EXPRESSION: usize = 256;
/// S3's limit on an object key, in bytes.
const MAX_S3_KEY: usize = 1024;
/// ECR's limit on an image tag (PutImage's `imageTag`).
const MAX_IMAGE_TAG: usize = 300;
/// The image tag an ECR source action watches when its `ImageTag` is not set.
pub const DEFAULT_IMAGE_TAG: &str = "latest";
/// Derived triggers (from source actions) are named `source-<action name>`.
pub const SOURCE_TRIGGER_PREFIX: &str = "source-";
/// The triggers an EventBridge rule of `sluice serve`'s own stands for are named `rule-<rule name>`.
pub const RULE_TRIGGER_PREFIX: &str = "rule-";

/// A trigger of one pipeline. Build it freely; [`Trigger::validate`] says whether it may be kept, and
/// every [`crate::port::Scheduler::put_trigger`] checks it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub pipeline: String,
    /// Unique within the pipeline: putting a trigger with a name already used replaces that trigger.
    pub name: String,
    pub fires_on: FiresOn,
    /// The EventBridge rule this trigger is, when it is a rule of its own rather than one Sluice names
    /// after the trigger: a rule a user made with PutRule and PutTargets on `sluice serve`. The executions
    /// it starts name this rule's ARN (`arn:aws:events:<region>:<account>:rule/<rule>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// What fires a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FiresOn {
    /// A schedule expression, `rate(...)` or `cron(...)`, kept as written.
    #[serde(rename_all = "camelCase")]
    Schedule { expression: String },
    /// An object created (put, copied, or completed as a multipart upload) at exactly this bucket and key,
    /// as S3 reports it to EventBridge (`Object Created`).
    #[serde(rename_all = "camelCase")]
    S3ObjectCreated { bucket: String, key: String },
    /// An image pushed to this repository with this tag (ECR's `ECR Image Action`, PUSH, SUCCESS).
    #[serde(rename_all = "camelCase")]
    EcrImagePushed { repository: String, tag: String },
}

impl Trigger {
    pub fn schedule(pipeline: &str, name: &str, expression: &str) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            name: name.to_string(),
            fires_on: FiresOn::Schedule {
                expression: expression.to_string(),
            },
            rule: None,
        }
    }

    /// The trigger of `pipeline` that EventBridge rule `rule` (of `sluice serve`'s own) stands for: named
    /// [`rule_trigger_name`], firing on the rule's schedule, its executions naming the rule.
    pub fn of_rule(pipeline: &str, rule: &str, expression: &str) -> Self {
        Self {
            rule: Some(rule.to_string()),
            ..Self::schedule(pipeline, &rule_trigger_name(rule), expression)
        }
    }

    pub fn s3_object_created(pipeline: &str, name: &str, bucket: &str, key: &str) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            name: name.to_string(),
            fires_on: FiresOn::S3ObjectCreated {
                bucket: bucket.to_string(),
                key: key.to_string(),
            },
            rule: None,
        }
    }

    pub fn ecr_image_pushed(pipeline: &str, name: &str, repository: &str, tag: &str) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            name: name.to_string(),
            fires_on: FiresOn::EcrImagePushed {
                repository: repository.to_string(),
                tag: tag.to_string(),
            },
            rule: None,
        }
    }

    /// Checks every field; the first broken rule is the error.
    pub fn validate(&self) -> Result<(), TriggerError> {
        check_pipeline_name(&self.pipeline)?;
        check_rule_charset("name", &self.name, MAX_TRIGGER_NAME)?;
        if let Some(rule) = &self.rule {
            check_rule_charset("rule", rule, MAX_RULE_NAME)?;
        }
        match &self.fires_on {
            FiresOn::Schedule { expression } => {
                if expression.len() > MAX_SCHEDULE_EXPRESSION {
                    return Err(field(
                        "expression",
                        expression,
                        format!(
                            "is longer than EventBridge's {MAX_SCHEDULE_EXPRESSION} characters"
                        ),
                    ));
                }
                schedule::parse(expression)?;
            }
            FiresOn::S3ObjectCreated { bucket, key } => {
                check_bucket(bucket)?;
                check_fixed("key", key)?;
                if key.is_empty() || key.len() > MAX_S3_KEY {
                    return Err(field(
                        "key",
                        key,
                        format!("must be 1 to {MAX_S3_KEY} bytes long (an S3 object key)"),
                    ));
                }
            }
            FiresOn::EcrImagePushed { repository, tag } => {
                check_repository(repository)?;
                check_tag(tag)?;
            }
        }
        Ok(())
    }

    /// The parsed schedule, for a valid schedule trigger; `None` for the event triggers.
    pub fn parsed_schedule(&self) -> Option<Result<schedule::Schedule, ScheduleError>> {
        match &self.fires_on {
            FiresOn::Schedule { expression } => Some(schedule::parse(expression)),
            _ => None,
        }
    }
}

impl std::fmt::Display for FiresOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FiresOn::Schedule { expression } => write!(f, "on the schedule {expression}"),
            FiresOn::S3ObjectCreated { bucket, key } => {
                write!(f, "when s3://{bucket}/{key} is created")
            }
            FiresOn::EcrImagePushed { repository, tag } => {
                write!(f, "when {repository}:{tag} is pushed to ECR")
            }
        }
    }
}

/// Why a trigger may not be kept: the field and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// `field` is the [`Trigger`] member (`pipeline`, `name`, `rule`) or the member of [`FiresOn`] (`expression`,
    /// `bucket`, `key`, `repository`, `tag`), or `prefix` for a scheduler's rule-name prefix.
    #[error("{field} {value:?} {rule}")]
    Field {
        field: &'static str,
        value: String,
        rule: String,
    },
    #[error("expression: {0}")]
    Schedule(#[from] ScheduleError),
}

impl TriggerError {
    /// The field that broke a rule (`expression` for a schedule expression).
    pub fn field(&self) -> &'static str {
        match self {
            Self::Field { field, .. } => field,
            Self::Schedule(_) => "expression",
        }
    }
}

fn field(field: &'static str, value: &str, rule: impl Into<String>) -> TriggerError {
    TriggerError::Field {
        field,
        value: value.to_string(),
        rule: rule.into(),
    }
}

/// A trigger watches fixed resources: `#{...}` would only be resolved when an execution runs.
fn check_fixed(name: &'static str, value: &str) -> Result<(), TriggerError> {
    if value.contains("#{") {
        return Err(field(
            name,
            value,
            "holds a variable reference; an event rule can only watch a fixed value",
        ));
    }
    Ok(())
}

fn is_rule_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn check_rule_charset(name: &'static str, value: &str, max: usize) -> Result<(), TriggerError> {
    if value.is_empty() || value.len() > max {
        return Err(field(
            name,
            value,
            format!("must be 1 to {max} characters long"),
        ));
    }
    if !value.chars().all(is_rule_char) {
        return Err(field(
            name,
            value,
            "may hold only letters, digits, '.', '-' and '_' (EventBridge's rule-name characters)",
        ));
    }
    Ok(())
}

fn check_pipeline_name(pipeline: &str) -> Result<(), TriggerError> {
    if pipeline.is_empty() || pipeline.len() > MAX_PIPELINE_NAME {
        return Err(field(
            "pipeline",
            pipeline,
            format!("must be 1 to {MAX_PIPELINE_NAME} characters long (a pipeline name)"),
        ));
    }
    if !pipeline.chars().all(|c| is_rule_char(c) || c == '@') {
        return Err(field(
            "pipeline",
            pipeline,
            "may hold only letters, digits, '.', '@', '-' and '_' (a pipeline name)",
        ));
    }
    Ok(())
}

/// S3's bucket naming rules (general purpose buckets).
fn check_bucket(bucket: &str) -> Result<(), TriggerError> {
    check_fixed("bucket", bucket)?;
    let rule = if !(3..=63).contains(&bucket.len()) {
        Some("must be 3 to 63 characters long (an S3 bucket name)")
    } else if !bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        Some("may hold only lowercase letters, digits, '.' and '-' (an S3 bucket name)")
    } else if !bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some("must begin and end with a letter or digit (an S3 bucket name)")
    } else if bucket.contains("..") {
        Some("must not hold two adjacent periods (an S3 bucket name)")
    } else {
        None
    };
    match rule {
        Some(rule) => Err(field("bucket", bucket, rule)),
        None => Ok(()),
    }
}

/// ECR's repository name pattern (CreateRepository's `repositoryName`).
static REPOSITORY: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
        .expect("the repository pattern compiles")
});

fn check_repository(repository: &str) -> Result<(), TriggerError> {
    check_fixed("repository", repository)?;
    if !(2..=256).contains(&repository.len()) {
        return Err(field(
            "repository",
            repository,
            "must be 2 to 256 characters long (an ECR repository name)",
        ));
    }
    if !REPOSITORY.is_match(repository) {
        return Err(field(
            "repository",
            repository,
            "must be lowercase letters and digits, separated by single '.', '_', '-' or '/' (an ECR repository name)",
        ));
    }
    Ok(())
}

/// Docker's tag characters, within ECR's length limit.
fn check_tag(tag: &str) -> Result<(), TriggerError> {
    check_fixed("tag", tag)?;
    if tag.is_empty() || tag.len() > MAX_IMAGE_TAG {
        return Err(field(
            "tag",
            tag,
            format!("must be 1 to {MAX_IMAGE_TAG} characters long (an ECR image tag)"),
        ));
    }
    if !tag.chars().all(is_rule_char) || tag.starts_with(['.', '-']) {
        return Err(field(
            "tag",
            tag,
            "may hold only letters, digits, '.', '-' and '_', and not begin with '.' or '-' (an image tag)",
        ));
    }
    Ok(())
}

/// Checks a scheduler's rule-name prefix (the stack name on AWS): rule-name characters, and at most
/// [`MAX_RULE_PREFIX`] of them.
pub fn check_rule_prefix(prefix: &str) -> Result<(), TriggerError> {
    check_rule_charset("prefix", prefix, MAX_RULE_PREFIX)
}

/// The name of the EventBridge rule of trigger `name` of `pipeline`:
/// `<prefix>-<pipeline key>-<name key>`, at most 64 characters.
///
/// The characters after `<prefix>-` are split in two fixed halves, the first for the pipeline, the rest
/// for the trigger name. A part that fits its half and holds only rule-name characters is kept as it is.
/// Otherwise it becomes its start (with any other character, `@`, written `_`) followed by `.` and the
/// first 10 hex digits of the FNV-1a 64-bit hash of the whole part, filling its half exactly. So a
/// pipeline's rules all start with [`rule_name_prefix`], whatever their trigger names, and two names share a
/// rule only if they share that hash or one of them is written exactly as the other's hashed form. Adapters
/// record each rule's owner and refuse to take over a rule another trigger owns.
///
/// `prefix` must pass [`check_rule_prefix`] and the trigger [`Trigger::validate`]; a longer prefix still
/// gives a name (with at least one readable character per part) but not within 64 characters.
pub fn rule_name(prefix: &str, pipeline: &str, name: &str) -> String {
    let (_, name_room) = rooms(prefix);
    format!(
        "{}{}",
        rule_name_prefix(prefix, pipeline),
        key(name, name_room)
    )
}

/// What every rule name of `pipeline` starts with: `<prefix>-<pipeline key>-` (see [`rule_name`]). Other
/// pipelines' rules may start with it too (pipeline `a` and pipeline `a-b`), so a listing by this prefix
/// must check each rule's owner.
pub fn rule_name_prefix(prefix: &str, pipeline: &str) -> String {
    let (pipeline_room, _) = rooms(prefix);
    format!("{prefix}-{}-", key(pipeline, pipeline_room))
}

/// The room of the pipeline key and of the name key after `<prefix>-` and the `-` between them.
fn rooms(prefix: &str) -> (usize, usize) {
    let room = MAX_RULE_NAME
        .saturating_sub(prefix.len() + 2)
        .max(2 * (HASH_SUFFIX + 1));
    let pipeline = room / 2;
    (pipeline, room - pipeline)
}

/// `.` and 10 hex digits.
const HASH_SUFFIX: usize = 11;

fn key(part: &str, room: usize) -> String {
    if part.len() <= room && part.chars().all(is_rule_char) {
        return part.to_string();
    }
    let start: String = part
        .chars()
        .map(|c| if is_rule_char(c) { c } else { '_' })
        .take(room.saturating_sub(HASH_SUFFIX).max(1))
        .collect();
    format!(
        "{start}.{}",
        &format!("{:016x}", fnv1a(part))[..HASH_SUFFIX - 1]
    )
}

/// FNV-1a, 64 bits: stable across versions and platforms, which a name kept in AWS needs (std's hasher is
/// not). Not for security: a collision is refused by the owner check, not prevented.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The triggers a pipeline's declaration asks for, as CodePipeline's console sets up change detection:
/// - an S3 source action (`AWS`/`S3`) with `PollForSourceChanges` set to `false` fires when its
///   `S3Bucket`/`S3ObjectKey` object is created (omitted or `true` means CodePipeline polls instead);
/// - an ECR source action (`AWS`/`ECR`) fires when `RepositoryName` is pushed with `ImageTag` (default
///   `latest`); it has no polling.
///
/// Each is named `source-<action name>`, shortened with a hash when that is not a valid trigger name (an
/// action name may hold `@` and be 100 characters long). Values are taken as declared: one that is not a
/// fixed, valid bucket, key, repository or tag fails [`Trigger::validate`] with the field named.
pub fn event_triggers(declaration: &PipelineDeclaration) -> Vec<Trigger> {
    let mut triggers = Vec::new();
    for (_, action) in declaration.actions() {
        let id = &action.action_type_id;
        if id.category != ActionCategory::Source || id.owner != ActionOwner::Aws {
            continue;
        }
        let config = |key: &str| action.configuration.get(key).cloned().unwrap_or_default();
        let name = key(
            &format!("{SOURCE_TRIGGER_PREFIX}{}", action.name),
            MAX_TRIGGER_NAME,
        );
        let fires_on = match id.provider.as_str() {
            "S3" if config("PollForSourceChanges").eq_ignore_ascii_case("false") => {
                FiresOn::S3ObjectCreated {
                    bucket: config("S3Bucket"),
                    key: config("S3ObjectKey"),
                }
            }
            "ECR" => FiresOn::EcrImagePushed {
                repository: config("RepositoryName"),
                tag: Some(config("ImageTag"))
                    .filter(|tag| !tag.is_empty())
                    .unwrap_or_else(|| DEFAULT_IMAGE_TAG.to_string()),
            },
            _ => continue,
        };
        triggers.push(Trigger {
            pipeline: declaration.name.clone(),
            name,
            fires_on,
            rule: None,
        });
    }
    triggers
}

/// The pipeline tag that sets its schedule: `sluice:schedule` = `cron(0 2 * * ? *)` (trigger `schedule`);
/// more with `sluice:schedule:<name>` (trigger `schedule-<name>`). CodePipeline itself has no schedule
/// field: its users put an EventBridge rule in front of the pipeline. A tag keeps the pipeline file
/// CodePipeline's own and travels with CreatePipeline, TagResource and UntagResource.
pub const SCHEDULE_TAG: &str = "sluice:schedule";
/// Triggers made from schedule tags are named `schedule` or `schedule-<name>`.
pub const SCHEDULE_TRIGGER_PREFIX: &str = "schedule";

/// The schedule triggers a pipeline's tags ask for (`(key, value)` pairs). A tag that names a schedule
/// but is not a valid one is an error naming the tag; other tags are ignored.
pub fn schedule_triggers<'a>(
    pipeline: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Trigger>, (String, TriggerError)> {
    let mut triggers = Vec::new();
    for (key, value) in tags {
        let name = if key == SCHEDULE_TAG {
            SCHEDULE_TRIGGER_PREFIX.to_string()
        } else if let Some(rest) = key
            .strip_prefix(SCHEDULE_TAG)
            .and_then(|r| r.strip_prefix(':'))
        {
            format!("{SCHEDULE_TRIGGER_PREFIX}-{rest}")
        } else {
            continue;
        };
        let trigger = Trigger::schedule(pipeline, &name, value);
        trigger.validate().map_err(|e| (key.to_string(), e))?;
        triggers.push(trigger);
    }
    Ok(triggers)
}

/// Whether a trigger was derived from the pipeline's source actions ([`event_triggers`]).
pub fn is_source_trigger(trigger: &Trigger) -> bool {
    trigger.name.starts_with(SOURCE_TRIGGER_PREFIX)
}

/// The name of the trigger EventBridge rule `rule` stands for in each pipeline it targets:
/// `rule-<rule>`, shortened with a hash as [`rule_name`] shortens its parts when that is longer than a
/// trigger name may be.
pub fn rule_trigger_name(rule: &str) -> String {
    key(&format!("{RULE_TRIGGER_PREFIX}{rule}"), MAX_TRIGGER_NAME)
}

/// Whether a trigger is an EventBridge rule of its own ([`Trigger::of_rule`]).
pub fn is_rule_trigger(trigger: &Trigger) -> bool {
    trigger.rule.is_some()
}

/// Whether a trigger was made from a schedule tag ([`schedule_triggers`]).
pub fn is_schedule_trigger(trigger: &Trigger) -> bool {
    trigger.name == SCHEDULE_TRIGGER_PREFIX
        || trigger
            .name
            .strip_prefix(SCHEDULE_TRIGGER_PREFIX)
            .is_some_and(|rest| rest.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails_on(trigger: Trigger, expected_field: &str) {
        match trigger.validate() {
            Err(error) => assert_eq!(error.field(), expected_field, "{error}"),
            Ok(()) => panic!("{trigger:?} should fail on {expected_field}"),
        }
    }

    #[test]
    fn valid_triggers_pass() {
        for trigger in [
            Trigger::schedule("My.Pipe@line-1", "nightly", "cron(0 2 * * ? *)"),
            Trigger::schedule("P", "every_5", "rate(5 minutes)"),
            Trigger::s3_object_created("P", "s", "my-bucket.x", "dir/app.zip"),
            Trigger::ecr_image_pushed("P", "e", "team/app", "latest"),
            Trigger::schedule(&"p".repeat(100), &"n".repeat(64), "rate(1 day)"),
        ] {
            assert_eq!(trigger.validate(), Ok(()), "{trigger:?}");
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        fails_on(Trigger::schedule("", "n", "rate(1 day)"), "pipeline");
        fails_on(Trigger::schedule("a b", "n", "rate(1 day)"), "pipeline");
        fails_on(
            Trigger::schedule(&"p".repeat(101), "n", "rate(1 day)"),
            "pipeline",
        );
        fails_on(Trigger::schedule("P", "", "rate(1 day)"), "name");
        fails_on(Trigger::schedule("P", "a@b", "rate(1 day)"), "name");
        fails_on(
            Trigger::schedule("P", &"n".repeat(65), "rate(1 day)"),
            "name",
        );
        fails_on(Trigger::schedule("P", "n", "rate(0 days)"), "expression");
        fails_on(
            Trigger::schedule("P", "n", "cron(0 2 * * * *)"),
            "expression",
        );
        fails_on(
            Trigger::s3_object_created("P", "n", "My_Bucket", "k"),
            "bucket",
        );
        fails_on(Trigger::s3_object_created("P", "n", "ab", "k"), "bucket");
        fails_on(Trigger::s3_object_created("P", "n", "a..b", "k"), "bucket");
        fails_on(Trigger::s3_object_created("P", "n", "-ab", "k"), "bucket");
        fails_on(Trigger::s3_object_created("P", "n", "bucket", ""), "key");
        fails_on(
            Trigger::s3_object_created("P", "n", "bucket", "#{variables.Key}"),
            "key",
        );
        fails_on(
            Trigger::ecr_image_pushed("P", "n", "App", "latest"),
            "repository",
        );
        fails_on(
            Trigger::ecr_image_pushed("P", "n", "a//b", "latest"),
            "repository",
        );
        fails_on(Trigger::ecr_image_pushed("P", "n", "app", ""), "tag");
        fails_on(Trigger::ecr_image_pushed("P", "n", "app", "-x"), "tag");
        fails_on(Trigger::ecr_image_pushed("P", "n", "app", "a:b"), "tag");
        let error = Trigger::schedule("P", "a b", "rate(1 day)")
            .validate()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "name \"a b\" may hold only letters, digits, '.', '-' and '_' (EventBridge's rule-name characters)"
        );
    }

    fn is_rule_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_RULE_NAME && name.chars().all(is_rule_char)
    }

    #[test]
    fn short_names_are_kept_readable() {
        assert_eq!(
            rule_name("sluice", "MyPipeline", "nightly"),
            "sluice-MyPipeline-nightly"
        );
        assert_eq!(
            rule_name_prefix("sluice", "MyPipeline"),
            "sluice-MyPipeline-"
        );
    }

    #[test]
    fn long_or_at_names_are_hashed_into_64_characters() {
        let long = "p".repeat(100);
        for (pipeline, name) in [
            (long.as_str(), "nightly"),
            ("team@pipeline", "nightly"),
            ("P", &"n".repeat(64)),
            (long.as_str(), &"n".repeat(64)),
        ] {
            for prefix in ["sluice", &"s".repeat(MAX_RULE_PREFIX)] {
                let rule = rule_name(prefix, pipeline, name);
                assert!(is_rule_name(&rule), "{rule} is not a rule name");
                assert!(
                    rule.starts_with(&rule_name_prefix(prefix, pipeline)),
                    "{rule} starts with its pipeline's prefix"
                );
            }
        }
        let a = format!("{}a", "x".repeat(99));
        let b = format!("{}b", "x".repeat(99));
        assert_ne!(
            rule_name_prefix("sluice", &a),
            rule_name_prefix("sluice", &b),
            "pipelines that differ only at the end get different prefixes"
        );
        assert_ne!(
            rule_name("sluice", "P", &format!("{}a", "n".repeat(63))),
            rule_name("sluice", "P", &format!("{}b", "n".repeat(63)))
        );
        assert_eq!(
            rule_name_prefix("sluice", "team@pipeline"),
            format!(
                "sluice-team_pipeline.{}-",
                &format!("{:016x}", fnv1a("team@pipeline"))[..10]
            ),
            "an '@' is written '_' and the name hashed"
        );
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(check_rule_prefix("sluice-prod"), Ok(()));
        assert_eq!(
            check_rule_prefix(&"s".repeat(33)).unwrap_err().field(),
            "prefix"
        );
        assert_eq!(check_rule_prefix("a/b").unwrap_err().field(), "prefix");
    }

    fn declaration(actions: serde_json::Value) -> PipelineDeclaration {
        serde_json::from_value(serde_json::json!({
            "name": "P",
            "roleArn": "arn:aws:iam::123456789012:role/p",
            "artifactStore": {"type": "S3", "location": "bucket"},
            "stages": [
                {"name": "Source", "actions": actions},
                {"name": "Build", "actions": [{
                    "name": "Build",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "p"}
                }]}
            ]
        }))
        .expect("the declaration reads")
    }

    fn source(name: &str, provider: &str, configuration: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": provider, "version": "1"},
            "configuration": configuration,
            "outputArtifacts": [{"name": format!("{name}Out")}]
        })
    }

    #[test]
    fn event_triggers_follow_the_source_actions() {
        let pipeline = declaration(serde_json::json!([
            source(
                "Events",
                "S3",
                serde_json::json!({"S3Bucket": "b-1", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"})
            ),
            source(
                "Polled",
                "S3",
                serde_json::json!({"S3Bucket": "b-1", "S3ObjectKey": "app.zip", "PollForSourceChanges": "true"})
            ),
            source(
                "Default",
                "S3",
                serde_json::json!({"S3Bucket": "b-1", "S3ObjectKey": "app.zip"})
            ),
            source(
                "Image",
                "ECR",
                serde_json::json!({"RepositoryName": "team/app"})
            ),
            source(
                "Tagged",
                "ECR",
                serde_json::json!({"RepositoryName": "app", "ImageTag": "v2"})
            ),
            source(
                "Code",
                "CodeCommit",
                serde_json::json!({"RepositoryName": "r", "BranchName": "main", "PollForSourceChanges": "false"})
            ),
        ]));
        assert_eq!(
            event_triggers(&pipeline),
            vec![
                Trigger::s3_object_created("P", "source-Events", "b-1", "app.zip"),
                Trigger::ecr_image_pushed("P", "source-Image", "team/app", "latest"),
                Trigger::ecr_image_pushed("P", "source-Tagged", "app", "v2"),
            ]
        );
    }

    #[test]
    fn derived_trigger_names_are_valid_whatever_the_action_name() {
        let long = format!("a@{}", "x".repeat(98));
        let pipeline = declaration(serde_json::json!([source(
            &long,
            "ECR",
            serde_json::json!({"RepositoryName": "app"})
        )]));
        let triggers = event_triggers(&pipeline);
        assert_eq!(triggers.len(), 1);
        assert_eq!(triggers[0].validate(), Ok(()), "{}", triggers[0].name);
        assert!(triggers[0].name.starts_with("source-a_xxx"));
    }

    #[test]
    fn a_rules_trigger_is_named_after_the_rule_and_keeps_it() {
        let daily = Trigger::of_rule("MyPipeline", "DailyPipelineTrigger", "cron(0 2 * * ? *)");
        assert_eq!(daily.name, "rule-DailyPipelineTrigger");
        assert_eq!(daily.rule.as_deref(), Some("DailyPipelineTrigger"));
        assert_eq!(daily.validate(), Ok(()));
        assert!(is_rule_trigger(&daily));
        assert!(!is_schedule_trigger(&daily) && !is_source_trigger(&daily));
        let long = "r".repeat(MAX_RULE_NAME);
        let trigger = Trigger::of_rule("P", &long, "rate(1 day)");
        assert_eq!(trigger.validate(), Ok(()), "{}", trigger.name);
        assert_ne!(
            trigger.name,
            rule_trigger_name(&format!("{}s", "r".repeat(MAX_RULE_NAME - 1))),
            "long rule names keep apart"
        );
        let bad = Trigger {
            rule: Some("a b".to_string()),
            ..daily.clone()
        };
        assert_eq!(bad.validate().unwrap_err().field(), "rule");
        let json = serde_json::to_value(&daily).unwrap();
        assert_eq!(json["rule"], "DailyPipelineTrigger");
        assert_eq!(serde_json::from_value::<Trigger>(json).unwrap(), daily);
    }

    #[test]
    fn triggers_round_trip_as_json() {
        let trigger = Trigger::s3_object_created("P", "s", "b-1", "k");
        let json = serde_json::to_value(&trigger).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"pipeline": "P", "name": "s", "firesOn": {"type": "s3ObjectCreated", "bucket": "b-1", "key": "k"}})
        );
        assert_eq!(serde_json::from_value::<Trigger>(json).unwrap(), trigger);
    }
}
