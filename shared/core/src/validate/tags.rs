//! S22: the pipeline's tags.

use super::{Validator, duplicates};
use crate::pipeline::declaration::Tag;
use crate::problem::{Exception, Rule};

/// CodePipeline's quota of tags on a resource (docs/codepipeline.md, "Quotas").
pub const MAX_TAGS: usize = 50;

impl Validator<'_> {
    /// S22: at most 50 tags, unique keys, none under the reserved `aws:` prefix.
    pub(super) fn tags(&mut self, tags: &[Tag]) {
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
