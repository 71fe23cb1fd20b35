//! Run health from the history, what cron never notices: a job that has
//! not run since its last slot (the dead-man's switch), a run far shorter
//! or longer than its own usual (a backup that "finished" in 1 s against
//! a median of 40 s), a job failing again and again. Each rule is one
//! check of a report, judged from the recorded runs alone.

use chrono::{DateTime, Utc};

use super::jobs::Job;
use crate::history::silence::{covering, Silence};
use crate::history::{Filter, RunRow, Store};
use crate::report::{Check, Level};

/// Runs of a job read to judge it, newest first.
const RUNS_READ: i64 = 50;

/// One job's health: its checks, and the silence it is under now, if any.
pub struct JobHealth {
    pub job: Job,
    pub checks: Vec<Check>,
    pub silence: Option<Silence>,
}

impl JobHealth {
    /// `backup-db (0 2 * * *)`, and the silence when there is one.
    pub fn title(&self) -> String {
        let mut t = format!("{} ({})", self.job.name, self.job.cron_text);
        if let Some(s) = &self.silence {
            t.push_str(&format!(" · in maintenance: {}", s.describe()));
        }
        t
    }
}

/// The health of each job, from its recorded runs. A job under a silence
/// (`runbook snooze`, a maintenance window) is not alarmed on: what would
/// have been a warning or worse is OK, and says what it would have been.
pub fn of_plan(
    store: &mut Store,
    jobs: &[Job],
    now: DateTime<Utc>,
    grace: std::time::Duration,
) -> Result<Vec<JobHealth>, String> {
    let mut out = vec![];
    for job in jobs {
        let filter = Filter { script: Some(job.script.clone()), limit: Some(RUNS_READ), ..Filter::default() };
        let mut runs = store.list(&filter)?;
        // Runs inside a silence are not the job's usual: a window's
        // failures must not make it CRITICAL the moment the window ends.
        let oldest = runs.last().map(|r| r.started_at).unwrap_or(now);
        let silences = store.silences(oldest, now + chrono::Duration::milliseconds(1))?;
        runs.retain(|r| covering(&silences, &r.script, r.job.as_deref(), r.started_at).is_none());
        let silence = covering(&silences, &job.script, Some(&job.name), now).cloned();
        let mut checks = judge(job, &runs, now, grace);
        if silence.is_some() {
            for c in checks.iter_mut().filter(|c| c.level != Level::Ok) {
                c.message = format!("in maintenance, else {}: {}", c.level.name(), c.message);
                c.level = Level::Ok;
            }
        }
        out.push(JobHealth { job: job.clone(), checks, silence });
    }
    Ok(out)
}

/// Consecutive failures that are CRITICAL.
pub const FAILING_IN_A_ROW: usize = 3;
/// Earlier OK runs needed before a run time is judged against them.
pub const USUAL_AFTER: usize = 5;

fn check(name: &str, level: Level, message: String) -> Check {
    Check { name: name.into(), level, message, duration_ms: 0 }
}

/// How long ago, to the second (to the minute past an hour).
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0) as u64;
    let secs = if secs >= 3600 { secs - secs % 60 } else { secs };
    crate::duration::format(std::time::Duration::from_secs(secs))
}

fn ms(v: i64) -> String {
    crate::duration::format(std::time::Duration::from_millis(v.max(0) as u64))
}

/// The three checks of one job: `runs` are its recorded runs, newest first.
pub fn judge(job: &Job, runs: &[RunRow], now: DateTime<Utc>, grace: std::time::Duration) -> Vec<Check> {
    let grace_c = chrono::Duration::from_std(grace).unwrap_or_default();
    let mut out = vec![];
    // On schedule: a run started at or after the newest slot that is older
    // than the grace.
    let due = job.latest_at_or_before(now - grace_c);
    // A slot recorded as missed is no run: it neither meets a slot nor has
    // a run time; it counts among the failures.
    let ran: Vec<&RunRow> = runs.iter().filter(|r| !r.is_missed()).collect();
    let last = ran.first().copied();
    out.push(match (due, last) {
        (None, _) => check("on schedule", Level::Ok, "no slot has come yet".into()),
        (Some(slot), Some(r)) if r.run.started_at >= slot - chrono::Duration::seconds(60) => check(
            "on schedule",
            Level::Ok,
            format!(
                "last ran {} ago, after its slot of {}",
                ago(now, r.run.started_at),
                job.local_text(slot, "%Y-%m-%d %H:%M")
            ),
        ),
        (Some(slot), Some(r)) => check(
            "on schedule",
            Level::Critical,
            format!(
                "overdue: its slot of {} passed {} ago with no run (grace {}); the last run was {} ago",
                job.local_text(slot, "%Y-%m-%d %H:%M"),
                ago(now, slot),
                crate::duration::format(grace),
                ago(now, r.run.started_at)
            ),
        ),
        // No run at all: a job just added, or one cron never started. It
        // cannot be told which, so it is UNKNOWN, not an alarm; the first
        // recorded run starts the dead-man's switch.
        (Some(slot), None) => check(
            "on schedule",
            Level::Unknown,
            format!(
                "no run recorded yet: its slot of {} passed {} ago (grace {}); the first run starts the watch",
                job.local_text(slot, "%Y-%m-%d %H:%M"),
                ago(now, slot),
                crate::duration::format(grace)
            ),
        ),
    });
    // Run time: the last run against the median of the OK runs before it.
    if let Some(r) = last {
        let mut earlier: Vec<i64> =
            ran[1..].iter().filter(|x| x.run.status == "OK").map(|x| x.run.duration_ms).collect();
        let d = r.run.duration_ms;
        out.push(if earlier.len() < USUAL_AFTER {
            check("run time", Level::Ok, format!("{}; too few earlier runs to judge ({})", ms(d), earlier.len()))
        } else {
            earlier.sort_unstable();
            let median = earlier[earlier.len() / 2];
            if median >= 1000 && d * 10 < median {
                check(
                    "run time",
                    Level::Warning,
                    format!("{}, under a tenth of its usual {}: did it do its work?", ms(d), ms(median)),
                )
            } else if d > median.max(1000) * 5 {
                check("run time", Level::Warning, format!("{}, over 5 times its usual {}", ms(d), ms(median)))
            } else {
                check("run time", Level::Ok, format!("{}, usual {}", ms(d), ms(median)))
            }
        });
        let failing = runs.iter().take_while(|x| x.run.status != "OK").count();
        out.push(if failing >= FAILING_IN_A_ROW {
            let since = runs[failing - 1].run.started_at;
            check(
                "failures",
                Level::Critical,
                format!("failed {failing} times in a row, since {} ago", ago(now, since)),
            )
        } else {
            check("failures", Level::Ok, format!("last run {}", runs.first().map_or("OK", |x| x.run.status.as_str())))
        });
    }
    out
}
