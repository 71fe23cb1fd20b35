//! The default history store: one SQLite file in the state folder.
//!
//! WAL mode and a busy timeout, because the scheduler and the runs it
//! starts (separate processes) write to the same file at once.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::silence::{names_of, names_text, Silence};
use super::{parse_stamp, stamp, Filter, Retention, Run, RunRow};

pub struct Sqlite {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runbook_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    script      TEXT NOT NULL,
    params      TEXT NOT NULL,
    host        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER NOT NULL,
    dry_run     INTEGER NOT NULL,
    job         TEXT,
    slot        TEXT,
    report_json TEXT NOT NULL,
    report_text TEXT NOT NULL,
    spool_key   TEXT
);
CREATE INDEX IF NOT EXISTS runbook_runs_script ON runbook_runs (script, started_at);
CREATE INDEX IF NOT EXISTS runbook_runs_started ON runbook_runs (started_at);
CREATE TABLE IF NOT EXISTS runbook_slots (
    job        TEXT NOT NULL,
    slot       TEXT NOT NULL,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (job, slot)
);
CREATE TABLE IF NOT EXISTS runbook_latest (
    host       TEXT NOT NULL,
    target     TEXT NOT NULL,
    script     TEXT NOT NULL,
    run_id     INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    status     TEXT NOT NULL,
    exit_code  INTEGER NOT NULL,
    PRIMARY KEY (host, target, script)
);
CREATE TABLE IF NOT EXISTS runbook_silences (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    names     TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    by_whom   TEXT NOT NULL
);";

const COLUMNS: &str =
    "id, script, params, host, started_at, duration_ms, status, exit_code, dry_run, job, slot, report_json, report_text, target";

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite, String> {
        let fail = |e: &dyn std::fmt::Display| format!("history {}: {e}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        // The history keeps reports: made the owner's alone, never opened
        // through a symlink someone planted at its name.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(fail(&"is a symlink; the history must be a file of its own"));
        }
        let conn = Connection::open(path).map_err(|e| fail(&e))?;
        // Made the owner's alone, also a history written before this rule.
        if std::fs::metadata(path).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o077 != 0
        }) {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(crate::output::mode::PRIVATE))
                .map_err(|e| fail(&e))?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| fail(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail(&e))?;
        // In WAL mode NORMAL syncs at checkpoints, not at every commit: a
        // power cut may lose the last runs' records, never the file; a run
        // does not wait for the disk.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| fail(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(&e))?;
        // Histories written before the spool have no spool_key column, and
        // those before fan-out no target ('' for a run of its own).
        let has = |column: &str| -> Result<bool, String> {
            conn.query_row(
                "SELECT count(*) FROM pragma_table_info('runbook_runs') WHERE name = ?1",
                params![column],
                |r| r.get(0),
            )
            .map_err(|e| fail(&e))
        };
        if !has("spool_key")? {
            conn.execute_batch("ALTER TABLE runbook_runs ADD COLUMN spool_key TEXT").map_err(|e| fail(&e))?;
        }
        if !has("target")? {
            conn.execute_batch(
                "ALTER TABLE runbook_runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
                 INSERT OR REPLACE INTO runbook_latest (host, target, script, run_id, started_at, status, exit_code)
                 SELECT host, target, script, id, started_at, status, exit_code FROM runbook_runs r
                 WHERE dry_run = 0 AND id = (SELECT id FROM runbook_runs n WHERE n.script = r.script AND n.host = r.host
                   AND n.target = r.target AND n.dry_run = 0 ORDER BY started_at DESC, id DESC LIMIT 1);",
            )
            .map_err(|e| fail(&e))?;
        }
        conn.execute_batch(
            "CREATE UNIQUE INDEX IF NOT EXISTS runbook_runs_spool_key ON runbook_runs (spool_key);
             CREATE INDEX IF NOT EXISTS runbook_runs_script_host ON runbook_runs (script, host, target, started_at);
             CREATE INDEX IF NOT EXISTS runbook_runs_host ON runbook_runs (host, started_at);
             CREATE INDEX IF NOT EXISTS runbook_runs_target ON runbook_runs (target, started_at);",
        )
        .map_err(|e| fail(&e))?;
        Ok(Sqlite { conn, path: path.to_path_buf() })
    }

    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn fail(&self, e: rusqlite::Error) -> String {
        format!("history {}: {e}", self.path.display())
    }

    /// `spool_key`: see history/spool.rs; a run whose key is in is not recorded again.
    pub fn record(&mut self, r: &Run, keep: Retention, spool_key: Option<&str>) -> Result<Option<i64>, String> {
        let target = r.target.as_deref().unwrap_or("");
        let tx = self.conn.transaction().map_err(|e| format!("history: {e}"))?;
        let inserted = tx.execute(
            "INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, job, slot, report_json, report_text, spool_key, target)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (spool_key) DO NOTHING",
            params![
                r.script,
                r.params,
                r.host,
                stamp(r.started_at),
                r.duration_ms,
                r.status,
                r.exit_code,
                r.dry_run,
                r.job,
                r.slot.map(stamp),
                r.report_json,
                r.report_text,
                spool_key,
                target
            ],
        )
        .map_err(|e| format!("history: {e}"))?;
        let id = (inserted == 1).then(|| tx.last_insert_rowid());
        if let (Some(id), false) = (id, r.dry_run) {
            // A run spooled earlier and taken in late does not hide a newer one.
            tx.execute(
                "INSERT INTO runbook_latest (host, target, script, run_id, started_at, status, exit_code)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (host, target, script) DO UPDATE SET run_id = excluded.run_id,
                   started_at = excluded.started_at, status = excluded.status, exit_code = excluded.exit_code
                 WHERE excluded.started_at >= runbook_latest.started_at",
                params![r.host, target, r.script, id, stamp(r.started_at), r.status, r.exit_code],
            )
            .map_err(|e| format!("history: {e}"))?;
        }
        let oldest = stamp(Utc::now() - chrono::Duration::days(keep.keep_days as i64));
        tx.execute("DELETE FROM runbook_runs WHERE started_at < ?1", params![oldest])
            .map_err(|e| format!("history: {e}"))?;
        tx.execute("DELETE FROM runbook_slots WHERE slot < ?1", params![oldest])
            .map_err(|e| format!("history: {e}"))?;
        tx.execute("DELETE FROM runbook_latest WHERE started_at < ?1", params![oldest])
            .map_err(|e| format!("history: {e}"))?;
        // The newest run past the count, found through the index; it and
        // every older run of the script on this host (and target) go. No
        // scan of the whole table.
        let cut: Option<(String, i64)> = tx
            .query_row(
                "SELECT started_at, id FROM runbook_runs WHERE script = ?1 AND host = ?3 AND target = ?4
                 ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?2",
                params![r.script, keep.keep_runs, r.host, target],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| format!("history: {e}"))?;
        if let Some((at, id)) = cut {
            tx.execute(
                "DELETE FROM runbook_runs WHERE script = ?1 AND host = ?4 AND target = ?5
                   AND (started_at < ?2 OR (started_at = ?2 AND id <= ?3))",
                params![r.script, at, id, r.host, target],
            )
            .map_err(|e| format!("history: {e}"))?;
        }
        tx.commit().map_err(|e| format!("history: {e}"))?;
        Ok(id)
    }

    pub fn list(&mut self, f: &Filter) -> Result<Vec<RunRow>, String> {
        let mut sql = format!("SELECT {COLUMNS} FROM runbook_runs WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = vec![];
        if let Some(s) = &f.script {
            args.push(s.clone().into());
            sql.push_str(&format!(" AND script = ?{}", args.len()));
        }
        if let Some(j) = &f.job {
            args.push(j.clone().into());
            sql.push_str(&format!(" AND job = ?{}", args.len()));
        }
        if let Some(t) = f.since {
            args.push(stamp(t).into());
            sql.push_str(&format!(" AND started_at >= ?{}", args.len()));
        }
        if let Some(h) = &f.host {
            args.push(h.clone().into());
            sql.push_str(&format!(" AND (host = ?{n} OR target = ?{n})", n = args.len()));
        }
        if let Some(t) = &f.target {
            args.push(t.clone().into());
            sql.push_str(&format!(" AND target = ?{}", args.len()));
        }
        if f.failed {
            sql.push_str(" AND status <> 'OK'");
        }
        if !f.with_dry_runs {
            sql.push_str(" AND dry_run = 0");
        }
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        if let Some(n) = f.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), row)
            .map_err(|e| format!("history: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("history: {e}"))?;
        rows.into_iter().collect()
    }

    pub fn latest(&mut self, host: Option<&str>) -> Result<Vec<super::Latest>, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT host, target, script, run_id, started_at, status, exit_code FROM runbook_latest
                 WHERE ?1 IS NULL OR host = ?1 OR target = ?1 ORDER BY host, target, script",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![host], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i32>(6)?,
                ))
            })
            .map_err(|e| format!("history: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("history: {e}"))?;
        rows.into_iter()
            .map(|(host, target, script, run_id, at, status, exit_code)| {
                Ok(super::Latest {
                    host,
                    target: Some(target).filter(|t| !t.is_empty()),
                    script,
                    run_id,
                    started_at: parse_stamp(&at)?,
                    status,
                    exit_code,
                })
            })
            .collect()
    }

    pub fn get(&mut self, id: i64) -> Result<Option<RunRow>, String> {
        let sql = format!("SELECT {COLUMNS} FROM runbook_runs WHERE id = ?1");
        let found = self.conn.query_row(&sql, params![id], row).optional().map_err(|e| self.fail(e))?;
        found.transpose()
    }

    pub fn claim_slot(&mut self, job: &str, slot: DateTime<Utc>, host: &str) -> Result<bool, String> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO runbook_slots (job, slot, host, pid, claimed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job, stamp(slot), host, std::process::id(), stamp(Utc::now())],
            )
            .map_err(|e| self.fail(e))?;
        Ok(n == 1)
    }

    pub fn last_slot(&mut self, job: &str) -> Result<Option<DateTime<Utc>>, String> {
        let s: Option<String> = self
            .conn
            .query_row("SELECT MAX(slot) FROM runbook_slots WHERE job = ?1", params![job], |r| r.get(0))
            .map_err(|e| self.fail(e))?;
        s.map(|s| parse_stamp(&s)).transpose()
    }

    /// Open a silence from now until `until`; its id. Silences that ended
    /// over `keep_days` ago go, as old runs do.
    pub fn open_silence(&mut self, s: &Silence, keep: Retention) -> Result<i64, String> {
        let tx = self.conn.transaction().map_err(|e| format!("history: {e}"))?;
        tx.execute(
            "INSERT INTO runbook_silences (names, starts_at, ends_at, reason, by_whom) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![names_text(&s.names), stamp(s.starts_at), stamp(s.ends_at), s.reason, s.by],
        )
        .map_err(|e| format!("history: {e}"))?;
        let id = tx.last_insert_rowid();
        let oldest = stamp(Utc::now() - chrono::Duration::days(keep.keep_days as i64));
        tx.execute("DELETE FROM runbook_silences WHERE ends_at < ?1", params![oldest])
            .map_err(|e| format!("history: {e}"))?;
        tx.commit().map_err(|e| format!("history: {e}"))?;
        Ok(id)
    }

    /// The silences that end after `after` and start before `before`, oldest first.
    pub fn silences(&mut self, after: DateTime<Utc>, before: DateTime<Utc>) -> Result<Vec<Silence>, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, names, starts_at, ends_at, reason, by_whom FROM runbook_silences
                 WHERE ends_at > ?1 AND starts_at < ?2 ORDER BY starts_at, id",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![stamp(after), stamp(before)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(|e| format!("history: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("history: {e}"))?;
        rows.into_iter()
            .map(|(id, names, starts, ends, reason, by)| {
                Ok(Silence {
                    id,
                    names: names_of(&names),
                    starts_at: parse_stamp(&starts)?,
                    ends_at: parse_stamp(&ends)?,
                    reason,
                    by,
                })
            })
            .collect()
    }

    /// End the silence `id` (or every one) still going at `now`; how many ended.
    pub fn end_silence(&mut self, id: Option<i64>, now: DateTime<Utc>) -> Result<usize, String> {
        self.conn
            .execute(
                "UPDATE runbook_silences SET ends_at = ?1 WHERE ends_at > ?1 AND starts_at <= ?1 AND (?2 IS NULL OR id = ?2)",
                params![stamp(now), id],
            )
            .map_err(|e| self.fail(e))
    }
}

/// One row, with its timestamps parsed (a bad one is an error of that row).
fn row(r: &Row) -> rusqlite::Result<Result<RunRow, String>> {
    let started: String = r.get(4)?;
    let slot: Option<String> = r.get(10)?;
    let parsed = (|| -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), String> {
        Ok((parse_stamp(&started)?, slot.as_deref().map(parse_stamp).transpose()?))
    })();
    let make = |(started_at, slot)| -> rusqlite::Result<RunRow> {
        Ok(RunRow {
            id: r.get(0)?,
            run: Run {
                script: r.get(1)?,
                params: r.get(2)?,
                host: r.get(3)?,
                started_at,
                duration_ms: r.get(5)?,
                status: r.get(6)?,
                exit_code: r.get(7)?,
                dry_run: r.get(8)?,
                job: r.get(9)?,
                slot,
                report_json: r.get(11)?,
                report_text: r.get(12)?,
                target: Some(r.get::<_, String>(13)?).filter(|t| !t.is_empty()),
            },
        })
    };
    match parsed {
        Ok(p) => make(p).map(Ok),
        Err(e) => Ok(Err(e)),
    }
}
