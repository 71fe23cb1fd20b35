//! `runbook history health`: each rule firing on a history made for it —
//! overdue, too fast, too slow, failing in a row — and a healthy job.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use chrono::{Duration, Utc};
use common::Sandbox;

/// A recorded run of `script`, `ago` before now, lasting `ms`, ending `status`.
fn seed(sb: &Sandbox, script: &str, ago: Duration, ms: i64, status: &str) {
    let at = (Utc::now() - ago).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    common::history::open(sb)
        .execute(
            "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, report_json, report_text)
             VALUES (?1, '{}', 'seeded', ?2, ?3, ?4, 0, 0, '{}', 'seeded')",
            rusqlite::params![script, at, ms, status],
        )
        .unwrap();
}

#[test]
fn each_rule_fires_on_a_history_made_for_it() {
    let sb = Sandbox::new();
    for name in ["healthy", "fast", "slow", "failing"] {
        sb.write(
            &format!("scripts/{name}.rhai"),
            &format!("// The {name} job.\n// schedule: */5 * * * *\nprint(1);\n"),
        );
    }
    sb.write("scripts/late.rhai", "// The late job.\n// schedule: 0 * * * *\nprint(1);\n");
    for i in 1..=6 {
        for name in ["healthy", "fast", "slow", "failing"] {
            seed(&sb, name, Duration::hours(i), 40_000, "OK");
        }
    }
    seed(&sb, "healthy", Duration::seconds(30), 41_000, "OK");
    seed(&sb, "fast", Duration::seconds(30), 1_000, "OK");
    seed(&sb, "slow", Duration::seconds(30), 250_000, "OK");
    for s in [50, 40, 30] {
        seed(&sb, "failing", Duration::seconds(s), 40_000, "CRITICAL");
    }
    seed(&sb, "late", Duration::hours(3), 40_000, "OK");

    let out = sb.run(&["history", "health", "healthy", "fast", "slow", "failing", "late"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let text = regex::Regex::new(r"(\d+(ms|d|h|m|s))+ ago|\d{4}-\d\d-\d\d \d\d:\d\d")
        .unwrap()
        .replace_all(&out.stdout, "[T]")
        .into_owned();
    for part in [
        "healthy (*/5 * * * *)\n  ✓ on schedule: last ran [T], after its slot of [T]\n  ✓ run time: 41s, usual 40s\n  ✓ failures: last run OK\n",
        "fast (*/5 * * * *)\n  ✓ on schedule: last ran [T], after its slot of [T]\n  ! run time: 1s, under a tenth of its usual 40s: did it do its work?\n",
        "slow (*/5 * * * *)\n  ✓ on schedule: last ran [T], after its slot of [T]\n  ! run time: 4m10s, over 5 times its usual 40s\n",
        "  ✗ failures: failed 3 times in a row, since [T]\n",
        "late (0 * * * *)\n  ✗ on schedule: overdue: its slot of [T] passed [T] with no run (grace 15m); the last run was [T]\n",
    ] {
        assert!(text.contains(part), "missing {part:?} in\n{text}");
    }
    assert!(text.ends_with("CRITICAL · 2 critical · 2 warnings · 15 checks · 0 metrics · 0 ms\n"), "{text}");

    let nagios = sb.run(&["history", "health", "late", "--format", "nagios"]);
    assert_eq!(nagios.code, 2);
    assert!(
        nagios.stdout.starts_with("HISTORY HEALTH CRITICAL - on schedule: overdue: its slot of "),
        "{}",
        nagios.stdout
    );

    // Under a silence the failing job is not alarmed on, and says what it would have been.
    let snoozed = sb.run(&["snooze", "1h", "failing"]);
    assert_eq!(snoozed.code, 0, "{}", snoozed.stderr);
    let quiet = sb.run(&["history", "health", "failing"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    assert!(
        quiet.stdout.contains("  ✓ failures: in maintenance, else CRITICAL: failed 3 times in a row, since "),
        "{}",
        quiet.stdout
    );
    // Nagios names the job of each problem.
    let two = sb.run(&["history", "health", "fast", "slow", "--format", "nagios"]);
    assert!(
        two.stdout.starts_with("HISTORY HEALTH WARNING - fast: run time: 1s, under a tenth of its usual 40s: did it do its work?; slow: run time: 4m10s, over 5 times its usual 40s"),
        "{}",
        two.stdout
    );

    // Prometheus gives each job's checks their own series.
    let prom = sb.run(&["history", "health", "fast", "slow", "--format", "prometheus"]);
    assert!(
        prom.stdout.contains("runbook_check_ok{script=\"history health\",check=\"run time\",section=\"fast\"} 0\n")
            && prom
                .stdout
                .contains("runbook_check_ok{script=\"history health\",check=\"run time\",section=\"slow\"} 0\n"),
        "{}",
        prom.stdout
    );

    let ok = sb.run(&["history", "health", "healthy"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    let never = Sandbox::new();
    never.write("scripts/new.rhai", "// A new job.\n// schedule: 0 * * * *\nprint(1);\n");
    // A job with no run at all cannot be judged yet: UNKNOWN, not an alarm.
    let n = never.run(&["history", "--health", "new"]);
    assert_eq!(n.code, 3, "{}", n.stdout);
    assert!(n.stdout.contains("new (0 * * * *)\n  ? on schedule: no run recorded yet: its slot of "), "{}", n.stdout);
    assert!(n.stdout.contains("(grace 15m); the first run starts the watch\n"), "{}", n.stdout);
    let json = never.run(&["history", "--health", "--format", "json"]);
    assert!(
        json.stdout.starts_with('{') && json.stdout.contains("\"no run recorded yet: its slot of "),
        "{}",
        json.stdout
    );
}

/// The shipped script `schedule/health` judges as `runbook history health`
/// does: the same sections and checks from the same history, the same
/// exit code, and Nagios output like every report.
#[test]
fn the_shipped_health_script_says_what_history_health_says() {
    let sb = Sandbox::new();
    for name in ["steady", "quick"] {
        sb.write(
            &format!("scripts/{name}.rhai"),
            &format!("// The {name} job.\n// schedule: */5 * * * *\nprint(1);\n"),
        );
    }
    for i in 1..=6 {
        seed(&sb, "steady", Duration::hours(i), 40_000, "OK");
        seed(&sb, "quick", Duration::hours(i), 40_000, "OK");
    }
    seed(&sb, "steady", Duration::seconds(20), 39_000, "OK");
    seed(&sb, "quick", Duration::seconds(20), 900, "OK");
    let lines = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("  ") || l.contains(" (*/5 * * * *)"))
            .map(|l| l.split(" (").next().unwrap_or(l).to_string().replace(|c: char| c.is_ascii_digit(), "9"))
            .collect()
    };
    let command = sb.run(&["history", "health", "steady", "quick"]);
    let script = sb.run(&["run", "schedule/health", "--arg", "job=steady,quick"]);
    assert_eq!((command.code, script.code), (1, 1), "{}\n{}{}", command.stdout, script.stdout, script.stderr);
    // The command lists jobs in name order, and so does the script.
    assert_eq!(lines(&script.stdout), lines(&command.stdout), "{}\n{}", script.stdout, command.stdout);
    assert!(
        script.stdout.contains("  ! run time: 900ms, under a tenth of its usual 40s: did it do its work?\n"),
        "{}",
        script.stdout
    );
    let nagios = sb.run(&["run", "schedule/health", "--arg", "job=quick", "--format", "nagios"]);
    assert_eq!(nagios.code, 1);
    assert!(nagios.stdout.starts_with("SCHEDULE/HEALTH WARNING - run time: 900ms, under a tenth"), "{}", nagios.stdout);
    let typo = sb.run(&["run", "schedule/health", "--arg", "job=quik"]);
    assert_eq!(typo.code, 3, "{}{}", typo.stdout, typo.stderr);
    assert!(
        typo.stdout.contains("no scheduled job `quik`") && typo.stdout.contains("did you mean `quick`?"),
        "{}",
        typo.stdout
    );
}

/// A slot recorded as missed is no run: it neither meets the slot nor sets
/// the run time, and counts among the failures in a row.
#[test]
fn a_missed_slot_is_no_run_to_health() {
    let sb = Sandbox::new();
    sb.write("scripts/nightly.rhai", "// The nightly job.\n// schedule: */5 * * * *\nprint(1);\n");
    for i in 1..=6 {
        seed(&sb, "nightly", Duration::hours(i), 40_000, "OK");
    }
    seed(&sb, "nightly", Duration::minutes(3), 41_000, "OK");
    let at = (Utc::now() - Duration::seconds(10)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    common::history::open(&sb)
        .execute(
            "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, job, report_json, report_text)
             VALUES ('nightly', '{}', 'seeded', ?1, 0, 'UNKNOWN', 75, 0, 'nightly', '{}', 'run failed: missed: 3 slot(s) from … skipped')",
            rusqlite::params![at],
        )
        .unwrap();
    let out = sb.run(&["history", "health", "nightly"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ run time: 41s, usual 40s\n  ✓ failures: last run UNKNOWN\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ on schedule: last ran 3m"), "the missed row is not a run: {}", out.stdout);
}
