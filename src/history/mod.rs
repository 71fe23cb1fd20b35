//! Run history: every `runbook run` recorded (script, params, host, start,
//! duration, status, exit code, the redacted report), and the slots the
//! scheduler has claimed.
//!
//! Two stores with one interface: an embedded SQLite file in the state
//! folder (the default: nothing to set up) and PostgreSQL (`[history] url`),
//! which a fleet shares — the scheduler's "each slot exactly once" is a
//! unique row in it. Retention (`keep_days`, `keep_runs` per script) is
//! applied on every write, so the store never needs a cron job of its own.
//!
//! A run does not write to the SQLite store itself: it leaves its record in
//! the spool (`spool.rs`), which every reader moves into the store first.

pub mod fleet_lock;
mod postgres;
pub mod silence;
pub mod spool;
mod sqlite;

use chrono::{DateTime, Utc};

use crate::config::Config;

/// Kept this long unless `[history] keep_days` says otherwise: a year and a
/// month, so monthly trends (capacity planning) have twelve points.
pub const DEFAULT_KEEP_DAYS: u32 = 400;
/// Runs kept per script unless `[history] keep_runs` says otherwise.
pub const DEFAULT_KEEP_RUNS: u32 = 2000;

/// A run: what is recorded, and what a listing gives back (as a [`RunRow`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Run {
    pub script: String,
    pub params: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status: String,
    pub exit_code: i32,
    pub dry_run: bool,
    /// The scheduler's job and slot, when the scheduler started the run.
    pub job: Option<String>,
    pub slot: Option<DateTime<Utc>>,
    /// The target a fanned-out run was bound to (`runbook run --on`), as
    /// `kind.name`; `None` for a run of its own.
    #[serde(default)]
    pub target: Option<String>,
    pub report_json: String,
    pub report_text: String,
}

impl Run {
    /// The record of a finished run: its report, masked, as JSON and as
    /// text. `exit_code` is the process's (the scheduler records 65, 70 or
    /// 128 + a signal for a run that left no report of its own).
    pub fn of(report: &crate::report::Report, exit_code: i32, job: Option<String>, slot: Option<DateTime<Utc>>) -> Run {
        use crate::redact::apply as mask;
        Run {
            script: report.script.clone(),
            params: mask(&serde_json::Value::Object(report.params.clone()).to_string()).into_owned(),
            host: report.host.clone(),
            started_at: report.started_at,
            duration_ms: report.duration_ms as i64,
            status: report.status().name().to_string(),
            exit_code,
            dry_run: report.dry_run,
            job,
            slot,
            target: None,
            report_json: mask(&crate::report::json::render(report)).into_owned(),
            report_text: mask(&crate::report::text::render(report, crate::report::text::Style { color: false }))
                .into_owned(),
        }
    }
}

/// A recorded run: its id in the store, and the run (`row.script` reads through).
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub run: Run,
}

impl RunRow {
    /// A slot the scheduler recorded as missed (it did not run): exit 75
    /// and a report that says "missed:".
    pub fn is_missed(&self) -> bool {
        self.exit_code == 75 && self.report_text.contains("missed: ")
    }
}

impl std::ops::Deref for RunRow {
    type Target = Run;
    fn deref(&self) -> &Run {
        &self.run
    }
}

/// Which runs a listing wants; newest first, at most `limit`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub script: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub failed: bool,
    pub with_dry_runs: bool,
    pub job: Option<String>,
    /// Runs on this host, or bound to this target (`kind.name`).
    pub host: Option<String>,
    /// Runs bound to exactly this target.
    pub target: Option<String>,
    pub limit: Option<i64>,
}

/// The last run of a script on a host (and target): a cell of
/// `runbook history --hosts`, kept in a table of its own so the matrix
/// reads one row per cell however long the history is.
#[derive(Debug, Clone)]
pub struct Latest {
    pub host: String,
    pub target: Option<String>,
    pub script: String,
    pub run_id: i64,
    pub started_at: DateTime<Utc>,
    pub status: String,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub keep_days: u32,
    pub keep_runs: u32,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Backend {
    /// `spool_key` is the spool file the run came from: a run whose key is
    /// already in the store is not recorded again (and has no new id).
    fn insert(&mut self, run: &Run, keep: Retention, spool_key: Option<&str>) -> Result<Option<i64>, String> {
        match self {
            Backend::Sqlite(s) => s.record(run, keep, spool_key),
            Backend::Postgres(p) => p.record(run, keep, spool_key),
        }
    }
}

/// The history store, with the spool it takes in before every read.
pub struct Store {
    backend: Backend,
    spool: spool::Spool,
    keep: Retention,
}

/// Whether `[history] url` names PostgreSQL (else the history is SQLite).
pub fn is_postgres(config: &Config) -> bool {
    config.history.url.as_deref().is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

impl Store {
    /// The store `[history] url` names, else the SQLite file in the state folder.
    pub fn open(config: &Config) -> Result<Store, String> {
        if !enabled(config) {
            return Err(format!(
                "the run history is off ([history] enabled = false in {})",
                config.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "the config".into())
            ));
        }
        let backend = match config.history.url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) if is_postgres(config) => Backend::Postgres(postgres::Postgres::open(url)?),
            Some(url) => {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                Backend::Sqlite(sqlite::Sqlite::open(std::path::Path::new(path))?)
            }
            None => {
                let path = crate::layout::history_sqlite(config);
                Backend::Sqlite(sqlite::Sqlite::open(&path)?)
            }
        };
        Ok(Store { backend, spool: spool::Spool::of(config), keep: retention(config) })
    }

    /// Where the history is, for messages: a file path or host/database.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.location(),
            Backend::Postgres(p) => p.location(),
        }
    }

    /// Record `run` now (not through the spool), applying the retention; its id.
    pub fn record(&mut self, run: &Run) -> Result<i64, String> {
        let id = self.backend.insert(run, self.keep, None)?;
        id.ok_or_else(|| "history: the run was not recorded".to_string())
    }

    /// Move the spooled runs into the store; how many there were.
    pub fn take_in_spool(&mut self) -> Result<usize, String> {
        let Store { backend, spool, keep } = self;
        spool.drain(|key, run| backend.insert(run, *keep, Some(key)).map(|_| ()))
    }

    pub fn list(&mut self, f: &Filter) -> Result<Vec<RunRow>, String> {
        self.take_in_spool()?;
        match &mut self.backend {
            Backend::Sqlite(s) => s.list(f),
            Backend::Postgres(p) => p.list(f),
        }
    }

    /// The last run of every script on every host (and target), not
    /// counting dry runs; `host` keeps one host's (or target's).
    pub fn latest(&mut self, host: Option<&str>) -> Result<Vec<Latest>, String> {
        self.take_in_spool()?;
        match &mut self.backend {
            Backend::Sqlite(s) => s.latest(host),
            Backend::Postgres(p) => p.latest(host),
        }
    }

    pub fn get(&mut self, id: i64) -> Result<Option<RunRow>, String> {
        self.take_in_spool()?;
        match &mut self.backend {
            Backend::Sqlite(s) => s.get(id),
            Backend::Postgres(p) => p.get(id),
        }
    }

    /// Claim `slot` of `job` for this process: true for exactly one of all
    /// the schedulers sharing the store (a unique row; the insert that
    /// conflicts loses).
    pub fn claim_slot(&mut self, job: &str, slot: DateTime<Utc>, host: &str) -> Result<bool, String> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.claim_slot(job, slot, host),
            Backend::Postgres(p) => p.claim_slot(job, slot, host),
        }
    }

    /// The newest slot of `job` any scheduler claimed.
    pub fn last_slot(&mut self, job: &str) -> Result<Option<DateTime<Utc>>, String> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.last_slot(job),
            Backend::Postgres(p) => p.last_slot(job),
        }
    }

    /// Open a silence (`silence.id` is not read); its id.
    pub fn open_silence(&mut self, silence: &silence::Silence) -> Result<i64, String> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.open_silence(silence, self.keep),
            Backend::Postgres(p) => p.open_silence(silence, self.keep),
        }
    }

    /// The silences that overlap `after..before`, oldest first.
    pub fn silences(&mut self, after: DateTime<Utc>, before: DateTime<Utc>) -> Result<Vec<silence::Silence>, String> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.silences(after, before),
            Backend::Postgres(p) => p.silences(after, before),
        }
    }

    /// The silences in force at `now`.
    pub fn silences_at(&mut self, now: DateTime<Utc>) -> Result<Vec<silence::Silence>, String> {
        self.silences(now, now + chrono::Duration::milliseconds(1))
    }

    /// The silence over a run of `script` (as `job`) started at `at`, if any.
    pub fn silence_over(
        &mut self,
        script: &str,
        job: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<silence::Silence>, String> {
        let found = self.silences_at(at)?;
        Ok(silence::covering(&found, script, job, at).cloned())
    }

    /// End silence `id`, or every one in force, at `now`; how many ended.
    pub fn end_silence(&mut self, id: Option<i64>, now: DateTime<Utc>) -> Result<usize, String> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.end_silence(id, now),
            Backend::Postgres(p) => p.end_silence(id, now),
        }
    }

    /// The run recorded for `job`'s `slot` (by the run itself), if any.
    pub fn slot_run(&mut self, job: &str, slot: DateTime<Utc>) -> Result<Option<RunRow>, String> {
        // A run starts after its slot: `since` keeps the scan to the newest rows.
        let f = Filter { job: Some(job.to_string()), with_dry_runs: true, since: Some(slot), ..Filter::default() };
        Ok(self.list(&f)?.into_iter().find(|r| r.slot == Some(slot)))
    }
}

/// Record a finished run. With SQLite the record goes to the spool (a
/// tenth of a millisecond instead of a commit's fsyncs), or straight in
/// when the spool cannot be written. With PostgreSQL it goes straight in,
/// and to the spool only when PostgreSQL cannot be reached, to be taken in
/// by the next run or reader that can reach it. `Err` is what to tell the
/// operator.
pub fn record(config: &Config, run: &Run) -> Result<(), String> {
    let spool = spool::Spool::of(config);
    if !is_postgres(config) {
        return match spool.put(run) {
            // The spool filled up and nobody read the history: take it in now.
            Ok(waiting) if waiting >= spool::FLUSH_AT => Store::open(config)
                .and_then(|mut s| s.take_in_spool())
                .map(|_| ())
                .map_err(|e| format!("the history spool was not taken in: {e}")),
            Ok(_) => Ok(()),
            Err(spooled) => Store::open(config)
                .and_then(|mut s| s.record(run))
                .map(|_| ())
                .map_err(|e| format!("the run was not recorded in the history: {spooled}; {e}")),
        };
    }
    let written = Store::open(config).and_then(|mut s| {
        s.record(run)?;
        // Runs spooled while PostgreSQL was away go in behind this one.
        s.take_in_spool().map(|_| ())
    });
    written.map_err(|e| match spool.put(run) {
        Ok(_) => format!(
            "the run was not recorded in the history: {e}\n\
             runbook: it waits in {} and is recorded by the next run that reaches the history",
            spool.dir().display()
        ),
        Err(spooled) => format!("the run was not recorded in the history: {e}; {spooled}"),
    })
}

/// Whether runs are recorded (`[history] enabled`, default true).
pub fn enabled(config: &Config) -> bool {
    config.history.enabled != Some(false)
}

/// The retention `[history]` asks for.
pub fn retention(config: &Config) -> Retention {
    Retention {
        keep_days: config.history.keep_days.unwrap_or(DEFAULT_KEEP_DAYS),
        keep_runs: config.history.keep_runs.unwrap_or(DEFAULT_KEEP_RUNS),
    }
}

/// Timestamps as text that sorts as time (SQLite has no timestamp type).
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn parse_stamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| format!("bad timestamp `{s}`: {e}"))
}

/// The value of `metric` in a stored JSON report, if it has one.
pub fn metric_value(report_json: &str, metric: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(report_json).ok()?;
    metrics_of(&v).into_iter().find(|(name, _)| name == metric).map(|(_, value)| value)
}

/// Every metric with a value in a (parsed) JSON report, by name.
pub fn metrics_of(report: &serde_json::Value) -> Vec<(String, f64)> {
    let mut out = vec![];
    for s in report.get("sections").and_then(|s| s.as_array()).into_iter().flatten() {
        for m in s.get("metrics").and_then(|m| m.as_array()).into_iter().flatten() {
            if let (Some(n), Some(x)) =
                (m.get("name").and_then(|n| n.as_str()), m.get("value").and_then(|x| x.as_f64()))
            {
                out.push((n.to_string(), x));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_value_finds_a_metric_in_any_section() {
        let json =
            r#"{"sections":[{"metrics":[{"name":"a","value":1}]},{"metrics":[{"name":"p95_ms","value":12.5}]}]}"#;
        assert_eq!(metric_value(json, "p95_ms"), Some(12.5));
        assert_eq!(metric_value(json, "nope"), None);
    }

    #[test]
    fn stamps_sort_as_time_and_read_back() {
        let a = parse_stamp("2026-01-02T03:04:05.678Z").unwrap();
        assert_eq!(stamp(a), "2026-01-02T03:04:05.678Z");
        assert!(stamp(a) < stamp(a + chrono::Duration::milliseconds(1)));
    }
}
