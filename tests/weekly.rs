//! The Weekly Maintenance scripts end to end: review-logs (Docker),
//! db-maintenance and security-review (PostgreSQL with the fixture, a TLS
//! server), backup-verify (files, S3, Redis).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::Command;

use common::backups::Backups;
use common::web::{pki, serve_tls};
use common::{service, Compose, Sandbox, BACKEND_SH};

/// An nginx that logged two good requests, a 404, a 500 and a 502.
const NGINX_SH: &str = r#"for s in 200 404 200 500 502; do echo "10.0.0.1 - - [28/Nov/2026:09:00:00 +0000] \"GET /api/v1/x HTTP/1.1\" $s 12 \"-\" \"curl\" 5"; done; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"#;

#[test]
fn review_logs_counts_the_weeks_errors_ranks_them_and_counts_nginx_anomalies() {
    let c = Compose::new("wklogs");
    // The same error twice with different numbers: ranked as one.
    let backend = c.run(
        "backend",
        1,
        "echo 'INFO backend started'; \
         echo '2026-11-29 07:00:01,120 ERROR [app.api] user 12 not found' >&2; \
         echo '2026-11-29 07:10:00,004 ERROR [app.api] user 7 not found' >&2; \
         echo 'ERROR database timeout after 30 s' >&2; echo 'ERROR redis refused'; echo 'error: lowercase'; \
         trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done",
    );
    let nginx = c.run("nginx", 1, NGINX_SH);
    c.wait_logs(&backend, 6);
    c.wait_logs(&nginx, 5);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "weekly/review-logs", "--arg", "http_errors_warn=3"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout_norm(),
        "weekly/review-logs — Errors of the week in the backend logs, the ten most frequent, and the nginx 4xx/5xx count.

Backend errors (last 7d)
  ✓ backend_errors: 5  (warn 100, crit 1000)

Top errors
  count  value
  ─────  ────────────────────────────
      2  user <n> not found
      1  database timeout after <n> s
      1  redis refused

nginx anomalies (last 7d)
  ! nginx_4xx_5xx: 3  (warn 3)

WARNING · 1 warning · 0 checks · 2 metrics · N ms
"
    );
}

#[test]
fn review_logs_of_a_service_that_is_not_there_is_critical_and_names_the_known_ones() {
    let c = Compose::new("wklogs2");
    let backend = c.run("backend", 1, BACKEND_SH);
    c.wait_logs(&backend, 5);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "weekly/review-logs", "--arg", "nginx=ngnix"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "  ✗ nginx logs: docker::count_logs (ngnix): no container or compose service `ngnix` in compose project"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(known: backend, "), "{}", out.stdout);
}

#[test]
fn db_maintenance_vacuums_lists_the_largest_tables_and_honours_dry_run() {
    let sb = Sandbox::with_services("");
    // A slow-query floor no query reaches: the fixture's own load time varies by machine.
    let out = sb.run(&["run", "weekly/db-maintenance", "--arg", "slow_ms=1e9"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[3].starts_with("  ✓ VACUUM ANALYZE: done in "), "{}", out.stdout);
    assert_eq!(lines[6], "  table_name  total_size  table_size  indexes_size", "{}", out.stdout);
    let mut tables: Vec<&str> = lines[8..12].iter().map(|l| l.split_whitespace().next().unwrap()).collect();
    tables.sort();
    assert_eq!(tables, ["audit_logs", "questions", "users", "votes"], "{}", out.stdout);
    assert!(out.stdout.contains("Slow queries (mean over 1000000000 ms)\n  ✓ no slow queries\n"), "{}", out.stdout);

    let dry = sb.run(&["run", "weekly/db-maintenance", "--arg", "slow_ms=1e9", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("Vacuum\n  · would run on main: VACUUM ANALYZE\n")
            && !dry.stdout.contains("skipped (dry run)"),
        "{}",
        dry.stdout
    );
}

#[test]
fn security_review_names_the_attacked_accounts_the_certificate_and_the_roles() {
    let p = pki();
    let port = serve_tls(&p.path("valid.pem"), &p.path("valid.key"));
    let sb = Sandbox::with_services("");
    let site = format!("site=localhost:{port}");
    let ca = format!("ca={}", p.ca());
    let out = sb.run(&["run", "weekly/security-review", "--arg", &site, "--arg", &ca]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let text = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d")
        .unwrap()
        .replace_all(&out.stdout, "YYYY-MM-DD HH:MM")
        .into_owned();
    let text = regex::Regex::new(r"expires \d{4}-\d\d-\d\d").unwrap().replace_all(&text, "expires DAY").into_owned();
    assert_eq!(
        common::normalize_ms(&text),
        "weekly/security-review — Accounts under password attack, the site certificate's expiry, users per role.

Failed logins (last 7d, more than 10)
  ! 3 accounts with more than 10 failed logins
  email               failed_attempts  last_attempt
  ──────────────────  ───────────────  ────────────────
  admin@example.com                40  YYYY-MM-DD HH:MM
  user42@example.com               15  YYYY-MM-DD HH:MM
  user7@example.com                11  YYYY-MM-DD HH:MM

Certificate
  ✓ certificate_days_left: 89 days — CN=localhost, expires DAY  (warn ≤30, crit ≤7)

Users per role
  role       users
  ─────────  ─────
  user       19600
  moderator    360
  admin         40

WARNING · 1 warning · 0 checks · 1 metric · N ms
"
    );
}

#[test]
fn security_review_of_an_expired_certificate_is_critical() {
    let p = pki();
    let port = serve_tls(&p.path("expired.pem"), &p.path("expired.key"));
    let sb = Sandbox::with_services("");
    let site = format!("site=localhost:{port}");
    let ca = format!("ca={}", p.ca());
    let out = sb.run(&["run", "weekly/security-review", "--arg", &site, "--arg", &ca]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let line = out.stdout.lines().find(|l| l.starts_with("  ✗ localhost:")).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(line.contains("expired"), "{line}");
}

/// Local backups, a bucket of copies under db/, and Redis.
fn backups(test: &str) -> Backups {
    let b = common::backups::sandbox(test, &service("RUNBOOK_TEST_S3_ENDPOINT"), "");
    std::fs::create_dir_all(b.bucket_dir.join("db")).unwrap();
    b
}

/// A backup file of `size` bytes made `age` ago ("2 days ago"), locally
/// and (when `offsite`) in the bucket.
fn backup(b: &Backups, name: &str, size: usize, age: &str, offsite: bool) {
    let mut paths = vec![b.dir.join(name)];
    if offsite {
        paths.push(b.bucket_dir.join("db").join(name));
    }
    for p in paths {
        std::fs::write(&p, vec![b'x'; size]).unwrap();
        assert!(Command::new("touch").args(["-d", age]).arg(&p).status().unwrap().success());
    }
}

/// A run of backup-restore-test in the sandbox's history that restored a
/// backup then `hours` old: a stand-in script (through `--scripts-dir`)
/// records the metric the real one records, so that these tests need no
/// database dump. tests/operations.rs runs the real one.
fn restored(b: &Backups, hours: f64) {
    let dir = b.sb.path().join("stand-in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("backup-restore-test.rhai"),
        format!("// The restore test, as its history records it.\nmetric(\"restored_backup_age_h\", {hours:.1}, #{{unit: \"h\"}});\n"),
    )
    .unwrap();
    let out = b.sb.run(&["--scripts-dir", &dir.display().to_string(), "run", "backup-restore-test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

fn verify(b: &Backups) -> common::Out {
    let glob = format!("backups={}/*.sql.gz", b.dir.display());
    b.sb.run(&["run", "weekly/backup-verify", "--arg", &glob, "--arg", "min_size=1KiB"])
}

#[test]
fn backup_verify_passes_a_fresh_whole_offsite_backup() {
    let b = backups("bvok");
    backup(&b, "civicq-1.sql.gz", 5000, "2 days ago", true);
    backup(&b, "civicq-2.sql.gz", 4000, "2 hours ago", true);
    restored(&b, 30.0);
    let out = verify(&b);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let text = regex::Regex::new(r"(\d+(?:\.\d+)?(?:ms|[dhms]))+ (old|ago)")
        .unwrap()
        .replace_all(&out.stdout, "AGE $2")
        .into_owned();
    let text =
        regex::Regex::new(r"saved (\d+[dhms]|\d+(?:\.\d+)?ms)+ ago").unwrap().replace_all(&text, "saved AGE ago");
    assert_eq!(
        common::normalize_ms(&text),
        "weekly/backup-verify — The latest database backup is here and off-site, fresh and whole, a recent one restored; Redis saved recently.

Local backup
  ✓ latest local backup: civicq-2.sql.gz: 3.9 KiB, AGE old

Off-site copy
  ✓ latest backup in backups: db/civicq-2.sql.gz: 3.9 KiB, AGE old
  ✓ local backup copied off-site: db/civicq-2.sql.gz, same size

Restore test
  ✓ newest backup that restored: a backup now AGE old, restored AGE ago

Redis
  ✓ Redis LASTSAVE: saved AGE ago

OK · 5 checks · 0 metrics · N ms
"
    );
}

#[test]
fn backup_verify_catches_a_stale_copy_a_truncated_backup_and_a_missing_upload() {
    let b = backups("bvbad");
    backup(&b, "civicq-1.sql.gz", 50_000, "3 days ago", true);
    // The newest is a tenth of the one before it, and was never uploaded.
    backup(&b, "civicq-2.sql.gz", 5_000, "1 hour ago", false);
    let out = verify(&b);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    for line in [
        "  ✗ latest local backup: civicq-2.sql.gz is 4.9 KiB, under half of the one before (civicq-1.sql.gz, 48.8 KiB)",
        "  ✗ latest backup in backups: db/civicq-1.sql.gz is 3d",
        "  ✗ local backup copied off-site: db/civicq-2.sql.gz is not in backups",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    }
    // Nothing is touched: both files are still there, byte for byte.
    assert_eq!(std::fs::read(b.dir.join("civicq-2.sql.gz")).unwrap().len(), 5_000);
}

#[test]
fn backup_verify_without_any_backup_says_so() {
    let b = backups("bvnone");
    let out = verify(&b);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("  ✗ latest local backup: no backups match {}/*.sql.gz", b.dir.display())));
    assert!(out.stdout.contains("  ✗ latest backup in backups: no objects under db/"), "{}", out.stdout);
}

#[test]
fn backup_verify_tells_a_backup_that_exists_from_one_that_restored() {
    let b = backups("bvrestore");
    backup(&b, "civicq-1.sql.gz", 4000, "2 hours ago", true);
    // Never restore-tested: the files alone do not pass.
    let out = verify(&b);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let line = "  ✗ newest backup that restored: no backup has passed backup-restore-test in the run history: run it (weekly, Sunday 04:00)\n";
    assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    // Restored once, but that backup is now 8d 8h old: a weekly test was missed.
    restored(&b, 200.0);
    let out = verify(&b);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("newest backup that restored"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let line = regex::Regex::new(r"restored \d+(\.\d+)?(ms|s) ago").unwrap().replace(line, "restored AGE ago");
    assert_eq!(
        line,
        "  ✗ newest backup that restored: the newest backup that restored is 8d8h old (max 8d), restored AGE ago"
    );
    // A newer restore test passes it again.
    restored(&b, 26.0);
    let out = verify(&b);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ newest backup that restored: a backup now 1d2h old, restored "), "{}", out.stdout);
}
