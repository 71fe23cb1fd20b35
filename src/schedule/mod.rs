//! `runbook schedule`: a long-running process that starts each job's
//! script on its cron slots.
//!
//! - Each run is a child `runbook run` (its own process, time limit and
//!   lock), so a script that crashes takes only itself down; the scheduler
//!   records a run that ended without recording itself.
//! - A job never overlaps itself: a slot that comes while the previous run
//!   is still going is skipped, and said.
//! - Every slot is claimed in the history store before it runs (a unique
//!   row: `runbook_slots (job, slot)`). With a shared PostgreSQL history,
//!   several schedulers on several machines run each slot exactly once
//!   between them, and any one of them dying leaves the others running
//!   every job. No home-made protocol: the database's primary key decides.
//! - Slots missed while no scheduler ran are run once (the newest), if it
//!   is inside the catch-up window.
//! - SIGTERM (or Ctrl-C) stops new runs and waits for running ones up to
//!   the grace period; then they are stopped and recorded as such.

pub mod export;
pub mod install;
pub mod install_systemd;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::exit::Exit;
use crate::history::{self, Run, Store};
use crate::plan::jobs::Job;

/// Set by `runbook schedule` on the runs it starts, so that each run is
/// recorded with the job and the slot it was started for.
pub const ENV_JOB: &str = "RUNBOOK_SCHEDULE_JOB";
pub const ENV_SLOT: &str = "RUNBOOK_SCHEDULE_SLOT";

/// The tail of a run's stderr as text, starting at a whole character (the
/// tail was cut at a byte count; a cut through a character panicked).
fn last_words(tail: &[u8]) -> String {
    let start = tail.iter().position(|b| (*b as i8) >= -0x40).unwrap_or(tail.len());
    String::from_utf8_lossy(&tail[start..]).into_owned()
}

/// At most this many missed slots of one job are recorded on start (the
/// newest): an every-minute job stopped for a week leaves 100 rows, not 10,000.
const MISSED_RECORDED: usize = 100;

/// How often skipped slots are retried while the history is unreachable.
const SETTLE_EVERY: Duration = Duration::from_secs(2);

pub struct Options {
    pub catch_up: Duration,
    pub grace: Duration,
    /// `--config` / `--scripts-dir`, passed on to every run.
    pub globals: Vec<String>,
}

struct Running {
    child: Child,
    job: usize,
    slot: DateTime<Utc>,
    started: Instant,
    started_at: DateTime<Utc>,
    stderr: std::thread::JoinHandle<String>,
    signalled: Option<Instant>,
    /// Slots skipped while this run went on: (first, last, how many),
    /// recorded as one missed row when it ends.
    overlapped: Option<(DateTime<Utc>, DateTime<Utc>, u32)>,
}

/// One line of the scheduler's log, on stdout (the journal, when systemd runs it).
fn log(line: &str) {
    crate::output::log_line(&format!("{}  {line}", Utc::now().format("%Y-%m-%dT%H:%M:%SZ")));
}

fn slot_text(slot: DateTime<Utc>) -> String {
    slot.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub struct Scheduler {
    config: Arc<Config>,
    jobs: Vec<Job>,
    options: Options,
    store: Store,
    exe: PathBuf,
    host: String,
    running: Vec<Running>,
    /// Slots not run because the history could not be reached (the
    /// scheduler fails closed); settled when it is back.
    unclaimed: Vec<(usize, DateTime<Utc>)>,
    last_settle: Instant,
}

impl Scheduler {
    pub fn new(config: Arc<Config>, jobs: Vec<Job>, options: Options) -> Result<Scheduler, String> {
        let store = Store::open(&config)?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the runbook binary: {e}"))?;
        Ok(Scheduler {
            config,
            jobs,
            options,
            store,
            exe,
            host: crate::host::sys::hostname_string(),
            running: vec![],
            unclaimed: vec![],
            last_settle: Instant::now(),
        })
    }

    /// A store call, reconnecting once when it fails (a PostgreSQL restart
    /// must not leave the scheduler deaf until it is restarted itself).
    fn with_store<T>(&mut self, f: impl Fn(&mut Store) -> Result<T, String>) -> Result<T, String> {
        match f(&mut self.store) {
            Ok(v) => Ok(v),
            Err(first) => match Store::open(&self.config) {
                Ok(s) => {
                    self.store = s;
                    f(&mut self.store)
                }
                Err(_) => Err(first),
            },
        }
    }

    /// Run until `stop` is set, then wait for the running jobs.
    pub fn run(mut self, stop: Arc<AtomicBool>) -> Result<(), String> {
        log(&format!(
            "runbook schedule on {} (pid {}): {} job{}, history {}",
            self.host,
            std::process::id(),
            self.jobs.len(),
            if self.jobs.len() == 1 { "" } else { "s" },
            self.store.location()
        ));
        let now = Utc::now();
        let mut next: Vec<Option<DateTime<Utc>>> = self.jobs.iter().map(|j| j.next_after(now)).collect();
        for i in 0..self.jobs.len() {
            self.catch_up(i, now);
        }
        while !stop.load(Ordering::SeqCst) {
            let now = Utc::now();
            for (i, n) in next.iter_mut().enumerate() {
                let Some(mut slot) = *n else { continue };
                if slot > now {
                    continue;
                }
                // Slots that passed while this process was held up (a
                // suspended VM, a long store call) run once, as the newest.
                let mut after = self.jobs[i].next_after(slot);
                while let Some(a) = after.filter(|a| *a <= now) {
                    slot = a;
                    after = self.jobs[i].next_after(a);
                }
                *n = after;
                self.fire(i, slot);
            }
            self.reap(false);
            if !self.unclaimed.is_empty() && self.last_settle.elapsed() > SETTLE_EVERY {
                self.settle_unclaimed(Utc::now());
            }
            let soonest = next.iter().flatten().min().copied();
            let wait = soonest
                .map(|s| (s - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_millis(200));
            std::thread::sleep(wait.max(Duration::from_millis(5)));
        }
        self.shut_down();
        Ok(())
    }

    /// On start: the slots missed since the last one any scheduler
    /// claimed. The newest runs once if it is inside the catch-up window;
    /// every other one (at most [`MISSED_RECORDED`], the newest) is claimed
    /// and recorded as missed (exit 75), so that the gap shows in the
    /// history whether or not a catch-up ran. A job that has not run before
    /// has missed nothing (a new scheduler does not replay the past).
    fn catch_up(&mut self, i: usize, now: DateTime<Utc>) {
        let name = self.jobs[i].name.clone();
        let last = match self.with_store(|s| s.last_slot(&name)) {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                log(&format!("{name}  cannot read its last slot, no catch-up: {e}"));
                return;
            }
        };
        let mut missed: Vec<DateTime<Utc>> = vec![];
        let mut t = last;
        let mut more = 0usize;
        while let Some(next) = self.jobs[i].next_after(t).filter(|n| *n <= now) {
            if missed.len() == MISSED_RECORDED {
                missed.remove(0);
                more += 1;
            }
            missed.push(next);
            t = next;
        }
        let Some(&newest) = missed.last() else { return };
        let window = chrono::Duration::from_std(self.options.catch_up).unwrap_or(chrono::Duration::MAX);
        let catch_up = !self.options.catch_up.is_zero() && now - newest <= window;
        let host = self.host.clone();
        for &slot in &missed {
            if catch_up && slot == newest {
                continue;
            }
            if let Ok(true) = self.with_store(|s| s.claim_slot(&name, slot, &host)) {
                let msg = "missed: no scheduler was running at the slot's time";
                self.record_failure(i, slot, slot, Duration::ZERO, Exit::TempFail as i32, msg);
            }
        }
        let recorded = missed.len() - usize::from(catch_up);
        if recorded > 0 || more > 0 {
            let earlier = if more > 0 { format!(" ({more} earlier ones not recorded)") } else { String::new() };
            log(&format!("{name}  {recorded} missed slot(s) since {} recorded as missed{earlier}", slot_text(last)));
        }
        if catch_up {
            log(&format!("{name}  missed slot {} (last run {}): catching up once", slot_text(newest), slot_text(last)));
            self.fire(i, newest);
        }
    }

    /// The history is reachable again: of each job's slots skipped while it
    /// was not, the newest inside the catch-up window runs once (as at
    /// start-up), and the others are claimed and recorded as missed (exit
    /// 75), so the gap shows in the history instead of passing unseen. A
    /// slot another scheduler claimed meanwhile is left to it.
    fn settle_unclaimed(&mut self, now: DateTime<Utc>) {
        self.last_settle = Instant::now();
        if self.with_store(|s| s.last_slot("-")).is_err() {
            return;
        }
        let mut pending = std::mem::take(&mut self.unclaimed);
        pending.sort();
        let window = chrono::Duration::from_std(self.options.catch_up).unwrap_or(chrono::Duration::MAX);
        let newest: Vec<(usize, DateTime<Utc>)> = pending
            .iter()
            .filter(|(i, slot)| pending.iter().all(|(j, other)| j != i || other <= slot))
            .copied()
            .collect();
        for (i, slot) in pending {
            let name = self.jobs[i].name.clone();
            let idle = !self.running.iter().any(|r| r.job == i);
            if idle && newest.contains(&(i, slot)) && !self.options.catch_up.is_zero() && now - slot <= window {
                log(&format!(
                    "{name}  missed slot {} (the history was unreachable): catching up once",
                    slot_text(slot)
                ));
                self.fire(i, slot);
                continue;
            }
            let host = self.host.clone();
            match self.with_store(|s| s.claim_slot(&name, slot, &host)) {
                Ok(true) => {
                    let msg = "missed: the history could not be reached at the slot's time, so the slot was not run \
                               (the scheduler does not run a slot it cannot claim: another scheduler may have)";
                    let id = self.record_failure(i, slot, slot, Duration::ZERO, Exit::TempFail as i32, msg);
                    log(&format!(
                        "{name}  slot {} recorded as missed{}",
                        slot_text(slot),
                        id.map(|i| format!(": history {i}")).unwrap_or_default()
                    ));
                }
                Ok(false) => {}
                Err(_) => self.unclaimed.push((i, slot)),
            }
        }
    }

    fn fire(&mut self, i: usize, slot: DateTime<Utc>) {
        let job = self.jobs[i].clone();
        let host = self.host.clone();
        if let Some(r) = self.running.iter_mut().find(|r| r.job == i) {
            // Skipped, not claimed (on a shared history another scheduler
            // may run it); the slots skipped during one run are recorded
            // as one missed row when it ends, so an every-second job stuck
            // for an hour leaves one row, not 3,600.
            r.overlapped = Some(match r.overlapped {
                Some((first, _, n)) => (first, slot, n + 1),
                None => (slot, slot, 1),
            });
            log(&format!(
                "{}  slot {} skipped: the run of slot {} is still going",
                job.name,
                slot_text(slot),
                slot_text(r.slot)
            ));
            return;
        }
        match self.with_store(|s| s.claim_slot(&job.name, slot, &host)) {
            Ok(true) => {}
            Ok(false) => {
                log(&format!("{}  slot {} taken by another scheduler", job.name, slot_text(slot)));
                return;
            }
            Err(e) => {
                // Unclaimed means unsafe to run: another scheduler may run it.
                log(&format!(
                    "{}  slot {} not run: cannot claim it: {e} (it is settled when the history is back)",
                    job.name,
                    slot_text(slot)
                ));
                if !self.unclaimed.contains(&(i, slot)) {
                    self.unclaimed.push((i, slot));
                }
                return;
            }
        }
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.options.globals)
            .args(job.run_args())
            .env(ENV_JOB, &job.name)
            .env(ENV_SLOT, history::stamp(slot))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at the scheduler's terminal is the
        // scheduler's to handle (grace period), not a kill of every run.
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let pipe = child.stderr.take();
                let stderr = std::thread::spawn(move || {
                    // Bytes, not text: a read can end inside a character.
                    let mut kept: Vec<u8> = Vec::new();
                    if let Some(mut p) = pipe {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = p.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            crate::output::pass_through_err(&buf[..n]);
                            kept.extend_from_slice(&buf[..n]);
                            if kept.len() > 8192 {
                                kept.drain(..kept.len() - 4096);
                            }
                        }
                    }
                    last_words(&kept)
                });
                let now = Utc::now();
                let quiet = self
                    .with_store(|s| s.silence_over(&job.script, Some(&job.name), now))
                    .ok()
                    .flatten()
                    .map(|s| format!(" (in maintenance: {}; no report mail)", s.describe()))
                    .unwrap_or_default();
                log(&format!("{}  slot {} started: pid {}{quiet}", job.name, slot_text(slot), child.id()));
                self.running.push(Running {
                    child,
                    job: i,
                    slot,
                    started: Instant::now(),
                    started_at: Utc::now(),
                    stderr,
                    signalled: None,
                    overlapped: None,
                });
            }
            Err(e) => {
                let msg = format!("could not start {}: {e}", self.exe.display());
                log(&format!("{}  slot {} {msg}", job.name, slot_text(slot)));
                self.record_failure(i, slot, Utc::now(), Duration::ZERO, Exit::Software as i32, &msg);
            }
        }
    }

    /// Collect finished runs; stop those past their time limit (the run's
    /// own `--timeout` fires first; this is for one that does not end).
    /// `stopping`: the grace period is over, stop them all.
    fn reap(&mut self, stopping: bool) {
        let mut k = 0;
        while k < self.running.len() {
            let r = &mut self.running[k];
            let limit = self.jobs[r.job].timeout + Duration::from_secs(10);
            if stopping || r.started.elapsed() > limit {
                match r.signalled {
                    None => {
                        // The whole group: the run and whatever it started (pg_dump, docker).
                        // SAFETY: signalling a child this process started and has not reaped.
                        unsafe { libc::kill(-(r.child.id() as i32), libc::SIGTERM) };
                        r.signalled = Some(Instant::now());
                    }
                    // Long enough for the run's own clean stop: its clean-ups
                    // (5 s), a cancel on the server (5 s), then its report and record.
                    Some(at) if at.elapsed() > Duration::from_secs(15) => {
                        // SAFETY: as above.
                        unsafe { libc::kill(-(r.child.id() as i32), libc::SIGKILL) };
                    }
                    Some(_) => {}
                }
            }
            match r.child.try_wait() {
                Ok(Some(status)) => {
                    let r = self.running.remove(k);
                    self.finished(r, status);
                }
                Ok(None) => k += 1,
                Err(e) => {
                    log(&format!("{}  cannot wait for pid {}: {e}", self.jobs[r.job].name, r.child.id()));
                    k += 1;
                }
            }
        }
    }

    fn finished(&mut self, r: Running, status: std::process::ExitStatus) {
        use std::os::unix::process::ExitStatusExt;
        let job = self.jobs[r.job].name.clone();
        if let Some((first, last, n)) = r.overlapped {
            let msg = format!(
                "missed: {n} slot(s) from {} to {} skipped: the run of slot {} was still going (a job never overlaps itself)",
                slot_text(first),
                slot_text(last),
                slot_text(r.slot)
            );
            if let Some(id) = self.record_failure(r.job, first, first, Duration::ZERO, Exit::TempFail as i32, &msg) {
                log(&format!("{job}  {n} skipped slot(s) recorded as missed: history {id}"));
            }
        }
        let stderr = r.stderr.join().unwrap_or_default();
        let took = r.started.elapsed();
        let slot = r.slot;
        let recorded = self.with_store(|s| s.slot_run(&job, slot));
        let took_text = crate::duration::format(Duration::from_millis(took.as_millis() as u64));
        match recorded {
            Ok(Some(row)) => log(&format!(
                "{job}  slot {} {} (exit {}) in {took_text}: history {}",
                slot_text(slot),
                row.status,
                row.exit_code,
                row.id
            )),
            // The history cannot say whether the run recorded itself: say
            // how it ended, and record nothing rather than a false failure.
            Err(e) => log(&format!(
                "{job}  slot {} ended ({status}) in {took_text}; the history cannot be read: {e}",
                slot_text(slot)
            )),
            Ok(None) => {
                let (code, why) = match (status.code(), status.signal()) {
                    // `runbook run --lock` exits 75 before its script when
                    // the job's lock is held (here or, on PostgreSQL, on
                    // another machine): the slot did not run.
                    (Some(c), _) if c == Exit::TempFail as i32 && stderr.contains("is already running") => {
                        (c, "missed: its lock was held, so the run did not start".to_string())
                    }
                    (Some(c), _) => (c, format!("the run ended with exit code {c} and no report")),
                    (None, Some(sig)) if r.signalled.is_some() => (
                        128 + sig,
                        format!("the run was stopped (signal {sig}) after its time limit or the grace period"),
                    ),
                    (None, Some(sig)) => (128 + sig, format!("the run was killed by signal {sig}")),
                    (None, None) => (Exit::Software as i32, "the run ended without a status".to_string()),
                };
                let last_words = stderr.trim();
                let msg = if last_words.is_empty() { why.clone() } else { format!("{why}; it said:\n{last_words}") };
                let id = self.record_failure(r.job, slot, r.started_at, took, code, &msg);
                log(&format!(
                    "{job}  slot {} UNKNOWN (exit {code}) in {took_text}: {why}{}",
                    slot_text(slot),
                    id.map(|i| format!(": history {i}")).unwrap_or_default()
                ));
            }
        }
    }

    /// A run that left no record of its own (crashed, killed, did not
    /// start, or stopped before its script ran): recorded as UNKNOWN.
    fn record_failure(
        &mut self,
        job: usize,
        slot: DateTime<Utc>,
        started_at: DateTime<Utc>,
        took: Duration,
        code: i32,
        msg: &str,
    ) -> Option<i64> {
        let j = self.jobs[job].clone();
        let params = j.args.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        let mut report = crate::report::Report::new(&j.script, "", params, false, self.host.clone());
        report.started_at = started_at;
        report.duration_ms = took.as_millis() as u64;
        report.error = Some(crate::report::RunError {
            kind: "run failed".into(),
            message: msg.into(),
            file: None,
            line: None,
            column: None,
        });
        let run = Run::of(&report, code, Some(j.name.clone()), Some(slot));
        match self.with_store(|s| s.record(&run)) {
            Ok(id) => Some(id),
            Err(e) => {
                log(&format!("{}  the failed run was not recorded: {e}", j.name));
                None
            }
        }
    }

    fn shut_down(&mut self) {
        if self.running.is_empty() {
            log("stopping: no runs in progress");
            return;
        }
        log(&format!(
            "stopping: no new runs; waiting up to {} for {} running",
            crate::duration::format(self.options.grace),
            self.running.len()
        ));
        let until = Instant::now() + self.options.grace;
        while !self.running.is_empty() && Instant::now() < until {
            self.reap(false);
            std::thread::sleep(Duration::from_millis(50));
        }
        while !self.running.is_empty() {
            self.reap(true);
            std::thread::sleep(Duration::from_millis(50));
        }
        log("stopped");
    }
}
