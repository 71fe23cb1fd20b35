//! `time`: timestamps and durations that compare, add and subtract.
//! Durations are written the way operators write them: "90s", "15m", "7d".

use chrono::{DateTime, Utc};
use rhai::plugin::*;

pub use crate::value::{parse_timestamp, Span, Timestamp};

/// Check a strftime format before using it: chrono panics on a bad one.
fn checked_format(fmt: &str) -> Result<Vec<chrono::format::Item<'_>>, String> {
    let items: Vec<_> = chrono::format::StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, chrono::format::Item::Error)) {
        return Err(format!("`{fmt}` is not a valid strftime format (e.g. \"%Y-%m-%d %H:%M\")"));
    }
    Ok(items)
}

/// `t` moved by `us` microseconds, or an error when the result is beyond
/// the dates runbook represents (chrono panics there).
fn shift(func: &str, t: DateTime<Utc>, us: i64) -> crate::host::HostResult<Timestamp> {
    t.checked_add_signed(chrono::TimeDelta::microseconds(us)).map(Timestamp).ok_or_else(|| {
        crate::host::error(
            func,
            format!("{} from {t} is beyond the dates runbook can represent", Span::from_micros(us)),
        )
    })
}

/// How long from `b` to `a`.
fn between(a: DateTime<Utc>, b: DateTime<Utc>) -> Span {
    Span::from_micros((a - b).num_microseconds().unwrap_or(i64::MAX))
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod time_functions {
    use super::{checked_format, parse_timestamp, Span, Timestamp};
    use crate::host::{error, HostResult};
    use chrono::Utc;
    use rhai::INT;

    /// Wait: `time::sleep("2s")`. The run's `--timeout` and Ctrl-C still
    /// end it.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let t = time::now();
    /// time::sleep("50ms");
    /// assert(t.age.ms >= 50, "waited");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sleep(d: &str) -> HostResult<()> {
        let d = crate::duration::parse(d).map_err(|e| error("time::sleep", e))?;
        crate::engine::runtime::block_on(async move { tokio::time::sleep(d).await })
    }

    /// Wait for a `Duration` (a `duration` param, `time::duration("2s")`).
    ///
    /// *read-only*
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_span(d: Span) -> HostResult<()> {
        let d = d.to_std();
        crate::engine::runtime::block_on(async move { tokio::time::sleep(d).await })
    }

    /// The current time.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let t = time::now();
    /// assert(t > time::parse("2020-01-01"), "the clock is set");
    /// ```
    pub fn now() -> Timestamp {
        Timestamp(Utc::now())
    }

    /// The time `d` ago, where `d` is a duration such as "7d" or "90m".
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let week_ago = time::ago("7d");
    /// assert(time::now() - week_ago >= time::duration("7d"), "a week");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ago(d: &str) -> HostResult<Timestamp> {
        let d = crate::duration::parse(d).map_err(|e| error("time::ago", e))?;
        super::shift("time::ago", Utc::now(), -(d.as_micros().min(i64::MAX as u128) as i64))
    }

    /// The time a `Duration` ago.
    ///
    /// *read-only*
    #[rhai_fn(name = "ago", return_raw)]
    pub fn ago_span(d: Span) -> HostResult<Timestamp> {
        super::shift("time::ago", Utc::now(), d.micros().checked_neg().unwrap_or(i64::MAX))
    }

    /// A duration from its text: "500ms", "90s", "15m", "2h", "7d", "1h30m".
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let d = time::duration("1h30m");
    /// assert(d.minutes == 90.0, "90 minutes");
    /// assert(d > time::duration("1h"), "durations compare");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn duration(text: &str) -> HostResult<Span> {
        crate::duration::parse(text).map(Span::from).map_err(|e| error("time::duration", e))
    }

    /// A `Duration` given where text could be: the same `Duration`.
    ///
    /// *read-only*
    #[rhai_fn(name = "duration")]
    pub fn duration_span(d: Span) -> Span {
        d
    }

    /// A duration of `n` seconds.
    ///
    /// *read-only*
    pub fn seconds(n: INT) -> Span {
        Span::from_millis(n.saturating_mul(1000))
    }

    /// Read a time: RFC 3339, "YYYY-mm-dd HH:MM:SS" (UTC) or "YYYY-mm-dd".
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let t = time::parse("2026-11-28T09:00:00Z");
    /// assert(t.unix == 1795856400, "unix seconds");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse(text: &str) -> HostResult<Timestamp> {
        parse_timestamp(text).map_err(|e| error("time::parse", e))
    }

    /// Read a time with a strftime format; without a zone in the format,
    /// the time is taken as UTC.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let t = time::parse("28/11/2026 09:00", "%d/%m/%Y %H:%M");
    /// assert(t.format("%Y-%m-%d") == "2026-11-28", "same day");
    /// ```
    #[rhai_fn(name = "parse", return_raw)]
    pub fn parse_with(text: &str, format: &str) -> HostResult<Timestamp> {
        checked_format(format).map_err(|e| error("time::parse", e))?;
        if let Ok(d) = chrono::DateTime::parse_from_str(text, format) {
            return Ok(Timestamp(d.with_timezone(&Utc)));
        }
        chrono::NaiveDateTime::parse_from_str(text, format)
            .map(|d| Timestamp(d.and_utc()))
            .map_err(|e| error("time::parse", format!("`{text}` does not match `{format}`: {e}")))
    }

    /// The time at `secs` seconds since 1970-01-01 UTC.
    ///
    /// *read-only*
    pub fn from_unix(secs: INT) -> Timestamp {
        Timestamp(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    /// Format with strftime, in UTC: `t.format("%Y%m%d-%H%M%S")`.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "format", return_raw, pure)]
    pub fn format(t: &mut Timestamp, fmt: &str) -> HostResult<String> {
        let items = checked_format(fmt).map_err(|e| error("format", e))?;
        Ok(t.0.format_with_items(items.into_iter()).to_string())
    }

    /// The time in this machine's time zone, e.g. "2026-11-28 10:00:00 +01:00".
    ///
    /// *read-only*
    #[rhai_fn(global, name = "local", pure)]
    pub fn local(t: &mut Timestamp) -> String {
        t.0.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %:z").to_string()
    }

    /// RFC 3339 text, e.g. "2026-11-28T09:00:00Z".
    ///
    /// *read-only*
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn ts_to_string(t: &mut Timestamp) -> String {
        t.rfc3339()
    }

    /// Seconds since 1970-01-01 UTC.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "unix", pure)]
    pub fn unix(t: &mut Timestamp) -> INT {
        t.0.timestamp()
    }

    /// How long ago this time was (negative for a time in the future).
    ///
    /// *read-only*
    #[rhai_fn(global, get = "age", pure)]
    pub fn age(t: &mut Timestamp) -> Span {
        super::between(Utc::now(), t.0)
    }

    /// The calendar date, "YYYY-mm-dd" (UTC).
    ///
    /// *read-only*
    #[rhai_fn(global, get = "date", pure)]
    pub fn date(t: &mut Timestamp) -> String {
        t.0.format("%Y-%m-%d").to_string()
    }

    #[rhai_fn(global, name = "+", return_raw)]
    pub fn add(t: Timestamp, d: Span) -> HostResult<Timestamp> {
        super::shift("timestamp + duration", t.0, d.micros())
    }
    #[rhai_fn(global, name = "-", return_raw)]
    pub fn sub(t: Timestamp, d: Span) -> HostResult<Timestamp> {
        super::shift("timestamp - duration", t.0, d.micros().checked_neg().unwrap_or(i64::MAX))
    }
    #[rhai_fn(global, name = "-")]
    pub fn diff(a: Timestamp, b: Timestamp) -> Span {
        super::between(a.0, b.0)
    }
    #[rhai_fn(global, name = "==")]
    pub fn ts_eq(a: Timestamp, b: Timestamp) -> bool {
        a == b
    }
    #[rhai_fn(global, name = "!=")]
    pub fn ts_ne(a: Timestamp, b: Timestamp) -> bool {
        a != b
    }
    #[rhai_fn(global, name = "<")]
    pub fn ts_lt(a: Timestamp, b: Timestamp) -> bool {
        a < b
    }
    #[rhai_fn(global, name = "<=")]
    pub fn ts_le(a: Timestamp, b: Timestamp) -> bool {
        a <= b
    }
    #[rhai_fn(global, name = ">")]
    pub fn ts_gt(a: Timestamp, b: Timestamp) -> bool {
        a > b
    }
    #[rhai_fn(global, name = ">=")]
    pub fn ts_ge(a: Timestamp, b: Timestamp) -> bool {
        a >= b
    }

    /// The duration as text that `time::duration` reads back: "1h30m".
    ///
    /// *read-only*
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn span_to_string(d: &mut Span) -> String {
        d.to_string()
    }
    /// Whole milliseconds.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "ms", pure)]
    pub fn ms(d: &mut Span) -> INT {
        d.millis()
    }
    /// Seconds, with a fraction.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "seconds", pure)]
    pub fn span_seconds(d: &mut Span) -> f64 {
        d.micros() as f64 / 1e6
    }
    /// Minutes, with a fraction.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "minutes", pure)]
    pub fn minutes(d: &mut Span) -> f64 {
        d.micros() as f64 / 6e7
    }
    /// Hours, with a fraction.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "hours", pure)]
    pub fn hours(d: &mut Span) -> f64 {
        d.micros() as f64 / 3.6e9
    }
    /// Days, with a fraction.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "days", pure)]
    pub fn days(d: &mut Span) -> f64 {
        d.micros() as f64 / 8.64e10
    }
    #[rhai_fn(global, name = "+")]
    pub fn span_add(a: Span, b: Span) -> Span {
        Span::from_micros(a.micros().saturating_add(b.micros()))
    }
    #[rhai_fn(global, name = "-")]
    pub fn span_sub(a: Span, b: Span) -> Span {
        Span::from_micros(a.micros().saturating_sub(b.micros()))
    }
    #[rhai_fn(global, name = "*")]
    pub fn span_mul(a: Span, n: INT) -> Span {
        Span::from_micros(a.micros().saturating_mul(n))
    }
    #[rhai_fn(global, name = "*")]
    pub fn span_mul_f(a: Span, n: f64) -> Span {
        Span::from_micros((a.micros() as f64 * n) as i64)
    }
    #[rhai_fn(global, name = "==")]
    pub fn span_eq(a: Span, b: Span) -> bool {
        a == b
    }
    #[rhai_fn(global, name = "!=")]
    pub fn span_ne(a: Span, b: Span) -> bool {
        a != b
    }
    #[rhai_fn(global, name = "<")]
    pub fn span_lt(a: Span, b: Span) -> bool {
        a < b
    }
    #[rhai_fn(global, name = "<=")]
    pub fn span_le(a: Span, b: Span) -> bool {
        a <= b
    }
    #[rhai_fn(global, name = ">")]
    pub fn span_gt(a: Span, b: Span) -> bool {
        a > b
    }
    #[rhai_fn(global, name = ">=")]
    pub fn span_ge(a: Span, b: Span) -> bool {
        a >= b
    }
    /// Compare with a duration's text: `backup.age > "26h"`.
    ///
    /// *read-only*
    #[rhai_fn(global, name = ">", return_raw)]
    pub fn span_gt_text(a: Span, b: &str) -> HostResult<bool> {
        Ok(a > duration(b)?)
    }
    #[rhai_fn(global, name = "<", return_raw)]
    pub fn span_lt_text(a: Span, b: &str) -> HostResult<bool> {
        Ok(a < duration(b)?)
    }
    #[rhai_fn(global, name = ">=", return_raw)]
    pub fn span_ge_text(a: Span, b: &str) -> HostResult<bool> {
        Ok(a >= duration(b)?)
    }
    #[rhai_fn(global, name = "<=", return_raw)]
    pub fn span_le_text(a: Span, b: &str) -> HostResult<bool> {
        Ok(a <= duration(b)?)
    }
}
