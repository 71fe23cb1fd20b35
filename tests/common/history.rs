//! The run history from the tests' side: the sandbox's SQLite file, read
//! and seeded with the same rusqlite the binary uses.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::Sandbox;

/// The default history file of a sandbox (its HOME's state folder).
pub fn file(sb: &Sandbox) -> PathBuf {
    sb.path().join(".local/state/runbook/history.sqlite")
}

/// Where runs leave their records until a reader takes them in.
pub fn spool(sb: &Sandbox) -> PathBuf {
    sb.path().join(".local/state/runbook/history-spool")
}

/// The records waiting in the spool, by file name.
pub fn spooled(sb: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(spool(sb)) {
        Ok(dir) => dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    };
    names.retain(|n| n.ends_with(".json") && !n.starts_with('.'));
    names.sort();
    names
}

/// The history file, with the spool taken in first: `runbook history`
/// takes it in (and creates the file and its tables when there are none).
pub fn open(sb: &Sandbox) -> rusqlite::Connection {
    let out = sb.run(&["history", "--limit", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    rusqlite::Connection::open(file(sb)).unwrap()
}

/// A run of `script` as if it had happened at `at`, with these params and
/// metrics in its report.
pub fn seed_run(sb: &Sandbox, script: &str, at: DateTime<Utc>, params: &str, metrics: &[(&str, f64)]) {
    let metrics: Vec<serde_json::Value> =
        metrics.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v, "level": "OK"})).collect();
    let report = serde_json::json!({"script": script, "status": "OK", "sections": [{"title": null, "checks": [], "metrics": metrics, "lines": []}]});
    open(sb)
        .execute(
            "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, report_json, report_text)
             VALUES (?1, ?2, 'seeded', ?3, 1, 'OK', 0, 0, ?4, 'seeded')",
            rusqlite::params![script, params, at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), report.to_string()],
        )
        .unwrap();
}

/// (script, status, exit_code, dry_run) of every run, oldest first.
pub fn runs(sb: &Sandbox) -> Vec<(String, String, i64, bool)> {
    let conn = open(sb);
    let mut st = conn.prepare("SELECT script, status, exit_code, dry_run FROM runbook_runs ORDER BY id").unwrap();
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// A new, empty database on the test PostgreSQL, owned by the test role;
/// its URL. For histories that must not see other tests' runs.
pub fn fresh_database(name: &str) -> String {
    let db = format!("rb_{name}_{}", std::process::id());
    let admin = super::service("RUNBOOK_TEST_PG_ADMIN");
    super::psql_at(&admin, &format!("DROP DATABASE IF EXISTS {db}"));
    super::psql_at(&admin, &format!("CREATE DATABASE {db} OWNER civicq"));
    let url = super::service("RUNBOOK_TEST_PG_URL");
    format!("{}/{db}", url.rsplit_once('/').unwrap().0)
}
