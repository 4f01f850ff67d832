//! EventBridge schedule expressions, `rate(value unit)` and `cron(minutes hours day-of-month month day-of-week
//! year)`, read and evaluated exactly as EventBridge's scheduled rules define them (the user guide's "Cron
//! expressions reference" and "Rate expressions reference").
//!
//! Pure: no clock is read here. [`Schedule::next_after`] takes the instant to count from, and every time is UTC,
//! because EventBridge rules run in UTC.
//!
//! Where the user guide is silent this module follows Quartz, the scheduler AWS's cron syntax comes from, but
//! stays strict where Quartz is lenient, so that an expression accepted here is not refused later by EventBridge:
//! - `L`, `LW` and `nW` (day-of-month) and `L`, `nL` and `n#k` (day-of-week) stand alone in their field (the guide
//!   says so for `#`); `nW` takes a single day, and `nW` for a day the month lacks does not fire that month.
//! - Ranges run upwards (`22-2` is rejected; Quartz would wrap around).
//! - Day-of-week takes no `/`, as the English guide's table says (Quartz, and some translations, allow it).
//! - `L` alone in day-of-week is Saturday, "the last day of the week", every week.
//!
//! Two leniencies come from Quartz and are not confirmed against EventBridge: names and the letters `L` and `W` are
//! read case-insensitively (and written back in capitals), and a day name may stand before `L` or `#` (`FRIL`,
//! `FRI#3`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use time::{Date, Month, OffsetDateTime};

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(value unit)`. [`parse`] only produces whole minutes, at least one. A hand-built rate is read as its
    /// duration rounded up to whole minutes, at least one, by both [`Schedule::next_after`] and `Display`, so the
    /// two always agree with the expression written out.
    Rate { every: Duration },
    /// `cron(minutes hours day-of-month month day-of-week year)`.
    Cron(Cron),
}

/// Reads a schedule expression, as a rule's `ScheduleExpression` carries it.
///
/// The expression must be exactly `rate(...)` or `cron(...)`, in lower case, with nothing around it; inside the
/// parentheses the fields are separated by white space.
pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
    if let Some(inner) = inside(expression, "rate(") {
        parse_rate(expression, inner)
    } else if let Some(inner) = inside(expression, "cron(") {
        Cron::parse(expression, inner).map(Schedule::Cron)
    } else {
        Err(ScheduleError::UnknownForm {
            expression: expression.to_owned(),
        })
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        parse(expression)
    }
}

impl Schedule {
    /// The first time the schedule fires strictly after `after`, in UTC.
    ///
    /// - Cron: the first whole minute after `after` that the expression matches, or `None` when it never fires
    ///   again (its years are past, or it names a day that never comes, such as `cron(0 0 31 2 ? *)`).
    /// - Rate: exactly `after + every`, with no rounding. EventBridge starts a rate schedule when the rule is
    ///   created and fires every `every` from then, not on clock boundaries, so the caller anchors the chain: it
    ///   passes the rule's creation time for the first firing and each firing's scheduled time for the next, which
    ///   gives `created + k × every` with no drift. `None` only if the sum leaves the calendar `time` supports.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Schedule::Rate { every } => {
                let seconds = i64::try_from(rate_minutes(*every).checked_mul(60)?).ok()?;
                after.checked_add(time::Duration::seconds(seconds))
            }
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }

    /// Every firing strictly after `after`, in order: [`Schedule::next_after`] from `after`, then from each firing
    /// in turn, so a rate fires at `after + k × every` (`after` standing for the rule's creation). The iterator ends
    /// when the schedule never fires again.
    pub fn firings_after(
        &self,
        after: OffsetDateTime,
    ) -> impl Iterator<Item = OffsetDateTime> + '_ {
        std::iter::successors(self.next_after(after), move |&previous| {
            self.next_after(previous)
        })
    }
}

impl fmt::Display for Schedule {
    /// The canonical expression: a rate in the largest unit that divides it (`rate(60 minutes)` is written
    /// `rate(1 hour)`), a cron expression with single spaces and names in capitals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate { every } => {
                let minutes = rate_minutes(*every);
                let (value, unit) = if minutes.is_multiple_of(MINUTES_PER_DAY) {
                    (minutes / MINUTES_PER_DAY, "day")
                } else if minutes.is_multiple_of(60) {
                    (minutes / 60, "hour")
                } else {
                    (minutes, "minute")
                };
                let plural = if value == 1 { "" } else { "s" };
                write!(f, "rate({value} {unit}{plural})")
            }
            Schedule::Cron(cron) => cron.fmt(f),
        }
    }
}

/// Why a schedule expression was rejected. AWS answers every one of these with "Parameter ScheduleExpression is
/// not valid."; these messages name the field and the rule instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "{expression:?} is not a schedule expression; write rate(value unit), as in rate(5 minutes), or \
         cron(minutes hours day-of-month month day-of-week year), as in cron(0 10 * * ? *)"
    )]
    UnknownForm { expression: String },
    #[error(
        "{expression}: a rate has a value and a unit separated by a space, as in rate(5 minutes)"
    )]
    RateShape { expression: String },
    #[error("{expression}: the rate value must be a whole number from 1 to {max}, not {value:?}", max = u32::MAX)]
    RateValue { expression: String, value: String },
    #[error(
        "{expression}: the rate unit must be minute, minutes, hour, hours, day or days, not {unit:?}"
    )]
    RateUnit { expression: String, unit: String },
    #[error("{expression}: a rate of 1 takes the singular unit {expected}, not {unit}")]
    RateSingular {
        expression: String,
        expected: &'static str,
        unit: String,
    },
    #[error("{expression}: a rate above 1 takes the plural unit {expected}, not {unit}")]
    RatePlural {
        expression: String,
        expected: &'static str,
        unit: String,
    },
    #[error(
        "{expression}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), \
         this one has {count}"
    )]
    FieldCount { expression: String, count: usize },
    #[error("{expression}: the {field} field {rule}")]
    Field {
        expression: String,
        field: CronField,
        /// Boxed: the tokens it names would otherwise make every error that carries a `ScheduleError` large.
        rule: Box<FieldRule>,
    },
    #[error(
        "{expression}: the day-of-month field ({day_of_month:?}) and the day-of-week field ({day_of_week:?}) \
         cannot both be set; one must be ?"
    )]
    BothDaysSet {
        expression: String,
        day_of_month: String,
        day_of_week: String,
    },
    #[error(
        "{expression}: the day-of-month and day-of-week fields cannot both be ?; set one of them"
    )]
    NeitherDaySet { expression: String },
}

/// A field of a cron expression, named as the user guide names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minutes => "minutes",
            CronField::Hours => "hours",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        })
    }
}

/// The rule a cron field broke; reads after "the `<field>` field". Each names the offending token: the whole field
/// as written (in capitals), or the one value or range in it that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldRule {
    #[error("has {token:?}, with {found:?}, which the field does not allow (it allows {allowed})")]
    Disallowed {
        token: String,
        found: char,
        allowed: &'static str,
    },
    #[error("has {token:?}, which is not {expected}")]
    BadValue {
        token: String,
        expected: &'static str,
    },
    #[error("has {token:?}, with an empty item; separate values with single commas")]
    EmptyItem { token: String },
    #[error("has {token:?}, a range that runs backwards; write the smaller value first")]
    Backwards { token: String },
    #[error("has {token:?}, whose increment {step:?} is not a number from 1 to {max}")]
    BadIncrement {
        token: String,
        step: String,
        max: u16,
    },
    #[error("has {token:?}, which uses ? with other values; ? must be the whole field")]
    QuestionMarkNotAlone { token: String },
    #[error("has {token:?}, which uses {what} with other values; it must be the field's only item")]
    NotAlone { token: String, what: &'static str },
    #[error("has {token:?}; in day#n, n is the week of the month, from 1 to 5")]
    BadNth { token: String },
}

const MINUTES_PER_DAY: u64 = 24 * 60;
const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

fn inside<'a>(expression: &'a str, opening: &str) -> Option<&'a str> {
    expression.strip_prefix(opening)?.strip_suffix(')')
}

/// A rate's period in whole minutes: rounded up, at least one (see [`Schedule::Rate`]).
fn rate_minutes(every: Duration) -> u64 {
    let seconds = every
        .as_secs()
        .saturating_add(u64::from(every.subsec_nanos() > 0));
    seconds.div_ceil(60).max(1)
}

fn parse_rate(expression: &str, inner: &str) -> Result<Schedule, ScheduleError> {
    let mut parts = inner.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ScheduleError::RateShape {
            expression: expression.to_owned(),
        });
    };
    let count =
        digits(value)
            .filter(|&count| count >= 1)
            .ok_or_else(|| ScheduleError::RateValue {
                expression: expression.to_owned(),
                value: value.to_owned(),
            })?;
    let (minutes_per_unit, singular, plural) = match unit {
        "minute" | "minutes" => (1, "minute", "minutes"),
        "hour" | "hours" => (60, "hour", "hours"),
        "day" | "days" => (MINUTES_PER_DAY, "day", "days"),
        _ => {
            return Err(ScheduleError::RateUnit {
                expression: expression.to_owned(),
                unit: unit.to_owned(),
            });
        }
    };
    if count == 1 && unit != singular {
        return Err(ScheduleError::RateSingular {
            expression: expression.to_owned(),
            expected: singular,
            unit: unit.to_owned(),
        });
    }
    if count > 1 && unit != plural {
        return Err(ScheduleError::RatePlural {
            expression: expression.to_owned(),
            expected: plural,
            unit: unit.to_owned(),
        });
    }
    // At most u32::MAX days: 3.7e14 seconds, far inside u64.
    let minutes = u64::from(count) * minutes_per_unit;
    Ok(Schedule::Rate {
        every: Duration::from_secs(minutes * 60),
    })
}

/// A non-empty run of ASCII digits that fits in a u32.
fn digits(token: &str) -> Option<u32> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// A parsed `cron(...)` expression. It keeps what was written (numbers or names), so `Display` writes the
/// expression back as the user wrote it, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: List,
    hours: List,
    day_of_month: DayOfMonth,
    month: List,
    day_of_week: DayOfWeek,
    years: List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    /// `?`
    Any,
    Days(List),
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Monday to Friday) of the month.
    LastWeekday,
    /// `15W`: the weekday nearest the 15th, within the same month.
    NearestWeekday(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    /// `?`
    Any,
    Days(List),
    /// `L` alone: the last day of the week, Saturday (every Saturday, as in Quartz).
    Last,
    /// `6L`: the last Friday of the month.
    LastInMonth(Value),
    /// `3#2`: the second Tuesday of the month.
    Nth(Value, u16),
}

/// A comma-separated list of items.
#[derive(Debug, Clone, PartialEq, Eq)]
struct List(Vec<Item>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    range: Range,
    step: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// `*`
    All,
    /// `5`, or with a step (`5/15`) everything from 5 to the field's maximum.
    From(Value),
    /// `8-17`
    Between(Value, Value),
}

/// A field value, remembering whether it was written as a name (`MON`) so it is written back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Value {
    number: u16,
    named: bool,
}

/// What a field allows.
struct Spec {
    field: CronField,
    min: u16,
    max: u16,
    /// Names for min, min + 1, …
    names: &'static [&'static str],
    /// The punctuation the field allows; letters are checked as values.
    punctuation: &'static str,
    /// Every wildcard the field allows, for messages.
    allowed: &'static str,
    /// What a value must be, for messages.
    expected: &'static str,
}

const MINUTES: Spec = Spec {
    field: CronField::Minutes,
    min: 0,
    max: 59,
    names: &[],
    punctuation: ",-*/",
    allowed: ", - * /",
    expected: "a number from 0 to 59",
};
const HOURS: Spec = Spec {
    field: CronField::Hours,
    min: 0,
    max: 23,
    names: &[],
    punctuation: ",-*/",
    allowed: ", - * /",
    expected: "a number from 0 to 23",
};
const DAY_OF_MONTH: Spec = Spec {
    field: CronField::DayOfMonth,
    min: 1,
    max: 31,
    names: &[],
    punctuation: ",-*?/",
    allowed: ", - * ? / L W",
    expected: "a number from 1 to 31",
};
const MONTH: Spec = Spec {
    field: CronField::Month,
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    punctuation: ",-*/",
    allowed: ", - * /",
    expected: "a number from 1 to 12 or a month from JAN to DEC",
};
const DAY_OF_WEEK: Spec = Spec {
    field: CronField::DayOfWeek,
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    punctuation: ",-*?#",
    allowed: ", - * ? L #",
    expected: "a number from 1 (SUN) to 7 (SAT) or a day from SUN to SAT",
};
const YEAR: Spec = Spec {
    field: CronField::Year,
    min: 1970,
    max: 2199,
    names: &[],
    punctuation: ",-*/",
    allowed: ", - * /",
    expected: "a year from 1970 to 2199",
};

impl Cron {
    fn parse(expression: &str, inner: &str) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, day_of_month, month, day_of_week, years] = fields[..] else {
            return Err(ScheduleError::FieldCount {
                expression: expression.to_owned(),
                count: fields.len(),
            });
        };
        let in_field = |spec: &Spec, rule: FieldRule| ScheduleError::Field {
            expression: expression.to_owned(),
            field: spec.field,
            rule: Box::new(rule),
        };
        let list = |spec: &Spec, text: &str| {
            let text = text.to_ascii_uppercase();
            check_punctuation(spec, &text).map_err(|rule| in_field(spec, rule))?;
            List::parse(spec, &text).map_err(|rule| in_field(spec, rule))
        };
        let cron = Cron {
            minutes: list(&MINUTES, minutes)?,
            hours: list(&HOURS, hours)?,
            day_of_month: DayOfMonth::parse(&day_of_month.to_ascii_uppercase())
                .map_err(|rule| in_field(&DAY_OF_MONTH, rule))?,
            month: list(&MONTH, month)?,
            day_of_week: DayOfWeek::parse(&day_of_week.to_ascii_uppercase())
                .map_err(|rule| in_field(&DAY_OF_WEEK, rule))?,
            years: list(&YEAR, years)?,
        };
        match (&cron.day_of_month, &cron.day_of_week) {
            (DayOfMonth::Any, DayOfWeek::Any) => Err(ScheduleError::NeitherDaySet {
                expression: expression.to_owned(),
            }),
            (DayOfMonth::Any, _) | (_, DayOfWeek::Any) => Ok(cron),
            _ => Err(ScheduleError::BothDaysSet {
                expression: expression.to_owned(),
                day_of_month: day_of_month.to_owned(),
                day_of_week: day_of_week.to_owned(),
            }),
        }
    }

    /// The first whole minute strictly after `after` that this expression matches, in UTC; see
    /// [`Schedule::next_after`].
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        // Counting in Unix seconds keeps this in UTC whatever `after`'s offset, and cannot overflow.
        let next_minute = after.unix_timestamp().div_euclid(60) * 60 + 60;
        let start = OffsetDateTime::from_unix_timestamp(next_minute).ok()?;
        if start.year() > LAST_YEAR {
            return None;
        }
        let start = if start.year() < FIRST_YEAR {
            OffsetDateTime::UNIX_EPOCH
        } else {
            start
        };
        for year in start.year()..=LAST_YEAR {
            if !self.years.contains(&YEAR, year_number(year)) {
                continue;
            }
            let first_year = year == start.year();
            let first_month = if first_year {
                u8::from(start.month())
            } else {
                1
            };
            for month_number in first_month..=12 {
                if !self.month.contains(&MONTH, u16::from(month_number)) {
                    continue;
                }
                let month = Month::try_from(month_number).ok()?;
                let starting_month = first_year && month == start.month();
                let first_day = if starting_month { start.day() } else { 1 };
                for day in first_day..=month.length(year) {
                    let date = Date::from_calendar_date(year, month, day).ok()?;
                    if !self.runs_on(date) {
                        continue;
                    }
                    let starting_day = starting_month && day == start.day();
                    let first_hour = if starting_day { start.hour() } else { 0 };
                    for hour in first_hour..=23 {
                        if !self.hours.contains(&HOURS, u16::from(hour)) {
                            continue;
                        }
                        let starting_hour = starting_day && hour == start.hour();
                        let first_minute = if starting_hour { start.minute() } else { 0 };
                        for minute in first_minute..=59 {
                            if self.minutes.contains(&MINUTES, u16::from(minute)) {
                                return Some(date.with_hms(hour, minute, 0).ok()?.assume_utc());
                            }
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether the day fields match `date`. One of them is always `?`.
    fn runs_on(&self, date: Date) -> bool {
        let day = date.day();
        let last = date.month().length(date.year());
        let weekday = date.weekday().number_from_sunday();
        let by_month = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(list) => list.contains(&DAY_OF_MONTH, u16::from(day)),
            DayOfMonth::Last => day == last,
            DayOfMonth::LastWeekday => Some(day) == nearest_weekday(date, last, last),
            DayOfMonth::NearestWeekday(target) => u8::try_from(*target)
                .is_ok_and(|target| Some(day) == nearest_weekday(date, target, last)),
        };
        let by_week = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(list) => list.contains(&DAY_OF_WEEK, u16::from(weekday)),
            DayOfWeek::Last => weekday == 7,
            DayOfWeek::LastInMonth(value) => u16::from(weekday) == value.number && day + 7 > last,
            DayOfWeek::Nth(value, nth) => {
                u16::from(weekday) == value.number && u16::from((day - 1) / 7 + 1) == *nth
            }
        };
        by_month && by_week
    }
}

fn year_number(year: i32) -> u16 {
    u16::try_from(year).unwrap_or(0)
}

/// The weekday (Monday to Friday) nearest day `target` of `date`'s month without leaving the month, as `W`
/// means it: a Saturday moves to the Friday before, or to Monday the 3rd when it is the 1st; a Sunday moves to
/// the Monday after, or to the Friday before when it is the last day. `None` when the month has no such day.
fn nearest_weekday(date: Date, target: u8, last: u8) -> Option<u8> {
    if target == 0 || target > last {
        return None;
    }
    let target_date = date.replace_day(target).ok()?;
    Some(match target_date.weekday() {
        time::Weekday::Saturday if target == 1 => 3,
        time::Weekday::Saturday => target - 1,
        time::Weekday::Sunday if target == last => target - 2,
        time::Weekday::Sunday => target + 1,
        _ => target,
    })
}

fn check_punctuation(spec: &Spec, text: &str) -> Result<(), FieldRule> {
    match text
        .chars()
        .find(|&c| !c.is_ascii_alphanumeric() && !spec.punctuation.contains(c))
    {
        Some(found) => Err(FieldRule::Disallowed {
            token: text.to_owned(),
            found,
            allowed: spec.allowed,
        }),
        None => Ok(()),
    }
}

impl DayOfMonth {
    /// `text` is already in capitals.
    fn parse(text: &str) -> Result<DayOfMonth, FieldRule> {
        let spec = &DAY_OF_MONTH;
        check_punctuation(spec, text)?;
        if text == "?" {
            return Ok(DayOfMonth::Any);
        }
        if text.contains('?') {
            return Err(FieldRule::QuestionMarkNotAlone {
                token: text.to_owned(),
            });
        }
        if !text.contains(['L', 'W']) {
            return List::parse(spec, text).map(DayOfMonth::Days);
        }
        if text.contains(',') {
            return Err(FieldRule::NotAlone {
                token: text.to_owned(),
                what: "L or W",
            });
        }
        match text {
            "L" => Ok(DayOfMonth::Last),
            "LW" => Ok(DayOfMonth::LastWeekday),
            _ => text
                .strip_suffix('W')
                .and_then(digits)
                .and_then(|day| u16::try_from(day).ok())
                .filter(|day| (spec.min..=spec.max).contains(day))
                .map(DayOfMonth::NearestWeekday)
                .ok_or_else(|| FieldRule::BadValue {
                    token: text.to_owned(),
                    expected: "L, LW, or a day from 1 to 31 followed by W, as in 15W",
                }),
        }
    }
}

impl DayOfWeek {
    /// `text` is already in capitals.
    fn parse(text: &str) -> Result<DayOfWeek, FieldRule> {
        let spec = &DAY_OF_WEEK;
        check_punctuation(spec, text)?;
        if text == "?" {
            return Ok(DayOfWeek::Any);
        }
        if text.contains('?') {
            return Err(FieldRule::QuestionMarkNotAlone {
                token: text.to_owned(),
            });
        }
        if text == "L" {
            return Ok(DayOfWeek::Last);
        }
        if let Some((day, nth)) = text.split_once('#') {
            if text.contains(',') {
                return Err(FieldRule::NotAlone {
                    token: text.to_owned(),
                    what: "#",
                });
            }
            let day = single_value(spec, day)?;
            let nth = digits(nth)
                .and_then(|nth| u16::try_from(nth).ok())
                .filter(|nth| (1..=5).contains(nth))
                .ok_or_else(|| FieldRule::BadNth {
                    token: text.to_owned(),
                })?;
            return Ok(DayOfWeek::Nth(day, nth));
        }
        if text.contains('L') && text.contains(',') {
            return Err(FieldRule::NotAlone {
                token: text.to_owned(),
                what: "L",
            });
        }
        if let Some(day) = text.strip_suffix('L') {
            return single_value(spec, day).map(DayOfWeek::LastInMonth);
        }
        List::parse(spec, text).map(DayOfWeek::Days)
    }
}

impl List {
    /// `text` is already in capitals and holds only the field's punctuation.
    fn parse(spec: &Spec, text: &str) -> Result<List, FieldRule> {
        if text.split(',').any(str::is_empty) {
            return Err(FieldRule::EmptyItem {
                token: text.to_owned(),
            });
        }
        text.split(',')
            .map(|item| Item::parse(spec, item))
            .collect::<Result<Vec<_>, _>>()
            .map(List)
    }

    fn contains(&self, spec: &Spec, number: u16) -> bool {
        self.0.iter().any(|item| item.contains(spec, number))
    }
}

impl Item {
    /// `text` is one non-empty item of a list.
    fn parse(spec: &Spec, text: &str) -> Result<Item, FieldRule> {
        let (base, step) = match text.split_once('/') {
            Some((base, step)) => {
                let span = spec.max - spec.min + 1;
                let step = digits(step)
                    .and_then(|step| u16::try_from(step).ok())
                    .filter(|step| (1..=span).contains(step))
                    .ok_or_else(|| FieldRule::BadIncrement {
                        token: text.to_owned(),
                        step: step.to_owned(),
                        max: span,
                    })?;
                (base, Some(step))
            }
            None => (text, None),
        };
        let range = if base == "*" {
            Range::All
        } else if let Some((start, end)) = base.split_once('-') {
            let (start, end) = (single_value(spec, start)?, single_value(spec, end)?);
            if start.number > end.number {
                return Err(FieldRule::Backwards {
                    token: base.to_owned(),
                });
            }
            Range::Between(start, end)
        } else {
            Range::From(single_value(spec, base)?)
        };
        Ok(Item { range, step })
    }

    fn contains(&self, spec: &Spec, number: u16) -> bool {
        let (low, high) = match self.range {
            Range::All => (spec.min, spec.max),
            Range::From(start) if self.step.is_some() => (start.number, spec.max),
            Range::From(start) => (start.number, start.number),
            Range::Between(start, end) => (start.number, end.number),
        };
        (low..=high).contains(&number) && (number - low).is_multiple_of(self.step.unwrap_or(1))
    }
}

/// One number or name within the field's range.
fn single_value(spec: &Spec, token: &str) -> Result<Value, FieldRule> {
    let bad = || FieldRule::BadValue {
        token: token.to_owned(),
        expected: spec.expected,
    };
    if let Some(number) = digits(token) {
        return u16::try_from(number)
            .ok()
            .filter(|number| (spec.min..=spec.max).contains(number))
            .map(|number| Value {
                number,
                named: false,
            })
            .ok_or_else(bad);
    }
    spec.names
        .iter()
        .zip(spec.min..)
        .find(|(name, _)| **name == token)
        .map(|(_, number)| Value {
            number,
            named: true,
        })
        .ok_or_else(bad)
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cron({} {} ",
            Shown(&MINUTES, &self.minutes),
            Shown(&HOURS, &self.hours)
        )?;
        match &self.day_of_month {
            DayOfMonth::Any => f.write_str("?")?,
            DayOfMonth::Days(list) => Shown(&DAY_OF_MONTH, list).fmt(f)?,
            DayOfMonth::Last => f.write_str("L")?,
            DayOfMonth::LastWeekday => f.write_str("LW")?,
            DayOfMonth::NearestWeekday(day) => write!(f, "{day}W")?,
        }
        write!(f, " {} ", Shown(&MONTH, &self.month))?;
        match &self.day_of_week {
            DayOfWeek::Any => f.write_str("?")?,
            DayOfWeek::Days(list) => Shown(&DAY_OF_WEEK, list).fmt(f)?,
            DayOfWeek::Last => f.write_str("L")?,
            DayOfWeek::LastInMonth(day) => write!(f, "{}L", ShownValue(&DAY_OF_WEEK, *day))?,
            DayOfWeek::Nth(day, nth) => write!(f, "{}#{nth}", ShownValue(&DAY_OF_WEEK, *day))?,
        }
        write!(f, " {})", Shown(&YEAR, &self.years))
    }
}

struct Shown<'a>(&'a Spec, &'a List);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(spec, List(items)) = self;
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            match item.range {
                Range::All => f.write_str("*")?,
                Range::From(value) => ShownValue(spec, value).fmt(f)?,
                Range::Between(start, end) => {
                    write!(f, "{}-{}", ShownValue(spec, start), ShownValue(spec, end))?
                }
            }
            if let Some(step) = item.step {
                write!(f, "/{step}")?;
            }
        }
        Ok(())
    }
}

struct ShownValue<'a>(&'a Spec, Value);

impl fmt::Display for ShownValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ShownValue(spec, value) = self;
        let name = value
            .named
            .then(|| spec.names.get(usize::from(value.number - spec.min)))
            .flatten();
        match name {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", value.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    fn schedule(expression: &str) -> Schedule {
        parse(expression).unwrap_or_else(|error| panic!("{expression}: {error}"))
    }

    /// The next firing after `after`, written back as RFC 3339 for readable assertions.
    fn next(expression: &str, after: &str) -> Option<String> {
        schedule(expression)
            .next_after(at(after))
            .map(|fire| fire.format(&Rfc3339).unwrap())
    }

    fn firings(expression: &str, after: &str, count: usize) -> Vec<String> {
        let schedule = schedule(expression);
        let mut from = at(after);
        let mut out = Vec::new();
        for _ in 0..count {
            from = schedule.next_after(from).unwrap();
            out.push(from.format(&Rfc3339).unwrap());
        }
        out
    }

    fn rejection(expression: &str) -> String {
        match parse(expression) {
            Ok(parsed) => panic!("{expression} was accepted as {parsed:?}"),
            Err(error) => error.to_string(),
        }
    }

    // The user guide's examples. 2026-11-26 is a Thursday.

    #[test]
    fn ten_every_morning_fires_at_10_00_utc_and_strictly_after_the_given_instant() {
        let every_day = "cron(0 10 * * ? *)";
        assert_eq!(
            next(every_day, "2026-11-26T09:59:59Z").as_deref(),
            Some("2026-11-26T10:00:00Z")
        );
        assert_eq!(
            next(every_day, "2026-11-26T10:00:00Z").as_deref(),
            Some("2026-11-27T10:00:00Z")
        );
    }

    #[test]
    fn quarter_past_noon_every_day() {
        assert_eq!(
            next("cron(15 12 * * ? *)", "2026-11-26T12:15:00.001Z").as_deref(),
            Some("2026-11-27T12:15:00Z")
        );
    }

    #[test]
    fn six_pm_on_weekdays_skips_the_weekend() {
        // Friday 27 November at 18:00, then Monday 30 November.
        assert_eq!(
            firings("cron(0 18 ? * MON-FRI *)", "2026-11-26T18:00:00Z", 2),
            ["2026-11-27T18:00:00Z", "2026-11-30T18:00:00Z"]
        );
    }

    #[test]
    fn eight_am_on_the_first_of_every_month() {
        assert_eq!(
            firings("cron(0 8 1 * ? *)", "2026-11-26T10:00:00Z", 2),
            ["2026-12-01T08:00:00Z", "2027-01-01T08:00:00Z"]
        );
    }

    #[test]
    fn every_fifteen_minutes_crosses_hours_days_and_years() {
        let quarter_hours = "cron(0/15 * * * ? *)";
        assert_eq!(
            next(quarter_hours, "2026-11-26T10:07:30Z").as_deref(),
            Some("2026-11-26T10:15:00Z")
        );
        assert_eq!(
            firings(quarter_hours, "2026-12-31T23:30:00Z", 2),
            ["2026-12-31T23:45:00Z", "2027-01-01T00:00:00Z"]
        );
    }

    #[test]
    fn every_ten_minutes_on_weekdays_resumes_at_monday_midnight() {
        assert_eq!(
            firings("cron(0/10 * ? * MON-FRI *)", "2026-11-27T23:45:00Z", 2),
            ["2026-11-27T23:50:00Z", "2026-11-30T00:00:00Z"]
        );
    }

    #[test]
    fn every_five_minutes_in_office_hours_on_weekdays() {
        let office = "cron(0/5 8-17 ? * MON-FRI *)";
        assert_eq!(
            next(office, "2026-11-26T12:01:00Z").as_deref(),
            Some("2026-11-26T12:05:00Z")
        );
        // The last run of Thursday is 17:55; Friday starts at 08:00.
        assert_eq!(
            firings(office, "2026-11-26T17:50:00Z", 2),
            ["2026-11-26T17:55:00Z", "2026-11-27T08:00:00Z"]
        );
    }

    #[test]
    fn nine_am_on_the_first_monday_of_the_month() {
        // 1 December 2026 is a Tuesday, so the first Monday is the 7th; 1 January 2027 is a Friday.
        assert_eq!(
            firings("cron(0 9 ? * 2#1 *)", "2026-11-26T00:00:00Z", 2),
            ["2026-12-07T09:00:00Z", "2027-01-04T09:00:00Z"]
        );
    }

    #[test]
    fn l_in_day_of_month_is_the_last_day_including_leap_februaries() {
        let last_day = "cron(0 0 L * ? *)";
        assert_eq!(
            next(last_day, "2026-11-26T00:00:00Z").as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            next(last_day, "2027-02-01T00:00:00Z").as_deref(),
            Some("2027-02-28T00:00:00Z")
        );
        assert_eq!(
            next(last_day, "2028-02-01T00:00:00Z").as_deref(),
            Some("2028-02-29T00:00:00Z")
        );
    }

    #[test]
    fn six_l_in_day_of_week_is_the_last_friday_of_the_month() {
        // 30 November 2026 is a Monday, so the last Friday is the 27th; 31 December is a Thursday.
        assert_eq!(
            firings("cron(0 0 ? * 6L *)", "2026-11-26T00:00:00Z", 2),
            ["2026-11-27T00:00:00Z", "2026-12-25T00:00:00Z"]
        );
    }

    #[test]
    fn fifteen_w_is_the_weekday_nearest_the_fifteenth() {
        // 15 November 2026 is a Sunday (so Monday the 16th); 15 December a Tuesday.
        assert_eq!(
            firings("cron(0 0 15W * ? *)", "2026-11-01T00:00:00Z", 2),
            ["2026-11-16T00:00:00Z", "2026-12-15T00:00:00Z"]
        );
        // 15 August 2026 is a Saturday, so Friday the 14th.
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2026-08-01T00:00:00Z").as_deref(),
            Some("2026-08-14T00:00:00Z")
        );
    }

    #[test]
    fn w_never_leaves_the_month() {
        // 1 August 2026 is a Saturday: Monday the 3rd, not Friday 31 July.
        assert_eq!(
            next("cron(0 0 1W * ? *)", "2026-07-31T00:00:00Z").as_deref(),
            Some("2026-08-03T00:00:00Z")
        );
        // 31 May 2026 is a Sunday and the last day: Friday the 29th, not Monday 1 June.
        assert_eq!(
            next("cron(0 0 31W * ? *)", "2026-05-01T00:00:00Z").as_deref(),
            Some("2026-05-29T00:00:00Z")
        );
        // Months without a 31st do not fire, as with a plain 31.
        assert_eq!(
            next("cron(0 0 31W * ? *)", "2026-11-01T00:00:00Z").as_deref(),
            Some("2026-12-31T00:00:00Z")
        );
    }

    #[test]
    fn lw_is_the_last_weekday_of_the_month() {
        // 31 October 2026 is a Saturday; 31 January 2027 a Sunday.
        assert_eq!(
            next("cron(0 0 LW * ? *)", "2026-10-01T00:00:00Z").as_deref(),
            Some("2026-10-30T00:00:00Z")
        );
        assert_eq!(
            next("cron(0 0 LW * ? *)", "2027-01-01T00:00:00Z").as_deref(),
            Some("2027-01-29T00:00:00Z")
        );
    }

    #[test]
    fn l_alone_in_day_of_week_is_every_saturday() {
        assert_eq!(
            firings("cron(0 12 ? * L *)", "2026-11-26T00:00:00Z", 2),
            ["2026-11-28T12:00:00Z", "2026-12-05T12:00:00Z"]
        );
    }

    #[test]
    fn month_names_lists_and_year_ranges_restrict_firings() {
        assert_eq!(
            firings(
                "cron(30 6 1 JAN,JUL ? 2027-2028)",
                "2026-11-26T00:00:00Z",
                4
            ),
            [
                "2027-01-01T06:30:00Z",
                "2027-07-01T06:30:00Z",
                "2028-01-01T06:30:00Z",
                "2028-07-01T06:30:00Z"
            ]
        );
        assert_eq!(
            next("cron(30 6 1 JAN,JUL ? 2027-2028)", "2028-07-01T06:30:00Z"),
            None
        );
    }

    #[test]
    fn a_schedule_whose_years_are_past_never_fires_again() {
        assert_eq!(next("cron(0 0 1 1 ? 2020)", "2026-11-26T00:00:00Z"), None);
        assert_eq!(next("cron(0 0 * * ? *)", "2199-12-31T23:59:00Z"), None);
        assert_eq!(next("cron(0 0 * * ? *)", "9999-12-31T23:59:59Z"), None);
    }

    #[test]
    fn a_day_that_never_comes_never_fires() {
        assert_eq!(next("cron(0 0 31 2 ? *)", "2026-11-26T00:00:00Z"), None);
        assert_eq!(next("cron(0 0 30 FEB ? *)", "1970-01-01T00:00:00Z"), None);
    }

    #[test]
    fn february_29th_waits_for_a_leap_year() {
        assert_eq!(
            next("cron(0 0 29 2 ? *)", "2026-11-26T00:00:00Z").as_deref(),
            Some("2028-02-29T00:00:00Z")
        );
    }

    #[test]
    fn instants_before_1970_wait_for_the_first_year_a_rule_can_fire() {
        assert_eq!(
            next("cron(0 0 * * ? *)", "1900-06-01T12:00:00Z").as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn cron_is_evaluated_in_utc_whatever_the_offset_of_the_given_instant() {
        // 09:30 in Tokyo is 00:30 UTC, so 10:00 UTC is still ahead the same day.
        assert_eq!(
            next("cron(0 10 * * ? *)", "2026-11-26T09:30:00+09:00").as_deref(),
            Some("2026-11-26T10:00:00Z")
        );
    }

    #[test]
    fn rate_fires_one_period_after_the_given_instant_without_rounding() {
        assert_eq!(
            next("rate(5 minutes)", "2026-11-26T10:00:30.5Z").as_deref(),
            Some("2026-11-26T10:05:30.5Z")
        );
        assert_eq!(
            firings("rate(1 day)", "2026-11-26T10:00:00Z", 2),
            ["2026-11-27T10:00:00Z", "2026-11-28T10:00:00Z"]
        );
        assert_eq!(next("rate(1 hour)", "9999-12-31T23:30:00Z"), None);
    }

    #[test]
    fn rate_units_take_the_singular_only_for_one() {
        assert_eq!(
            schedule("rate(1 minute)"),
            Schedule::Rate {
                every: Duration::from_secs(60)
            }
        );
        assert_eq!(
            schedule("rate(5 minutes)"),
            Schedule::Rate {
                every: Duration::from_secs(300)
            }
        );
        assert_eq!(
            schedule("rate(2 hours)"),
            Schedule::Rate {
                every: Duration::from_secs(7200)
            }
        );
        assert_eq!(
            schedule("rate(1 day)"),
            Schedule::Rate {
                every: Duration::from_secs(86_400)
            }
        );
    }

    #[test]
    fn firings_after_chains_next_after_and_ends_when_the_schedule_does() {
        let two_new_years = schedule("cron(0 0 1 1 ? 2026-2027)");
        assert_eq!(
            two_new_years
                .firings_after(at("2025-06-01T00:00:00Z"))
                .collect::<Vec<_>>(),
            [at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")]
        );
        let rate = schedule("rate(5 minutes)");
        assert_eq!(
            rate.firings_after(at("2026-11-26T10:00:30Z"))
                .take(3)
                .collect::<Vec<_>>(),
            [
                at("2026-11-26T10:05:30Z"),
                at("2026-11-26T10:10:30Z"),
                at("2026-11-26T10:15:30Z")
            ]
        );
    }

    // Where EventBridge's cron differs from classic (Vixie, POSIX) cron. The day-of-week numbering and the year's
    // increments are tested here; `?` in one day field in rejects_setting_both_day_fields_or_neither (classic cron
    // reads `0 12 1 * MON` as the 1st or any Monday, EventBridge refuses it); L, W and # in the user guide's
    // examples above (classic cron has none of them); the six fields in rejects_anything_but_six_fields and
    // month_names_lists_and_year_ranges_restrict_firings.

    #[test]
    fn day_of_week_numbers_run_from_1_sunday_to_7_saturday_not_classic_0_to_6() {
        // From Thursday 26 November 2026: Saturday the 28th, Sunday the 29th, Monday the 30th.
        let after = "2026-11-26T00:00:00Z";
        assert_eq!(
            next("cron(0 0 ? * 1 *)", after).as_deref(),
            Some("2026-11-29T00:00:00Z")
        );
        assert_eq!(
            next("cron(0 0 ? * 2 *)", after).as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        // Classic cron reads 7 as Sunday too; here it is Saturday.
        assert_eq!(
            next("cron(0 0 ? * 7 *)", after).as_deref(),
            Some("2026-11-28T00:00:00Z")
        );
        assert_eq!(
            firings("cron(0 0 ? * SUN,SAT *)", after, 2),
            firings("cron(0 0 ? * 1,7 *)", after, 2)
        );
        // Classic cron's 0 for Sunday is out of range.
        assert_eq!(
            rejection("cron(0 0 ? * 0 *)"),
            "cron(0 0 ? * 0 *): the day-of-week field has \"0\", which is not a number from 1 (SUN) to 7 (SAT) \
             or a day from SUN to SAT"
        );
        assert_eq!(
            rejection("cron(0 0 ? * 0-6 *)"),
            "cron(0 0 ? * 0-6 *): the day-of-week field has \"0\", which is not a number from 1 (SUN) to 7 (SAT) \
             or a day from SUN to SAT"
        );
    }

    #[test]
    fn the_year_field_classic_cron_lacks_takes_increments_and_lists() {
        assert_eq!(
            firings("cron(0 0 1 1 ? 2026/3)", "2025-06-01T00:00:00Z", 3),
            [
                "2026-01-01T00:00:00Z",
                "2029-01-01T00:00:00Z",
                "2032-01-01T00:00:00Z"
            ]
        );
        assert_eq!(
            firings("cron(0 0 1 1 ? 2030,2027)", "2025-06-01T00:00:00Z", 2),
            ["2027-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]
        );
    }

    #[test]
    fn rejects_setting_both_day_fields_or_neither() {
        assert_eq!(
            rejection("cron(0 12 * * * *)"),
            "cron(0 12 * * * *): the day-of-month field (\"*\") and the day-of-week field (\"*\") cannot both \
             be set; one must be ?"
        );
        assert_eq!(
            rejection("cron(0 12 1 * MON *)"),
            "cron(0 12 1 * MON *): the day-of-month field (\"1\") and the day-of-week field (\"MON\") cannot \
             both be set; one must be ?"
        );
        assert_eq!(
            rejection("cron(0 12 ? * ? *)"),
            "cron(0 12 ? * ? *): the day-of-month and day-of-week fields cannot both be ?; set one of them"
        );
    }

    #[test]
    fn rejects_values_outside_each_fields_range() {
        assert_eq!(
            rejection("cron(60 * * * ? *)"),
            "cron(60 * * * ? *): the minutes field has \"60\", which is not a number from 0 to 59"
        );
        assert_eq!(
            rejection("cron(0 24 * * ? *)"),
            "cron(0 24 * * ? *): the hours field has \"24\", which is not a number from 0 to 23"
        );
        assert_eq!(
            rejection("cron(0 0 0 * ? *)"),
            "cron(0 0 0 * ? *): the day-of-month field has \"0\", which is not a number from 1 to 31"
        );
        assert_eq!(
            rejection("cron(0 0 1 13 ? *)"),
            "cron(0 0 1 13 ? *): the month field has \"13\", which is not a number from 1 to 12 or a month \
             from JAN to DEC"
        );
        assert_eq!(
            rejection("cron(0 0 ? * 8 *)"),
            "cron(0 0 ? * 8 *): the day-of-week field has \"8\", which is not a number from 1 (SUN) to 7 (SAT) \
             or a day from SUN to SAT"
        );
        assert_eq!(
            rejection("cron(0 0 1 1 ? 2200)"),
            "cron(0 0 1 1 ? 2200): the year field has \"2200\", which is not a year from 1970 to 2199"
        );
        assert_eq!(
            rejection("cron(0 0 1 1 ? 1969)"),
            "cron(0 0 1 1 ? 1969): the year field has \"1969\", which is not a year from 1970 to 2199"
        );
        assert_eq!(
            rejection("cron(99999999999 * * * ? *)"),
            "cron(99999999999 * * * ? *): the minutes field has \"99999999999\", which is not a number from 0 \
             to 59"
        );
    }

    #[test]
    fn rejects_unknown_month_and_day_names() {
        assert_eq!(
            rejection("cron(0 0 1 JANUARY ? *)"),
            "cron(0 0 1 JANUARY ? *): the month field has \"JANUARY\", which is not a number from 1 to 12 or a \
             month from JAN to DEC"
        );
        assert_eq!(
            rejection("cron(0 0 ? * MON-FRY *)"),
            "cron(0 0 ? * MON-FRY *): the day-of-week field has \"FRY\", which is not a number from 1 (SUN) to \
             7 (SAT) or a day from SUN to SAT"
        );
    }

    #[test]
    fn rejects_anything_but_six_fields() {
        assert_eq!(
            rejection("cron(0 12 * * ?)"),
            "cron(0 12 * * ?): a cron expression has 6 fields (minutes hours day-of-month month day-of-week \
             year), this one has 5"
        );
        assert_eq!(
            rejection("cron(0 0 12 * * ? *)"),
            "cron(0 0 12 * * ? *): a cron expression has 6 fields (minutes hours day-of-month month day-of-week \
             year), this one has 7"
        );
        assert!(rejection("cron()").ends_with("this one has 0"));
    }

    #[test]
    fn rejects_wildcards_a_field_does_not_allow() {
        assert_eq!(
            rejection("cron(? * * * ? *)"),
            "cron(? * * * ? *): the minutes field has \"?\", with '?', which the field does not allow (it allows \
             , - * /)"
        );
        assert_eq!(
            rejection("cron(0 0 ? * 1/2 *)"),
            "cron(0 0 ? * 1/2 *): the day-of-week field has \"1/2\", with '/', which the field does not allow \
             (it allows , - * ? L #)"
        );
        assert_eq!(
            rejection("cron(0 0 1#2 * ? *)"),
            "cron(0 0 1#2 * ? *): the day-of-month field has \"1#2\", with '#', which the field does not allow \
             (it allows , - * ? / L W)"
        );
        assert_eq!(
            rejection("cron(L 0 * * ? *)"),
            "cron(L 0 * * ? *): the minutes field has \"L\", which is not a number from 0 to 59"
        );
        assert_eq!(
            rejection("cron(0 0 ?,1 * MON *)"),
            "cron(0 0 ?,1 * MON *): the day-of-month field has \"?,1\", which uses ? with other values; ? must be \
             the whole field"
        );
    }

    #[test]
    fn rejects_special_day_forms_mixed_with_other_values() {
        assert_eq!(
            rejection("cron(0 0 ? * 3#1,6#3 *)"),
            "cron(0 0 ? * 3#1,6#3 *): the day-of-week field has \"3#1,6#3\", which uses # with other values; it \
             must be the field's only item"
        );
        assert_eq!(
            rejection("cron(0 0 ? * 6L,2 *)"),
            "cron(0 0 ? * 6L,2 *): the day-of-week field has \"6L,2\", which uses L with other values; it must \
             be the field's only item"
        );
        assert_eq!(
            rejection("cron(0 0 L,15 * ? *)"),
            "cron(0 0 L,15 * ? *): the day-of-month field has \"L,15\", which uses L or W with other values; it \
             must be the field's only item"
        );
        assert_eq!(
            rejection("cron(0 0 1-15W * ? *)"),
            "cron(0 0 1-15W * ? *): the day-of-month field has \"1-15W\", which is not L, LW, or a day from 1 \
             to 31 followed by W, as in 15W"
        );
        assert_eq!(
            rejection("cron(0 0 ? * 2#6 *)"),
            "cron(0 0 ? * 2#6 *): the day-of-week field has \"2#6\"; in day#n, n is the week of the month, \
             from 1 to 5"
        );
    }

    #[test]
    fn rejects_malformed_ranges_increments_and_lists() {
        assert_eq!(
            rejection("cron(0 17-8 * * ? *)"),
            "cron(0 17-8 * * ? *): the hours field has \"17-8\", a range that runs backwards; write the \
             smaller value first"
        );
        assert_eq!(
            rejection("cron(0/0 * * * ? *)"),
            "cron(0/0 * * * ? *): the minutes field has \"0/0\", whose increment \"0\" is not a number from 1 \
             to 60"
        );
        assert_eq!(
            rejection("cron(0,,30 * * * ? *)"),
            "cron(0,,30 * * * ? *): the minutes field has \"0,,30\", with an empty item; separate values with \
             single commas"
        );
    }

    #[test]
    fn rejects_bad_rate_units_plurals_and_values() {
        assert_eq!(
            rejection("rate(1 minutes)"),
            "rate(1 minutes): a rate of 1 takes the singular unit minute, not minutes"
        );
        assert_eq!(
            rejection("rate(5 minute)"),
            "rate(5 minute): a rate above 1 takes the plural unit minutes, not minute"
        );
        assert_eq!(
            rejection("rate(1 hours)"),
            "rate(1 hours): a rate of 1 takes the singular unit hour, not hours"
        );
        assert_eq!(
            rejection("rate(0 minutes)"),
            "rate(0 minutes): the rate value must be a whole number from 1 to 4294967295, not \"0\""
        );
        assert_eq!(
            rejection("rate(1.5 hours)"),
            "rate(1.5 hours): the rate value must be a whole number from 1 to 4294967295, not \"1.5\""
        );
        assert_eq!(
            rejection("rate(-5 minutes)"),
            "rate(-5 minutes): the rate value must be a whole number from 1 to 4294967295, not \"-5\""
        );
        assert_eq!(
            rejection("rate(2 weeks)"),
            "rate(2 weeks): the rate unit must be minute, minutes, hour, hours, day or days, not \"weeks\""
        );
        assert_eq!(
            rejection("rate(5minutes)"),
            "rate(5minutes): a rate has a value and a unit separated by a space, as in rate(5 minutes)"
        );
    }

    #[test]
    fn rejects_expressions_that_are_neither_rate_nor_cron() {
        assert_eq!(
            rejection("at(2026-11-26T10:00:00)"),
            "\"at(2026-11-26T10:00:00)\" is not a schedule expression; write rate(value unit), as in \
             rate(5 minutes), or cron(minutes hours day-of-month month day-of-week year), as in \
             cron(0 10 * * ? *)"
        );
        for other in [
            "",
            "0 10 * * ? *",
            "CRON(0 10 * * ? *)",
            " cron(0 10 * * ? *)",
            "rate(5 minutes",
        ] {
            assert!(
                matches!(parse(other), Err(ScheduleError::UnknownForm { .. })),
                "{other:?}"
            );
        }
    }

    #[test]
    fn display_writes_the_expression_back() {
        for expression in [
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 ? * 6L *)",
            "cron(0 0 15W * ? *)",
            "cron(0 0 LW * ? *)",
            "cron(0 12 ? * L *)",
            "cron(*/5 0-6/2 1,15 JAN-MAR,12 ? 2026-2030/2)",
            "cron(0 0 ? * FRI#3 *)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(36 hours)",
            "rate(7 days)",
        ] {
            assert_eq!(schedule(expression).to_string(), expression);
        }
    }

    #[test]
    fn display_normalises_spacing_case_and_rate_units() {
        assert_eq!(
            schedule("cron(0  18 ?   * mon-fri  *)").to_string(),
            "cron(0 18 ? * MON-FRI *)"
        );
        assert_eq!(
            schedule("cron(0 0 lw * ? *)").to_string(),
            "cron(0 0 LW * ? *)"
        );
        assert_eq!(
            schedule("cron(05 08 01 * ? *)").to_string(),
            "cron(5 8 1 * ? *)"
        );
        assert_eq!(schedule("rate(60 minutes)").to_string(), "rate(1 hour)");
        assert_eq!(schedule("rate(1440 minutes)").to_string(), "rate(1 day)");
        assert_eq!(schedule("rate(90 minutes)").to_string(), "rate(90 minutes)");
    }

    #[test]
    fn a_hand_built_rate_is_read_in_whole_minutes_at_least_one() {
        let odd = Schedule::Rate {
            every: Duration::from_millis(90_500),
        };
        assert_eq!(odd.to_string(), "rate(2 minutes)");
        assert_eq!(
            odd.next_after(at("2026-11-26T10:00:00Z")),
            Some(at("2026-11-26T10:02:00Z"))
        );
        let zero = Schedule::Rate {
            every: Duration::ZERO,
        };
        assert_eq!(zero.to_string(), "rate(1 minute)");
        assert_eq!(
            zero.next_after(at("2026-11-26T10:00:00Z")),
            Some(at("2026-11-26T10:01:00Z"))
        );
    }

    /// Whether `at` (a whole minute, UTC) is a firing, field by field.
    fn matches(cron: &Cron, at: OffsetDateTime) -> bool {
        cron.years.contains(&YEAR, year_number(at.year()))
            && cron.month.contains(&MONTH, u16::from(u8::from(at.month())))
            && cron.runs_on(at.date())
            && cron.hours.contains(&HOURS, u16::from(at.hour()))
            && cron.minutes.contains(&MINUTES, u16::from(at.minute()))
    }

    /// A list for a field: `*`, values, ranges and increments, numbers or names.
    fn list_field(
        min: u16,
        max: u16,
        names: &'static [&'static str],
    ) -> impl Strategy<Value = String> {
        list_field_with(min, max, names, true)
    }

    fn list_field_with(
        min: u16,
        max: u16,
        names: &'static [&'static str],
        steps: bool,
    ) -> impl Strategy<Value = String> {
        let value = (min..=max, any::<bool>()).prop_map(move |(number, named)| {
            match names.get(usize::from(number - min)) {
                Some(name) if named => (*name).to_owned(),
                _ => number.to_string(),
            }
        });
        let plain = prop_oneof![
            Just("*".to_owned()),
            value.clone(),
            (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        ];
        let item = if steps {
            let stepped = (
                prop_oneof![Just("*".to_owned()), value],
                1..=(max - min + 1),
            )
                .prop_map(|(base, step)| format!("{base}/{step}"));
            prop_oneof![3 => plain, 1 => stepped].boxed()
        } else {
            plain.boxed()
        };
        prop::collection::vec(item, 1..4).prop_map(|items| items.join(","))
    }

    fn valid_expression() -> impl Strategy<Value = String> {
        let day_of_month = prop_oneof![
            list_field(1, 31, &[]),
            Just("L".to_owned()),
            Just("LW".to_owned()),
            (1..=31u16).prop_map(|day| format!("{day}W")),
        ];
        let day_of_week = prop_oneof![
            list_field_with(1, 7, DAY_OF_WEEK.names, false),
            Just("L".to_owned()),
            (1..=7u16).prop_map(|day| format!("{day}L")),
            (1..=7u16, 1..=5u16).prop_map(|(day, nth)| format!("{day}#{nth}")),
        ];
        let days = prop_oneof![
            day_of_month.prop_map(|dom| (dom, "?".to_owned())),
            day_of_week.prop_map(|dow| ("?".to_owned(), dow)),
        ];
        let cron = (
            list_field(0, 59, &[]),
            list_field(0, 23, &[]),
            days,
            list_field(1, 12, MONTH.names),
            list_field(1970, 2199, &[]),
        )
            .prop_map(|(minutes, hours, (dom, dow), month, year)| {
                format!("cron({minutes} {hours} {dom} {month} {dow} {year})")
            });
        let rate = (
            1..=100_000u32,
            prop_oneof![Just("minute"), Just("hour"), Just("day")],
        )
            .prop_map(|(value, unit)| {
                let plural = if value == 1 { "" } else { "s" };
                format!("rate({value} {unit}{plural})")
            });
        prop_oneof![cron, rate]
    }

    proptest! {
        // Failures are reported with their minimal input; no regression file is written into the source tree.
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_miss_expressions(
            text in "(cron|rate)\\([ 0-9A-Za-z*?/,#-]{0,40}\\)"
        ) {
            if let Ok(schedule) = parse(&text) {
                prop_assert_eq!(parse(&schedule.to_string()), Ok(schedule));
            }
        }

        #[test]
        fn every_valid_expression_reparses_from_its_display_and_fires_strictly_later(
            expression in valid_expression(),
            after in -60_000_000_000i64..253_402_300_000,
        ) {
            let schedule = parse(&expression).map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(parse(&schedule.to_string()), Ok(schedule.clone()));
            let after = OffsetDateTime::from_unix_timestamp(after).unwrap();
            if let Some(fire) = schedule.next_after(after) {
                prop_assert!(fire > after);
            }
        }

        /// The search through years, months, days, hours and minutes finds the same firing as walking forward
        /// minute by minute for three days.
        #[test]
        fn cron_next_after_is_the_first_matching_minute(
            expression in valid_expression().prop_filter("cron only", |e| e.starts_with("cron(")),
            after in 0i64..7_258_118_400, // 1970 to 2200
        ) {
            let Ok(Schedule::Cron(cron)) = parse(&expression) else {
                return Err(TestCaseError::fail(format!("{expression} did not parse as cron")));
            };
            let after = OffsetDateTime::from_unix_timestamp(after).unwrap();
            let found = cron.next_after(after);
            let mut minute = after.unix_timestamp().div_euclid(60) * 60;
            let walked = (0..3 * 24 * 60).find_map(|_| {
                minute += 60;
                let candidate = OffsetDateTime::from_unix_timestamp(minute).ok()?;
                matches(&cron, candidate).then_some(candidate)
            });
            match walked {
                Some(walked) => prop_assert_eq!(found, Some(walked)),
                None => prop_assert!(found.is_none_or(|found| found.unix_timestamp() > minute)),
            }
        }
    }
}
