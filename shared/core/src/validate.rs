//! The structural rules CodePipeline enforces on CreatePipeline and UpdatePipeline once the shapes are
//! right: the rules S1–S22 of docs/validation.md and the artifact counts of docs/codepipeline.md. Every rule runs and every
//! finding is kept, each naming the stage, action, artifact, namespace or field at fault.
//! docs/validation.md lists the rules with their exceptions; rules that need more than one file (S6: a
//! pipeline cannot be renamed; pipeline names unique per account; S17's AssumeRole check) belong to the API.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::action::{ActionTypes, Resolved, catalog};
use crate::condition;
use crate::condition::VARIABLE_CHECK_OPERATORS;
use crate::model::check::closest;
use crate::pipeline::declaration::*;
use crate::pipeline::file::PipelineFile;
use crate::problem::{Exception, Problem, Rule};
use crate::variable::{
    CODEPIPELINE_NAMESPACE, CODEPIPELINE_VARIABLES, PIPELINE_VARIABLES_NAMESPACE, references,
};

/// CodePipeline's quotas (docs/codepipeline.md, "Quotas").
pub const MAX_STAGES: usize = 50;
pub const MAX_ACTIONS_PER_STAGE: usize = 50;
pub const MAX_ACTIONS_PER_PIPELINE: usize = 500;
pub const MAX_TAGS: usize = 50;

/// What validation needs beyond the file.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// The pipeline's Region: actions elsewhere are cross-region actions.
    pub region: String,
    pub action_types: ActionTypes,
}

impl Default for ValidationContext {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            action_types: ActionTypes::default(),
        }
    }
}

/// Every structural problem of a pipeline file whose shapes are valid.
pub fn validate(file: &PipelineFile, context: &ValidationContext) -> Vec<Problem> {
    let pipeline = &file.pipeline;
    let actions: Vec<Placed<'_>> = pipeline
        .stages
        .iter()
        .enumerate()
        .flat_map(|(stage_index, stage)| {
            stage.actions.iter().map(move |action| Placed {
                stage_index,
                stage,
                action,
            })
        })
        .collect();
    let mut v = Validator {
        pipeline,
        context,
        actions,
        problems: Vec::new(),
    };
    v.counts();
    v.unique_names();
    v.source_placement();
    for placed in &v.actions.clone() {
        v.action(placed);
    }
    v.artifact_flow();
    v.namespaces();
    v.variables();
    v.artifact_stores();
    v.pipeline_type();
    for stage in &pipeline.stages {
        v.conditions(stage);
        v.blockers(stage);
    }
    v.triggers();
    v.tags(&file.tags);
    v.problems
}

/// An action and where it sits.
#[derive(Clone, Copy)]
struct Placed<'a> {
    stage_index: usize,
    stage: &'a StageDeclaration,
    action: &'a ActionDeclaration,
}

impl Placed<'_> {
    /// Whether this action is sure to have finished before `other` starts.
    fn runs_before(&self, other: &Placed<'_>) -> bool {
        self.stage_index < other.stage_index
            || (self.stage_index == other.stage_index
                && self.action.run_order() < other.action.run_order())
    }

    fn describe(&self) -> String {
        format!(
            "action '{}' in stage '{}'",
            self.action.name, self.stage.name
        )
    }

    fn described(&self) -> String {
        format!(
            "Action '{}' in stage '{}'",
            self.action.name, self.stage.name
        )
    }
}

struct Validator<'a> {
    pipeline: &'a PipelineDeclaration,
    context: &'a ValidationContext,
    actions: Vec<Placed<'a>>,
    problems: Vec<Problem>,
}

impl<'a> Validator<'a> {
    fn push(&mut self, exception: Exception, rule: Rule, message: String) {
        self.problems.push(Problem::new(exception, rule, message));
    }

    /// S1 and the quotas: 2–50 stages, 1–50 actions a stage, 500 actions a pipeline.
    fn counts(&mut self) {
        let stages = self.pipeline.stages.len();
        if stages < 2 {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has only {stages} stage(s). There should be a minimum of 2 stages in a pipeline"
                ),
            );
        }
        if stages > MAX_STAGES {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has {stages} stages. There should be a maximum of {MAX_STAGES} stages in a pipeline"
                ),
            );
        }
        for stage in &self.pipeline.stages {
            let count = stage.actions.len();
            if count == 0 {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S1,
                    format!(
                        "Stage '{}' has no actions; every stage must contain at least one action",
                        stage.name
                    ),
                );
            } else if count > MAX_ACTIONS_PER_STAGE {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S1,
                    format!(
                        "Stage '{}' has {count} actions; a stage may have at most {MAX_ACTIONS_PER_STAGE}",
                        stage.name
                    ),
                );
            }
        }
        if self.actions.len() > MAX_ACTIONS_PER_PIPELINE {
            self.push(
                Exception::InvalidStructureException,
                Rule::S1,
                format!(
                    "Pipeline has {} actions; a pipeline may have at most {MAX_ACTIONS_PER_PIPELINE}",
                    self.actions.len()
                ),
            );
        }
    }

    /// S5: stage names are unique in the pipeline, action names unique in their stage.
    fn unique_names(&mut self) {
        for name in duplicates(self.pipeline.stages.iter().map(|s| s.name.as_str())) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S5,
                format!(
                    "Stage name '{name}' is used by more than one stage; stage names must be unique within a pipeline"
                ),
            );
        }
        for stage in &self.pipeline.stages {
            for name in duplicates(stage.actions.iter().map(|a| a.name.as_str())) {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S5,
                    format!(
                        "Action name '{name}' is used more than once in stage '{}'; action names must be unique within a stage",
                        stage.name
                    ),
                );
            }
        }
    }

    /// S2–S4: source actions in the first stage and only there, and something besides sources.
    fn source_placement(&mut self) {
        for placed in self.actions.clone() {
            let is_source = placed.action.action_type_id.category == ActionCategory::Source;
            if placed.stage_index == 0 && !is_source {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S2,
                    format!(
                        "The first stage '{}' may only contain Source actions, but action '{}' is a {} action",
                        placed.stage.name,
                        placed.action.name,
                        placed.action.action_type_id.category.name()
                    ),
                );
            }
            if placed.stage_index > 0 && is_source {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S3,
                    format!(
                        "Source action '{}' is in stage '{}'; Source actions may only occur in the first stage",
                        placed.action.name, placed.stage.name
                    ),
                );
            }
        }
        let has_work = self
            .actions
            .iter()
            .any(|p| p.action.action_type_id.category != ActionCategory::Source);
        if !self.actions.is_empty() && !has_work {
            self.push(
                Exception::InvalidStructureException,
                Rule::S4,
                format!(
                    "Pipeline '{}' has only Source actions; at least one stage must contain an action that is not a Source action",
                    self.pipeline.name
                ),
            );
        }
    }

    /// Everything about one action alone: its type (S11), configuration (S11, S16), artifact counts
    /// (S9), compute-only fields (S21), role (S17), timeout, and cross-region limits (S12).
    fn action(&mut self, placed: &Placed<'a>) {
        let action = placed.action;
        let id = &action.action_type_id;
        let mut artifact_bounds = None;
        match self.context.action_types.resolve(id) {
            Resolved::Builtin(action_type) => {
                artifact_bounds = Some((action_type.inputs, action_type.outputs));
                self.builtin_configuration(placed, action_type);
            }
            Resolved::Custom(custom) => {
                artifact_bounds = Some((
                    (
                        custom.input_artifact_details.minimum_count,
                        custom.input_artifact_details.maximum_count,
                    ),
                    (
                        custom.output_artifact_details.minimum_count,
                        custom.output_artifact_details.maximum_count,
                    ),
                ));
                self.custom_configuration(placed, custom);
            }
            // The model caps custom action types at 5 artifacts each way.
            Resolved::UnknownCustom => artifact_bounds = Some(((0, 5), (0, 5))),
            Resolved::Unavailable => self.unavailable(placed),
        }
        if let Some(((min_in, max_in), (min_out, max_out))) = artifact_bounds {
            self.artifact_count(
                action,
                "input",
                action.input_artifacts.len(),
                min_in,
                max_in,
            );
            self.artifact_count(
                action,
                "output",
                action.output_artifacts.len(),
                min_out,
                max_out,
            );
        }
        self.compute_fields(placed);
        if action.role_arn.is_some() && id.owner != ActionOwner::Aws {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S17,
                format!(
                    "Specifying a Role is not supported for actions with an owner different than 'AWS': {} is owned by {}",
                    placed.describe(),
                    id.owner.name()
                ),
            );
        }
        let is_manual_approval = id.category == ActionCategory::Approval
            && id.owner == ActionOwner::Aws
            && id.provider == "Manual";
        if action.timeout_in_minutes.is_some() && !is_manual_approval {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::Timeout,
                format!(
                    "{} sets timeoutInMinutes, which only manual approval actions may set",
                    placed.described()
                ),
            );
        }
        if let Some(region) = &action.region
            && *region != self.context.region
        {
            let forbidden = if id.category == ActionCategory::Source {
                Some("Source actions".to_string())
            } else if id.owner != ActionOwner::Aws {
                Some(format!("actions owned by {}", id.owner.name()))
            } else {
                None
            };
            if let Some(forbidden) = forbidden {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S12,
                    format!(
                        "{} declares Region '{region}', but cross-region actions are not allowed for {forbidden}",
                        placed.described()
                    ),
                );
            }
        }
    }

    fn unavailable(&mut self, placed: &Placed<'_>) {
        let id = &placed.action.action_type_id;
        let reason = if id.owner == ActionOwner::Custom {
            "no custom action type with that category, provider and version is registered"
                .to_string()
        } else {
            let offered = catalog::providers(id.owner, id.category);
            let elsewhere = catalog::categories_of(&id.provider);
            if !offered.is_empty() && offered.contains(&id.provider.as_str()) {
                format!(
                    "{} action types have version '1'",
                    match id.owner {
                        ActionOwner::Aws => "AWS",
                        _ => "ThirdParty",
                    }
                )
            } else if !elsewhere.is_empty() {
                let names: Vec<&str> = elsewhere.iter().map(|c| c.name()).collect();
                format!(
                    "{} is a provider of the {} categor{}",
                    id.provider,
                    names.join(" and "),
                    if names.len() == 1 { "y" } else { "ies" }
                )
            } else if offered.is_empty() {
                format!(
                    "{} offers no {} action types",
                    id.owner.name(),
                    id.category.name()
                )
            } else {
                let hint = closest(&id.provider, &offered)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                format!(
                    "{} actions owned by {} are: {}{hint}",
                    id.category.name(),
                    id.owner.name(),
                    offered.join(", ")
                )
            }
        };
        self.push(
            Exception::InvalidActionDeclarationException,
            Rule::S11,
            format!(
                "ActionType (Category: '{}', Provider: '{}', Owner: '{}', Version: '{}') in action '{}' in stage '{}' is not available: {reason}",
                id.category.name(),
                id.provider,
                id.owner.name(),
                id.version,
                placed.action.name,
                placed.stage.name
            ),
        );
    }

    fn builtin_configuration(&mut self, placed: &Placed<'_>, action_type: &catalog::ActionType) {
        let action = placed.action;
        for property in action_type.properties.iter().filter(|p| p.required) {
            if !action.configuration.contains_key(property.name) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' is missing required configuration '{}'",
                        action.name, property.name
                    ),
                );
            }
        }
        if !action_type.open_configuration {
            let known: Vec<&str> = action_type.properties.iter().map(|p| p.name).collect();
            self.unknown_configuration(action, action_type.provider, &known);
        }
        if let Some(check) = action_type.check {
            for message in check(action) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    message,
                );
            }
        }
    }

    fn unknown_configuration(
        &mut self,
        action: &ActionDeclaration,
        provider: &str,
        known: &[&str],
    ) {
        for key in action.configuration.keys() {
            if !known.contains(&key.as_str()) {
                let hint = closest(key, known)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                let accepted = if known.is_empty() {
                    format!("{provider} actions take no configuration")
                } else {
                    format!("{provider} actions accept: {}", known.join(", "))
                };
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' contains unknown configuration '{key}'{hint}; {accepted}",
                        action.name
                    ),
                );
            }
        }
    }

    fn custom_configuration(
        &mut self,
        placed: &Placed<'_>,
        custom: &crate::action::CustomActionType,
    ) {
        let action = placed.action;
        for property in custom
            .configuration_properties
            .iter()
            .filter(|p| p.required)
        {
            if !action.configuration.contains_key(&property.name) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S11,
                    format!(
                        "Action configuration for action '{}' is missing required configuration '{}'",
                        action.name, property.name
                    ),
                );
            }
        }
        let known: Vec<&str> = custom
            .configuration_properties
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        self.unknown_configuration(action, &custom.provider, &known);
        for property in custom
            .configuration_properties
            .iter()
            .filter(|p| p.queryable)
        {
            if let Some(value) = action.configuration.get(&property.name) {
                let ok = value.chars().count() <= 20
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S16,
                        format!(
                            "Action configuration for action '{}' has an invalid value for queryable property '{}': '{value}' (at most 20 characters, only letters, digits, _ and -)",
                            action.name, property.name
                        ),
                    );
                }
            }
        }
    }

    /// S9, in the words AWS uses.
    fn artifact_count(
        &mut self,
        action: &ActionDeclaration,
        kind: &str,
        count: usize,
        min: usize,
        max: usize,
    ) {
        if count < min {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S9,
                format!(
                    "Action {} declares {count} {kind} artifacts which is less than the minimum count ({min})",
                    action.name
                ),
            );
        } else if count > max {
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S9,
                format!(
                    "Action {} declares {count} {kind} artifacts which is more than the maximum count ({max})",
                    action.name
                ),
            );
        }
    }

    /// S21: `commands`, `outputVariables`, `environmentVariables` and output `files` belong to compute
    /// actions, and a compute action needs its commands, one line each.
    fn compute_fields(&mut self, placed: &Placed<'_>) {
        let action = placed.action;
        let id = &action.action_type_id;
        let is_compute = id.category == ActionCategory::Compute && id.provider == "Commands";
        if is_compute {
            if action.commands.is_empty() {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S21,
                    format!(
                        "Compute action '{}' in stage '{}' declares no commands; a Commands action runs its commands field",
                        action.name, placed.stage.name
                    ),
                );
            }
            for (index, command) in action.commands.iter().enumerate() {
                if command.contains('\n') || command.contains('\r') {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S21,
                        format!(
                            "Command {} of {} spans several lines; each command must be a single line",
                            index + 1,
                            placed.describe()
                        ),
                    );
                }
            }
            return;
        }
        let misplaced = [
            ("commands", !action.commands.is_empty()),
            ("outputVariables", !action.output_variables.is_empty()),
            (
                "environmentVariables",
                !action.environment_variables.is_empty(),
            ),
            (
                "files",
                action.output_artifacts.iter().any(|a| !a.files.is_empty()),
            ),
        ];
        for (field, present) in misplaced {
            if !present {
                continue;
            }
            let article = if field.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            self.push(
                Exception::InvalidActionDeclarationException,
                Rule::S21,
                format!(
                    "The following action cannot contain {article} {field} field: {}. To use the {field} field, use a compute action.",
                    action.name
                ),
            );
        }
    }

    /// S7 (inputs come from an action that runs earlier) and S8 (output names are unique).
    fn artifact_flow(&mut self) {
        let mut producers: HashMap<&str, Placed<'a>> = HashMap::new();
        let mut outputs = Vec::new();
        for placed in &self.actions {
            for output in &placed.action.output_artifacts {
                outputs.push(output.name.as_str());
                producers.entry(output.name.as_str()).or_insert(*placed);
            }
        }
        for name in duplicates(outputs.into_iter()) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S8,
                format!(
                    "Output Artifact Bundle name must be unique within the pipeline. {name} has been used more than once."
                ),
            );
        }
        for placed in self.actions.clone() {
            let names = placed
                .action
                .input_artifacts
                .iter()
                .map(|a| a.name.as_str());
            for name in duplicates(names) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S7,
                    format!(
                        "{} declares input artifact '{name}' more than once",
                        placed.described()
                    ),
                );
            }
            for input in &placed.action.input_artifacts {
                match producers.get(input.name.as_str()) {
                    None => self.push(
                        Exception::InvalidStructureException,
                        Rule::S7,
                        format!(
                            "Input artifact '{}' of {} is not the output artifact of any action in the pipeline",
                            input.name,
                            placed.describe()
                        ),
                    ),
                    Some(producer) if !producer.runs_before(&placed) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S7,
                        format!(
                            "Input artifact '{}' of {} is produced by {}, which does not run before it",
                            input.name,
                            placed.describe(),
                            producer.describe()
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        // Condition rules read artifacts too: entry rules only from earlier stages.
        for (stage_index, stage) in self.pipeline.stages.iter().enumerate() {
            for (kind, conditions) in stage_conditions(stage) {
                for rule in conditions.iter().flat_map(|c| &c.rules) {
                    for input in &rule.input_artifacts {
                        let available = producers.get(input.name.as_str()).is_some_and(|p| {
                            p.stage_index < stage_index
                                || (p.stage_index == stage_index && kind != "beforeEntry")
                        });
                        if !available {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S7,
                                format!(
                                    "Input artifact '{}' of rule '{}' in the {kind} condition of stage '{}' is not produced by an action that runs before the condition",
                                    input.name, rule.name, stage.name
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    /// S13: namespaces are unique, differ from artifact names, and avoid the reserved ones.
    fn namespaces(&mut self) {
        let artifacts: HashSet<&str> = self
            .actions
            .iter()
            .flat_map(|p| {
                p.action
                    .output_artifacts
                    .iter()
                    .map(|a| a.name.as_str())
                    .chain(p.action.input_artifacts.iter().map(|a| a.name.as_str()))
            })
            .collect();
        let mut seen = HashSet::new();
        for placed in self.actions.clone() {
            let Some(namespace) = placed.action.namespace.as_deref() else {
                continue;
            };
            if !seen.insert(namespace) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespaces must be unique across the pipeline definition. The following occur more than once in the pipeline. StageName=[{}], ActionName=[{}], Namespace=[{namespace}]",
                        placed.stage.name, placed.action.name
                    ),
                );
            }
            if artifacts.contains(namespace) {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespace '{namespace}' of {} is also the name of an artifact; namespaces and artifact names must differ",
                        placed.describe()
                    ),
                );
            }
            if namespace == CODEPIPELINE_NAMESPACE || namespace == PIPELINE_VARIABLES_NAMESPACE {
                self.push(
                    Exception::InvalidActionDeclarationException,
                    Rule::S13,
                    format!(
                        "Namespace '{namespace}' of {} is reserved for CodePipeline's own variables",
                        placed.describe()
                    ),
                );
            }
        }
    }

    /// S14: every `#{namespace.name}` points at something that exists before the reader runs.
    fn variables(&mut self) {
        for name in duplicates(self.pipeline.variables.iter().map(|v| v.name.as_str())) {
            self.push(
                Exception::InvalidStructureException,
                Rule::S14,
                format!("Pipeline variable '{name}' is declared more than once"),
            );
        }
        for placed in self.actions.clone() {
            let action = placed.action;
            let mut texts: Vec<(String, &str)> = action
                .configuration
                .iter()
                .map(|(key, value)| (format!("configuration '{key}'"), value.as_str()))
                .collect();
            texts.extend(
                action
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("command {}", i + 1), c.as_str())),
            );
            texts.extend(action.environment_variables.iter().map(|e| {
                (
                    format!("environment variable '{}'", e.name),
                    e.value.as_str(),
                )
            }));
            for (place, text) in texts {
                let reader = Reader::Action(placed);
                for problem in self.reference_problems(&reader, &place, text) {
                    self.push(
                        Exception::InvalidActionDeclarationException,
                        Rule::S14,
                        problem,
                    );
                }
            }
        }
        for (stage_index, stage) in self.pipeline.stages.iter().enumerate() {
            for (kind, conditions) in stage_conditions(stage) {
                for rule in conditions.iter().flat_map(|c| &c.rules) {
                    let reader = Reader::Rule {
                        stage_index,
                        stage,
                        rule,
                        kind,
                    };
                    let mut texts: Vec<(String, &str)> = rule
                        .configuration
                        .iter()
                        .map(|(key, value)| (format!("configuration '{key}'"), value.as_str()))
                        .collect();
                    texts.extend(
                        rule.commands
                            .iter()
                            .enumerate()
                            .map(|(i, c)| (format!("command {}", i + 1), c.as_str())),
                    );
                    for (place, text) in texts {
                        for problem in self.reference_problems(&reader, &place, text) {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S14,
                                problem,
                            );
                        }
                    }
                }
            }
        }
    }

    fn reference_problems(&self, reader: &Reader<'_>, place: &str, text: &str) -> Vec<String> {
        let who = reader.describe();
        let mut problems = Vec::new();
        for reference in references(text) {
            let reference = match reference {
                Ok(reference) => reference,
                Err(malformed) => {
                    problems.push(format!(
                        "{who} has a malformed variable reference '{}' in {place}; a reference reads #{{namespace.name}}",
                        malformed.text
                    ));
                    continue;
                }
            };
            let text = reference.text;
            if reference.namespace == CODEPIPELINE_NAMESPACE {
                if !CODEPIPELINE_VARIABLES.contains(&reference.name) {
                    problems.push(format!(
                        "{who} references '{text}' in {place}, but the codepipeline namespace only provides {}",
                        CODEPIPELINE_VARIABLES.join(", ")
                    ));
                }
                continue;
            }
            if reference.namespace == PIPELINE_VARIABLES_NAMESPACE {
                if !self
                    .pipeline
                    .variables
                    .iter()
                    .any(|v| v.name == reference.name)
                {
                    problems.push(format!(
                        "{who} references '{text}' in {place}, but the pipeline declares no variable '{}'",
                        reference.name
                    ));
                }
                continue;
            }
            let producers: Vec<&Placed<'_>> = self
                .actions
                .iter()
                .filter(|p| p.action.namespace.as_deref() == Some(reference.namespace))
                .collect();
            let Some(producer) = producers.first() else {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but no action in the pipeline declares the namespace '{}'",
                    reference.namespace
                ));
                continue;
            };
            if !reader.runs_after(producer) {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but {}, which declares the namespace '{}', does not run before it",
                    producer.describe(),
                    reference.namespace
                ));
                continue;
            }
            let exported = &producer.action.output_variables;
            let is_compute = producer.action.action_type_id.provider == "Commands"
                && producer.action.action_type_id.category == ActionCategory::Compute;
            if is_compute && !exported.iter().any(|v| v == reference.name) {
                problems.push(format!(
                    "{who} references '{text}' in {place}, but {} exports only the output variables: {}",
                    producer.describe(),
                    if exported.is_empty() {
                        "(none)".to_string()
                    } else {
                        exported.join(", ")
                    }
                ));
            }
        }
        problems
    }

    /// S12: exactly one of artifactStore and artifactStores, with a store for every Region in use.
    fn artifact_stores(&mut self) {
        let name = &self.pipeline.name;
        let region = &self.context.region;
        match (&self.pipeline.artifact_store, &self.pipeline.artifact_stores) {
            (Some(_), Some(_)) => self.push(
                Exception::InvalidStructureException,
                Rule::S12,
                format!(
                    "Pipeline '{name}' declares both artifactStore and artifactStores; declare exactly one (artifactStores when actions run in other Regions)"
                ),
            ),
            (None, None) => self.push(
                Exception::InvalidStructureException,
                Rule::S12,
                format!(
                    "Pipeline '{name}' declares neither artifactStore nor artifactStores; it needs exactly one"
                ),
            ),
            (None, Some(stores)) if !stores.contains_key(region) => self.push(
                Exception::InvalidStructureException,
                Rule::S12,
                format!(
                    "artifactStores of pipeline '{name}' has no entry for the pipeline's Region '{region}'"
                ),
            ),
            _ => {}
        }
        for placed in self.actions.clone() {
            let Some(action_region) = placed.action.region.as_deref() else {
                continue;
            };
            if action_region == region {
                continue;
            }
            match (&self.pipeline.artifact_store, &self.pipeline.artifact_stores) {
                (Some(_), None) => self.push(
                    Exception::InvalidStructureException,
                    Rule::S12,
                    format!(
                        "{} runs in Region '{action_region}', so pipeline '{name}' needs artifactStores with an entry for that Region instead of artifactStore",
                        placed.described()
                    ),
                ),
                (None, Some(stores)) if !stores.contains_key(action_region) => self.push(
                    Exception::InvalidStructureException,
                    Rule::S12,
                    format!(
                        "artifactStores of pipeline '{name}' has no entry for Region '{action_region}', where {} runs",
                        placed.describe()
                    ),
                ),
                _ => {}
            }
        }
    }

    /// S18: V2 features need a V2 pipeline; PARALLEL pipelines cannot roll back.
    fn pipeline_type(&mut self) {
        let pipeline = self.pipeline;
        if pipeline.pipeline_type == Some(PipelineType::V1) {
            for feature in v2_features(pipeline) {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S18,
                    format!(
                        "Pipeline '{}' is a V1 pipeline but uses {feature}, which needs pipelineType V2",
                        pipeline.name
                    ),
                );
            }
        }
        if pipeline.execution_mode() == ExecutionMode::Parallel {
            for stage in &pipeline.stages {
                let rollback = stage.on_failure.as_ref().is_some_and(|f| {
                    f.result == Some(ConditionResult::Rollback)
                        || f.conditions
                            .iter()
                            .any(|c| c.result == Some(ConditionResult::Rollback))
                }) || stage.on_success.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.result == Some(ConditionResult::Rollback))
                });
                if rollback {
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S18,
                        format!(
                            "Stage '{}' has a condition with result ROLLBACK, which a PARALLEL mode pipeline cannot have",
                            stage.name
                        ),
                    );
                }
            }
        }
    }

    /// S19: which results each kind of condition may have, and well-formed rules.
    fn conditions(&mut self, stage: &StageDeclaration) {
        let name = &stage.name;
        for (kind, conditions) in stage_conditions(stage) {
            let allowed: &[ConditionResult] = if kind == "beforeEntry" {
                &[ConditionResult::Fail, ConditionResult::Skip]
            } else {
                &[ConditionResult::Rollback, ConditionResult::Fail]
            };
            for condition in conditions {
                if let Some(result) = condition.result
                    && !allowed.contains(&result)
                {
                    let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!(
                            "The {kind} condition of stage '{name}' has result {}; {kind} conditions may only {}",
                            result.name(),
                            names.join(" or ")
                        ),
                    );
                }
                // Only entry conditions may SKIP; elsewhere the result itself is the fault.
                if kind == "beforeEntry" && condition.result == Some(ConditionResult::Skip) {
                    for rule in &condition.rules {
                        if condition::rule_type(&rule.rule_type_id.provider)
                            .is_some_and(|t| !t.allows_skip)
                        {
                            self.push(
                                Exception::InvalidStageDeclarationException,
                                Rule::S19,
                                format!(
                                    "The {kind} condition of stage '{name}' has result SKIP, which only LambdaInvoke and VariableCheck rules may decide, but rule '{}' is a {} rule",
                                    rule.name, rule.rule_type_id.provider
                                ),
                            );
                        }
                    }
                }
                if condition.rules.is_empty() {
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!("The {kind} condition of stage '{name}' has no rules; a condition needs 1 to 5"),
                    );
                }
                for rule in &condition.rules {
                    self.rule(stage, kind, rule);
                }
            }
        }
        let Some(failure) = &stage.on_failure else {
            return;
        };
        if failure.result == Some(ConditionResult::Skip) {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' has result SKIP; on failure a stage may ROLLBACK, FAIL or RETRY"
                ),
            );
        }
        if failure.retry_configuration.is_some() && failure.result != Some(ConditionResult::Retry) {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' has a retryConfiguration but its result is not RETRY"
                ),
            );
        }
        if failure.result == Some(ConditionResult::Retry) && !failure.conditions.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "The onFailure of stage '{name}' combines RETRY with conditions; automatic stage retry cannot be used in onFailure conditions"
                ),
            );
        }
    }

    fn rule(&mut self, stage: &StageDeclaration, kind: &str, rule: &RuleDeclaration) {
        let at = format!(
            "Rule '{}' in the {kind} condition of stage '{}'",
            rule.name, stage.name
        );
        let provider = &rule.rule_type_id.provider;
        let Some(rule_type) = condition::rule_type(provider) else {
            let known: Vec<&str> = condition::RULE_TYPES.iter().map(|r| r.provider).collect();
            let hint = closest(provider, &known)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "{at} has an unknown provider '{provider}'{hint}; rule providers are: {}",
                    known.join(", ")
                ),
            );
            return;
        };
        if let Some(version) = &rule.rule_type_id.version
            && version != "1"
        {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} has version '{version}'; rule types have version '1'"),
            );
        }
        for key in rule_type.required {
            if !rule.configuration.contains_key(*key) {
                self.push(
                    Exception::InvalidStageDeclarationException,
                    Rule::S19,
                    format!("{at} is missing required configuration '{key}'"),
                );
            }
        }
        if !rule_type.open_configuration {
            let known: Vec<&str> = rule_type
                .required
                .iter()
                .chain(rule_type.optional)
                .copied()
                .collect();
            for key in rule.configuration.keys() {
                if !known.contains(&key.as_str()) {
                    let hint = closest(key, &known)
                        .map(|s| format!(" (did you mean '{s}'?)"))
                        .unwrap_or_default();
                    self.push(
                        Exception::InvalidStageDeclarationException,
                        Rule::S19,
                        format!(
                            "{at} contains unknown configuration '{key}'{hint}; {provider} rules accept: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        if provider == "VariableCheck"
            && let Some(operator) = rule.configuration.get("Operator")
            && !VARIABLE_CHECK_OPERATORS.contains(&operator.as_str())
        {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!(
                    "{at} has an invalid Operator '{operator}' (expected one of {})",
                    VARIABLE_CHECK_OPERATORS.join(", ")
                ),
            );
        }
        if rule_type.runs_commands && rule.commands.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} declares no commands; a Commands rule runs its commands field"),
            );
        }
        if !rule_type.runs_commands && !rule.commands.is_empty() {
            self.push(
                Exception::InvalidStageDeclarationException,
                Rule::S19,
                format!("{at} declares commands, which only Commands rules run"),
            );
        }
    }

    fn blockers(&mut self, stage: &StageDeclaration) {
        for blocker in &stage.blockers {
            self.push(
                Exception::InvalidBlockerDeclarationException,
                Rule::Blocker,
                format!(
                    "Stage '{}' declares blocker '{}': blockers are reserved by CodePipeline for future use",
                    stage.name, blocker.name
                ),
            );
        }
    }

    /// S20: each trigger names a CodeStarSourceConnection action of the first stage, once, with
    /// well-formed filters.
    fn triggers(&mut self) {
        let first_stage = self.pipeline.stages.first();
        let mut seen = HashSet::new();
        for trigger in &self.pipeline.triggers {
            let git = &trigger.git_configuration;
            let source = &git.source_action_name;
            match first_stage.and_then(|s| s.actions.iter().find(|a| a.name == *source)) {
                None => self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Trigger source action '{source}' is not an action of the first stage{}",
                        first_stage.map(|s| format!(" '{}'", s.name)).unwrap_or_default()
                    ),
                ),
                Some(action) if action.action_type_id.provider != "CodeStarSourceConnection" => self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Trigger source action '{source}' is a {} action; triggers need a CodeStarSourceConnection source action",
                        action.action_type_id.provider
                    ),
                ),
                Some(_) => {}
            }
            if !seen.insert(source.as_str()) {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "Source action '{source}' has more than one trigger; a source action takes one trigger configuration"
                    ),
                );
            }
            if git.push.is_empty() && git.pull_request.is_empty() {
                self.push(
                    Exception::InvalidStructureException,
                    Rule::S20,
                    format!(
                        "The trigger for source action '{source}' has neither push nor pullRequest filters"
                    ),
                );
            }
            for (index, push) in git.push.iter().enumerate() {
                let at = format!(
                    "Push filter {} of the trigger for source action '{source}'",
                    index + 1
                );
                match (&push.tags, &push.branches) {
                    (Some(_), Some(_)) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!(
                            "{at} names both tags and branches; a push filter uses one of them"
                        ),
                    ),
                    (None, None) => self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} names neither tags nor branches"),
                    ),
                    _ => {}
                }
                if push.file_paths.is_some() && push.branches.is_none() {
                    self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} filters filePaths, which needs branches"),
                    );
                }
                for (field, criteria) in [
                    ("tags", &push.tags),
                    ("branches", &push.branches),
                    ("filePaths", &push.file_paths),
                ] {
                    self.criteria(&at, field, criteria);
                }
            }
            for (index, pull) in git.pull_request.iter().enumerate() {
                let at = format!(
                    "Pull request filter {} of the trigger for source action '{source}'",
                    index + 1
                );
                if pull.branches.is_none() {
                    self.push(
                        Exception::InvalidStructureException,
                        Rule::S20,
                        format!("{at} names no branches"),
                    );
                }
                for (field, criteria) in [
                    ("branches", &pull.branches),
                    ("filePaths", &pull.file_paths),
                ] {
                    self.criteria(&at, field, criteria);
                }
            }
        }
    }

    fn criteria(&mut self, at: &str, field: &str, criteria: &Option<GitFilterCriteria>) {
        if let Some(criteria) = criteria
            && criteria.includes.is_empty()
            && criteria.excludes.is_empty()
        {
            self.push(
                Exception::InvalidStructureException,
                Rule::S20,
                format!("{at} has {field} with neither includes nor excludes"),
            );
        }
    }

    /// S22: at most 50 tags, unique keys, none under the reserved `aws:` prefix.
    fn tags(&mut self, tags: &[Tag]) {
        if tags.len() > MAX_TAGS {
            self.push(
                Exception::TooManyTagsException,
                Rule::S22,
                format!(
                    "Tag limit exceeded for resource [pipeline '{}']: {} tags, at most {MAX_TAGS}",
                    self.pipeline.name,
                    tags.len()
                ),
            );
        }
        for tag in tags {
            if tag.key.to_ascii_lowercase().starts_with("aws:") {
                self.push(
                    Exception::InvalidTagsException,
                    Rule::S22,
                    format!(
                        "Not allowed to modify system tags. System tags start with 'aws:'. msg=[Caller is an end user and not allowed to mutate system tags] (tag '{}')",
                        tag.key
                    ),
                );
            }
        }
        for key in duplicates(tags.iter().map(|t| t.key.as_str())) {
            self.push(
                Exception::InvalidTagsException,
                Rule::S22,
                format!("Tag key '{key}' is given more than once"),
            );
        }
    }
}

/// Who reads a variable: an action, or a rule of a stage condition.
enum Reader<'a> {
    Action(Placed<'a>),
    Rule {
        stage_index: usize,
        stage: &'a StageDeclaration,
        rule: &'a RuleDeclaration,
        kind: &'static str,
    },
}

impl Reader<'_> {
    fn describe(&self) -> String {
        match self {
            Reader::Action(placed) => placed.described(),
            Reader::Rule {
                stage, rule, kind, ..
            } => format!(
                "Rule '{}' in the {kind} condition of stage '{}'",
                rule.name, stage.name
            ),
        }
    }

    /// Whether `producer` has finished when this reader runs. Entry rules run before their stage;
    /// success and failure rules after it.
    fn runs_after(&self, producer: &Placed<'_>) -> bool {
        match self {
            Reader::Action(placed) => producer.runs_before(placed),
            Reader::Rule {
                stage_index, kind, ..
            } => {
                producer.stage_index < *stage_index
                    || (producer.stage_index == *stage_index && *kind != "beforeEntry")
            }
        }
    }
}

/// A stage's conditions by kind.
fn stage_conditions(stage: &StageDeclaration) -> Vec<(&'static str, &[Condition])> {
    let mut all = Vec::new();
    if let Some(entry) = &stage.before_entry {
        all.push(("beforeEntry", entry.conditions.as_slice()));
    }
    if let Some(success) = &stage.on_success {
        all.push(("onSuccess", success.conditions.as_slice()));
    }
    if let Some(failure) = &stage.on_failure {
        all.push(("onFailure", failure.conditions.as_slice()));
    }
    all
}

/// The features of a pipeline that only V2 pipelines have (docs/codepipeline.md, "Pipeline types (V1 and V2)").
pub fn v2_features(pipeline: &PipelineDeclaration) -> Vec<String> {
    let mut features = Vec::new();
    if let Some(mode @ (ExecutionMode::Queued | ExecutionMode::Parallel)) = pipeline.execution_mode
    {
        let name = if mode == ExecutionMode::Queued {
            "QUEUED"
        } else {
            "PARALLEL"
        };
        features.push(format!("executionMode {name}"));
    }
    if !pipeline.variables.is_empty() {
        features.push("pipeline-level variables".to_string());
    }
    if !pipeline.triggers.is_empty() {
        features.push("triggers".to_string());
    }
    for stage in &pipeline.stages {
        for (kind, present) in [
            ("beforeEntry", stage.before_entry.is_some()),
            ("onSuccess", stage.on_success.is_some()),
            ("onFailure", stage.on_failure.is_some()),
        ] {
            if present {
                features.push(format!("{kind} in stage '{}'", stage.name));
            }
        }
        for action in &stage.actions {
            let id = &action.action_type_id;
            if catalog::builtin(id.owner, id.category, &id.provider).is_some_and(|t| t.v2_only) {
                features.push(format!(
                    "the {} action '{}' in stage '{}'",
                    id.provider, action.name, stage.name
                ));
            }
        }
    }
    features
}

/// Names that occur more than once, each reported once, in order of first repetition.
fn duplicates<'n>(names: impl Iterator<Item = &'n str>) -> Vec<&'n str> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut order = Vec::new();
    for name in names {
        let count = counts.entry(name).or_insert(0);
        *count += 1;
        if *count == 2 {
            order.push(name);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::action::ArtifactDetails;
    use crate::action::CustomActionType;
    use crate::action::CustomProperty;
    use crate::action::catalog::default_timeout_minutes;

    fn base() -> Value {
        json!({"pipeline": {
        "name": "p", "roleArn": "arn:aws:iam::111111111111:role/r",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
            {"name": "Source", "actions": [{"name": "S", "namespace": "SV",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "actions": [
                {"name": "Compile", "namespace": "BV",
                 "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                 "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "Src"}],
                 "outputArtifacts": [{"name": "Bin"}]},
                {"name": "Package", "runOrder": 2,
                 "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                 "configuration": {"ProjectName": "#{BV.Name}-#{SV.ETag}"}, "inputArtifacts": [{"name": "Bin"}]}
            ]}
        ]}})
    }

    fn problems_of(document: Value, context: &ValidationContext) -> Vec<String> {
        let file = PipelineFile::from_value(document).expect("shapes are valid");
        validate(&file, context)
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_later_run_order_may_consume_what_an_earlier_one_in_the_same_stage_produced() {
        assert_eq!(
            problems_of(base(), &ValidationContext::default()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_same_run_order_may_not() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][1]["runOrder"] = json!(1);
        let problems = problems_of(document, &ValidationContext::default());
        assert!(
            problems.iter().any(|p| p.starts_with("InvalidStructureException: Input artifact 'Bin' of action 'Package' in stage 'Build' is produced by action 'Compile' in stage 'Build', which does not run before it")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("references '#{BV.Name}'")),
            "{problems:?}"
        );
    }

    #[test]
    fn without_a_pipeline_type_v2_features_make_a_v2_pipeline_but_an_explicit_v1_refuses_them() {
        let mut document = base();
        document["pipeline"]["executionMode"] = json!("QUEUED");
        assert!(problems_of(document.clone(), &ValidationContext::default()).is_empty());
        document["pipeline"]["pipelineType"] = json!("V1");
        assert_eq!(
            problems_of(document, &ValidationContext::default()),
            vec![
                "InvalidStructureException: Pipeline 'p' is a V1 pipeline but uses executionMode QUEUED, which needs pipelineType V2"
            ]
        );
    }

    #[test]
    fn a_cross_region_action_is_fine_with_a_store_for_its_region() {
        let mut document = base();
        let pipeline = &mut document["pipeline"];
        pipeline.as_object_mut().unwrap().remove("artifactStore");
        pipeline["artifactStores"] = json!({
            "us-east-1": {"type": "S3", "location": "east-bucket"},
            "eu-west-1": {"type": "S3", "location": "west-bucket"}
        });
        pipeline["stages"][1]["actions"][0]["region"] = json!("eu-west-1");
        assert!(problems_of(document.clone(), &ValidationContext::default()).is_empty());
        let elsewhere = ValidationContext {
            region: "ap-south-1".to_string(),
            ..ValidationContext::default()
        };
        assert_eq!(
            problems_of(document, &elsewhere),
            vec![
                "InvalidStructureException: artifactStores of pipeline 'p' has no entry for the pipeline's Region 'ap-south-1'"
            ]
        );
    }

    #[test]
    fn custom_actions_are_taken_on_trust_offline_and_checked_against_registered_types() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][1] = json!({"name": "Jenkins",
            "runOrder": 2, "actionTypeId": {"category": "Build", "owner": "Custom", "provider": "Jenkins", "version": "1"},
            "configuration": {"Job": "build"}, "inputArtifacts": [{"name": "Bin"}]});
        assert!(problems_of(document.clone(), &ValidationContext::default()).is_empty());

        let registered = |required: &str| ValidationContext {
            action_types: ActionTypes {
                custom: Some(vec![CustomActionType {
                    category: ActionCategory::Build,
                    provider: "Jenkins".to_string(),
                    version: "1".to_string(),
                    configuration_properties: vec![CustomProperty {
                        name: required.to_string(),
                        required: true,
                        key: true,
                        secret: false,
                        queryable: true,
                    }],
                    input_artifact_details: ArtifactDetails {
                        minimum_count: 1,
                        maximum_count: 1,
                    },
                    output_artifact_details: ArtifactDetails {
                        minimum_count: 0,
                        maximum_count: 0,
                    },
                }]),
            },
            ..ValidationContext::default()
        };
        assert!(problems_of(document.clone(), &registered("Job")).is_empty());
        assert_eq!(
            problems_of(document.clone(), &registered("ProjectName")),
            vec![
                "InvalidActionDeclarationException: Action configuration for action 'Jenkins' is missing required configuration 'ProjectName'",
                "InvalidActionDeclarationException: Action configuration for action 'Jenkins' contains unknown configuration 'Job'; Jenkins actions accept: ProjectName",
            ]
        );
        document["pipeline"]["stages"][1]["actions"][1]["actionTypeId"]["version"] = json!("2");
        let problems = problems_of(document, &registered("Job"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(
            "no custom action type with that category, provider and version is registered"
        ));
    }

    #[test]
    fn variable_values_are_not_held_to_fixed_value_sets() {
        let mut document = base();
        document["pipeline"]["stages"][1]["actions"][0]["configuration"]["BatchEnabled"] =
            json!("#{SV.VersionId}");
        assert!(problems_of(document, &ValidationContext::default()).is_empty());
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
