//! `http::bench`: the manual's `ab -n 1000 -c 10`, without `ab`. N
//! requests from C concurrent clients; latency percentiles from every
//! request's own time, status counts, errors counted rather than thrown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures_util::future::join_all;
use rhai::{Dynamic, Map, INT};

use super::client::{client, explain};
use super::request::{build, prepare};
use super::wire;
use crate::engine::{guard, runtime};
use crate::host::{error, HostResult};

pub fn bench(url: &str, map: Map) -> HostResult<Map> {
    const F: &str = "http::bench";
    let (mut p, o) = prepare(F, url, &map)?;
    let requests = o.int("requests")?.unwrap_or(1000);
    let concurrency = o.int("concurrency")?.unwrap_or(10);
    if requests < 1 || !(1..=1000).contains(&concurrency) {
        return Err(error(F, "`requests` must be 1 or more and `concurrency` between 1 and 1000"));
    }
    let (requests, concurrency) = (requests as usize, concurrency as usize);
    let method = o.str("method")?.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    let method =
        reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| error(F, format!("bad method `{method}`")))?;
    p.settings.keep_alive = o.bool("keep_alive")?.unwrap_or(true);
    let shown = crate::redact::apply(&p.url).into_owned();
    let reads = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
    if !reads && !guard::mutating(|| format!("send {requests} {method} requests to {shown}")) {
        let mut m = Map::new();
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    // The request is built by the same code as `http::get` (headers,
    // auth, body), then written as bytes on bare connections.
    let c = client(&p.settings).map_err(|e| error(F, e))?;
    let req = build(&c, &method, &p).build().map_err(|e| error(F, explain(&shown, &e, p.timeout)))?;
    let url = req.url().clone();
    let host = url.host_str().unwrap_or("").to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let tls = match url.scheme() {
        "https" => {
            let config = crate::host::tls::client_config(F, p.settings.insecure, p.settings.ca.as_deref())?;
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| error(F, format!("`{host}` is not a valid server name")))?;
            Some((config, name))
        }
        "http" => None,
        other => return Err(error(F, format!("`{shown}`: unsupported scheme {other}"))),
    };
    let target = wire::Target {
        addr: match &p.settings.resolve {
            Some((_, a)) => std::net::SocketAddr::new(a.ip(), port).to_string(),
            None => format!("{host}:{port}"),
        },
        tls,
        request: wire::serialise(&req, p.settings.keep_alive),
        keep_alive: p.settings.keep_alive,
    };
    let head = method == reqwest::Method::HEAD;
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let workers = (0..concurrency.min(requests)).map(|_| {
        let (target, next, shown) = (&target, &next, &shown);
        async move {
            let mut latencies = Vec::new();
            let mut statuses: Vec<u16> = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            let mut conn: Option<wire::Conn> = None;
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let reused = conn.is_some();
                let mut result = one(&mut conn, target, head).await;
                // A kept-alive connection the server has closed meanwhile:
                // once more on a new one, as every client does.
                if result.is_err() && reused {
                    result = one(&mut conn, target, head).await;
                }
                match result {
                    Ok(status) => {
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                        statuses.push(status);
                    }
                    Err(e) => errors.push(format!("{shown}: {e}")),
                }
            }
            (latencies, statuses, errors)
        }
    });
    let results = runtime::block_on(join_all(workers))?;
    let wall = started.elapsed().as_secs_f64();
    let mut latencies: Vec<f64> = vec![];
    let mut status_counts = std::collections::BTreeMap::<u16, INT>::new();
    let mut errors: Vec<String> = vec![];
    for (l, s, e) in results {
        latencies.extend(l);
        for code in s {
            *status_counts.entry(code).or_default() += 1;
        }
        errors.extend(e);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        (latencies[i] * 100.0).round() / 100.0
    };
    let non_2xx: INT = status_counts.iter().filter(|(c, _)| !(200..300).contains(*c)).map(|(_, n)| *n).sum();
    let mut m = Map::new();
    m.insert("requests".into(), Dynamic::from_int(requests as INT));
    m.insert("concurrency".into(), Dynamic::from_int(concurrency as INT));
    m.insert("errors".into(), Dynamic::from_int(errors.len() as INT));
    m.insert("non_2xx".into(), Dynamic::from_int(non_2xx));
    m.insert("rps".into(), Dynamic::from_float(((requests - errors.len()) as f64 / wall * 10.0).round() / 10.0));
    m.insert("p50_ms".into(), Dynamic::from_float(pct(0.50)));
    m.insert("p95_ms".into(), Dynamic::from_float(pct(0.95)));
    m.insert("p99_ms".into(), Dynamic::from_float(pct(0.99)));
    m.insert("max_ms".into(), Dynamic::from_float(pct(1.0)));
    m.insert("duration_ms".into(), Dynamic::from_int((wall * 1000.0) as INT));
    let mut sc = Map::new();
    for (code, n) in status_counts {
        sc.insert(code.to_string().into(), Dynamic::from_int(n));
    }
    m.insert("status_counts".into(), Dynamic::from_map(sc));
    errors.dedup();
    m.insert("first_error".into(), errors.first().map(|e| Dynamic::from(e.clone())).unwrap_or(Dynamic::UNIT));
    Ok(m)
}

/// One request on the worker's connection, opening one when needed.
async fn one(conn: &mut Option<wire::Conn>, t: &wire::Target, head: bool) -> Result<u16, String> {
    if conn.is_none() {
        *conn = Some(wire::connect(t).await.map_err(|e| format!("cannot connect: {e}"))?);
    }
    #[allow(clippy::expect_used, reason = "the branch above set it")]
    let c = conn.as_mut().expect("connected above");
    match wire::exchange(c, t, head).await {
        Ok((status, reusable)) => {
            if !reusable {
                *conn = None;
            }
            Ok(status)
        }
        Err(e) => {
            *conn = None;
            Err(e.to_string())
        }
    }
}
