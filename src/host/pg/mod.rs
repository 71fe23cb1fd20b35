//! `pg`: PostgreSQL through pooled connections. Reads run in a READ ONLY
//! transaction of their own and refuse functions with effects outside the
//! data; writes go through `execute` (mutating, and data-losing by what
//! PostgreSQL's parser says the statement does), parameters are always
//! bound, and every wait is bounded by the run's deadline. `pg::dump` streams the real `pg_dump` into a file
//! that appears only when the dump succeeded.

mod classify;
mod connect;
pub mod convert;
mod dump;
mod execute;

use std::sync::Arc;
use std::time::Duration;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use sqlx::postgres::{PgDatabaseError, PgRow};

use crate::engine::runtime;
use crate::host::{error, HostResult};

/// A connection handle: cheap to clone, shares the target's pools.
#[derive(Clone)]
pub struct PgHandle(pub(crate) Arc<connect::Target>);

fn who(t: &connect::Target) -> String {
    format!("pg ({})", t.name)
}

/// A driver error as an operator wants it: Postgres' own message, its
/// SQLSTATE and position, or why the connection failed, each connect
/// failure with what to do about it; secrets masked.
fn db_error(t: &connect::Target, e: sqlx::Error) -> Box<rhai::EvalAltResult> {
    let mut at = format!("{}:{}", t.options.get_host(), t.options.get_port());
    if let Some(via) = &t.via {
        at = format!("{at} ({via})");
    }
    let msg = match &e {
        sqlx::Error::Database(d) => match d.try_downcast_ref::<PgDatabaseError>() {
            Some(pg) if connect_advice(pg.code(), pg.message()).is_some() => {
                format!(
                    "{} (SQLSTATE {}): {}",
                    pg.message(),
                    pg.code(),
                    connect_advice(pg.code(), pg.message()).unwrap_or_default()
                )
            }
            Some(pg) => {
                let mut m = format!("{} (SQLSTATE {}", pg.message(), pg.code());
                if let Some(sqlx::postgres::PgErrorPosition::Original(p)) = pg.position() {
                    m.push_str(&format!(", at character {p}"));
                }
                m.push(')');
                if let Some(h) = pg.hint() {
                    m.push_str(&format!("; hint: {h}"));
                }
                m
            }
            None => d.to_string(),
        },
        sqlx::Error::PoolTimedOut if t.via.is_some() => format!(
            "cannot connect to {at} within {}: the container's address is not reachable from here (runbook in another container or network namespace?): publish the port and give `host` and `port` instead",
            crate::duration::format(t.connect_timeout)
        ),
        sqlx::Error::PoolTimedOut => {
            format!(
                "cannot connect within {}: is the server up and reachable?",
                crate::duration::format(t.connect_timeout)
            )
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!(
                "connection refused at {at}: is PostgreSQL running and listening there? (pg_isready -h {} -p {})",
                t.options.get_host(),
                t.options.get_port()
            )
        }
        sqlx::Error::Io(io)
            if io.to_string().contains("lookup address") || io.to_string().contains("Name or service not known") =>
        {
            format!("no such host `{}`: check the host of the target (or the URL)", t.options.get_host())
        }
        sqlx::Error::Io(io) => format!("cannot connect to {at}: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        other => other.to_string(),
    };
    error(&who(t), msg)
}

/// What to do about a server's refusal to let this session in, by its
/// SQLSTATE: the wrong password, a database that is not there, a server
/// that takes only TLS.
fn connect_advice(code: &str, message: &str) -> Option<&'static str> {
    match code {
        "28P01" => Some("check the password of the target (`password` in runbook.toml, or the URL's)"),
        "3D000" => Some("check `database` of the target; `psql -l` lists the databases there"),
        "28000" if message.contains("no encryption") => {
            Some("the server takes only TLS connections: set sslmode = \"require\" on the target")
        }
        "28000" => Some(
            "the server's pg_hba.conf lets this user in from nowhere here: check `user` and the server's pg_hba.conf",
        ),
        _ => None,
    }
}

/// query/scalar only read, in fact: the statement must parse as one read
/// with no effect outside the data ([`classify::check_read`]), and it runs
/// in a READ ONLY transaction of its own, which a single statement sent
/// with the extended protocol cannot leave. The session default
/// (`default_transaction_read_only`, set at connect) is only a second wall.
fn fetch(db: &PgHandle, sql: &str, params: &Array, timeout: Option<Duration>) -> HostResult<Vec<PgRow>> {
    let t = db.0.clone();
    classify::check_read(sql).map_err(|e| error(&who(&t), e))?;
    let sql = sql.to_string();
    let params = params.clone();
    let result = runtime::block_on(async {
        let q = convert::bind(sqlx::query(&sql), &params).map_err(|e| error(&who(&t), e))?;
        let cancel = t.cancel_on_abandon();
        let mut lent = t.take_read().await.map_err(|e| db_error(&t, e))?;
        let begin = match timeout {
            None => "BEGIN READ ONLY".to_string(),
            Some(d) => format!("BEGIN READ ONLY; SET LOCAL statement_timeout = {}", d.as_millis()),
        };
        let max = crate::engine::context::ctx().config.limits.max_result;
        let mut too_large = false;
        let rows = async {
            let conn = lent.conn();
            sqlx::raw_sql(&begin).execute(&mut *conn).await?;
            let rows = collect_rows(q.fetch(&mut *conn), max).await;
            if matches!(rows, Ok(None)) {
                // Not drained: the connection is closed, not given back.
                too_large = true;
                return Ok(vec![]);
            }
            // Ended whatever happened, so the held connection is clean; the
            // query's own error is the one to report.
            let ended = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            let rows = rows?.unwrap_or_default();
            ended?;
            Ok(rows)
        }
        .await;
        cancel.done();
        if too_large {
            return Err(error(
                &who(&t),
                crate::host::too_large(
                    "the result",
                    "max_result",
                    max,
                    "select fewer rows or columns (LIMIT, or an aggregate in SQL)",
                ),
            ));
        }
        // Postgres said no (bad SQL, a timeout): the connection is fine.
        if rows.is_ok() || matches!(rows, Err(sqlx::Error::Database(_))) {
            lent.give_back();
        }
        rows.map_err(|e| db_error(&t, e))
    })?;
    result
}

/// The rows of a query, or `None` once their values pass `max` bytes (a
/// 2,000-row query of 1 MB strings took 4.3 GB before).
async fn collect_rows<'c>(
    mut stream: futures_util::stream::BoxStream<'c, Result<PgRow, sqlx::Error>>,
    max: usize,
) -> Result<Option<Vec<PgRow>>, sqlx::Error> {
    use futures_util::TryStreamExt;
    use sqlx::{Row, ValueRef};
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = stream.try_next().await? {
        bytes += (0..row.len())
            .map(|i| {
                row.try_get_raw(i).ok().filter(|v| !v.is_null()).and_then(|v| v.as_bytes().ok()).map_or(0, |b| b.len())
            })
            .sum::<usize>();
        if bytes > max {
            return Ok(None);
        }
        rows.push(row);
    }
    Ok(Some(rows))
}

fn rows_to_array(t: &connect::Target, rows: Vec<PgRow>) -> HostResult<Array> {
    if let Some(r) = rows.first() {
        crate::report::table::remember_columns(
            sqlx::Row::columns(r).iter().map(|c| sqlx::Column::name(c).to_string()).collect(),
        );
    }
    rows.iter().map(|r| convert::row_to_map(r).map(Dynamic::from_map).map_err(|e| error(&who(t), e))).collect()
}

fn timeout_opt(options: &Map) -> HostResult<Option<Duration>> {
    crate::host::opts::Opts::new("pg query", options)?.duration("timeout")
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod pg_functions {
    use super::*;

    /// Connect to a `[postgres.NAME]` target of runbook.toml, or a
    /// postgres:// URL. The connection is tried now, so a wrong password,
    /// an unknown database or a server that is down fails here, within the
    /// target's connect timeout (default 5s), naming the target.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let db = pg::connect("main");
    /// print(db.scalar("SELECT count(*) FROM users"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn connect(target: &str) -> HostResult<PgHandle> {
        let t = {
            let _enter = runtime::runtime().enter();
            connect::target("pg::connect", target)?
        };
        let probe = t.clone();
        runtime::block_on(async move {
            probe.take_read().await?.give_back();
            Ok::<_, sqlx::Error>(())
        })?
        .map_err(|e| db_error(&t, e))?;
        Ok(PgHandle(t))
    }

    /// Rows as maps keyed by column name, run READ ONLY: a write fails with
    /// Postgres' own error.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "query", return_raw, pure)]
    pub fn query(db: &mut PgHandle, sql: &str) -> HostResult<Array> {
        let rows = fetch(db, sql, &Array::new(), None)?;
        rows_to_array(&db.0, rows)
    }

    /// Rows with parameters `$1, $2 …` bound from `params`, never
    /// formatted into the SQL.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let rows = db.query("SELECT role, count(*) AS n FROM users WHERE created_at > $1 GROUP BY role", [time::ago("7d")]);
    /// ```
    #[rhai_fn(global, name = "query", return_raw, pure)]
    pub fn query_params(db: &mut PgHandle, sql: &str, params: Array) -> HostResult<Array> {
        let rows = fetch(db, sql, &params, None)?;
        rows_to_array(&db.0, rows)
    }

    /// Rows, with options `#{timeout}`: this statement's own timeout
    /// instead of the target's `statement_timeout`.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "query", return_raw, pure)]
    pub fn query_opts(db: &mut PgHandle, sql: &str, params: Array, options: Map) -> HostResult<Array> {
        let rows = fetch(db, sql, &params, timeout_opt(&options)?)?;
        rows_to_array(&db.0, rows)
    }

    /// Exactly one row, as a map; an error when there are none or several.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "query_one", return_raw, pure)]
    pub fn query_one(db: &mut PgHandle, sql: &str) -> HostResult<Map> {
        query_one_params(db, sql, Array::new())
    }

    /// Exactly one row, with parameters.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "query_one", return_raw, pure)]
    pub fn query_one_params(db: &mut PgHandle, sql: &str, params: Array) -> HostResult<Map> {
        let rows = fetch(db, sql, &params, None)?;
        match rows.len() {
            1 => convert::row_to_map(&rows[0]).map_err(|e| error(&who(&db.0), e)),
            n => Err(error(&who(&db.0), format!("query_one expected one row, got {n}"))),
        }
    }

    /// The first column of the first row (`()` when there is no row).
    ///
    /// *read-only*
    #[rhai_fn(global, name = "scalar", return_raw, pure)]
    pub fn scalar(db: &mut PgHandle, sql: &str) -> HostResult<Dynamic> {
        scalar_params(db, sql, Array::new())
    }

    /// The first column of the first row, with parameters.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "scalar", return_raw, pure)]
    pub fn scalar_params(db: &mut PgHandle, sql: &str, params: Array) -> HostResult<Dynamic> {
        let rows = fetch(db, sql, &params, None)?;
        match rows.first() {
            None => Ok(Dynamic::UNIT),
            Some(r) if sqlx::Row::columns(r).is_empty() => Ok(Dynamic::UNIT),
            Some(r) => convert::value(r, 0).map_err(|e| error(&who(&db.0), e)),
        }
    }

    /// Run one statement that changes something; returns the rows
    /// affected. Without parameters it runs outside any transaction block,
    /// so `VACUUM ANALYZE`, `REINDEX DATABASE` and `VACUUM FULL` work.
    /// What it does is read by PostgreSQL's own parser: a statement that
    /// deletes rows anywhere (a `WITH … DELETE`, `EXPLAIN ANALYZE DELETE`),
    /// truncates, drops a table or a column, updates every row, or runs a
    /// `DO` block is data-losing, and so is anything it cannot classify.
    /// Under `--dry-run` it runs in a transaction that is rolled back and
    /// says how many rows it would touch ("would delete 49 rows from
    /// votes"); what cannot run in a transaction (VACUUM, CREATE INDEX
    /// CONCURRENTLY) only says "would run".
    ///
    /// *mutating* (*data-losing* by what the statement does)
    #[rhai_fn(global, name = "execute", return_raw, pure)]
    pub fn execute(db: &mut PgHandle, sql: &str) -> HostResult<rhai::INT> {
        execute_params(db, sql, Array::new())
    }

    /// Run a statement with parameters; returns the rows affected.
    ///
    /// *mutating* (*data-losing* by what the statement does)
    #[rhai_fn(global, name = "execute", return_raw, pure)]
    pub fn execute_params(db: &mut PgHandle, sql: &str, params: Array) -> HostResult<rhai::INT> {
        execute::execute(&db.0, sql, &params, &Map::new())
    }

    /// Run statements with parameters and options `#{multiple: true}`:
    /// several statements in one call (without parameters), which
    /// otherwise is refused so that a `SELECT 1; DELETE …` cannot pass as
    /// its first statement.
    ///
    /// *mutating* (by what the statements do, as PostgreSQL's parser reads them)
    #[rhai_fn(global, name = "execute", return_raw, pure)]
    pub fn execute_opts(db: &mut PgHandle, sql: &str, params: Array, options: Map) -> HostResult<rhai::INT> {
        execute::execute(&db.0, sql, &params, &options)
    }

    /// `#{version, database, size_bytes, connections, max_connections,
    /// connection_pct}` of the server and database.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "info", return_raw, pure)]
    pub fn info(db: &mut PgHandle) -> HostResult<Map> {
        let mut m = query_one(
            db,
            "SELECT current_setting('server_version') AS version, current_database() AS database, \
             pg_database_size(current_database()) AS size_bytes, \
             (SELECT count(*) FROM pg_stat_activity) AS connections, \
             current_setting('max_connections')::int AS max_connections",
        )?;
        let c = m.get("connections").and_then(|v| v.as_int().ok()).unwrap_or(0) as f64;
        let max = m.get("max_connections").and_then(|v| v.as_int().ok()).unwrap_or(0) as f64;
        let pct = if max > 0.0 { (c * 1000.0 / max).round() / 10.0 } else { 0.0 };
        m.insert("connection_pct".into(), Dynamic::from_float(pct));
        Ok(m)
    }

    /// Whether an extension (e.g. "pg_stat_statements") is installed in
    /// this database.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "has_extension", return_raw, pure)]
    pub fn has_extension(db: &mut PgHandle, name: &str) -> HostResult<bool> {
        let v = scalar_params(
            db,
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)",
            vec![Dynamic::from(name.to_string())],
        )?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// The target's name (or its URL, password masked).
    ///
    /// *read-only*
    #[rhai_fn(global, get = "name", pure)]
    pub fn name(db: &mut PgHandle) -> String {
        db.0.name.clone()
    }

    /// An identifier quoted for SQL: `pg::quote_ident("order")` → `"order"`.
    /// For table and column names, which cannot be parameters.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(pg::quote_ident("we\"ird") == `"we""ird"`, "quoted");
    /// ```
    pub fn quote_ident(name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// Dump a database with the real `pg_dump` into `path` (gzip by
    /// default): streamed, so memory stays flat; written to a temporary file
    /// renamed into place only when pg_dump succeeded, so a failed dump
    /// never looks like a backup. Returns `#{path, bytes, sha256,
    /// duration_ms}`.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn dump(target: &str, path: &str) -> HostResult<Map> {
        dump_with(target, path, Map::new())
    }

    /// `pg::dump` with options `#{gzip, format: "plain"|"custom", tables}`.
    ///
    /// *mutating*
    #[rhai_fn(name = "dump", return_raw)]
    pub fn dump_with(target: &str, path: &str, options: Map) -> HostResult<Map> {
        dump::dump(target, path, options)
    }

    /// Load a plain (`.sql`, `.sql.gz`) or custom-format dump into a
    /// target database, with `psql --single-transaction` or `pg_restore
    /// --clean`. Returns `#{format, duration_ms}`.
    ///
    /// *data-losing*
    #[rhai_fn(return_raw)]
    pub fn restore(target: &str, path: &str) -> HostResult<Map> {
        dump::restore(target, path)
    }
}

#[cfg(test)]
mod connect_advice_tests {
    /// A server whose pg_hba.conf has only `hostssl` lines answers a
    /// plain connection with 28000 "… no encryption".
    #[test]
    fn a_server_that_takes_only_tls_says_to_require_it() {
        let msg = r#"no pg_hba.conf entry for host "10.0.0.5", user "civicq", database "civicq", no encryption"#;
        assert_eq!(
            super::connect_advice("28000", msg),
            Some("the server takes only TLS connections: set sslmode = \"require\" on the target")
        );
        assert_eq!(super::connect_advice("42601", "syntax error"), None);
    }
}
