//! Every `runbook run` is recorded in the run history (`runbook history`,
//! `history::` in scripts). A history that cannot be written is said on
//! stderr and changes nothing else: the exit code stays the script's.

use crate::config::Config;
use crate::history::{self, Run};
use crate::report::Report;
use crate::schedule::{ENV_JOB, ENV_SLOT};

/// `name`: what the history keeps the run under (`Script::history_name`).
pub fn record(config: &Config, report: &Report, name: &str) {
    if !history::enabled(config) {
        return;
    }
    let job = std::env::var(ENV_JOB).ok().filter(|j| !j.is_empty());
    let slot = std::env::var(ENV_SLOT).ok().and_then(|s| history::parse_stamp(&s).ok());
    let mut run = Run::of(report, report.exit() as i32, job, slot);
    run.script = name.to_string();
    run.target = std::env::var(super::run_fanout::ENV_TARGET).ok().filter(|t| !t.is_empty());
    if let Err(e) = history::record(config, &run) {
        crate::output::err(&format!("runbook: {e}\n"));
    }
}
