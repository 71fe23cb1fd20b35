//! HTTP and TLS servers the tests start in-process on loopback, and the
//! certificates they serve (a CA of the test's own; valid, expiring in 10
//! days, expired, wrong host, self-signed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// The CA to trust.
    pub fn ca(&self) -> String {
        self.path("ca.pem").display().to_string()
    }
}

/// (year, month, day) that many days from today.
fn ymd(days_from_now: i64) -> (i32, u8, u8) {
    use chrono::Datelike;
    let d = chrono::Utc::now().date_naive() + chrono::Duration::days(days_from_now);
    (d.year(), d.month() as u8, d.day() as u8)
}

fn params(names: &[&str], from: i64, to: i64, cn: &str) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let (a, b) = (ymd(from), ymd(to));
    p.not_before = rcgen::date_time_ymd(a.0, a.1, a.2);
    p.not_after = rcgen::date_time_ymd(b.0, b.1, b.2);
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p
}

/// Write the CA and the leaf certificates (chain = leaf then CA) with
/// their keys: valid, soon (10 days left), expired, wrong (another host),
/// self (self-signed), chained (60 days, under an intermediate with 3).
pub fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = params(&[], -30, 3650, "runbook test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let leaves: [(&str, &[&str], i64, i64); 4] = [
        ("valid", &["localhost", "127.0.0.1"], -1, 90),
        ("soon", &["localhost", "127.0.0.1"], -80, 10),
        ("expired", &["localhost", "127.0.0.1"], -90, -2),
        ("wrong", &["wrong.example.com"], -1, 90),
    ];
    for (name, sans, from, to) in leaves {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params(sans, from, to, sans[0]).signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem() + &ca.pem()).unwrap();
        std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
    // An intermediate that expires in 3 days under a leaf with 60.
    let mut inter_params = params(&[], -300, 3, "runbook test intermediate");
    inter_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let inter_key = rcgen::KeyPair::generate().unwrap();
    let inter = inter_params.signed_by(&inter_key, &ca, &ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params(&["localhost", "127.0.0.1"], -1, 60, "localhost").signed_by(&key, &inter, &inter_key).unwrap();
    std::fs::write(dir.path().join("chained.pem"), cert.pem() + &inter.pem()).unwrap();
    std::fs::write(dir.path().join("chained.key"), key.serialize_pem()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params(&["localhost", "127.0.0.1"], -1, 90, "localhost").self_signed(&key).unwrap();
    std::fs::write(dir.path().join("self.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("self.key"), key.serialize_pem()).unwrap();
    Pki { dir }
}

/// A request as the handler sees it.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body })
}

fn json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The routes: /health, /api/v1/admin/health (needs the bearer token
/// "admin-test-token"), /status/NNN, /slow (3 s), /echo, /redirect.
fn respond(req: &Request) -> (u16, &'static str, String) {
    let header = |name: &str| req.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    match req.path.as_str() {
        "/health" => (
            200,
            "application/json",
            r#"{"status": "healthy", "database": "connected", "redis": "connected", "version": "1.4.2"}"#.into(),
        ),
        "/api/v1/admin/health" => {
            if header("authorization") != "Bearer admin-test-token" {
                return (401, "application/json", r#"{"error": "unauthorized"}"#.into());
            }
            (
                200,
                "application/json",
                r#"{"status": "degraded", "components": {"database": {"status": "healthy", "connections": 45, "max_connections": 200, "response_time_ms": 12}, "redis": {"status": "healthy", "memory_used_mb": 234, "memory_max_mb": 512, "hit_rate": 0.87}, "celery": {"status": "degraded", "active_tasks": 3, "workers": 1}, "storage": {"status": "healthy", "total_size_gb": 145.7}}}"#.into(),
            )
        }
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            (200, "text/plain", "finally".into())
        }
        "/echo" => (
            200,
            "application/json",
            format!(
                r#"{{"method": "{}", "authorization": "{}", "content_type": "{}", "x_test": "{}", "body": "{}"}}"#,
                req.method,
                json_escape(&header("authorization")),
                json_escape(&header("content-type")),
                json_escape(&header("x-test")),
                json_escape(&String::from_utf8_lossy(&req.body))
            ),
        ),
        "/" => (200, "text/html", "<h1>CivicQ</h1>".into()),
        p if p.starts_with("/status/") => (p[8..].parse().unwrap_or(500), "text/plain", format!("status {}", &p[8..])),
        _ => (404, "text/plain", "not found".into()),
    }
}

fn handle(stream: impl Read + Write) {
    let mut r = BufReader::new(stream);
    // Keep-alive: serve requests until the client closes.
    while let Some(req) = read_request(&mut r) {
        let out = if req.path == "/redirect" {
            "HTTP/1.1 302 Found\r\nLocation: /health\r\nContent-Length: 0\r\n\r\n".to_string()
        } else {
            let (status, ctype, body) = respond(&req);
            let body = if req.method == "HEAD" { String::new() } else { body };
            format!("HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        };
        if r.get_mut().write_all(out.as_bytes()).is_err() || r.get_mut().flush().is_err() {
            return;
        }
    }
}

fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A plain HTTP server on a free port, for the life of the test process.
pub fn serve_http() -> u16 {
    let (l, port) = listen();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || handle(s));
        }
    });
    port
}

/// A TLS server's settings: `cert` (a PEM chain) with `key`.
fn server_config(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls::pki_types::CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// An HTTPS server presenting `cert` (a PEM chain) with `key`.
pub fn serve_tls(cert: &Path, key: &Path) -> u16 {
    let config = server_config(cert, key);
    let (l, port) = listen();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                handle(rustls::StreamOwned::new(conn, s));
            });
        }
    });
    port
}

/// An IMAP server's start: the greeting, then STARTTLS, then TLS with
/// `cert` (the handshake is all a certificate check needs).
pub fn serve_imap_starttls(cert: &Path, key: &Path) -> u16 {
    let config = server_config(cert, key);
    let (l, port) = listen();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = s.write_all(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
                let mut line = Vec::new();
                let mut b = [0u8; 1];
                while s.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {
                    line.push(b[0]);
                }
                if !String::from_utf8_lossy(&line).to_ascii_uppercase().contains("STARTTLS") {
                    return;
                }
                let _ = s.write_all(b"a1 OK Begin TLS negotiation now\r\n");
                let Ok(mut conn) = rustls::ServerConnection::new(config) else { return };
                while conn.is_handshaking() {
                    if conn.complete_io(&mut s).is_err() {
                        return;
                    }
                }
                let _ = conn.complete_io(&mut s);
            });
        }
    });
    port
}

/// A TCP server that accepts and says nothing TLS (a handshake failure).
pub fn serve_garbage() -> u16 {
    let (l, port) = listen();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(b"220 this is not TLS\r\n");
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    port
}

/// Connect and read a line: is anything listening?
pub fn closed_port() -> u16 {
    let (l, port) = listen();
    drop(l);
    let _ = TcpStream::connect(("127.0.0.1", port));
    port
}

/// A Cost Explorer endpoint: answers GetCostAndUsage in two pages (the
/// first with a NextPageToken) when the request is SigV4-signed for the
/// "ce" service by the key "runbook-test-key"; anything else is refused as
/// AWS refuses it.
pub fn serve_cost_explorer() -> u16 {
    let (l, port) = listen();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(s);
                while let Some(req) = read_request(&mut r) {
                    let header =
                        |n: &str| req.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
                    let body = String::from_utf8_lossy(&req.body).into_owned();
                    let auth = header("authorization");
                    let (status, answer) = if header("x-amz-target") != "AWSInsightsIndexService.GetCostAndUsage" {
                        (400, r#"{"__type": "UnknownOperationException", "message": "no target"}"#.to_string())
                    } else if !auth.starts_with("AWS4-HMAC-SHA256 Credential=runbook-test-key/")
                        || !auth.contains("/us-east-1/ce/aws4_request")
                        || !auth.contains("x-amz-target")
                    {
                        (
                            403,
                            r#"{"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": "The security token included in the request is invalid."}"#.to_string(),
                        )
                    } else if !body.contains("\"NextPageToken\"") {
                        (200, r#"{"ResultsByTime": [{"TimePeriod": {"Start": "2026-10-29", "End": "2026-11-01"}, "Total": {}, "Groups": [{"Keys": ["Amazon Elastic Compute Cloud - Compute"], "Metrics": {"UnblendedCost": {"Amount": "100.5", "Unit": "USD"}}}, {"Keys": ["Amazon Simple Storage Service"], "Metrics": {"UnblendedCost": {"Amount": "20.25", "Unit": "USD"}}}], "Estimated": false}], "NextPageToken": "page-2"}"#.to_string())
                    } else {
                        (200, r#"{"ResultsByTime": [{"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-28"}, "Total": {}, "Groups": [{"Keys": ["Amazon Elastic Compute Cloud - Compute"], "Metrics": {"UnblendedCost": {"Amount": "300.0", "Unit": "USD"}}}, {"Keys": ["Amazon Relational Database Service"], "Metrics": {"UnblendedCost": {"Amount": "80.004", "Unit": "USD"}}}], "Estimated": true}]}"#.to_string())
                    };
                    let out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if r.get_mut().write_all(out.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A request a stand-in service received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> String {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// What a stand-in service has received, in order.
pub type Log = Arc<std::sync::Mutex<Vec<Seen>>>;

/// A stand-in HTTP service on a free port (an STS, an SSO portal, an ECS
/// or instance-metadata endpoint, an S3 that records signatures): `answer`
/// gives each request's status, content type and body; every request is
/// kept in the log.
pub fn serve_recording(answer: impl Fn(&Seen) -> (u16, &'static str, String) + Send + Sync + 'static) -> (u16, Log) {
    let (l, port) = listen();
    let log: Log = Arc::default();
    let answer = Arc::new(answer);
    let kept = log.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (answer, log) = (answer.clone(), kept.clone());
            std::thread::spawn(move || {
                let mut r = BufReader::new(s);
                while let Some(req) = read_request(&mut r) {
                    let seen = Seen {
                        method: req.method,
                        path: req.path,
                        headers: req.headers,
                        body: String::from_utf8_lossy(&req.body).into_owned(),
                    };
                    let (status, kind, body) = answer(&seen);
                    log.lock().unwrap().push(seen);
                    let out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if r.get_mut().write_all(out.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, log)
}
