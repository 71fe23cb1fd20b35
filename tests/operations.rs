//! The manual's operational procedures end to end: db/* against the test
//! PostgreSQL (sessions the test holds open, dead tuples it makes), the
//! backup → restore-test round trip through S3, cache/* on Redis, cert/check
//! with mail, services/* on Docker containers.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::backups::Backups;
use common::web::{closed_port, pki, serve_tls};
use common::{psql, service, smtp_config, Compose, Sandbox, BACKEND_SH, IDLE_SH};

fn psql_background(sql: &str) -> Child {
    Command::new(Path::new(&service("RUNBOOK_TEST_PG_BIN")).join("psql"))
        .args(["-X", "-q", &service("RUNBOOK_TEST_PG_URL"), "-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs")
}

/// Tables the tests make live in their own schema, so that the backup
/// round trip (which compares `public`) never sees them.
fn test_table(name: &str) -> String {
    psql("CREATE SCHEMA IF NOT EXISTS rbtest");
    let t = format!("rbtest.{name}_{}", std::process::id());
    psql(&format!("DROP TABLE IF EXISTS {t}"));
    t
}

#[test]
fn blocking_queries_finds_the_session_the_test_holds_and_who_it_blocks() {
    let t = test_table("locks");
    psql(&format!("CREATE TABLE {t} (x int); INSERT INTO {t} VALUES (1)"));
    let mut holder = psql_background(&format!("BEGIN; UPDATE {t} SET x = 2; SELECT pg_sleep(30);"));
    std::thread::sleep(Duration::from_millis(500));
    let mut waiter = psql_background(&format!("UPDATE {t} SET x = 3"));
    let holder_pid = (0..50)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let p = psql(&format!("SELECT pid FROM pg_stat_activity WHERE query LIKE 'BEGIN; UPDATE {t}%'"));
            (!p.is_empty()).then_some(p)
        })
        .expect("the holder's session");
    let waiter_pid = (0..50)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let p = psql(&format!(
                "SELECT pid FROM pg_stat_activity WHERE query = 'UPDATE {t} SET x = 3' AND cardinality(pg_blocking_pids(pid)) > 0"
            ));
            (!p.is_empty()).then_some(p)
        })
        .expect("the waiter is blocked");

    let sb = Sandbox::with_services("");
    let out = sb.run(&["run", "db/blocking-queries", "--arg", "longer_than=0s"]);
    psql(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({holder_pid}, {waiter_pid})"));
    let _ = holder.wait();
    let _ = waiter.wait();
    psql(&format!("DROP TABLE {t}"));

    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let blocked_section = out.stdout.split("Blocked sessions").nth(1).unwrap_or_else(|| panic!("{}", out.stdout));
    let blocked = blocked_section
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{waiter_pid} ")))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(blocked.contains(&format!("{{{holder_pid}}}")), "{blocked}");
    assert!(blocked.contains(&format!("UPDATE {t} SET x = 3")), "{blocked}");
    assert!(out.stdout.contains("  ✗ 1 sessions are blocked"), "{}", out.stdout);
    let long = out.stdout.lines().find(|l| l.contains(&format!("BEGIN; UPDATE {t} SET x = 2;"))).unwrap();
    assert!(long.trim_start().starts_with(&holder_pid), "{long}");
}

#[test]
fn bloat_lists_dead_tuples_and_vacuum_runs_on_them_but_not_in_dry_run() {
    let t = test_table("bloat");
    psql(&format!(
        "CREATE TABLE {t} (x int) WITH (autovacuum_enabled = false); INSERT INTO {t} SELECT generate_series(1, 5000); UPDATE {t} SET x = -x; SELECT pg_stat_force_next_flush()"
    ));
    let sb = Sandbox::with_services("");
    let name = t.replace("rbtest.", "");
    let bloat = |sb: &Sandbox| sb.run(&["run", "db/bloat", "--arg", "top=100"]);
    let row = |out: &common::Out| out.stdout.lines().find(|l| l.contains(&name)).map(str::to_string);

    let out = bloat(&sb);
    let line = row(&out).unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(line.split_whitespace().collect::<Vec<_>>()[3..], ["5000", "5000", "50"], "{line}");
    assert!(out.stdout.contains(&format!("  ! dead_pct{{{t}}}: 50%  (warn 20)")), "{}", out.stdout);

    // --dry-run vacuums nothing: the dead tuples are still there.
    let dry = sb.run(&["run", "db/vacuum", "--dry-run"]);
    assert!(
        dry.stdout.contains("  · would run on main: VACUUM ANALYZE\n") && !dry.stdout.contains("✓ VACUUM ANALYZE"),
        "{}",
        dry.stdout
    );
    let vacuumed = || psql(&format!("SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = '{t}'::regclass"));
    assert_eq!(vacuumed(), "0", "dry run vacuumed");
    assert!(row(&bloat(&sb)).is_some(), "dry run vacuumed");

    // A real run vacuums the table. (Whether the dead tuples can go depends on
    // the oldest open transaction — other tests hold some — so the test asks
    // PostgreSQL whether the table was vacuumed, not whether it is clean.)
    let out = sb.run(&["run", "db/vacuum"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(vacuumed(), "1", "not vacuumed:\n{}", out.stdout);
    psql(&format!("DROP TABLE {t}"));
}

#[test]
fn vacuum_full_refuses_without_yes_when_no_one_can_be_asked() {
    let sb = Sandbox::with_services("");
    let out = sb.run(&["run", "db/vacuum-full"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("refusing to run VACUUM FULL ANALYZE, locking every table while it is rewritten (maintenance window only) without --yes"), "{all}");
    assert!(!all.contains("vacuum full: done"), "{all}");
}

/// The backups sandbox, and the scratch database backup-restore-test
/// creates and drops (`[postgres.restore_test]`).
struct Restorable {
    b: Backups,
    scratch: String,
}

impl std::ops::Deref for Restorable {
    type Target = Backups;
    fn deref(&self) -> &Backups {
        &self.b
    }
}

fn backups(test: &str, s3_endpoint: &str) -> Restorable {
    let scratch = format!("civicq_rt_{test}_{}", std::process::id());
    let url = service("RUNBOOK_TEST_PG_URL");
    let scratch_url = format!("{}/{scratch}", &url[..url.rfind('/').unwrap()]);
    let b =
        common::backups::sandbox(test, s3_endpoint, &format!("\n[postgres.restore_test]\nurl = \"{scratch_url}\"\n"));
    Restorable { b, scratch }
}

fn old_backup(b: &Backups, name: &str, age: &str) -> PathBuf {
    let p = b.dir.join(name);
    std::fs::write(&p, b"an older backup").unwrap();
    assert!(Command::new("touch").args(["-d", age]).arg(&p).status().unwrap().success());
    p
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn backup_then_restore_test_round_trip_with_matching_counts_and_retention_after_upload() {
    let b = backups("ok", &service("RUNBOOK_TEST_S3_ENDPOINT"));
    let ancient = old_backup(&b, "civicq-20200101-020000.sql.gz", "40 days ago");
    let recent = old_backup(&b, "civicq-20200102-020000.sql.gz", "10 days ago");
    let dir = format!("dir={}", b.dir.display());

    // --dry-run: no dump, no upload, nothing removed.
    let dry = b.sb.run(&["run", "backup-db", "--arg", &dir, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    assert_eq!(files(&b.dir), ["civicq-20200101-020000.sql.gz", "civicq-20200102-020000.sql.gz"]);
    assert!(files(&b.bucket_dir.join("db")).is_empty());
    assert!(
        dry.stdout.contains("  · would upload civicq-")
            && dry.stdout.contains(&format!(
                "  · would remove 1 file(s) older than 30d: {}/civicq-20200101-020000.sql.gz",
                b.dir.display()
            )),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("✓"), "a dry run passes no step it skipped: {}", dry.stdout);

    let out = b.sb.run(&["run", "backup-db", "--arg", &dir, "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!ancient.exists(), "the 40-day-old backup stays");
    assert!(recent.exists(), "the 10-day-old backup went");
    let local: Vec<String> = files(&b.dir).into_iter().filter(|f| !f.starts_with("civicq-2020")).collect();
    assert_eq!(local.len(), 2, "the backup and its sha256: {local:?}");
    let (dump, sidecar) = (&local[0], &local[1]);
    assert_eq!(sidecar, &format!("{dump}.sha256"));
    // The sidecar is what `sha256sum` writes, and `sha256sum -c` agrees.
    let check = Command::new("sha256sum").args(["-c", sidecar]).current_dir(&b.dir).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout), format!("{dump}: OK\n"));
    let uploaded = files(&b.bucket_dir.join("db"));
    assert_eq!(uploaded, vec![dump.clone()], "the same file off-site");
    assert_eq!(
        std::fs::metadata(b.dir.join(dump)).unwrap().len(),
        std::fs::metadata(b.bucket_dir.join("db").join(dump)).unwrap().len()
    );
    assert!(out.stdout.contains(", size verified, sha256 kept\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ expire: removed 1: civicq-20200101-020000.sql.gz\n"), "{}", out.stdout);

    // Restore the newest into a scratch database: every table's rows match.
    for from in ["local", "bucket"] {
        let backups_glob = format!("backups={}/civicq-*.sql.gz", b.dir.display());
        let download = format!("download_dir={}/restore", b.sb.path().display());
        let scratch = format!("scratch_db={}", b.scratch);
        let from_arg = format!("from={from}");
        let out = b.sb.run(&[
            "run",
            "backup-restore-test",
            "--arg",
            &backups_glob,
            "--arg",
            &download,
            "--arg",
            &scratch,
            "--arg",
            &from_arg,
            "--yes",
        ]);
        assert_eq!(out.code, 0, "{from}: {}\n{}", out.stdout, out.stderr);
        // The same count as the source, table by table (nothing writes to these tables meanwhile).
        for table in ["audit_logs", "questions", "users", "votes"] {
            let n: u64 = psql(&format!("SELECT count(*) FROM public.{table}")).parse().unwrap();
            let line = format!("  ✓ public.{table}: {} rows\n", thousands(n));
            assert!(out.stdout.contains(&line), "{from}: missing {line:?} in\n{}", out.stdout);
        }
        assert!(out.stdout.contains(&format!("  ✓ drop {}: dropped", b.scratch)), "{}", out.stdout);
        assert_eq!(psql(&format!("SELECT count(*) FROM pg_database WHERE datname = '{}'", b.scratch)), "0");
        // The file restored is the one written: its sha256 was compared first.
        let sum = String::from_utf8(std::fs::read(b.dir.join(sidecar)).unwrap()).unwrap();
        let line = format!("  ✓ sha256 {}… as recorded when it was written\n", &sum[..12]);
        assert!(out.stdout.contains(&line), "{from}: missing {line:?} in\n{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("restored_backup_age_h: 0 h — {dump} restored whole\n")),
            "{}",
            out.stdout
        );
    }

    // backup-verify finds that restore in the run history.
    let glob = format!("backups={}/civicq-*.sql.gz", b.dir.display());
    let verify = b.sb.run(&["run", "weekly/backup-verify", "--arg", &glob, "--arg", "min_size=1KiB"]);
    let line = verify
        .stdout
        .lines()
        .find(|l| l.contains("newest backup that restored"))
        .unwrap_or_else(|| panic!("{}", verify.stdout));
    assert!(line.starts_with("  ✓ newest backup that restored: a backup now "), "{line}");
}

/// Backs up with backup-db and returns the dump's file name.
fn fresh_backup(b: &Restorable) -> String {
    let out = b.sb.run(&["run", "backup-db", "--arg", &format!("dir={}", b.dir.display()), "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    files(&b.dir).into_iter().find(|f| f.ends_with(".sql.gz")).unwrap()
}

fn restore_test(b: &Restorable, from: &str) -> common::Out {
    b.sb.run(&[
        "run",
        "backup-restore-test",
        "--arg",
        &format!("backups={}/civicq-*.sql.gz", b.dir.display()),
        "--arg",
        &format!("download_dir={}/restore", b.sb.path().display()),
        "--arg",
        &format!("scratch_db={}", b.scratch),
        "--arg",
        &format!("from={from}"),
        "--yes",
    ])
}

#[test]
fn a_backup_changed_since_it_was_written_is_not_restored() {
    let b = backups("tamper", &service("RUNBOOK_TEST_S3_ENDPOINT"));
    let dump = fresh_backup(&b);
    let recorded = std::fs::read_to_string(b.dir.join(format!("{dump}.sha256"))).unwrap()[..64].to_string();
    // One byte more, here and in the bucket: still a file of the right name, not the backup written.
    for file in [b.dir.join(&dump), b.bucket_dir.join("db").join(&dump)] {
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.push(b'\n');
        std::fs::write(&file, &bytes).unwrap();
    }
    let changed = String::from_utf8(Command::new("sha256sum").arg(b.dir.join(&dump)).output().unwrap().stdout).unwrap()
        [..64]
        .to_string();
    for from in ["local", "bucket"] {
        let out = restore_test(&b, from);
        assert_eq!(out.code, 2, "{from}: {}\n{}", out.stdout, out.stderr);
        let line = format!(
            "  ✗ sha256 {changed} is not the {recorded} recorded when it was written: the backup changed, not restored\n"
        );
        assert!(out.stdout.contains(&line), "{from}: missing {line:?} in\n{}", out.stdout);
        assert!(!out.stdout.contains("Restore into"), "{from}: {}", out.stdout);
        assert!(!out.stdout.contains("restored_backup_age_h"), "{from}: {}", out.stdout);
        assert_eq!(psql(&format!("SELECT count(*) FROM pg_database WHERE datname = '{}'", b.scratch)), "0");
    }
    // A backup with no recorded sha256 (another tool wrote it) is restored, with a warning.
    std::fs::remove_file(b.dir.join(format!("{dump}.sha256"))).unwrap();
    let mut bytes = std::fs::read(b.dir.join(&dump)).unwrap();
    bytes.pop();
    std::fs::write(b.dir.join(&dump), &bytes).unwrap();
    let out = restore_test(&b, "local");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let line = format!(
        "  ! no sha256 was recorded for {dump} (not written by backup-db): only the restore below vouches for it\n"
    );
    assert!(out.stdout.contains(&line), "missing {line:?} in\n{}", out.stdout);
    assert!(out.stdout.contains(&format!("restored_backup_age_h: 0 h — {dump} restored whole\n")), "{}", out.stdout);
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn a_failed_upload_keeps_the_new_dump_and_every_older_backup() {
    let b = backups("down", &format!("http://127.0.0.1:{}", closed_port()));
    let ancient = old_backup(&b, "civicq-20200101-020000.sql.gz", "40 days ago");
    let dir = format!("dir={}", b.dir.display());
    let out = b.sb.run(&["run", "backup-db", "--arg", &dir, "--yes"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(ancient.exists(), "an old backup went although the new one is not off-site");
    // The old backup, the new one and the new one's sha256.
    assert_eq!(files(&b.dir).len(), 3, "{:?}", files(&b.dir));
    assert!(
        out.stdout.contains("  ! kept every earlier backup: this run's backup is not safely off-site"),
        "{}",
        out.stdout
    );
    let upload = out
        .stdout
        .lines()
        .find(|l| l.starts_with("  ✗ backups/db/civicq-"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(upload.contains("refused"), "{upload}");
}

fn redis_keys(sb: &Sandbox, prefix: &str) -> Vec<String> {
    let out = sb
        .script(&format!("for k in redis::connect(\"cache\").command([\"KEYS\", \"{prefix}*\"]) {{ print(k); }}"), &[]);
    let mut v = common::printed(&out);
    v.sort();
    v
}

#[test]
fn cache_clear_deletes_exactly_the_matching_keys_and_only_with_yes() {
    let sb = Sandbox::with_services("");
    // Its own prefix: the flush test of this binary runs beside it.
    let p = format!("rbtest:{}:clear:", std::process::id());
    let setup = sb.script(
        &format!(
            "let r = redis::connect(\"cache\"); for k in [\"{p}cache:questions:1\", \"{p}cache:questions:2\", \"{p}cache:questions:3\", \"{p}cache:users:1\"] {{ r.set(k, \"x\"); }}"
        ),
        &[],
    );
    assert_eq!(setup.code, 0, "{}", setup.stderr);
    let pattern = format!("pattern={p}cache:questions:*");

    let dry = sb.run(&["run", "cache/clear", "--arg", &pattern, "--dry-run"]);
    assert!(dry.stdout.contains("  · would delete 3 key(s) matching ") && !dry.stdout.contains("✓"), "{}", dry.stdout);
    let refused = sb.run(&["run", "cache/clear", "--arg", &pattern]);
    assert_ne!(refused.code, 0);
    assert!(format!("{}{}", refused.stdout, refused.stderr).contains("without --yes"), "{}", refused.stderr);
    assert_eq!(redis_keys(&sb, &p).len(), 4, "dry run or refusal deleted keys");

    let out = sb.run(&["run", "cache/clear", "--arg", &pattern, "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ deleted 3 keys"), "{}", out.stdout);
    assert_eq!(redis_keys(&sb, &p), [format!("{p}cache:users:1")]);
}

#[test]
fn cert_check_warns_and_mails_the_admin_under_thirty_days() {
    let p = pki();
    let port = serve_tls(&p.path("soon.pem"), &p.path("soon.key"));
    let sb = Sandbox::new();
    sb.config(&smtp_config(&service("RUNBOOK_TEST_SMTP_PORT")));
    let site = format!("site=localhost:{port}");
    let ca = format!("ca={}", p.ca());
    let out = sb.run(&["run", "cert/check", "--arg", &site, "--arg", &ca, "--arg", "mail_to=admin@example.com"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ! certificate_days_left: 9 days — CN=localhost"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ mail admin@example.com: sent"), "{}", out.stdout);
    let subject = format!("Certificate Expiry Warning: localhost:{port}");
    let dir = service("RUNBOOK_TEST_SMTP_DIR");
    let found = (0..40).find_map(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::fs::read_dir(&dir).ok()?.flatten().find_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.contains(&subject).then_some(text)
        })
    });
    let mail = found.expect("the warning reached the SMTP server");
    assert!(mail.contains("expires in 9 days"), "{mail}");
}

#[test]
fn services_status_restart_and_logs() {
    let c = Compose::new("svc");
    let backend = c.run("backend", 1, BACKEND_SH);
    c.run("worker", 1, IDLE_SH);
    c.wait_logs(&backend, 5);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));

    let out = sb.run(&["run", "services/status"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("  ✓ {backend}: Up")), "{}", out.stdout);

    let before = c.inspect(&backend, "{{.State.StartedAt}}");
    let out = sb.run(&[
        "run",
        "services/restart",
        "--arg",
        "service=backend",
        "--arg",
        "timeout=1s",
        "--arg",
        "settle=200ms",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("  ✓ backend: restarted {backend}\n")), "{}", out.stdout);
    assert_ne!(c.inspect(&backend, "{{.State.StartedAt}}"), before, "not restarted");
    assert!(out.stdout.contains(&format!("After the restart\n  ✓ {backend}: Up")), "{}", out.stdout);

    c.wait_logs(&backend, 10);
    let out = sb.run(&["run", "services/logs", "--arg", "service=backend", "--arg", "grep=^ERROR", "--arg", "tail=2"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Both runs of the backend wrote two ERROR lines; the last two are the second run's.
    assert_eq!(common::printed(&out), ["ERROR database timeout", "ERROR redis refused"], "{}", out.stdout);
    assert!(out.stdout.contains("backend: 2 lines matching ^ERROR"), "{}", out.stdout);
}

#[test]
fn service_down_shows_the_evidence_restarts_once_confirmed_and_checks_after() {
    let c = Compose::new("down");
    let worker = c.run("worker", 1, "echo 'worker: lost connection to broker'; exit 1");
    let _ = Command::new("docker").args(["wait", &worker]).output();
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));

    // --dry-run walks the steps and restarts nothing.
    let dry = sb.run(&["run", "emergency/service-down", "--arg", "service=worker", "--dry-run"]);
    assert_eq!(dry.code, 2, "{}\n{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains(&format!("  ✗ {worker}: exited: Exited (1)")), "{}", dry.stdout);
    assert!(dry.stdout.contains("  worker: lost connection to broker\n"), "{}", dry.stdout);
    assert!(dry.stdout.contains("  · would restart every container of worker\n"), "{}", dry.stdout);
    assert_eq!(c.inspect(&worker, "{{.State.Status}}"), "exited");

    // Confirmed: restarted; the shell exits again at once, so it is still down.
    let out = sb.run(&["run", "emergency/service-down", "--arg", "service=worker", "--arg", "settle=500ms", "--yes"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ restart worker: restarted 1\n"), "{}", out.stdout);
    let after = out.stdout.split("4. After the restart").nth(1).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(after.contains(&format!("  ✗ {worker}: still down: exited")), "{after}");
    assert!(after.contains("escalate (MONITORING_RUNBOOK.md)"), "{after}");
}

#[test]
fn cache_flush_empties_only_its_own_database_and_only_with_yes() {
    // Database 15 of the test Redis: the other tests use database 0.
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let scratch = format!("{}/15", &url[..url.rfind('/').unwrap()]);
    let sb = Sandbox::new();
    sb.config(&format!("[redis.cache]\nurl = \"{url}\"\n\n[redis.scratch]\nurl = \"{scratch}\"\n"));
    let marker = format!("rbtest:{}:flush-marker", std::process::id());
    let setup = sb.script(
        &format!("let r = redis::connect(\"scratch\"); r.set(\"a\", 1); r.set(\"b\", 2); redis::connect(\"cache\").set(\"{marker}\", 1);"),
        &[],
    );
    assert_eq!(setup.code, 0, "{}", setup.stderr);
    let dry = sb.run(&["run", "cache/flush", "--arg", "cache=scratch", "--dry-run"]);
    assert!(dry.stdout.contains("  · would FLUSHDB on ") && !dry.stdout.contains("✓"), "{}", dry.stdout);
    let refused = sb.run(&["run", "cache/flush", "--arg", "cache=scratch"]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    let out = sb.run(&["run", "cache/flush", "--arg", "cache=scratch", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ deleted 2 keys"), "{}", out.stdout);
    let after = sb.script(
        &format!("print(redis::connect(\"scratch\").dbsize()); print(redis::connect(\"cache\").exists(\"{marker}\"));"),
        &[],
    );
    assert_eq!(common::printed(&after), ["0", "true"]);
}

#[test]
fn replication_connections_and_reindex_on_a_primary_without_replicas() {
    let sb = Sandbox::with_services("");
    let out = sb.run(&["run", "db/replication"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Replicas of this primary\n  ✓ no replicas are connected\n"), "{}", out.stdout);

    let out = sb.run(&["run", "db/connections", "--arg", "warn_pct=99", "--arg", "crit_pct=100"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let line =
        out.stdout.lines().find(|l| l.starts_with("  ✓ connections_pct: ")).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(line.contains(" of 100  (warn 99, crit 100)"), "{line}");
    assert!(out.stdout.contains("  connections  state"), "{}", out.stdout);
    // This run's own connection, by its address as psql shows it (no "/32").
    assert!(out.stdout.lines().any(|l| l.contains(" active ") && l.ends_with("  127.0.0.1")), "{}", out.stdout);

    let dry = sb.run(&["run", "db/reindex", "--dry-run"]);
    assert!(
        dry.stdout.contains("  · would run on main: REINDEX DATABASE \"civicq\"\n")
            && !dry.stdout.contains("✓ reindex"),
        "{}",
        dry.stdout
    );
}

#[test]
fn data_loss_stops_the_writers_once_confirmed_and_points_at_the_newest_backup() {
    let c = Compose::new("loss");
    let backend = c.run("backend", 1, IDLE_SH);
    let b = backups("loss", &service("RUNBOOK_TEST_S3_ENDPOINT"));
    std::fs::write(
        b.sb.path().join("runbook.toml"),
        format!(
            "{}\n[docker]\nproject = \"{}\"\n",
            std::fs::read_to_string(b.sb.path().join("runbook.toml")).unwrap(),
            c.project
        ),
    )
    .unwrap();
    old_backup(&b, "civicq-20200101-020000.sql.gz", "2 days ago");
    let newest = old_backup(&b, "civicq-20200102-020000.sql.gz", "1 day ago");
    std::fs::create_dir_all(b.bucket_dir.join("db")).unwrap();
    std::fs::write(b.bucket_dir.join("db/civicq-20200102-020000.sql.gz"), b"an older backup").unwrap();
    let glob = format!("backups={}/civicq-*.sql.gz", b.dir.display());
    let args = ["run", "emergency/data-loss", "--arg", "writers=backend", "--arg", &glob];

    let refused = b.sb.run(&args);
    assert_ne!(refused.code, 0);
    assert_eq!(c.inspect(&backend, "{{.State.Status}}"), "running");

    let mut yes = args.to_vec();
    yes.push("--yes");
    let out = b.sb.run(&yes);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(c.inspect(&backend, "{{.State.Status}}"), "exited");
    assert!(out.stdout.contains("  ✓ stop backend: stopped 1\n"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("  ✓ local: {}: 15 B, 1d", newest.display())), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ off-site: db/civicq-20200102-020000.sql.gz: 15 B, "), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("  runbook run backup-restore-test --arg backups={} --yes\n", newest.display())),
        "{}",
        out.stdout
    );
}

#[test]
fn backup_db_can_dump_inside_the_postgres_container_as_the_manual_does() {
    let c = Compose::new("pgc");
    let pg = c.run("postgres", 1, IDLE_SH);
    c.install(&pg, "/bin/pg_dump", "#!/bin/sh\necho \"-- dump of $3 as $1 $2\"\necho 'CREATE TABLE users (id int);'\n");
    let b = backups("pgc", &service("RUNBOOK_TEST_S3_ENDPOINT"));
    let toml = std::fs::read_to_string(b.sb.path().join("runbook.toml")).unwrap();
    std::fs::write(b.sb.path().join("runbook.toml"), format!("{toml}\n[docker]\nproject = \"{}\"\n", c.project))
        .unwrap();
    let dir = format!("dir={}", b.dir.display());
    let out = b.sb.run(&["run", "backup-db", "--arg", &dir, "--arg", "container=postgres", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let name = files(&b.dir).into_iter().find(|f| f.ends_with(".sql.gz")).unwrap();
    let gz = std::fs::read(b.dir.join(&name)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    assert_eq!(text, "-- dump of civicq as -U civicq\nCREATE TABLE users (id int);\n");
    assert_eq!(files(&b.bucket_dir.join("db")), [name]);
}
