//! The model's length limits on strings Sluice answers with, and cutting a text to fit one.
//!
//! Some strings the API returns are not chosen by Sluice: an action's failure message (a build's last log
//! lines, a function's stderr) or its summary. CodePipeline's model bounds them (`Message` to 5,000,
//! `ExecutionSummary` to 2,048), so they are cut when they are written, keeping the beginning and the end with
//! a marker saying how much was left out between; the whole text stays where it came from (a build's log).
//! Lengths are counted as AWS counts them, in UTF-16 code units, and a cut never splits a character.

use std::borrow::Cow;

use super::{Shape, codepipeline};

/// ErrorDetails' `message`, and the messages of error answers.
pub const MESSAGE: &str = "Message";
/// An action execution's `summary` (GetPipelineState's latestExecution, ExecutionDetails).
pub const EXECUTION_SUMMARY: &str = "ExecutionSummary";
/// ListPipelineExecutions' `stopTrigger.reason`.
pub const STOP_REASON: &str = "StopPipelineExecutionReason";

/// The most UTF-16 code units the model allows in a string of `shape`; `None` for a shape without a
/// maximum (or not in the model).
pub fn max_length(shape: &str) -> Option<usize> {
    match codepipeline().shape(shape) {
        Some(Shape::String { max: Some(max), .. }) => usize::try_from(*max).ok(),
        _ => None,
    }
}

/// `text` cut to the maximum of `shape` ([`cut`]); unchanged when the shape has none.
pub fn fit<'a>(text: &'a str, shape: &str) -> Cow<'a, str> {
    match max_length(shape) {
        Some(max) => cut(text, max),
        None => Cow::Borrowed(text),
    }
}

/// [`fit`] for an owned text: the same `String` back when it fits.
pub fn fit_owned(text: String, shape: &str) -> String {
    match fit(&text, shape) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cut) => cut,
    }
}

/// `text` in at most `max` UTF-16 code units: unchanged when it fits; otherwise its beginning and its end,
/// about half of `max` each, around `[… N characters cut …]` (N in characters). When `max` is too small for
/// the marker, only the beginning is kept.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.encode_utf16().count() <= max {
        return Cow::Borrowed(text);
    }
    let total = text.chars().count();
    // The marker for every character cut is at least as long as the real one, so what is kept fits.
    let longest_marker = units(&marker(total));
    if max < longest_marker + 2 {
        return Cow::Owned(head(text, max).to_owned());
    }
    let budget = max - longest_marker;
    let start = head(text, budget / 2);
    let end = tail(text, budget - budget / 2);
    let left_out = total - start.chars().count() - end.chars().count();
    Cow::Owned(format!("{start}{}{end}", marker(left_out)))
}

fn marker(left_out: usize) -> String {
    format!(" [… {left_out} characters cut …] ")
}

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The longest beginning of `text` of at most `max` UTF-16 code units.
fn head(text: &str, max: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &text[..at];
        }
    }
    text
}

/// The longest end of `text` of at most `max` UTF-16 code units.
fn tail(text: &str, max: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices().rev() {
        used += c.len_utf16();
        if used > max {
            return &text[at + c.len_utf8()..];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_come_from_the_model() {
        assert_eq!(max_length(MESSAGE), Some(5000));
        assert_eq!(max_length(EXECUTION_SUMMARY), Some(2048));
        assert_eq!(max_length(STOP_REASON), Some(200));
        assert_eq!(max_length("PipelineExecutionStatusSummary"), None, "no max");
        assert_eq!(max_length("NoSuchShape"), None);
    }

    #[test]
    fn a_text_at_the_limit_is_kept_as_it_is() {
        let text = "é".repeat(5000);
        assert!(matches!(fit(&text, MESSAGE), Cow::Borrowed(_)));
        // Counted in UTF-16 units, as AWS counts: 2500 emoji are 5000 units.
        let emoji = "😀".repeat(2500);
        assert!(matches!(fit(&emoji, MESSAGE), Cow::Borrowed(_)));
        assert_eq!(fit_owned(emoji.clone(), MESSAGE), emoji);
    }

    #[test]
    fn one_unit_over_is_cut_keeping_both_ends_and_saying_how_much() {
        let text = format!("BEGIN{}END", "x".repeat(4992));
        assert_eq!(units(&text), 5000);
        assert!(matches!(fit(&text, MESSAGE), Cow::Borrowed(_)));
        let over = format!("{text}!");
        let cut = fit(&over, MESSAGE);
        assert!(units(&cut) <= 5000, "{}", units(&cut));
        assert!(cut.starts_with("BEGIN") && cut.ends_with("END!"), "{cut}");
        let left_out: usize = cut
            .split("[… ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert_eq!(
            left_out + cut.chars().count() - marker(left_out).chars().count(),
            over.chars().count(),
            "kept and left out add up"
        );
    }

    #[test]
    fn cuts_fall_on_character_boundaries_for_any_mix_of_widths() {
        // 1-, 2-, 3- and 4-byte characters; the 4-byte one is two UTF-16 units.
        let pieces = ["a", "é", "€", "😀"];
        for max in [30, 31, 32, 33, 100, 2048, 5000] {
            for offset in 0..4 {
                let text: String = (0..6000).map(|i| pieces[(i + offset) % 4]).collect();
                let cut = cut(&text, max);
                assert!(units(&cut) <= max, "max {max}: {} units", units(&cut));
                assert!(units(&cut) >= max - 2, "max {max}: uses its room");
                let mut kept = cut.split(" [… ");
                let start = kept.next().unwrap();
                assert!(text.starts_with(start));
                let end = cut.rsplit(" …] ").next().unwrap();
                assert!(text.ends_with(end), "max {max}");
            }
        }
    }

    #[test]
    fn a_limit_too_small_for_the_marker_keeps_the_beginning() {
        assert_eq!(cut("abcdefghijklmnop", 5), "abcde");
        // An emoji is never split in two.
        assert_eq!(cut("😀😀😀", 3), "😀");
        assert_eq!(cut("😀", 1), "");
    }
}
