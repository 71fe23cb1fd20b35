//! A bucket handle: the `[s3.NAME]` target, its credentials, and signed
//! requests to it (S3 REST over the shared HTTP client).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::sign::{self, Credentials};
use crate::engine::context::ctx;

/// `s3::bucket("media")`: clones share the target and its credentials.
#[derive(Clone)]
pub struct S3Bucket(pub Arc<Bucket>);

pub struct Bucket {
    pub name: String,
    pub bucket: String,
    pub region: String,
    /// scheme://host[:port] of the service.
    pub scheme: String,
    pub host: String,
    pub path_style: bool,
    pub part_size: u64,
    target: crate::config::S3Target,
    creds: OnceLock<Result<Arc<Credentials>, String>>,
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("\"{text}\" is not a size (e.g. \"16MiB\")"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("\"{text}\": unknown size unit `{other}` (B, KiB, MiB, GiB)")),
    };
    Ok((n * mult as f64) as u64)
}

impl S3Bucket {
    pub fn open(name: &str) -> Result<S3Bucket, String> {
        let cfg = &ctx().config;
        let t = cfg.s3.get(name).ok_or_else(|| cfg.missing_target("s3", name))?;
        let region = t.region.clone().unwrap_or_else(|| "us-east-1".into());
        let (scheme, host, path_style) = match &t.endpoint {
            Some(e) => {
                let (scheme, rest) = e
                    .split_once("://")
                    .ok_or_else(|| format!("[s3.{name}] endpoint `{e}` needs a scheme: http:// or https://"))?;
                (scheme.to_string(), rest.trim_end_matches('/').to_string(), t.path_style.unwrap_or(true))
            }
            None => ("https".into(), format!("s3.{region}.amazonaws.com"), t.path_style.unwrap_or(false)),
        };
        let part_size = match &t.part_size {
            Some(s) => parse_size(s).map_err(|e| format!("[s3.{name}] part_size: {e}"))?,
            None => 8 << 20,
        };
        if part_size < 5 << 20 {
            return Err(format!("[s3.{name}] part_size must be at least 5MiB (S3's minimum part size)"));
        }
        Ok(S3Bucket(Arc::new(Bucket {
            name: name.to_string(),
            bucket: t.bucket.clone(),
            region,
            scheme,
            host,
            path_style,
            part_size,
            target: t.clone(),
            creds: OnceLock::new(),
        })))
    }
}

/// An S3 error reply, in words.
pub struct S3Error {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl S3Error {
    pub fn text(&self, b: &Bucket) -> String {
        match self.code.as_str() {
            "NoSuchBucket" => format!("bucket `{}` does not exist ({})", b.bucket, self.message),
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "InvalidToken" | "ExpiredToken" => {
                format!("credentials refused: {} ({})", self.code, self.message)
            }
            "" => format!("HTTP {}", self.status),
            code => format!("{code}: {}", self.message),
        }
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, entities decoded.
pub fn tag<'a>(xml: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// Every `<tag>…</tag>` block's inside.
pub fn blocks<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = vec![];
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let from = i + open.len();
        let Some(j) = rest[from..].find(&close) else { break };
        out.push(&rest[from..from + j]);
        rest = &rest[from + j + close.len()..];
    }
    out
}

pub fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return s.into();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
        .into()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Bucket {
    pub fn who(&self) -> String {
        format!("s3 ({})", self.name)
    }

    fn credentials(&self) -> Result<Arc<Credentials>, String> {
        self.creds.get_or_init(|| self.find_credentials().map(Arc::new)).clone()
    }

    fn find_credentials(&self) -> Result<Credentials, String> {
        let t = &self.target;
        find_credentials(
            &format!("[s3.{}]", self.name),
            t.access_key_id.as_ref().zip(t.secret_access_key.as_ref()),
            t.session_token.as_ref(),
            t.instance_metadata.unwrap_or(false),
        )
    }

    /// URL and canonical path of an object (or of the bucket: key "").
    fn locate(&self, key: &str) -> (String, String, String) {
        let k = sign::encode(key, true);
        if self.path_style {
            let path = format!("/{}/{k}", sign::encode(&self.bucket, false));
            (format!("{}://{}{path}", self.scheme, self.host), self.host.clone(), path)
        } else {
            let host = format!("{}.{}", self.bucket, self.host);
            let path = format!("/{k}");
            (format!("{}://{host}{path}", self.scheme), host, path)
        }
    }

    /// One signed request; a non-2xx answer becomes an `S3Error`.
    pub async fn request(
        &self,
        method: &str,
        key: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<reqwest::Response, Failure> {
        let creds = self.credentials().map_err(Failure::Other)?;
        let (url, host, path) = self.locate(key);
        let sha = if body.is_empty() { sign::EMPTY_SHA256.to_string() } else { sign::sha256_hex(&body) };
        // Every header is signed; `signed` holds them all (but host).
        let signed =
            sign::sign(&creds, &self.region, "s3", method, &host, &path, query, headers, &sha, chrono::Utc::now());
        let settings =
            crate::host::http::Settings { insecure: false, ca: None, follow: false, keep_alive: true, resolve: None };
        let client = crate::host::http::client(&settings).map_err(Failure::Other)?;
        let mut full = url.clone();
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        sign::encode(k, false)
                    } else {
                        format!("{}={}", sign::encode(k, false), sign::encode(v, false))
                    }
                })
                .collect();
            full = format!("{full}?{}", q.join("&"));
        }
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut rb = client.request(m, &full).timeout(timeout);
        for (k, v) in &signed {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let resp = rb.body(body).send().await.map_err(|e| {
            Failure::Other(crate::host::http::explain(&format!("{}://{host}", self.scheme), &e, timeout))
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let text = crate::host::http::text_within(resp, "the error").await.unwrap_or_default();
        let code = tag(&text, "Code").map(|c| c.into_owned()).unwrap_or_else(|| match status {
            404 if method == "HEAD" => "NoSuchKey".into(),
            403 => "AccessDenied".into(),
            _ => String::new(),
        });
        let message = tag(&text, "Message").map(|c| c.into_owned()).unwrap_or_default();
        Err(Failure::S3(S3Error { status, code, message }))
    }
}

/// AWS credentials: the config's pair, then the environment, then
/// ~/.aws/credentials (AWS_PROFILE or "default"), then (only when asked)
/// the instance-metadata service. `section` names the config table in the
/// error ("[s3.media]", "[aws]").
pub fn find_credentials(
    section: &str,
    pair: Option<(&String, &String)>,
    session_token: Option<&String>,
    instance_metadata: bool,
) -> Result<Credentials, String> {
    if let Some((a, s)) = pair {
        return Ok(Credentials {
            access_key_id: a.clone(),
            secret_access_key: s.clone(),
            session_token: session_token.cloned(),
        });
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(a), Some(s)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        crate::redact::add(&s);
        return Ok(Credentials { access_key_id: a, secret_access_key: s, session_token: env("AWS_SESSION_TOKEN") });
    }
    let file = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")));
    if let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) {
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let mut current = String::new();
        let (mut a, mut s, mut tok) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                current = line.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            } else if current == profile {
                if let Some((k, v)) = line.split_once('=') {
                    match k.trim() {
                        "aws_access_key_id" => a = Some(v.trim().to_string()),
                        "aws_secret_access_key" => s = Some(v.trim().to_string()),
                        "aws_session_token" => tok = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
        }
        if let (Some(a), Some(s)) = (a, s) {
            crate::redact::add(&s);
            return Ok(Credentials { access_key_id: a, secret_access_key: s, session_token: tok });
        }
    }
    if instance_metadata {
        return instance_metadata_credentials();
    }
    Err(format!(
        "no credentials for {section}: set access_key_id and secret_access_key there, or AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (instance_metadata = true uses the instance's role)"
    ))
}

pub enum Failure {
    S3(S3Error),
    Other(String),
}

impl Failure {
    pub fn text(&self, b: &Bucket) -> String {
        match self {
            Failure::S3(e) => e.text(b),
            Failure::Other(s) => s.clone(),
        }
    }
    pub fn is_code(&self, code: &str) -> bool {
        matches!(self, Failure::S3(e) if e.code == code)
    }
}

/// IMDSv2: a session token, the role's name, then its credentials; each
/// step with a one-second timeout, and only when the config asked for it.
fn instance_metadata_credentials() -> Result<Credentials, String> {
    let base = "http://169.254.169.254/latest";
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| format!("instance metadata: {e}"))?;
    let fail = |e: reqwest::Error| format!("instance metadata ({base}) did not answer: {e}");
    let creds = crate::engine::runtime::block_on(async move {
        let token = client
            .put(format!("{base}/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "300")
            .send()
            .await
            .map_err(fail)?
            .text()
            .await
            .map_err(fail)?;
        let get = |path: String| {
            let c = client.clone();
            let t = token.clone();
            async move {
                c.get(path).header("X-aws-ec2-metadata-token", t).send().await.map_err(fail)?.text().await.map_err(fail)
            }
        };
        let role = get(format!("{base}/meta-data/iam/security-credentials/")).await?;
        let role = role.lines().next().unwrap_or("").to_string();
        let json = get(format!("{base}/meta-data/iam/security-credentials/{role}")).await?;
        let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| format!("instance metadata: {e}"))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        match (s("AccessKeyId"), s("SecretAccessKey")) {
            (Some(a), Some(k)) => Ok(Credentials { access_key_id: a, secret_access_key: k, session_token: s("Token") }),
            _ => Err("instance metadata: no credentials for the instance's role".to_string()),
        }
    })
    .map_err(|e| e.to_string())??;
    crate::redact::add(&creds.secret_access_key);
    Ok(creds)
}
