//! Amazon States Language intrinsic functions (JSONPath mode): parser, static
//! checks and evaluator.
//!
//! Intrinsics appear in `.$` values of payload templates, for example
//! `"greeting.$": "States.Format('Hello, {}', $.name)"`. This module turns such a
//! value into an [`Intrinsic`] syntax tree ([`parse`]), refuses definitions that
//! can never run (unknown names, wrong arity, literal arguments of the wrong
//! type), and evaluates a tree against the engine's data ([`evaluate`]).
//!
//! Sources, referred to in comments as:
//! * **DG** the AWS Step Functions developer guide page "Intrinsic functions
//!   for JSONPath states" (`intrinsic-functions.html`);
//! * **SPEC** the Amazon States Language specification (states-language.net),
//!   "Intrinsic Functions" and Appendix B;
//! * **LS** LocalStack's Step Functions test snapshots, which are recorded
//!   against real AWS (`tests/aws/services/stepfunctions/v2/intrinsic_functions`).
//!   They settle the cases that the guide leaves open.
//!
//! Paths are left as unparsed strings ([`Arg::Path`]). The engine resolves them
//! through the `resolve` callback that it passes to [`evaluate`].

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use sha2::Digest as _;

/// DG: "You can nest up to 10 intrinsic functions within a field". The guide
/// calls its own example, which is 5 calls deep and has 9 calls in all,
/// "nine nested intrinsic functions". So the limit counts every call in the
/// field, the outermost one included, and not the depth.
pub const MAX_CALLS_PER_FIELD: usize = 10;

/// DG States.ArrayRange: "The newly generated array can't contain more than 1000 items."
pub const MAX_ARRAY_RANGE_ITEMS: usize = 1000;

/// DG States.Base64Encode / Base64Decode / Hash: input data of "up to 10,000 characters".
pub const MAX_ENCODING_INPUT_CHARS: usize = 10_000;

/// DG States.Hash: the algorithms that the guide lists, spelled exactly as they must appear.
pub const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// DG States.MathAdd: "You must specify integer values in the range of -2147483648 and 2147483647."
const MATH_ADD_RANGE: std::ops::RangeInclusive<i64> = (i32::MIN as i64)..=(i32::MAX as i64);

// ---------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------

/// The intrinsic functions that AWS Step Functions defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    /// Every function, in the guide's order of mention.
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The full name as it is written in a definition, e.g. `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// Looks up a full name (case-sensitive, as AWS is).
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// How many arguments the function accepts.
    pub fn arity(self) -> Arity {
        let (min, max) = match self {
            // DG Format "takes one or more arguments"; Array "takes zero or more".
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::Uuid => (0, Some(0)),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, Some(1)),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, Some(2)),
            Function::ArrayRange | Function::JsonMerge => (3, Some(3)),
            // DG MathRandom: "The seed value argument is optional."
            Function::MathRandom => (2, Some(3)),
        };
        Arity { min, max }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The number of arguments that a function accepts: `min..=max`, or `min..` when `max` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    pub min: usize,
    pub max: Option<usize>,
}

impl Arity {
    pub fn accepts(self, count: usize) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max {
            Some(max) if max == self.min => write!(f, "exactly {} {}", max, noun(max)),
            Some(max) => write!(f, "{} to {} arguments", self.min, max),
            None if self.min == 0 => f.write_str("any number of arguments"),
            None => write!(f, "at least {} {}", self.min, noun(self.min)),
        }
    }
}

/// One intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    pub function: Function,
    pub args: Vec<Arg>,
    /// Character offset of the function name in the parsed text (0 for trees built by hand).
    pub offset: usize,
}

impl Intrinsic {
    /// Builds a call by hand (offset 0).
    pub fn new(function: Function, args: Vec<Arg>) -> Intrinsic {
        Intrinsic {
            function,
            args,
            offset: 0,
        }
    }

    /// The number of intrinsic calls in this tree, this one included.
    pub fn call_count(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![self];
        while let Some(call) = pending.pop() {
            count += 1;
            pending.extend(call.args.iter().filter_map(Arg::as_call));
        }
        count
    }
}

/// An argument of an intrinsic call.
///
/// SPEC: "Intrinsic Function arguments may be strings enclosed by apostrophe
/// (') characters, numbers, null, Paths, or nested Intrinsic Functions."
/// Booleans are not in that list, but DG requires the literal `false` as the
/// third argument of States.JsonMerge. The grammar of LS also accepts `true`
/// and `false`, so this parser accepts them too.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A single-quoted string literal. `value` has its escapes resolved. `raw` is
    /// the text between the quotes as written. States.Format needs `raw` to tell
    /// an escaped `\{\}` (literal braces) from a `{}` placeholder.
    String {
        value: String,
        raw: String,
    },
    Number(Number),
    Bool(bool),
    Null,
    /// `$…` (input), `$$…` (context object) or `$name…` (workflow variable), kept as written.
    Path(String),
    Call(Box<Intrinsic>),
}

impl Arg {
    /// A string literal whose value is `value`. The raw form escapes the reserved characters.
    pub fn string(value: &str) -> Arg {
        let mut raw = String::with_capacity(value.len());
        for c in value.chars() {
            if matches!(c, '\'' | '{' | '}' | '\\') {
                raw.push('\\');
            }
            raw.push(c);
        }
        Arg::String {
            value: value.to_owned(),
            raw,
        }
    }

    pub fn path(path: &str) -> Arg {
        Arg::Path(path.to_owned())
    }

    pub fn call(function: Function, args: Vec<Arg>) -> Arg {
        Arg::Call(Box::new(Intrinsic::new(function, args)))
    }

    fn as_call(&self) -> Option<&Intrinsic> {
        match self {
            Arg::Call(call) => Some(call),
            _ => None,
        }
    }

    /// The JSON type name of a literal, or `None` for paths and calls, whose type is known only at run time.
    fn literal_type(&self) -> Option<&'static str> {
        match self {
            Arg::String { .. } => Some("string"),
            Arg::Number(_) => Some("number"),
            Arg::Bool(_) => Some("boolean"),
            Arg::Null => Some("null"),
            Arg::Path(_) | Arg::Call(_) => None,
        }
    }
}

impl fmt::Display for Intrinsic {
    /// Writes the call back in intrinsic syntax. Parsing the output gives an equal tree (offsets aside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::String { raw, .. } => write!(f, "'{raw}'"),
            Arg::Number(n) => write!(f, "{n}"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Null => f.write_str("null"),
            Arg::Path(p) => f.write_str(p),
            Arg::Call(call) => write!(f, "{call}"),
        }
    }
}

/// What a path argument refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `$`, `$.a`, `$[0]`: the payload template's input.
    Input,
    /// `$$`, `$$.Execution.Id`: the context object.
    Context,
    /// `$name`, `$name.field`: a workflow variable.
    Variable,
}

/// Classifies a path argument by its prefix. The path itself is parsed elsewhere.
pub fn path_kind(path: &str) -> PathKind {
    let rest = path.strip_prefix('$').unwrap_or(path);
    if rest.starts_with('$') {
        PathKind::Context
    } else if rest.is_empty() || rest.starts_with('.') || rest.starts_with('[') {
        PathKind::Input
    } else {
        PathKind::Variable
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Everything that can go wrong, from parsing to evaluation.
///
/// The first five variants are *definition* errors, found by [`parse`] before
/// anything runs. [`IntrinsicError::Failure`] and
/// [`IntrinsicError::PathResolution`] happen at run time. The engine reports
/// them as `States.IntrinsicFailure`. (AWS reports a missing path in a plain
/// `.$` field as `States.Runtime`, so the engine may prefer that name for
/// `PathResolution`.) All offsets count characters, not bytes, from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    #[error("invalid intrinsic function at character {offset}: {message}")]
    Syntax { offset: usize, message: String },

    #[error("unknown intrinsic function '{name}' at character {offset}")]
    UnknownFunction { offset: usize, name: String },

    #[error("{function} at character {offset} takes {expected}, but {found} given")]
    Arity {
        offset: usize,
        function: Function,
        expected: Arity,
        found: ArgCount,
    },

    #[error(
        "too many intrinsic functions in one field: {calls} counted by character {offset}, \
         but at most {MAX_CALLS_PER_FIELD} are allowed"
    )]
    TooManyCalls {
        /// The call at which counting stopped (the root call for [`evaluate`]).
        offset: usize,
        calls: usize,
    },

    #[error("{function} argument {index} at character {offset}: {message}")]
    InvalidArgument {
        offset: usize,
        function: Function,
        index: usize,
        message: String,
    },

    #[error("{function}{}: {message}", argument.map(|i| format!(" argument {i}")).unwrap_or_default())]
    Failure {
        function: Function,
        /// 1-based position of the argument at fault, when one argument is at fault.
        argument: Option<usize>,
        message: String,
    },

    #[error("{function} argument {index}: path '{path}' could not be resolved: {message}")]
    PathResolution {
        function: Function,
        index: usize,
        path: String,
        message: String,
    },
}

impl IntrinsicError {
    /// True for errors that [`evaluate`] reports at run time. False for errors in the definition itself.
    pub fn is_runtime(&self) -> bool {
        matches!(
            self,
            IntrinsicError::Failure { .. } | IntrinsicError::PathResolution { .. }
        )
    }

    fn failure(function: Function, argument: usize, message: impl Into<String>) -> Self {
        IntrinsicError::Failure {
            function,
            argument: Some(argument),
            message: message.into(),
        }
    }
}

/// An argument count, shown as "1 was" / "2 were" in [`IntrinsicError::Arity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCount(pub usize);

impl fmt::Display for ArgCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 1 {
            f.write_str("1 was")
        } else {
            write!(f, "{} were", self.0)
        }
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// True when a `.$` value is meant as an intrinsic call rather than a path.
/// SPEC: every intrinsic that the specification defines has a name that begins with "States.".
pub fn is_intrinsic_call(value: &str) -> bool {
    value.starts_with("States.")
}

/// Parses an intrinsic call such as `States.Format('Hello, {}', $.name)` and
/// runs the static checks: known name, arity, the limit on calls per field,
/// and the types of literal arguments where the guide fixes them.
///
/// Whitespace (space, tab, CR, LF) may surround arguments and the whole call.
/// SPEC requires the argument list to follow the name "immediately", so
/// `States.UUID ()` is refused.
pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        calls: 0,
    };
    parser.skip_whitespace();
    let call = parser.parse_call()?;
    parser.skip_whitespace();
    if let Some(c) = parser.peek() {
        return Err(parser.syntax(
            parser.pos,
            format!("unexpected {} after the end of the call", describe_char(c)),
        ));
    }
    Ok(call)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    calls: usize,
}

fn describe_char(c: char) -> String {
    format!("'{}'", c.escape_debug())
}

fn is_name_char(c: char) -> bool {
    // SPEC: "An Intrinsic Function name MUST contain only the characters A
    // through Z, a through z, 0 through 9, '.', and '_'."
    c.is_ascii_alphanumeric() || c == '.' || c == '_'
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, pos: usize) -> Option<char> {
        self.chars.get(pos).copied()
    }

    fn syntax(&self, offset: usize, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError::Syntax {
            offset,
            message: message.into(),
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    fn read_name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn parse_call(&mut self) -> Result<Intrinsic, IntrinsicError> {
        let offset = self.pos;
        let name = self.read_name();
        if name.is_empty() {
            return Err(match self.peek() {
                None => self.syntax(
                    offset,
                    "expected an intrinsic function such as States.Format(…)",
                ),
                Some(c) => self.syntax(
                    offset,
                    format!(
                        "expected an intrinsic function such as States.Format(…), found {}",
                        describe_char(c)
                    ),
                ),
            });
        }
        let function =
            Function::from_name(&name).ok_or(IntrinsicError::UnknownFunction { offset, name })?;
        // The count happens before the arguments are parsed, so recursion stays
        // shallow however deeply the text nests.
        self.calls += 1;
        if self.calls > MAX_CALLS_PER_FIELD {
            return Err(IntrinsicError::TooManyCalls {
                offset,
                calls: self.calls,
            });
        }
        if self.peek() != Some('(') {
            return Err(self.syntax(
                self.pos,
                format!("expected '(' immediately after {function}"),
            ));
        }
        self.pos += 1;

        let mut args = Vec::new();
        let mut arg_offsets = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                arg_offsets.push(self.pos);
                args.push(self.parse_arg()?);
                self.skip_whitespace();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => {
                        return Err(self.syntax(
                            self.pos,
                            format!(
                                "expected ',' or ')' in the arguments of {function}, found {}",
                                describe_char(c)
                            ),
                        ));
                    }
                    None => {
                        return Err(self.syntax(
                            self.pos,
                            format!("unterminated argument list of {function} (opened at character {offset}): expected ')'"),
                        ));
                    }
                }
            }
        }
        check_call(function, &args, offset, &arg_offsets)?;
        Ok(Intrinsic {
            function,
            args,
            offset,
        })
    }

    fn parse_arg(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.syntax(start, "expected an argument, found the end of the text")),
            Some('\'') => self.parse_string(),
            Some('$') => self.parse_path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.parse_number(),
            Some(c) if is_name_char(c) => {
                let word = self.read_name();
                let literal = match word.as_str() {
                    "true" => Some(Arg::Bool(true)),
                    "false" => Some(Arg::Bool(false)),
                    "null" => Some(Arg::Null),
                    _ => None,
                };
                match literal {
                    Some(arg) if self.peek() != Some('(') => Ok(arg),
                    _ if self.peek() == Some('(') => {
                        self.pos = start;
                        Ok(Arg::Call(Box::new(self.parse_call()?)))
                    }
                    _ => Err(self.syntax(
                        start,
                        format!(
                            "unexpected '{word}': an argument is a 'quoted string', a number, true, \
                             false, null, a path starting with $, or an intrinsic call"
                        ),
                    )),
                }
            }
            Some(',') | Some(')') => Err(self.syntax(start, "expected an argument")),
            Some('"') => Err(self.syntax(
                start,
                "string literals use single quotes in intrinsic functions, not double quotes",
            )),
            Some(c) => Err(self.syntax(
                start,
                format!(
                    "unexpected {} where an argument was expected",
                    describe_char(c)
                ),
            )),
        }
    }

    /// `'…'` with the escapes of DG "Reserved characters in intrinsic functions":
    /// `\'`, `\{`, `\}` and `\\`. DG: "If an open escape backslash \ is found in
    /// the intrinsic invocation string, the interpreter will return a runtime
    /// error". Any other backslash is such an open escape, and it is refused here
    /// already.
    fn parse_string(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        self.pos += 1;
        let raw_start = self.pos;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        self.syntax(start, "unterminated string literal: expected a closing '")
                    );
                }
                Some('\'') => break,
                Some('\\') => match self.peek_at(self.pos + 1) {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        value.push(c);
                        self.pos += 2;
                    }
                    Some(c) => {
                        return Err(self.syntax(
                            self.pos,
                            format!(
                                "invalid escape '\\{}' in a string literal: only \\', \\{{, \\}} and \\\\ are allowed",
                                c.escape_debug()
                            ),
                        ));
                    }
                    None => {
                        return Err(
                            self.syntax(self.pos, "open escape backslash at the end of the text")
                        );
                    }
                },
                // LS snapshot test_escape_sequence: AWS accepts raw control
                // characters such as a newline inside a literal.
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        let raw = self.chars[raw_start..self.pos].iter().collect();
        self.pos += 1;
        Ok(Arg::String { value, raw })
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn parse_number(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        let digits = |p: &mut Parser| {
            let s = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = digits(self);
        let mut ok = int_len > 0 && !(int_len > 1 && self.chars[int_start] == '0');
        if ok && self.peek() == Some('.') {
            self.pos += 1;
            ok = digits(self) > 0;
        }
        if ok && matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            ok = digits(self) > 0;
        }
        // A number must end at a separator; `12ab` or `1.2.3` is not a number.
        if ok
            && !matches!(
                self.peek(),
                None | Some(',' | ')' | ' ' | '\t' | '\n' | '\r')
            )
        {
            ok = false;
            while !matches!(
                self.peek(),
                None | Some(',' | ')' | ' ' | '\t' | '\n' | '\r')
            ) {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !ok {
            return Err(self.syntax(start, format!("invalid number '{text}'")));
        }
        serde_json::from_str::<Number>(&text)
            .map(Arg::Number)
            .map_err(|_| self.syntax(start, format!("number '{text}' is out of range")))
    }

    /// A path runs to the first `,`, `)` or whitespace outside brackets and quotes.
    /// DG allows bracket notation with quoted names, such as `$.abc.['def ghi']`,
    /// so brackets and the quotes in them are tracked. A backslash keeps the next
    /// character, as in `$.store\.book` from SPEC. The path is checked only for
    /// balance here, and parsed by the path module.
    fn parse_path(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        self.pos += 1;
        let mut depth = 0usize;
        let mut quote: Option<(char, usize)> = None;
        let mut open_brackets: Vec<usize> = Vec::new();
        while let Some(c) = self.peek() {
            if let Some((q, _)) = quote {
                if c == '\\' {
                    self.pos += 1;
                } else if c == q {
                    quote = None;
                }
                self.pos += 1;
                continue;
            }
            match c {
                '\\' => {
                    if self.peek_at(self.pos + 1).is_none() {
                        return Err(
                            self.syntax(self.pos, "open escape backslash at the end of a path")
                        );
                    }
                    self.pos += 2;
                    continue;
                }
                '[' => {
                    depth += 1;
                    open_brackets.push(self.pos);
                }
                ']' => {
                    if depth == 0 {
                        return Err(self.syntax(self.pos, "unbalanced ']' in a path"));
                    }
                    depth -= 1;
                    open_brackets.pop();
                }
                '\'' | '"' if depth > 0 => quote = Some((c, self.pos)),
                ',' | ')' | ' ' | '\t' | '\n' | '\r' if depth == 0 => break,
                '\'' | '"' => {
                    return Err(self.syntax(
                        self.pos,
                        "quote in a path outside brackets: use bracket notation such as $.a['b c']",
                    ));
                }
                '(' if depth == 0 => {
                    return Err(self.syntax(
                        self.pos,
                        "'(' in a path: JSONPath functions such as length() are not supported",
                    ));
                }
                _ => {}
            }
            self.pos += 1;
        }
        if let Some((_, at)) = quote {
            return Err(self.syntax(at, "unterminated quoted name in a path"));
        }
        if let Some(&at) = open_brackets.last() {
            return Err(self.syntax(at, "unclosed '[' in a path"));
        }
        Ok(Arg::Path(self.chars[start..self.pos].iter().collect()))
    }
}

// ---------------------------------------------------------------------------
// Static checks
// ---------------------------------------------------------------------------

/// What an argument position requires, where DG or SPEC fixes it.
#[derive(Clone, Copy)]
enum Expect {
    Any,
    String,
    Number,
    Array,
    Object,
    /// SPEC States.JsonToString: the argument "MUST be a Path". A nested call is
    /// also accepted, because its result is an ordinary value, as a path's is.
    NotLiteral,
    /// DG States.Hash: a string naming one of [`HASH_ALGORITHMS`].
    HashAlgorithm,
    /// DG States.JsonMerge: "you must specify the boolean value as false".
    False,
}

fn expectation(function: Function, index: usize) -> Expect {
    use Function as F;
    match (function, index) {
        (F::Format, 0) => Expect::String,
        (F::StringToJson, _) => Expect::String,
        (F::JsonToString, _) => Expect::NotLiteral,
        (F::ArrayPartition | F::ArrayContains | F::ArrayGetItem, 0) => Expect::Array,
        (F::ArrayPartition | F::ArrayGetItem, 1) => Expect::Number,
        (F::ArrayLength | F::ArrayUnique, _) => Expect::Array,
        (F::ArrayRange | F::MathRandom | F::MathAdd, _) => Expect::Number,
        (F::Base64Encode | F::Base64Decode | F::StringSplit, _) => Expect::String,
        (F::Hash, 0) => Expect::String,
        (F::Hash, _) => Expect::HashAlgorithm,
        (F::JsonMerge, 2) => Expect::False,
        (F::JsonMerge, _) => Expect::Object,
        _ => Expect::Any,
    }
}

/// Checks arity and the literal arguments of one call. Called by the parser for
/// every call, and by [`evaluate`] for trees that were built by hand.
///
/// Only the *type* of a literal is checked, plus the two literal values that the
/// guide names (Hash's algorithm and JsonMerge's `false`). Range problems such as
/// `States.ArrayRange(1, 9, 0)` are left to run time. There is some evidence
/// that AWS accepts such a definition and fails only when it runs, and a
/// validator that is stricter than AWS would refuse working definitions.
fn check_call(
    function: Function,
    args: &[Arg],
    offset: usize,
    arg_offsets: &[usize],
) -> Result<(), IntrinsicError> {
    let arity = function.arity();
    if !arity.accepts(args.len()) {
        return Err(IntrinsicError::Arity {
            offset,
            function,
            expected: arity,
            found: ArgCount(args.len()),
        });
    }
    for (i, arg) in args.iter().enumerate() {
        let Some(found) = arg.literal_type() else {
            continue;
        };
        let message = match expectation(function, i) {
            Expect::Any => None,
            Expect::String if found != "string" => {
                Some(format!("expected a string, found a {found} literal"))
            }
            Expect::Number if found != "number" => {
                Some(format!("expected a number, found a {found} literal"))
            }
            Expect::Array => Some(format!(
                "expected an array, but a {found} literal can never be one"
            )),
            Expect::Object => Some(format!(
                "expected a JSON object, but a {found} literal can never be one"
            )),
            Expect::NotLiteral => Some(format!(
                "expected a path (the specification requires a Path), found a {found} literal"
            )),
            Expect::HashAlgorithm => match arg {
                Arg::String { value, .. } => hash_algorithm_problem(value),
                _ => Some(format!(
                    "expected the algorithm name as a string, found a {found} literal"
                )),
            },
            Expect::False => match arg {
                Arg::Bool(false) => None,
                Arg::Bool(true) => Some(DEEP_MERGE_UNSUPPORTED.to_owned()),
                _ => Some(format!(
                    "expected the boolean false, found a {found} literal"
                )),
            },
            Expect::String | Expect::Number => None,
        };
        if let Some(message) = message {
            return Err(IntrinsicError::InvalidArgument {
                offset: arg_offsets.get(i).copied().unwrap_or(offset),
                function,
                index: i + 1,
                message,
            });
        }
    }
    Ok(())
}

const DEEP_MERGE_UNSUPPORTED: &str = "deep merging is not supported: Step Functions only \
     supports shallow merging, so the third argument must be false";

fn hash_algorithm_problem(name: &str) -> Option<String> {
    if HASH_ALGORITHMS.contains(&name) {
        None
    } else {
        Some(format!(
            "unsupported hash algorithm '{}': expected one of {}",
            name.escape_debug(),
            HASH_ALGORITHMS.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// The source of randomness for States.UUID and States.MathRandom. The engine
/// passes one in, so that tests stay deterministic.
pub trait Randomness {
    /// A version 4 UUID in lowercase hyphenated form, e.g. `ca4c1140-dcc1-40cd-ad05-7b4aa23df4a8`.
    fn uuid_v4(&mut self) -> String;

    /// An integer `n` with `start <= n < end`. [`evaluate`] calls this only with `start < end`.
    /// With `Some(seed)`, the same arguments must always give the same number.
    /// DG: "if you use this function with the same seed value, it will return identical numbers".
    fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64;
}

/// Evaluates a call. `resolve` turns a path argument (`$…`, `$$…`, `$name…`) into
/// its value, or returns an error message. Arguments are evaluated from left to right.
pub fn evaluate(
    intrinsic: &Intrinsic,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
    random: &mut dyn Randomness,
) -> Result<Value, IntrinsicError> {
    // call_count iterates instead of recursing, so this guard also keeps a
    // hand-built tree of any depth from overflowing the stack below.
    let calls = intrinsic.call_count();
    if calls > MAX_CALLS_PER_FIELD {
        return Err(IntrinsicError::TooManyCalls {
            offset: intrinsic.offset,
            calls,
        });
    }
    let mut ctx = Evaluator { resolve, random };
    ctx.call(intrinsic)
}

struct Evaluator<'a> {
    resolve: &'a mut dyn FnMut(&str) -> Result<Value, String>,
    random: &'a mut dyn Randomness,
}

impl Evaluator<'_> {
    fn arg(
        &mut self,
        function: Function,
        index: usize,
        arg: &Arg,
    ) -> Result<Value, IntrinsicError> {
        Ok(match arg {
            Arg::String { value, .. } => Value::String(value.clone()),
            Arg::Number(n) => Value::Number(n.clone()),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Null => Value::Null,
            Arg::Path(path) => {
                (self.resolve)(path).map_err(|message| IntrinsicError::PathResolution {
                    function,
                    index: index + 1,
                    path: path.clone(),
                    message,
                })?
            }
            Arg::Call(call) => self.call(call)?,
        })
    }

    fn call(&mut self, call: &Intrinsic) -> Result<Value, IntrinsicError> {
        let function = call.function;
        check_call(function, &call.args, call.offset, &[])?;
        let mut values = Vec::with_capacity(call.args.len());
        for (i, arg) in call.args.iter().enumerate() {
            values.push(self.arg(function, i, arg)?);
        }
        let args = Args { function, values };
        match function {
            Function::Format => format(&args, call.args.first()),
            Function::StringToJson => string_to_json(&args),
            Function::JsonToString => json_to_string(&args),
            Function::Array => Ok(Value::Array(args.values)),
            Function::ArrayPartition => array_partition(&args),
            Function::ArrayContains => array_contains(&args),
            Function::ArrayRange => array_range(&args),
            Function::ArrayGetItem => array_get_item(&args),
            Function::ArrayLength => Ok(Value::from(args.array(0)?.len())),
            Function::ArrayUnique => array_unique(&args),
            Function::Base64Encode => base64_encode(&args),
            Function::Base64Decode => base64_decode(&args),
            Function::Hash => hash(&args),
            Function::JsonMerge => json_merge(&args),
            Function::MathRandom => self.math_random(&args),
            Function::MathAdd => math_add(&args),
            Function::StringSplit => string_split(&args),
            Function::Uuid => Ok(Value::String(self.random.uuid_v4())),
        }
    }

    /// DG States.MathRandom: "a random number between the specified start number
    /// (inclusive) and end number (exclusive)". Non-integer start or end values
    /// are rounded. The seed is rounded too, for consistency; the guide says nothing about it.
    fn math_random(&mut self, args: &Args) -> Result<Value, IntrinsicError> {
        let start = args.rounded_integer(0)?;
        let end = args.rounded_integer(1)?;
        let seed = if args.values.len() == 3 {
            Some(args.rounded_integer(2)?)
        } else {
            None
        };
        if start >= end {
            return Err(IntrinsicError::failure(
                args.function,
                2,
                format!(
                    "the end ({end}) must be greater than the start ({start}), because the end is exclusive"
                ),
            ));
        }
        let n = self.random.integer_in(start, end, seed);
        if !(start..end).contains(&n) {
            return Err(IntrinsicError::Failure {
                function: args.function,
                argument: None,
                message: format!("the randomness source returned {n}, outside [{start}, {end})"),
            });
        }
        Ok(Value::from(n))
    }
}

/// DG States.Format: "There must be as many remaining arguments in the
/// intrinsic function invocation as there are occurrences of {}". This is
/// checked at run time, so a template that comes from a path gets the same
/// check. (The guide's own nesting example has 3 placeholders and 2 values.
/// It parses, and fails only here.)
///
/// `first` is the template argument as written. A string literal is read with
/// its escapes, so `\{\}` stays literal text. A template read from the data
/// (path or nested call) is taken as is. Only `{}` is special in it, and
/// backslashes are not escapes there. The guide does not cover that case.
fn format(args: &Args, first: Option<&Arg>) -> Result<Value, IntrinsicError> {
    let template = match first {
        Some(Arg::String { raw, .. }) => Template::from_literal(raw),
        _ => match args.get(0)? {
            Value::String(s) => Template::from_data(s),
            v => {
                return Err(args.fail(
                    0,
                    format!("the template must be a string, got {}", describe(v)),
                ));
            }
        },
    };
    let values = args.values.get(1..).unwrap_or(&[]);
    if template.placeholders != values.len() {
        return Err(args.fail(
            0,
            format!(
                "the template has {} {{}} placeholder(s) but {} value(s) follow it; the counts must be equal",
                template.placeholders,
                values.len()
            ),
        ));
    }
    let mut out = String::new();
    let mut values = values.iter();
    for piece in &template.pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder => {
                if let Some(value) = values.next() {
                    render_for_format(value, &mut out);
                }
            }
        }
    }
    Ok(Value::String(out))
}

enum Piece {
    Text(String),
    Placeholder,
}

struct Template {
    pieces: Vec<Piece>,
    placeholders: usize,
}

impl Template {
    /// A literal template as written: `\x` is the character x, and an unescaped `{}` is a placeholder.
    fn from_literal(raw: &str) -> Template {
        Template::build(raw, true)
    }

    fn from_data(text: &str) -> Template {
        Template::build(text, false)
    }

    fn build(text: &str, escapes: bool) -> Template {
        let mut pieces = Vec::new();
        let mut current = String::new();
        let mut placeholders = 0;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if escapes && c == '\\' {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            } else if c == '{' && chars.peek() == Some(&'}') {
                chars.next();
                if !current.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut current)));
                }
                pieces.push(Piece::Placeholder);
                placeholders += 1;
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            pieces.push(Piece::Text(current));
        }
        Template {
            pieces,
            placeholders,
        }
    }
}

/// How States.Format writes a value into its template.
///
/// SPEC: a string is written without quotes, and a boolean, number or null
/// "is the natural string representation". SPEC also says the value "MUST NOT
/// be a JSON array or object". But LS recorded AWS formatting objects and
/// arrays in Java `toString` style, `{Arg1=1, Arg2=[]}` (test_format_2,
/// test_context_json_path). So they are accepted and written that way, with
/// nested strings unquoted.
fn render_for_format(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_for_format(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render_for_format(item, out);
            }
            out.push('}');
        }
    }
}

/// Evaluated arguments, with typed accessors whose errors name the function and the argument.
struct Args {
    function: Function,
    values: Vec<Value>,
}

impl Args {
    fn get(&self, i: usize) -> Result<&Value, IntrinsicError> {
        // Arity has been checked already. This only avoids a panic if that ever changes.
        self.values
            .get(i)
            .ok_or_else(|| IntrinsicError::failure(self.function, i + 1, "missing argument"))
    }

    fn fail(&self, i: usize, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError::failure(self.function, i + 1, message)
    }

    fn string(&self, i: usize) -> Result<&str, IntrinsicError> {
        match self.get(i)? {
            Value::String(s) => Ok(s),
            v => Err(self.fail(i, format!("expected a string, got {}", describe(v)))),
        }
    }

    fn array(&self, i: usize) -> Result<&Vec<Value>, IntrinsicError> {
        match self.get(i)? {
            Value::Array(a) => Ok(a),
            v => Err(self.fail(i, format!("expected an array, got {}", describe(v)))),
        }
    }

    fn object(&self, i: usize) -> Result<&Map<String, Value>, IntrinsicError> {
        match self.get(i)? {
            Value::Object(o) => Ok(o),
            v => Err(self.fail(i, format!("expected a JSON object, got {}", describe(v)))),
        }
    }

    fn number(&self, i: usize) -> Result<&Number, IntrinsicError> {
        match self.get(i)? {
            Value::Number(n) => Ok(n),
            v => Err(self.fail(i, format!("expected a number, got {}", describe(v)))),
        }
    }

    /// DG for ArrayPartition, ArrayRange, MathRandom and MathAdd: "If you specify
    /// a non-integer value … Step Functions will round it off to the nearest
    /// integer." LS test_math_add recorded AWS rounding 1.5 to 2 and -1.5 to -1
    /// (Java's Math.round: ties go toward positive infinity).
    fn rounded_integer(&self, i: usize) -> Result<i64, IntrinsicError> {
        let n = self.number(i)?;
        number_to_i64(n, true).map_err(|m| self.fail(i, m))
    }

    /// An integer with no rounding. A float with no fractional part, such as 5.0, is accepted.
    fn exact_integer(&self, i: usize) -> Result<i64, IntrinsicError> {
        let n = self.number(i)?;
        number_to_i64(n, false).map_err(|m| self.fail(i, m))
    }
}

/// Java's `Math.round`: the nearest integer, with ties toward positive infinity.
fn round_half_up(x: f64) -> f64 {
    let floor = x.floor();
    // The difference is exact for every finite double.
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

fn number_to_i64(n: &Number, round: bool) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.as_u64().is_some() {
        return Err(format!("{n} is out of the integer range"));
    }
    let f = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
    let whole = if round {
        round_half_up(f)
    } else if f.fract() == 0.0 {
        f
    } else {
        return Err(format!("expected an integer, got {n}"));
    };
    // 2^63 is exactly representable, and everything below it in range converts exactly.
    if whole.is_finite()
        && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&whole)
    {
        Ok(whole as i64)
    } else {
        Err(format!("{n} is out of the integer range"))
    }
}

/// A short description of a value for error messages, e.g. `string "abc"` or `array of 3 items`.
fn describe(v: &Value) -> String {
    const MAX: usize = 60;
    let short = |s: String| {
        if s.chars().count() > MAX {
            format!("{}…", s.chars().take(MAX).collect::<String>())
        } else {
            s
        }
    };
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", short(format!("{s:?}"))),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(o) => format!("an object with {} keys", o.len()),
    }
}

/// Java's `String.length()`, which counts UTF-16 code units. The 10,000-character
/// limits of DG are most likely checked that way, since AWS runs on Java.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn check_input_length(args: &Args, i: usize, s: &str) -> Result<(), IntrinsicError> {
    let len = utf16_len(s);
    if len > MAX_ENCODING_INPUT_CHARS {
        Err(args.fail(
            i,
            format!(
                "the input has {len} characters, more than the limit of {MAX_ENCODING_INPUT_CHARS}"
            ),
        ))
    } else {
        Ok(())
    }
}

/// SPEC "takes a single argument whose Value MUST be a string. The interpreter
/// applies a JSON parser to the Value and returns its parsed JSON form."
fn string_to_json(args: &Args) -> Result<Value, IntrinsicError> {
    let text = args.string(0)?;
    serde_json::from_str(text)
        .map_err(|e| args.fail(0, format!("the string is not valid JSON: {e}")))
}

/// SPEC "returns a string which is a JSON text representing the data". This
/// is the compact form, as in the spec's example `{"name":"Foo","year":2020}`.
/// (The guide prints `{\"foo\": \"bar\"}` with a space, which looks like typesetting.)
fn json_to_string(args: &Args) -> Result<Value, IntrinsicError> {
    let value = args.get(0)?;
    serde_json::to_string(value)
        .map(Value::String)
        .map_err(|e| args.fail(0, format!("could not serialise the value: {e}")))
}

/// DG "You must specify a non-zero, positive integer for the second argument"
/// (rounded when it is not an integer). The last chunk may be shorter.
fn array_partition(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let size = args.rounded_integer(1)?;
    if size <= 0 {
        return Err(args.fail(
            1,
            format!("the chunk size must be a positive integer, got {size}"),
        ));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        array
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

/// DG "determine if a specific value is present in an array". This is JSON
/// equality: key order in objects does not matter, but 1 and 1.0 are different values.
fn array_contains(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let needle = args.get(1)?;
    Ok(Value::Bool(array.iter().any(|item| item == needle)))
}

/// DG "The first argument is the first element of the new array, the second
/// argument is the final element of the new array, and the third argument is the
/// increment value". So the end is inclusive (`(1, 9, 2)` gives `[1,3,5,7,9]`).
/// The step must be non-zero, values are rounded, and the result may hold at most
/// 1000 items. A negative step counts down. A step that moves away from the end
/// gives `[]`, which the guide does not cover.
fn array_range(args: &Args) -> Result<Value, IntrinsicError> {
    let start = args.rounded_integer(0)?;
    let end = args.rounded_integer(1)?;
    let step = args.rounded_integer(2)?;
    if step == 0 {
        return Err(args.fail(2, "the step must not be zero"));
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let span = end - start;
    let count = if span != 0 && (span > 0) != (step > 0) {
        0
    } else {
        span / step + 1
    };
    if count > MAX_ARRAY_RANGE_ITEMS as i128 {
        return Err(args.fail(
            2,
            format!(
                "the range would have {count} items, more than the limit of {MAX_ARRAY_RANGE_ITEMS}"
            ),
        ));
    }
    // The values lie between start and end, which are both i64, so they fit.
    Ok(Value::Array(
        (0..count)
            .map(|k| Value::from(i64::try_from(start + k * step).unwrap_or_default()))
            .collect(),
    ))
}

/// DG "returns a specified index's value" (0-based: index 5 of [1..9] is 6). An
/// index outside the array, negative indexes included, is a failure, not null.
/// The guide does not say which; this fails loudly.
fn array_get_item(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let index = args.exact_integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| array.get(i))
        .cloned()
        .ok_or_else(|| {
            args.fail(
                1,
                format!(
                    "index {index} is out of range for an array of {} items",
                    array.len()
                ),
            )
        })
}

/// DG "removes duplicate values from an array". The first occurrence of each
/// value stays, in order (`[1,2,3,3,3,3,3,3,4]` gives `[1,2,3,4]`).
fn array_unique(args: &Args) -> Result<Value, IntrinsicError> {
    let array = args.array(0)?;
    let mut seen = HashSet::with_capacity(array.len());
    Ok(Value::Array(
        array
            .iter()
            .filter(|item| seen.insert(canonical_key(item)))
            .cloned()
            .collect(),
    ))
}

/// A string that is equal for two values exactly when the values are equal as
/// serde_json compares them: object key order is ignored, and 1 and 1.0 differ.
fn canonical_key(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (key, item) in entries {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(item, out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            // -0.0 == 0.0 for serde_json, so both get the same key.
            Value::Number(n) if n.is_f64() && n.as_f64() == Some(0.0) => out.push_str("0.0"),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// DG "encode data based on MIME Base64 encoding scheme", for input of at most
/// 10,000 characters. Encoding uses the UTF-8 bytes and the standard alphabet with
/// padding ("Data to encode" gives "RGF0YSB0byBlbmNvZGU="). No line breaks are
/// inserted. Whether AWS wraps long output at 76 characters, as strict MIME does,
/// is not documented.
fn base64_encode(args: &Args) -> Result<Value, IntrinsicError> {
    let input = args.string(0)?;
    check_input_length(args, 0, input)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(input.as_bytes()),
    ))
}

/// DG "decode data based on MIME Base64 decoding scheme", for input of at most
/// 10,000 characters. As a MIME decoder does, line breaks and other whitespace
/// are skipped, and padding is optional. The decoded bytes must be UTF-8, because
/// the result is a JSON string.
fn base64_decode(args: &Args) -> Result<Value, IntrinsicError> {
    let input = args.string(0)?;
    check_input_length(args, 0, input)?;
    let compact: Vec<u8> = input
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = engine
        .decode(&compact)
        .map_err(|e| args.fail(0, format!("not valid Base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.fail(0, "the decoded data is not valid UTF-8 text"))
}

/// DG States.Hash(data, algorithm): the data must be a string of at most 10,000
/// characters, and the algorithm one of [`HASH_ALGORITHMS`]. The result is the
/// lowercase hexadecimal digest of the UTF-8 bytes.
fn hash(args: &Args) -> Result<Value, IntrinsicError> {
    let data = args.string(0)?;
    let algorithm = args.string(1)?;
    if let Some(problem) = hash_algorithm_problem(algorithm) {
        return Err(args.fail(1, problem));
    }
    check_input_length(args, 0, data)?;
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        _ => sha2::Sha512::digest(bytes).to_vec(),
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    Ok(Value::String(hex))
}

/// DG "In the shallow mode, if the same key exists in both JSON objects, the
/// latter object's key overrides the same key in the first object", and nested
/// objects are not merged. A key keeps its position from the first object, as
/// `dict.update` and `LinkedHashMap.putAll` both do.
fn json_merge(args: &Args) -> Result<Value, IntrinsicError> {
    let first = args.object(0)?;
    let second = args.object(1)?;
    match args.get(2)? {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(args.fail(2, DEEP_MERGE_UNSUPPORTED)),
        v => {
            return Err(args.fail(
                2,
                format!("expected the boolean false, got {}", describe(v)),
            ));
        }
    }
    let mut merged = first.clone();
    for (key, value) in second {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

/// DG "return the sum of two numbers". Values are rounded to integers and must
/// lie in [-2147483648, 2147483647]. The sum is computed in 64 bits, so it
/// cannot overflow. (Whether Java's `int` arithmetic on AWS wraps a sum of two
/// large values is not documented.)
fn math_add(args: &Args) -> Result<Value, IntrinsicError> {
    let mut sum = 0i64;
    for i in 0..2 {
        let n = args.rounded_integer(i)?;
        if !MATH_ADD_RANGE.contains(&n) {
            return Err(args.fail(
                i,
                format!("{n} is outside the allowed range -2147483648 to 2147483647"),
            ));
        }
        sum += n;
    }
    Ok(Value::from(sum))
}

/// DG "the second argument is the delimiting character", but its own example
/// splits `"This.is+a,test=string"` on `".+,="`, so every character of the second
/// argument is a separator. Empty pieces are dropped. LS recorded AWS giving
/// `[]` for `",,,,"` and `[" ", " "]` for `", , ,"`, as Java's StringTokenizer does.
fn string_split(args: &Args) -> Result<Value, IntrinsicError> {
    let text = args.string(0)?;
    let separators = args.string(1)?;
    Ok(Value::Array(
        text.split(|c: char| separators.contains(c))
            .filter(|piece| !piece.is_empty())
            .map(|piece| Value::String(piece.to_owned()))
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A deterministic [`Randomness`] for tests (SplitMix64).
    struct SeededRandomness {
        state: u64,
    }

    impl SeededRandomness {
        fn new(seed: u64) -> Self {
            SeededRandomness { state: seed }
        }

        fn next(&mut self) -> u64 {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix(self.state)
        }
    }

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    impl Randomness for SeededRandomness {
        fn uuid_v4(&mut self) -> String {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&self.next().to_be_bytes());
            bytes[8..].copy_from_slice(&self.next().to_be_bytes());
            bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
            bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        }

        fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64 {
            let r = match seed {
                Some(s) => mix(s as u64),
                None => self.next(),
            };
            let width = (i128::from(end) - i128::from(start)) as u128;
            (i128::from(start) + (u128::from(r) % width) as i128) as i64
        }
    }

    /// Parses and evaluates `text` against `input`. Paths are resolved with a
    /// small resolver that handles `$`, `$.a.b` and `$.a[0]`, which is all these tests need.
    fn eval_with(text: &str, input: &Value) -> Result<Value, IntrinsicError> {
        let intrinsic = parse(text)?;
        let mut resolve = |path: &str| resolve_simple(path, input);
        evaluate(&intrinsic, &mut resolve, &mut SeededRandomness::new(7))
    }

    fn eval(text: &str, input: Value) -> Value {
        match eval_with(text, &input) {
            Ok(v) => v,
            Err(e) => panic!("{text} failed: {e}"),
        }
    }

    fn eval_err(text: &str, input: Value) -> IntrinsicError {
        match eval_with(text, &input) {
            Ok(v) => panic!("{text} unexpectedly gave {v}"),
            Err(e) => e,
        }
    }

    fn resolve_simple(path: &str, input: &Value) -> Result<Value, String> {
        let rest = path
            .strip_prefix('$')
            .ok_or_else(|| format!("not a path: {path}"))?;
        let mut current = input;
        for part in rest.split('.').filter(|p| !p.is_empty()) {
            let (name, index) = match part.split_once('[') {
                Some((name, idx)) => (name, Some(idx.trim_end_matches(']'))),
                None => (part, None),
            };
            if !name.is_empty() {
                current = current
                    .get(name)
                    .ok_or_else(|| format!("no field '{name}' in {path}"))?;
            }
            if let Some(idx) = index {
                let i: usize = idx.parse().map_err(|_| format!("bad index in {path}"))?;
                current = current
                    .get(i)
                    .ok_or_else(|| format!("no index {i} in {path}"))?;
            }
        }
        Ok(current.clone())
    }

    fn parse_err(text: &str) -> IntrinsicError {
        match parse(text) {
            Ok(i) => panic!("{text} unexpectedly parsed as {i:?}"),
            Err(e) => e,
        }
    }

    fn failure_argument(err: &IntrinsicError) -> (Function, Option<usize>) {
        match err {
            IntrinsicError::Failure {
                function, argument, ..
            } => (*function, *argument),
            other => panic!("expected a runtime failure, got {other:?}"),
        }
    }

    // ---- every example of the developer guide, with its documented result ----

    #[test]
    fn guide_array_example() {
        assert_eq!(
            eval("States.Array($.Id)", json!({"Id": 123456})),
            json!([123456])
        );
    }

    #[test]
    fn guide_array_partition_example() {
        assert_eq!(
            eval(
                "States.ArrayPartition($.inputArray,4)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            ),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
    }

    #[test]
    fn guide_array_contains_example() {
        assert_eq!(
            eval(
                "States.ArrayContains($.inputArray, $.lookingFor)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "lookingFor": 5})
            ),
            json!(true)
        );
    }

    #[test]
    fn guide_array_range_example() {
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})),
            json!([1, 3, 5, 7, 9])
        );
    }

    #[test]
    fn guide_array_get_item_example() {
        assert_eq!(
            eval(
                "States.ArrayGetItem($.inputArray, $.index)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "index": 5})
            ),
            json!(6)
        );
    }

    #[test]
    fn guide_array_length_example() {
        assert_eq!(
            eval(
                "States.ArrayLength($.inputArray)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            ),
            json!(9)
        );
    }

    #[test]
    fn guide_array_unique_example() {
        assert_eq!(
            eval(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1,2,3,3,3,3,3,3,4]})
            ),
            json!([1, 2, 3, 4])
        );
    }

    #[test]
    fn guide_base64_encode_example() {
        assert_eq!(
            eval(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            ),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
    }

    #[test]
    fn guide_base64_decode_example_decodes_to_the_encoded_text() {
        // The guide prints the result as "Decoded data". That is a mistake in
        // the guide: "RGF0YSB0byBlbmNvZGU=" is the encoding of "Data to encode"
        // (see its own Base64Encode example).
        assert_eq!(
            eval(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            ),
            json!("Data to encode")
        );
    }

    #[test]
    fn guide_hash_example() {
        // The guide prints "aaff4a450a104cd177d28d18d7485e8cae074b7". That is 39
        // digits, one '4' short of the real SHA-1 of "input data", which is below.
        assert_eq!(
            eval(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": "input data", "Algorithm": "SHA-1"})
            ),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
    }

    #[test]
    fn guide_json_merge_example() {
        let merged = eval(
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
        );
        assert_eq!(merged, json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}));
        // The key that the second object overrides keeps its first position.
        let keys: Vec<_> = merged.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn guide_string_to_json_example() {
        assert_eq!(
            eval(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            ),
            json!({"foo": "bar"})
        );
    }

    #[test]
    fn guide_json_to_string_example() {
        assert_eq!(
            eval(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            ),
            json!("{\"foo\":\"bar\"}")
        );
    }

    #[test]
    fn guide_math_random_example_is_in_range() {
        let input = json!({"start": 1, "end": 999});
        let n = eval("States.MathRandom($.start, $.end)", input)
            .as_i64()
            .unwrap();
        assert!((1..999).contains(&n), "{n}");
    }

    #[test]
    fn guide_math_add_example() {
        assert_eq!(
            eval(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            ),
            json!(110)
        );
    }

    #[test]
    fn guide_string_split_single_delimiter_example() {
        assert_eq!(
            eval(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "1,2,3,4,5", "splitter": ","})
            ),
            json!(["1", "2", "3", "4", "5"])
        );
    }

    #[test]
    fn guide_string_split_multiple_delimiters_example() {
        assert_eq!(
            eval(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            ),
            json!(["This", "is", "a", "test", "string"])
        );
    }

    #[test]
    fn guide_uuid_example_shape() {
        let uuid = eval("States.UUID()", json!({}));
        let s = uuid.as_str().unwrap();
        let groups: Vec<_> = s.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&s[14..15], "4");
        assert!(
            s.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn guide_format_examples() {
        let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                input.clone()
            ),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval("States.Format($.template, $.name)", input),
            json!("Hello, my name is Arnav.")
        );
    }

    #[test]
    fn guide_key_id_example() {
        assert_eq!(eval("States.Array($.Id)", json!({"Id": "k"})), json!(["k"]));
    }

    #[test]
    fn guide_nesting_example_has_nine_calls_and_fails_on_its_placeholder_count() {
        // The guide's example of nine nested calls. It parses, within the limit
        // of 10 calls. But its template has three {} and only two values follow,
        // which breaks the guide's own rule, so it fails when it runs.
        let text = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.call_count(), 9);
        let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2"}});
        let err = eval_err(text, input.clone());
        assert_eq!(failure_argument(&err), (Function::Format, Some(1)));
        // With two placeholders, the same nesting gives the major and minor version.
        let fixed = text.replacen("'{}.{}.{}'", "'{}.{}'", 1);
        assert_eq!(eval(&fixed, input), json!("1.0"));
    }

    #[test]
    fn guide_reserved_character_escapes() {
        // DG: \' is ', \{ is {, \} is }, \\ is \.
        assert_eq!(
            eval(r"States.StringSplit('a\'b\{c\}d\\e', ',')", json!({})),
            json!([r"a'b{c}d\e"])
        );
    }

    #[test]
    fn guide_bracket_notation_path_argument() {
        // DG: field names with characters outside member-name-shorthand need
        // bracket notation, e.g. $.abc.['def ghi'].
        let parsed = parse("States.Array($.abc.['def ghi'], $$.Execution.Id, $myVar.x)").unwrap();
        assert_eq!(
            parsed.args,
            vec![
                Arg::path("$.abc.['def ghi']"),
                Arg::path("$$.Execution.Id"),
                Arg::path("$myVar.x")
            ]
        );
        assert_eq!(path_kind("$.abc.['def ghi']"), PathKind::Input);
        assert_eq!(path_kind("$$.Execution.Id"), PathKind::Context);
        assert_eq!(path_kind("$myVar.x"), PathKind::Variable);
        assert_eq!(path_kind("$"), PathKind::Input);
        assert_eq!(path_kind("$$"), PathKind::Context);
        assert_eq!(path_kind("$[0]"), PathKind::Input);
    }

    // ---- the specification's examples ----

    #[test]
    fn spec_format_example_with_number_literal() {
        assert_eq!(
            eval(
                "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
                json!({"name": "Foo", "zebra": "stripe"})
            ),
            json!("Your name is Foo, we are in the year 2020")
        );
    }

    #[test]
    fn spec_format_example_with_escaped_apostrophe() {
        // The JSON text "States.Format('Welcome to {} {}\\'s playlist.', …)" becomes this string.
        assert_eq!(
            eval(
                r"States.Format('Welcome to {} {}\'s playlist.', $.firstName, $.lastName)",
                json!({"firstName": "John", "lastName": "Doe"})
            ),
            json!("Welcome to John Doe's playlist.")
        );
    }

    #[test]
    fn spec_array_example_with_null_literal() {
        assert_eq!(
            eval(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}, "zebra": "stripe"})
            ),
            json!(["Foo", 2020, {"random": "abcdefg"}, null])
        );
    }

    #[test]
    fn spec_string_to_json_and_json_to_string_examples() {
        assert_eq!(
            eval(
                "States.StringToJson($.someString)",
                json!({"someString": "{\"number\": 20}"})
            ),
            json!({"number": 20})
        );
        assert_eq!(
            eval(
                "States.JsonToString($.someJson)",
                json!({"someJson": {"name": "Foo", "year": 2020}})
            ),
            json!("{\"name\":\"Foo\",\"year\":2020}")
        );
    }

    // ---- parser ----

    #[test]
    fn parses_literals_of_every_kind() {
        let parsed = parse("States.Array('s', 1, -2, 3.25, -0.5, 1e3, true, false, null)").unwrap();
        assert_eq!(
            parsed.args,
            vec![
                Arg::string("s"),
                Arg::Number(1.into()),
                Arg::Number((-2).into()),
                Arg::Number(Number::from_f64(3.25).unwrap()),
                Arg::Number(Number::from_f64(-0.5).unwrap()),
                Arg::Number(Number::from_f64(1000.0).unwrap()),
                Arg::Bool(true),
                Arg::Bool(false),
                Arg::Null,
            ]
        );
    }

    #[test]
    fn parses_nested_calls() {
        let parsed = parse("States.JsonToString(States.Array(1, 2))").unwrap();
        assert_eq!(
            parsed,
            Intrinsic {
                function: Function::JsonToString,
                args: vec![Arg::Call(Box::new(Intrinsic {
                    function: Function::Array,
                    args: vec![Arg::Number(1.into()), Arg::Number(2.into())],
                    offset: 20,
                }))],
                offset: 0,
            }
        );
        assert_eq!(
            eval("States.JsonToString(States.Array(1, 2))", json!({})),
            json!("[1,2]")
        );
    }

    #[test]
    fn whitespace_is_allowed_between_arguments_but_not_before_the_parenthesis() {
        assert!(parse("  States.Array( 1 ,\n\t$.a , 'x' )  ").is_ok());
        assert!(parse("States.UUID()").is_ok());
        assert!(parse("States.UUID( )").is_ok());
        let err = parse_err("States.UUID ()");
        assert!(
            matches!(err, IntrinsicError::Syntax { offset: 11, .. }),
            "{err}"
        );
    }

    #[test]
    fn is_intrinsic_call_checks_the_states_prefix() {
        assert!(is_intrinsic_call("States.Format('x')"));
        assert!(is_intrinsic_call("States.Nope(1)"));
        assert!(!is_intrinsic_call("$.states"));
        assert!(!is_intrinsic_call("$$.Execution.Id"));
        assert!(!is_intrinsic_call("states.Format('x')"));
    }

    #[test]
    fn unknown_function_is_refused_with_its_offset() {
        assert_eq!(
            parse_err("States.Nope(1)"),
            IntrinsicError::UnknownFunction {
                offset: 0,
                name: "States.Nope".into()
            }
        );
        assert_eq!(
            parse_err("States.Array(1, States.format('x'))"),
            IntrinsicError::UnknownFunction {
                offset: 16,
                name: "States.format".into()
            }
        );
        assert!(matches!(
            parse_err("Foo.Bar()"),
            IntrinsicError::UnknownFunction { .. }
        ));
    }

    #[test]
    fn wrong_arity_is_refused() {
        let err = parse_err("States.ArrayLength()");
        assert_eq!(
            err,
            IntrinsicError::Arity {
                offset: 0,
                function: Function::ArrayLength,
                expected: Arity {
                    min: 1,
                    max: Some(1)
                },
                found: ArgCount(0)
            }
        );
        assert_eq!(
            err.to_string(),
            "States.ArrayLength at character 0 takes exactly 1 argument, but 0 were given"
        );
        assert!(matches!(
            parse_err("States.UUID(1)"),
            IntrinsicError::Arity { .. }
        ));
        assert!(matches!(
            parse_err("States.Format()"),
            IntrinsicError::Arity { .. }
        ));
        assert!(matches!(
            parse_err("States.MathRandom(1)"),
            IntrinsicError::Arity { .. }
        ));
        assert!(matches!(
            parse_err("States.MathRandom(1, 2, 3, 4)"),
            IntrinsicError::Arity { .. }
        ));
        assert!(parse("States.MathRandom(1, 2)").is_ok());
        assert!(parse("States.MathRandom(1, 2, 3)").is_ok());
        assert!(parse("States.Array()").is_ok());
    }

    #[test]
    fn every_function_has_a_name_that_round_trips() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
            assert!(f.name().starts_with("States."));
        }
        assert_eq!(Function::from_name("States.UUID"), Some(Function::Uuid));
        assert_eq!(Function::from_name("States.Uuid"), None);
    }

    #[test]
    fn hash_algorithm_literal_must_be_one_of_the_five() {
        for alg in HASH_ALGORITHMS {
            assert!(
                parse(&format!("States.Hash($.d, '{alg}')")).is_ok(),
                "{alg}"
            );
        }
        let err = parse_err("States.Hash($.d, 'SHA-3')");
        assert!(
            matches!(
                &err,
                IntrinsicError::InvalidArgument {
                    function: Function::Hash,
                    index: 2,
                    offset: 17,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            parse_err("States.Hash($.d, 'sha-256')"),
            IntrinsicError::InvalidArgument { .. }
        ));
        assert!(matches!(
            parse_err("States.Hash($.d, 256)"),
            IntrinsicError::InvalidArgument { .. }
        ));
        assert!(matches!(
            parse_err("States.Hash(1, 'MD5')"),
            IntrinsicError::InvalidArgument { index: 1, .. }
        ));
    }

    #[test]
    fn json_merge_third_literal_must_be_false() {
        assert!(parse("States.JsonMerge($.a, $.b, false)").is_ok());
        assert!(parse("States.JsonMerge($.a, $.b, $.deep)").is_ok());
        let err = parse_err("States.JsonMerge($.a, $.b, true)");
        assert!(
            matches!(&err, IntrinsicError::InvalidArgument { index: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("shallow"));
        assert!(matches!(
            parse_err("States.JsonMerge($.a, $.b, 'false')"),
            IntrinsicError::InvalidArgument { .. }
        ));
        assert!(matches!(
            parse_err("States.JsonMerge('{}', $.b, false)"),
            IntrinsicError::InvalidArgument { index: 1, .. }
        ));
    }

    #[test]
    fn literal_types_are_checked_where_the_guide_fixes_them() {
        let refused = [
            "States.Format(1, 2)",
            "States.StringToJson(1)",
            "States.JsonToString('x')",
            "States.ArrayPartition('abc', 2)",
            "States.ArrayPartition($.a, '2')",
            "States.ArrayContains(null, 1)",
            "States.ArrayRange(1, '9', 2)",
            "States.ArrayGetItem($.a, true)",
            "States.ArrayLength('abc')",
            "States.ArrayUnique(1)",
            "States.Base64Encode(1)",
            "States.Base64Decode(false)",
            "States.MathRandom('1', 2)",
            "States.MathAdd(1, null)",
            "States.StringSplit(1, ',')",
            "States.StringSplit('a', 1)",
        ];
        for text in refused {
            assert!(
                matches!(parse_err(text), IntrinsicError::InvalidArgument { .. }),
                "{text}"
            );
        }
        // A path or a nested call may produce any type, so it is left to run time.
        assert!(parse("States.ArrayLength(States.StringSplit('a,b', ','))").is_ok());
        assert!(parse("States.MathAdd($.a, States.ArrayLength($.b))").is_ok());
        // Values that are wrong only in range are also left to run time.
        assert!(parse("States.ArrayRange(1, 9, 0)").is_ok());
        assert!(parse("States.ArrayPartition($.a, 0)").is_ok());
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "expected an intrinsic function"),
            ("$.a", 0, "expected an intrinsic function"),
            ("States.Array(1", 14, "unterminated argument list"),
            ("States.Array(1 2)", 15, "expected ',' or ')'"),
            ("States.Array(1,)", 15, "expected an argument"),
            ("States.Array(,1)", 13, "expected an argument"),
            ("States.Array('abc)", 13, "unterminated string literal"),
            (r"States.Array('a\nb')", 15, "invalid escape"),
            ("States.Array(\"x\")", 13, "single quotes"),
            ("States.Array(01)", 13, "invalid number '01'"),
            ("States.Array(1.)", 13, "invalid number"),
            ("States.Array(.5)", 13, "unexpected '.5'"),
            ("States.Array(1e999)", 13, "out of range"),
            ("States.Array(12ab)", 13, "invalid number '12ab'"),
            ("States.Array(yes)", 13, "unexpected 'yes'"),
            ("States.Array($.a[0)", 16, "unclosed '['"),
            ("States.Array($.a])", 16, "unbalanced ']'"),
            ("States.Array($.a['b)", 17, "unterminated quoted name"),
            ("States.Array($.a.length())", 23, "length()"),
            ("States.Array(1) x", 16, "after the end of the call"),
            ("States.Array(1))", 15, "after the end of the call"),
            ("States.Array(#)", 13, "unexpected '#'"),
        ];
        for (text, offset, fragment) in cases {
            let err = parse_err(text);
            match &err {
                IntrinsicError::Syntax { offset: o, message } => {
                    assert_eq!(o, offset, "{text}: {err}");
                    assert!(message.contains(fragment), "{text}: {message}");
                }
                other => panic!("{text}: expected a syntax error, got {other:?}"),
            }
        }
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let err = parse_err("States.Array('ééé', 1 2)");
        assert!(
            matches!(err, IntrinsicError::Syntax { offset: 22, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn paths_keep_escapes_filters_and_brackets_unparsed() {
        let parsed =
            parse(r"States.Array($.store\.book, $.a[?(@.b == 'x, y')], $['k)'][0], $$, $)")
                .unwrap();
        assert_eq!(
            parsed.args,
            vec![
                Arg::path(r"$.store\.book"),
                Arg::path("$.a[?(@.b == 'x, y')]"),
                Arg::path("$['k)'][0]"),
                Arg::path("$$"),
                Arg::path("$"),
            ]
        );
    }

    #[test]
    fn at_most_ten_calls_per_field() {
        let nested = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert_eq!(parse(&nested(10)).unwrap().call_count(), 10);
        assert!(matches!(
            parse_err(&nested(11)),
            IntrinsicError::TooManyCalls { calls: 11, .. }
        ));
        // The limit counts calls, not depth: eleven sibling calls are too many as well.
        let siblings = format!("States.Array({})", ["States.UUID()"; 10].join(", "));
        assert!(matches!(
            parse_err(&siblings),
            IntrinsicError::TooManyCalls { .. }
        ));
        // Very deep text fails fast instead of overflowing the stack.
        assert!(matches!(
            parse_err(&nested(100_000)),
            IntrinsicError::TooManyCalls { .. }
        ));
    }

    #[test]
    fn display_writes_source_that_parses_back_to_the_same_tree() {
        let texts = [
            r"States.Format('a \{\} {} \'q\' \\ {}', $.x, States.Array(1, -2.5, true, null))",
            "States.JsonMerge($.a, $['b c'], false)",
            "States.UUID()",
        ];
        for text in texts {
            let first = parse(text).unwrap();
            let printed = first.to_string();
            let second = parse(&printed).unwrap();
            assert_eq!(printed, second.to_string());
        }
        assert_eq!(
            Intrinsic::new(
                Function::StringSplit,
                vec![Arg::string("it's {x}"), Arg::string(",")]
            )
            .to_string(),
            r"States.StringSplit('it\'s \{x\}', ',')"
        );
    }

    // ---- States.Format ----

    #[test]
    fn format_escaped_braces_are_not_placeholders() {
        assert_eq!(
            eval(
                r"States.Format('escaped \{\} and {}', $.name)",
                json!({"name": "Arnav"})
            ),
            json!("escaped {} and Arnav")
        );
        // A lone unescaped brace is ordinary text.
        assert_eq!(
            eval("States.Format('a { b } {}', 1)", json!({})),
            json!("a { b } 1")
        );
    }

    #[test]
    fn format_placeholder_count_must_match() {
        for text in [
            "States.Format('{} {}', 1)",
            "States.Format('{}', 1, 2)",
            "States.Format('x', 1)",
        ] {
            let err = eval_err(text, json!({}));
            assert_eq!(
                failure_argument(&err),
                (Function::Format, Some(1)),
                "{text}"
            );
        }
        let err = eval_err("States.Format($.t, 1)", json!({"t": "no placeholders"}));
        assert!(
            err.to_string()
                .contains("0 {} placeholder(s) but 1 value(s)"),
            "{err}"
        );
        assert_eq!(eval("States.Format('plain')", json!({})), json!("plain"));
    }

    #[test]
    fn format_renders_values_as_aws_does() {
        // LS test_format_1/test_format_2 results recorded on AWS.
        let input = json!({
            "s": "", "sp": " ", "n": null, "i": 1, "f": 1.1, "t": true,
            "js": "{\"Arg1\": 1, \"Arg2\": []}", "o": {"Arg1": 1, "Arg2": []},
            "nested": {"Id": "arn:x", "Name": "m", "L": [1, "two", null, {"k": false}]}
        });
        let cases = [
            ("$.s", "Formatting argument ."),
            ("$.sp", "Formatting argument  ."),
            ("$.n", "Formatting argument null."),
            ("$.i", "Formatting argument 1."),
            ("$.f", "Formatting argument 1.1."),
            ("$.t", "Formatting argument true."),
            ("$.js", "Formatting argument {\"Arg1\": 1, \"Arg2\": []}."),
            ("$.o", "Formatting argument {Arg1=1, Arg2=[]}."),
            (
                "$.nested",
                "Formatting argument {Id=arn:x, Name=m, L=[1, two, null, {k=false}]}.",
            ),
        ];
        for (path, expected) in cases {
            let text = format!("States.Format('Formatting argument {{}}.', {path})");
            assert_eq!(eval(&text, input.clone()), json!(expected), "{path}");
        }
    }

    #[test]
    fn format_template_from_data_must_be_a_string() {
        let err = eval_err("States.Format($.t)", json!({"t": 5}));
        assert_eq!(failure_argument(&err), (Function::Format, Some(1)));
    }

    // ---- arrays ----

    #[test]
    fn array_partition_edges() {
        // LS test_array_partition covers arrays of 0..5 items with chunk sizes 1..5.
        assert_eq!(
            eval("States.ArrayPartition($.a, 3)", json!({"a": []})),
            json!([])
        );
        assert_eq!(
            eval("States.ArrayPartition($.a, 5)", json!({"a": [0, 1]})),
            json!([[0, 1]])
        );
        assert_eq!(
            eval("States.ArrayPartition($.a, 1)", json!({"a": [0, 1]})),
            json!([[0], [1]])
        );
        // DG: a non-integer chunk size is rounded.
        assert_eq!(
            eval("States.ArrayPartition($.a, 1.5)", json!({"a": [0, 1, 2]})),
            json!([[0, 1], [2]])
        );
        for size in ["0", "-1", "0.4"] {
            let err = eval_err(
                &format!("States.ArrayPartition($.a, {size})"),
                json!({"a": [1]}),
            );
            assert_eq!(
                failure_argument(&err),
                (Function::ArrayPartition, Some(2)),
                "{size}"
            );
        }
        let err = eval_err("States.ArrayPartition($.a, 2)", json!({"a": {"x": 1}}));
        assert_eq!(failure_argument(&err), (Function::ArrayPartition, Some(1)));
    }

    #[test]
    fn array_contains_uses_json_equality() {
        let input =
            json!({"a": [[1, 2, 3], 2, {"x": 1, "y": [2]}, true, null], "o": {"y": [2], "x": 1}});
        assert_eq!(
            eval(
                "States.ArrayContains($.a, States.Array(1, 2, 3))",
                input.clone()
            ),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayContains($.a, $.o)", input.clone()),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayContains($.a, null)", input.clone()),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayContains($.a, false)", input.clone()),
            json!(false)
        );
        assert_eq!(eval("States.ArrayContains($.a, '2')", input), json!(false));
        assert_eq!(
            eval("States.ArrayContains($.e, 1)", json!({"e": []})),
            json!(false)
        );
    }

    #[test]
    fn array_range_edges() {
        assert_eq!(
            eval("States.ArrayRange(0, 10, 3)", json!({})),
            json!([0, 3, 6, 9])
        );
        assert_eq!(eval("States.ArrayRange(1, 9, 9)", json!({})), json!([1]));
        assert_eq!(eval("States.ArrayRange(5, 5, 1)", json!({})), json!([5]));
        assert_eq!(
            eval("States.ArrayRange(9, 1, -4)", json!({})),
            json!([9, 5, 1])
        );
        assert_eq!(eval("States.ArrayRange(1, 9, -1)", json!({})), json!([]));
        assert_eq!(
            eval("States.ArrayRange(1.5, 3.4, 0.6)", json!({})),
            json!([2, 3])
        );
        assert_eq!(
            eval("States.ArrayRange(1, 1000, 1)", json!({}))
                .as_array()
                .unwrap()
                .len(),
            1000
        );
        let err = eval_err("States.ArrayRange(0, 1000, 1)", json!({}));
        assert!(err.to_string().contains("1001 items"), "{err}");
        let err = eval_err("States.ArrayRange(1, 9, 0)", json!({}));
        assert_eq!(failure_argument(&err), (Function::ArrayRange, Some(3)));
        let err = eval_err("States.ArrayRange(1, 9, 0.4)", json!({}));
        assert_eq!(failure_argument(&err), (Function::ArrayRange, Some(3)));
        let err = eval_err(
            &format!("States.ArrayRange({}, {}, 1)", i64::MIN, i64::MAX),
            json!({}),
        );
        assert!(err.is_runtime());
    }

    #[test]
    fn array_get_item_out_of_range_is_a_failure() {
        let input = json!({"a": [10, 20]});
        assert_eq!(
            eval("States.ArrayGetItem($.a, 1)", input.clone()),
            json!(20)
        );
        assert_eq!(
            eval("States.ArrayGetItem($.a, 1.0)", input.clone()),
            json!(20)
        );
        for index in ["2", "-1", "1.5", "99999999999999999999"] {
            let err = eval_err(&format!("States.ArrayGetItem($.a, {index})"), input.clone());
            assert_eq!(
                failure_argument(&err),
                (Function::ArrayGetItem, Some(2)),
                "{index}"
            );
        }
        let err = eval_err("States.ArrayGetItem($.a, $.i)", json!({"a": [1], "i": "0"}));
        assert_eq!(failure_argument(&err), (Function::ArrayGetItem, Some(2)));
    }

    #[test]
    fn array_length_and_unique_need_arrays() {
        let err = eval_err("States.ArrayLength($.s)", json!({"s": "abc"}));
        assert_eq!(failure_argument(&err), (Function::ArrayLength, Some(1)));
        assert!(err.to_string().contains("string \"abc\""), "{err}");
        let err = eval_err("States.ArrayUnique($.s)", json!({"s": {"a": 1}}));
        assert_eq!(failure_argument(&err), (Function::ArrayUnique, Some(1)));
    }

    #[test]
    fn array_unique_keeps_first_occurrences_of_any_json_value() {
        let input = json!({"a": [
            null, null, true, true, false, false, 1, 1, 1.1, 0, "HelloWorld", "HelloWorld",
            [], [], [null], [null], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}, 1.0, "1", true
        ]});
        assert_eq!(
            eval("States.ArrayUnique($.a)", input),
            json!([null, true, false, 1, 1.1, 0, "HelloWorld", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}, 1.0, "1"])
        );
    }

    // ---- encoding and hashing ----

    #[test]
    fn base64_round_trip_and_limits() {
        assert_eq!(eval("States.Base64Encode('')", json!({})), json!(""));
        assert_eq!(eval("States.Base64Decode('')", json!({})), json!(""));
        assert_eq!(
            eval("States.Base64Encode('héllo ✓')", json!({})),
            json!("aMOpbGxvIOKckw==")
        );
        assert_eq!(
            eval("States.Base64Decode('aMOpbGxvIOKckw==')", json!({})),
            json!("héllo ✓")
        );
        // MIME-style input: line breaks are skipped and padding is optional.
        assert_eq!(
            eval(
                "States.Base64Decode($.b)",
                json!({"b": "RGF0YSB0\r\nbyBlbmNvZGU"})
            ),
            json!("Data to encode")
        );
        let at_limit = "a".repeat(MAX_ENCODING_INPUT_CHARS);
        assert!(eval_with("States.Base64Encode($.s)", &json!({ "s": at_limit })).is_ok());
        let over = "a".repeat(MAX_ENCODING_INPUT_CHARS + 1);
        let err = eval_err("States.Base64Encode($.s)", json!({ "s": over }));
        assert_eq!(failure_argument(&err), (Function::Base64Encode, Some(1)));
        let err = eval_err(
            "States.Base64Decode($.s)",
            json!({ "s": "QUFB".repeat(2501) }),
        );
        assert_eq!(failure_argument(&err), (Function::Base64Decode, Some(1)));
        for bad in ["!!!!", "QQ=Q"] {
            let err = eval_err(&format!("States.Base64Decode('{bad}')"), json!({}));
            assert_eq!(
                failure_argument(&err),
                (Function::Base64Decode, Some(1)),
                "{bad}"
            );
        }
        // Decoded bytes that are not UTF-8 (0xff) cannot become a JSON string.
        let err = eval_err("States.Base64Decode('/w==')", json!({}));
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn hash_supports_all_five_algorithms() {
        let cases = [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ];
        for (alg, expected) in cases {
            assert_eq!(
                eval(&format!("States.Hash('input data', '{alg}')"), json!({})),
                json!(expected)
            );
        }
        let lengths = [("SHA-256", 64), ("SHA-384", 96), ("SHA-512", 128)];
        for (alg, len) in lengths {
            let v = eval(&format!("States.Hash('input data', '{alg}')"), json!({}));
            assert_eq!(v.as_str().unwrap().len(), len, "{alg}");
        }
        assert_eq!(
            eval("States.Hash('', 'SHA-256')", json!({})),
            json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn hash_checks_algorithm_and_data_at_run_time() {
        let err = eval_err("States.Hash($.d, $.a)", json!({"d": "x", "a": "SHA-3"}));
        assert_eq!(failure_argument(&err), (Function::Hash, Some(2)));
        let err = eval_err("States.Hash($.d, 'MD5')", json!({"d": {"x": 1}}));
        assert_eq!(failure_argument(&err), (Function::Hash, Some(1)));
        let err = eval_err(
            "States.Hash($.d, 'MD5')",
            json!({ "d": "x".repeat(10_001) }),
        );
        assert_eq!(failure_argument(&err), (Function::Hash, Some(1)));
    }

    // ---- JSON ----

    #[test]
    fn string_to_json_needs_a_string_of_valid_json() {
        assert_eq!(
            eval("States.StringToJson('[1, \"a\"]')", json!({})),
            json!([1, "a"])
        );
        assert_eq!(eval("States.StringToJson(' 42 ')", json!({})), json!(42));
        for bad in ["'{'", "''", "$.n"] {
            let err = eval_err(&format!("States.StringToJson({bad})"), json!({"n": 1}));
            assert_eq!(
                failure_argument(&err),
                (Function::StringToJson, Some(1)),
                "{bad}"
            );
        }
    }

    #[test]
    fn json_to_string_serialises_any_value_compactly() {
        let input = json!({"o": {"b": [1, 2.5, null], "a": "q\"uote"}, "s": "x", "n": null});
        assert_eq!(
            eval("States.JsonToString($.o)", input.clone()),
            json!("{\"b\":[1,2.5,null],\"a\":\"q\\\"uote\"}")
        );
        assert_eq!(
            eval("States.JsonToString($.s)", input.clone()),
            json!("\"x\"")
        );
        assert_eq!(eval("States.JsonToString($.n)", input), json!("null"));
    }

    #[test]
    fn json_merge_is_shallow_and_checks_its_arguments() {
        let input = json!({"a": {"x": {"deep": 1}, "y": 1}, "b": {"x": {"other": 2}}, "arr": [1]});
        assert_eq!(
            eval("States.JsonMerge($.a, $.b, false)", input.clone()),
            json!({"x": {"other": 2}, "y": 1})
        );
        let err = eval_err("States.JsonMerge($.a, $.arr, false)", input.clone());
        assert_eq!(failure_argument(&err), (Function::JsonMerge, Some(2)));
        let err = eval_err(
            "States.JsonMerge($.a, $.b, $.t)",
            json!({"a": {}, "b": {}, "t": true}),
        );
        assert_eq!(failure_argument(&err), (Function::JsonMerge, Some(3)));
    }

    // ---- math ----

    #[test]
    fn math_add_rounds_like_aws() {
        // LS test_math_add, recorded on AWS: ties round toward positive infinity.
        let cases = [
            ("-9", "3", -6),
            ("1.49", "1.5", 3),
            ("1.5", "1.51", 4),
            ("-1.49", "-1.5", -2),
            ("-1.5", "-1.51", -3),
            ("0.5", "0", 1),
            ("2.5", "0", 3),
            ("-0.5", "0", 0),
            ("-2.5", "0", -2),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                eval(&format!("States.MathAdd({a}, {b})"), json!({})),
                json!(expected),
                "{a} + {b}"
            );
        }
    }

    #[test]
    fn math_add_range_is_that_of_a_32_bit_integer() {
        assert_eq!(
            eval("States.MathAdd(2147483647, 2147483647)", json!({})),
            json!(4_294_967_294_i64)
        );
        assert_eq!(
            eval("States.MathAdd(-2147483648, 0)", json!({})),
            json!(-2_147_483_648_i64)
        );
        let err = eval_err("States.MathAdd(1, 2147483648)", json!({}));
        assert_eq!(failure_argument(&err), (Function::MathAdd, Some(2)));
        let err = eval_err("States.MathAdd(-2147483649, 1)", json!({}));
        assert_eq!(failure_argument(&err), (Function::MathAdd, Some(1)));
        let err = eval_err("States.MathAdd($.s, 1)", json!({"s": "1"}));
        assert_eq!(failure_argument(&err), (Function::MathAdd, Some(1)));
    }

    #[test]
    fn math_random_is_deterministic_with_a_seed_and_excludes_the_end() {
        let a = eval("States.MathRandom(1, 999, 42)", json!({}));
        let b = eval("States.MathRandom(1, 999, 42)", json!({}));
        assert_eq!(a, b);
        for _ in 0..50 {
            assert_eq!(eval("States.MathRandom(5, 6)", json!({})), json!(5));
        }
        // LS test_math_random uses (12.50, 44.51): both ends are rounded.
        let n = eval("States.MathRandom(12.50, 44.51)", json!({}))
            .as_i64()
            .unwrap();
        assert!((13..45).contains(&n), "{n}");
        for (start, end) in [("5", "5"), ("6", "5")] {
            let err = eval_err(&format!("States.MathRandom({start}, {end})"), json!({}));
            assert_eq!(failure_argument(&err), (Function::MathRandom, Some(2)));
        }
        let err = eval_err("States.MathRandom(1, 5, 'seed')", json!({}));
        assert!(
            matches!(err, IntrinsicError::InvalidArgument { index: 3, .. }) || err.is_runtime()
        );
    }

    #[test]
    fn math_random_guards_against_a_broken_randomness_source() {
        struct Broken;
        impl Randomness for Broken {
            fn uuid_v4(&mut self) -> String {
                String::new()
            }
            fn integer_in(&mut self, _: i64, end: i64, _: Option<i64>) -> i64 {
                end
            }
        }
        let call = parse("States.MathRandom(1, 3)").unwrap();
        let err = evaluate(&call, &mut |_| Ok(Value::Null), &mut Broken).unwrap_err();
        assert!(err.to_string().contains("outside [1, 3)"), "{err}");
    }

    // ---- strings ----

    #[test]
    fn string_split_drops_empty_pieces_like_aws() {
        // LS test_string_split, recorded on AWS.
        let cases = [
            (" ", ",", json!([" "])),
            (" , ", ",", json!([" ", " "])),
            (", , ,", ",", json!([" ", " "])),
            (",,,,", ",", json!([])),
            (
                "split on T and \nnew line",
                "T\n",
                json!(["split on ", " and ", "new line"]),
            ),
            ("", ",", json!([])),
            ("abc", "", json!(["abc"])),
        ];
        for (text, sep, expected) in cases {
            assert_eq!(
                eval("States.StringSplit($.t, $.s)", json!({"t": text, "s": sep})),
                expected,
                "{text:?} by {sep:?}"
            );
        }
        // LS test_escape_sequence: a raw newline inside a literal is accepted.
        assert_eq!(
            eval("States.StringSplit('Hello\nWorld', '\n')", json!({})),
            json!(["Hello", "World"])
        );
        let err = eval_err("States.StringSplit($.t, ',')", json!({"t": ["a"]}));
        assert_eq!(failure_argument(&err), (Function::StringSplit, Some(1)));
    }

    // ---- evaluation plumbing ----

    #[test]
    fn path_failures_name_the_function_argument_and_path() {
        let err = eval_err("States.Array(1, $.missing)", json!({}));
        assert_eq!(
            err,
            IntrinsicError::PathResolution {
                function: Function::Array,
                index: 2,
                path: "$.missing".into(),
                message: "no field 'missing' in $.missing".into()
            }
        );
        assert!(err.is_runtime());
        assert!(!parse_err("States.Nope()").is_runtime());
    }

    #[test]
    fn resolver_receives_context_and_variable_paths_verbatim() {
        let call = parse("States.Format('{} {} {}', $$.Execution.Name, $greeting, $.x)").unwrap();
        let mut seen = Vec::new();
        let mut resolve = |path: &str| {
            seen.push(path.to_owned());
            Ok(json!(path_kind(path) as u8))
        };
        let v = evaluate(&call, &mut resolve, &mut SeededRandomness::new(1)).unwrap();
        assert_eq!(v, json!("1 2 0"));
        assert_eq!(seen, ["$$.Execution.Name", "$greeting", "$.x"]);
    }

    #[test]
    fn hand_built_trees_are_checked_before_evaluation() {
        let bad_arity = Intrinsic::new(Function::ArrayLength, vec![]);
        let err = evaluate(
            &bad_arity,
            &mut |_| Ok(Value::Null),
            &mut SeededRandomness::new(1),
        )
        .unwrap_err();
        assert!(matches!(err, IntrinsicError::Arity { .. }));

        let mut deep = Intrinsic::new(Function::Array, vec![]);
        for _ in 0..MAX_CALLS_PER_FIELD {
            deep = Intrinsic::new(Function::Array, vec![Arg::Call(Box::new(deep))]);
        }
        let err = evaluate(
            &deep,
            &mut |_| Ok(Value::Null),
            &mut SeededRandomness::new(1),
        )
        .unwrap_err();
        assert!(matches!(err, IntrinsicError::TooManyCalls { .. }));
    }

    #[test]
    fn uuid_comes_from_the_randomness_source() {
        let call = parse("States.Array(States.UUID(), States.UUID())").unwrap();
        let a = evaluate(
            &call,
            &mut |_| Ok(Value::Null),
            &mut SeededRandomness::new(3),
        )
        .unwrap();
        let b = evaluate(
            &call,
            &mut |_| Ok(Value::Null),
            &mut SeededRandomness::new(3),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn error_messages_name_function_and_argument() {
        let err = eval_err("States.ArrayPartition($.a, 0)", json!({"a": [1]}));
        assert_eq!(
            err.to_string(),
            "States.ArrayPartition argument 2: the chunk size must be a positive integer, got 0"
        );
        let err = parse_err("States.Hash('x', 'SHA3')");
        assert_eq!(
            err.to_string(),
            "States.Hash argument 2 at character 17: unsupported hash algorithm 'SHA3': expected one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
        );
    }

    // ---- no panics on arbitrary input ----

    /// A small xorshift generator, so that the property tests need no extra dependency.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    const FRAGMENTS: &[&str] = &[
        "States.",
        "States.Format",
        "States.Array",
        "States.ArrayRange",
        "States.Hash",
        "States.JsonMerge",
        "States.UUID",
        "States.StringSplit",
        "States.MathAdd",
        "States.Nope",
        "(",
        ")",
        "(",
        ")",
        ",",
        ", ",
        "'",
        "'",
        "\\",
        "\\'",
        "\\{",
        "{}",
        "{",
        "}",
        "$",
        "$.",
        "$$",
        "$.a",
        "$v",
        "[",
        "]",
        "['",
        "']",
        "\"",
        "-",
        "0",
        "1",
        "9",
        ".",
        "e",
        "E+",
        "1e999",
        "true",
        "false",
        "null",
        " ",
        "\t",
        "\n",
        "é",
        "✓",
        "\u{0}",
        "a",
        "Z",
        "_",
        "?",
        "@",
        "(@.a)",
        "SHA-1",
        "MD5",
    ];

    fn random_text(g: &mut Gen) -> String {
        let n = g.below(24);
        (0..n).map(|_| *g.pick(FRAGMENTS)).collect()
    }

    const VALID_EXAMPLES: &[&str] = &[
        "States.Format('Hello, my name is {}.', $.name)",
        "States.JsonToString(States.Array(1, 2))",
        r"States.Format('a \{\} {}', $.abc.['def ghi'])",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength($.x), -1))",
        "States.JsonMerge($.a, $.b, false)",
        "States.Hash($.d, 'SHA-512')",
        "States.MathRandom(1, 999, 42)",
        "States.ArrayRange(1, 9, 2)",
    ];

    fn mutate(g: &mut Gen, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..=g.below(4) {
            let at = g.below(chars.len() + 1);
            match g.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    chars[at] = g.pick(FRAGMENTS).chars().next().unwrap_or('x')
                }
                _ => {
                    for (k, c) in g.pick(FRAGMENTS).chars().enumerate() {
                        chars.insert(at + k, c);
                    }
                }
            }
        }
        chars.into_iter().collect()
    }

    fn random_value(g: &mut Gen, depth: usize) -> Value {
        let choice = if depth == 0 { g.below(7) } else { g.below(9) };
        match choice {
            0 => Value::Null,
            1 => Value::Bool(g.below(2) == 0),
            2 => json!(*g.pick(&[
                0i64,
                1,
                -1,
                5,
                999,
                1000,
                1001,
                i64::MIN,
                i64::MAX,
                2147483647,
                -2147483648
            ])),
            3 => json!(*g.pick(&[u64::MAX, 9_223_372_036_854_775_808])),
            4 => json!(*g.pick(&[
                0.5,
                -0.5,
                1.5,
                -0.0,
                1e300,
                -1e300,
                0.49999999999999994,
                2.5,
                1e19
            ])),
            5 => json!(*g.pick(&[
                "",
                " ",
                ",",
                "{}",
                "{} {}",
                "a,b,,c",
                "MD5",
                "SHA-256",
                "RGF0YQ==",
                "!!",
                "é✓",
                "{\"a\":1}",
                "[1,2]"
            ])),
            6 => Value::String("x".repeat(*g.pick(&[9_999, 10_000, 10_001]))),
            7 => Value::Array(
                (0..g.below(5))
                    .map(|_| random_value(g, depth - 1))
                    .collect(),
            ),
            _ => {
                let mut map = Map::new();
                for k in 0..g.below(4) {
                    map.insert(format!("k{}", k % 2), random_value(g, depth - 1));
                }
                Value::Object(map)
            }
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text() {
        let mut g = Gen(0x2545_F491_4F6C_DD1D);
        let mut parsed = 0;
        for i in 0..40_000 {
            let text = if i % 2 == 0 {
                random_text(&mut g)
            } else {
                let base = *g.pick(VALID_EXAMPLES);
                mutate(&mut g, base)
            };
            if let Ok(call) = parse(&text) {
                parsed += 1;
                // What parses also prints back to text that parses.
                assert!(parse(&call.to_string()).is_ok(), "{text} -> {call}");
            }
        }
        assert!(
            parsed > 100,
            "the generator should also produce valid calls ({parsed})"
        );
    }

    #[test]
    fn every_function_survives_arbitrary_argument_values() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        let mut random = SeededRandomness::new(11);
        for round in 0..3_000 {
            for function in Function::ALL {
                let arity = function.arity();
                let count = arity.min + g.below(arity.max.unwrap_or(arity.min + 3) - arity.min + 1);
                let values: Vec<Value> = (0..count).map(|_| random_value(&mut g, 3)).collect();
                let args = (0..count).map(|i| Arg::Path(format!("$.a{i}"))).collect();
                let call = Intrinsic::new(function, args);
                let mut resolve = |path: &str| {
                    let i: usize = path[3..].parse().map_err(|_| "bad path".to_owned())?;
                    Ok(values[i].clone())
                };
                let result = evaluate(&call, &mut resolve, &mut random);
                if let Err(e) = &result {
                    assert!(e.is_runtime(), "{function} round {round}: {e}");
                    assert!(e.to_string().starts_with(function.name()), "{e}");
                }
            }
        }
    }

    #[test]
    fn evaluating_arbitrary_parsed_text_never_panics() {
        let mut g = Gen(0xDEAD_BEEF_CAFE_F00D);
        let mut random = SeededRandomness::new(5);
        for _ in 0..20_000 {
            let base = *g.pick(VALID_EXAMPLES);
            let text = mutate(&mut g, base);
            if let Ok(call) = parse(&text) {
                let value = random_value(&mut g, 3);
                let _ = evaluate(&call, &mut |_| Ok(value.clone()), &mut random);
            }
        }
    }
}
