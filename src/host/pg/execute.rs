//! `db.execute`: judged by what PostgreSQL's parser says each statement
//! does ([`classify`]), one statement per call unless the script asks for
//! several, and under `--dry-run` tried in a transaction that is rolled
//! back, so the dry run can say how many rows it would touch.

use rhai::{Array, Map};

use super::classify::{self, Effect, Statement};
use super::connect::Target;
use super::{convert, db_error, who};
use crate::engine::context::ctx;
use crate::engine::runtime;
use crate::host::{error, HostResult};

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

const SCS_ON: &str = "SET standard_conforming_strings = on";

/// A function defined in the database (not PostgreSQL's own) may do
/// anything, which no parse can see: a statement that calls one is
/// data-losing, and a dry run does not run it.
fn judge_functions(t: &Target, stmts: &mut [Statement]) -> HostResult<()> {
    let names: Vec<String> = stmts.iter().flat_map(|s| s.functions.iter().map(|f| f.to_ascii_lowercase())).collect();
    if names.is_empty() {
        return Ok(());
    }
    let pool = t.read.clone();
    let defined: Vec<String> = runtime::block_on(async {
        sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.proname = ANY($1) AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        )
        .bind(&names)
        .fetch_all(&pool)
        .await
    })?
    .map_err(|e| db_error(t, e))?;
    for s in stmts.iter_mut() {
        if s.functions.iter().any(|f| defined.contains(&f.to_ascii_lowercase())) {
            s.rollback_safe = false;
            if s.effect != Effect::DataLosing {
                s.effect = Effect::DataLosing;
                s.why = Some("calls a function defined in the database, which runbook cannot see into");
            }
        }
    }
    Ok(())
}

pub fn execute(t: &Target, sql: &str, params: &Array, options: &Map) -> HostResult<rhai::INT> {
    let multiple = crate::host::opts::Opts::new("pg execute", options)?.bool("multiple")?.unwrap_or(false);
    let mut stmts = classify::classify(sql);
    if stmts.len() > 1 && !multiple {
        return Err(error(
            &who(t),
            format!(
                "{} statements in one execute: one call each, or #{{multiple: true}} to run them together (each is judged on its own)",
                stmts.len()
            ),
        ));
    }
    if stmts.len() > 1 && !params.is_empty() {
        return Err(error(&who(t), "parameters bind to one statement: run the statements one call each"));
    }
    judge_functions(t, &mut stmts)?;
    let ps: Vec<String> = params.iter().map(convert::show_param).collect();
    let with = if ps.is_empty() { String::new() } else { format!(" with [{}]", ps.join(", ")) };
    let shown = || format!("execute on {}: {}{with}", t.name, one_line(sql));
    if ctx().dry_run() {
        return dry_run(t, sql, params, &stmts, &with);
    }
    match stmts.iter().find(|s| s.effect == Effect::DataLosing) {
        Some(s) => {
            let why = s.why.unwrap_or("loses data");
            crate::engine::guard::data_losing(&who(t), || format!("{} ({why})", shown()))?;
        }
        None => {
            crate::engine::guard::mutating(shown);
        }
    }
    let sql = sql.to_string();
    let pool = t.write().clone();
    let affected = runtime::block_on(async {
        let cancel = t.cancel_on_abandon();
        let done = async {
            t.reachable().await?;
            let mut conn = pool.acquire().await?;
            // An earlier statement may have turned it off; the classification
            // above read the SQL with it on.
            sqlx::raw_sql(SCS_ON).execute(&mut *conn).await?;
            if params.is_empty() {
                sqlx::raw_sql(&sql).execute(&mut *conn).await
            } else {
                let q = convert::bind(sqlx::query(&sql), params).map_err(sqlx::Error::Protocol)?;
                q.execute(&mut *conn).await
            }
        }
        .await;
        cancel.done();
        done
    })?
    .map_err(|e| db_error(t, e))?;
    Ok(affected.rows_affected() as rhai::INT)
}

/// Every statement in one transaction that is rolled back, each one's row
/// count in a "would …" line; when any of them cannot run in a
/// transaction (or a rollback would not undo it), none is run and each
/// "would run".
fn dry_run(t: &Target, sql: &str, params: &Array, stmts: &[Statement], with: &str) -> HostResult<rhai::INT> {
    if !stmts.iter().all(|s| s.rollback_safe) {
        for s in stmts {
            crate::report::dry_run_line(&format!("run on {}: {}{with}", t.name, one_line(&s.sql)));
        }
        return Ok(0);
    }
    let pool = t.write().clone();
    let single = stmts.len() == 1;
    let sql = sql.to_string();
    let texts: Vec<String> = stmts.iter().map(|s| s.sql.clone()).collect();
    let counts = runtime::block_on(async {
        let cancel = t.cancel_on_abandon();
        let done = async {
            t.reachable().await?;
            let mut tx = pool.begin().await?;
            // A dry run must not queue behind production's locks for long.
            sqlx::raw_sql(&format!("{SCS_ON}; SET LOCAL lock_timeout = '5s'")).execute(&mut *tx).await?;
            let mut counts = Vec::new();
            if single && !params.is_empty() {
                let q = convert::bind(sqlx::query(&sql), params).map_err(sqlx::Error::Protocol)?;
                counts.push(q.execute(&mut *tx).await?.rows_affected());
            } else {
                for text in &texts {
                    counts.push(sqlx::raw_sql(text).execute(&mut *tx).await?.rows_affected());
                }
            }
            tx.rollback().await?;
            Ok::<_, sqlx::Error>(counts)
        }
        .await;
        cancel.done();
        done
    })?
    .map_err(|e| db_error(t, e))?;
    for (s, n) in stmts.iter().zip(&counts) {
        let line = match &s.rows {
            Some((verb, table)) => {
                let rows = if *n == 1 { "row" } else { "rows" };
                format!("{verb} {n} {rows} {table} on {}: {}{with}", t.name, one_line(&s.sql))
            }
            None => format!("execute on {}: {}{with}", t.name, one_line(&s.sql)),
        };
        crate::report::dry_run_line(&line);
    }
    Ok(counts.iter().sum::<u64>() as rhai::INT)
}
