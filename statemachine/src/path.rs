//! Paths of the Amazon States Language in JSONPath query mode.
//!
//! A state machine definition uses path text in three ways:
//!
//! * [`ReferencePath`]: a path that identifies exactly one node. `ResultPath`
//!   writes through it; Choice `Variable`, `ItemsPath` and the `*Path` fields
//!   read through it.
//! * [`Path`]: a general path that may select many nodes (`InputPath`,
//!   `OutputPath`, the value of a key ending in `.$`).
//! * [`PathRef`]: the prefix of a path-valued field decides what it is applied
//!   to: `$$` the Context Object, `$name` a workflow variable, `$` the input.
//!
//! Step Functions follows Jayway JsonPath, not RFC 9535. General paths are
//! therefore parsed here with Jayway's syntax (including the backslash escapes
//! the spec uses), rewritten into RFC 9535 text and evaluated by
//! `serde_json_path`. Reference paths never need a query engine and are walked
//! directly, which is also what makes the ResultPath write possible.
//!
//! Sources cited below:
//!
//! * \[SPEC]: the States Language spec, <https://states-language.net/spec.html>,
//!   sections "Paths", "Reference Paths", "Using InputPath, Parameters,
//!   ResultSelector, ResultPath and OutputPath" and "Runtime Errors".
//! * \[DG-PATHS]: AWS Step Functions Developer Guide, "Paths",
//!   <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>.
//! * \[DG-RESULTPATH]: Developer Guide, "Specifying state output using
//!   ResultPath", `input-output-resultpath.html`.
//! * \[DG-INPUTPATH]: Developer Guide, "InputPath and Parameters",
//!   `input-output-inputpath-params.html`.
//! * \[LS-11369]: LocalStack PR #11369 / issue #11321 (AWS returns the scalar
//!   for a literal index access such as `$.items[0]`; moto keeps wrapping it).
//! * \[LS-12366]: LocalStack PR #12366 / issue #12318 (AWS returns `[]` when a
//!   wildcard or slice path matches nothing).
//! * \[SFN-LOCAL]: floci issue #3479 and PR #3483, which compare against
//!   AWS's Step Functions Local 2.0.0: a ResultPath such as `$[1].payload`
//!   writes into the existing array element; an index that does not exist is a
//!   `States.ResultPathMatchFailure`.
//! * \[ASL-PATH-VALIDATOR]: the path tests of asl-validator's path validator
//!   (`$.book[-2]` is not a Reference Path; a filter that reads `$` and the
//!   regex operator `=~` are invalid everywhere).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// RFC 9535 §2.1 limits integers in a query to the exactly representable
/// I-JSON range; larger numbers are refused rather than silently rounded.
const MAX_INTEGER: i64 = (1 << 53) - 1;

/// Limit on bracket and parenthesis nesting inside a filter. The query parser
/// underneath is recursive, so unbounded nesting in hostile input could
/// overflow the stack; real filters are a few levels deep at most.
const MAX_FILTER_NESTING: usize = 32;

/// Why a path could not be parsed, evaluated or written through.
///
/// Every message names the path text as it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is not a path this engine accepts; `reason` says which rule it
    /// breaks and where.
    #[error("invalid path '{path}': {reason}")]
    Syntax { path: String, reason: String },

    /// A definite path selected nothing. Step Functions reports this as
    /// `States.Runtime` with the cause "The JSONPath '…' specified for the
    /// field '…' could not be found in the input '…'"; the engine adds the
    /// field and the input.
    #[error("the JSONPath '{path}' could not be found in the input")]
    NotFound { path: String },

    /// A ResultPath write cannot be applied: a member step met something that
    /// is not an object, or an index step met something that is not an array
    /// or an index past its end. `found` says what was there. The engine maps
    /// this to `States.ResultPathMatchFailure` (\[SPEC] "Runtime Errors").
    #[error("cannot apply the reference path '{path}' to the input: {found}")]
    NotAnObject { path: String, found: String },
}

// ---------------------------------------------------------------------------
// Reference Paths
// ---------------------------------------------------------------------------

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
/// `$$` / `$name` prefixes (those go through [`PathRef`]).
///
/// The refused operators are the spec's list (`@ , : ?`) plus the older
/// \[DG-PATHS] list (`@ .. , : ? *`). Newer \[DG-PATHS] pages also show
/// `$.jar[?(@.a >= 5)]` among "reference path" examples; that contradicts the
/// spec's "MUST be unambiguous references to a single value", so filters stay
/// refused here. Negative indices are refused as \[ASL-PATH-VALIDATOR] does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferencePath {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
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

/// Writes `text` as a single-quoted string literal that both RFC 9535 and the
/// bracket parser below read back unchanged.
fn push_quoted(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            // RFC 9535 §2.3.1.1 does not allow raw control characters in
            // string literals.
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
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

// ---------------------------------------------------------------------------
// General Paths
// ---------------------------------------------------------------------------

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
    /// wrote it, before [`PathRef`] stripped its prefix); `offset` is the
    /// number of characters the prefix stripping removed, so that reported
    /// positions match `label`.
    fn parse_labelled(body: &str, label: &str, offset: usize) -> Result<Path, PathError> {
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

    /// The path text (for a path that came through [`PathRef`], with its
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

// ---------------------------------------------------------------------------
// What a path-valued field refers to
// ---------------------------------------------------------------------------

/// What a path-valued field (or the value of a `.$` key) is applied to,
/// decided by its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRef {
    /// `$…`: the state's input (or the template's input).
    Input(Path),
    /// `$$…`: the Context Object. The first `$` is stripped and the rest is an
    /// ordinary path (\[SPEC] "Paths"), so `$$.Execution.Id` holds
    /// `$.Execution.Id`.
    Context(Path),
    /// `$name…`: the value of the workflow variable `name` set by `Assign`;
    /// `path` is the rest, relative to that value (`$name.a.b` holds `$.a.b`,
    /// `$name` holds `$`).
    Variable { name: String, path: Path },
}

impl PathRef {
    /// Sorts path text by its prefix and parses the rest.
    pub fn parse(text: &str) -> Result<PathRef, PathError> {
        if let Some(rest) = text.strip_prefix("$$") {
            let body = format!("${rest}");
            return Path::parse_labelled(&body, text, 1).map(PathRef::Context);
        }
        if let Some(rest) = text.strip_prefix('$') {
            let name_length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..name_length];
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(PathError::Syntax {
                    path: text.to_owned(),
                    reason: "a variable name must start with a letter or '_'".to_owned(),
                });
            }
            if !name.is_empty() {
                let body = format!("${}", &rest[name_length..]);
                return Path::parse_labelled(&body, text, name_length).map(|path| {
                    PathRef::Variable {
                        name: name.to_owned(),
                        path,
                    }
                });
            }
        }
        Path::parse(text).map(PathRef::Input)
    }

    /// The path to apply, whatever it is applied to.
    pub fn path(&self) -> &Path {
        match self {
            PathRef::Input(path) | PathRef::Context(path) => path,
            PathRef::Variable { path, .. } => path,
        }
    }
}

impl fmt::Display for PathRef {
    /// The text as it was written, prefix included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRef::Input(path) => write!(f, "{path}"),
            PathRef::Context(path) => write!(f, "${path}"),
            PathRef::Variable { name, path } => write!(f, "${name}{}", &path.as_str()[1..]),
        }
    }
}

impl FromStr for PathRef {
    type Err = PathError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PathRef::parse(text)
    }
}

// ---------------------------------------------------------------------------
// Jayway-syntax lexer shared by both kinds of path
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Slice),
    /// The filter text after `?`, already checked, passed on to RFC 9535 as is.
    Filter(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `.name`, `.*` or `[...]`.
    Child(Vec<Selector>),
    /// `..name`, `..*` or `..[...]`.
    Descendant(Vec<Selector>),
}

impl Segment {
    /// One member or one index: the only segments of a definite path.
    fn is_singular(&self) -> bool {
        matches!(self, Segment::Child(selectors)
            if matches!(selectors.as_slice(), [Selector::Name(_) | Selector::Index(_)]))
    }
}

/// Characters that are JSONPath operators and therefore need a backslash to
/// be part of a dotted member name (\[SPEC] "Reference Paths" lists `@ , : ?`;
/// its examples escape `.`, `@`, `[` and `?`).
fn is_reserved_in_dotted_name(c: char) -> bool {
    matches!(c, '@' | ',' | ':' | '?' | '*' | '(' | ')' | ']')
}

struct Lexer<'a> {
    /// The text as the user wrote it, for error messages.
    label: &'a str,
    chars: Vec<char>,
    pos: usize,
    /// Characters of `label` that precede `chars` (a stripped prefix).
    offset: usize,
}

impl<'a> Lexer<'a> {
    fn new(label: &'a str, body: &str, offset: usize) -> Self {
        Lexer {
            label,
            chars: body.chars().collect(),
            pos: 0,
            offset,
        }
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, PathError> {
        Err(PathError::Syntax {
            path: self.label.to_owned(),
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// 1-based position of the next character in the text as written.
    fn column(&self) -> usize {
        self.pos + self.offset + 1
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn segments(mut self) -> Result<Vec<Segment>, PathError> {
        match self.bump() {
            Some('$') => {}
            None => return self.fail("the path is empty; a path starts with '$'"),
            Some(c) => return self.fail(format!("a path starts with '$', not '{c}'")),
        }
        match self.peek() {
            Some('$') => {
                return self.fail(
                    "a path that starts with '$$' refers to the Context Object, which is not allowed here",
                );
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                return self.fail(
                    "a path that starts with '$' and a name refers to a workflow variable, which is not allowed here",
                );
            }
            _ => {}
        }
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            let segment = match c {
                '.' => {
                    self.bump();
                    if self.peek() == Some('.') {
                        self.bump();
                        Segment::Descendant(self.after_double_dot()?)
                    } else {
                        Segment::Child(self.after_dot()?)
                    }
                }
                '[' => Segment::Child(self.bracket()?),
                c => {
                    return self.fail(format!(
                        "unexpected '{c}' at character {}; expected '.' or '['",
                        self.column()
                    ));
                }
            };
            segments.push(segment);
        }
        Ok(segments)
    }

    fn after_dot(&mut self) -> Result<Vec<Selector>, PathError> {
        match self.peek() {
            None => self.fail("the path ends with '.'; a member name must follow it"),
            // AWS's own example `$.abc.['def ghi']` ([DG-PATHS]) puts a
            // bracket after a dot; Jayway reads it as a plain bracket.
            Some('[') => self.bracket(),
            Some('*') if self.star_stands_alone() => {
                self.bump();
                Ok(vec![Selector::Wildcard])
            }
            Some(_) => Ok(vec![Selector::Name(self.dotted_name()?)]),
        }
    }

    fn after_double_dot(&mut self) -> Result<Vec<Selector>, PathError> {
        match self.peek() {
            None => self.fail("the path ends with '..'; a member name, '*' or '[' must follow it"),
            Some('.') => self.fail(format!(
                "'...' at character {} is not valid",
                self.column() - 2
            )),
            Some('[') => self.bracket(),
            Some('*') if self.star_stands_alone() => {
                self.bump();
                Ok(vec![Selector::Wildcard])
            }
            Some(_) => Ok(vec![Selector::Name(self.dotted_name()?)]),
        }
    }

    fn star_stands_alone(&self) -> bool {
        matches!(self.peek_nth(1), None | Some('.') | Some('['))
    }

    /// A member name in dot notation. A backslash makes the next character
    /// part of the name whatever it is: the spec's examples
    /// `$.store\.book`, `$.\stor\e.boo\k` and `$.foo\@bar.baz\[\[.\?pretty`
    /// name the members `store.book`, `store`/`book` and `foo@bar`/`baz[[`/
    /// `?pretty` (\[SPEC] "Reference Paths"). The spec's `$.&Ж中.\uD800\uDF46`
    /// is the Java spelling of the character U+10346, which arrives here
    /// already decoded by JSON; a `\u` written in the path text is just `u`.
    fn dotted_name(&mut self) -> Result<String, PathError> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            let column = self.column();
            match c {
                '.' | '[' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some(escaped) => name.push(escaped),
                        None => {
                            return self.fail(
                                "the path ends with a lone '\\'; write '\\\\' for a backslash in a member name",
                            );
                        }
                    }
                }
                '(' => {
                    return self.fail(format!(
                        "'(' at character {column}: functions such as '.length()' are not supported by Step Functions"
                    ));
                }
                '*' => {
                    return self.fail(format!(
                        "'*' at character {column}: a wildcard must stand alone as '.*' or '[*]'; write '\\*' for a '*' in a member name"
                    ));
                }
                '@' => {
                    return self.fail(format!(
                        "'@' at character {column}: the current node '@' only has a meaning inside a filter; write '\\@' for an '@' in a member name"
                    ));
                }
                c if is_reserved_in_dotted_name(c) => {
                    return self.fail(format!(
                        "'{c}' at character {column} is a JSONPath operator; write '\\{c}' for a '{c}' in a member name"
                    ));
                }
                c if c.is_whitespace() => {
                    return self.fail(format!(
                        "whitespace at character {column}: a member name with whitespace needs bracket notation, as in ['a b']"
                    ));
                }
                c => {
                    name.push(c);
                    self.bump();
                }
            }
        }
        Ok(name)
    }

    /// `[ selector (, selector)* ]`, the `[` being the next character.
    fn bracket(&mut self) -> Result<Vec<Selector>, PathError> {
        let open_column = self.column();
        self.bump();
        let mut selectors = Vec::new();
        loop {
            self.skip_whitespace();
            let column = self.column();
            let selector = match self.peek() {
                None => {
                    return self.fail(format!("'[' at character {open_column} is never closed"));
                }
                Some('*') => {
                    self.bump();
                    Selector::Wildcard
                }
                Some('?') => {
                    self.bump();
                    Selector::Filter(self.filter_body(column)?)
                }
                Some('(') => {
                    return self.fail(format!(
                        "'(' at character {column}: script expressions such as '[(@.length-1)]' are not supported"
                    ));
                }
                Some('\'' | '"') => Selector::Name(self.quoted_name()?),
                Some(c) if c.is_ascii_digit() || c == '-' || c == ':' => self.index_or_slice()?,
                Some(']') => {
                    return self.fail(format!(
                        "empty brackets at character {open_column}; expected a quoted name, an index, '*', a slice or a filter"
                    ));
                }
                Some(c) => {
                    return self.fail(format!(
                        "unexpected '{c}' at character {column}; brackets hold a quoted name, an index, '*', a slice or a filter"
                    ));
                }
            };
            selectors.push(selector);
            self.skip_whitespace();
            let column = self.column();
            match self.bump() {
                Some(']') => return Ok(selectors),
                Some(',') => continue,
                None => {
                    return self.fail(format!("'[' at character {open_column} is never closed"));
                }
                Some(c) => {
                    return self.fail(format!(
                        "unexpected '{c}' at character {column}; expected ',' or ']'"
                    ));
                }
            }
        }
    }

    /// A quoted member name. Escapes are Jayway's (which match JSON's):
    /// `\\`, `\'`, `\"`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX`; any
    /// other escaped character stands for itself.
    fn quoted_name(&mut self) -> Result<String, PathError> {
        let open_column = self.column();
        let quote = self.bump();
        let mut name = String::new();
        loop {
            match self.bump() {
                None => {
                    return self.fail(format!(
                        "the quoted name at character {open_column} is never closed"
                    ));
                }
                Some(c) if Some(c) == quote => return Ok(name),
                Some('\\') => {
                    let decoded = match self.bump() {
                        None => {
                            return self.fail(format!(
                                "the quoted name at character {open_column} is never closed"
                            ));
                        }
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => self.unicode_escape()?,
                        Some(other) => other,
                    };
                    name.push(decoded);
                }
                Some(c) => name.push(c),
            }
        }
    }

    /// The four hex digits after `\u`, with a following `\uXXXX` low
    /// surrogate when the first is a high surrogate.
    fn unicode_escape(&mut self) -> Result<char, PathError> {
        let column = self.column() - 2;
        let high = self.hex4(column)?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.peek() != Some('\\') || self.peek_nth(1) != Some('u') {
                    return self.fail(format!(
                        "'\\u{high:04X}' at character {column} is a high surrogate without its low surrogate"
                    ));
                }
                self.pos += 2;
                let low = self.hex4(column)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return self.fail(format!(
                        "'\\u{high:04X}' at character {column} is a high surrogate without its low surrogate"
                    ));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return self.fail(format!(
                    "'\\u{high:04X}' at character {column} is a lone low surrogate"
                ));
            }
            _ => high,
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.fail(format!("invalid '\\u' escape at character {column}")),
        }
    }

    fn hex4(&mut self, column: usize) -> Result<u32, PathError> {
        let mut code = 0;
        for _ in 0..4 {
            match self.bump().and_then(|c| c.to_digit(16)) {
                Some(digit) => code = code * 16 + digit,
                None => {
                    return self.fail(format!(
                        "'\\u' at character {column} must be followed by four hex digits"
                    ));
                }
            }
        }
        Ok(code)
    }

    /// `[3]`, `[-1]`, `[1:]`, `[:2]`, `[0:10:2]` (whitespace allowed around
    /// the parts, leading zeros read as Jayway reads them).
    fn index_or_slice(&mut self) -> Result<Selector, PathError> {
        let column = self.column();
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if c == ',' || c == ']' {
                break;
            }
            if !(c.is_ascii_digit() || c == '-' || c == ':' || c.is_whitespace()) {
                return self.fail(format!(
                    "unexpected '{c}' at character {} in an index or slice",
                    self.column()
                ));
            }
            raw.push(c);
            self.bump();
        }
        let parts: Vec<&str> = raw.split(':').collect();
        match parts.as_slice() {
            [index] => match self.integer(index, column)? {
                Some(index) => Ok(Selector::Index(index)),
                None => self.fail(format!("missing index at character {column}")),
            },
            [start, end] => Ok(Selector::Slice(Slice {
                start: self.integer(start, column)?,
                end: self.integer(end, column)?,
                step: None,
            })),
            [start, end, step] => Ok(Selector::Slice(Slice {
                start: self.integer(start, column)?,
                end: self.integer(end, column)?,
                step: self.integer(step, column)?,
            })),
            _ => self.fail(format!(
                "the slice at character {column} has more than three parts (start:end:step)"
            )),
        }
    }

    fn integer(&self, text: &str, column: usize) -> Result<Option<i64>, PathError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return self.fail(format!("'{text}' at character {column} is not an integer"));
        }
        let mut value: i64 = 0;
        for digit in digits.bytes() {
            value = match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(digit - b'0')))
                .filter(|v| *v <= MAX_INTEGER)
            {
                Some(value) => value,
                None => {
                    return self.fail(format!(
                        "'{text}' at character {column} is out of range (at most 2^53-1)"
                    ));
                }
            };
        }
        Ok(Some(if negative { -value } else { value }))
    }

    /// The filter text after `?`, up to the `]` or `,` that ends it, checked
    /// for what Step Functions refuses and otherwise left for the RFC 9535
    /// parser. Jayway's `?(@.v == 2)` is already valid RFC 9535 (a
    /// parenthesised logical expression), so no rewriting is needed.
    fn filter_body(&mut self, column: usize) -> Result<String, PathError> {
        let mut body = String::new();
        let mut depth = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return self.fail(format!("the filter at character {column} is never closed"));
            };
            let here = self.column();
            match c {
                '\'' | '"' => self.copy_string_literal(&mut body)?,
                '(' | '[' => {
                    depth += 1;
                    if depth > MAX_FILTER_NESTING {
                        return self.fail(format!(
                            "the filter at character {column} is nested more than {MAX_FILTER_NESTING} levels deep"
                        ));
                    }
                    body.push(c);
                    self.bump();
                }
                ']' | ',' if depth == 0 => break,
                ')' if depth == 0 => {
                    return self.fail(format!("unbalanced ')' at character {here}"));
                }
                ')' | ']' => {
                    depth -= 1;
                    body.push(c);
                    self.bump();
                }
                '$' => {
                    return self.fail(format!(
                        "'$' at character {here}: a filter may only test the current item '@'; Step Functions does not support filters that refer to other values"
                    ));
                }
                '=' if self.peek_nth(1) == Some('~') => {
                    return self.fail(format!(
                        "'=~' at character {here}: regular-expression filters are not supported by Step Functions"
                    ));
                }
                c if (c.is_ascii_alphabetic() || c == '_')
                    && !body.ends_with(|p: char| p.is_ascii_alphanumeric() || p == '_') =>
                {
                    self.copy_filter_word(&mut body)?;
                }
                c => {
                    body.push(c);
                    self.bump();
                }
            }
        }
        if body.trim().is_empty() {
            return self.fail(format!("the filter at character {column} is empty"));
        }
        Ok(body)
    }

    /// Copies a quoted string inside a filter verbatim, escapes included.
    fn copy_string_literal(&mut self, body: &mut String) -> Result<(), PathError> {
        let column = self.column();
        let quote = self.bump();
        body.extend(quote);
        loop {
            match self.bump() {
                None => {
                    return self.fail(format!("the string at character {column} is never closed"));
                }
                Some('\\') => {
                    body.push('\\');
                    match self.bump() {
                        Some(escaped) => body.push(escaped),
                        None => {
                            return self
                                .fail(format!("the string at character {column} is never closed"));
                        }
                    }
                }
                Some(c) => {
                    body.push(c);
                    if Some(c) == quote {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A word inside a filter: a member name after `.`, a literal (`true`,
    /// `false`, `null`), or something Step Functions does not support — a
    /// function call or a lexical operator (\[DG-PATHS]: "Functions such as
    /// length() aren't supported", "Lexical operators, which are
    /// non-symbolic, such as subsetof aren't supported").
    fn copy_filter_word(&mut self, body: &mut String) -> Result<(), PathError> {
        let column = self.column();
        let after_dot = body.trim_end().ends_with('.');
        let mut word = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            word.push(c);
            self.bump();
        }
        let mut lookahead = self.pos;
        while self.chars.get(lookahead).is_some_and(|c| c.is_whitespace()) {
            lookahead += 1;
        }
        if self.chars.get(lookahead) == Some(&'(') {
            return self.fail(format!(
                "'{word}(' at character {column}: functions are not supported by Step Functions"
            ));
        }
        if !after_dot && !matches!(word.as_str(), "true" | "false" | "null") {
            return self.fail(format!(
                "'{word}' at character {column}: lexical filter operators such as 'in' or 'subsetof' are not supported by Step Functions"
            ));
        }
        body.push_str(&word);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(text: &str) -> ReferencePath {
        ReferencePath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn members(names: &[&str]) -> ReferencePath {
        ReferencePath {
            steps: names
                .iter()
                .map(|n| Step::Member((*n).to_owned()))
                .collect(),
        }
    }

    fn syntax_reason(result: Result<impl fmt::Debug, PathError>) -> String {
        match result {
            Err(PathError::Syntax { reason, .. }) => reason,
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    // -- Reference Path parsing ---------------------------------------------

    #[test]
    fn spec_reference_path_examples_parse() {
        // [SPEC] "Reference Paths": "examples of acceptable Reference Path syntax".
        for text in [
            "$.store.book",
            "$.store\\.book",
            "$.\\stor\\e.boo\\k",
            "$.store.book.title",
            "$.foo.\\.bar",
            "$.foo\\@bar.baz\\[\\[.\\?pretty",
            "$.&Ж中.\u{10346}",
            "$.ledgers.branch[0].pending.count",
            "$.ledgers.branch[0]",
            "$.ledgers[0][22][315].foo",
            "$['store']['book']",
            "$['store'][0]['book']",
        ] {
            reference(text);
            assert!(path(text).is_definite(), "{text}");
        }
    }

    #[test]
    fn escapes_in_dotted_names() {
        assert_eq!(reference("$.store\\.book"), members(&["store.book"]));
        assert_eq!(reference("$.\\stor\\e.boo\\k"), members(&["store", "book"]));
        assert_eq!(reference("$.foo.\\.bar"), members(&["foo", ".bar"]));
        assert_eq!(
            reference("$.foo\\@bar.baz\\[\\[.\\?pretty"),
            members(&["foo@bar", "baz[[", "?pretty"])
        );
        assert_eq!(reference("$.a\\]b"), members(&["a]b"]));
        assert_eq!(reference("$.a\\\\b"), members(&["a\\b"]));
        assert_eq!(reference("$.a\\*"), members(&["a*"]));
        // The escaped and the bracketed spelling name the same member.
        assert_eq!(reference("$['foo']['\\.bar']"), members(&["foo", ".bar"]));
        assert_eq!(
            reference("$['foo@bar']['baz[[']['?pretty']"),
            members(&["foo@bar", "baz[[", "?pretty"])
        );
    }

    #[test]
    fn non_ascii_member_names() {
        assert_eq!(
            reference("$.&Ж中.\u{10346}"),
            members(&["&Ж中", "\u{10346}"])
        );
        assert_eq!(reference("$['日本']"), members(&["日本"]));
        // A \u escape in a quoted name, including a surrogate pair.
        assert_eq!(reference("$['\\uD800\\uDF46']"), members(&["\u{10346}"]));
        assert_eq!(reference("$['\\u00e9']"), members(&["é"]));
    }

    #[test]
    fn bracket_and_index_forms() {
        assert_eq!(reference("$['a']['b c']"), members(&["a", "b c"]));
        assert_eq!(reference("$[\"a\"]"), members(&["a"]));
        assert_eq!(reference("$[ 'a' ]"), members(&["a"]));
        assert_eq!(reference("$['it\\'s']"), members(&["it's"]));
        // [DG-PATHS] writes `$.abc.['def ghi']`.
        assert_eq!(reference("$.abc.['def ghi']"), members(&["abc", "def ghi"]));
        assert_eq!(
            reference("$.a[0]"),
            ReferencePath {
                steps: vec![Step::Member("a".into()), Step::Index(0)]
            }
        );
        assert_eq!(
            reference("$[12][10]"),
            ReferencePath {
                steps: vec![Step::Index(12), Step::Index(10)]
            }
        );
        // Jayway reads leading zeros; the canonical text drops them.
        assert_eq!(reference("$.a[007]").to_string(), "$.a[7]");
        assert!(reference("$").is_root());
    }

    #[test]
    fn reference_path_refusals_say_why() {
        let cases = [
            ("$.*", "wildcard"),
            ("$[*]", "wildcard"),
            ("$.a.*", "wildcard"),
            ("$.a*", "wildcard"),
            ("$..a", "deep scan"),
            ("$.a..b", "deep scan"),
            ("$.a[?(@.v == 2)]", "filter"),
            ("$.a[0,1]", "union"),
            ("$['a','b']", "union"),
            ("$.a[1:2]", "slice"),
            ("$.a[:2]", "slice"),
            ("$.a@b", "'@'"),
            ("$.a,b", "','"),
            ("$.a:b", "':'"),
            ("$.a?b", "'?'"),
            ("$.a[-1]", "negative"),
            ("$.a.length()", "functions"),
            ("$[(@.length-1)]", "script"),
            ("$$.Execution.Id", "Context Object"),
            ("$var", "variable"),
            ("$var.a", "variable"),
            ("", "empty"),
            ("a.b", "starts with '$'"),
            (" $.a", "starts with '$'"),
            ("$.a ", "whitespace"),
            ("$.", "ends with '.'"),
            ("$.a.", "ends with '.'"),
            ("$..", "ends with '..'"),
            ("$...a", "'...'"),
            ("$[", "never closed"),
            ("$['a'", "never closed"),
            ("$['a", "never closed"),
            ("$[]", "empty brackets"),
            ("$[a]", "unexpected 'a'"),
            ("$['a'b]", "expected ',' or ']'"),
            ("$.a b", "whitespace"),
            ("$.a\\", "lone '\\'"),
            ("$a", "variable"),
            ("$x]", "variable"),
            ("$]", "unexpected ']'"),
            ("$[12aa]", "unexpected 'a'"),
            ("$[1-2]", "not an integer"),
            ("$[99999999999999999999]", "out of range"),
            ("$['\\uD800']", "surrogate"),
            ("$['\\uDC00']", "surrogate"),
            ("$['\\u12G4']", "four hex digits"),
        ];
        for (text, expected) in cases {
            let reason = syntax_reason(ReferencePath::parse(text));
            assert!(
                reason.contains(expected),
                "{text:?}: reason {reason:?} does not mention {expected:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_name_the_path() {
        let error = ReferencePath::parse("$.a[*]").unwrap_err();
        assert!(error.to_string().contains("'$.a[*]'"), "{error}");
        let error = Path::parse("$.a.length()").unwrap_err();
        assert!(error.to_string().contains("'$.a.length()'"), "{error}");
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let cases = [
            ("$", "$"),
            ("$['a']['b c']", "$.a['b c']"),
            ("$.store\\.book", "$['store.book']"),
            ("$['store'][0]['book']", "$.store[0].book"),
            ("$['it\\'s']", "$['it\\'s']"),
            ("$['back\\\\slash']", "$['back\\\\slash']"),
            ("$['tab\\there']", "$['tab\\u0009here']"),
            ("$.error-info", "$.error-info"),
            ("$.&Ж中", "$['&Ж中']"),
            ("$.Ж中", "$.Ж中"),
            ("$.0", "$['0']"),
        ];
        for (text, canonical) in cases {
            let parsed = reference(text);
            assert_eq!(parsed.to_string(), canonical, "{text}");
            assert_eq!(reference(canonical), parsed, "{canonical}");
        }
    }

    // -- Reference Path reads -------------------------------------------------

    #[test]
    fn get_follows_the_spec_examples() {
        // [SPEC] and [DG-PATHS] "Reference Paths".
        let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        assert_eq!(reference("$.foo").get(&input), Some(&json!(123)));
        assert_eq!(
            reference("$.bar").get(&input),
            Some(&json!(["a", "b", "c"]))
        );
        assert_eq!(reference("$.car.cdr").get(&input), Some(&json!(true)));
        assert_eq!(reference("$.bar[1]").get(&input), Some(&json!("b")));
        assert_eq!(reference("$").get(&input), Some(&input));
        assert_eq!(reference("$.missing").get(&input), None);
        assert_eq!(reference("$.bar[3]").get(&input), None);
        assert_eq!(reference("$.foo.x").get(&input), None);
        assert_eq!(reference("$.car[0]").get(&input), None);
        assert_eq!(reference("$.bar.0").get(&input), None);
        assert_eq!(
            reference("$.n").get(&json!({"n": null})),
            Some(&Value::Null)
        );
    }

    // -- ResultPath writes ----------------------------------------------------

    /// Compares serialised text so that member order is checked too.
    fn assert_json_text(actual: &Value, expected: &Value) {
        assert_eq!(actual.to_string(), expected.to_string());
    }

    #[test]
    fn result_path_examples_from_the_developer_guide() {
        // [DG-RESULTPATH].
        let input = json!({
            "comment": "This is a test of the input and output of a Task state.",
            "details": "Default example",
            "who": "AWS Step Functions"
        });
        let result = json!("Hello, AWS Step Functions!");

        // "ResultPath": "$" replaces the input.
        assert_eq!(
            reference("$").set(input.clone(), result.clone()).unwrap(),
            result
        );

        // "ResultPath": "$.taskresult" appends the result.
        assert_json_text(
            &reference("$.taskresult")
                .set(input.clone(), result.clone())
                .unwrap(),
            &json!({
                "comment": "This is a test of the input and output of a Task state.",
                "details": "Default example",
                "who": "AWS Step Functions",
                "taskresult": "Hello, AWS Step Functions!"
            }),
        );

        // "ResultPath": "$.comment" overwrites the existing node in place.
        assert_json_text(
            &reference("$.comment").set(input, result.clone()).unwrap(),
            &json!({
                "comment": "Hello, AWS Step Functions!",
                "details": "Default example",
                "who": "AWS Step Functions"
            }),
        );

        // "ResultPath": "$.strings.lambdaresult" inserts into a child node.
        let input = json!({
            "comment": "An input comment.",
            "strings": {"string1": "foo", "string2": "bar", "string3": "baz"},
            "who": "AWS Step Functions"
        });
        assert_json_text(
            &reference("$.strings.lambdaresult")
                .set(input, result)
                .unwrap(),
            &json!({
                "comment": "An input comment.",
                "strings": {
                    "string1": "foo", "string2": "bar", "string3": "baz",
                    "lambdaresult": "Hello, AWS Step Functions!"
                },
                "who": "AWS Step Functions"
            }),
        );

        // A Catch with "ResultPath": "$.error".
        assert_json_text(
            &reference("$.error")
                .set(json!({"foo": "bar"}), json!({"Error": "Error here"}))
                .unwrap(),
            &json!({"foo": "bar", "error": {"Error": "Error here"}}),
        );
    }

    #[test]
    fn result_path_examples_from_the_spec() {
        // [SPEC] "Input/Output Processing Examples".
        assert_json_text(
            &reference("$.sum")
                .set(
                    json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}),
                    json!(7),
                )
                .unwrap(),
            &json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7}),
        );
        assert_json_text(
            &reference("$.b.greeting")
                .set(json!({"a": 1}), json!("Hi!"))
                .unwrap(),
            &json!({"a": 1, "b": {"greeting": "Hi!"}}),
        );
        // [SPEC] "Using InputPath, …": overwrite, then create a chain.
        let input = json!({"master": {"detail": [1, 2, 3]}});
        assert_json_text(
            &reference("$.master.detail")
                .set(input.clone(), json!(6))
                .unwrap(),
            &json!({"master": {"detail": 6}}),
        );
        assert_json_text(
            &reference("$.master.result.sum")
                .set(input, json!(6))
                .unwrap(),
            &json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}),
        );
    }

    #[test]
    fn result_path_creates_missing_objects() {
        assert_json_text(
            &reference("$.a.b.c").set(json!({}), json!(1)).unwrap(),
            &json!({"a": {"b": {"c": 1}}}),
        );
        assert_json_text(
            &reference("$['x y']['b.c']")
                .set(json!({"k": 0}), json!([1]))
                .unwrap(),
            &json!({"k": 0, "x y": {"b.c": [1]}}),
        );
        // Writing a null result is an ordinary write.
        assert_json_text(
            &reference("$.a").set(json!({}), Value::Null).unwrap(),
            &json!({"a": null}),
        );
    }

    #[test]
    fn result_path_into_a_non_object_fails() {
        // [SPEC] "Runtime Errors": input "foo" with ResultPath "$.x".
        assert_eq!(
            reference("$.x").set(json!("foo"), json!(1)),
            Err(PathError::NotAnObject {
                path: "$.x".into(),
                found: "$ is a string, not an object".into()
            })
        );
        let cases = [
            ("$.a.b", json!({"a": 1}), "$.a is a number, not an object"),
            ("$.a.b", json!({"a": null}), "$.a is null, not an object"),
            (
                "$.a.b.c",
                json!({"a": {"b": "s"}}),
                "$.a.b is a string, not an object",
            ),
            (
                "$.a.b",
                json!({"a": [1, 2]}),
                "$.a is an array of 2 elements, not an object",
            ),
            ("$.x", json!([]), "$ is an empty array, not an object"),
            ("$.x", json!(true), "$ is a boolean, not an object"),
            ("$.x", Value::Null, "$ is null, not an object"),
        ];
        for (text, input, found) in cases {
            let error = reference(text).set(input, json!(0)).unwrap_err();
            assert_eq!(
                error,
                PathError::NotAnObject {
                    path: text.into(),
                    found: found.into()
                }
            );
            assert!(error.to_string().contains(text));
        }
    }

    #[test]
    fn result_path_index_steps_write_into_existing_elements() {
        // [SFN-LOCAL]: `$[1].payload` merges into the existing element and
        // keeps the rest of the array.
        assert_json_text(
            &reference("$[1].payload")
                .set(
                    json!([{"a": 1}, {"id": 7}, {"c": 3}, 4]),
                    json!({"subject_status": 1}),
                )
                .unwrap(),
            &json!([{"a": 1}, {"id": 7, "payload": {"subject_status": 1}}, {"c": 3}, 4]),
        );
        assert_json_text(
            &reference("$.a[0]")
                .set(json!({"a": [1, 2]}), json!("x"))
                .unwrap(),
            &json!({"a": ["x", 2]}),
        );
        assert_json_text(
            &reference("$[0][1]").set(json!([[1, 2]]), json!(9)).unwrap(),
            &json!([[1, 9]]),
        );
    }

    #[test]
    fn result_path_index_steps_never_create_arrays() {
        let cases = [
            (
                "$.a[5]",
                json!({"a": [1, 2]}),
                "$.a is an array of 2 elements, which has no index 5",
            ),
            (
                "$.a[0]",
                json!({"a": []}),
                "$.a is an empty array, which has no index 0",
            ),
            (
                "$.a[0]",
                json!({"a": {"0": 1}}),
                "$.a is an object, not an array",
            ),
            (
                "$.a[0].b",
                json!({"a": "s"}),
                "$.a is a string, not an array",
            ),
            (
                "$.missing[0]",
                json!({}),
                "$.missing does not exist, and ResultPath creates missing members only as objects",
            ),
            ("$[0]", json!({}), "$ is an object, not an array"),
        ];
        for (text, input, found) in cases {
            assert_eq!(
                reference(text).set(input, json!(0)),
                Err(PathError::NotAnObject {
                    path: text.into(),
                    found: found.into()
                }),
                "{text}"
            );
        }
    }

    // -- General Paths --------------------------------------------------------

    #[test]
    fn input_path_and_parameters_examples() {
        // [DG-INPUTPATH].
        let input = json!({
            "comment": "Example for InputPath.",
            "dataset1": {"val1": 1, "val2": 2, "val3": 3},
            "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
        });
        assert_eq!(
            path("$.dataset2").select(&input).unwrap(),
            json!({"val1": "a", "val2": "b", "val3": "c"})
        );
        let input = json!({
            "comment": "Example for Parameters.",
            "product": {
                "details": {"color": "blue", "size": "small", "material": "cotton"},
                "availability": "in stock", "sku": "2317", "cost": "$23"
            }
        });
        assert_eq!(
            path("$.product.details.size").select(&input).unwrap(),
            json!("small")
        );
        assert_eq!(
            path("$.product.availability").select(&input).unwrap(),
            json!("in stock")
        );
        assert_eq!(path("$").select(&input).unwrap(), input);
    }

    #[test]
    fn spec_payload_template_and_multi_value_examples() {
        // [SPEC] "Payload Template": "$.vals[0]" and "$.vals[3:]".
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        assert_eq!(path("$.vals[0]").select(&input).unwrap(), json!(0));
        assert_eq!(
            path("$.vals[3:]").select(&input).unwrap(),
            json!([30, 40, 50])
        );
        // [SPEC] "Using InputPath, …": "$.a[0,1]" gathers two texts.
        assert_eq!(
            path("$.a[0,1]")
                .select(&json!({"a": [1, 2, 3, 4]}))
                .unwrap(),
            json!([1, 2])
        );
    }

    #[test]
    fn definite_index_paths_yield_the_scalar() {
        // [LS-11369]: AWS gives 7 here; moto gives [7].
        assert_eq!(path("$[0].v").select(&json!([{"v": 7}])).unwrap(), json!(7));
        assert_eq!(
            path("$.items[0]")
                .select(&json!({"items": ["alpha", "bravo"]}))
                .unwrap(),
            json!("alpha")
        );
        // Jayway counts a negative index from the end and calls it definite.
        let last = path("$.items[-1]");
        assert!(last.is_definite());
        assert_eq!(last.select(&json!({"items": [1, 2, 3]})).unwrap(), json!(3));
    }

    #[test]
    fn filters_in_jayway_and_rfc_form() {
        // [DG-PATHS]: $.jar[?(@.a >= 5)] => [{"a": 5}, {"a": 7}].
        let input = json!({"jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}]});
        let filter = path("$.jar[?(@.a >= 5)]");
        assert!(!filter.is_definite());
        assert_eq!(filter.select(&input).unwrap(), json!([{"a": 5}, {"a": 7}]));
        assert_eq!(
            path("$.jar[?@.a >= 5]").select(&input).unwrap(),
            json!([{"a": 5}, {"a": 7}])
        );
        let input = json!({"a": [{"v": 1}, {"v": 2}, {"w": 2}]});
        assert_eq!(
            path("$.a[?(@.v == 2)]").select(&input).unwrap(),
            json!([{"v": 2}])
        );
        assert_eq!(
            path("$.a[?(@.v)]").select(&input).unwrap(),
            json!([{"v": 1}, {"v": 2}])
        );
        assert_eq!(
            path("$.a[?(@.v == 1 || @.w == 2)]").select(&input).unwrap(),
            json!([{"v": 1}, {"w": 2}])
        );
        let books = json!({"book": [{"c": "x y", "p": 8}, {"c": "z", "p": 12}]});
        assert_eq!(
            path("$.book[?(@.c == 'x y')].p").select(&books).unwrap(),
            json!([8])
        );
        assert_eq!(
            path("$.book[?(@['p'] < 10 && @.c != \"z]\")].c")
                .select(&books)
                .unwrap(),
            json!(["x y"])
        );
    }

    #[test]
    fn indefinite_paths_gather_matches_into_an_array() {
        let input = json!({"a": [{"v": 1}, {"v": 2}], "b": {"v": 3}});
        for text in [
            "$..v",
            "$.a[*].v",
            "$.*",
            "$.a[0:1]",
            "$['a','b']",
            "$..[0]",
        ] {
            assert!(!path(text).is_definite(), "{text}");
        }
        assert_eq!(path("$..v").select(&input).unwrap(), json!([1, 2, 3]));
        assert_eq!(path("$.a[*].v").select(&input).unwrap(), json!([1, 2]));
        assert_eq!(path("$.a.*.v").select(&input).unwrap(), json!([1, 2]));
        assert_eq!(path("$.b.*").select(&input).unwrap(), json!([3]));
        assert_eq!(path("$['a','b'].v").select(&input).unwrap(), json!([3]));
        assert_eq!(path("$.a[::-1].v").select(&input).unwrap(), json!([2, 1]));
        assert_eq!(path("$..['v']").select(&input).unwrap(), json!([1, 2, 3]));
    }

    #[test]
    fn indefinite_paths_that_match_nothing_yield_an_empty_array() {
        // [LS-12366]: AWS answers [] rather than failing.
        let input = json!({"a": []});
        assert_eq!(path("$.items[*]").select(&json!({})).unwrap(), json!([]));
        assert_eq!(path("$[*].type").select(&json!({})).unwrap(), json!([]));
        assert_eq!(path("$.a[*]").select(&input).unwrap(), json!([]));
        assert_eq!(path("$.a[?(@.v == 2)]").select(&input).unwrap(), json!([]));
        assert_eq!(path("$..nothing").select(&input).unwrap(), json!([]));
    }

    #[test]
    fn definite_paths_that_match_nothing_are_not_found() {
        let input = json!({"a": [1], "s": "x"});
        for text in ["$.missing", "$.a[1]", "$.s.x", "$.a.b", "$.s[0]", "$.a[-2]"] {
            assert_eq!(
                path(text).select(&input),
                Err(PathError::NotFound { path: text.into() }),
                "{text}"
            );
        }
        assert_eq!(
            path("$.missing").select(&input).unwrap_err().to_string(),
            "the JSONPath '$.missing' could not be found in the input"
        );
    }

    #[test]
    fn jayway_escapes_work_in_general_paths() {
        let input = json!({"store.book": 1, "foo": {".bar": 2}, "a b": {"c": 3}, "it's": 4});
        assert_eq!(path("$.store\\.book").select(&input).unwrap(), json!(1));
        assert_eq!(path("$.foo.\\.bar").select(&input).unwrap(), json!(2));
        assert_eq!(path("$['a b'].c").select(&input).unwrap(), json!(3));
        assert_eq!(path("$.a\\ b.c").select(&input).unwrap(), json!(3));
        assert_eq!(path("$['it\\'s']").select(&input).unwrap(), json!(4));
        assert_eq!(path("$[\"it's\"]").select(&input).unwrap(), json!(4));
    }

    #[test]
    fn general_path_refusals_say_why() {
        let cases = [
            ("$.a.length()", "functions"),
            ("$.length()", "functions"),
            ("$..book.length()", "functions"),
            ("$.a[?(length(@.b) > 1)]", "functions"),
            ("$.a[?(@.b.length() > 1)]", "functions"),
            ("$.a[?(@.v == $.w)]", "other values"),
            ("$.a[?(@.v =~ /x/)]", "regular-expression"),
            ("$.a[?(@.v in ['x'])]", "lexical"),
            ("$.a[?(@.v subsetof ['x'])]", "lexical"),
            ("$.a[?(@.v == FooBar)]", "lexical"),
            ("$[(@.length-1)]", "script"),
            ("$.a[?()]", "not a valid JSONPath"),
            ("$.a[?]", "empty"),
            ("$.a[?(@.v == 1]", "never closed"),
            ("$.a[?(@.v == 1 ++ 2)]", "not a valid JSONPath"),
            ("$.a[?(@.v == 'x)]", "never closed"),
            ("$.a[?(@.v))]", "unbalanced"),
            ("$..", "ends with '..'"),
            ("$.a[1:2:3:4]", "three parts"),
            ("$$.a", "Context Object"),
            ("$x", "variable"),
        ];
        for (text, expected) in cases {
            let reason = syntax_reason(Path::parse(text));
            assert!(
                reason.contains(expected),
                "{text:?}: reason {reason:?} does not mention {expected:?}"
            );
        }
        let deep = format!("$.a[?{}@.v{}]", "(".repeat(40), ")".repeat(40));
        assert!(syntax_reason(Path::parse(&deep)).contains("nested"));
    }

    #[test]
    fn path_display_gives_back_the_text() {
        for text in [
            "$",
            "$.a['b c'][0]",
            "$.store\\.book",
            "$..v",
            "$.a[?(@.v == 2)]",
        ] {
            assert_eq!(path(text).to_string(), text);
            assert_eq!(path(text).as_str(), text);
        }
    }

    // -- PathRef --------------------------------------------------------------

    #[test]
    fn path_ref_routes_by_prefix() {
        assert_eq!(
            PathRef::parse("$$.Execution.Id").unwrap(),
            PathRef::Context(path("$.Execution.Id"))
        );
        assert_eq!(PathRef::parse("$$").unwrap(), PathRef::Context(path("$")));
        assert_eq!(
            PathRef::parse("$$.Map.Item.Value").unwrap(),
            PathRef::Context(path("$.Map.Item.Value"))
        );
        assert_eq!(
            PathRef::parse("$name.a.b").unwrap(),
            PathRef::Variable {
                name: "name".into(),
                path: path("$.a.b")
            }
        );
        assert_eq!(
            PathRef::parse("$customerName").unwrap(),
            PathRef::Variable {
                name: "customerName".into(),
                path: path("$")
            }
        );
        assert_eq!(
            PathRef::parse("$_x1[0]").unwrap(),
            PathRef::Variable {
                name: "_x1".into(),
                path: path("$[0]")
            }
        );
        assert_eq!(PathRef::parse("$.a").unwrap(), PathRef::Input(path("$.a")));
        assert_eq!(PathRef::parse("$").unwrap(), PathRef::Input(path("$")));
        assert_eq!(
            PathRef::parse("$['a']").unwrap(),
            PathRef::Input(path("$['a']"))
        );
        assert!(!PathRef::parse("$items[*].id").unwrap().path().is_definite());
    }

    #[test]
    fn path_ref_display_gives_back_the_text() {
        for text in [
            "$",
            "$.a",
            "$$",
            "$$.Execution.Input.x",
            "$v",
            "$v.a[0]",
            "$v['x y']",
        ] {
            assert_eq!(PathRef::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn path_ref_errors_name_the_written_text() {
        let cases = [
            ("$1", "letter or '_'"),
            ("$9abc.x", "letter or '_'"),
            ("", "empty"),
            ("x", "starts with '$'"),
            ("$$$", "Context Object"),
            ("$$x", "variable"),
            ("$name.", "ends with '.'"),
            ("$name-x", "unexpected '-' at character 6"),
            ("$$.a b", "whitespace at character 5"),
            ("$ab[*", "never closed"),
        ];
        for (text, expected) in cases {
            match PathRef::parse(text) {
                Err(PathError::Syntax { path, reason }) => {
                    assert_eq!(path, text);
                    assert!(reason.contains(expected), "{text:?}: {reason:?}");
                }
                other => panic!("{text:?}: expected a syntax error, got {other:?}"),
            }
        }
    }

    // -- Property-style checks: no input makes anything panic ------------------

    /// xorshift64*: deterministic, dependency-free randomness.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    const KEYS: &[&str] = &[
        "a", "b", "v", "0", "a.b", "Ж", "it's", "x y", "@", "\\", "]",
    ];

    fn random_document(rng: &mut Rng, depth: usize) -> Value {
        match rng.below(if depth == 0 { 4 } else { 7 }) {
            0 => Value::Null,
            1 => json!(rng.below(2) == 0),
            2 => json!(rng.below(10)),
            3 => json!(*rng.pick(KEYS)),
            4 => Value::Array(
                (0..rng.below(4))
                    .map(|_| random_document(rng, depth - 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.below(4))
                    .map(|_| (rng.pick(KEYS).to_string(), random_document(rng, depth - 1)))
                    .collect(),
            ),
        }
    }

    fn random_text(rng: &mut Rng) -> String {
        const PIECES: &[&str] = &[
            "$",
            "$",
            ".",
            "..",
            "[",
            "]",
            "'",
            "\"",
            "\\",
            "*",
            "?",
            "@",
            ",",
            ":",
            "(",
            ")",
            "-",
            "0",
            "1",
            "9",
            "a",
            "b",
            "v",
            "_",
            " ",
            "Ж",
            "=",
            "==",
            "<",
            "!",
            "&&",
            "||",
            "~",
            "\\u",
            "D800",
            "length",
            "in",
            "true",
            "?(",
            "[?(@.v == 1)]",
            "['a']",
            "[0]",
            "$$",
            "$x",
        ];
        let mut text = String::new();
        if rng.below(4) != 0 {
            text.push('$');
        }
        for _ in 0..rng.below(14) {
            text.push_str(rng.pick::<&str>(PIECES));
        }
        text
    }

    /// Exercises every entry point on one text and checks the invariants that
    /// tie them together.
    fn check_text(text: &str, documents: &[Value], rng: &mut Rng) {
        let reference_path = ReferencePath::parse(text);
        let general_path = Path::parse(text);
        if let Ok(path_ref) = PathRef::parse(text) {
            assert_eq!(path_ref.to_string(), text);
            for document in documents {
                let _ = path_ref.path().select(document);
            }
        }
        if let Ok(general) = &general_path {
            for document in documents {
                match general.select(document) {
                    Ok(Value::Array(_)) => {}
                    Ok(_) => assert!(general.is_definite(), "{text}"),
                    Err(PathError::NotFound { path }) => {
                        assert!(general.is_definite(), "{text}");
                        assert_eq!(path, text);
                    }
                    Err(other) => panic!("{text}: {other}"),
                }
            }
        }
        if let Ok(reference) = reference_path {
            check_reference(&reference, documents, rng);
            // Every Reference Path is a definite Path.
            let general = general_path.unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(general.is_definite(), "{text}");
        }
    }

    fn check_reference(reference: &ReferencePath, documents: &[Value], rng: &mut Rng) {
        let canonical = reference.to_string();
        assert_eq!(
            &ReferencePath::parse(&canonical).unwrap(),
            reference,
            "{canonical}"
        );
        let general = Path::parse(&canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        assert!(general.is_definite());
        for document in documents {
            // The direct walk and serde_json_path agree on every read.
            match (reference.get(document), general.select(document)) {
                (Some(found), Ok(selected)) => assert_eq!(found, &selected, "{canonical}"),
                (None, Err(PathError::NotFound { .. })) => {}
                (read, selected) => panic!("{canonical}: get {read:?} but select {selected:?}"),
            }
            let value = random_document(rng, 1);
            match reference.set(document.clone(), value.clone()) {
                Ok(written) => assert_eq!(reference.get(&written), Some(&value), "{canonical}"),
                Err(PathError::NotAnObject { path, .. }) => assert_eq!(path, canonical),
                Err(other) => panic!("{canonical}: {other}"),
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let documents: Vec<Value> = (0..6).map(|_| random_document(&mut rng, 3)).collect();
        for _ in 0..30_000 {
            let text = random_text(&mut rng);
            check_text(&text, &documents, &mut rng);
        }
    }

    #[test]
    fn arbitrary_unicode_text_never_panics() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let documents: Vec<Value> = (0..4).map(|_| random_document(&mut rng, 3)).collect();
        for _ in 0..10_000 {
            let length = rng.below(16);
            let text: String = (0..length)
                .filter_map(|_| char::from_u32(rng.below(0x3_0000) as u32))
                .collect();
            check_text(&text, &documents, &mut rng);
            check_text(&format!("${text}"), &documents, &mut rng);
            check_text(&format!("$.{text}"), &documents, &mut rng);
            check_text(&format!("$['{text}']"), &documents, &mut rng);
        }
    }

    /// Writes a member name in dot notation, escaping every character that
    /// would otherwise end or break it.
    fn escaped_dotted(name: &str) -> String {
        let mut out = String::from(".");
        for c in name.chars() {
            if matches!(c, '.' | '[' | '\\') || is_reserved_in_dotted_name(c) || c.is_whitespace() {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn generated_reference_paths_round_trip_and_agree_with_the_query_engine() {
        const NAMES: &[&str] = &[
            "a", "b", "v", "0", "a.b", "Ж", "it's", "x y", "@", "\\", "]", "*", "?x", "\u{1}",
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let documents: Vec<Value> = (0..8).map(|_| random_document(&mut rng, 3)).collect();
        for _ in 0..5_000 {
            let steps: Vec<Step> = (0..rng.below(4))
                .map(|_| match rng.below(3) {
                    0 => Step::Index(rng.below(3)),
                    _ => Step::Member(rng.pick(NAMES).to_string()),
                })
                .collect();
            let reference = ReferencePath { steps };
            check_reference(&reference, &documents, &mut rng);
            // The all-escapes dotted spelling names the same path.
            let dotted: String = std::iter::once("$".to_owned())
                .chain(reference.steps.iter().map(|step| match step {
                    Step::Member(name) => escaped_dotted(name),
                    Step::Index(index) => format!("[{index}]"),
                }))
                .collect();
            assert_eq!(
                ReferencePath::parse(&dotted).unwrap(),
                reference,
                "{dotted}"
            );
        }
    }

    #[test]
    fn generated_general_paths_evaluate_without_error() {
        const SEGMENTS: &[&str] = &[
            ".a",
            ".v",
            "['a']",
            "['x y']",
            "[0]",
            "[1]",
            "[-1]",
            ".*",
            "[*]",
            "..v",
            "..*",
            "[0,1]",
            "['a','b']",
            "[1:]",
            "[:2]",
            "[::-1]",
            "[?(@.v == 1)]",
            "[?(@.v)]",
            "[?(@ > 1)]",
            "[?(!(@.a))]",
            "[?(@.v != 'Ж')]",
            ".store\\.book",
        ];
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let documents: Vec<Value> = (0..8).map(|_| random_document(&mut rng, 3)).collect();
        for _ in 0..5_000 {
            let text: String = std::iter::once("$")
                .chain((0..rng.below(5)).map(|_| *rng.pick(SEGMENTS)))
                .collect();
            let general = path(&text);
            for document in &documents {
                match general.select(document) {
                    Ok(_) => {}
                    Err(PathError::NotFound { .. }) if general.is_definite() => {}
                    Err(other) => panic!("{text}: {other}"),
                }
            }
            check_text(&text, &documents, &mut rng);
        }
    }
}
