//! The value types scripts hold that more than the `time` host module
//! knows: the report renders them, the history returns them. Their script
//! functions are in `src/host/time.rs`.

use std::fmt;

use chrono::{DateTime, Utc};

/// A point in time (UTC inside; `local()` shows the machine's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

/// A signed duration in microseconds, so that a fast step's `.seconds`
/// keeps its fraction; Rhai calls it `Duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(i64);

impl Span {
    pub fn from_micros(us: i64) -> Span {
        Span(us)
    }
    pub fn from_millis(ms: i64) -> Span {
        Span(ms.saturating_mul(1000))
    }
    pub fn micros(self) -> i64 {
        self.0
    }
    /// Whole milliseconds, rounded toward zero.
    pub fn millis(self) -> i64 {
        self.0 / 1000
    }
    /// As a wait: a negative span is no wait at all.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0.max(0) as u64)
    }
}

impl Timestamp {
    /// The one way a time is shown to people (run output, tables, the
    /// REPL): RFC 3339 in UTC, to the millisecond when the time has a
    /// fraction ("2026-12-03T07:21:03.123Z", "2026-11-28T09:00:00Z").
    pub fn rfc3339(&self) -> String {
        let precision = match self.0.timestamp_subsec_nanos() {
            0 => chrono::SecondsFormat::Secs,
            _ => chrono::SecondsFormat::Millis,
        };
        self.0.to_rfc3339_opts(precision, true)
    }

    /// The same for machines (JSON, saved state, query parameters), with
    /// every digit the time has: a microsecond `created_at` saved and read
    /// back is the same time, not one a little before it.
    pub fn rfc3339_exact(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// The compact text that `time::duration` reads back, to the millisecond
/// for people: "1h30m", "250ms"; under a millisecond its fraction
/// ("0.25ms"), so that a short step never reads as "0s". `.ms`,
/// `.seconds` and the rest keep the microseconds.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let us = self.0.unsigned_abs();
        // Under a second, to three significant digits (to the microsecond
        // under 1 ms): a 7.5 ms query reads 7.5ms, not 7ms.
        if us < 1_000_000 && us % 1000 != 0 {
            let decimals = match us {
                0..1_000 => 3,
                1_000..10_000 => 2,
                10_000..100_000 => 1,
                _ => 0,
            };
            let ms = format!("{:.decimals$}", us as f64 / 1000.0);
            let ms = if ms.contains('.') { ms.trim_end_matches('0').trim_end_matches('.') } else { &ms };
            return write!(f, "{sign}{ms}ms");
        }
        write!(f, "{sign}{}", crate::duration::format(std::time::Duration::from_micros(us)))
    }
}

impl From<std::time::Duration> for Span {
    fn from(d: std::time::Duration) -> Self {
        Span(d.as_micros().min(i64::MAX as u128) as i64)
    }
}

pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(Timestamp(d.with_timezone(&Utc)));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Ok(Timestamp(d.with_timezone(&Utc)));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Timestamp(d.and_utc()));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Timestamp(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
    }
    Err(format!(
        "cannot read `{text}` as a time: write RFC 3339 (2026-11-28T09:00:00Z), \"2026-11-28 09:00:00\" or 2026-11-28"
    ))
}

/// When a run's report is mailed: `--mail-on` and `[schedule.NAME]
/// mail_on`, parsed where they enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailOn {
    /// Unless the run is OK (the default).
    #[default]
    Failure,
    /// Every run.
    Always,
    /// When the status differs from the previous run's.
    Change,
}

impl MailOn {
    /// As written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            MailOn::Failure => "failure",
            MailOn::Always => "always",
            MailOn::Change => "change",
        }
    }
}
