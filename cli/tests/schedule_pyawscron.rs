//! `sluice schedule next` agrees with pyawscron (PyPI, an AWS cron parser; pinned in the Makefile, installed into
//! .venv by `make test`) on a few hundred generated cron expressions: the next five firings after an instant.
//!
//! One python process answers every expression of a test (support/pyawscron_next.py). Our side runs in process
//! through `sluice_core::schedule`, as `sluice schedule next` does, and a few cases also run the binary.
//!
//! pyawscron reads cron expressions only, so rates are not compared (tests/schedule.rs covers them). Where
//! pyawscron 1.0.7 is not EventBridge, `Gap` names the difference; `known_gaps_are_real` shows each one on an
//! example, with EventBridge's answer written out.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sluice_core::schedule;
use sluice_core::time::{Timestamp, iso_seconds};
use time::OffsetDateTime;

const COUNT: usize = 5;
const CASES: usize = 400;
/// The comparison must cover most cases: a generator or gap that grew to exclude them fails the test.
const AT_LEAST_COMPARED: usize = 300;

/// What pyawscron 1.0.7 said: its firings, and the exception that stopped it, if any.
#[derive(Debug)]
struct Answer {
    times: Vec<String>,
    error: Option<String>,
}

/// pyawscron's next `count` firings of each (expression without `cron( )`, after) in one python process.
fn pyawscron(requests: &[(String, OffsetDateTime, usize)]) -> Vec<Answer> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` installs pyawscron into .venv",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root.join("tests/support/pyawscron_next.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut input = String::new();
    for (expression, after, count) in requests {
        let request = json!({"expression": expression, "after": utc(*after), "count": count});
        input.push_str(&format!("{request}\n"));
    }
    let mut stdin = child.stdin.take().unwrap();
    // The script answers line by line; a thread writes so that neither side waits on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let answers: Vec<Answer> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|line| {
            let answer: Value = serde_json::from_str(&line.unwrap()).unwrap();
            Answer {
                times: answer["times"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|time| time.as_str().unwrap().to_owned())
                    .collect(),
                error: answer["error"].as_str().map(str::to_owned),
            }
        })
        .collect();
    writer.join().unwrap().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() && answers.len() == requests.len(),
        "pyawscron_next.py answered {} of {} ({}); `make test` installs pyawscron into .venv",
        answers.len(),
        requests.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    answers
}

/// `2026-12-07T02:00:00Z`, as `sluice schedule next` prints it.
fn utc(instant: OffsetDateTime) -> String {
    iso_seconds(Timestamp::from_epoch_millis(
        instant.unix_timestamp() * 1000,
    ))
}

/// Our side, in process: what `sluice schedule next EXPRESSION --after AFTER --count N` prints.
fn ours(expression: &str, after: OffsetDateTime, count: usize) -> Vec<String> {
    let schedule = schedule::parse(expression)
        .unwrap_or_else(|error| panic!("the generator wrote an invalid expression: {error}"));
    schedule.firings_after(after).take(count).map(utc).collect()
}

/// The binary itself, with `after` written at `offset` hours from UTC.
fn binary(expression: &str, after: OffsetDateTime, offset: i8, count: usize) -> Vec<String> {
    let offset = time::UtcOffset::from_hms(offset, 0, 0).unwrap();
    let after = after
        .to_offset(offset)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["schedule", "next", expression, "--after", &after])
        .args(["--count", &count.to_string()])
        .output()
        .expect("sluice runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{expression}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// SplitMix64: a fixed seed gives the same expressions on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number from `low` to `high`, both included.
    fn between(&mut self, low: u16, high: u16) -> u16 {
        let span = u64::from(high - low) + 1;
        low + u16::try_from(self.next() % span).unwrap()
    }

    fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What a list field allows: its range, its names from `min` on, and whether it takes increments.
struct Field {
    min: u16,
    max: u16,
    names: &'static [&'static str],
    steps: bool,
}

const MINUTES: Field = Field {
    min: 0,
    max: 59,
    names: &[],
    steps: true,
};
const HOURS: Field = Field {
    min: 0,
    max: 23,
    names: &[],
    steps: true,
};
const DAY_OF_MONTH: Field = Field {
    min: 1,
    max: 31,
    names: &[],
    steps: true,
};
const MONTH: Field = Field {
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    steps: true,
};
const DAY_OF_WEEK: Field = Field {
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    steps: false,
};
/// Years near the instants, so that some schedules have stopped firing and others have not started.
const YEAR: Field = Field {
    min: 2022,
    max: 2036,
    names: &[],
    steps: true,
};

fn value(rng: &mut Rng, field: &Field, low: u16, high: u16) -> String {
    let number = rng.between(low, high);
    match field.names.get(usize::from(number - field.min)) {
        Some(name) if rng.percent(40) => (*name).to_owned(),
        _ => number.to_string(),
    }
}

fn range(rng: &mut Rng, field: &Field) -> String {
    let start = rng.between(field.min, field.max);
    let end = rng.between(start, field.max);
    format!(
        "{}-{}",
        value(rng, field, start, start),
        value(rng, field, end, end)
    )
}

/// An increment, mostly small.
fn step(rng: &mut Rng, field: &Field) -> u16 {
    let span = field.max - field.min + 1;
    if rng.percent(80) {
        rng.between(1, span.min(12))
    } else {
        rng.between(1, span)
    }
}

/// A value, a range, `*`, an increment of each, or a list of values and ranges (now and then with an increment
/// among them, which pyawscron cannot read: `Gap::ListWithIncrement`).
fn list(rng: &mut Rng, field: &Field) -> String {
    let (min, max) = (field.min, field.max);
    match rng.next() % 10 {
        0 => "*".to_owned(),
        1 | 2 => value(rng, field, min, max),
        3 => range(rng, field),
        4 if field.steps => format!("*/{}", step(rng, field)),
        5 if field.steps => format!("{}/{}", value(rng, field, min, max), step(rng, field)),
        6 if field.steps => format!("{}/{}", range(rng, field), step(rng, field)),
        9 if field.steps && rng.percent(15) => {
            format!(
                "{}/{},{}",
                value(rng, field, min, max),
                step(rng, field),
                value(rng, field, min, max)
            )
        }
        _ => {
            let items = rng.between(2, 4);
            (0..items)
                .map(|_| {
                    if rng.percent(70) {
                        value(rng, field, min, max)
                    } else {
                        range(rng, field)
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

fn day_of_month(rng: &mut Rng) -> String {
    match rng.next() % 10 {
        0 => "L".to_owned(),
        1 => "LW".to_owned(),
        2 | 3 => format!("{}W", rng.between(1, 31)),
        // Mostly the first 28 days, so that most expressions stay comparable (`Gap::DayPastMonthEnd`).
        4..=7 => {
            let days = Field {
                max: 28,
                ..DAY_OF_MONTH
            };
            list(rng, &days)
        }
        _ => list(rng, &DAY_OF_MONTH),
    }
}

fn day_of_week(rng: &mut Rng) -> String {
    match rng.next() % 10 {
        0 => "L".to_owned(),
        1 | 2 => format!("{}L", value(rng, &DAY_OF_WEEK, 1, 7)),
        3..=5 => format!("{}#{}", value(rng, &DAY_OF_WEEK, 1, 7), rng.between(1, 5)),
        _ => list(rng, &DAY_OF_WEEK),
    }
}

/// One generated expression's six fields and the instant to count from.
struct Case {
    fields: [String; 6],
    after: OffsetDateTime,
}

impl Case {
    fn generate(rng: &mut Rng) -> Case {
        let minutes = list(rng, &MINUTES);
        let hours = list(rng, &HOURS);
        let (dom, dow) = if rng.percent(50) {
            (day_of_month(rng), "?".to_owned())
        } else {
            ("?".to_owned(), day_of_week(rng))
        };
        let month = if rng.percent(40) {
            "*".to_owned()
        } else {
            list(rng, &MONTH)
        };
        let year = if rng.percent(50) {
            "*".to_owned()
        } else {
            list(rng, &YEAR)
        };
        // From 2024 to 2030; half of them on a whole minute, where a firing can fall on the instant itself.
        let mut seconds = 1_704_067_200 + i64::try_from(rng.next() % 220_898_000).unwrap();
        if rng.percent(50) {
            seconds -= seconds % 60;
        }
        Case {
            fields: [minutes, hours, dom, month, dow, year],
            after: OffsetDateTime::from_unix_timestamp(seconds).unwrap(),
        }
    }

    fn from_fields(fields: &str, after: OffsetDateTime) -> Case {
        let fields: Vec<String> = fields.split(' ').map(str::to_owned).collect();
        Case {
            fields: fields.try_into().expect("six fields"),
            after,
        }
    }

    /// As pyawscron takes it: the fields alone.
    fn fields(&self) -> String {
        self.fields.join(" ")
    }

    fn expression(&self) -> String {
        format!("cron({})", self.fields())
    }
}

/// Where pyawscron 1.0.7 is not EventBridge. The forms it cannot read are not sent to it; the wrong answers it is
/// known to give are accepted only as the exception it raises, in the cases it raises it, and every firing it
/// gives before that is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// Not supported: `LW` in day-of-month, the last weekday of the month. pyawscron reads it as a day number
    /// before `W` and raises on int("L").
    LastWeekday,
    /// Not supported: `L` alone in day-of-week, the last day of the week (Saturday: EventBridge follows Quartz).
    /// pyawscron reads it as "the last weekday 0 of the month", which no day is, and raises after ten months.
    LastDayOfWeek,
    /// Not supported: a list holding an increment among other items (`5/15,2`). pyawscron splits at `/` before
    /// the commas and raises on int("15,2").
    ListWithIncrement,
    /// Wrong: a day of the month from 29 to 31 in a month that lacks it. EventBridge skips that month;
    /// pyawscron takes the day anyway and raises building the date ("day is out of range for month").
    DayPastMonthEnd,
    /// Wrong: pyawscron gives up after ten steps (to the next hour, day, month or year) without a firing and
    /// raises ("iter 11 > 10"). It takes that many only where the day can be missing from a month: the fifth
    /// weekday (`2#5`), or `nW` for a day from 29 to 31.
    GivesUpSearching,
}

impl Gap {
    /// What pyawscron's exception says in this gap.
    fn exception(self) -> &'static str {
        match self {
            Gap::LastWeekday | Gap::ListWithIncrement => "ValueError: invalid literal for int()",
            Gap::DayPastMonthEnd => "ValueError: day is out of range for month",
            Gap::LastDayOfWeek | Gap::GivesUpSearching => {
                "Exception: AwsCronParser : this shouldn't happen, but iter 11 > 10"
            }
        }
    }

    /// The form pyawscron cannot read at all, if the case has one.
    fn unsupported(case: &Case) -> Option<Gap> {
        let [minutes, hours, dom, month, dow, year] = &case.fields;
        if dom == "LW" {
            return Some(Gap::LastWeekday);
        }
        if dow == "L" {
            return Some(Gap::LastDayOfWeek);
        }
        let list_with_increment = |field: &String| field.contains(',') && field.contains('/');
        if [minutes, hours, dom, month, year]
            .into_iter()
            .any(list_with_increment)
        {
            return Some(Gap::ListWithIncrement);
        }
        None
    }

    /// The known wrong answer pyawscron's `error` is, if the case is one where pyawscron gives it.
    fn explains(case: &Case, error: &str) -> Option<Gap> {
        let [_, _, dom, _, dow, _] = &case.fields;
        let late_day = |day: &str| day.parse::<u16>().is_ok_and(|day| day >= 29);
        let late_days_listed = !dom.contains(['L', 'W', '?'])
            && dom.split(',').any(|item| {
                // An increment may reach a late day (`*/10` is 1, 11, 21 and 31); `*` alone is every day of
                // the month pyawscron is in, which it always finds.
                item.contains('/') || item.split('-').any(late_day)
            });
        let late_nearest = dom.strip_suffix('W').is_some_and(late_day);
        let fifth = dow.ends_with("#5");
        [
            (Gap::DayPastMonthEnd, late_days_listed),
            (Gap::GivesUpSearching, late_nearest || fifth),
        ]
        .into_iter()
        .find(|(gap, applies)| *applies && error.starts_with(gap.exception()))
        .map(|(gap, _)| gap)
    }
}

#[test]
fn next_firings_agree_with_pyawscron_on_generated_expressions() {
    let mut rng = Rng(0x51CE_5C4E_D000_0001);
    let cases: Vec<Case> = (0..CASES).map(|_| Case::generate(&mut rng)).collect();
    let mut skipped: BTreeMap<Gap, usize> = BTreeMap::new();
    let sent: Vec<&Case> = cases
        .iter()
        .filter(|case| match Gap::unsupported(case) {
            Some(gap) => {
                *skipped.entry(gap).or_default() += 1;
                false
            }
            None => true,
        })
        .collect();
    let requests: Vec<_> = sent
        .iter()
        .map(|case| (case.fields(), case.after, COUNT))
        .collect();
    let answers = pyawscron(&requests);

    let mut disagreements = Vec::new();
    let mut explained: BTreeMap<Gap, usize> = BTreeMap::new();
    let mut compared_in_full = Vec::new();
    for (case, answer) in sent.iter().zip(&answers) {
        let expression = case.expression();
        let ours = ours(&expression, case.after, COUNT);
        let after = utc(case.after);
        match &answer.error {
            None if ours == answer.times => compared_in_full.push(*case),
            None => disagreements.push(format!(
                "{expression} after {after}: ours {ours:?}, pyawscron {:?}",
                answer.times
            )),
            Some(error) => match Gap::explains(case, error) {
                // pyawscron stopped on a known gap: what it found before must still agree.
                Some(gap) if ours.starts_with(&answer.times) => {
                    *explained.entry(gap).or_default() += 1;
                }
                _ => disagreements.push(format!(
                    "{expression} after {after}: ours {ours:?}, pyawscron {:?} then {error}",
                    answer.times
                )),
            },
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        sent.len(),
        disagreements.join("\n")
    );
    eprintln!(
        "{} of {CASES} agree in full; not sent, pyawscron cannot read them: {skipped:?}; stopped by a known \
         pyawscron error after agreeing so far: {explained:?}",
        compared_in_full.len()
    );
    assert!(
        compared_in_full.len() >= AT_LEAST_COMPARED,
        "only {} of {CASES} compared in full",
        compared_in_full.len()
    );
    // The generator reaches every form it means to: the special day forms and the schedules that stop.
    for (what, reached) in [
        ("L", compared_in_full.iter().any(|c| c.fields[2] == "L")),
        (
            "nW",
            compared_in_full.iter().any(|c| c.fields[2].ends_with('W')),
        ),
        (
            "nL",
            compared_in_full.iter().any(|c| c.fields[4].ends_with('L')),
        ),
        (
            "#",
            compared_in_full.iter().any(|c| c.fields[4].contains('#')),
        ),
        (
            "a day name",
            compared_in_full
                .iter()
                .any(|c| c.fields[4].contains(['M', 'T', 'W', 'F', 'S'])),
        ),
        (
            "a month name",
            compared_in_full
                .iter()
                .any(|c| c.fields[3].contains(['A', 'E', 'U', 'O'])),
        ),
        (
            "an increment",
            compared_in_full.iter().any(|c| c.fields[0].contains('/')),
        ),
        (
            "fewer than five firings",
            compared_in_full
                .iter()
                .any(|c| ours(&c.expression(), c.after, COUNT).len() < COUNT),
        ),
    ] {
        assert!(reached, "no expression compared in full has {what}");
    }

    // The binary prints the same, whatever offset --after is written in.
    for (index, case) in compared_in_full.iter().take(8).enumerate() {
        let offset = [0, 9, -5, 1][index % 4];
        let answer = &answers[sent
            .iter()
            .position(|sent| std::ptr::eq(*sent, *case))
            .unwrap()];
        assert_eq!(
            binary(&case.expression(), case.after, offset, COUNT),
            answer.times,
            "{} after {}",
            case.expression(),
            utc(case.after)
        );
    }
}

/// Each `Gap` on an example: pyawscron fails as its comment says, and EventBridge's firings are written out.
#[test]
fn known_gaps_are_real() {
    let at = |text: &str| {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    // 2026: 31 October is a Saturday, 30 November a Monday; February 2044 starts on a Monday.
    let examples: [(Gap, &str, &str, &[&str]); 6] = [
        (
            Gap::LastWeekday,
            "0 0 LW * ? *",
            "2026-10-01T00:00:00Z",
            &["2026-10-30T00:00:00Z", "2026-11-30T00:00:00Z"],
        ),
        (
            Gap::LastDayOfWeek,
            "0 12 ? * L *",
            "2026-11-26T00:00:00Z",
            &["2026-11-28T12:00:00Z", "2026-12-05T12:00:00Z"],
        ),
        (
            Gap::ListWithIncrement,
            "0/20,5 10 * * ? *",
            "2026-11-26T00:00:00Z",
            &["2026-11-26T10:00:00Z", "2026-11-26T10:05:00Z"],
        ),
        (
            Gap::DayPastMonthEnd,
            "0 0 31 * ? *",
            "2026-11-01T00:00:00Z",
            &["2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"],
        ),
        (
            Gap::GivesUpSearching,
            "0 0 ? FEB 2#5 *",
            "2026-11-01T00:00:00Z",
            &["2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"],
        ),
        // Never fires: none of these months has a 31st.
        (
            Gap::GivesUpSearching,
            "0 0 31W APR,JUN,SEP,NOV ? *",
            "2026-01-01T00:00:00Z",
            &[],
        ),
    ];
    let requests: Vec<_> = examples
        .iter()
        .map(|(_, fields, after, _)| ((*fields).to_owned(), at(after), 2))
        .collect();
    let answers = pyawscron(&requests);
    for ((gap, fields, after, eventbridge), answer) in examples.iter().zip(&answers) {
        let expression = format!("cron({fields})");
        assert_eq!(
            &ours(&expression, at(after), 2),
            eventbridge,
            "{expression}"
        );
        let error = answer.error.as_deref().unwrap_or("no error");
        assert!(
            error.starts_with(gap.exception()),
            "{gap:?}: pyawscron answered {expression} with {:?} and {error}",
            answer.times
        );
        // The comparison above puts the example in its gap.
        let case = Case::from_fields(fields, at(after));
        let found = Gap::unsupported(&case).or_else(|| Gap::explains(&case, error));
        assert_eq!(found, Some(*gap), "{expression}");
    }
}
