//! `history`: earlier runs of scripts, from the run history that every
//! `runbook run` writes (SQLite in the state folder, or `[history] url`).
//! For comparisons and trends: last month's baseline, sizes month by month.
//! Dry runs are left out: they measured nothing that happened.

use rhai::plugin::*;

use crate::history::{RunRow, Store};
use crate::host::{error, HostResult};

fn store(func: &str) -> HostResult<Store> {
    Store::open(&crate::engine::context::ctx().config).map_err(|e| error(func, e))
}

fn since(func: &'static str, opts: &rhai::Map) -> HostResult<Option<chrono::DateTime<chrono::Utc>>> {
    let o = crate::host::opts::Opts::new(func, opts)?;
    // Durations are capped at 1000 years (crate::duration::MAX): this fits.
    Ok(o.duration("since")?
        .and_then(|d| chrono::Duration::from_std(d).ok().and_then(|d| chrono::Utc::now().checked_sub_signed(d))))
}

fn run_map(r: &RunRow) -> rhai::Map {
    let mut m = rhai::Map::new();
    m.insert("id".into(), Dynamic::from(r.id));
    m.insert("script".into(), r.script.clone().into());
    m.insert("host".into(), r.host.clone().into());
    m.insert("started_at".into(), Dynamic::from(crate::host::time::Timestamp(r.started_at)));
    m.insert("duration_ms".into(), Dynamic::from(r.duration_ms));
    m.insert("status".into(), r.status.clone().into());
    m.insert("exit_code".into(), Dynamic::from(r.exit_code as rhai::INT));
    let json = |s: &str| serde_json::from_str(s).map(crate::host::convert::from_json).unwrap_or(Dynamic::UNIT);
    m.insert("params".into(), json(&r.params));
    // Parsed once, for both the metrics and the report.
    let report: serde_json::Value = serde_json::from_str(&r.report_json).unwrap_or(serde_json::Value::Null);
    m.insert(
        "metrics".into(),
        Dynamic::from_map(
            crate::history::metrics_of(&report).into_iter().map(|(k, v)| (k.into(), Dynamic::from_float(v))).collect(),
        ),
    );
    m.insert("report".into(), crate::host::convert::from_json(report));
    m
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod history_functions {
    use rhai::{Array, Dynamic, Map};

    use super::{run_map, since, store};
    use crate::history::{metric_value, Filter};
    use crate::host::{error, HostResult};

    /// The newest recorded run of `script` (not a dry run), or `()` when it
    /// never ran: `#{id, script, host, started_at, duration_ms, status,
    /// exit_code, params, metrics, report}`: `metrics` maps each metric's
    /// name to its value, `report` is the run's whole JSON report.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let last = history::last("daily-check");
    /// if last == () {
    ///     print("daily-check never ran here");
    /// } else {
    ///     print(`daily-check: ${last.status}, ${last.started_at.age} ago`);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn last(script: &str) -> HostResult<Dynamic> {
        let f = Filter { script: Some(script.to_string()), limit: Some(1), ..Filter::default() };
        let rows = store("history::last")?.list(&f).map_err(|e| error("history::last", e))?;
        Ok(rows.first().map(|r| Dynamic::from_map(run_map(r))).unwrap_or(Dynamic::UNIT))
    }

    /// The recorded runs of `script`, newest first; options: `since`
    /// (a duration: only runs started within it).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let week = history::runs("backup-db", #{since: "7d"});
    /// let failed = week.filter(|r| r.status != "OK");
    /// print(`${week.len()} backups this week, ${failed.len()} not OK`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn runs(script: &str, opts: Map) -> HostResult<Array> {
        let f = Filter { script: Some(script.to_string()), since: since("history::runs", &opts)?, ..Filter::default() };
        let rows = store("history::runs")?.list(&f).map_err(|e| error("history::runs", e))?;
        Ok(rows.iter().map(|r| Dynamic::from_map(run_map(r))).collect())
    }

    /// The values `metric(name, …)` had in the recorded runs of `script`,
    /// oldest first: `[#{at, value}]` (`at` a timestamp). Runs without the
    /// metric are left out. Options: `since` (a duration).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let p95 = history::metrics("monthly/performance-baseline", "p95_ms", #{since: "400d"});
    /// for point in p95 {
    ///     print(`${point.at.date}: ${point.value} ms`);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn metrics(script: &str, metric: &str, opts: Map) -> HostResult<Array> {
        let f =
            Filter { script: Some(script.to_string()), since: since("history::metrics", &opts)?, ..Filter::default() };
        let rows = store("history::metrics")?.list(&f).map_err(|e| error("history::metrics", e))?;
        Ok(rows
            .iter()
            .rev()
            .filter_map(|r| {
                let value = metric_value(&r.report_json, metric)?;
                let mut m = Map::new();
                m.insert("at".into(), Dynamic::from(crate::host::time::Timestamp(r.started_at)));
                m.insert("value".into(), Dynamic::from_float(value));
                Some(Dynamic::from_map(m))
            })
            .collect())
    }

    /// `metrics(script, metric, #{})`: every recorded value.
    ///
    /// *read-only*
    #[rhai_fn(name = "metrics", return_raw)]
    pub fn metrics_all(script: &str, metric: &str) -> HostResult<Array> {
        metrics(script, metric, Map::new())
    }

    /// `runs(script, #{})`: every recorded run.
    ///
    /// *read-only*
    #[rhai_fn(name = "runs", return_raw)]
    pub fn runs_all(script: &str) -> HostResult<Array> {
        runs(script, Map::new())
    }
}
