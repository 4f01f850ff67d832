//! Reference Paths: one node, read directly and written with ResultPath semantics.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::error::PathError;
use super::syntax::{Lexer, Segment, Selector, push_quoted};

/// A Reference Path: `$` followed by member and index steps only, so that it
/// identifies exactly one node (\[SPEC] "Reference Paths").
///
/// Accepted: `$`, `$.a.b`, `$['a']['b c']`, `$.a.['b']`, `$.a[0]`, non-ASCII
/// member names, and the spec's backslash escapes in dotted names
/// (`$.store\.book` is the single member `store.book`; `\@`, `\[`, `\]`, `\\`
/// and any other escaped character stand for themselves).
///
/// Refused, each with its own reason: wildcards, filters, unions, slices,
/// deep scan (`..`), `@`, `,`, `:`, `?`, functions, negative indices, and the
/// `$$` / `$name` prefixes (those go through [`PathRef`](super::PathRef)).
///
/// The refused operators are the spec's list (`@ , : ?`) plus the older
/// \[DG-PATHS] list (`@ .. , : ? *`). Newer \[DG-PATHS] pages also show
/// `$.jar[?(@.a >= 5)]` among "reference path" examples; that contradicts the
/// spec's "MUST be unambiguous references to a single value", so filters stay
/// refused here. Negative indices are refused as \[ASL-PATH-VALIDATOR] does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferencePath {
    pub(super) steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Step {
    Member(String),
    Index(usize),
}

impl ReferencePath {
    /// Parses Reference Path text.
    pub fn parse(text: &str) -> Result<ReferencePath, PathError> {
        let segments = Lexer::new(text, text, 0).segments()?;
        let steps = segments
            .into_iter()
            .map(reference_step)
            .collect::<Result<Vec<_>, String>>()
            .map_err(|reason| PathError::Syntax {
                path: text.to_owned(),
                reason,
            })?;
        Ok(ReferencePath { steps })
    }

    /// True for `$`, the whole document.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// The node this path identifies, if the document has it.
    pub fn get<'v>(&self, document: &'v Value) -> Option<&'v Value> {
        self.steps
            .iter()
            .try_fold(document, |node, step| match step {
                Step::Member(name) => node.as_object()?.get(name),
                Step::Index(index) => node.as_array()?.get(*index),
            })
    }

    /// Places `value` at this path inside `target`, with ResultPath semantics
    /// (\[SPEC] "Using InputPath, …"; \[DG-RESULTPATH]):
    ///
    /// * `$` replaces the whole document with `value`.
    /// * An existing member is overwritten in place (its position in the
    ///   object is kept); a new member is appended.
    /// * Missing intermediate members are created as empty objects.
    /// * A member step on anything but an object (the input `"foo"` with
    ///   `$.x`, or `$.a.b` where `a` is a number or null) is
    ///   [`PathError::NotAnObject`].
    /// * An index step must address an element that already exists in an
    ///   existing array; it is then written into or replaced. A missing array,
    ///   a non-array or an index past the end is [`PathError::NotAnObject`]
    ///   too: arrays are never created or padded (\[SFN-LOCAL]).
    ///
    /// `ResultPath: null` (discard the result) is the caller's business.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, PathError> {
        let mut root = target;
        self.set_in_place(&mut root, value)?;
        Ok(root)
    }

    /// [`ReferencePath::set`] on a value in place. On an error `target` is unchanged: every step that
    /// can fail is checked before anything is created.
    pub fn set_in_place(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let Some((last, parents)) = self.steps.split_last() else {
            *target = value;
            return Ok(());
        };
        let mut node = target;
        for depth in 0..parents.len() {
            node = self.descend_for_write(node, depth)?;
        }
        match last {
            Step::Member(name) => {
                self.object_at(node, parents.len())?
                    .insert(name.clone(), value);
            }
            Step::Index(index) => *self.element_at(node, *index, parents.len())? = value,
        }
        Ok(())
    }

    /// Moves from the node reached after `depth` steps to the next one,
    /// creating a missing member as an object when the path goes on by name.
    fn descend_for_write<'v>(
        &self,
        node: &'v mut Value,
        depth: usize,
    ) -> Result<&'v mut Value, PathError> {
        match &self.steps[depth] {
            Step::Index(index) => self.element_at(node, *index, depth),
            Step::Member(name) => {
                let object = self.object_at(node, depth)?;
                let next_is_index = matches!(self.steps.get(depth + 1), Some(Step::Index(_)));
                if next_is_index && !object.contains_key(name) {
                    // Only objects are created for missing members; making up
                    // an array (and padding it up to the index) is not what
                    // Step Functions does ([SFN-LOCAL]).
                    let missing = render_steps(&self.steps[..=depth]);
                    return Err(self.mismatch(format!(
                        "{missing} does not exist, and ResultPath creates missing members only as objects"
                    )));
                }
                Ok(object
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new())))
            }
        }
    }

    fn object_at<'v>(
        &self,
        node: &'v mut Value,
        depth: usize,
    ) -> Result<&'v mut Map<String, Value>, PathError> {
        match node {
            Value::Object(object) => Ok(object),
            other => Err(self.mismatch(format!(
                "{} is {}, not an object",
                render_steps(&self.steps[..depth]),
                describe(other)
            ))),
        }
    }

    fn element_at<'v>(
        &self,
        node: &'v mut Value,
        index: usize,
        depth: usize,
    ) -> Result<&'v mut Value, PathError> {
        let location = render_steps(&self.steps[..depth]);
        match node {
            Value::Array(elements) => {
                let length = elements.len();
                elements.get_mut(index).ok_or_else(|| {
                    self.mismatch(format!(
                        "{location} is {}, which has no index {index}",
                        describe_array_length(length)
                    ))
                })
            }
            other => Err(self.mismatch(format!("{location} is {}, not an array", describe(other)))),
        }
    }

    fn mismatch(&self, found: String) -> PathError {
        PathError::NotAnObject {
            path: self.to_string(),
            found,
        }
    }
}

/// Turns one parsed segment into a Reference Path step, or says why it cannot
/// be one.
fn reference_step(segment: Segment) -> Result<Step, String> {
    const RULE: &str = "a Reference Path must identify exactly one node";
    let selectors = match segment {
        Segment::Descendant(_) => {
            return Err(format!("deep scan ('..') can select many nodes; {RULE}"));
        }
        Segment::Child(selectors) => selectors,
    };
    let [selector] = <[Selector; 1]>::try_from(selectors)
        .map_err(|_| format!("unions (',' inside brackets) select several nodes; {RULE}"))?;
    match selector {
        Selector::Name(name) => Ok(Step::Member(name)),
        Selector::Index(index) if index < 0 => Err(format!(
            "negative indices such as [{index}] are not allowed in a Reference Path"
        )),
        Selector::Index(index) => usize::try_from(index)
            .map(Step::Index)
            .map_err(|_| format!("the index {index} is too large")),
        Selector::Wildcard => Err(format!("wildcards ('*') select many nodes; {RULE}")),
        Selector::Slice(_) => Err(format!("slices ('[start:end]') select many nodes; {RULE}")),
        Selector::Filter(_) => Err(format!("filters ('[?(...)]') select many nodes; {RULE}")),
    }
}

impl fmt::Display for ReferencePath {
    /// Canonical text: plain member names in dot notation, anything else in
    /// single-quoted bracket notation, indices in brackets. Parsing the text
    /// gives back an equal path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_steps(&self.steps))
    }
}

impl FromStr for ReferencePath {
    type Err = PathError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ReferencePath::parse(text)
    }
}

fn render_steps(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Member(name) if is_plain_member(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Member(name) => {
                out.push('[');
                push_quoted(&mut out, name);
                out.push(']');
            }
            Step::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Member names that read unambiguously in dot notation. Everything else is
/// shown in brackets so that the canonical text never needs backslash escapes
/// outside quotes.
fn is_plain_member(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(elements) => describe_array_length(elements.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn describe_array_length(length: usize) -> String {
    match length {
        0 => "an empty array".to_owned(),
        1 => "an array of 1 element".to_owned(),
        n => format!("an array of {n} elements"),
    }
}
