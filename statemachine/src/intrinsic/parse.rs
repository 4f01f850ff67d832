//! The call syntax: text such as `States.Format('Hello, {}', $.name)` to an [`Intrinsic`] tree.

use serde_json::Number;

use super::MAX_CALLS_PER_FIELD;
use super::check::check_call;
use super::error::IntrinsicError;
use super::syntax::{Arg, Function, Intrinsic};

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
