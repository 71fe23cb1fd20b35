//! Every `runbook run` is recorded in the run history (`runbook history`,
//! `history::` in scripts). A history that cannot be written is said on
//! stderr and changes nothing else: the exit code stays the script's.
//!
//! With the SQLite store the record goes to the spool (history/spool.rs),
//! a tenth of a millisecond instead of a commit's fsyncs. With PostgreSQL it
//! goes straight in, and to the spool only when PostgreSQL cannot be
//! reached, to be taken in by the next run or reader that can reach it.

use crate::config::Config;
use crate::history::spool::{self, Spool};
use crate::history::{self, Run, Store};
use crate::report::{text, Report};

/// Set by `runbook schedule` on the runs it starts, so each run is tied to
/// the slot it was started for.
pub const ENV_JOB: &str = "RUNBOOK_SCHEDULE_JOB";
pub const ENV_SLOT: &str = "RUNBOOK_SCHEDULE_SLOT";

pub fn record(config: &Config, report: &Report) {
    if !history::enabled(config) {
        return;
    }
    let job = std::env::var(ENV_JOB).ok().filter(|j| !j.is_empty());
    let slot = std::env::var(ENV_SLOT).ok().and_then(|s| history::parse_stamp(&s).ok());
    let run = Run {
        script: report.script.clone(),
        params: crate::redact::apply(&serde_json::Value::Object(report.params.clone()).to_string()).into_owned(),
        host: report.host.clone(),
        started_at: report.started_at,
        duration_ms: report.duration_ms as i64,
        status: report.status().name().to_string(),
        exit_code: report.exit() as i32,
        dry_run: report.dry_run,
        job,
        slot,
        report_json: crate::redact::apply(&crate::report::json::render(report)).into_owned(),
        report_text: crate::redact::apply(&text::render(report, text::Style { color: false })).into_owned(),
    };
    let spool = Spool::of(config);
    if !history::is_postgres(config) {
        match spool.put(&run) {
            // The spool filled up and nobody read the history: take it in now.
            Ok(waiting) if waiting >= spool::FLUSH_AT => {
                if let Err(e) = Store::open(config).and_then(|mut s| s.take_in_spool()) {
                    crate::output::err(&format!("runbook: the history spool was not taken in: {e}\n"));
                }
            }
            Ok(_) => {}
            Err(spooled) => {
                if let Err(e) = Store::open(config).and_then(|mut s| s.record(&run).map(|_| ())) {
                    crate::output::err(&format!("runbook: the run was not recorded in the history: {spooled}; {e}\n"));
                }
            }
        }
        return;
    }
    let written = Store::open(config).and_then(|mut s| {
        s.record(&run)?;
        // Runs spooled while PostgreSQL was away go in behind this one.
        s.take_in_spool().map(|_| ())
    });
    if let Err(e) = written {
        match spool.put(&run) {
            Ok(_) => crate::output::err(&format!(
                "runbook: the run was not recorded in the history: {e}\n\
                 runbook: it waits in {} and is recorded by the next run that reaches the history\n",
                spool.dir().display()
            )),
            Err(spooled) => {
                crate::output::err(&format!("runbook: the run was not recorded in the history: {e}; {spooled}\n"))
            }
        }
    }
}
