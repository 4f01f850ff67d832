//! Schedule expressions (`sluice:schedule` tags, EventBridge `cron(…)` and `rate(…)`): parsing and the
//! next time after any instant never panic.

use proptest::prelude::*;
use sluice_core::schedule;
use time::OffsetDateTime;

use crate::{config, text_from};

const CRON_CHARS: &str = "0123456789*/,?-LW# ";
const WORDS: [&str; 8] = [
    "MON", "FRI", "JAN", "DEC", "minute", "hours", "days", "SUN-SAT",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cron_expressions_never_panic(
        fields in proptest::collection::vec(text_from(CRON_CHARS, 8), 0..8),
        word in proptest::sample::select(WORDS.to_vec()),
        at in -62_135_596_800i64..253_402_300_799,
    ) {
        let mut fields = fields;
        fields.push(word.to_string());
        let expression = format!("cron({})", fields.join(" "));
        if let Ok(parsed) = schedule::parse(&expression) {
            let after = OffsetDateTime::from_unix_timestamp(at).unwrap();
            let _ = parsed.next_after(after);
        }
    }

    #[test]
    fn rate_expressions_never_panic(amount in "\\PC{0,12}", unit in proptest::sample::select(WORDS.to_vec())) {
        let _ = schedule::parse(&format!("rate({amount} {unit})"));
    }

    #[test]
    fn any_text_never_panics(text in "\\PC{0,64}") {
        let _ = schedule::parse(&text);
    }
}
