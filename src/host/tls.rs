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

fn verify_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => "certificate expired".into(),
        rustls::Error::InvalidCertificate(CertificateError::NotValidYet)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            "certificate not valid yet".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "unknown issuer (self-signed, or signed by a CA that is not trusted)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            "certificate is not valid for this host name".into()
        }
        other => other.to_string(),
    }
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
    let days_left = (not_after.0 - now).num_days();

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
        let text = verify_error(e);
        if !(host.is_some() && text.contains("host name")) {
            problems.push(text);
        }
    }
    if hostname_valid == Some(false) {
        problems.push(format!("certificate is not valid for {} (it names {})", host.unwrap_or(""), sans.join(", ")));
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
    m.insert("expired".into(), Dynamic::from_bool(not_after.0 < now));
    m.insert("self_signed".into(), Dynamic::from_bool(subject == issuer));
    m.insert("chain_valid".into(), Dynamic::from_bool(chain_valid));
    m.insert("hostname_valid".into(), hostname_valid.map(Dynamic::from_bool).unwrap_or(Dynamic::UNIT));
    m.insert("valid".into(), Dynamic::from_bool(chain_valid && hostname_valid != Some(false) && not_after.0 >= now));
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
    let addr = format!("{host}:{port}");
    let result = runtime::block_on(async move {
        let work = async {
            let tcp = tokio::net::TcpStream::connect(&addr).await.map_err(|e| format!("cannot connect: {e}"))?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let tls = connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| format!("TLS handshake failed: {}", crate::host::error_chain(&e)))?;
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
    /// not_after, days_left, expired, self_signed, chain_valid,
    /// hostname_valid, valid, chain_length, protocol, error}`. An expired,
    /// self-signed or wrong-host certificate is reported in the fields
    /// (`error` says why), not thrown; no connection or no TLS throws.
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

    /// `certificate` with options `#{sni, timeout, ca}`: another server
    /// name to ask for, a handshake timeout ("5s"), a PEM file of CAs to
    /// trust besides the public ones.
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
