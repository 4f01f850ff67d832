//! The syntax tree of an intrinsic call: the functions AWS defines, their arities, calls and arguments.

use std::fmt;

use serde_json::Number;

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
    pub(super) fn literal_type(&self) -> Option<&'static str> {
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
