//! `runbook schedule`: every-second jobs run once per slot, never overlap
//! themselves, crashing scripts are recorded, SIGTERM waits for running
//! jobs, missed slots are caught up once, and two schedulers on one
//! PostgreSQL history run each slot exactly once — also when one is killed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use common::history::fresh_database;
use common::{psql_at, Sandbox};

/// A running `runbook schedule` and the lines it has logged so far.
struct Scheduler {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Scheduler {
    fn start(sb: &Sandbox, args: &[&str]) -> Scheduler {
        let mut child = sb.cmd().arg("schedule").args(args).stdout(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(vec![]));
        let (out, keep) = (child.stdout.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                keep.lock().unwrap().push(line.unwrap());
            }
        });
        Scheduler { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Wait until a logged line contains `text`.
    fn wait_for(&self, text: &str, within: Duration) {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.log.lock().unwrap().iter().any(|l| l.contains(text)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no `{text}` logged within {within:?}:\n{}", self.log());
    }

    fn signal(&self, sig: i32) {
        // SAFETY: a child of this test that has not been reaped.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// SIGTERM, then its exit code (it must stop within `within`).
    fn stop(mut self, within: Duration) -> (i32, String) {
        self.signal(libc::SIGTERM);
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                return (status.code().unwrap_or(-1), self.log());
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("the scheduler did not stop within {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A failed test must not leave its scheduler running (and holding the
/// test's output pipe open).
impl Drop for Scheduler {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// (slot, status, exit code) of every run of `job` in the sandbox's SQLite history, by slot.
fn runs_of(sb: &Sandbox, job: &str) -> Vec<(String, String, i64)> {
    let conn = common::history::open(sb);
    let mut st = conn.prepare("SELECT slot, status, exit_code FROM runbook_runs WHERE job = ?1 ORDER BY slot").unwrap();
    let rows = st.query_map([job], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn secs(slot: &str) -> i64 {
    DateTime::parse_from_rfc3339(slot).unwrap().timestamp()
}

/// Slots one second apart, none twice.
fn assert_consecutive(slots: &[i64]) {
    for w in slots.windows(2) {
        assert_eq!(w[1] - w[0], 1, "slots not one second apart: {slots:?}");
    }
}

const TICK: &str =
    "// Ticks.\n//\n// schedule: * * * * * *\n// param level: string = ok   how it ends\nok(`tick ${level}`);\n";

#[test]
fn an_every_second_job_runs_once_per_second_of_the_window() {
    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", TICK);
    let s = Scheduler::start(&sb, &["tick"]);
    // Slots count from when the scheduler is up (a loaded machine may take
    // a while to start it), to within the second.
    s.wait_for("runbook schedule on ", Duration::from_secs(20));
    let from = Utc::now();
    std::thread::sleep(Duration::from_millis(4300));
    let to = Utc::now();
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    let runs = runs_of(&sb, "tick");
    assert!(runs.iter().all(|r| r.1 == "OK" && r.2 == 0), "{runs:?}");
    let slots: Vec<i64> = runs.iter().map(|r| secs(&r.0)).collect();
    // One run a second: no second twice, none left out.
    assert_consecutive(&slots);
    // As many as whole seconds passed, give or take the one the scheduler's
    // start and this test's clock reading straddle.
    let window = to.timestamp() - from.timestamp();
    let n = slots.len() as i64;
    assert!((window - 1..=window + 1).contains(&n), "{n} runs in {window} s:\n{log}");
    assert!(*slots.first().unwrap() >= from.timestamp() - 1 && *slots.last().unwrap() <= to.timestamp(), "{slots:?}");
    assert_eq!(log.matches(" started: pid ").count(), slots.len(), "{log}");
}

#[test]
fn crashing_scripts_are_recorded_and_the_scheduler_goes_on() {
    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", TICK);
    sb.write("scripts/boom.rhai", "// Throws.\n//\n// schedule: * * * * * *\nthrow \"the disk is on fire\";\n");
    // Does not compile: `runbook run` exits 65 before any report exists.
    sb.write("scripts/broken.rhai", "// Broken.\n//\n// schedule: * * * * * *\nlet x = ;\n");
    let s = Scheduler::start(&sb, &[]);
    std::thread::sleep(Duration::from_millis(3400));
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    let boom = runs_of(&sb, "boom");
    assert!(boom.len() >= 2 && boom.iter().all(|r| r.1 == "UNKNOWN" && r.2 == 3), "{boom:?}\n{log}");
    let broken = runs_of(&sb, "broken");
    assert!(broken.len() >= 2 && broken.iter().all(|r| r.1 == "UNKNOWN" && r.2 == 65), "{broken:?}\n{log}");
    let tick = runs_of(&sb, "tick");
    assert!(tick.len() >= 2 && tick.len() + 1 >= broken.len(), "{tick:?}\n{log}");
    assert!(log.contains("UNKNOWN (exit 65) in "), "{log}");
    // What the broken run said is kept with its record.
    let list = sb.run(&["history", "broken", "--format", "json", "--limit", "1"]);
    let id: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let shown = sb.run(&["history", "show", &id[0]["id"].to_string()]);
    assert!(shown.stdout.contains("the run ended with exit code 65 and no report; it said:"), "{}", shown.stdout);
    assert!(shown.stdout.contains("broken.rhai:4:"), "{}", shown.stdout);
}

const SLOW: &str =
    "// Takes its time.\n//\n// schedule: * * * * * *\n// param secs: string = 2s\ntime::sleep(secs);\nok(\"done\");\n";

#[test]
fn a_job_never_overlaps_itself_and_sigterm_waits_for_the_running_one() {
    let sb = Sandbox::new();
    sb.write("scripts/slow.rhai", SLOW);
    let s = Scheduler::start(&sb, &["slow"]);
    s.wait_for("slow  slot ", Duration::from_secs(5));
    s.wait_for("skipped: the run of slot ", Duration::from_secs(5));
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("stopping: no new runs; waiting up to 30s for 1 running"), "{log}");
    let runs = runs_of(&sb, "slow");
    // The run in progress at SIGTERM finished and was recorded OK; nothing
    // started after it. Each slot skipped meanwhile is recorded as missed
    // (exit 75), saying why.
    let ok: Vec<_> = runs.iter().filter(|r| r.1 == "OK").collect();
    assert_eq!(ok.len(), 1, "{runs:?}\n{log}");
    assert_eq!(ok[0].2, 0, "{log}");
    // The slots skipped during the run are one missed row, not one each.
    let missed: Vec<_> = runs.iter().filter(|r| r.1 != "OK").collect();
    assert_eq!(missed.len(), 1, "{runs:?}\n{log}");
    assert!(missed[0].1 == "UNKNOWN" && missed[0].2 == 75 && secs(&missed[0].0) > secs(&ok[0].0), "{runs:?}");
    let skipped = log.matches(" skipped: the run of slot ").count();
    assert!(log.contains(&format!("slow  {skipped} skipped slot(s) recorded as missed: history ")), "{log}");
    let text = common::history::open(&sb)
        .query_row("SELECT report_text FROM runbook_runs WHERE exit_code = 75 LIMIT 1", [], |r| r.get::<_, String>(0))
        .unwrap();
    let first = &ok[0].0[..19];
    assert!(
        text.contains(&format!("skipped: the run of slot {first}Z was still going (a job never overlaps itself)"))
            && text.contains(&format!("missed: {skipped} slot(s) from ")),
        "{text}"
    );
    assert_eq!(log.matches(" started: pid ").count(), 1, "{log}");
    assert!(log.ends_with("stopped"), "{log}");
}

/// Two jobs that share a lock: when one holds it, the other's slot does
/// not run, and is recorded as missed because of the lock.
#[test]
fn a_slot_whose_lock_is_held_is_recorded_as_missed() {
    let sb = Sandbox::new();
    sb.write("scripts/slow.rhai", SLOW);
    sb.config("[schedule.first]\nscript = \"slow\"\nlock = \"shared\"\n\n[schedule.second]\nscript = \"slow\"\nlock = \"shared\"\n");
    let s = Scheduler::start(&sb, &[]);
    s.wait_for("missed: its lock was held", Duration::from_secs(10));
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    let text: String = common::history::open(&sb)
        .query_row(
            "SELECT report_text FROM runbook_runs WHERE exit_code = 75 AND report_text LIKE '%lock was held%' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(text.contains("missed: its lock was held, so the run did not start; it said:\n"), "{text}");
    assert!(text.contains("`shared` is already running (pid "), "{text}");
}

#[test]
fn a_run_longer_than_the_grace_period_is_stopped_and_recorded() {
    let sb = Sandbox::new();
    sb.write("scripts/slow.rhai", &SLOW.replace("= 2s", "= 60s"));
    let s = Scheduler::start(&sb, &["slow", "--grace", "1s"]);
    s.wait_for(" started: pid ", Duration::from_secs(5));
    let started = Instant::now();
    let (code, log) = s.stop(Duration::from_secs(15));
    assert_eq!(code, 0, "{log}");
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    let runs = runs_of(&sb, "slow");
    assert_eq!(runs.len(), 1, "{runs:?}");
    // SIGTERM is a clean stop: the run records itself, report and all.
    assert_eq!((runs[0].1.as_str(), runs[0].2), ("UNKNOWN", 128 + 15), "{log}");
    assert!(log.contains(" UNKNOWN (exit 143) in "), "{log}");
}

/// A scheduler started, given a moment once it is up, and stopped: its log.
fn briefly(sb: &Sandbox, args: &[&str]) -> String {
    let s = Scheduler::start(sb, args);
    s.wait_for("1 job", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(800));
    s.stop(Duration::from_secs(10)).1
}

const HOURLY: &str = "// Hourly.\n//\n// schedule: 0 * * * *\nok(\"on the hour\");\n";

/// Claim a slot of `job` as if an earlier scheduler had run it.
fn claimed(sb: &Sandbox, job: &str, slot: DateTime<Utc>) {
    common::history::open(sb)
        .execute(
            "INSERT INTO runbook_slots (job, slot, host, pid, claimed_at) VALUES (?1, ?2, 'earlier', 1, ?2)",
            rusqlite::params![job, slot.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()],
        )
        .unwrap();
}

#[test]
fn missed_slots_inside_the_catch_up_window_run_once() {
    let top_of_hour = Utc::now().with_minute(0).unwrap().with_second(0).unwrap().with_nanosecond(0).unwrap();
    let sb = Sandbox::new();
    sb.write("scripts/hourly.rhai", HOURLY);
    // Last run three hours ago: three slots missed, one catch-up run, of
    // the newest; the two before it are recorded as missed.
    claimed(&sb, "hourly", top_of_hour - chrono::Duration::hours(3));
    let s = Scheduler::start(&sb, &["hourly", "--catch-up", "2h"]);
    s.wait_for("hourly  slot ", Duration::from_secs(5));
    s.wait_for("OK (exit 0)", Duration::from_secs(5));
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("catching up once"), "{log}");
    assert!(log.contains("hourly  2 missed slot(s) since "), "{log}");
    let at = |h: i64| (top_of_hour - chrono::Duration::hours(h)).timestamp();
    let runs: Vec<(i64, String, i64)> =
        runs_of(&sb, "hourly").into_iter().map(|(s, st, c)| (secs(&s), st, c)).collect();
    assert_eq!(runs, [(at(2), "UNKNOWN".into(), 75), (at(1), "UNKNOWN".into(), 75), (at(0), "OK".into(), 0)], "{log}");

    // Started again: that slot is taken, nothing to catch up or record.
    let log = briefly(&sb, &["hourly", "--catch-up", "2h"]);
    assert!(!log.contains("catching up") && !log.contains("missed slot"), "{log}");
    assert_eq!(runs_of(&sb, "hourly").len(), 3);

    // A job that never ran has missed nothing; with `--catch-up 0s` the
    // slots missed are recorded, and none is run.
    let fresh = Sandbox::new();
    fresh.write("scripts/hourly.rhai", HOURLY);
    briefly(&fresh, &["hourly"]);
    assert_eq!(runs_of(&fresh, "hourly").len(), 0);
    claimed(&fresh, "hourly", top_of_hour - chrono::Duration::hours(3));
    briefly(&fresh, &["hourly", "--catch-up", "0s"]);
    let statuses: Vec<(String, i64)> = runs_of(&fresh, "hourly").into_iter().map(|(_, s, c)| (s, c)).collect();
    assert_eq!(statuses, vec![("UNKNOWN".to_string(), 75); 3]);
}

#[test]
fn two_schedulers_on_one_postgresql_run_each_slot_once_and_one_survives_the_others_death() {
    let url = fresh_database("ha");
    let toml = format!("[history]\nurl = \"{url}\"\n");
    // Two machines: two sandboxes with the same scripts and the same history.
    let (a_sb, b_sb) = (Sandbox::new(), Sandbox::new());
    for sb in [&a_sb, &b_sb] {
        sb.config(&toml);
        sb.write("scripts/tick.rhai", TICK);
    }
    let mut a = Scheduler::start(&a_sb, &["tick"]);
    let b = Scheduler::start(&b_sb, &["tick"]);
    let b_pid = b.child.id();
    std::thread::sleep(Duration::from_millis(3200));
    a.signal(libc::SIGKILL);
    let killed_at = Utc::now();
    std::thread::sleep(Duration::from_millis(3200));
    let a_log = a.log();
    let (code, b_log) = b.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{b_log}");
    // They competed for the same slots: the loser of each says so.
    assert!(
        a_log.contains("taken by another scheduler") || b_log.contains("taken by another scheduler"),
        "{a_log}\n{b_log}"
    );

    let dupes = psql_at(
        &url,
        "SELECT count(*) FROM (SELECT slot FROM runbook_runs WHERE job = 'tick' GROUP BY slot HAVING count(*) > 1) d",
    );
    assert_eq!(dupes, "0", "a slot ran twice");
    let slots: Vec<i64> =
        psql_at(&url, "SELECT extract(epoch FROM slot)::bigint FROM runbook_runs WHERE job = 'tick' ORDER BY slot")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
    assert_consecutive(&slots);
    assert!(slots.len() >= 5, "{slots:?}");
    // Every claimed slot ran, and after the kill the survivor ran them all.
    assert_eq!(psql_at(&url, "SELECT count(*) FROM runbook_slots WHERE job = 'tick'"), slots.len().to_string());
    let after: Vec<String> = psql_at(
        &url,
        &format!(
            "SELECT DISTINCT pid FROM runbook_slots WHERE slot > '{}'::timestamptz + interval '1 second'",
            killed_at.to_rfc3339()
        ),
    )
    .lines()
    .map(|l| l.to_string())
    .collect();
    assert_eq!(after, [b_pid.to_string()], "{b_log}");
    let after_kill = slots.iter().filter(|s| **s > killed_at.timestamp() + 1).count();
    assert!(after_kill >= 2, "the survivor went on: {slots:?}\n{b_log}");
    let _ = a.child.wait();
}

#[test]
fn list_and_print_show_the_plan_from_headers_and_config() {
    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", TICK);
    sb.config(
        "[schedule.nightly-tick]\nscript = \"tick\"\ncron = \"30 2 * * 1-5\"\ntimezone = \"Europe/Berlin\"\nargs = { level = \"x\" }\nmail_to = \"ops@example.com\"\n\n[schedule.daily-check]\nenabled = false\n",
    );
    let list = sb.run(&["schedule", "--list", "tick", "nightly-tick", "backup-db"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines[0], "JOB           CRON          TZ             NEXT RUNS");
    assert!(lines[1].starts_with("backup-db     0 2 * * *     local          "), "{}", list.stdout);
    assert!(lines[3].starts_with("nightly-tick  30 2 * * 1-5  Europe/Berlin  "), "{}", list.stdout);
    assert!(lines[3].contains(" 02:30:00, "), "{}", list.stdout);
    assert_eq!(
        lines[4],
        "                └ script tick · level=x · mail ops@example.com on failure · timeout 10m · from runbook.toml"
    );
    assert!(lines[5].starts_with("tick          * * * * * *   local          "), "{}", list.stdout);

    let every = sb.run(&["schedule", "--list"]);
    assert!(!every.stdout.contains("daily-check"), "enabled = false turns it off:\n{}", every.stdout);
    let typo = sb.run(&["schedule", "--list", "nightly-tik"]);
    assert_eq!(typo.code, 64);
    assert!(
        typo.stderr.contains("no scheduled job `nightly-tik`") && typo.stderr.contains("did you mean `nightly-tick`?"),
        "{}",
        typo.stderr
    );

    let cron = sb.run(&["schedule", "--print-crontab", "nightly-tick", "tick"]);
    let config = sb.path().join("runbook.toml").canonicalize().unwrap();
    assert!(cron.stdout.contains(&format!(
        "CRON_TZ=Europe/Berlin\n30 2 * * 1-5 RUNBOOK_SCHEDULE_JOB=nightly-tick {} --config {} run tick --quiet --arg level=x --timeout 10m --lock nightly-tick --mail-to ops@example.com --mail-on failure >/dev/null\n",
        common::bin(),
        config.display()
    )), "{}", cron.stdout);
    assert!(cron.stdout.contains("# `* * * * * *` has a seconds field, which cron cannot express"), "{}", cron.stdout);
    // The zone is set back at once: it never reaches the next job's line.
    let after = cron.stdout.split("--mail-on failure >/dev/null\n").nth(1).unwrap();
    let reset = after.lines().next().unwrap();
    assert!(reset.starts_with("CRON_TZ=") && reset != "CRON_TZ=Europe/Berlin", "{}", cron.stdout);

    let units = sb.run(&["schedule", "--print-systemd", "nightly-tick"]);
    assert!(
        units
            .stdout
            .contains("# ---- runbook-nightly-tick.service\n[Unit]\nDescription=runbook nightly-tick: Ticks.\n"),
        "{}",
        units.stdout
    );
    assert!(
        units.stdout.contains("OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00 Europe/Berlin\nPersistent=true\n"),
        "{}",
        units.stdout
    );

    sb.config("[schedule.bad]\nscript = \"tick\"\ncron = \"0 9 * *\"\n");
    let bad = sb.run(&["schedule", "--list"]);
    assert_eq!(bad.code, 78, "{}", bad.stderr);
    assert!(bad.stderr.contains("runbook.toml: key `schedule.bad.cron`: `0 9 * *` has 4 fields"), "{}", bad.stderr);
    sb.config("[schedule.bad]\nscript = \"tick\"\nargs = { levle = \"x\" }\n");
    let bad = sb.run(&["schedule", "--list"]);
    assert_eq!(bad.code, 78, "{}", bad.stderr);
    assert!(bad.stderr.contains("runbook.toml: key `schedule.bad.args`: "), "{}", bad.stderr);
    assert!(bad.stderr.contains("level"), "{}", bad.stderr);
}

/// cron runs `0 9 1-31 * N` on every day of the month OR weekday N;
/// `runbook schedule` only where both hold. The printed crontab line must
/// do what the scheduler does: run on today's weekday, not on another.
#[test]
fn a_crontab_line_with_a_day_of_month_and_a_weekday_runs_only_where_both_hold() {
    let sb = Sandbox::new();
    sb.write("scripts/mark.rhai", "// Marks that it ran.\nwarn(\"ran\");\n");
    let today: u32 = {
        let out = std::process::Command::new("date").arg("+%w").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let other = (today + 3) % 7;
    sb.config(&format!(
        "[schedule.today]\nscript = \"mark\"\ncron = \"0 9 1-31 * {today}\"\n\n\
         [schedule.other]\nscript = \"mark\"\ncron = \"0 9 1-31 * {other}\"\n"
    ));
    let cron = sb.run(&["schedule", "--print-crontab", "today", "other"]);
    assert_eq!(cron.code, 0, "{}", cron.stderr);
    let runs: Vec<String> = cron
        .stdout
        .lines()
        .filter(|l| l.starts_with("0 9 1-31 * * "))
        .map(|l| {
            let ran = std::process::Command::new("sh")
                .arg("-c")
                .arg(l["0 9 1-31 * * ".len()..].replace("\\%", "%"))
                // The sandbox's environment, as `sb.cmd()` sets it.
                .current_dir(sb.path())
                .env("HOME", sb.path())
                .env("XDG_CONFIG_HOME", sb.path().join(".config"))
                .env_remove("XDG_STATE_HOME")
                .env_remove("RUNBOOK_CONFIG")
                .env_remove("RUNBOOK_SCRIPTS")
                .env_remove("RUNBOOK_STDLIB")
                .output()
                .unwrap();
            String::from_utf8_lossy(&ran.stdout).into_owned()
        })
        .collect();
    assert_eq!(runs.len(), 2, "{}", cron.stdout);
    // --print-crontab lists jobs by name: "other" first.
    assert_eq!(runs[0], "", "ran on weekday {today}, not its {other}:\n{}", cron.stdout);
    assert!(runs[1].contains("! ran"), "did not run on its weekday {today}: {:?}\n{}", runs[1], cron.stdout);
    assert!(
        cron.stdout.contains(&format!(
            "0 9 1-31 * * [ \"$(date +\\%w)\" = {today} ] && RUNBOOK_SCHEDULE_JOB=today {} --config ",
            common::bin()
        )),
        "{}",
        cron.stdout
    );
}

/// A bad `// schedule:` line passed `runbook check` and then stopped the
/// whole scheduler: check rejects it, with the line and column, and the
/// scheduler leaves that one job out, says so, and plans the others.
#[test]
fn a_bad_schedule_line_fails_check_and_leaves_the_other_jobs_running() {
    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", TICK);
    sb.write("scripts/late.rhai", "// Too late.\n//\n// schedule: 0 25 * * *\nok(\"never\");\n");
    let check = sb.run(&["check", "late"]);
    assert_eq!(check.code, 65, "{}{}", check.stdout, check.stderr);
    assert!(check.stderr.contains("schedule `0 25 * * *` is not a cron expression"), "{}", check.stderr);
    assert!(check.stderr.contains(":3:"), "the line: {}", check.stderr);
    let list = sb.run(&["schedule", "--list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.lines().any(|l| l.starts_with("tick ")), "{}", list.stdout);
    assert!(!list.stdout.contains("late"), "{}", list.stdout);
    assert!(list.stderr.contains("runbook schedule: `late` is left out: line 3 of its header: schedule `0 25 * * *` is not a cron expression"), "{}", list.stderr);
}

/// A history outage makes the scheduler skip slots (it fails closed: an
/// unclaimed slot may be another scheduler's). When the history is back,
/// the newest skipped slot is run once (inside the catch-up window, when
/// the job is idle) and the others are recorded as missed, so the gap
/// shows in the history.
#[test]
fn slots_skipped_in_a_history_outage_are_caught_up_and_recorded_as_missed() {
    let url = fresh_database("outage");
    let db = url.rsplit('/').next().unwrap().to_string();
    let admin = common::service("RUNBOOK_TEST_PG_ADMIN");
    let sb = Sandbox::new();
    sb.config(&format!("[history]\nurl = \"{url}\"\n"));
    sb.write("scripts/tick.rhai", TICK);
    let s = Scheduler::start(&sb, &["tick"]);
    s.wait_for(" started: pid ", Duration::from_secs(5));
    psql_at(&admin, &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"));
    psql_at(&admin, &format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}'"));
    s.wait_for("not run: cannot claim it", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2500));
    psql_at(&admin, &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"));
    s.wait_for("recorded as missed", Duration::from_secs(20));
    // The newest runs once if the job is idle then, else it too is missed.
    std::thread::sleep(Duration::from_millis(1500));
    let (code, log) = s.stop(Duration::from_secs(10));
    assert_eq!(code, 0, "{log}");
    let missed: i64 = psql_at(
        &url,
        "SELECT count(*) FROM runbook_runs WHERE job = 'tick' AND exit_code = 75 AND report_text LIKE '%missed: the history could not be reached%'",
    )
    .parse()
    .unwrap();
    assert!(missed >= 1, "{log}");
    let dupes = psql_at(
        &url,
        "SELECT count(*) FROM (SELECT slot FROM runbook_runs WHERE job = 'tick' GROUP BY slot HAVING count(*) > 1) d",
    );
    assert_eq!(dupes, "0", "a slot was recorded twice:\n{log}");
    // Every slot since the first one is claimed: run, or recorded as missed.
    let slots: Vec<i64> =
        psql_at(&url, "SELECT extract(epoch FROM slot)::bigint FROM runbook_slots WHERE job = 'tick' ORDER BY slot")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
    // A slot that came while the caught-up run was still going is skipped
    // (a job never overlaps itself), as the log says; no other gap.
    let mut expected = slots.clone();
    for w in slots.windows(2) {
        for gap in w[0] + 1..w[1] {
            let at = DateTime::from_timestamp(gap, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ");
            assert!(log.contains(&format!("slot {at} skipped: the run of slot ")), "slot {at} was lost:\n{log}");
            expected.push(gap);
        }
    }
    expected.sort();
    assert_consecutive(&expected);
}

/// A run that writes much non-ASCII to stderr: the scheduler keeps its
/// last words without cutting a character in two (a byte index split
/// panicked the thread that read them, and they were lost).
#[test]
fn a_run_that_says_much_in_utf8_is_kept_whole() {
    let sb = Sandbox::new();
    sb.write(
        "scripts/chatty.rhai",
        "// Says much.\n//\n// schedule: * * * * * *\nfor i in 0..600 { debug(`é€ ${i} ééé€€€`); }\nthrow \"done talking\";\n",
    );
    let mut child = sb.cmd().arg("schedule").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    std::thread::sleep(Duration::from_millis(2600));
    // SAFETY: a child of this test that has not been reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let said = said.join().unwrap();
    assert_eq!(status.code(), Some(0));
    let panics: Vec<&str> = said.lines().filter(|l| l.contains("panicked")).collect();
    assert!(panics.is_empty(), "{panics:?}");
    assert!(said.contains("é€ 599 ééé€€€"), "the runs' own stderr goes through");
    let runs = runs_of(&sb, "chatty");
    assert!(!runs.is_empty() && runs.iter().all(|r| r.1 == "UNKNOWN" && r.2 == 3), "{runs:?}");
}
