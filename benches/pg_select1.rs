//! 10,000 `SELECT 1`: from a runbook script (`db.scalar`) against the same
//! loop written directly with sqlx on one connection, alternating five
//! times each; medians and their ratio. Needs RUNBOOK_TEST_PG_URL (run
//! through bench/pg.sh, which starts PostgreSQL).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench prints its figures; a failed unwrap is the report"
)]

use std::time::{Duration, Instant};

const N: usize = 10_000;

fn direct(url: &str) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        let started = Instant::now();
        for _ in 0..N {
            let v: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
            assert_eq!(v, 1);
        }
        started.elapsed()
    })
}

fn via_runbook(dir: &std::path::Path) -> Duration {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
        .current_dir(dir)
        .args(["run", "select1.rhai", "--format", "json"])
        .output()
        .expect("runbook runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ms = v["sections"][0]["metrics"][0]["value"].as_f64().unwrap();
    Duration::from_secs_f64(ms / 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let url = std::env::var("RUNBOOK_TEST_PG_URL").expect("RUNBOOK_TEST_PG_URL: run bench/pg.sh");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("runbook.toml"), format!("[postgres.main]\nurl = \"{url}\"\n")).unwrap();
    std::fs::write(
        dir.path().join("select1.rhai"),
        format!(
            "// 10,000 SELECT 1.\nlet db = pg::connect(\"main\");\ndb.scalar(\"SELECT 1\");\nlet t0 = time::now();\nfor i in 0..{N} {{ db.scalar(\"SELECT 1\"); }}\nmetric(\"elapsed_ms\", (time::now() - t0).ms);\n"
        ),
    )
    .unwrap();
    let (mut a, mut b) = (vec![], vec![]);
    for _ in 0..5 {
        a.push(direct(&url));
        b.push(via_runbook(dir.path()));
    }
    let (a, b) = (median(a), median(b));
    println!(
        "sqlx directly, one connection: {:>8.1} ms  ({:.1} µs per query)",
        a.as_secs_f64() * 1e3,
        a.as_secs_f64() * 1e6 / N as f64
    );
    println!(
        "runbook db.scalar:             {:>8.1} ms  ({:.1} µs per query)",
        b.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e6 / N as f64
    );
    println!("ratio runbook / sqlx: {:.2}", b.as_secs_f64() / a.as_secs_f64());
}
