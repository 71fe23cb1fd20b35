//! `tls`: what a server's certificate says and whether it would be
//! trusted — `openssl s_client | openssl x509 -noout -dates` without
//! openssl. The handshake accepts any certificate so that an expired,
//! self-signed or wrong-host one can be looked at; the verdicts come from
//! the same checks a verifying client makes, afterwards, in the fields.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, INT};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::engine::runtime;
use crate::host::opts::Opts;
use crate::host::time::Timestamp;
use crate::host::{error, HostResult};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts every certificate and keeps the chain for later judgement.
#[derive(Debug)]
struct Capture {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(|e| e.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration for other modules' own connections
/// (`http::bench`): verified against the public roots and `ca`, or not at
/// all when the call said `insecure: true`.
pub fn client_config(func: &str, insecure: bool, ca: Option<&str>) -> HostResult<Arc<rustls::ClientConfig>> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(func, e))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Capture { chain: Mutex::new(vec![]), provider }))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots(func, ca)?).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The public roots, plus a private CA when the call names one.
fn roots(func: &str, ca: Option<&str>) -> HostResult<rustls::RootCertStore> {
    let mut store = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca {
        for cert in read_pem(func, path)? {
            store.add(cert).map_err(|e| error(func, format!("option `ca`: {path}: {e}")))?;
        }
    }
    Ok(store)
}

fn read_pem(func: &str, path: &str) -> HostResult<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| error(func, format!("cannot read {path}: {e}")))?;
    parse_pem(func, path, &bytes)
}

fn parse_pem(func: &str, path: &str, bytes: &[u8]) -> HostResult<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| error(func, format!("{path}: {e:?}")))?;
    if certs.is_empty() {
        return Err(error(func, format!("{path}: no PEM certificate in it")));
    }
    Ok(certs)
}

/// A verdict in words, never the library's debug text. `self_signed`:
/// the leaf is its own issuer.
fn verify_error(e: &rustls::Error, self_signed: bool) -> String {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return format!("the certificate could not be checked: {e}");
    };
    match c {
        C::Expired | C::ExpiredContext { .. } => "certificate expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".into(),
        C::UnknownIssuer if self_signed => {
            "self-signed: the server's certificate is its own CA, and no trusted CA vouches for it (give `ca` to trust it)"
                .into()
        }
        C::UnknownIssuer => {
            "unknown issuer: no trusted CA signed the chain (a private CA needs `ca`; a server that leaves out its intermediate certificate needs its fullchain configured)".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => "certificate is not valid for this host name".into(),
        C::BadSignature => {
            "a signature in the chain does not verify: the chain is not the one its issuer signed".into()
        }
        C::BadEncoding => "the certificate is not valid DER: it cannot be read".into(),
        C::Revoked => "certificate revoked by its CA".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the certificate is not for TLS servers (its extended key usage says otherwise)".into()
        }
        C::UnhandledCriticalExtension => "the certificate has a critical extension no client understands".into(),
        C::UnknownRevocationStatus => "the certificate's revocation status is unknown".into(),
        C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => {
            "the revocation list is out of date".into()
        }
        C::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => format!(
            "{}the server's certificate is a CA certificate (basicConstraints CA:TRUE), which clients refuse from a server: issue one with CA:FALSE (openssl req -x509 adds CA:TRUE unless told -addext basicConstraints=critical,CA:FALSE)",
            if self_signed { "self-signed, and " } else { "" }
        ),
        other => format!("the certificate is not trusted: {}", words(&format!("{other:?}"))),
    }
}

/// "Other(OtherError(UnsupportedCriticalExtension))" → "unsupported
/// critical extension": the innermost name of a debug text, as words.
fn words(debug: &str) -> String {
    let inner = debug.trim_end_matches([')', ' ', '}']);
    let name = inner.rsplit(['(', ' ', '{']).next().unwrap_or(inner);
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// Does a certificate name (maybe "*.example.com") cover `host`?
fn name_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase().trim_end_matches('.').to_string());
    match p.strip_prefix("*.") {
        Some(rest) => h.split_once('.').is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == h,
    }
}

/// The fields every answer has, from the chain and the verdicts.
fn describe(func: &str, chain: &[CertificateDer<'static>], host: Option<&str>, ca: Option<&str>) -> HostResult<Map> {
    let leaf = chain.first().ok_or_else(|| error(func, "no certificate was presented"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| error(func, format!("cannot parse the certificate: {e}")))?;
    let mut sans: Vec<String> = vec![];
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => sans.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                    16 => {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(ip);
                        sans.push(std::net::Ipv6Addr::from(b).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let ts = |t: x509_parser::time::ASN1Time| {
        Timestamp(chrono::DateTime::from_timestamp(t.timestamp(), 0).unwrap_or_default())
    };
    let not_before = ts(cert.validity().not_before);
    let not_after = ts(cert.validity().not_after);
    let now = chrono::Utc::now();
    // Whole days, towards zero: "expired 2 days ago" is -2.
    let days = |t: &Timestamp| (t.0 - now).num_days();
    // Every certificate on the way to the root expires on its own: the
    // chain is only as good as the first of them to go. That way is the
    // leaf, then each certificate that issued the one before it; a served
    // root (self-signed: clients take roots from their own store) and
    // anything else sent along (an old cross-sign) are listed, not counted.
    let parsed: Vec<Option<x509_parser::certificate::X509Certificate<'_>>> =
        chain.iter().map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok().map(|(_, c)| c)).collect();
    let mut on_path = vec![0usize];
    while let Some(Some(last)) = on_path.last().map(|&i| parsed[i].as_ref()) {
        let next = parsed.iter().enumerate().position(|(i, c)| {
            c.as_ref()
                .is_some_and(|c| !on_path.contains(&i) && c.subject() == last.issuer() && c.subject() != c.issuer())
        });
        match next {
            Some(i) => on_path.push(i),
            None => break,
        }
    }
    let mut links: Array = vec![];
    let mut soonest: Option<(usize, String, Timestamp)> = None;
    for (i, c) in parsed.iter().enumerate() {
        let Some(c) = c else { continue };
        let end = ts(c.validity().not_after);
        let mut link = Map::new();
        link.insert("subject".into(), Dynamic::from(c.subject().to_string()));
        link.insert("issuer".into(), Dynamic::from(c.issuer().to_string()));
        link.insert("not_after".into(), Dynamic::from(end));
        link.insert("days_left".into(), Dynamic::from_int(days(&end) as INT));
        link.insert("counted".into(), Dynamic::from_bool(on_path.contains(&i)));
        links.push(Dynamic::from_map(link));
        if on_path.contains(&i) && soonest.as_ref().is_none_or(|(_, _, t)| end.0 < t.0) {
            soonest = Some((i, c.subject().to_string(), end));
        }
    }
    let (soonest_index, soonest_subject, soonest_end) = soonest.unwrap_or((0, cert.subject().to_string(), not_after));
    let days_left = days(&soonest_end);

    let provider = provider();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots(func, ca)?), provider)
        .build()
        .map_err(|e| error(func, e))?;
    // A name the chain check accepts whatever the certificate says: the
    // host name is judged separately, below.
    let check_name = host.map(str::to_string).or_else(|| sans.first().map(|s| s.trim_start_matches("*.").to_string()));
    let verdict = match check_name.as_deref().map(|n| ServerName::try_from(n.to_string())) {
        Some(Ok(name)) => verifier.verify_server_cert(leaf, &chain[1..], &name, &[], UnixTime::now()).map(|_| ()),
        _ => Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName)),
    };
    let chain_valid = match &verdict {
        Ok(()) => true,
        Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
        | Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => host.is_some(),
        Err(_) => false,
    };
    let hostname_valid = host.map(|h| sans.iter().any(|s| name_matches(s, h)));
    let mut problems: Vec<String> = vec![];
    if let Err(e) = &verdict {
        let text = verify_error(e, cert.subject() == cert.issuer() && chain.len() == 1);
        if !(host.is_some() && text.contains("host name")) {
            problems.push(text);
        }
    }
    if hostname_valid == Some(false) {
        problems.push(format!("certificate is not valid for {} (it names {})", host.unwrap_or(""), sans.join(", ")));
    }
    // Never invalid without a reason in words.
    if soonest_end.0 < now && problems.is_empty() {
        problems.push(format!("{soonest_subject} in the chain expired on {}", soonest_end.0.date_naive()));
    }
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let mut m = Map::new();
    m.insert("subject".into(), Dynamic::from(subject.clone()));
    m.insert("issuer".into(), Dynamic::from(issuer.clone()));
    m.insert("sans".into(), Dynamic::from_array(sans.into_iter().map(Dynamic::from).collect::<Array>()));
    m.insert("serial".into(), Dynamic::from(cert.raw_serial_as_string()));
    m.insert("not_before".into(), Dynamic::from(not_before));
    m.insert("not_after".into(), Dynamic::from(not_after));
    m.insert("days_left".into(), Dynamic::from_int(days_left as INT));
    m.insert("leaf_days_left".into(), Dynamic::from_int(days(&not_after) as INT));
    m.insert("expires_first".into(), Dynamic::from(soonest_subject));
    m.insert("expires_first_at".into(), Dynamic::from(soonest_end));
    m.insert("expires_first_is_leaf".into(), Dynamic::from_bool(soonest_index == 0));
    m.insert("chain".into(), Dynamic::from_array(links));
    m.insert("expired".into(), Dynamic::from_bool(soonest_end.0 < now));
    m.insert("self_signed".into(), Dynamic::from_bool(subject == issuer));
    m.insert("chain_valid".into(), Dynamic::from_bool(chain_valid));
    m.insert("hostname_valid".into(), hostname_valid.map(Dynamic::from_bool).unwrap_or(Dynamic::UNIT));
    m.insert("valid".into(), Dynamic::from_bool(chain_valid && hostname_valid != Some(false) && soonest_end.0 >= now));
    m.insert("chain_length".into(), Dynamic::from_int(chain.len() as INT));
    m.insert("error".into(), Dynamic::from(problems.join("; ")));
    Ok(m)
}

fn split_host_port(func: &str, target: &str) -> HostResult<(String, u16)> {
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => {
            (h.trim_start_matches('[').trim_end_matches(']').to_string(), p.parse().ok())
        }
        _ => (target.trim_start_matches('[').trim_end_matches(']').to_string(), Some(443)),
    };
    match port {
        Some(p) if !host.is_empty() => Ok((host, p)),
        _ => Err(error(func, format!("`{target}`: give host:port, e.g. \"civicq.example.com:443\""))),
    }
}

pub fn certificate(target: &str, map: Map) -> HostResult<Map> {
    const F: &str = "tls::certificate";
    let o = Opts::new(F, &map)?;
    let (host, port) = split_host_port(F, target)?;
    let sni = o.str("sni")?.unwrap_or_else(|| host.clone());
    let timeout = o.duration("timeout")?.unwrap_or(Duration::from_secs(5));
    let ca = o.str("ca")?;
    let who = format!("{F} ({target})");
    // A compose service's container answers for the name as written.
    let connect_host = match o.str("service")? {
        Some(service) => crate::host::docker::address::of_service(&who, &service)?.ip.to_string(),
        None => host.clone(),
    };
    let provider = provider();
    let capture = Arc::new(Capture { chain: Mutex::new(vec![]), provider: provider.clone() });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| error(&who, e))?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let server_name =
        ServerName::try_from(sni.clone()).map_err(|_| error(&who, format!("`{sni}` is not a valid server name")))?;
    let addr = (connect_host, port);
    let upgrade = match o.str("starttls")?.as_deref() {
        None => Starttls::for_port(port),
        Some(name) => Starttls::named(name).ok_or_else(|| {
            error(
                &who,
                format!("option `starttls` must be \"postgres\", \"smtp\", \"imap\" or \"none\", not \"{name}\""),
            )
        })?,
    };
    let result = runtime::block_on(async move {
        let work = async {
            let mut tcp = tokio::net::TcpStream::connect(&addr).await.map_err(|e| {
                let lookup = e.to_string().contains("lookup") || e.to_string().contains("not known");
                let hint = if lookup {
                    format!(" (if `{}` is a compose service, give #{{service: \"{}\"}})", addr.0, addr.0)
                } else {
                    String::new()
                };
                format!("cannot connect: {e}{hint}")
            })?;
            upgrade.negotiate(&mut tcp).await?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let tls = connector.connect(server_name, tcp).await.map_err(|e| {
                let text = crate::host::error_chain(&e);
                if text.contains("corrupt message") || text.contains("InvalidContentType") {
                    format!(
                        "the server did not answer in TLS: is the port plain text first? (option `starttls`: \"postgres\", \"smtp\" or \"imap\"){}",
                        upgrade.hint()
                    )
                } else {
                    format!("TLS handshake failed: {text}")
                }
            })?;
            let (_, session) = tls.get_ref();
            Ok::<_, String>(session.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default())
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(format!("no TLS answer within {}", crate::duration::format(timeout))),
        }
    })?;
    let protocol = result.map_err(|e| error(&who, e))?;
    let chain = capture.chain.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut m = describe(&who, &chain, Some(&sni), ca.as_deref())?;
    m.insert("protocol".into(), Dynamic::from(protocol.replace('_', ".").replace("TLSv1.", "TLS 1.")));
    Ok(m)
}

/// The plain-text exchange some protocols have before TLS starts, as
/// `openssl s_client -starttls` speaks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Starttls {
    None,
    /// PostgreSQL's SSLRequest.
    Postgres,
    /// SMTP's EHLO then STARTTLS (submission 587, and 25).
    Smtp,
    /// IMAP's STARTTLS (143).
    Imap,
}

impl Starttls {
    fn for_port(port: u16) -> Self {
        match port {
            5432 => Starttls::Postgres,
            25 | 587 => Starttls::Smtp,
            143 => Starttls::Imap,
            _ => Starttls::None,
        }
    }

    fn named(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "none" | "" => Starttls::None,
            "postgres" | "postgresql" => Starttls::Postgres,
            "smtp" => Starttls::Smtp,
            "imap" => Starttls::Imap,
            _ => return None,
        })
    }

    fn hint(self) -> &'static str {
        match self {
            Starttls::None => "",
            _ => " (it did STARTTLS; give `starttls: \"none\"` for TLS from the first byte)",
        }
    }

    async fn negotiate(self, tcp: &mut tokio::net::TcpStream) -> Result<(), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let io = |e: std::io::Error| format!("the connection failed before TLS: {e}");
        match self {
            Starttls::None => Ok(()),
            Starttls::Postgres => {
                // Length 8, then the SSLRequest code 80877103.
                tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await.map_err(io)?;
                let mut answer = [0u8; 1];
                tcp.read_exact(&mut answer).await.map_err(io)?;
                match answer[0] {
                    b'S' => Ok(()),
                    b'N' => Err("PostgreSQL answered the SSLRequest with N: TLS is off on this server (ssl = off in postgresql.conf)".into()),
                    other => Err(format!("not a PostgreSQL server: it answered the SSLRequest with byte {other:#04x}")),
                }
            }
            Starttls::Smtp => {
                let greeting = reply(tcp).await?;
                if !greeting.starts_with("220") {
                    return Err(format!("the SMTP server did not greet with 220: {}", greeting.trim_end()));
                }
                tcp.write_all(b"EHLO runbook\r\n").await.map_err(io)?;
                let ehlo = reply(tcp).await?;
                if !ehlo.starts_with("250") {
                    return Err(format!("the SMTP server refused EHLO: {}", ehlo.trim_end()));
                }
                if !ehlo.lines().any(|l| l.get(4..).is_some_and(|k| k.trim().eq_ignore_ascii_case("STARTTLS"))) {
                    return Err("the SMTP server does not offer STARTTLS (its EHLO lists no STARTTLS)".into());
                }
                tcp.write_all(b"STARTTLS\r\n").await.map_err(io)?;
                let go = reply(tcp).await?;
                if !go.starts_with("220") {
                    return Err(format!("the SMTP server refused STARTTLS: {}", go.trim_end()));
                }
                Ok(())
            }
            Starttls::Imap => {
                let greeting = reply(tcp).await?;
                if !greeting.starts_with("* OK") {
                    return Err(format!("the IMAP server did not greet with * OK: {}", greeting.trim_end()));
                }
                tcp.write_all(b"a1 STARTTLS\r\n").await.map_err(io)?;
                loop {
                    let line = reply(tcp).await?;
                    if line.starts_with("a1 OK") {
                        return Ok(());
                    }
                    if line.starts_with("a1 ") {
                        return Err(format!("the IMAP server refused STARTTLS: {}", line.trim_end()));
                    }
                }
            }
        }
    }
}

/// One reply of a line protocol: for SMTP every line of a multi-line
/// reply ("250-…" up to "250 …"), else one line. Read a byte at a time,
/// so that nothing the TLS handshake needs is left in a buffer.
async fn reply(tcp: &mut tokio::net::TcpStream) -> Result<String, String> {
    use tokio::io::AsyncReadExt;
    let mut all = String::new();
    loop {
        let mut line = Vec::new();
        loop {
            let mut b = [0u8; 1];
            let n = tcp.read(&mut b).await.map_err(|e| format!("the connection failed before TLS: {e}"))?;
            if n == 0 {
                let after = if all.is_empty() { String::new() } else { format!(" (after: {})", all.trim_end()) };
                return Err(format!("the server closed the connection before TLS{after}"));
            }
            line.push(b[0]);
            if b[0] == b'\n' || line.len() > 4096 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let more = text.len() > 3 && text.as_bytes()[3] == b'-' && text[..3].bytes().all(|c| c.is_ascii_digit());
        all.push_str(&text);
        if !more {
            return Ok(all);
        }
    }
}

pub fn certificate_file(path: &str, map: Map) -> HostResult<Map> {
    const F: &str = "tls::certificate_file";
    let o = Opts::new(F, &map)?;
    let file = crate::host::fs::confine(F, path)?;
    let mut bytes = vec![];
    crate::host::fs::open_beneath(&file)
        .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes))
        .map_err(|e| crate::host::fs::escaped(F, &file, e))?;
    let chain = parse_pem(F, &file.display().to_string(), &bytes)?;
    describe(&format!("{F} ({path})"), &chain, o.str("host")?.as_deref(), o.str("ca")?.as_deref())
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod tls_functions {
    use rhai::Map;

    use crate::host::HostResult;

    /// Connect to "host:port", complete a TLS handshake and describe the
    /// server's certificate: `#{subject, issuer, sans, serial, not_before,
    /// not_after, days_left, leaf_days_left, expires_first,
    /// expires_first_at, expires_first_is_leaf, chain, expired,
    /// self_signed, chain_valid, hostname_valid, valid, chain_length,
    /// protocol, error}`. `days_left` is that of the first certificate of
    /// the served chain to expire (`expires_first` names it): an
    /// intermediate that expires under a leaf with months left is what
    /// breaks the site. Counted are the leaf and each certificate that
    /// issued the one before it; a served root or an extra certificate is
    /// not. `chain` lists each one served, `#{subject, issuer, not_after,
    /// days_left, counted}`. An expired, self-signed or wrong-host
    /// certificate is reported in the fields (`error` says why, in words),
    /// not thrown; no connection or no TLS throws. On ports 5432, 25, 587
    /// and 143 TLS starts as those protocols start it, as `openssl
    /// s_client -starttls` does: PostgreSQL's SSLRequest on 5432, SMTP's
    /// STARTTLS on 25 and 587, IMAP's on 143.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let c = tls::certificate("civicq.example.com:443");
    /// metric("certificate days left", c.days_left, #{warn: 30, crit: 7, bound: "lower"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn certificate(target: &str) -> HostResult<Map> {
        super::certificate(target, Map::new())
    }

    /// `certificate` with options `#{sni, timeout, ca, starttls, service}`:
    /// another server name to ask for, a handshake timeout ("5s"), a PEM
    /// file of CAs to trust besides the public ones, the plain-text start
    /// ("postgres", "smtp", "imap", or "none" for TLS from the first byte;
    /// by default chosen by port), and a compose service whose container
    /// answers for the host name (`#{service: "nginx"}`: connected to on
    /// its compose network, the name still sent as SNI and checked).
    ///
    /// ```rhai,no_run
    /// let db = tls::certificate("db.example.com:5432");
    /// let mx = tls::certificate("mail.example.com:2525", #{starttls: "smtp"});
    /// ```
    ///
    /// *read-only*
    #[rhai_fn(name = "certificate", return_raw)]
    pub fn certificate_with(target: &str, options: Map) -> HostResult<Map> {
        super::certificate(target, options)
    }

    /// The same fields for a PEM file on disk (certbot's
    /// `live/DOMAIN/fullchain.pem`: the first certificate is described,
    /// the rest is its chain). `hostname_valid` is `()` unless the
    /// options name a `host`; `ca` adds CAs to trust.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let c = tls::certificate_file("/etc/letsencrypt/live/civicq.example.com/fullchain.pem",
    ///                               #{host: "civicq.example.com"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn certificate_file(path: &str) -> HostResult<Map> {
        super::certificate_file(path, Map::new())
    }

    /// `certificate_file` with options `#{host, ca}`.
    ///
    /// *read-only*
    #[rhai_fn(name = "certificate_file", return_raw)]
    pub fn certificate_file_with(path: &str, options: Map) -> HostResult<Map> {
        super::certificate_file(path, options)
    }
}

#[cfg(test)]
mod tests {
    use super::Starttls;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The server side of one exchange: what it writes first, then for
    /// each line it reads, the answer; what the client sent is returned.
    async fn exchange(
        proto: Starttls,
        greeting: &'static str,
        answers: &'static [&'static str],
    ) -> (Result<(), String>, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(greeting.as_bytes()).await.unwrap();
            let mut heard = Vec::new();
            for answer in answers {
                let mut b = [0u8; 1];
                loop {
                    if s.read(&mut b).await.unwrap_or(0) == 0 {
                        return String::from_utf8_lossy(&heard).into_owned();
                    }
                    heard.push(b[0]);
                    if b[0] == b'\n' || heard.len() == 8 && heard.starts_with(&[0, 0, 0, 8]) {
                        break;
                    }
                }
                s.write_all(answer.as_bytes()).await.unwrap();
            }
            String::from_utf8_lossy(&heard).into_owned()
        });
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let r = proto.negotiate(&mut tcp).await;
        drop(tcp);
        (r, server.await.unwrap())
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn smtp_reads_multi_line_replies_and_asks_for_starttls() {
        let (r, heard) = run(exchange(
            Starttls::Smtp,
            "220-mail.example.com ESMTP\r\n220 ready\r\n",
            &["250-mail.example.com\r\n250-SIZE 1000\r\n250 STARTTLS\r\n", "220 go ahead\r\n"],
        ));
        assert_eq!(r, Ok(()));
        assert_eq!(heard, "EHLO runbook\r\nSTARTTLS\r\n");
        let (r, _) = run(exchange(Starttls::Smtp, "220 ready\r\n", &["250-mail\r\n250 SIZE 1000\r\n"]));
        assert_eq!(r, Err("the SMTP server does not offer STARTTLS (its EHLO lists no STARTTLS)".into()));
    }

    #[test]
    fn imap_skips_untagged_lines_until_its_tag() {
        let (r, heard) = run(exchange(
            Starttls::Imap,
            "* OK IMAP4rev1 ready\r\n",
            &["* CAPABILITY IMAP4rev1\r\na1 OK Begin TLS\r\n"],
        ));
        assert_eq!(r, Ok(()));
        assert_eq!(heard, "a1 STARTTLS\r\n");
        let (r, _) = run(exchange(Starttls::Imap, "* OK ready\r\n", &["a1 NO not now\r\n"]));
        assert_eq!(r, Err("the IMAP server refused STARTTLS: a1 NO not now".into()));
    }

    #[test]
    fn postgres_answers_s_or_n() {
        let (r, _) = run(exchange(Starttls::Postgres, "", &["S"]));
        assert_eq!(r, Ok(()));
        let (r, _) = run(exchange(Starttls::Postgres, "", &["N"]));
        assert_eq!(
            r,
            Err("PostgreSQL answered the SSLRequest with N: TLS is off on this server (ssl = off in postgresql.conf)"
                .into())
        );
        let (r, _) = run(exchange(Starttls::Postgres, "", &["E"]));
        assert_eq!(r, Err("not a PostgreSQL server: it answered the SSLRequest with byte 0x45".into()));
    }
}
