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
    /// How a cancel connects (the read settings: it only asks).
    cancel: Arc<PgConnectOptions>,
    /// The read connection kept between calls: a script asks one question
    /// at a time, and returning a connection to the pool and taking it back
    /// costs as much as a short query.
    held: Mutex<Option<PoolConnection<Postgres>>>,
    write: OnceLock<PgPool>,
    /// Whether the server's port answered once (see [`Target::reachable`]).
    reached: std::sync::atomic::AtomicBool,
    /// pg_dump and friends get the connection through PG* variables.
    pub env: Vec<(&'static str, String)>,
    /// How a compose service's address was found, for connect errors.
    pub via: Option<String>,
    pub tools: Tools,
}

#[derive(Clone)]
pub struct Tools {
    pub pg_dump: String,
    pub pg_restore: String,
    pub psql: String,
}

static TARGETS: Mutex<Option<HashMap<String, Arc<Target>>>> = Mutex::new(None);

fn dur(v: &Option<crate::duration::Written>, default: Duration) -> Result<Duration, String> {
    Ok(v.as_ref().map(|t| t.value).unwrap_or(default))
}

/// The cached target for a config name or a postgres:// URL; `func`
/// names the caller in errors.
pub fn target(func: &str, name_or_url: &str) -> crate::host::HostResult<Arc<Target>> {
    use crate::host::error;
    if let Some(t) = TARGETS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).get(name_or_url)
    {
        return Ok(t.clone());
    }
    let cfg = &ctx().config;
    let mut spec: PostgresTarget = if name_or_url.starts_with("postgres://") || name_or_url.starts_with("postgresql://")
    {
        crate::redact::add_url_credentials(name_or_url);
        PostgresTarget { url: Some(name_or_url.to_string()), ..Default::default() }
    } else {
        cfg.postgres.get(name_or_url).cloned().ok_or_else(|| {
            error(func, format!("{}; a postgres:// URL works too", cfg.missing_target("postgres", name_or_url)))
        })?
    };
    let mut via = None;
    if let Some(service) = spec.service.clone() {
        let a = crate::host::docker::address::of_service(func, &service)?;
        spec.host = Some(a.ip.to_string());
        spec.port = Some(a.port(spec.port, 5432));
        via = Some(format!("compose service {service}: {}", a.origin()));
    }
    let mut built = build(name_or_url, &spec).map_err(|e| error(func, e))?;
    built.via = via;
    let t = Arc::new(built);
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
    // Each session says which process it serves, so a cancel finds
    // exactly this run's statements (see `cancel_on_abandon`).
    o = o.application_name(&application_name());
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
    let cancel = Arc::new(read_opts.clone().application_name("runbook cancel"));
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
    // pg_dump's session too is this run's, for a cancel to find.
    env.push(("PGAPPNAME", application_name()));
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
        cancel,
        held: Mutex::new(None),
        write: OnceLock::new(),
        reached: std::sync::atomic::AtomicBool::new(false),
        env,
        via: None,
        tools: Tools {
            pg_dump: spec.pg_dump.clone().unwrap_or_else(|| "pg_dump".into()),
            pg_restore: spec.pg_restore.clone().unwrap_or_else(|| "pg_restore".into()),
            psql: spec.psql.clone().unwrap_or_else(|| "psql".into()),
        },
    })
}

/// `runbook (pid N, TOKEN)`: the application_name of this process's
/// sessions. The random token keeps it unique beyond this host: in
/// containers every runbook may be pid 1, and a cancel must reach this
/// run's statements only.
pub fn application_name() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        format!("runbook (pid {}, {:08x})", std::process::id(), h.finish() as u32)
    })
    .clone()
}

/// The read connection lent to one call. Given back, it is held for the
/// next call; dropped otherwise (an I/O error, or the call abandoned in the
/// middle of its transaction by the deadline or a signal), it is closed,
/// never returned to the pool half-way through a transaction.
pub struct Lent<'t> {
    t: &'t Target,
    conn: Option<PoolConnection<Postgres>>,
}

impl Lent<'_> {
    #[allow(clippy::expect_used, reason = "only Drop takes the connection back")]
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.conn.as_mut().expect("a lent connection until given back")
    }
    pub fn give_back(mut self) {
        *self.t.held.lock().unwrap_or_else(|e| e.into_inner()) = self.conn.take();
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            c.close_on_drop();
        }
    }
}

impl Target {
    /// The held read connection, or a new one from the pool.
    pub async fn take_read(&self) -> Result<Lent<'_>, sqlx::Error> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        let conn = match held {
            Some(c) => c,
            None => {
                self.reachable().await?;
                self.read.acquire().await?
            }
        };
        Ok(Lent { t: self, conn: Some(conn) })
    }

    /// Before the first connection, whether the server's TCP port answers
    /// at all. The pool retries a refused connection until its acquire
    /// timeout, so a server that is down would cost the whole connect
    /// timeout and end in "timed out"; one plain connect says "refused" or
    /// "no such host" at once. A Unix socket is left to the driver.
    pub async fn reachable(&self) -> Result<(), sqlx::Error> {
        use std::sync::atomic::Ordering;
        let host = self.options.get_host();
        if self.reached.load(Ordering::Relaxed) || host.starts_with('/') {
            return Ok(());
        }
        let port = self.options.get_port();
        match tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect((host, port))).await {
            Ok(Ok(_)) => {
                self.reached.store(true, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => Err(sqlx::Error::Io(e)),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// A guard for a call's statements: if the call is abandoned (the
    /// run's deadline, Ctrl-C, SIGTERM) before [`OnAbandon::done`], the
    /// server is asked to cancel what this process still runs there, so a
    /// timed-out `VACUUM FULL` does not keep its locks after the run ends.
    /// A cancel request proper needs the session's secret key, which sqlx
    /// keeps to itself; `pg_cancel_backend` from a new session of the same
    /// role does the same.
    pub fn cancel_on_abandon(&self) -> crate::engine::runtime::OnAbandon {
        crate::engine::runtime::OnAbandon::new(self.cancel_statements())
    }

    /// Cancel now what this process runs on the server: for the tools
    /// (pg_dump, psql), whose session outlives a killed client while it
    /// waits on a lock.
    pub fn cancel_now(&self) {
        let cancel = self.cancel_statements();
        crate::engine::runtime::runtime().block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(5), cancel).await;
        });
    }

    fn cancel_statements(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let options = self.cancel.clone();
        async move {
            use sqlx::Connection;
            let Ok(mut c) = sqlx::PgConnection::connect_with(&options).await else { return };
            let _ = sqlx::query(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1 AND state <> 'idle' AND pid <> pg_backend_pid()",
            )
            .bind(application_name())
            .execute(&mut c)
            .await;
            let _ = c.close().await;
        }
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
