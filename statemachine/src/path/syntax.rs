//! The Jayway syntax both kinds of path share: text to segments and selectors, with the spec's
//! backslash escapes and the checks for what Step Functions refuses.

use super::error::PathError;

/// RFC 9535 §2.1 limits integers in a query to the exactly representable
/// I-JSON range; larger numbers are refused rather than silently rounded.
const MAX_INTEGER: i64 = (1 << 53) - 1;

/// Limit on bracket and parenthesis nesting inside a filter. The query parser
/// underneath is recursive, so unbounded nesting in hostile input could
/// overflow the stack; real filters are a few levels deep at most.
const MAX_FILTER_NESTING: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Slice),
    /// The filter text after `?`, already checked, passed on to RFC 9535 as is.
    Filter(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Slice {
    pub(super) start: Option<i64>,
    pub(super) end: Option<i64>,
    pub(super) step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Segment {
    /// `.name`, `.*` or `[...]`.
    Child(Vec<Selector>),
    /// `..name`, `..*` or `..[...]`.
    Descendant(Vec<Selector>),
}

impl Segment {
    /// One member or one index: the only segments of a definite path.
    pub(super) fn is_singular(&self) -> bool {
        matches!(self, Segment::Child(selectors)
            if matches!(selectors.as_slice(), [Selector::Name(_) | Selector::Index(_)]))
    }
}

/// Characters that are JSONPath operators and therefore need a backslash to
/// be part of a dotted member name (\[SPEC] "Reference Paths" lists `@ , : ?`;
/// its examples escape `.`, `@`, `[` and `?`).
pub(super) fn is_reserved_in_dotted_name(c: char) -> bool {
    matches!(c, '@' | ',' | ':' | '?' | '*' | '(' | ')' | ']')
}

pub(super) struct Lexer<'a> {
    /// The text as the user wrote it, for error messages.
    label: &'a str,
    chars: Vec<char>,
    pos: usize,
    /// Characters of `label` that precede `chars` (a stripped prefix).
    offset: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(label: &'a str, body: &str, offset: usize) -> Self {
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

    pub(super) fn segments(mut self) -> Result<Vec<Segment>, PathError> {
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

/// Writes `text` as a single-quoted string literal that both RFC 9535 and the
/// bracket reading of the lexer above read back unchanged.
pub(super) fn push_quoted(out: &mut String, text: &str) {
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
