//! `sluice schedule next`: the output contract other checks rely on. One UTC time a line
//! (`2026-12-07T02:00:00Z`), strictly after --after, and exit 0 (fewer lines when the schedule stops); exit 1
//! with the field and the token on stderr for an expression EventBridge refuses; exit 2 for a bad flag.

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

fn next(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["schedule", "next"])
        .args(args)
        .output()
        .expect("sluice runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The lines of a run that must have succeeded with nothing on stderr.
fn fires(args: &[&str]) -> Vec<String> {
    let output = next(args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    stdout(&output).lines().map(str::to_owned).collect()
}

/// `2026-12-07T02:00:00Z`: UTC, seconds always, no fraction.
fn is_utc_seconds(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

fn epoch_seconds_now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

fn epoch_seconds(line: &str) -> i64 {
    time::OffsetDateTime::parse(line, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|error| panic!("{line}: {error}"))
        .unix_timestamp()
}

#[test]
fn prints_one_time_by_default_strictly_after_the_instant() {
    let nightly = "cron(0 2 * * ? *)";
    assert_eq!(
        fires(&[nightly, "--after", "2026-12-07T01:59:59Z"]),
        ["2026-12-07T02:00:00Z"]
    );
    // A firing at --after itself is not after it.
    assert_eq!(
        fires(&[nightly, "--after", "2026-12-07T02:00:00Z"]),
        ["2026-12-08T02:00:00Z"]
    );
}

#[test]
fn count_prints_that_many_times_one_a_line() {
    let output = next(&[
        "cron(0/20 9 ? * MON-FRI *)",
        "--after",
        "2026-12-04T09:30:00Z",
        "--count",
        "4",
    ]);
    assert_eq!(output.status.code(), Some(0));
    // Friday 4 December 2026, then Monday the 7th.
    assert_eq!(
        stdout(&output),
        "2026-12-04T09:40:00Z\n2026-12-07T09:00:00Z\n2026-12-07T09:20:00Z\n2026-12-07T09:40:00Z\n"
    );
}

#[test]
fn after_takes_any_offset_and_the_times_are_utc() {
    // 03:00 at +01:00 is 02:00 UTC, a firing itself, so the next is the following night.
    assert_eq!(
        fires(&[
            "cron(0 2 * * ? *)",
            "--after",
            "2026-12-07T03:00:00+01:00",
            "--count",
            "2"
        ]),
        ["2026-12-08T02:00:00Z", "2026-12-09T02:00:00Z"]
    );
    assert_eq!(
        fires(&[
            "cron(30 23 * * ? *)",
            "--after",
            "2026-12-07T08:00:00-05:00"
        ]),
        ["2026-12-07T23:30:00Z"]
    );
}

#[test]
fn a_rate_counts_from_after_to_the_second_without_a_fraction() {
    let lines = fires(&[
        "rate(90 minutes)",
        "--after",
        "2026-12-07T10:00:30.750+00:00",
        "--count",
        "3",
    ]);
    assert_eq!(
        lines,
        [
            "2026-12-07T11:30:30Z",
            "2026-12-07T13:00:30Z",
            "2026-12-07T14:30:30Z"
        ]
    );
    assert!(lines.iter().all(|line| is_utc_seconds(line)), "{lines:?}");
}

#[test]
fn after_defaults_to_now() {
    let before = epoch_seconds_now();
    let lines = fires(&["rate(1 hour)", "--count", "2"]);
    let after = epoch_seconds_now();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|line| is_utc_seconds(line)), "{lines:?}");
    let first = epoch_seconds(&lines[0]);
    assert!(
        (before + 3600..=after + 3600).contains(&first),
        "{first} not an hour after {before}..{after}"
    );
    assert_eq!(epoch_seconds(&lines[1]), first + 3600);

    let minute = fires(&["cron(* * * * ? *)"]);
    assert_eq!(minute.len(), 1);
    let fire = epoch_seconds(&minute[0]);
    assert_eq!(fire % 60, 0, "{minute:?}");
    assert!(
        fire > before && fire <= epoch_seconds_now() + 60,
        "{minute:?}"
    );
}

#[test]
fn a_schedule_that_stops_firing_prints_fewer_lines_and_exits_0() {
    assert_eq!(
        fires(&[
            "cron(0 0 1 1 ? 2027-2028)",
            "--after",
            "2026-12-07T00:00:00Z",
            "--count",
            "5"
        ]),
        ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]
    );
    assert!(
        fires(&[
            "cron(0 0 1 1 ? 2020)",
            "--after",
            "2026-12-07T00:00:00Z",
            "--count",
            "3"
        ])
        .is_empty()
    );
    // 30 February never comes.
    assert!(fires(&["cron(0 0 30 FEB ? *)", "--count", "3"]).is_empty());
}

#[test]
fn an_invalid_expression_exits_1_naming_the_field_and_the_token() {
    for (expression, field, token) in [
        ("cron(60 * * * ? *)", "minutes", "60"),
        ("cron(0/0 * * * ? *)", "minutes", "0/0"),
        ("cron(0,,30 * * * ? *)", "minutes", "0,,30"),
        ("cron(? * * * ? *)", "minutes", "?"),
        ("cron(0 24 * * ? *)", "hours", "24"),
        ("cron(0 17-8 * * ? *)", "hours", "17-8"),
        ("cron(0 0 32 * ? *)", "day-of-month", "32"),
        ("cron(0 0 L,15 * ? *)", "day-of-month", "L,15"),
        ("cron(0 0 ?,1 * MON *)", "day-of-month", "?,1"),
        ("cron(0 0 1#2 * ? *)", "day-of-month", "1#2"),
        ("cron(0 0 1 13 ? *)", "month", "13"),
        ("cron(0 0 1 JANUARY ? *)", "month", "JANUARY"),
        ("cron(0 0 ? * 0 *)", "day-of-week", "0"),
        ("cron(0 0 ? * MON-FRY *)", "day-of-week", "FRY"),
        ("cron(0 0 ? * 1/2 *)", "day-of-week", "1/2"),
        ("cron(0 0 ? * 2#6 *)", "day-of-week", "2#6"),
        ("cron(0 0 ? * 6L,2 *)", "day-of-week", "6L,2"),
        ("cron(0 0 1 1 ? 1969)", "year", "1969"),
        ("cron(0 0 1 1 ? 2026/0)", "year", "2026/0"),
    ] {
        let output = next(&[expression]);
        assert_eq!(output.status.code(), Some(1), "{expression}");
        assert_eq!(stdout(&output), "", "{expression}");
        let message = stderr(&output);
        assert!(
            message.starts_with(&format!("sluice schedule next: {expression}: ")),
            "{message}"
        );
        assert!(
            message.contains(&format!("the {field} field has \"{token}\"")),
            "{expression}: {message}"
        );
    }
}

#[test]
fn day_fields_set_together_name_both_and_their_tokens() {
    let output = next(&["cron(0 12 1 * MON *)"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "sluice schedule next: cron(0 12 1 * MON *): the day-of-month field (\"1\") and the day-of-week field \
         (\"MON\") cannot both be set; one must be ?\n"
    );
}

#[test]
fn other_refused_expressions_exit_1_with_the_reason() {
    for (expression, reason) in [
        ("cron(0 12 * * ?)", "has 6 fields"),
        ("0 12 * * ? *", "is not a schedule expression"),
        ("rate(5 minute)", "plural unit minutes"),
        ("rate(0 hours)", "not \"0\""),
        ("rate(2 weeks)", "not \"weeks\""),
    ] {
        let output = next(&[expression]);
        assert_eq!(output.status.code(), Some(1), "{expression}");
        assert_eq!(stdout(&output), "");
        assert!(stderr(&output).contains(reason), "{}", stderr(&output));
    }
}

#[test]
fn a_bad_after_exits_2_naming_the_flag() {
    for after in [
        "yesterday",
        "2026-12-07",
        "2026-12-07T02:00:00",
        "2026-13-07T02:00:00Z",
        "",
    ] {
        let output = next(&["rate(1 day)", "--after", after]);
        assert_eq!(output.status.code(), Some(2), "{after:?}");
        assert_eq!(stdout(&output), "");
        let message = stderr(&output);
        assert!(message.contains("--after"), "{message}");
        assert!(message.contains(&format!("'{after}'")), "{message}");
    }
}

#[test]
fn a_bad_count_exits_2_naming_the_flag() {
    for count in ["0", "-1", "two", "1.5", "99999999999"] {
        let output = next(&["rate(1 day)", "--count", count]);
        assert_eq!(output.status.code(), Some(2), "{count:?}");
        assert_eq!(stdout(&output), "");
        let message = stderr(&output);
        assert!(message.contains("--count"), "{message}");
    }
}

#[test]
fn the_help_tells_the_default_count_and_the_shorter_listing() {
    let output = next(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for promise in [
        "[default: 1]",
        "[default: now]",
        "prints fewer lines",
        "A rate counts from --after",
        "exits 1",
    ] {
        assert!(help.contains(promise), "{promise:?} missing from:\n{help}");
    }
}
