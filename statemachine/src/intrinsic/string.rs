//! The string functions: States.Format and States.StringSplit.

use serde_json::Value;

use super::args::{Args, describe};
use super::error::IntrinsicError;
use super::syntax::Arg;

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
pub(super) fn format(args: &Args, first: Option<&Arg>) -> Result<Value, IntrinsicError> {
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

/// DG "the second argument is the delimiting character", but its own example
/// splits `"This.is+a,test=string"` on `".+,="`, so every character of the second
/// argument is a separator. Empty pieces are dropped. LS recorded AWS giving
/// `[]` for `",,,,"` and `[" ", " "]` for `", , ,"`, as Java's StringTokenizer does.
pub(super) fn string_split(args: &Args) -> Result<Value, IntrinsicError> {
    let text = args.string(0)?;
    let separators = args.string(1)?;
    Ok(Value::Array(
        text.split(|c: char| separators.contains(c))
            .filter(|piece| !piece.is_empty())
            .map(|piece| Value::String(piece.to_owned()))
            .collect(),
    ))
}
