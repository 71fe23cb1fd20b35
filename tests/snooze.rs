//! `runbook snooze`: a silence mutes the report mails of the runs it
//! covers (on the SMTP test server) while the runs still happen and are
//! recorded, shown as in maintenance in the history, `schedule --list` and
//! run health; it ends on time or with `--end`; scripts open one through
//! `history::snooze`; with a PostgreSQL history it is the fleet's.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{received, service, smtp_config, Sandbox};

const LEVEL: &str = "// Reports the level it is given.\n// schedule: 0 9 * * *\n// param level: string = ok\nif level == \"crit\" { crit(\"the service is down\"); } else { ok(\"all fine\"); }\n";

/// Times and durations as `[T]`, so whole outputs can be spelled out.
fn timeless(s: &str) -> String {
    regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?( UTC)?|(\d+(ms|d|h|m|s))+ ago")
        .unwrap()
        .replace_all(s, "[T]")
        .into_owned()
}

#[test]
fn a_snooze_mutes_report_mails_while_runs_are_still_recorded() {
    let name = format!("snoozed{}", std::process::id());
    let sb = Sandbox::new();
    sb.write(&format!("scripts/{name}.rhai"), LEVEL);
    sb.config(&smtp_config(&service("RUNBOOK_TEST_SMTP_PORT")));

    // Before the silence: OK, kept as the last status for --mail-on change.
    let before = sb.run(&["run", &name, "--mail-to", "admin@example.com", "--mail-on", "change"]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    let opened = sb.run(&["snooze", "1h", &name, "--reason", "disk swap"]);
    assert_eq!(opened.code, 0, "{}", opened.stderr);
    assert_eq!(
        timeless(&opened.stdout),
        format!("snoozed {name} until [T] (silence 1: disk swap): runs go on and are recorded, their report mails are not sent\n  `runbook snooze --end 1` ends it sooner\n  kept in the history at {}/.local/state/runbook/history.sqlite\n", sb.path().display())
    );
    let list = sb.run(&["snooze", "--list"]);
    let who = list.stdout.split("opened by ").nth(1).and_then(|w| w.split(" at ").next()).unwrap_or("").to_string();
    assert!(who.ends_with(&format!("@{}", common::hostname())) && !who.starts_with('@'), "{}", list.stdout);
    assert_eq!(timeless(&list.stdout), format!("silence 1 ({name}) until [T]: disk swap\n  opened by {who} at [T]\n"));

    // A failed run during the silence: recorded, exit code kept, no mail.
    let quiet = sb.run(&["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com", "--mail-on", "change"]);
    assert_eq!(quiet.code, 2, "{}", quiet.stderr);
    assert_eq!(quiet.stderr, "", "not a terminal: nothing on stderr, which cron would mail");
    assert_eq!(received(&name, 1).len(), 0, "a snoozed run was mailed");

    let history = sb.run(&["history", &name]);
    assert!(history.stdout.contains(" CRITICAL (in maintenance: silence 1) "), "{}", history.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&sb.run(&["history", &name, "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["silence"], 1);
    let id = json[0]["id"].as_i64().unwrap().to_string();
    let show = sb.run(&["history", "show", &id]);
    assert!(
        timeless(&show.stdout).starts_with(&format!(
            "run {id} · {name} · CRITICAL · [T] on {} · in maintenance: silence 1 ({name}) until [T]: disk swap\n",
            common::hostname()
        )),
        "{}",
        show.stdout
    );
    let plan = sb.run(&["schedule", "--list", &name]);
    assert!(
        timeless(&plan.stdout).ends_with(&format!(
            "from header · in maintenance until [T] (silence 1)\n\nin maintenance: silence 1 ({name}) until [T]: disk swap (opened by {who}; `runbook snooze --end 1` ends it)\n"
        )),
        "{}",
        plan.stdout
    );
    // Run health does not alarm on a silenced job, and says what it would have said.
    let health = sb.run(&["history", "health", &name]);
    assert_eq!(health.code, 0, "{}", health.stdout);
    assert!(
        timeless(&health.stdout).contains(&format!(
            "{name} (0 9 * * *) · in maintenance: silence 1 ({name}) until [T]: disk swap\n  ✓ on schedule: last ran [T], after its slot of [T]\n  ✓ run time: "
        )) && health.stdout.contains("  ✓ failures: last run OK\n"),
        "{}",
        health.stdout
    );

    let ended = sb.run(&["snooze", "--end", "1"]);
    assert_eq!(ended.stdout, "ended silence 1: its jobs mail again\n", "{}", ended.stderr);
    // A failure that began in the silence and outlasts it is a change from
    // the last status kept before it: mailed once the silence ends.
    let loud = sb.run(&["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com", "--mail-on", "change"]);
    assert_eq!(loud.code, 2, "{}", loud.stderr);
    assert_eq!(received(&name, 1).len(), 1, "the failure after the silence was not mailed");
    // The run inside the silence stays marked; the one after is not.
    let json: serde_json::Value =
        serde_json::from_str(&sb.run(&["history", &name, "--format", "json"]).stdout).unwrap();
    assert_eq!(
        (json[0]["silence"].clone(), json[1]["silence"].clone(), json[2]["silence"].clone()),
        (serde_json::Value::Null, 1.into(), serde_json::Value::Null)
    );
    let none = sb.run(&["snooze", "--list"]);
    assert_eq!(none.stdout, "no silence is in force: every job mails as configured\n");
}

#[test]
fn snooze_refuses_what_would_silence_wrongly_and_says_why() {
    let sb = Sandbox::new();
    for (args, code, stderr) in [
        (&["snooze", "8d"][..], 64, "error: snooze 8d: a silence lasts from 1s to 7d\n  = help: so a forgotten one cannot mute a job for good: snooze again when it ends\n"),
        (&["snooze", "0s"][..], 64, "error: snooze 0s: a silence lasts from 1s to 7d\n  = help: so a forgotten one cannot mute a job for good: snooze again when it ends\n"),
        (&["snooze", "2h", "backup-dbb"][..], 64, "error: no job or script `backup-dbb` to snooze\n  = help: did you mean `backup-db`? `runbook schedule --list` and `runbook list` show them\n"),
        (&["snooze", "--end", "7"][..], 64, "error: no silence 7 is in force (ended, expired or never opened)\n  = help: `runbook snooze --list` shows the silences in force\n"),
        (&["snooze", "soon"][..], 64, ""),
    ] {
        let out = sb.run(args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        if stderr.is_empty() {
            assert!(out.stderr.contains("invalid value 'soon' for '[DURATION]': invalid duration `soon`"), "{}", out.stderr);
        } else {
            assert_eq!(out.stderr, stderr, "{args:?}");
        }
    }
    let nothing = sb.run(&["snooze", "--end"]);
    assert_eq!((nothing.code, nothing.stdout.as_str()), (0, "no silence is in force: nothing to end\n"));
    sb.config("[history]\nenabled = false\n");
    let off = sb.run(&["snooze", "1h"]);
    assert_eq!(off.code, 78, "{}", off.stderr);
    assert!(
        off.stderr.starts_with(
            "error: runbook snooze keeps its silences in the run history, and [history] enabled = false\n"
        ),
        "{}",
        off.stderr
    );
}

const WINDOW: &str = "// Opens a silence and ends it.
let id = history::snooze(\"2h\", #{jobs: [\"backup-db\"], reason: \"a window\"});
print(`silence ${id}`);
print(`ended: ${history::end_snooze(id)}`);
print(`again: ${history::end_snooze(id)}`);
";

/// A script opens a silence and ends it, on SQLite and on a shared
/// PostgreSQL history; a dry run opens none.
#[test]
fn a_script_opens_and_ends_a_silence_on_either_history() {
    let pg = common::history::fresh_database("snooze");
    for history in [String::new(), format!("[history]\nurl = \"{pg}\"\n")] {
        let sb = Sandbox::new();
        sb.config(&history);
        sb.write("scripts/window.rhai", WINDOW);
        let dry = sb.run(&["run", "window", "--dry-run"]);
        assert_eq!(dry.code, 0, "{}", dry.stderr);
        assert!(dry.stdout.contains("silence 0\n") && dry.stdout.contains("ended: false\n"), "{}", dry.stdout);
        assert!(dry.stdout.contains("would snooze backup-db for 2h: no report mails"), "{}", dry.stdout);
        assert_eq!(sb.run(&["snooze", "--list"]).stdout, "no silence is in force: every job mails as configured\n");

        let real = sb.run(&["run", "window"]);
        assert_eq!(real.code, 0, "{}", real.stderr);
        let id: i64 = real.stdout.lines().find_map(|l| l.strip_prefix("silence ")).unwrap().parse().unwrap();
        assert!(id > 0, "{}", real.stdout);
        assert!(real.stdout.contains("ended: true\nagain: false\n"), "{}", real.stdout);
        // Ended: not in force, still kept (the runs it covered stay marked).
        assert_eq!(sb.run(&["snooze", "--list"]).stdout, "no silence is in force: every job mails as configured\n");

        let open = sb.run(&["snooze", "30m", "--reason", "fleet-wide"]);
        assert_eq!(open.code, 0, "{}", open.stderr);
        let listed: serde_json::Value =
            serde_json::from_str(&sb.run(&["snooze", "--list", "--format", "json"]).stdout).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(
            (listed[0]["names"].clone(), listed[0]["reason"].clone()),
            (serde_json::json!([]), "fleet-wide".into())
        );
        let all = sb.run(&["snooze", "--end"]);
        assert_eq!(all.stdout, "ended 1 silence(s): every job mails again\n");
    }
}

/// A job named other than its script (as crontab lines and units run it,
/// with RUNBOOK_SCHEDULE_JOB): `snooze JOB` mutes it and marks its runs.
#[test]
fn a_snooze_of_a_job_covers_its_runs_under_the_jobs_name() {
    let name = format!("jobbed{}", std::process::id());
    let sb = Sandbox::new();
    sb.write(&format!("scripts/{name}.rhai"), LEVEL);
    sb.config(&format!(
        "{}\n[schedule.nightly]\nscript = \"{name}\"\n",
        smtp_config(&service("RUNBOOK_TEST_SMTP_PORT"))
    ));
    let opened = sb.run(&["snooze", "1h", "nightly"]);
    assert_eq!(opened.code, 0, "{}", opened.stderr);
    let run = sb.run_cmd(
        sb.cmd()
            .args(["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com", "--mail-on", "always"])
            .env("RUNBOOK_SCHEDULE_JOB", "nightly"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(received(&name, 1).len(), 0, "the snoozed job was mailed");
    let json: serde_json::Value =
        serde_json::from_str(&sb.run(&["history", &name, "--format", "json"]).stdout).unwrap();
    assert_eq!((json[0]["job"].clone(), json[0]["silence"].clone()), ("nightly".into(), 1.into()));
    // The same script run by hand is not the job: mailed.
    let by_hand =
        sb.run(&["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com", "--mail-on", "always"]);
    assert_eq!(by_hand.code, 2, "{}", by_hand.stderr);
    assert_eq!(received(&name, 1).len(), 1, "a run outside the silence was not mailed");
}
