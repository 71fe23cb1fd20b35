//! `runbook schedule --install crontab`: the plan as one marked block in a
//! real crontab (the `crontab` program, a user of the test's own),
//! installed twice and once removed, the crontab compared in full each
//! time; and the job settings `schedule` refuses as flags.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::io::Write;
use std::process::{Command, Stdio};

use common::Sandbox;

const USER: &str = "rbcrontest";
const BEGIN: &str =
    "# >>> runbook schedule: written by `runbook schedule --install crontab`; an install replaces this block >>>";

fn crontab_of_user() -> String {
    let out = Command::new("crontab").args(["-u", USER, "-l"]).output().expect("crontab runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_plan_installed_twice_is_there_once_and_removed_exactly() {
    let exists = Command::new("id").arg(USER).output().unwrap().status.success();
    if !exists {
        let made = Command::new("useradd").args(["--system", "--no-create-home", USER]).status().unwrap();
        assert!(made.success(), "useradd {USER} (the tests run as root)");
    }
    let mine = "MAILTO=me@example.com\n0 1 * * * /usr/bin/true\n";
    let mut w = Command::new("crontab").args(["-u", USER, "-"]).stdin(Stdio::piped()).spawn().unwrap();
    w.stdin.take().unwrap().write_all(mine.as_bytes()).unwrap();
    assert!(w.wait().unwrap().success());

    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", "// Ticks.\n// schedule: 30 2 * * *\nprint(1);\n");
    sb.write("scripts/mailer.rhai", "// Mails.\n// schedule: 0 9 * * *\nprint(1);\n");
    sb.config("[schedule.mailer]\nmail_to = \"ops@example.com\"\n");
    let config = sb.path().join("runbook.toml").canonicalize().unwrap();
    let install = |args: &[&str]| {
        let mut a = vec!["schedule"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--user", USER, "tick", "mailer"]);
        sb.run(&a)
    };
    let block = format!(
        "{BEGIN}
# runbook schedule, as crontab lines (install them with: runbook schedule --install crontab)
# Each run is recorded in the history; --lock keeps a slow run from overlapping the next.
# A job that mails through runbook sends its output nowhere else: cron's MAILTO would mail it twice.

# mailer — Mails. (from header and runbook.toml)
0 9 * * * {bin} --config {config} run mailer --quiet --timeout 10m --lock mailer --mail-to ops@example.com --mail-on failure >/dev/null

# tick — Ticks. (from header)
30 2 * * * {bin} --config {config} run tick --quiet --timeout 10m --lock tick
# <<< runbook schedule <<<
",
        bin = common::bin(),
        config = config.display()
    );

    let first = install(&["--install", "crontab"]);
    assert_eq!(
        (first.code, first.stdout.as_str()),
        (0, format!("added runbook's block to {USER}'s crontab: 2 job(s)\n").as_str()),
        "{}",
        first.stderr
    );
    assert_eq!(crontab_of_user(), format!("{mine}{block}"));

    let again = install(&["--install", "crontab"]);
    assert_eq!(
        again.stdout,
        format!("{USER}'s crontab already holds this plan: nothing to change\n"),
        "{}",
        again.stderr
    );
    assert_eq!(crontab_of_user(), format!("{mine}{block}"));

    let removed = install(&["--uninstall", "crontab"]);
    assert_eq!(removed.stdout, format!("removed runbook's block from {USER}'s crontab\n"), "{}", removed.stderr);
    assert_eq!(crontab_of_user(), mine);
    let nothing = install(&["--uninstall", "crontab"]);
    assert_eq!(nothing.stdout, format!("{USER}'s crontab has no runbook block: nothing to change\n"));
}

#[test]
fn mail_and_lock_are_refused_as_schedule_flags_and_say_where_they_go() {
    let sb = Sandbox::new();
    let out = sb.run(&["schedule", "--list", "--lock"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: --lock is a job's setting, not the scheduler's\n  = help: set it per job in runbook.toml: [schedule.NAME] lock = \"NAME\" (each job runs with --lock JOB already)\n"
    );
    let mail = sb.run(&["schedule", "--mail-on", "always"]);
    assert_eq!(mail.code, 64);
    assert!(mail.stderr.contains("[schedule.NAME] mail_on = \"failure\""), "{}", mail.stderr);
}

/// A fresh config's plan is the manual's three jobs; every other shipped
/// script only suggests its cadence, until a [schedule.NAME] entry enables it.
#[test]
fn a_fresh_plan_is_the_manuals_three_and_the_rest_are_suggestions() {
    let sb = Sandbox::new();
    let cron = sb.run(&["schedule", "--print-crontab"]);
    assert_eq!(cron.code, 0, "{}", cron.stderr);
    let jobs: Vec<String> = cron
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {} {} {} {}", f[0], f[1], f[2], f[3], f[4], f[7])
        })
        .collect();
    assert_eq!(jobs, ["0 2 * * * backup-db", "0 6 * * * cert/check", "0 9 * * * daily-check"], "{}", cron.stdout);

    let all = sb.run(&["schedule", "--list", "--all"]);
    assert!(
        all.stdout.contains("\nhealth-monitor                */5 * * * *   local  (suggested, not in the plan)\n"),
        "{}",
        all.stdout
    );
    sb.config("[schedule.health-monitor]\n");
    let enabled = sb.run(&["schedule", "--list"]);
    let names: Vec<&str> =
        enabled.stdout.lines().skip(1).filter(|l| !l.starts_with(' ')).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["backup-db", "cert/check", "daily-check", "health-monitor"], "{}", enabled.stdout);
}
