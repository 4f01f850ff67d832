//! S12, the pipeline side: exactly one of artifactStore and artifactStores, with a store for the
//! pipeline's Region and for every Region an action runs in.

use super::Validator;
use crate::problem::{Exception, Rule};

impl Validator<'_> {
    /// S12: exactly one of artifactStore and artifactStores, with a store for every Region in use.
    pub(super) fn artifact_stores(&mut self) {
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixture::{base, problems_of};
    use crate::validate::ValidationContext;

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
}
