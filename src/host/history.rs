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

/// The `jobs` option: a list of job names, or one name; none when absent.
fn job_names(func: &str, opts: &rhai::Map) -> HostResult<Vec<String>> {
    match opts.get("jobs") {
        None => Ok(vec![]),
        Some(v) if v.is_array() => {
            Ok(v.clone().into_array().unwrap_or_default().iter().map(|d| d.to_string()).collect())
        }
        Some(v) if v.is_string() => Ok(vec![v.to_string()]),
        Some(v) => Err(error(func, format!("`jobs` is a list of job names, not {}", v.type_name()))),
    }
}

fn snooze_for(duration: &str, opts: rhai::Map) -> HostResult<rhai::INT> {
    use crate::history::silence::Silence;
    const FUNC: &str = "history::snooze";
    let o = crate::host::opts::Opts::new(FUNC, &opts)?;
    let d = crate::duration::parse(duration).map_err(|e| error(FUNC, e))?;
    crate::history::silence::length(d, duration).map_err(|e| error(FUNC, e))?;
    let names = job_names(FUNC, &opts)?;
    let config = &crate::engine::context::ctx().config;
    crate::plan::jobs::check_names(config, &crate::script::ScriptPath::of_process(config), &names)
        .map_err(|f| error(FUNC, format!("{}{}", f.message, f.help.map(|h| format!(" ({h})")).unwrap_or_default())))?;
    let reason = o.str("reason")?.unwrap_or_default();
    let what = if names.is_empty() { "every job".to_string() } else { names.join(", ") };
    if !crate::engine::guard::mutating(|| format!("snooze {what} for {duration}: no report mails")) {
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let by = format!("{}, through history::snooze", crate::history::silence::who(&crate::host::sys::hostname_string()));
    let silence = Silence {
        id: 0,
        names,
        starts_at: now,
        ends_at: now + chrono::Duration::from_std(d).unwrap_or_default(),
        reason,
        by,
    };
    store(FUNC)?.open_silence(&silence).map_err(|e| error(FUNC, e))
}

fn health_of(opts: rhai::Map) -> HostResult<rhai::Array> {
    const FUNC: &str = "history::health";
    let o = crate::host::opts::Opts::new(FUNC, &opts)?;
    let grace = o.duration("grace")?.unwrap_or(std::time::Duration::from_secs(900));
    let only = job_names(FUNC, &opts)?;
    let config = &crate::engine::context::ctx().config;
    let scripts = crate::script::ScriptPath::of_process(config);
    let jobs = crate::plan::jobs::load(config, &scripts, &only, false)
        .map_err(|f| error(FUNC, format!("{}{}", f.message, f.help.map(|h| format!(" ({h})")).unwrap_or_default())))?;
    let judged = crate::plan::health::of_plan(&mut store(FUNC)?, &jobs, chrono::Utc::now(), grace)
        .map_err(|e| error(FUNC, e))?;
    Ok(judged
        .into_iter()
        .map(|h| {
            let mut m = rhai::Map::new();
            m.insert("title".into(), h.title().into());
            m.insert("job".into(), h.job.name.clone().into());
            m.insert("script".into(), h.job.script.clone().into());
            m.insert("cron".into(), h.job.cron_text.clone().into());
            m.insert(
                "silence".into(),
                h.silence.as_ref().map(|s| Dynamic::from(s.describe())).unwrap_or(Dynamic::UNIT),
            );
            let checks: rhai::Array = h
                .checks
                .iter()
                .map(|c| {
                    let mut cm = rhai::Map::new();
                    cm.insert("name".into(), c.name.clone().into());
                    cm.insert("level".into(), c.level.name().into());
                    cm.insert("message".into(), c.message.clone().into());
                    Dynamic::from_map(cm)
                })
                .collect();
            m.insert("checks".into(), checks.into());
            Dynamic::from_map(m)
        })
        .collect())
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

    /// How each scheduled job is doing, judged from its recorded runs, as
    /// `runbook history health` judges it: `[#{job, script, cron, title,
    /// silence, checks}]`, one per job of the plan in name order. `checks`
    /// are `#{name, level, message}`: "on schedule" (CRITICAL when the
    /// newest slot passed `grace` ago with no run: the dead-man's switch),
    /// "run time" (WARNING under a tenth or over 5 times its usual) and
    /// "failures" (CRITICAL after 3 in a row). `silence` describes the
    /// silence the job is under (`runbook snooze`) as text, or is `()`; a
    /// silenced job's checks are OK. Options: `jobs` (a list of job names: only these), `grace`
    /// (a duration, default "15m").
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// for j in history::health(#{grace: "15m"}) {
    ///     for c in j.checks {
    ///         if c.level != "OK" { print(`${j.job}: ${c.name}: ${c.message}`); }
    ///     }
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn health(opts: Map) -> HostResult<Array> {
        super::health_of(opts)
    }

    /// `health(#{})`: every job of the plan, with a grace of 15 minutes.
    ///
    /// *read-only*
    #[rhai_fn(name = "health", return_raw)]
    pub fn health_all() -> HostResult<Array> {
        super::health_of(Map::new())
    }

    /// Open a silence for `duration` (at most 7 days), as `runbook snooze`
    /// does: the runs it covers go on and are recorded, shown as in
    /// maintenance; their report mails are not sent and run health does
    /// not alarm on them. Options: `jobs` (a list of job or script names;
    /// none: every job), `reason`. Returns the silence's id, for
    /// `end_snooze`; under `--dry-run` it opens none and returns 0.
    ///
    /// *mutating*
    ///
    /// ```rhai
    /// let silence = history::snooze("2h", #{reason: "maintenance window"});
    /// // … the work …
    /// history::end_snooze(silence);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snooze(duration: &str, opts: Map) -> HostResult<rhai::INT> {
        super::snooze_for(duration, opts)
    }

    /// `snooze` for a `Duration` (a `duration` param).
    ///
    /// *mutating*
    #[rhai_fn(name = "snooze", return_raw)]
    pub fn snooze_span(duration: crate::value::Span, opts: Map) -> HostResult<rhai::INT> {
        super::snooze_for(&crate::duration::format(duration.to_std()), opts)
    }

    /// End the silence `id` now (one `snooze` opened); `true` when it was
    /// still in force. 0 (a dry run's id) ends nothing.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn end_snooze(id: rhai::INT) -> HostResult<bool> {
        if id <= 0 || !crate::engine::guard::mutating(|| format!("end silence {id}")) {
            return Ok(false);
        }
        let ended = store("history::end_snooze")?
            .end_silence(Some(id), chrono::Utc::now())
            .map_err(|e| error("history::end_snooze", e))?;
        Ok(ended > 0)
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
