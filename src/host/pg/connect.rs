//! Targets → pools. One read pool (every session READ ONLY, set in the
//! startup packet, so a read costs one round trip) and, on first write, one
//! write pool, per target per run.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::Postgres;

use crate::config::PostgresTarget;
use crate::engine::context::ctx;

pub struct Target {
    /// What the operator wrote: a config name, or the URL (redacted).
    pub name: String,
    pub options: PgConnectOptions,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    pub read: PgPool,
    /// The read connection kept between calls: a script asks one question
    /// at a time, and returning a connection to the pool and taking it back
    /// costs as much as a short query.
    held: Mutex<Option<PoolConnection<Postgres>>>,
    write: OnceLock<PgPool>,
    /// pg_dump and friends get the connection through PG* variables.
    pub env: Vec<(&'static str, String)>,
    pub tools: Tools,
}

#[derive(Clone)]
pub struct Tools {
    pub pg_dump: String,
    pub pg_restore: String,
    pub psql: String,
}

static TARGETS: Mutex<Option<HashMap<String, Arc<Target>>>> = Mutex::new(None);

fn dur(v: &Option<String>, default: Duration) -> Result<Duration, String> {
    match v {
        Some(s) => crate::duration::parse(s),
        None => Ok(default),
    }
}

/// The cached target for a config name or a postgres:// URL.
pub fn target(name_or_url: &str) -> Result<Arc<Target>, String> {
    if let Some(t) = TARGETS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).get(name_or_url)
    {
        return Ok(t.clone());
    }
    let cfg = &ctx().config;
    let spec: PostgresTarget = if name_or_url.starts_with("postgres://") || name_or_url.starts_with("postgresql://") {
        crate::redact::add_url_credentials(name_or_url);
        PostgresTarget { url: Some(name_or_url.to_string()), ..Default::default() }
    } else {
        cfg.postgres
            .get(name_or_url)
            .cloned()
            .ok_or_else(|| format!("{}; a postgres:// URL works too", cfg.missing_target("postgres", name_or_url)))?
    };
    let t = Arc::new(build(name_or_url, &spec)?);
    TARGETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(name_or_url.to_string(), t.clone());
    Ok(t)
}

fn build(name: &str, spec: &PostgresTarget) -> Result<Target, String> {
    let mut o = match &spec.url {
        Some(url) => PgConnectOptions::from_str(url).map_err(|e| format!("bad postgres URL: {e}"))?,
        None => PgConnectOptions::new_without_pgpass(),
    };
    if let Some(h) = &spec.host {
        o = o.host(h);
    }
    if let Some(p) = spec.port {
        o = o.port(p);
    }
    if let Some(d) = &spec.database {
        o = o.database(d);
    }
    if let Some(u) = &spec.user {
        o = o.username(u);
    }
    if let Some(p) = spec.password.as_deref().filter(|p| !p.is_empty()) {
        o = o.password(p);
    }
    if let Some(m) = &spec.sslmode {
        o = o.ssl_mode(PgSslMode::from_str(m).map_err(|_| {
            format!("sslmode `{m}` is not one of disable, allow, prefer, require, verify-ca, verify-full")
        })?);
    }
    o = o.application_name("runbook");
    let connect_timeout = dur(&spec.connect_timeout, Duration::from_secs(5))?;
    let statement_timeout = dur(&spec.statement_timeout, Duration::from_secs(30))?;
    let ms = statement_timeout.as_millis().to_string();
    // The parser that classifies SQL reads strings as PostgreSQL does with
    // standard_conforming_strings on: the session must agree, or `'a\'`
    // ends a string for one and not the other.
    let read_opts = o.clone().options([
        ("default_transaction_read_only", "on"),
        ("statement_timeout", ms.as_str()),
        ("standard_conforming_strings", "on"),
    ]);
    let read = PgPoolOptions::new()
        .max_connections(4)
        .min_connections(0)
        .acquire_timeout(connect_timeout)
        .connect_lazy_with(read_opts);
    let mut env = vec![("PGHOST", o.get_host().to_string()), ("PGPORT", o.get_port().to_string())];
    if let Some(db) = o.get_database() {
        env.push(("PGDATABASE", db.to_string()));
    }
    env.push(("PGUSER", o.get_username().to_string()));
    if let Some(p) = spec.password.as_deref().filter(|p| !p.is_empty()) {
        env.push(("PGPASSWORD", p.to_string()));
    } else if let Some(url) = &spec.url {
        if let Some(pw) = crate::redact::url_password(url) {
            env.push(("PGPASSWORD", pw));
        }
    }
    if let Some(m) = &spec.sslmode {
        env.push(("PGSSLMODE", m.clone()));
    }
    env.push(("PGCONNECT_TIMEOUT", connect_timeout.as_secs().max(1).to_string()));
    let display = if spec.url.is_some() && name.contains("://") {
        crate::redact::apply(name).into_owned()
    } else {
        name.to_string()
    };
    Ok(Target {
        name: display,
        options: o,
        connect_timeout,
        statement_timeout,
        read,
        held: Mutex::new(None),
        write: OnceLock::new(),
        env,
        tools: Tools {
            pg_dump: spec.pg_dump.clone().unwrap_or_else(|| "pg_dump".into()),
            pg_restore: spec.pg_restore.clone().unwrap_or_else(|| "pg_restore".into()),
            psql: spec.psql.clone().unwrap_or_else(|| "psql".into()),
        },
    })
}

impl Target {
    /// The held read connection, or a new one from the pool.
    pub async fn take_read(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        match held {
            Some(c) => Ok(c),
            None => self.read.acquire().await,
        }
    }

    /// Keep a connection for the next call (not after an I/O error: the
    /// pool replaces broken connections).
    pub fn give_back(&self, conn: PoolConnection<Postgres>) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
    }

    /// The pool for writes, made on the first write.
    pub fn write(&self) -> &PgPool {
        self.write.get_or_init(|| {
            // sqlx spawns the pool's housekeeping on the current runtime.
            let _enter = crate::engine::runtime::runtime().enter();
            let ms = self.statement_timeout.as_millis().to_string();
            PgPoolOptions::new()
                .max_connections(2)
                .min_connections(0)
                .acquire_timeout(self.connect_timeout)
                .connect_lazy_with(
                    self.options
                        .clone()
                        .options([("statement_timeout", ms.as_str()), ("standard_conforming_strings", "on")]),
                )
        })
    }
}
