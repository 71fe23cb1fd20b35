//! `runbook run api-health` against an HTTP server answering as the
//! manual's API does.

mod common;
use common::web::{closed_port, serve_http};
use common::Sandbox;

fn sandbox(port: u16, token: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(&format!("[http.api]\nurl = \"http://127.0.0.1:{port}\"\nbearer = \"{token}\"\n"));
    sb
}

#[test]
fn every_component_is_checked_and_a_degraded_one_is_critical() {
    let port = serve_http();
    let sb = sandbox(port, "admin-test-token");
    let out = sb.run(&["run", "api-health"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let text: String = common::normalize_ms(&out.stdout).replace(|c: char| c.is_ascii_digit(), "N");
    assert!(text.contains("  ✓ API /health: healthy, version N.N.N, "), "{}", out.stdout);
    for line in [
        "  ✓ database status: healthy",
        "  ✓ redis status: healthy",
        "  ✗ celery status: degraded",
        "  ✓ storage status: healthy",
        "  ✓ db_connections_pct: 22.5% — 45 of 200  (warn 80, crit 95)",
        "  ✓ db_response_ms: 12 ms  (warn 100, crit 500)",
        "  ✓ redis_memory_pct: 45.7% — 234 of 512 MB  (warn 80, crit 90)",
        "  ✓ cache_hit_rate: 0.87  (warn ≤0.8)",
        "  ✓ celery_workers: 1 — 3 active tasks  (crit ≤0)",
        "  ✓ storage_gb: 145.7 GB",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("admin-test-token"));
}

#[test]
fn a_wrong_token_and_a_down_api_are_reported_not_thrown() {
    let port = serve_http();
    let sb = sandbox(port, "wrong-token");
    let out = sb.run(&["run", "api-health"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("  ✓ API /health: healthy"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✗ admin health: HTTP 401: is [http.api] bearer the admin token?"), "{}", out.stdout);
    assert!(!out.stdout.contains("wrong-token"));

    let down = sandbox(closed_port(), "x");
    let out = down.run(&["run", "api-health"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("  ✗ API /health: http::get:"), "{}", out.stdout);
    assert!(out.stdout.contains("cannot connect"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✗ admin health: http::get:"), "{}", out.stdout);
}

#[test]
fn an_admin_answer_that_is_not_json_is_quoted_in_the_reason() {
    let port = serve_http();
    let sb = sandbox(port, "admin-test-token");
    // "/" is the frontend: 200 and a page, not the admin JSON.
    let out = sb.run(&["run", "api-health", "--arg", "admin_path=/"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.contains("  ✗ admin health: HTTP 200, Content-Type text/html, not JSON: <h1>CivicQ</h1>\n"),
        "{}",
        out.stdout
    );
}
