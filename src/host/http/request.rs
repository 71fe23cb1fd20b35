//! One HTTP request: `http::get/head/post/put/delete`. A non-2xx status is
//! an answer, returned; not getting an answer (DNS, connect, TLS, timeout)
//! is an error, thrown with the reason.

use std::time::{Duration, Instant};

use rhai::{Dynamic, Map, INT};

use super::client::{client, explain, Settings};
use crate::engine::context::ctx;
use crate::engine::{guard, runtime};
use crate::host::opts::Opts;
use crate::host::{error, HostResult};

/// What a call asked for, with a `[http.NAME]` target's defaults filled in.
pub struct Prepared {
    pub url: String,
    pub settings: Settings,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    pub bearer: Option<String>,
    pub basic: Option<(String, Option<String>)>,
    pub body: Option<Vec<u8>>,
    pub json: bool,
}

/// "api/health" → `[http.api] url` + "/health"; a full URL stays as is.
fn resolve_url(func: &str, url: &str) -> HostResult<(String, Option<crate::config::HttpTarget>)> {
    if url.contains("://") {
        return Ok((url.to_string(), None));
    }
    let (name, rest) = url.split_once('/').map(|(n, r)| (n, format!("/{r}"))).unwrap_or((url, String::new()));
    let targets = &ctx().config.http;
    match targets.get(name) {
        Some(t) => Ok((format!("{}{rest}", t.url.trim_end_matches('/')), Some(t.clone()))),
        None => Err(error(
            func,
            format!("`{url}`: {}; or give a full URL (https://…)", ctx().config.missing_target("http", name)),
        )),
    }
}

/// The URL's host name answered with the service's container address.
fn service_address(func: &str, url: &str, service: &str) -> HostResult<(String, std::net::SocketAddr)> {
    let parsed = reqwest::Url::parse(url).map_err(|e| error(func, format!("`{url}`: {e}")))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    // A name is what the container answers for; an address would be dialled as written.
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return Err(error(
            func,
            format!(
                "`{url}`: a target with `service` needs a host name in its URL (http://backend:8000), not an address"
            ),
        ));
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let a = crate::host::docker::address::of_service(func, service)?;
    Ok((host, std::net::SocketAddr::new(a.ip, port)))
}

pub fn prepare<'a>(func: &'static str, url: &str, map: &'a Map) -> HostResult<(Prepared, Opts<'a>)> {
    let o = Opts::new(func, map)?;
    let (url, target) = resolve_url(func, url)?;
    let t = target.unwrap_or_default();
    let timeout = match o.duration("timeout")? {
        Some(d) => d,
        None => t.timeout.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(30)),
    };
    let mut headers = vec![];
    for (k, v) in o.map("headers")?.unwrap_or_default() {
        headers.push((k.to_string(), v.to_string()));
    }
    // A call's own `basic` replaces the target's bearer token.
    let call_basic = map.get("basic").is_some_and(|v| !v.is_unit());
    let bearer = o.str("bearer")?.or(t.bearer.clone().filter(|b| !b.is_empty() && !call_basic));
    if let Some(b) = &bearer {
        crate::redact::add(b);
    }
    let basic = match map.get("basic").filter(|v| !v.is_unit()) {
        None => None,
        Some(v) => {
            let text = v.to_string();
            let pair = if let Some(a) = v.clone().try_cast::<rhai::Array>() {
                (a.first().map(|x| x.to_string()).unwrap_or_default(), a.get(1).map(|x| x.to_string()))
            } else {
                match text.split_once(':') {
                    Some((u, p)) => (u.to_string(), Some(p.to_string())),
                    None => (text, None),
                }
            };
            if let Some(p) = &pair.1 {
                crate::redact::add_basic_auth(&pair.0, p);
            }
            Some(pair)
        }
    };
    let (body, json) = match (map.get("json").filter(|v| !v.is_unit()), o.str("body")?) {
        (Some(_), Some(_)) => return Err(error(func, "give `json` or `body`, not both")),
        (Some(j), None) => (Some(crate::host::convert::to_json(j).to_string().into_bytes()), true),
        (None, Some(b)) => (Some(b.into_bytes()), false),
        (None, None) => (None, false),
    };
    let settings = Settings {
        insecure: o.bool("insecure")?.unwrap_or(t.insecure.unwrap_or(false)),
        ca: o.str("ca")?.or(t.ca.clone()),
        follow: o.bool("follow")?.unwrap_or(true),
        keep_alive: true,
        resolve: match &t.service {
            Some(service) => Some(service_address(func, &url, service)?),
            None => None,
        },
    };
    Ok((Prepared { url, settings, timeout, headers, bearer, basic, body, json }, o))
}

pub fn build(c: &reqwest::Client, method: &reqwest::Method, p: &Prepared) -> reqwest::RequestBuilder {
    let mut rb = c.request(method.clone(), &p.url).timeout(p.timeout);
    for (k, v) in &p.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    if let Some(b) = &p.bearer {
        rb = rb.bearer_auth(b);
    }
    if let Some((u, pw)) = &p.basic {
        rb = rb.basic_auth(u, pw.as_ref());
    }
    if let Some(body) = &p.body {
        if p.json {
            rb = rb.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        rb = rb.body(body.clone());
    }
    rb
}

pub fn request(method: &str, url: &str, map: Map) -> HostResult<Map> {
    let func: &'static str = match method {
        "GET" => "http::get",
        "HEAD" => "http::head",
        "POST" => "http::post",
        "PUT" => "http::put",
        _ => "http::delete",
    };
    let (p, o) = prepare(func, url, &map)?;
    let shown = crate::redact::apply(&p.url).into_owned();
    let reads = matches!(method, "GET" | "HEAD") || o.bool("read_only")?.unwrap_or(false);
    if !reads && !guard::mutating(|| format!("{method} {shown}")) {
        let mut m = Map::new();
        m.insert("status".into(), Dynamic::from_int(0));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let c = client(&p.settings).map_err(|e| error(func, e))?;
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let rb = build(&c, &m, &p);
    let started = Instant::now();
    let max = crate::engine::context::ctx().config.limits.max_body;
    let result = runtime::block_on(async move {
        let mut resp = rb.send().await?;
        let status = resp.status();
        let final_url = resp.url().to_string();
        let headers = resp.headers().clone();
        // At most `max_body`: an endless answer reached 4.7 GB before, and
        // any server a check asks can send one.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > max {
                return Ok(Err(()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>(Ok((status, final_url, headers, body)))
    })?;
    let (status, final_url, headers, body) =
        result.map_err(|e| error(func, explain(&shown, &e, p.timeout)))?.map_err(|()| {
            error(
                func,
                crate::host::too_large(
                    &format!("the answer of {shown}"),
                    "max_body",
                    max,
                    "ask for less (a range, a page)",
                ),
            )
        })?;
    let elapsed = started.elapsed();
    let mut hm = Map::new();
    for (k, v) in headers.iter() {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match hm.get_mut(k.as_str()) {
            Some(existing) => *existing = Dynamic::from(format!("{existing}, {v}")),
            None => {
                hm.insert(k.as_str().into(), Dynamic::from(v));
            }
        }
    }
    let content_type =
        headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let is_json = content_type.contains("json");
    let text = String::from_utf8_lossy(&body).into_owned();
    let json = if is_json {
        serde_json::from_str::<serde_json::Value>(&text).map(crate::host::convert::from_json).unwrap_or(Dynamic::UNIT)
    } else {
        Dynamic::UNIT
    };
    let mut m = Map::new();
    m.insert("status".into(), Dynamic::from_int(status.as_u16() as INT));
    m.insert("ok".into(), Dynamic::from_bool(status.is_success()));
    m.insert("url".into(), Dynamic::from(final_url));
    m.insert("headers".into(), Dynamic::from_map(hm));
    m.insert("body".into(), Dynamic::from(text));
    m.insert("json".into(), json);
    m.insert("content_type".into(), Dynamic::from(content_type));
    m.insert("elapsed_ms".into(), Dynamic::from_float((elapsed.as_secs_f64() * 1e5).round() / 100.0));
    Ok(m)
}
