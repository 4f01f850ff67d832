//! Timestamps as CodePipeline writes them: epoch seconds on the wire, ISO 8601 in the aws CLI's output.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time with millisecond precision, the precision CodePipeline reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    epoch_millis: i64,
}

impl Timestamp {
    pub fn from_epoch_millis(epoch_millis: i64) -> Self {
        Self { epoch_millis }
    }

    pub fn epoch_millis(self) -> i64 {
        self.epoch_millis
    }

    /// Epoch seconds, as awsJson1.1 puts timestamps on the wire.
    pub fn epoch_seconds(self) -> f64 {
        self.epoch_millis as f64 / 1000.0
    }
}

/// Reads an ISO 8601 / RFC 3339 date and time ("2026-11-26T10:00:00.123+00:00") into epoch milliseconds.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let millis = parsed.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis).ok().map(Timestamp::from_epoch_millis)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.epoch_millis % 1000 == 0 {
            serializer.serialize_i64(self.epoch_millis / 1000)
        } else {
            serializer.serialize_f64(self.epoch_seconds())
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(seconds) if seconds.is_finite() => Ok(Timestamp::from_epoch_millis(
                (seconds * 1000.0).round() as i64,
            )),
            Raw::Seconds(_) => Err(serde::de::Error::custom(
                "a timestamp must be a finite number",
            )),
            Raw::Text(text) => parse_timestamp(&text).ok_or_else(|| {
                serde::de::Error::custom(format!("{text:?} is not an ISO 8601 date and time"))
            }),
        }
    }
}

fn date_time(time: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(time.epoch_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2023-10-26T13:49:39Z`, as EventBridge writes an event's `time`.
pub fn iso_seconds(time: Timestamp) -> String {
    let t = date_time(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2023-10-26T13:49:39.208Z`, as CodePipeline writes `start-time` in a detail.
pub fn iso_millis(time: Timestamp) -> String {
    let t = date_time(time);
    format!(
        "{}.{:03}Z",
        iso_seconds(time).trim_end_matches('Z'),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_epoch_seconds_and_the_cli_iso_form_alike() {
        let from_wire: Timestamp = serde_json::from_str("1700000000.5").unwrap();
        let from_cli: Timestamp =
            serde_json::from_str("\"2023-11-14T22:13:20.500000+00:00\"").unwrap();
        assert_eq!(from_wire, from_cli);
        assert_eq!(serde_json::to_string(&from_wire).unwrap(), "1700000000.5");
        assert_eq!(
            serde_json::to_string(&Timestamp::from_epoch_millis(1_700_000_000_000)).unwrap(),
            "1700000000"
        );
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn times_are_written_as_codepipeline_writes_them() {
        let t = Timestamp::from_epoch_millis(1_698_328_179_008);
        assert_eq!(iso_seconds(t), "2023-10-26T13:49:39Z");
        assert_eq!(iso_millis(t), "2023-10-26T13:49:39.008Z");
        assert_eq!(parse_timestamp(&iso_millis(t)), Some(t));
    }
}
