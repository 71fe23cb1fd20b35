//! `redis`: a multiplexed connection per target, commands with timeouts,
//! SCAN-based pattern operations (never KEYS), and the safety model:
//! deleting and flushing are data-losing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::engine::context::ctx;
use crate::engine::runtime;
use crate::host::{error, HostResult};

/// A connection handle; clones share the connection.
#[derive(Clone)]
pub struct RedisHandle(Arc<Conn>);

pub struct Conn {
    name: String,
    con: MultiplexedConnection,
}

static CONNS: Mutex<Option<HashMap<String, Arc<Conn>>>> = Mutex::new(None);

fn who(c: &Conn) -> String {
    format!("redis ({})", c.name)
}

/// Commands that change only this connection (which database it reads,
/// its name): not mutations, so a dry run runs them and its later reads
/// see what the real run's would.
fn connection_state(name: &str, args: &[String]) -> bool {
    let sub = args.get(1).map(|a| a.to_ascii_uppercase());
    match name {
        "SELECT" => true,
        "CLIENT" => matches!(sub.as_deref(), Some("SETNAME" | "GETNAME" | "ID" | "INFO" | "SETINFO")),
        _ => false,
    }
}

/// Commands that only read; every other command counts as mutating.
const READ_ONLY: &[&str] = &[
    "PING",
    "ECHO",
    "GET",
    "MGET",
    "EXISTS",
    "TTL",
    "PTTL",
    "TYPE",
    "STRLEN",
    "GETRANGE",
    "HGET",
    "HGETALL",
    "HMGET",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HEXISTS",
    "LRANGE",
    "LLEN",
    "LINDEX",
    "SMEMBERS",
    "SCARD",
    "SISMEMBER",
    "ZRANGE",
    "ZCARD",
    "ZSCORE",
    "ZRANK",
    "ZCOUNT",
    "SCAN",
    "SSCAN",
    "HSCAN",
    "ZSCAN",
    "DBSIZE",
    "INFO",
    "LASTSAVE",
    "TIME",
    "MEMORY",
    "OBJECT",
    "CLIENT",
    "CONFIG",
    "SLOWLOG",
    "LATENCY",
    "ROLE",
    "XLEN",
    "XRANGE",
    "XINFO",
    "PFCOUNT",
    "KEYS",
    "RANDOMKEY",
    "COMMAND",
];

fn url_for(name: &str) -> HostResult<(String, Duration, Duration)> {
    const F: &str = "redis::connect";
    if name.starts_with("redis://") || name.starts_with("rediss://") {
        crate::redact::add_url_credentials(name);
        return Ok((name.to_string(), Duration::from_secs(3), Duration::from_secs(10)));
    }
    let cfg = &ctx().config;
    let t = cfg
        .redis
        .get(name)
        .ok_or_else(|| error(F, format!("{}; a redis:// URL works too", cfg.missing_target("redis", name))))?;
    let d = |v: &Option<crate::duration::Written>, default: u64| -> Duration {
        v.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(default))
    };
    let (mut host, mut port) = (t.host.clone().unwrap_or_else(|| "127.0.0.1".into()), t.port.unwrap_or(6379));
    if let Some(service) = &t.service {
        let a = crate::host::docker::address::of_service(F, service)?;
        host = a.ip.to_string();
        port = a.port(t.port, 6379);
    }
    let url = match &t.url {
        Some(u) => u.clone(),
        None => {
            let scheme = if t.tls.unwrap_or(false) { "rediss" } else { "redis" };
            let enc = crate::redact::percent_encode;
            let auth = match (&t.username, t.password.as_deref().filter(|p| !p.is_empty())) {
                (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(p)),
                (None, Some(p)) => format!(":{}@", enc(p)),
                (Some(u), None) => format!("{}@", enc(u)),
                (None, None) => String::new(),
            };
            format!("{scheme}://{auth}{host}:{port}/{}", t.db.unwrap_or(0))
        }
    };
    Ok((url, d(&t.connect_timeout, 3), d(&t.command_timeout, 10)))
}

fn connect_conn(name: &str) -> HostResult<Arc<Conn>> {
    if let Some(c) = CONNS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).get(name) {
        return Ok(c.clone());
    }
    let shown = if name.contains("://") { crate::redact::apply(name).into_owned() } else { name.to_string() };
    let (url, connect_timeout, response_timeout) = url_for(name)?;
    let client = redis::Client::open(url.as_str()).map_err(|e| error(&format!("redis ({shown})"), e))?;
    let cfg = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout));
    let con = runtime::block_on(async move {
        let mut con = client.get_multiplexed_async_connection_with_config(&cfg).await?;
        // A wrong password or an unreachable server must show up now.
        redis::cmd("PING").query_async::<Value>(&mut con).await?;
        Ok::<_, redis::RedisError>(con)
    })?
    .map_err(|e| error(&format!("redis ({shown})"), explain(&e, connect_timeout)))?;
    let c = Arc::new(Conn { name: shown, con });
    CONNS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(name.to_string(), c.clone());
    Ok(c)
}

fn explain(e: &redis::RedisError, connect_timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {}", crate::duration::format(connect_timeout))
    } else if e.is_connection_refusal() {
        format!("connection refused: is the server up? ({e})")
    } else {
        e.to_string()
    }
}

fn run(c: &Conn, argv: Vec<Vec<u8>>) -> HostResult<Value> {
    let mut con = c.con.clone();
    let mut cmd = redis::Cmd::new();
    for a in &argv {
        cmd.arg(a.as_slice());
    }
    runtime::block_on(async move { cmd.query_async::<Value>(&mut con).await })?
        .map_err(|e| error(&who(c), explain(&e, Duration::from_secs(0))))
}

fn cmd(c: &Conn, args: &[&str]) -> HostResult<Value> {
    run(c, args.iter().map(|a| a.as_bytes().to_vec()).collect())
}

pub fn to_dynamic(v: Value) -> Dynamic {
    match v {
        Value::Nil => Dynamic::UNIT,
        Value::Int(i) => Dynamic::from_int(i),
        Value::BulkString(b) => match String::from_utf8(b) {
            Ok(s) => Dynamic::from(s),
            Err(e) => Dynamic::from_blob(e.into_bytes()),
        },
        Value::SimpleString(s) => Dynamic::from(s),
        Value::Okay => Dynamic::from("OK"),
        Value::Array(a) | Value::Set(a) => Dynamic::from_array(a.into_iter().map(to_dynamic).collect()),
        Value::Map(kv) => {
            let mut m = Map::new();
            for (k, v) in kv {
                m.insert(to_dynamic(k).to_string().into(), to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
        Value::Double(d) => Dynamic::from_float(d),
        Value::Boolean(b) => Dynamic::from_bool(b),
        Value::VerbatimString { text, .. } => Dynamic::from(text),
        Value::BigNumber(n) => Dynamic::from(String::from_utf8_lossy(&n).into_owned()),
        Value::Attribute { data, .. } => to_dynamic(*data),
        Value::Push { data, .. } => Dynamic::from_array(data.into_iter().map(to_dynamic).collect()),
        Value::ServerError(e) => Dynamic::from(format!("{e:?}")),
        #[allow(unreachable_patterns, reason = "redis::Value is non-exhaustive across versions")]
        _ => Dynamic::UNIT,
    }
}

fn text(v: Value) -> String {
    to_dynamic(v).to_string()
}

/// INFO's "key:value" lines, numbers parsed.
pub fn parse_info(s: &str) -> Map {
    let mut m = Map::new();
    for line in s.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            let d = if let Ok(i) = v.parse::<i64>() {
                Dynamic::from_int(i)
            } else if let Ok(f) = v.parse::<f64>() {
                Dynamic::from_float(f)
            } else {
                Dynamic::from(v.to_string())
            };
            m.insert(k.trim().into(), d);
        }
    }
    m
}

fn info_map(c: &Conn, section: Option<&str>) -> HostResult<Map> {
    let v = match section {
        Some(s) => cmd(c, &["INFO", s])?,
        None => cmd(c, &["INFO"])?,
    };
    Ok(parse_info(&text(v)))
}

fn int_of(m: &Map, k: &str) -> i64 {
    m.get(k).and_then(|v| v.as_int().ok()).unwrap_or(0)
}

/// Every key matching `pattern`, by SCAN in batches.
fn scan_keys(c: &Conn, pattern: &str, mut each: impl FnMut(Vec<Vec<u8>>) -> HostResult<()>) -> HostResult<u64> {
    let mut cursor = "0".to_string();
    let mut total = 0u64;
    loop {
        let v = cmd(c, &["SCAN", &cursor, "MATCH", pattern, "COUNT", "1000"])?;
        let Value::Array(parts) = v else { return Err(error(&who(c), "unexpected SCAN reply")) };
        let mut it = parts.into_iter();
        cursor = it.next().map(text).unwrap_or_else(|| "0".into());
        let keys: Vec<Vec<u8>> = match it.next() {
            Some(Value::Array(ks)) => ks
                .into_iter()
                .filter_map(|k| match k {
                    Value::BulkString(b) => Some(b),
                    Value::SimpleString(s) => Some(s.into_bytes()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        total += keys.len() as u64;
        if !keys.is_empty() {
            each(keys)?;
        }
        if cursor == "0" {
            return Ok(total);
        }
    }
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod redis_functions {
    use super::*;

    /// Connect to a `[redis.NAME]` target or a redis:// URL, and PING it,
    /// so a wrong password or a server that is down fails here, within the
    /// connect timeout (default 3s), naming the target.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let r = redis::connect("cache");
    /// print(r.ping());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn connect(target: &str) -> HostResult<RedisHandle> {
        connect_conn(target).map(RedisHandle)
    }

    /// PING: "PONG" from a healthy server.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "ping", return_raw, pure)]
    pub fn ping(r: &mut RedisHandle) -> HostResult<String> {
        Ok(text(cmd(&r.0, &["PING"])?))
    }

    /// INFO as a map, numbers parsed (`used_memory`, `keyspace_hits` …).
    ///
    /// *read-only*
    #[rhai_fn(global, name = "info", return_raw, pure)]
    pub fn info(r: &mut RedisHandle) -> HostResult<Map> {
        info_map(&r.0, None)
    }

    /// One INFO section ("memory", "stats", "persistence" …) as a map.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "info", return_raw, pure)]
    pub fn info_section(r: &mut RedisHandle, section: &str) -> HostResult<Map> {
        info_map(&r.0, Some(section))
    }

    /// The value of a key, or `()` when there is none.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn get(r: &mut RedisHandle, key: &str) -> HostResult<Dynamic> {
        Ok(to_dynamic(cmd(&r.0, &["GET", key])?))
    }

    /// Set a key to a value (its text).
    ///
    /// *mutating*
    #[rhai_fn(global, name = "set", return_raw, pure)]
    pub fn set(r: &mut RedisHandle, key: &str, value: Dynamic) -> HostResult<()> {
        let v = value.to_string();
        if !crate::engine::guard::mutating(|| format!("SET {key} on {}", r.0.name)) {
            return Ok(());
        }
        cmd(&r.0, &["SET", key, &v]).map(drop)
    }

    /// Set a key that expires after a duration ("1h").
    ///
    /// *mutating*
    #[rhai_fn(global, name = "set", return_raw, pure)]
    pub fn set_ex(r: &mut RedisHandle, key: &str, value: Dynamic, ttl: &str) -> HostResult<()> {
        let secs = crate::duration::parse(ttl).map_err(|e| error(&who(&r.0), e))?.as_secs().max(1).to_string();
        let v = value.to_string();
        if !crate::engine::guard::mutating(|| format!("SET {key} EX {secs} on {}", r.0.name)) {
            return Ok(());
        }
        cmd(&r.0, &["SET", key, &v, "EX", &secs]).map(drop)
    }

    /// Set a key that expires after a `Duration`.
    ///
    /// *mutating*
    #[rhai_fn(global, name = "set", return_raw, pure)]
    pub fn set_ex_span(r: &mut RedisHandle, key: &str, value: Dynamic, ttl: crate::host::time::Span) -> HostResult<()> {
        set_ex(r, key, value, &ttl.to_string())
    }

    /// Delete a key; returns how many were deleted (0 or 1).
    ///
    /// *data-losing*
    #[rhai_fn(global, name = "del", return_raw, pure)]
    pub fn del(r: &mut RedisHandle, key: &str) -> HostResult<rhai::INT> {
        if !crate::engine::guard::data_losing(&who(&r.0), || format!("delete key {key} on {}", r.0.name))? {
            return Ok(0);
        }
        Ok(to_dynamic(cmd(&r.0, &["DEL", key])?).as_int().unwrap_or(0))
    }

    /// Whether a key exists.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "exists", return_raw, pure)]
    pub fn exists(r: &mut RedisHandle, key: &str) -> HostResult<bool> {
        Ok(to_dynamic(cmd(&r.0, &["EXISTS", key])?).as_int().unwrap_or(0) > 0)
    }

    /// Seconds a key has left: -1 without expiry, -2 when it does not exist.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "ttl", return_raw, pure)]
    pub fn ttl(r: &mut RedisHandle, key: &str) -> HostResult<rhai::INT> {
        Ok(to_dynamic(cmd(&r.0, &["TTL", key])?).as_int().unwrap_or(-2))
    }

    /// Make a key expire after a `Duration`.
    ///
    /// *mutating*
    #[rhai_fn(global, name = "expire", return_raw, pure)]
    pub fn expire_span(r: &mut RedisHandle, key: &str, ttl: crate::host::time::Span) -> HostResult<bool> {
        expire(r, key, &ttl.to_string())
    }

    /// Make a key expire after a duration ("30m").
    ///
    /// *mutating*
    #[rhai_fn(global, name = "expire", return_raw, pure)]
    pub fn expire(r: &mut RedisHandle, key: &str, ttl: &str) -> HostResult<bool> {
        let secs = crate::duration::parse(ttl).map_err(|e| error(&who(&r.0), e))?.as_secs().max(1).to_string();
        if !crate::engine::guard::mutating(|| format!("EXPIRE {key} {secs} on {}", r.0.name)) {
            return Ok(false);
        }
        Ok(to_dynamic(cmd(&r.0, &["EXPIRE", key, &secs])?).as_int().unwrap_or(0) == 1)
    }

    /// Increment a counter; returns its new value.
    ///
    /// *mutating*
    #[rhai_fn(global, name = "incr", return_raw, pure)]
    pub fn incr(r: &mut RedisHandle, key: &str) -> HostResult<rhai::INT> {
        if !crate::engine::guard::mutating(|| format!("INCR {key} on {}", r.0.name)) {
            return Ok(0);
        }
        Ok(to_dynamic(cmd(&r.0, &["INCR", key])?).as_int().unwrap_or(0))
    }

    /// How many keys the current database holds.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "dbsize", return_raw, pure)]
    pub fn dbsize(r: &mut RedisHandle) -> HostResult<rhai::INT> {
        Ok(to_dynamic(cmd(&r.0, &["DBSIZE"])?).as_int().unwrap_or(0))
    }

    /// When the last successful save to disk happened (LASTSAVE).
    ///
    /// *read-only*
    #[rhai_fn(global, name = "lastsave", return_raw, pure)]
    pub fn lastsave(r: &mut RedisHandle) -> HostResult<crate::host::time::Timestamp> {
        let secs = to_dynamic(cmd(&r.0, &["LASTSAVE"])?).as_int().unwrap_or(0);
        Ok(crate::host::time::Timestamp(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()))
    }

    /// `#{used, max, pct, evicted_keys}`: bytes used, the `maxmemory`
    /// limit (0 when unlimited, then pct is `()`), and evictions so far.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "memory", return_raw, pure)]
    pub fn memory(r: &mut RedisHandle) -> HostResult<Map> {
        let mem = info_map(&r.0, Some("memory"))?;
        let stats = info_map(&r.0, Some("stats"))?;
        let used = int_of(&mem, "used_memory");
        let max = int_of(&mem, "maxmemory");
        let mut m = Map::new();
        m.insert("used".into(), Dynamic::from_int(used));
        m.insert("max".into(), Dynamic::from_int(max));
        m.insert(
            "pct".into(),
            if max > 0 {
                Dynamic::from_float((used as f64 * 1000.0 / max as f64).round() / 10.0)
            } else {
                Dynamic::UNIT
            },
        );
        m.insert("evicted_keys".into(), Dynamic::from_int(int_of(&stats, "evicted_keys")));
        Ok(m)
    }

    /// Cache hit rate in percent, from keyspace hits and misses since the
    /// server started; `()` before any lookup.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "hit_rate", return_raw, pure)]
    pub fn hit_rate(r: &mut RedisHandle) -> HostResult<Dynamic> {
        let stats = info_map(&r.0, Some("stats"))?;
        let (h, m) = (int_of(&stats, "keyspace_hits"), int_of(&stats, "keyspace_misses"));
        Ok(if h + m == 0 {
            Dynamic::UNIT
        } else {
            Dynamic::from_float((h as f64 * 1000.0 / (h + m) as f64).round() / 10.0)
        })
    }

    /// How many keys match a glob pattern, by SCAN (never KEYS, which
    /// blocks the server).
    ///
    /// *read-only*
    #[rhai_fn(global, name = "count_matching", return_raw, pure)]
    pub fn count_matching(r: &mut RedisHandle, pattern: &str) -> HostResult<rhai::INT> {
        Ok(scan_keys(&r.0, pattern, |_| Ok(()))? as rhai::INT)
    }

    /// Delete every key matching a pattern: SCAN, then UNLINK in batches.
    /// Returns how many were deleted (under `--dry-run`, how many would be).
    ///
    /// *data-losing*
    #[rhai_fn(global, name = "delete_matching", return_raw, pure)]
    pub fn delete_matching(r: &mut RedisHandle, pattern: &str) -> HostResult<rhai::INT> {
        let c = r.0.clone();
        let n = scan_keys(&c, pattern, |_| Ok(()))?;
        if n == 0 {
            return Ok(0);
        }
        if !crate::engine::guard::data_losing(&who(&c), || {
            format!("delete {n} key(s) matching `{pattern}` on {}", c.name)
        })? {
            return Ok(n as rhai::INT);
        }
        let mut deleted = 0i64;
        scan_keys(&c, pattern, |keys| {
            let mut argv = vec![b"UNLINK".to_vec()];
            argv.extend(keys);
            deleted += to_dynamic(run(&c, argv)?).as_int().unwrap_or(0);
            Ok(())
        })?;
        Ok(deleted)
    }

    /// FLUSHDB: delete every key of the current database. Returns how many
    /// keys there were.
    ///
    /// *data-losing*
    #[rhai_fn(global, name = "flushdb", return_raw, pure)]
    pub fn flushdb(r: &mut RedisHandle) -> HostResult<rhai::INT> {
        let n = dbsize(r)?;
        if !crate::engine::guard::data_losing(&who(&r.0), || format!("FLUSHDB on {} ({n} keys)", r.0.name))? {
            return Ok(n);
        }
        cmd(&r.0, &["FLUSHDB"])?;
        Ok(n)
    }

    /// Any command, as an argv: `r.command(["HGETALL", "session:1"])`.
    /// Known read-only commands count as reads, and so do `SELECT` and
    /// `CLIENT SETNAME`, which change only this connection; every other one
    /// as mutating.
    ///
    /// *mutating* (read-only for read commands)
    #[rhai_fn(global, name = "command", return_raw, pure)]
    pub fn command(r: &mut RedisHandle, argv: Array) -> HostResult<Dynamic> {
        let args: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let Some(name) = args.first().map(|a| a.to_ascii_uppercase()) else {
            return Err(error(&who(&r.0), "command needs at least the command's name"));
        };
        if ["FLUSHDB", "FLUSHALL", "DEL", "UNLINK"].contains(&name.as_str()) {
            if !crate::engine::guard::data_losing(&who(&r.0), || format!("run {} on {}", args.join(" "), r.0.name))? {
                return Ok(Dynamic::UNIT);
            }
        } else if !READ_ONLY.contains(&name.as_str())
            && !connection_state(&name, &args)
            && !crate::engine::guard::mutating(|| format!("run {} on {}", args.join(" "), r.0.name))
        {
            return Ok(Dynamic::UNIT);
        }
        Ok(to_dynamic(run(&r.0, args.into_iter().map(String::into_bytes).collect())?))
    }

    /// The target's name.
    ///
    /// *read-only*
    #[rhai_fn(global, get = "name", pure)]
    pub fn name(r: &mut RedisHandle) -> String {
        r.0.name.clone()
    }
}
