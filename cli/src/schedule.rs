//! `sluice schedule next 'EXPR' [--after RFC3339] [--count N]`: the next times an EventBridge schedule
//! expression fires, worked out by `sluice_core::schedule`.
//!
//! The contract other checks rely on: one time a line, in UTC with seconds and no fraction
//! (`2026-12-07T02:00:00Z`), exit 0; fewer lines, or none, when the schedule stops firing first; exit 1 with
//! the expression's problem on stderr (naming the field and the token); exit 2 for a bad `--after` or
//! `--count` (clap's usage error, naming the flag).

use std::io::Write;
use std::process::ExitCode;

use sluice_core::schedule;
use sluice_core::time::{Timestamp, iso_seconds};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Print the next times a schedule expression fires, one a line, in UTC (2026-12-07T02:00:00Z).
    ///
    /// Prints --count times (1 unless given), each strictly after --after (now unless given), and exits 0.
    /// A schedule that stops firing first (its years are past, or its day never comes) prints fewer lines,
    /// or none, and still exits 0. An expression EventBridge would refuse exits 1 with the reason on stderr.
    ///
    /// A rate counts from --after: EventBridge counts it from the rule's creation, and here there is no
    /// rule, so `rate(5 minutes)` prints --after + 5 minutes, + 10 minutes, and so on.
    Next(NextArgs),
}

#[derive(clap::Args)]
pub(crate) struct NextArgs {
    /// The expression, quoted: cron(minutes hours day-of-month month day-of-week year), as in
    /// 'cron(0 2 * * ? *)', or rate(value unit), as in 'rate(5 minutes)'.
    #[arg(value_name = "EXPR")]
    expression: String,
    /// The instant to count from, in RFC 3339 with any offset (2026-12-07T03:00:00+01:00); read in UTC,
    /// to the second [default: now]
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    after: Option<OffsetDateTime>,
    /// How many times to print, at least 1
    // A negative count reaches the value parser, whose message names --count, rather than reading as a flag.
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
}

pub(crate) fn run(command: &Command) -> ExitCode {
    match command {
        Command::Next(args) => next(args),
    }
}

fn next(args: &NextArgs) -> ExitCode {
    let schedule = match schedule::parse(&args.expression) {
        Ok(schedule) => schedule,
        Err(error) => {
            eprintln!("sluice schedule next: {error}");
            return ExitCode::from(1);
        }
    };
    let after = whole_second(args.after.unwrap_or_else(OffsetDateTime::now_utc));
    let count = usize::try_from(args.count).unwrap_or(usize::MAX);
    let mut out = std::io::stdout().lock();
    for fire in schedule.firings_after(after).take(count) {
        let millis = fire.unix_timestamp().saturating_mul(1000);
        // A closed pipe (`| head -1`) ends the listing; nothing more is worth saying.
        if writeln!(out, "{}", iso_seconds(Timestamp::from_epoch_millis(millis))).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// `--after`'s value: an RFC 3339 date and time.
fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|error| {
        format!("not an RFC 3339 date and time, as in 2026-12-07T02:00:00Z ({error})")
    })
}

/// `instant` without its fraction of a second, so that a rate's times print as whole seconds. Cron times are
/// whole minutes after the instant either way.
fn whole_second(instant: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(instant.unix_timestamp()).unwrap_or(instant)
}
