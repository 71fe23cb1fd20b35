//! `--lock` with the history on PostgreSQL is the fleet's: a run on one
//! machine refuses the same job on another (two sandboxes, two state
//! folders, one history database), and the lock dies with its holder,
//! even a SIGKILLed one.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::history::fresh_database;
use common::{psql_at, Sandbox};

const BACKUP: &str = "// Backs up, slowly.\ntime::sleep(\"60s\");\nok(\"done\");\n";

fn advisory_locks(url: &str) -> i64 {
    psql_at(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").parse().unwrap()
}

#[test]
fn a_lock_on_the_postgresql_history_holds_across_machines_and_dies_with_its_holder() {
    let url = fresh_database("fleetlock");
    let (a, b) = (Sandbox::new(), Sandbox::new());
    for sb in [&a, &b] {
        sb.config(&format!("[history]\nurl = \"{url}\"\n"));
        sb.write("scripts/backup.rhai", BACKUP);
    }
    let mut holder =
        a.cmd().args(["run", "backup", "--lock"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while advisory_locks(&url) == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(100));
    }

    let refused = b.run(&["run", "backup", "--lock"]);
    assert_eq!(refused.code, 75, "{}\n{}", refused.stdout, refused.stderr);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    assert!(
        refused.stderr.starts_with(&format!(
            "error: `backup` is already running in the fleet (runbook lock backup (host {host}, pid {}, since ",
            holder.id()
        )),
        "{}",
        refused.stderr
    );

    // Killed, the holder's session ends and the lock with it.
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    unsafe { libc::kill(holder.id() as i32, libc::SIGKILL) };
    holder.wait().unwrap();
    b.write("scripts/backup.rhai", "// Backs up, quickly.\nok(\"done\");\n");
    let after = b.run(&["run", "backup", "--lock", "--lock-wait", "10s"]);
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    assert_eq!(advisory_locks(&url), 0, "the lock outlived the run");
}
