//! The Monthly Review scripts end to end: capacity-planning (PostgreSQL
//! with the fixture, S3, the state folder), cost-review (a Cost Explorer
//! endpoint), security-audit and dependency-updates (Docker containers with
//! stand-in programs), performance-baseline (an HTTP server).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::path::{Path, PathBuf};

use common::history::{self, seed_run};
use common::web::{closed_port, serve_cost_explorer, serve_http};
use common::{service, Compose, Sandbox, IDLE_SH};

fn state(sb: &Sandbox, name: &str) -> PathBuf {
    sb.path().join(".local/state/runbook").join(format!("{name}.json"))
}

fn seed(sb: &Sandbox, name: &str, json: &str) {
    let p = state(sb, name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, json).unwrap();
}

fn media_sandbox(test: &str) -> Sandbox {
    let bucket = format!("media-{test}-{}", std::process::id());
    let dir = Path::new(&service("RUNBOOK_TEST_S3_ROOT")).join(&bucket);
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    std::fs::write(dir.join("uploads/a.jpg"), vec![7u8; 2048]).unwrap();
    std::fs::write(dir.join("uploads/b.jpg"), vec![7u8; 1024]).unwrap();
    Sandbox::with_services(&format!(
        "\n[s3.media]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\naccess_key_id = \"runbook-test-key\"\nsecret_access_key = \"runbook-test-secret\"\n",
        service("RUNBOOK_TEST_S3_ENDPOINT")
    ))
}

/// The least-squares line through `ys` at x = 0, 1, …, continued `ahead`.
fn project(ys: &[f64], ahead: usize) -> Vec<f64> {
    let n = ys.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let num: f64 = ys.iter().enumerate().map(|(i, y)| (i as f64 - mx) * (y - my)).sum();
    let den: f64 = (0..ys.len()).map(|i| (i as f64 - mx).powi(2)).sum();
    let slope = num / den;
    (0..ahead).map(|k| (my - slope * mx + slope * (ys.len() + k) as f64).round()).collect()
}

#[test]
fn capacity_planning_lists_six_complete_months_projects_users_and_keeps_the_sizes() {
    let sb = media_sandbox("cap");
    let out = sb.run(&["run", "monthly/capacity-planning"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[2], "New users per month (last 6 complete months)");
    // The six months before this one, oldest first.
    let now = chrono::Utc::now().date_naive();
    let months: Vec<String> = (1..=6)
        .rev()
        .map(|k| now.checked_sub_months(chrono::Months::new(k)).unwrap().format("%Y-%m").to_string())
        .collect();
    let rows: Vec<(String, f64)> = lines[5..11]
        .iter()
        .map(|l| {
            let mut f = l.split_whitespace();
            (f.next().unwrap().to_string(), f.next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), months, "{}", out.stdout);
    assert!(rows.iter().all(|r| r.1 > 0.0), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ users: 20000\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ media_bytes: 3072 — 3.0 KiB in 2 objects\n"), "{}", out.stdout);
    // The projection is the straight line through those six months.
    let ahead: Vec<i64> =
        project(&rows.iter().map(|r| r.1).collect::<Vec<_>>(), 3).iter().map(|n| n.max(0.0) as i64).collect();
    let expected = 20000 + ahead.iter().sum::<i64>();
    assert!(out.stdout.contains(&format!("  ✓ users_projected: {expected} — ")), "want {expected} in\n{}", out.stdout);
    assert!(out.stdout.contains("  ✓ media: no trend yet (1 month kept; the next months' runs add to it)"));
    // The run is in the history, its sizes with it, for next month's trend.
    let kept = sb.run(&["history", "monthly/capacity-planning", "--format", "json"]);
    let kept: serde_json::Value = serde_json::from_str(&kept.stdout).unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept[0]["status"], "OK");
    let id = kept[0]["id"].to_string();
    let report: serde_json::Value =
        serde_json::from_str(&sb.run(&["history", "show", &id, "--format", "json"]).stdout).unwrap();
    let metrics: Vec<&serde_json::Value> =
        report["sections"].as_array().unwrap().iter().flat_map(|s| s["metrics"].as_array().unwrap()).collect();
    let value = |n: &str| metrics.iter().find(|m| m["name"] == n).and_then(|m| m["value"].as_f64());
    assert_eq!(value("users"), Some(20000.0));
    assert_eq!(value("media_bytes"), Some(3072.0));
}

#[test]
fn capacity_planning_draws_the_media_trend_through_the_months_kept() {
    let sb = media_sandbox("captrend");
    let months_ago = |k: u32| chrono::Utc::now().checked_sub_months(chrono::Months::new(k)).unwrap();
    // Two months ago 1 KiB; last month first 512 bytes, then 2 KiB (a month's last run counts).
    seed_run(&sb, "monthly/capacity-planning", months_ago(2), "{}", &[("media_bytes", 1024.0)]);
    seed_run(
        &sb,
        "monthly/capacity-planning",
        months_ago(1) - chrono::Duration::hours(1),
        "{}",
        &[("media_bytes", 512.0)],
    );
    seed_run(&sb, "monthly/capacity-planning", months_ago(1), "{}", &[("media_bytes", 2048.0)]);
    // Another script's metric of the same name is not this one's.
    seed_run(&sb, "other", months_ago(1), "{}", &[("media_bytes", 1.0e9)]);
    let out = sb.run(&["run", "monthly/capacity-planning"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // 1 KiB, 2 KiB, 3 KiB now: 6 KiB three months on.
    assert!(out.stdout.contains("  ✓ media_bytes_projected: 6144 — 6.0 KiB, from 3 months kept\n"), "{}", out.stdout);
}

fn cost_sandbox(port: u16, key: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(&format!(
        "[aws]\ncost_explorer_endpoint = \"http://127.0.0.1:{port}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"runbook-test-secret\"\ntimeout = \"2s\"\n"
    ));
    sb
}

#[test]
fn cost_review_sums_every_page_by_service_and_compares_with_the_last_review() {
    let sb = cost_sandbox(serve_cost_explorer(), "runbook-test-key");
    seed(&sb, "cost-review/2000-01-01", r#"{"start": "1999-12-02", "end": "2000-01-01", "total": 250.375}"#);
    let out = sb.run(&["run", "monthly/cost-review", "--arg", "budget=400"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let today = chrono::Utc::now().date_naive();
    let start = today - chrono::Days::new(30);
    assert_eq!(
        common::normalize_ms(&out.stdout),
        format!(
            "monthly/cost-review — Last month's AWS costs by service (Cost Explorer), against a budget and the month before.

Costs by service
  ! cost_total: 500.75 USD — {start} to {today}, estimated  (warn 400)
  name                                    amount  unit
  ──────────────────────────────────────  ──────  ────
  Amazon Elastic Compute Cloud - Compute   400.5  USD
  Amazon Relational Database Service          80  USD
  Amazon Simple Storage Service            20.25  USD
  ✓ cost_change_pct: 100% — against 250.375 USD for 1999-12-02 to 2000-01-01

WARNING · 1 warning · 0 checks · 2 metrics · N ms
"
        )
    );
    assert!(state(&sb, &format!("cost-review/{today}")).exists());
}

#[test]
fn cost_review_without_cost_explorer_is_unknown_with_the_reason() {
    let refused = cost_sandbox(serve_cost_explorer(), "someone-else");
    let out = refused.run(&["run", "monthly/cost-review"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  ? Cost Explorer: aws::costs: Cost Explorer refused (HTTP 403 UnrecognizedClientException): The security token included in the request is invalid.\n"),
        "{}",
        out.stdout
    );
    let closed = cost_sandbox(closed_port(), "runbook-test-key");
    let out = closed.run(&["run", "monthly/cost-review"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let line = out.stdout.lines().find(|l| l.starts_with("  ? Cost Explorer: ")).unwrap();
    assert!(line.contains("cannot be reached") && line.contains("refused"), "{line}");
}

#[test]
fn security_audit_turns_the_scan_into_findings_by_severity() {
    let c = Compose::new("audit");
    let backend = c.run("backend", 1, IDLE_SH);
    c.install(
        &backend,
        "/bin/python",
        "#!/bin/sh\necho 'INFO: 42 checks run'\necho 'HIGH: SECRET_KEY is the default'\necho 'MEDIUM: debug toolbar reachable'\necho '[critical] admin account without 2FA'\necho 'scan finished'\nexit 1\n",
    );
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "monthly/security-audit"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout_norm(),
        "monthly/security-audit — The application's security scan, run in the backend container, as a table of findings.

Findings
  severity  finding
  ────────  ─────────────────────────
  CRITICAL  admin account without 2FA
  HIGH      SECRET_KEY is the default
  MEDIUM    debug toolbar reachable
  INFO      42 checks run
  ✗ 2 critical or high findings
  ! 1 medium findings

CRITICAL · 1 critical · 1 warning · 0 checks · 0 metrics · N ms
"
    );
    // JSON output is read as JSON; a low finding alone is fine.
    c.install(
        &backend,
        "/bin/python",
        "#!/bin/sh\necho '{\"findings\": [{\"severity\": \"low\", \"title\": \"server header shows the version\"}]}'\n",
    );
    let out = sb.run(&["run", "monthly/security-audit"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  LOW       server header shows the version\n"), "{}", out.stdout);
}

#[test]
fn dependency_updates_lists_outdated_packages_of_both_sides_biggest_jumps_first() {
    let c = Compose::new("deps");
    let backend = c.run("backend", 1, IDLE_SH);
    let frontend = c.run("frontend", 1, IDLE_SH);
    c.install(
        &backend,
        "/bin/pip",
        "#!/bin/sh\necho '[{\"name\": \"requests\", \"version\": \"2.31.0\", \"latest_version\": \"2.32.3\", \"latest_filetype\": \"wheel\"}, {\"name\": \"django\", \"version\": \"4.2.1\", \"latest_version\": \"5.0.2\", \"latest_filetype\": \"wheel\"}]'\n",
    );
    // npm outdated exits 1 when anything is outdated.
    c.install(
        &frontend,
        "/bin/npm",
        "#!/bin/sh\necho '{\"axios\": {\"current\": \"1.6.0\", \"wanted\": \"1.6.8\", \"latest\": \"1.6.8\"}, \"react\": {\"current\": \"18.2.0\", \"wanted\": \"18.3.1\", \"latest\": \"19.0.0\"}}'\nexit 1\n",
    );
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "monthly/dependency-updates"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout_norm(),
        "monthly/dependency-updates — Outdated Python packages of the backend and npm packages of the frontend, by how big the jump is.

Backend (pip)
  ✓ outdated_backend: 2

Frontend (npm)
  ✓ outdated_frontend: 2

To plan
  jump   side      name      current  latest
  ─────  ────────  ────────  ───────  ──────
  major  backend   django    4.2.1    5.0.2
  major  frontend  react     18.2.0   19.0.0
  minor  backend   requests  2.31.0   2.32.3
  patch  frontend  axios     1.6.0    1.6.8
  ! major_updates: 2  (warn 1)

WARNING · 1 warning · 0 checks · 3 metrics · N ms
"
    );
}

#[test]
fn performance_baseline_keeps_the_month_and_flags_a_slower_site() {
    let port = serve_http();
    let sb = Sandbox::new();
    let url = format!("url=http://127.0.0.1:{port}/");
    let args = ["run", "monthly/performance-baseline", "--arg", &url, "--arg", "requests=50", "--arg", "concurrency=5"];

    let out = sb.run(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ failed_requests: 0  (warn 1, crit 2)"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ no earlier baseline: this month's is the first\n"), "{}", out.stdout);

    // This month's run is not its own baseline; a month when the site
    // answered in a microsecond is, and against it the site is far slower.
    // A newer month whose run mostly failed is passed over.
    let last_month = chrono::Utc::now().checked_sub_months(chrono::Months::new(1)).unwrap();
    let two_ago = chrono::Utc::now().checked_sub_months(chrono::Months::new(2)).unwrap();
    let base = [("p95_ms", 0.001), ("requests_per_second", 99999.0), ("failed_requests", 0.0)];
    seed_run(&sb, "monthly/performance-baseline", two_ago, r#"{"requests": 50}"#, &base);
    let failed = [("p95_ms", 5000.0), ("requests_per_second", 1.0), ("failed_requests", 40.0)];
    seed_run(&sb, "monthly/performance-baseline", last_month, r#"{"requests": 50}"#, &failed);
    let out = sb.run(&args);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let line =
        out.stdout.lines().find(|l| l.starts_with("  ✗ p95_change_pct: ")).unwrap_or_else(|| panic!("{}", out.stdout));
    let want = format!("— {}: p95 0.001 ms, 99999 req/s  (warn 20, crit 50)", two_ago.format("%Y-%m"));
    assert!(line.ends_with(&want), "{line}\nwant {want}");

    // A dry run is recorded as one, and is no baseline either.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    assert_eq!(sb.run(&dry).code, 2);
    let runs = history::runs(&sb);
    assert_eq!(runs.len(), 5, "{runs:?}");
    assert!(runs[4].3, "the last run is the dry one: {runs:?}");
}
