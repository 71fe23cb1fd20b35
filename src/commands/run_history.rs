//! Every `runbook run` is recorded in the run history (`runbook history`,
//! `history::` in scripts). A history that cannot be written is said on
//! stderr and changes nothing else: the exit code stays the script's.

use crate::config::Config;
use crate::history::{self, Run};
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
    if let Err(e) = history::record(config, &run) {
        crate::output::err(&format!("runbook: {e}\n"));
    }
}
