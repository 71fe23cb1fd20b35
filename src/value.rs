//! The value types scripts hold that more than the `time` host module
//! knows: the report renders them, the history returns them. Their script
//! functions are in `src/host/time.rs`.

use std::fmt;

use chrono::{DateTime, Utc};

/// A point in time (UTC inside; `local()` shows the machine's zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

/// A signed duration in milliseconds; Rhai calls it `Duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub i64);

impl Timestamp {
    pub fn rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = std::time::Duration::from_millis(self.0.unsigned_abs());
        write!(f, "{}{}", if self.0 < 0 { "-" } else { "" }, crate::duration::format(abs))
    }
}

impl From<std::time::Duration> for Span {
    fn from(d: std::time::Duration) -> Self {
        Span(d.as_millis() as i64)
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
