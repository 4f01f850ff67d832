//! PutPipeline and DeletePipeline: the stored versions, the compiled machine, and the triggers.

use crate::compile;
use crate::compile::CompileOptions;
use crate::pipeline::declaration::PipelineDeclaration;
use crate::port::SchedulerError;
use crate::port::{Orchestrator, PipelineStore, Ports, Scheduler};
use crate::record::StoredPipeline;
use crate::trigger::Trigger;
use crate::usecase::execution::ExecutionError;

/// Stores a new pipeline version and deploys its compiled machine. `declaration` must have passed
/// validation. Returns the stored pipeline (version 1 on create, the next one on update).
pub async fn put_pipeline<P: Ports>(
    ports: &P,
    declaration: &PipelineDeclaration,
    options: &CompileOptions,
) -> Result<StoredPipeline, ExecutionError> {
    // Change detection follows the source actions (an S3 source that does not poll, an ECR source);
    // a trigger that cannot be made refuses the pipeline before anything is written.
    let triggers = crate::trigger::event_triggers(declaration);
    for trigger in &triggers {
        trigger
            .validate()
            .map_err(|error| crate::port::SchedulerError::invalid(trigger, error))?;
    }
    let existing = ports.store().pipeline(&declaration.name).await?;
    let definition = compile::compile(declaration, options);
    let machine = ports
        .orchestrator()
        .deploy(&declaration.name, &definition)
        .await?;
    let now = ports.clock().now();
    let mut stored_declaration = declaration.clone();
    let (version, created, expected) = match &existing {
        Some(old) => (old.version() + 1, old.created, Some(old.version())),
        None => (1, now, None),
    };
    stored_declaration.version = Some(version);
    let stored = StoredPipeline {
        declaration: stored_declaration,
        created,
        updated: now,
        machine,
    };
    ports.store().put_pipeline(&stored, expected).await?;
    crate::usecase::pipeline::sync_triggers(
        ports.scheduler(),
        &declaration.name,
        &triggers,
        crate::trigger::is_source_trigger,
    )
    .await?;
    Ok(stored)
}

/// DeletePipeline: removes the pipeline's triggers (so nothing starts it again), its compiled machine
/// (stopping what still runs on it, so no execution is left waiting on a callback or writing records of a
/// pipeline that is gone), then its records.
/// A missing pipeline is not an error, as in CodePipeline; a failure leaves the records for a retry.
pub async fn delete_pipeline<P: Ports>(ports: &P, name: &str) -> Result<(), ExecutionError> {
    crate::port::Scheduler::delete_pipeline_triggers(ports.scheduler(), name).await?;
    if let Some(stored) = ports.store().pipeline(name).await? {
        ports.orchestrator().remove(&stored.machine).await?;
    }
    ports.store().delete_pipeline(name).await?;
    Ok(())
}

/// Makes the pipeline's triggers of one kind (those `owned` selects) exactly `desired`: puts each desired
/// trigger and deletes the owned ones no longer desired. Unchanged triggers are put too: a put changes
/// nothing that is right, and repairs what a half-done earlier put left (on AWS a rule without its target,
/// which a listing of rules cannot tell from a whole one).
/// Triggers of the other kind are left alone.
pub async fn sync_triggers<S: Scheduler + ?Sized>(
    scheduler: &S,
    pipeline: &str,
    desired: &[Trigger],
    owned: impl Fn(&Trigger) -> bool,
) -> Result<(), SchedulerError> {
    for trigger in desired {
        scheduler.put_trigger(trigger).await?;
    }
    for existing in scheduler.triggers(pipeline).await? {
        if owned(&existing) && !desired.iter().any(|d| d.name == existing.name) {
            scheduler.delete_trigger(pipeline, &existing.name).await?;
        }
    }
    Ok(())
}
