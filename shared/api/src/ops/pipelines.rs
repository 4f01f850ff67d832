//! The pipeline operations: CreatePipeline, UpdatePipeline, GetPipeline, ListPipelines, DeletePipeline.

use serde_json::{Value, json};
use sluice_core::action::keep_masked_secrets;
use sluice_core::pipeline::{LoadError, PipelineFile};
use sluice_core::port::{PipelineStore, Ports, ResourceStore};
use sluice_core::problem::Exception;
use sluice_core::record::StoredPipeline;
use sluice_core::usecase::pipeline::put_pipeline;
use sluice_core::validate::{ValidationContext, validate};

use super::action_types::action_types;
use super::{page, text, time};
use crate::error::ApiError;
use crate::service::Service;

/// The pipeline `name`, or PipelineNotFoundException.
pub(super) async fn pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    name: &str,
) -> Result<StoredPipeline, ApiError> {
    ports
        .store()
        .pipeline(name)
        .await?
        .ok_or_else(|| service.not_found(name))
}

pub(super) async fn save_pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    input: Value,
    create: bool,
) -> Result<Value, ApiError> {
    let file = PipelineFile::from_value(input).map_err(|e| match e {
        LoadError::Shape(problems) => ApiError::from_problems(&problems),
        LoadError::Syntax { source, .. } => ApiError::serialization(source.to_string()),
    })?;
    let context = ValidationContext {
        region: service.region.clone(),
        action_types: action_types(ports).await?,
    };
    let problems = validate(&file, &context);
    if !problems.is_empty() {
        return Err(ApiError::from_problems(&problems));
    }
    let name = &file.pipeline.name;
    let existing = ports.store().pipeline(name).await?;
    match (&existing, create) {
        (Some(_), true) => {
            return Err(ApiError::new(
                Exception::PipelineNameInUseException,
                format!(
                    "A pipeline with the name '{name}' already exists in account '{}'",
                    service.account
                ),
            ));
        }
        (None, false) => return Err(service.not_found(name)),
        (Some(old), false) => {
            if let Some(given) = file.pipeline.version
                && given != old.version()
            {
                return Err(ApiError::new(
                    Exception::InvalidStructureException,
                    format!(
                        "The pipeline version {given} does not match the current version {} of pipeline '{name}'",
                        old.version()
                    ),
                ));
            }
        }
        (None, true) => {}
    }
    let mut declaration = file.pipeline.clone();
    keep_masked_secrets(
        &mut declaration,
        existing.as_ref().map(|old| &old.declaration),
        &context.action_types,
    )
    .map_err(|e| ApiError::new(Exception::InvalidActionDeclarationException, e.to_string()))?;
    let tags = serde_json::to_value(&file.tags).unwrap_or_default();
    let tags = tags.as_array().cloned().unwrap_or_default();
    if create {
        super::tags::schedules_of(name, &tags)?;
    }
    let stored = put_pipeline(ports, &declaration, &service.compile).await?;
    let shown = context.action_types.masked_declaration(&stored.declaration);
    let mut output = json!({ "pipeline": shown });
    if create && !tags.is_empty() {
        let arn = service.pipeline_arn(name);
        super::tags::add_tags(ports, &arn, &tags).await?;
        super::tags::sync_schedules(ports, service, &arn).await?;
        output["tags"] = json!(tags);
    }
    if create && service.eventbridge {
        let rules = crate::events::rules(ports, service).await?;
        sluice_core::usecase::rule::restore_rule_triggers(ports.scheduler(), name, &rules).await?;
    }
    Ok(output)
}

pub(super) async fn get_pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    let stored = match input.get("version").and_then(Value::as_i64) {
        Some(version) => {
            let version = i32::try_from(version).unwrap_or(i32::MAX);
            let found = ports.store().pipeline_version(name, version).await?;
            if found.is_none() && ports.store().pipeline(name).await?.is_some() {
                return Err(ApiError::new(
                    Exception::PipelineVersionNotFoundException,
                    format!("Pipeline '{name}' has no version {version}"),
                ));
            }
            found
        }
        None => ports.store().pipeline(name).await?,
    }
    .ok_or_else(|| service.not_found(name))?;
    let types = action_types(ports).await?;
    Ok(json!({
        "pipeline": types.masked_declaration(&stored.declaration),
        "metadata": {
            "pipelineArn": service.pipeline_arn(name),
            "created": time(stored.created),
            "updated": time(stored.updated),
        }
    }))
}

pub(super) async fn list_pipelines<P: Ports>(ports: &P, input: &Value) -> Result<Value, ApiError> {
    let pipelines = ports.store().pipelines().await?;
    let (pipelines, next) = page(pipelines, input, 100)?;
    let summaries: Vec<Value> = pipelines.iter().map(|p| pipeline_summary(p)).collect();
    let mut output = json!({ "pipelines": summaries });
    if let Some(next) = next {
        output["nextToken"] = json!(next);
    }
    Ok(output)
}

pub(super) fn pipeline_summary(stored: &StoredPipeline) -> Value {
    let declaration = &stored.declaration;
    json!({
        "name": declaration.name,
        "version": stored.version(),
        "pipelineType": declaration.pipeline_type.map(|t| serde_json::to_value(t).unwrap_or_default()).unwrap_or(json!("V1")),
        "executionMode": serde_json::to_value(declaration.execution_mode()).unwrap_or_default(),
        "created": time(stored.created),
        "updated": time(stored.updated),
    })
}

/// DeletePipeline.
pub(super) async fn delete_pipeline<P: Ports>(
    ports: &P,
    service: &Service,
    input: &Value,
) -> Result<Value, ApiError> {
    let name = text(input, "name");
    sluice_core::usecase::pipeline::delete_pipeline(ports, name).await?;
    ports
        .store()
        .delete_resource("tags", &service.pipeline_arn(name))
        .await?;
    Ok(json!({}))
}
