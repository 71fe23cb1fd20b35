//! Run history: every run recorded (SQLite by default, PostgreSQL with
//! `[history] url`), retention on write, `runbook history` and `history show`,
//! and the `history::` functions scripts compare and trend with.

mod common;

use common::history::{fresh_database, runs, seed_run, spooled};
use common::{normalize_ms, psql_at, Sandbox};

/// Reports `n` as a metric; critical above 2. Prints a secret from config.
const COUNT: &str = "// Counts to n.\n// param n: int = 1   the count\nmetric(\"n\", n);\nprint(`token ${config::get(\"token\")}`);\nif n > 2 { crit(\"too many\"); } else { ok(\"fine\"); }\n";

fn sandbox(extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(&format!("[vars]\ntoken = \"hist-secret-7731\"\n{extra}"));
    sb.write("scripts/count.rhai", COUNT);
    sb
}

#[test]
fn every_run_is_recorded_and_history_lists_filters_and_shows_it_as_it_was() {
    let sb = sandbox("");
    let first = sb.run(&["run", "count"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let second = sb.run(&["run", "count", "--arg", "n=3"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert_eq!(sb.run(&["run", "count", "--dry-run"]).code, 0);
    // The runs wait in the spool, redacted, until the history is read.
    let waiting = spooled(&sb);
    assert_eq!(waiting.len(), 3, "{waiting:?}");
    for name in &waiting {
        let record = std::fs::read_to_string(common::history::spool(&sb).join(name)).unwrap();
        assert!(record.contains("token ***") && !record.contains("hist-secret-7731"), "{record}");
    }
    assert_eq!(
        runs(&sb),
        vec![
            ("count".to_string(), "OK".to_string(), 0, false),
            ("count".to_string(), "CRITICAL".to_string(), 2, false),
            ("count".to_string(), "OK".to_string(), 0, true),
        ]
    );

    // The listing: newest first, dry runs only when asked.
    let list = sb.run(&["history"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(lines[0].starts_with("ID  STARTED (UTC)        SCRIPT  STATUS    EXIT  DURATION  HOST"), "{}", list.stdout);
    assert!(lines[1].starts_with(" 2  ") && lines[1].contains("  count   CRITICAL     2  "), "{}", list.stdout);
    assert!(lines[2].starts_with(" 1  ") && lines[2].contains("  count   OK           0  "), "{}", list.stdout);
    let with_dry = sb.run(&["history", "--dry-runs"]);
    assert!(with_dry.stdout.lines().nth(1).unwrap().contains("OK (dry run)"), "{}", with_dry.stdout);
    let failed = sb.run(&["history", "count", "--failed", "--since", "1h", "--format", "json"]);
    let failed: serde_json::Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["id"], 2);
    assert_eq!(failed[0]["params"], serde_json::json!({"n": 3}));
    assert_eq!(failed[0]["exit_code"], 2);
    let none = sb.run(&["history", "other-script"]);
    assert!(none.stdout.starts_with("no runs recorded of `other-script` ("), "{}", none.stdout);

    // `show` prints the report as the run printed it, the secret masked in both.
    let shown = sb.run(&["history", "show", "2"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let (head, report) = shown.stdout.split_once("\n\n").unwrap();
    assert!(head.starts_with("run 2 · count · CRITICAL · "), "{head}");
    assert_eq!(normalize_ms(report), normalize_ms(&second.stdout));
    assert!(report.contains("token ***"), "{report}");
    assert_eq!(spooled(&sb), Vec::<String>::new());
    let raw = std::fs::read(common::history::file(&sb)).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("hist-secret-7731"), "the secret reached the history file");
    let json = sb.run(&["history", "show", "1", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["status"], "OK");
    assert_eq!(json["sections"][0]["metrics"][0]["name"], "n");

    let missing = sb.run(&["history", "show", "99"]);
    assert_eq!(missing.code, 64);
    assert!(missing.stderr.contains("error: no run 99 in the history ("), "{}", missing.stderr);
}

#[test]
fn retention_keeps_the_newest_runs_per_script_and_drops_old_ones_on_write() {
    let sb = sandbox("[history]\nkeep_runs = 3\nkeep_days = 30\n");
    seed_run(&sb, "count", chrono::Utc::now() - chrono::Duration::days(31), "{\"n\": 0}", &[]);
    seed_run(&sb, "other", chrono::Utc::now() - chrono::Duration::days(29), "{}", &[]);
    for n in 1..=5 {
        assert_eq!(sb.run(&["run", "count", "--arg", &format!("n={n}")]).code, if n > 2 { 2 } else { 0 });
    }
    let json = sb.run(&["history", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kept: Vec<String> =
        json.as_array().unwrap().iter().map(|r| format!("{} {}", r["script"].as_str().unwrap(), r["params"])).collect();
    assert_eq!(kept, ["count {\"n\":5}", "count {\"n\":4}", "count {\"n\":3}", "other {}"]);
}

#[test]
fn history_in_postgresql_records_lists_and_keeps_the_newest() {
    let url = fresh_database("hist");
    let sb = sandbox(&format!("[history]\nurl = \"{url}\"\nkeep_runs = 2\nkeep_days = 30\n"));
    sb.run(&["history"]); // creates the tables
    psql_at(
        &url,
        "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, report_json, report_text)
         VALUES ('old', '{}', 'x', now() - interval '31 days', 1, 'OK', 0, false, '{}', ''),
                ('recent', '{}', 'x', now() - interval '29 days', 1, 'OK', 0, false, '{}', '')",
    );
    for n in 1..=3 {
        sb.run(&["run", "count", "--arg", &format!("n={n}")]);
    }
    assert_eq!(
        psql_at(
            &url,
            "SELECT string_agg(script || ' ' || params || ' ' || status || ' ' || exit_code, ', ' ORDER BY id) FROM runbook_runs"
        ),
        "recent {} OK 0, count {\"n\":2} OK 0, count {\"n\":3} CRITICAL 2"
    );
    assert_eq!(psql_at(&url, "SELECT count(*) FROM runbook_runs WHERE report_text LIKE '%hist-secret-7731%'"), "0");
    let list = sb.run(&["history", "count", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["params"]["n"], 3);
    let shown = sb.run(&["history", "show", &list[0]["id"].to_string()]);
    assert!(shown.stdout.contains("  ✗ too many\n"), "{}", shown.stdout);
    // Nothing went to the SQLite default.
    assert!(!common::history::file(&sb).exists());
}

#[test]
fn history_functions_give_scripts_the_last_run_and_a_metric_over_time() {
    let sb = sandbox("");
    seed_run(&sb, "count", chrono::Utc::now() - chrono::Duration::days(10), "{\"n\": 9}", &[("n", 9.0)]);
    for n in [1, 2, 4] {
        sb.run(&["run", "count", "--arg", &format!("n={n}")]);
    }
    sb.run(&["run", "count", "--arg", "n=7", "--dry-run"]);
    let out = sb.script(
        r#"let last = history::last("count");
print(`last: n=${last.params.n} ${last.status} exit ${last.exit_code} metrics ${last.metrics.n}`);
print(`all: ${history::metrics("count", "n").map(|p| p.value)}`);
print(`week: ${history::metrics("count", "n", #{since: "7d"}).map(|p| p.value)}`);
let runs = history::runs("count", #{since: "7d"});
print(`runs: ${runs.len()}, newest first: ${runs.map(|r| r.params.n)}`);
print(`never: ${history::last("never-ran") == ()}`);
let ats = history::metrics("count", "n").map(|p| p.at.unix);
let sorted = ats;
sorted.sort();
print(`ordered: ${ats == sorted}`);"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        common::printed(&out),
        [
            "last: n=4 CRITICAL exit 2 metrics 4.0",
            "all: [9.0, 1.0, 2.0, 4.0]",
            "week: [1.0, 2.0, 4.0]",
            "runs: 3, newest first: [4, 2, 1]",
            "never: true",
            "ordered: true",
        ]
    );
}

#[test]
fn a_postgresql_history_that_cannot_be_reached_keeps_the_exit_code_and_the_run_until_it_can() {
    let port = common::web::closed_port();
    let sb = sandbox(&format!("[history]\nurl = \"postgres://runbook:hist-pw-5521@127.0.0.1:{port}/x\"\n"));
    let out = sb.run(&["run", "count", "--arg", "n=3"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("  ✗ too many\n"), "{}", out.stdout);
    assert!(out.stderr.contains("runbook: the run was not recorded in the history: "), "{}", out.stderr);
    let spool = common::history::spool(&sb);
    assert!(
        out.stderr.contains(&format!("runbook: it waits in {} and is recorded by the next run", spool.display())),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hist-pw-5521"), "{}", out.stderr);
    assert_eq!(spooled(&sb).len(), 1);

    // PostgreSQL is back (here: the config points at one that answers).
    let url = fresh_database("spool");
    sb.config(&format!("[vars]\ntoken = \"hist-secret-7731\"\n[history]\nurl = \"{url}\"\n"));
    let out = sb.run(&["run", "count", "--arg", "n=1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(
        psql_at(&url, "SELECT string_agg(params || ' ' || status, ', ' ORDER BY started_at) FROM runbook_runs"),
        "{\"n\":3} CRITICAL, {\"n\":1} OK"
    );
    assert_eq!(spooled(&sb), Vec::<String>::new());
}

#[test]
fn a_spool_nobody_reads_is_taken_in_by_the_run_that_fills_it() {
    let sb = sandbox("");
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM runbook_runs", [], |r| r.get(0)).unwrap()
    };
    for n in 1..=31 {
        assert_eq!(sb.run(&["run", "count", "--arg", &format!("n={}", n % 2)]).code, 0);
    }
    assert_eq!(spooled(&sb).len(), 31);
    // Kept aside, to put back after it went in, as a crash between the
    // commit and the delete would leave it.
    let first = spooled(&sb).remove(0);
    let record = std::fs::read(common::history::spool(&sb).join(&first)).unwrap();
    assert!(!common::history::file(&sb).exists(), "no run opened the store");
    assert_eq!(sb.run(&["run", "count"]).code, 0);
    assert_eq!(spooled(&sb), Vec::<String>::new());
    // Read without taking anything in: the 32nd run did it.
    let conn = rusqlite::Connection::open(common::history::file(&sb)).unwrap();
    assert_eq!(count(&conn), 32);
    // A record that a crash left behind after it went in is not recorded twice.
    std::fs::write(common::history::spool(&sb).join(&first), record).unwrap();
    let read = sb.run(&["history"]);
    assert_eq!((read.code, read.stderr.as_str()), (0, ""));
    assert_eq!(spooled(&sb), Vec::<String>::new());
    assert!(!common::history::spool(&sb).join("unreadable").exists(), "the record was read as a run");
    assert_eq!(count(&conn), 32);
}

#[test]
fn a_history_written_before_the_spool_gains_its_column_and_keeps_its_runs() {
    let sb = sandbox("");
    let file = common::history::file(&sb);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // The table as the first release of the history wrote it: no spool_key.
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch(
            "CREATE TABLE runbook_runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL, params TEXT NOT NULL,
                host TEXT NOT NULL, started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL,
                status TEXT NOT NULL, exit_code INTEGER NOT NULL, dry_run INTEGER NOT NULL,
                job TEXT, slot TEXT, report_json TEXT NOT NULL, report_text TEXT NOT NULL);
             INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, report_json, report_text)
             VALUES ('count', '{\"n\":9}', 'old', '2026-11-01T09:00:00.000Z', 5, 'CRITICAL', 2, 0, '{}', 'old report');",
        )
        .unwrap();
    assert_eq!(sb.run(&["run", "count"]).code, 0);
    let list = sb.run(&["history", "--format", "json"]);
    assert_eq!((list.code, list.stderr.as_str()), (0, ""));
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let runs: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r["id"], r["params"], r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(runs, ["2 {\"n\":1} OK", "1 {\"n\":9} CRITICAL"]);
    assert_eq!(spooled(&sb), Vec::<String>::new());
}
