//! General Paths: any number of nodes, rewritten into RFC 9535 and evaluated by `serde_json_path`,
//! except definite ones, which are walked as Reference Paths.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::error::PathError;
use super::reference::ReferencePath;
use super::syntax::{Lexer, Segment, Selector, push_quoted};

/// A general Path (`InputPath`, `OutputPath`, the value of a `.$` key), which
/// may select many nodes.
///
/// The syntax is Jayway's: dot and bracket members with the spec's backslash
/// escapes, indices (negative ones count from the end), `*`, `..`, unions
/// `[0,1]` / `['a','b']`, slices `[start:end:step]` and filters in either the
/// Jayway form `[?(@.v == 2)]` or the RFC 9535 form `[?@.v == 2]`.
///
/// Refused because Step Functions does not support them (\[DG-PATHS]):
/// functions such as `.length()`, lexical operators such as `in` or
/// `subsetof`, regex filters (`=~`), filters that read other values through
/// `$`, and script expressions `[(...)]`.
///
/// Known differences from Jayway, kept on purpose:
/// * A union of names at the end of a path (`$['a','b']`) yields an array of
///   the values, as RFC 9535 does; Jayway merges them into one object.
/// * \[DG-PATHS] says a bare `@` in a filter only matches objects, so AWS's
///   `$.xs[?(@ > 1)]` probably selects nothing; here it compares scalars as
///   RFC 9535 does.
/// * Slices follow RFC 9535 (the step is honoured); old Jayway ignored it.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    query: JsonPath,
    definite: bool,
    /// For a definite path of plain member and index steps (almost every path a definition holds): the
    /// same path as a reference path, walked directly instead of through the query engine.
    direct: Option<Box<ReferencePath>>,
}

impl Path {
    /// Parses Path text that starts with a single `$`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        Path::parse_labelled(text, text, 0)
    }

    /// Parses `body`, but reports errors against `label` (the text as the user
    /// wrote it, before [`PathRef`](super::PathRef) stripped its prefix); `offset` is the
    /// number of characters the prefix stripping removed, so that reported
    /// positions match `label`.
    pub(super) fn parse_labelled(
        body: &str,
        label: &str,
        offset: usize,
    ) -> Result<Path, PathError> {
        let segments = Lexer::new(label, body, offset).segments()?;
        let definite = segments.iter().all(Segment::is_singular);
        let rfc9535 = render_rfc9535(&segments);
        // The query parser's positions refer to the rewritten text, so the
        // message shows that text too.
        let query = JsonPath::parse(&rfc9535).map_err(|error| PathError::Syntax {
            path: label.to_owned(),
            reason: format!("not a valid JSONPath query (read as RFC 9535 '{rfc9535}'): {error}"),
        })?;
        let direct = if definite {
            ReferencePath::parse(body).ok().map(Box::new)
        } else {
            None
        };
        Ok(Path {
            text: body.to_owned(),
            query,
            definite,
            direct,
        })
    }

    /// True when the path can select at most one node: it has no wildcard,
    /// filter, union, slice or deep scan (Jayway's definition of a definite
    /// path).
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// The path text (for a path that came through [`PathRef`](super::PathRef), with its
    /// prefix already replaced by `$`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Applies the path to `document`.
    ///
    /// * A definite path yields the selected node itself, so `$[0].v` on
    ///   `[{"v":7}]` is `7`, not `[7]` (\[LS-11369]; Jayway returns the node
    ///   for definite paths). Nothing selected is [`PathError::NotFound`].
    /// * An indefinite path yields a JSON array of the selected nodes in
    ///   document order (\[SPEC]: "the interpreter gathers the texts into an
    ///   array"). When nothing matches the array is empty, not an error:
    ///   Jayway returns an empty list for indefinite paths and AWS answers
    ///   `[]` for a wildcard or slice that matches nothing (\[LS-12366]).
    pub fn select(&self, document: &Value) -> Result<Value, PathError> {
        if let Some(direct) = &self.direct {
            return direct
                .get(document)
                .cloned()
                .ok_or_else(|| PathError::NotFound {
                    path: self.text.clone(),
                });
        }
        let nodes = self.query.query(document);
        if self.definite {
            match nodes.at_most_one() {
                Ok(Some(node)) => Ok(node.clone()),
                // A definite query cannot select two nodes; treat the
                // impossible case like a miss rather than panic.
                Ok(None) | Err(_) => Err(PathError::NotFound {
                    path: self.text.clone(),
                }),
            }
        } else {
            Ok(Value::Array(nodes.all().into_iter().cloned().collect()))
        }
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Path {}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Path {
    type Err = PathError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Path::parse(text)
    }
}

/// RFC 9535 text for the parsed segments: every selector in brackets, names
/// as escaped single-quoted strings, so the Jayway escapes never reach
/// `serde_json_path`.
fn render_rfc9535(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        let selectors = match segment {
            Segment::Child(selectors) => selectors,
            Segment::Descendant(selectors) => {
                out.push_str("..");
                selectors
            }
        };
        out.push('[');
        for (i, selector) in selectors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match selector {
                Selector::Name(name) => push_quoted(&mut out, name),
                Selector::Index(index) => out.push_str(&index.to_string()),
                Selector::Wildcard => out.push('*'),
                Selector::Slice(slice) => {
                    let part =
                        |bound: Option<i64>| bound.map(|b| b.to_string()).unwrap_or_default();
                    out.push_str(&part(slice.start));
                    out.push(':');
                    out.push_str(&part(slice.end));
                    if let Some(step) = slice.step {
                        out.push(':');
                        out.push_str(&step.to_string());
                    }
                }
                Selector::Filter(body) => {
                    out.push('?');
                    out.push_str(body);
                }
            }
        }
        out.push(']');
    }
    out
}
