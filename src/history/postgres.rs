//! History in PostgreSQL (`[history] url = "postgres://…"`), shared by a
//! fleet: every machine's runs in one place, and the scheduler's slots
//! claimed through a primary key, so several schedulers run each slot once.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection, Row};

use super::silence::{names_of, names_text, Silence};
use super::{Filter, Retention, Run, RunRow};

pub struct Postgres {
    conn: PgConnection,
    location: String,
}

// Two schedulers starting at once would race on CREATE TABLE IF NOT EXISTS
// (a unique violation in pg_type); the advisory lock makes them take turns.
const SCHEMA: &[&str] = &[
    "SELECT pg_advisory_xact_lock(7271003)",
    "CREATE TABLE IF NOT EXISTS runbook_runs (
        id          BIGSERIAL PRIMARY KEY,
        script      TEXT NOT NULL,
        params      TEXT NOT NULL,
        host        TEXT NOT NULL,
        started_at  TIMESTAMPTZ NOT NULL,
        duration_ms BIGINT NOT NULL,
        status      TEXT NOT NULL,
        exit_code   INTEGER NOT NULL,
        dry_run     BOOLEAN NOT NULL,
        job         TEXT,
        slot        TIMESTAMPTZ,
        report_json TEXT NOT NULL,
        report_text TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS runbook_runs_script ON runbook_runs (script, started_at)",
    "CREATE INDEX IF NOT EXISTS runbook_runs_started ON runbook_runs (started_at)",
    // The spool file a run came from (history/spool.rs): taken in once.
    "ALTER TABLE runbook_runs ADD COLUMN IF NOT EXISTS spool_key TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS runbook_runs_spool_key ON runbook_runs (spool_key)",
    // A fleet: the target a fanned-out run was bound to ('' for none);
    // retention counts runs per script per host and target, through this
    // index, and `--host` reads one host's newest runs through the next.
    "ALTER TABLE runbook_runs ADD COLUMN IF NOT EXISTS target TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS runbook_runs_script_host ON runbook_runs (script, host, target, started_at)",
    "CREATE INDEX IF NOT EXISTS runbook_runs_host ON runbook_runs (host, started_at)",
    "CREATE INDEX IF NOT EXISTS runbook_runs_target ON runbook_runs (target, started_at)",
    // The last run of each script on each host: `history --hosts` reads
    // one row per cell instead of searching a year of runs for them.
    "CREATE TABLE IF NOT EXISTS runbook_latest (
        host       TEXT NOT NULL,
        target     TEXT NOT NULL,
        script     TEXT NOT NULL,
        run_id     BIGINT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        status     TEXT NOT NULL,
        exit_code  INTEGER NOT NULL,
        PRIMARY KEY (host, target, script))",
    // A history from before the table: filled once from the runs.
    "INSERT INTO runbook_latest (host, target, script, run_id, started_at, status, exit_code)
     SELECT DISTINCT ON (host, target, script) host, target, script, id, started_at, status, exit_code
     FROM runbook_runs WHERE NOT dry_run AND NOT EXISTS (SELECT 1 FROM runbook_latest)
     ORDER BY host, target, script, started_at DESC, id DESC",
    "CREATE TABLE IF NOT EXISTS runbook_slots (
        job        TEXT NOT NULL,
        slot       TIMESTAMPTZ NOT NULL,
        host       TEXT NOT NULL,
        pid        INTEGER NOT NULL,
        claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (job, slot))",
    "CREATE TABLE IF NOT EXISTS runbook_silences (
        id        BIGSERIAL PRIMARY KEY,
        names     TEXT NOT NULL,
        starts_at TIMESTAMPTZ NOT NULL,
        ends_at   TIMESTAMPTZ NOT NULL,
        reason    TEXT NOT NULL,
        by_whom   TEXT NOT NULL)",
];

const COLUMNS: &str =
    "id, script, params, host, started_at, duration_ms, status, exit_code, dry_run, job, slot, report_json, report_text, target";

/// Every call waits at most this long: a history that hangs must not hang
/// the run (or the scheduler) with it.
const TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn block<T>(fut: impl std::future::Future<Output = Result<T, sqlx::Error>>) -> Result<T, String> {
    crate::engine::runtime::runtime().block_on(async {
        match tokio::time::timeout(TIMEOUT, fut).await {
            Ok(r) => r.map_err(|e| format!("history: {e}")),
            Err(_) => Err(format!("history: no answer from PostgreSQL within {}s", TIMEOUT.as_secs())),
        }
    })
}

impl Postgres {
    pub fn open(url: &str) -> Result<Postgres, String> {
        crate::redact::add_url_credentials(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| format!("[history] url: bad postgres URL: {e}"))?
            .application_name("runbook history")
            .disable_statement_logging();
        let location =
            format!("postgres {}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("-"));
        let mut conn = block(PgConnection::connect_with(&options)).map_err(|e| format!("{location}: {e}"))?;
        // The schema's newest part is there: no DDL, so no exclusive lock
        // on the runs table at every open (a fan-out opens it per target).
        let current: bool = block(
            sqlx::query_scalar(
                "SELECT to_regclass('runbook_runs_target') IS NOT NULL AND to_regclass('runbook_latest') IS NOT NULL",
            )
            .fetch_one(&mut conn),
        )
        .map_err(|e| format!("{location}: {e}"))?;
        if current {
            return Ok(Postgres { conn, location });
        }
        block(async {
            let mut tx = conn.begin().await?;
            for s in SCHEMA {
                sqlx::query(s).execute(&mut *tx).await?;
            }
            tx.commit().await
        })
        .map_err(|e| format!("{location}: {e}"))?;
        Ok(Postgres { conn, location })
    }

    pub fn location(&self) -> String {
        self.location.clone()
    }

    pub fn record(&mut self, r: &Run, keep: Retention, spool_key: Option<&str>) -> Result<Option<i64>, String> {
        let conn = &mut self.conn;
        block(async {
            let mut tx = conn.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, job, slot, report_json, report_text, spool_key, target)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (spool_key) DO NOTHING RETURNING id",
            )
            .bind(&r.script)
            .bind(&r.params)
            .bind(&r.host)
            .bind(r.started_at)
            .bind(r.duration_ms)
            .bind(&r.status)
            .bind(r.exit_code)
            .bind(r.dry_run)
            .bind(&r.job)
            .bind(r.slot)
            .bind(&r.report_json)
            .bind(&r.report_text)
            .bind(spool_key)
            .bind(r.target.as_deref().unwrap_or(""))
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(id), false) = (id, r.dry_run) {
                // A run spooled earlier and taken in late does not hide a newer one.
                sqlx::query(
                    "INSERT INTO runbook_latest (host, target, script, run_id, started_at, status, exit_code)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (host, target, script) DO UPDATE SET run_id = excluded.run_id,
                       started_at = excluded.started_at, status = excluded.status, exit_code = excluded.exit_code
                     WHERE excluded.started_at >= runbook_latest.started_at",
                )
                .bind(&r.host)
                .bind(r.target.as_deref().unwrap_or(""))
                .bind(&r.script)
                .bind(id)
                .bind(r.started_at)
                .bind(&r.status)
                .bind(r.exit_code)
                .execute(&mut *tx)
                .await?;
            }
            let days = keep.keep_days as i32;
            sqlx::query("DELETE FROM runbook_runs WHERE started_at < now() - make_interval(days => $1)")
                .bind(days)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM runbook_slots WHERE slot < now() - make_interval(days => $1)")
                .bind(days)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM runbook_latest WHERE started_at < now() - make_interval(days => $1)")
                .bind(days)
                .execute(&mut *tx)
                .await?;
            // The newest run past the count, through the index; it and
            // older go. Counted per host and target: a fleet of a thousand
            // hosts keeps each one's runs, not the last 2000 of them all.
            sqlx::query(
                "DELETE FROM runbook_runs r USING
                   (SELECT started_at, id FROM runbook_runs WHERE script = $1 AND host = $3 AND target = $4
                    ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $2) cut
                 WHERE r.script = $1 AND r.host = $3 AND r.target = $4 AND (r.started_at, r.id) <= (cut.started_at, cut.id)",
            )
            .bind(&r.script)
            .bind(keep.keep_runs as i64)
            .bind(&r.host)
            .bind(r.target.as_deref().unwrap_or(""))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub fn list(&mut self, f: &Filter) -> Result<Vec<RunRow>, String> {
        const WHERE: &str = "($1::text IS NULL OR script = $1) AND ($2::text IS NULL OR job = $2)
               AND ($3::timestamptz IS NULL OR started_at >= $3) AND (NOT $4 OR status <> 'OK') AND ($5 OR NOT dry_run)
               AND ($8::text IS NULL OR target = $8)";
        const ORDER: &str = "ORDER BY started_at DESC, id DESC LIMIT $6";
        let sql = match f.host {
            None => format!("SELECT {COLUMNS} FROM runbook_runs WHERE {WHERE} AND $7::text IS NULL {ORDER}"),
            // `--host H` is a host or a target: each through its own index,
            // newest first and no further than the limit. One `host = H OR
            // target = H` reads every run of both and sorts them (0.3 s for
            // a year of one host's runs at fleet size).
            Some(_) => format!(
                "SELECT * FROM (
                   (SELECT {COLUMNS} FROM runbook_runs WHERE {WHERE} AND host = $7 {ORDER})
                   UNION ALL
                   (SELECT {COLUMNS} FROM runbook_runs WHERE {WHERE} AND target = $7 AND host <> $7 {ORDER})
                 ) both_ {ORDER}"
            ),
        };
        let conn = &mut self.conn;
        let rows: Vec<PgRow> = block(
            sqlx::query(&sql)
                .bind(&f.script)
                .bind(&f.job)
                .bind(f.since)
                .bind(f.failed)
                .bind(f.with_dry_runs)
                .bind(f.limit.unwrap_or(i64::MAX))
                .bind(&f.host)
                .bind(&f.target)
                .fetch_all(conn),
        )?;
        rows.iter().map(row).collect()
    }

    pub fn latest(&mut self, host: Option<&str>) -> Result<Vec<super::Latest>, String> {
        let conn = &mut self.conn;
        let rows: Vec<PgRow> = block(
            sqlx::query(
                "SELECT host, target, script, run_id, started_at, status, exit_code FROM runbook_latest
                 WHERE $1::text IS NULL OR host = $1 OR target = $1 ORDER BY host, target, script",
            )
            .bind(host)
            .fetch_all(conn),
        )?;
        rows.iter()
            .map(|r| {
                Ok(super::Latest {
                    host: r.try_get(0)?,
                    target: Some(r.try_get::<String, _>(1)?).filter(|t| !t.is_empty()),
                    script: r.try_get(2)?,
                    run_id: r.try_get(3)?,
                    started_at: r.try_get(4)?,
                    status: r.try_get(5)?,
                    exit_code: r.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| format!("history: {e}"))
    }

    pub fn get(&mut self, id: i64) -> Result<Option<RunRow>, String> {
        let sql = format!("SELECT {COLUMNS} FROM runbook_runs WHERE id = $1");
        let conn = &mut self.conn;
        let found: Option<PgRow> = block(sqlx::query(&sql).bind(id).fetch_optional(conn))?;
        found.as_ref().map(row).transpose()
    }

    pub fn claim_slot(&mut self, job: &str, slot: DateTime<Utc>, host: &str) -> Result<bool, String> {
        let conn = &mut self.conn;
        let done = block(
            sqlx::query(
                "INSERT INTO runbook_slots (job, slot, host, pid) VALUES ($1, $2, $3, $4) ON CONFLICT (job, slot) DO NOTHING",
            )
            .bind(job)
            .bind(slot)
            .bind(host)
            .bind(std::process::id() as i32)
            .execute(conn),
        )?;
        Ok(done.rows_affected() == 1)
    }

    pub fn last_slot(&mut self, job: &str) -> Result<Option<DateTime<Utc>>, String> {
        let conn = &mut self.conn;
        block(sqlx::query_scalar("SELECT MAX(slot) FROM runbook_slots WHERE job = $1").bind(job).fetch_one(conn))
    }

    pub fn open_silence(&mut self, s: &Silence, keep: Retention) -> Result<i64, String> {
        let conn = &mut self.conn;
        block(async {
            let mut tx = conn.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO runbook_silences (names, starts_at, ends_at, reason, by_whom) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(names_text(&s.names))
            .bind(s.starts_at)
            .bind(s.ends_at)
            .bind(&s.reason)
            .bind(&s.by)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM runbook_silences WHERE ends_at < now() - make_interval(days => $1)")
                .bind(keep.keep_days as i32)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub fn silences(&mut self, after: DateTime<Utc>, before: DateTime<Utc>) -> Result<Vec<Silence>, String> {
        let conn = &mut self.conn;
        let rows: Vec<PgRow> = block(
            sqlx::query(
                "SELECT id, names, starts_at, ends_at, reason, by_whom FROM runbook_silences
                 WHERE ends_at > $1 AND starts_at < $2 ORDER BY starts_at, id",
            )
            .bind(after)
            .bind(before)
            .fetch_all(conn),
        )?;
        rows.iter()
            .map(|r| {
                Ok(Silence {
                    id: r.try_get(0)?,
                    names: names_of(&r.try_get::<String, _>(1)?),
                    starts_at: r.try_get(2)?,
                    ends_at: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    by: r.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| format!("history: {e}"))
    }

    pub fn end_silence(&mut self, id: Option<i64>, now: DateTime<Utc>) -> Result<usize, String> {
        let conn = &mut self.conn;
        let done = block(
            sqlx::query(
                "UPDATE runbook_silences SET ends_at = $1 WHERE ends_at > $1 AND starts_at <= $1 AND ($2::bigint IS NULL OR id = $2)",
            )
            .bind(now)
            .bind(id)
            .execute(conn),
        )?;
        Ok(done.rows_affected() as usize)
    }
}

fn row(r: &PgRow) -> Result<RunRow, String> {
    let get = || -> Result<RunRow, sqlx::Error> {
        Ok(RunRow {
            id: r.try_get(0)?,
            run: Run {
                script: r.try_get(1)?,
                params: r.try_get(2)?,
                host: r.try_get(3)?,
                started_at: r.try_get(4)?,
                duration_ms: r.try_get(5)?,
                status: r.try_get(6)?,
                exit_code: r.try_get(7)?,
                dry_run: r.try_get(8)?,
                job: r.try_get(9)?,
                slot: r.try_get(10)?,
                report_json: r.try_get(11)?,
                report_text: r.try_get(12)?,
                target: Some(r.try_get::<String, _>(13)?).filter(|t| !t.is_empty()),
            },
        })
    };
    get().map_err(|e| format!("history: {e}"))
}
