//! Choice rules as Step Functions evaluates them: the first matching rule wins; a comparison between
//! values of different types is false ("Step Functions doesn't attempt to match a numeric field to a
//! string value"); an absent Variable is a runtime error except for `IsPresent`.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::dataflow::{Scope, read_path};
use crate::definition::{ChoiceRule, Comparison, Operand, Ordering};
use crate::error::{StateError, errors};
use crate::path::PathRef;

/// Whether `rule` holds for `input`.
pub fn holds(rule: &ChoiceRule, input: &Value, scope: &Scope<'_>) -> Result<bool, StateError> {
    match rule {
        ChoiceRule::And(rules) => {
            for rule in rules {
                if !holds(rule, input, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ChoiceRule::Or(rules) => {
            for rule in rules {
                if holds(rule, input, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ChoiceRule::Not(rule) => Ok(!holds(rule, input, scope)?),
        ChoiceRule::Test {
            variable,
            comparison,
        } => test(variable, comparison, input, scope),
    }
}

fn test(
    variable: &PathRef,
    comparison: &Comparison,
    input: &Value,
    scope: &Scope<'_>,
) -> Result<bool, StateError> {
    let value = read_path(variable, input, scope, "Variable");
    if let Comparison::IsPresent(expected) = comparison {
        return Ok(value.is_ok() == *expected);
    }
    let value = value.map_err(|e| {
        StateError::new(
            errors::RUNTIME,
            format!("Invalid path '{variable}': The choice state's condition path references an invalid value. ({})", e.cause),
        )
    })?;
    let operand = |operand_path: &PathRef| read_path(operand_path, input, scope, "the comparison");
    Ok(match comparison {
        Comparison::IsPresent(_) => true,
        Comparison::IsNull(expected) => value.is_null() == *expected,
        Comparison::IsNumeric(expected) => value.is_number() == *expected,
        Comparison::IsString(expected) => value.is_string() == *expected,
        Comparison::IsBoolean(expected) => value.is_boolean() == *expected,
        Comparison::IsTimestamp(expected) => {
            value.as_str().and_then(timestamp).is_some() == *expected
        }
        Comparison::StringMatches(pattern) => {
            value.as_str().is_some_and(|s| wildcard_match(pattern, s))
        }
        Comparison::String(ordering, right) => {
            let right = match right {
                Operand::Value(s) => Value::String(s.clone()),
                Operand::Path(p) => operand(p)?,
            };
            match (value.as_str(), right.as_str()) {
                // Step Functions runs on Java, whose String.compareTo orders UTF-16 code units; that
                // differs from code point order for characters above U+FFFF.
                (Some(left), Some(right)) => {
                    compare(ordering, left.encode_utf16().cmp(right.encode_utf16()))
                }
                _ => false,
            }
        }
        Comparison::Numeric(ordering, right) => {
            let right = match right {
                Operand::Value(n) => Some(*n),
                Operand::Path(p) => operand(p)?.as_f64(),
            };
            match (value.as_f64(), right) {
                (Some(left), Some(right)) => left
                    .partial_cmp(&right)
                    .is_some_and(|o| compare(ordering, o)),
                _ => false,
            }
        }
        Comparison::Boolean(right) => {
            let right = match right {
                Operand::Value(b) => Some(*b),
                Operand::Path(p) => operand(p)?.as_bool(),
            };
            matches!((value.as_bool(), right), (Some(l), Some(r)) if l == r)
        }
        Comparison::Timestamp(ordering, right) => {
            let right = match right {
                Operand::Value(s) => timestamp(s),
                Operand::Path(p) => operand(p)?.as_str().and_then(timestamp),
            };
            match (value.as_str().and_then(timestamp), right) {
                (Some(left), Some(right)) => compare(ordering, left.cmp(&right)),
                _ => false,
            }
        }
    })
}

fn compare(ordering: &Ordering, found: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match ordering {
        Ordering::Equals => found == Equal,
        Ordering::LessThan => found == Less,
        Ordering::GreaterThan => found == Greater,
        Ordering::LessThanEquals => found != Greater,
        Ordering::GreaterThanEquals => found != Less,
    }
}

fn timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// StringMatches: `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Any,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Any),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy match with backtracking to the last star: linear in practice, no recursion.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_the_developer_guide() {
        assert!(wildcard_match("log-*.txt", "log-2026.txt"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("literal\\*star", "literal*star"));
        assert!(!wildcard_match("literal\\*star", "literalXstar"));
        assert!(wildcard_match("back\\\\slash", "back\\slash"));
    }
}
