//! `runbook run --mail-to ADDR [--mail-on failure|always|change]`: the
//! manual's `daily-check.sh | mail -s "CivicQ Daily Report" admin@…`,
//! through `[smtp]`, only when it is worth reading.
//!
//! A mail that cannot be sent is said on stderr and changes nothing else:
//! the exit code is the script's, so cron and monitoring see the truth
//! about the system, not about the mail server.

use crate::report::{text, Level, Report};
use crate::value::MailOn;

/// The status of this script's previous (non-dry) run, kept in the state
/// folder for `--mail-on change`, and this run's recorded in its place.
/// Not synced to disk: after a power cut the file may be empty, which reads
/// as "no previous run" and at worst sends one mail too many.
pub fn swap_last_status(config: &crate::config::Config, script: &str, now: Level) -> Option<Level> {
    let path = crate::layout::last_status(config, script);
    let previous = std::fs::read_to_string(&path).ok().and_then(|s| Level::from_name(s.trim()));
    if let Some(dir) = path.parent() {
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = crate::output::write_atomic_unsynced(&path, now.name().as_bytes());
        }
    }
    previous
}

/// Whether this run's report is mailed.
pub fn wanted(on: MailOn, now: Level, previous: Option<Level>) -> bool {
    match on {
        MailOn::Always => true,
        MailOn::Failure => now != Level::Ok,
        // The first run has nothing to differ from: it is a change only when it is not OK.
        MailOn::Change => match previous {
            Some(p) => p != now,
            None => now != Level::Ok,
        },
    }
}

/// The silence (`runbook snooze`, a maintenance window) over this run, if
/// any: its report is not mailed. Asked only of a run that would mail, so
/// other runs pay nothing for it. A history that cannot be read mails: a
/// silence that cannot be known to hold must not swallow an alarm.
pub fn silence(
    config: &crate::config::Config,
    script: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> Option<crate::history::silence::Silence> {
    if !crate::history::enabled(config) {
        return None;
    }
    let job = std::env::var(crate::schedule::ENV_JOB).ok().filter(|j| !j.is_empty());
    crate::history::Store::open(config).and_then(|mut s| s.silence_over(script, job.as_deref(), started)).ok()?
}

/// Send the report; a failure is reported on stderr, never returned.
pub fn send(report: &Report, to: &[String]) {
    let subject = format!("[{}] {} on {}", report.status().name(), report.script, report.host);
    let body = crate::redact::apply(&text::render(report, text::Style { color: false })).into_owned();
    let sent = (|| -> Result<String, String> {
        let (name, target) = crate::host::mail::target(None)?;
        let message = crate::host::mail::build(
            &target,
            &crate::host::mail::Outgoing {
                to: to.to_vec(),
                cc: vec![],
                subject,
                body,
                html: None,
                attachments: vec![],
                from: None,
            },
        )?;
        match crate::host::mail::deliver(&name, &target, message, None) {
            Ok(sent) => sent.map(|(id, _)| id),
            Err(_) => Err("stopped".to_string()),
        }
    })();
    if let Err(e) = sent {
        crate::output::err(&format!("runbook: --mail-to {}: the report was not mailed: {e}", to.join(", ")));
    }
}
