//! The contract every [`Scheduler`] keeps: a trigger put is listed as it was put, a put of the same name
//! replaces it, putting or deleting twice is the same as once, a trigger that breaks a rule is refused
//! naming the field and changes nothing, and each pipeline's triggers are its own (pipelines whose names
//! share a start included, and names long enough to be hashed into a rule name).

use crate::port::{Scheduler, SchedulerError};
use crate::trigger::{FiresOn, Trigger};

const P: &str = "ContractPipeline";
/// Starts like [`P`] followed by `-`: a listing by name prefix finds both.
const P_DASH: &str = "ContractPipeline-b";
const Q: &str = "OtherPipeline";
/// `@` is allowed in pipeline names and not in rule names.
const AT: &str = "team@ContractPipeline";

fn long_pipeline(last: char) -> String {
    format!("{}{last}", "LongContractPipeline".repeat(5).split_at(99).0)
}

/// Runs every promise of the Scheduler port against `scheduler`, which must hold no trigger of the
/// contract's pipelines (`ContractPipeline`, `ContractPipeline-b`, `OtherPipeline`,
/// `team@ContractPipeline` and two 100-character `LongContractPipeline…` names). It leaves none behind.
pub async fn scheduler_contract(scheduler: &impl Scheduler) {
    a_put_trigger_is_listed_as_put(scheduler).await;
    putting_the_same_name_replaces(scheduler).await;
    bad_triggers_are_refused_and_change_nothing(scheduler).await;
    pipelines_keep_their_own_triggers(scheduler).await;
    deleting_is_idempotent(scheduler).await;
    deleting_a_pipelines_triggers_leaves_the_others(scheduler).await;
}

async fn put(scheduler: &impl Scheduler, trigger: &Trigger) {
    if let Err(e) = scheduler.put_trigger(trigger).await {
        panic!("putting {trigger:?} failed: {e}");
    }
}

async fn listed(scheduler: &impl Scheduler, pipeline: &str) -> Vec<Trigger> {
    match scheduler.triggers(pipeline).await {
        Ok(triggers) => triggers,
        Err(e) => panic!("listing the triggers of {pipeline} failed: {e}"),
    }
}

async fn a_put_trigger_is_listed_as_put(scheduler: &impl Scheduler) {
    assert_eq!(
        listed(scheduler, P).await,
        [],
        "a pipeline never given a trigger has none"
    );
    let nightly = Trigger::schedule(P, "nightly", "cron(0 2 * * ? *)");
    put(scheduler, &nightly).await;
    assert_eq!(listed(scheduler, P).await, std::slice::from_ref(&nightly));
    put(scheduler, &nightly).await;
    assert_eq!(
        listed(scheduler, P).await,
        std::slice::from_ref(&nightly),
        "putting the same trigger again changes nothing"
    );

    let on_upload =
        Trigger::s3_object_created(P, "source-Upload", "contract-bucket", "app/src.zip");
    let on_push = Trigger::ecr_image_pushed(P, "source-Image", "team/app", "latest");
    put(scheduler, &on_upload).await;
    put(scheduler, &on_push).await;
    assert_eq!(
        listed(scheduler, P).await,
        [nightly, on_push, on_upload],
        "every kind of trigger is listed as put, by name"
    );
}

async fn putting_the_same_name_replaces(scheduler: &impl Scheduler) {
    let hourly = Trigger::schedule(P, "nightly", "rate(1 hour)");
    put(scheduler, &hourly).await;
    let names: Vec<(String, FiresOn)> = listed(scheduler, P)
        .await
        .into_iter()
        .map(|t| (t.name, t.fires_on))
        .collect();
    assert_eq!(
        names[..],
        [
            (
                "nightly".to_string(),
                FiresOn::Schedule {
                    expression: "rate(1 hour)".to_string()
                }
            ),
            (
                "source-Image".to_string(),
                FiresOn::EcrImagePushed {
                    repository: "team/app".to_string(),
                    tag: "latest".to_string()
                }
            ),
            (
                "source-Upload".to_string(),
                FiresOn::S3ObjectCreated {
                    bucket: "contract-bucket".to_string(),
                    key: "app/src.zip".to_string()
                }
            ),
        ],
        "a put of an existing name replaces that trigger and no other"
    );
    // A schedule replaced by an event pattern keeps no trace of the schedule, and back.
    let became_event = Trigger::ecr_image_pushed(P, "nightly", "team/app", "nightly-build");
    put(scheduler, &became_event).await;
    assert_eq!(listed(scheduler, P).await[0], became_event);
    let back = Trigger::schedule(P, "nightly", "cron(0 2 * * ? *)");
    put(scheduler, &back).await;
    assert_eq!(listed(scheduler, P).await[0], back);
}

async fn bad_triggers_are_refused_and_change_nothing(scheduler: &impl Scheduler) {
    let before = listed(scheduler, P).await;
    let cases = [
        (Trigger::schedule(P, "has space", "rate(1 day)"), "name"),
        (Trigger::schedule(P, &"n".repeat(65), "rate(1 day)"), "name"),
        (
            Trigger::schedule("", "empty-pipeline", "rate(1 day)"),
            "pipeline",
        ),
        (Trigger::schedule("a/b", "slash", "rate(1 day)"), "pipeline"),
        // A valid name already used: the bad replacement must leave the old trigger in place.
        (
            Trigger::schedule(P, "nightly", "cron(0 2 * * * *)"),
            "expression",
        ),
        (Trigger::schedule(P, "nightly", "every day"), "expression"),
        (
            Trigger::schedule(P, "nightly", "rate(0 minutes)"),
            "expression",
        ),
        (
            Trigger::s3_object_created(P, "source-Upload", "Not_A_Bucket", "k"),
            "bucket",
        ),
        (
            Trigger::s3_object_created(P, "source-Upload", "contract-bucket", ""),
            "key",
        ),
        (
            Trigger::s3_object_created(P, "fresh", "contract-bucket", "#{variables.Key}"),
            "key",
        ),
        (
            Trigger::ecr_image_pushed(P, "source-Image", "Team/App", "latest"),
            "repository",
        ),
        (
            Trigger::ecr_image_pushed(P, "source-Image", "team/app", "no spaces"),
            "tag",
        ),
    ];
    for (trigger, field) in cases {
        match scheduler.put_trigger(&trigger).await {
            Err(SchedulerError::Invalid {
                pipeline,
                name,
                error,
            }) => {
                assert_eq!(
                    (pipeline.as_str(), name.as_str(), error.field()),
                    (trigger.pipeline.as_str(), trigger.name.as_str(), field),
                    "the refusal names the trigger and the field: {error}"
                );
            }
            other => {
                panic!("putting {trigger:?} must be refused as Invalid on {field}, not {other:?}")
            }
        }
    }
    assert_eq!(
        listed(scheduler, P).await,
        before,
        "refused puts changed nothing"
    );
    for pipeline in ["", "a/b"] {
        assert_eq!(
            listed(scheduler, pipeline).await,
            [],
            "a refused trigger of {pipeline:?} was not kept"
        );
    }
}

async fn pipelines_keep_their_own_triggers(scheduler: &impl Scheduler) {
    let before = listed(scheduler, P).await;
    let (long_a, long_b) = (long_pipeline('a'), long_pipeline('b'));
    let long_name = format!("{}abcdefghijklmn", "a-very-long-trigger-name-".repeat(2));
    let others = [
        // Same trigger names as P's, in pipelines whose rule names start like P's.
        Trigger::schedule(P_DASH, "nightly", "rate(5 minutes)"),
        Trigger::schedule(P_DASH, "b-nightly", "rate(7 minutes)"),
        Trigger::schedule(Q, "nightly", "rate(2 hours)"),
        Trigger::s3_object_created(AT, "source-Upload", "contract-bucket", "at.zip"),
        // Two 100-character pipelines that differ only in their last character, and a 64-character name.
        Trigger::schedule(&long_a, &long_name, "rate(3 days)"),
        Trigger::schedule(&long_b, &long_name, "rate(4 days)"),
    ];
    assert_eq!(long_name.len(), 64);
    for trigger in &others {
        put(scheduler, trigger).await;
    }
    assert_eq!(
        listed(scheduler, P).await,
        before,
        "other pipelines' triggers are not listed with {P}'s"
    );
    assert_eq!(
        listed(scheduler, P_DASH).await,
        [others[1].clone(), others[0].clone()],
        "{P_DASH} lists its own, not {P}'s"
    );
    assert_eq!(listed(scheduler, Q).await, [others[2].clone()]);
    assert_eq!(listed(scheduler, AT).await, [others[3].clone()]);
    assert_eq!(listed(scheduler, &long_a).await, [others[4].clone()]);
    assert_eq!(
        listed(scheduler, &long_b).await,
        [others[5].clone()],
        "long names that differ only at the end are kept apart"
    );
}

async fn deleting_is_idempotent(scheduler: &impl Scheduler) {
    let before = listed(scheduler, P).await;
    scheduler.delete_trigger(P, "nightly").await.unwrap();
    let after: Vec<Trigger> = before.into_iter().filter(|t| t.name != "nightly").collect();
    assert_eq!(listed(scheduler, P).await, after, "the trigger is gone");
    assert_eq!(
        listed(scheduler, P_DASH).await.len(),
        2,
        "{P_DASH}'s trigger of the same name stays"
    );
    scheduler
        .delete_trigger(P, "nightly")
        .await
        .expect("deleting a missing trigger is not an error");
    scheduler
        .delete_trigger("NeverHadTriggers", "nightly")
        .await
        .expect("deleting from a pipeline with no triggers is not an error");
    scheduler
        .delete_trigger(P, "not a valid name")
        .await
        .expect("deleting a trigger that cannot exist is not an error");
    assert_eq!(listed(scheduler, P).await, after);
}

async fn deleting_a_pipelines_triggers_leaves_the_others(scheduler: &impl Scheduler) {
    scheduler.delete_pipeline_triggers(P).await.unwrap();
    assert_eq!(listed(scheduler, P).await, []);
    assert_eq!(
        listed(scheduler, P_DASH).await.len(),
        2,
        "deleting {P}'s triggers leaves {P_DASH}'s, whose rule names start the same"
    );
    assert_eq!(listed(scheduler, Q).await.len(), 1);
    scheduler
        .delete_pipeline_triggers(P)
        .await
        .expect("deleting the triggers of a pipeline that has none is not an error");
    let (long_a, long_b) = (long_pipeline('a'), long_pipeline('b'));
    for pipeline in [P_DASH, Q, AT, long_a.as_str(), long_b.as_str()] {
        scheduler.delete_pipeline_triggers(pipeline).await.unwrap();
        assert_eq!(listed(scheduler, pipeline).await, [], "{pipeline}");
    }
}
