//! `--lock` across a fleet: with the history on PostgreSQL, the lock is a
//! session-level advisory lock there, taken on a connection of its own and
//! held for the whole run. PostgreSQL drops it when that session ends,
//! however the holder ends (a SIGKILL closes its socket, and the server
//! ends the session), so no machine leaves a stale lock behind, and two
//! machines never run the same job at once.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::postgres::block;

/// Held for the life of the run; dropping it ends the session, which
/// releases the lock.
pub struct FleetLock {
    _conn: PgConnection,
}

/// What a second taker learns: who holds the lock.
pub enum Taken {
    Held(FleetLock),
    /// Held elsewhere: the holder's application name ("runbook lock
    /// backup-db (host db1, pid 4242, since …)"), if it can be seen.
    Busy(Option<String>),
}

/// The advisory lock's key: a 64-bit hash of the lock's name, computed by
/// the server (`hashtextextended`), so that every machine agrees.
const KEY: &str = "hashtextextended('runbook lock ' || $1, 0)";

/// Try once to take the lock `name` on the history's PostgreSQL at `url`.
pub fn try_take(url: &str, name: &str, host: &str) -> Result<Taken, String> {
    crate::redact::add_url_credentials(url);
    let me = format!(
        "runbook lock {name} (host {host}, pid {}, since {})",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
    // application_name is at most 63 bytes; cut on a character boundary.
    let mut shown = me.clone();
    while shown.len() > 63 {
        shown.pop();
    }
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("[history] url: bad postgres URL: {e}"))?
        .application_name(&shown)
        .disable_statement_logging();
    let mut conn = block(PgConnection::connect_with(&options))?;
    let got: bool =
        block(sqlx::query_scalar(&format!("SELECT pg_try_advisory_lock({KEY})")).bind(name).fetch_one(&mut conn))?;
    if got {
        return Ok(Taken::Held(FleetLock { _conn: conn }));
    }
    let holder: Option<String> = block(
        sqlx::query_scalar(&format!(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted \
               AND ((l.classid::bigint << 32) | l.objid::bigint) = {KEY} LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(&mut conn),
    )
    .unwrap_or(None);
    let _ = block(conn.close());
    Ok(Taken::Busy(holder))
}
