//! A bare HTTP/1.1 connection for `http::bench`: the request serialised
//! once, written as bytes, the answer read just enough to know its status
//! and where it ends (Content-Length, chunked, or close). A load generator
//! must cost less than what it measures; a general-purpose client's
//! per-request machinery (pool, redirects, timers) cost more than `ab`.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct Target {
    pub addr: String,
    pub tls: Option<(Arc<rustls::ClientConfig>, rustls::pki_types::ServerName<'static>)>,
    /// The whole request, ready to write.
    pub request: Vec<u8>,
    pub keep_alive: bool,
}

/// Serialise a built request: request line, Host, its headers, body.
pub fn serialise(req: &reqwest::Request, keep_alive: bool) -> Vec<u8> {
    let url = req.url();
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let body = req.body().and_then(|b| b.as_bytes()).unwrap_or(&[]);
    let mut out = format!("{} {path} HTTP/1.1\r\nHost: {host}\r\n", req.method());
    for (k, v) in req.headers() {
        out.push_str(&format!("{k}: {}\r\n", String::from_utf8_lossy(v.as_bytes())));
    }
    if !req.headers().contains_key("user-agent") {
        out.push_str(concat!("User-Agent: runbook/", env!("CARGO_PKG_VERSION"), "\r\n"));
    }
    if !body.is_empty() || !matches!(req.method().as_str(), "GET" | "HEAD" | "DELETE") {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if !keep_alive {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub struct Conn {
    io: BufReader<Box<dyn Stream>>,
}

pub async fn connect(t: &Target) -> std::io::Result<Conn> {
    let tcp = TcpStream::connect(&t.addr).await?;
    tcp.set_nodelay(true)?;
    let io: Box<dyn Stream> = match &t.tls {
        None => Box::new(tcp),
        Some((config, name)) => {
            let c = tokio_rustls::TlsConnector::from(config.clone());
            Box::new(c.connect(name.clone(), tcp).await?)
        }
    };
    Ok(Conn { io: BufReader::with_capacity(16 * 1024, io) })
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Send the request and read the answer; returns the status and whether
/// the connection may be used again.
pub async fn exchange(c: &mut Conn, t: &Target, head_request: bool) -> std::io::Result<(u16, bool)> {
    c.io.get_mut().write_all(&t.request).await?;
    c.io.get_mut().flush().await?;
    let mut line = String::new();
    if c.io.read_line(&mut line).await? == 0 {
        return Err(bad("the server closed the connection"));
    }
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("not HTTP"))?;
    let (mut length, mut chunked, mut close) = (None, false, !t.keep_alive);
    loop {
        line.clear();
        if c.io.read_line(&mut line).await? == 0 {
            return Err(bad("the answer's headers were cut off"));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse::<u64>().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
    }
    if head_request || status == 204 || status == 304 {
        return Ok((status, !close));
    }
    if chunked {
        loop {
            line.clear();
            c.io.read_line(&mut line).await?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("a bad chunk size"))?;
            skip(&mut c.io, size).await?;
            line.clear();
            c.io.read_line(&mut line).await?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        skip(&mut c.io, n).await?;
    } else {
        // No length: the body ends when the server closes.
        let mut sink = tokio::io::sink();
        tokio::io::copy(&mut c.io, &mut sink).await?;
        close = true;
    }
    Ok((status, !close))
}

async fn skip(r: &mut BufReader<Box<dyn Stream>>, n: u64) -> std::io::Result<()> {
    let copied = tokio::io::copy(&mut AsyncReadExt::take(&mut *r, n), &mut tokio::io::sink()).await?;
    if copied < n {
        return Err(bad("the body was cut off"));
    }
    Ok(())
}
