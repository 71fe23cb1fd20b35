//! HTTP clients, one per set of connection settings (verification, extra
//! CA, redirects), built once per run and reused so that keep-alive works
//! across calls. Certificate verification is on unless a call itself says
//! `insecure: true`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::engine::context::ctx;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Settings {
    pub insecure: bool,
    pub ca: Option<String>,
    pub follow: bool,
    /// `false` opens a new connection per request, as `ab` without -k does.
    pub keep_alive: bool,
    /// A host name answered with this address instead of DNS: a target's
    /// compose service (the Host header and TLS name stay as written).
    pub resolve: Option<(String, std::net::SocketAddr)>,
}

static CLIENTS: Mutex<Option<HashMap<Settings, reqwest::Client>>> = Mutex::new(None);

pub fn connect_timeout() -> Duration {
    ctx().config.run.connect_timeout.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(3))
}

pub fn client(s: &Settings) -> Result<reqwest::Client, String> {
    let mut guard = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(c) = map.get(s) {
        return Ok(c.clone());
    }
    let c = build(s)?;
    map.insert(s.clone(), c.clone());
    Ok(c)
}

/// A new client, not shared (`http::bench` wants its own, on its own
/// runtime).
pub fn build(s: &Settings) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(connect_timeout())
        .user_agent(concat!("runbook/", env!("CARGO_PKG_VERSION")))
        .redirect(if s.follow { reqwest::redirect::Policy::limited(10) } else { reqwest::redirect::Policy::none() });
    if s.insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    if !s.keep_alive {
        b = b.pool_max_idle_per_host(0);
    }
    if let Some((host, addr)) = &s.resolve {
        b = b.resolve(host, *addr);
    }
    if let Some(path) = &s.ca {
        let pem = std::fs::read(path).map_err(|e| format!("option `ca`: cannot read {path}: {e}"))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("option `ca`: {path}: {e}"))? {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// A transport failure in words: which of DNS, connect, TLS or timeout.
pub fn explain(url: &str, e: &reqwest::Error, timeout: Duration) -> String {
    let chain = crate::host::error_chain(e);
    let what = if e.is_timeout() {
        format!("no answer within {}", crate::duration::format(timeout))
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        format!("cannot resolve the host name ({chain})")
    } else if chain.contains("certificate") || chain.contains("InvalidCertificate") || chain.contains("tls") {
        format!("TLS failed: {chain} (pass `insecure: true` in this call only if you mean it, or `ca` to trust a private CA)")
    } else if e.is_connect() {
        format!("cannot connect: {chain}")
    } else {
        chain
    };
    crate::redact::apply(&format!("{url}: {what}")).into_owned()
}
