//! `runbook run health-monitor`: the Health Monitoring tables against a
//! generated nginx log, the test PostgreSQL and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::history::seed_run;
use common::web::closed_port;
use common::{service, Sandbox};

/// The shipped thresholds, with the figures that vary by machine or by
/// what other tests did (CPU, memory, disk, query time, hit rate) made
/// unreachable: a local stdlib module of the
/// same name overrides the shipped one, as an operator's would.
fn calm_thresholds(sb: &Sandbox) {
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/thresholds.rhai")).unwrap();
    let calm = shipped
        .replace("fn cpu_pct() { #{warn: 70, crit: 80,", "fn cpu_pct() { #{warn: 101, crit: 102,")
        .replace("fn memory_pct() { #{warn: 80, crit: 90,", "fn memory_pct() { #{warn: 101, crit: 102,")
        .replace("fn disk_pct() { #{warn: 85, crit: 90,", "fn disk_pct() { #{warn: 101, crit: 102,")
        .replace("fn query_avg_ms() { #{warn: 100, crit: 500,", "fn query_avg_ms() { #{warn: 1e9, crit: 2e9,")
        .replace("fn iowait_pct() { #{warn: 10, crit: 30,", "fn iowait_pct() { #{warn: 101, crit: 102,")
        // The test Redis serves every test: its hit rate is theirs.
        .replace("fn cache_hit_pct() { #{warn: 80, crit: 50,", "fn cache_hit_pct() { #{warn: -1, crit: -2,");
    assert_ne!(calm, shipped);
    assert_eq!(calm.matches("101").count(), 4, "every replacement applied");
    assert!(calm.contains("warn: -1, crit: -2"), "every replacement applied");
    sb.write("stdlib/thresholds.rhai", &calm);
}

fn access_log(sb: &Sandbox) -> String {
    let path = sb.path().join("access.log");
    let st = std::process::Command::new("python3")
        .args([concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/gen_access_log.py"), "20000"])
        .arg(&path)
        .status()
        .expect("python3 runs");
    assert!(st.success());
    path.display().to_string()
}

fn run(sb: &Sandbox, log: &str, extra: &[&str]) -> common::Out {
    let log_arg = format!("access_log={log}");
    // The generated log is from early 2026: a window of ten years takes it all.
    let mut args =
        vec!["run", "health-monitor", "--arg", &log_arg, "--arg", "window=3650d", "--arg", "cpu_sample=100ms"];
    args.extend_from_slice(extra);
    sb.run(&args)
}

#[test]
fn uptime_is_the_share_of_recorded_api_health_runs_that_found_the_api_up() {
    let sb = Sandbox::with_services("");
    calm_thresholds(&sb);
    let log = access_log(&sb);
    let out = run(&sb, &log, &[]);
    assert!(
        out.stdout.contains(
            "  ✓ uptime: no api-health runs recorded in the last 30d (runbook schedule runs it every 5 minutes)\n"
        ),
        "{}",
        out.stdout
    );
    let at = |k: i64| chrono::Utc::now() - chrono::Duration::minutes(5 * k);
    for k in 1..=18 {
        seed_run(&sb, "api-health", at(k), "{}", &[]);
    }
    common::history::open(&sb)
        .execute("UPDATE runbook_runs SET status = 'CRITICAL' WHERE id IN (SELECT id FROM runbook_runs WHERE script = 'api-health' LIMIT 2)", [])
        .unwrap();
    // Older than the period: not counted.
    seed_run(&sb, "api-health", chrono::Utc::now() - chrono::Duration::days(31), "{}", &[]);
    let out = run(&sb, &log, &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  ✗ uptime_pct: 88.89% — 16 of 18 api-health runs up in 30d  (warn ≤99.9, crit ≤99)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_error_rate_of_the_log_is_a_warning_and_every_table_reports() {
    let sb = Sandbox::with_services("");
    calm_thresholds(&sb);
    let log = access_log(&sb);
    let out = run(&sb, &log, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    for line in [
        "Application\n  ✓ api_p95_ms: 376 ms — 20,000 requests in 3650d; request times read as milliseconds  (warn 500, crit 1000)\n  ! error_rate_pct: 3.98% — 795 responses 5xx  (warn 1, crit 5)\n",
        "  ✓ replication: no replicas\n",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    }
    for prefix in [
        "  ✓ cpu_used_pct: ",
        "  ✓ cpu_iowait_pct: ",
        "  ✓ new_users_24h: ",
        "  ✓ questions_24h: ",
        "  ✓ votes_24h: ",
        "  ✓ memory_used_pct: ",
        "  ✓ disk_used_pct: ",
        "  ✓ db_connections_pct: ",
        "  ✓ query_avg_ms: ",
        "  ✓ redis_memory_used_bytes: ",
        "  ✓ redis_evicted_keys: 0 — since Redis started  (warn 1000)",
    ] {
        assert!(out.stdout.lines().any(|l| l.starts_with(prefix)), "no line starting {prefix:?} in\n{}", out.stdout);
    }
    assert!(out.stdout.contains("WARNING · 1 warning"), "{}", out.stdout);
}

#[test]
fn as_a_nagios_plugin_it_prints_one_status_line_with_perfdata() {
    let sb = Sandbox::with_services("");
    calm_thresholds(&sb);
    let log = access_log(&sb);
    let out = run(&sb, &log, &["--format", "nagios"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "HEALTH-MONITOR WARNING - error_rate_pct is 3.98% | 'api_p95_ms'=376ms;500;1000 'error_rate_pct'=3.98%;1;5;0;100 'cpu_used_pct'="
        ),
        "{first}"
    );
}

#[test]
fn a_redis_that_is_down_is_critical_and_a_missing_pg_stat_statements_is_unknown() {
    let sb = Sandbox::new();
    calm_thresholds(&sb);
    let log = access_log(&sb);
    // The maintenance database `postgres` has no pg_stat_statements.
    sb.config(&format!(
        "[run]\nconnect_timeout = \"1s\"\n\n[postgres.main]\nurl = \"{}\"\n\n[redis.cache]\nurl = \"redis://127.0.0.1:{}\"\n\n[fs]\nroots = [\"{}\"]\n",
        service("RUNBOOK_TEST_PG_ADMIN"),
        closed_port(),
        sb.path().display()
    ));
    let out = run(&sb, &log, &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ? query_avg_ms: pg_stat_statements is not available ("), "{}", out.stdout);
    assert!(out.stdout.contains("add it to shared_preload_libraries and CREATE EXTENSION pg_stat_statements"));
    let redis = out.stdout.lines().find(|l| l.starts_with("  ✗ redis: ")).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(redis.contains("refused"), "{redis}");
    // The sections before the failure still reported.
    assert!(out.stdout.contains("  ! error_rate_pct: 3.98%"), "{}", out.stdout);
}
