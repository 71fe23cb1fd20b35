//! A bucket handle: the `[s3.NAME]` target and its SDK client, made at the
//! first call (credentials and region as `host/aws/sdk.rs` finds them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::engine::context::ctx;
use crate::host::aws::sdk::{self, Failure};
use crate::host::HostResult;

/// `s3::bucket("media")`: clones share the target and its client.
#[derive(Clone)]
pub struct S3Bucket(pub Arc<Bucket>);

pub struct Bucket {
    pub name: String,
    pub bucket: String,
    /// The service, for messages: the endpoint, or "AWS".
    pub shown: String,
    pub part_size: u64,
    target: crate::config::S3Target,
    client: OnceLock<aws_sdk_s3::Client>,
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
        let shown = match &t.endpoint {
            Some(e) => {
                let url = reqwest::Url::parse(e).map_err(|x| format!("[s3.{name}] endpoint `{e}`: {x}"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(format!(
                        "[s3.{name}] endpoint `{e}` needs a scheme and a host: http://HOST:PORT or https://HOST"
                    ));
                }
                e.trim_end_matches('/').to_string()
            }
            None => "AWS".to_string(),
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
            shown,
            part_size,
            target: t.clone(),
            client: OnceLock::new(),
        })))
    }
}

impl Bucket {
    pub fn who(&self) -> String {
        format!("s3 ({})", self.name)
    }

    /// The SDK client of the target, made once for the process (so the
    /// credentials are found once, however many handles a script opens).
    /// A run that ends while the region is looked up stays ended: the
    /// error is the run's, not a catchable one, and nothing is cached.
    pub fn client(&self) -> HostResult<&aws_sdk_s3::Client> {
        static CLIENTS: Mutex<BTreeMap<String, aws_sdk_s3::Client>> = Mutex::new(BTreeMap::new());
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let made = CLIENTS.lock().unwrap_or_else(|e| e.into_inner()).get(&self.name).cloned();
        let client = match made {
            Some(c) => c,
            None => {
                let c = self.make_client()?;
                CLIENTS.lock().unwrap_or_else(|e| e.into_inner()).insert(self.name.clone(), c.clone());
                c
            }
        };
        Ok(self.client.get_or_init(|| client))
    }

    fn make_client(&self) -> HostResult<aws_sdk_s3::Client> {
        let t = &self.target;
        let source = sdk::Source {
            section: format!("[s3.{}]", self.name),
            access_key_id: t.access_key_id.clone(),
            secret_access_key: t.secret_access_key.clone(),
            session_token: t.session_token.clone(),
            profile: t.profile.clone(),
            region: t.region.clone(),
            instance_metadata: t.instance_metadata.unwrap_or(false),
        };
        let (region, _) = crate::engine::runtime::block_on(source.region())?;
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(source.credentials(&region))
            .http_client(sdk::http_client())
            .interceptor(sdk::Limit);
        if let Some(e) = &t.endpoint {
            // S3-compatible stores (MinIO, Garage, Ceph) want the bucket in
            // the path and take no trailing checksums they do not know.
            b = b
                .endpoint_url(e)
                .force_path_style(t.path_style.unwrap_or(true))
                .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
        } else if let Some(p) = t.path_style {
            b = b.force_path_style(p);
        }
        Ok(aws_sdk_s3::Client::from_conf(b.build()))
    }

    /// A failed call in words.
    pub fn text(&self, e: &Failure) -> String {
        match e {
            Failure::Service { status, code, message } => match code.as_str() {
                "NoSuchBucket" => format!("bucket `{}` does not exist ({message})", self.bucket),
                "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "InvalidToken" | "ExpiredToken" => {
                    format!("credentials refused: {code} ({message})")
                }
                "" if *status == 403 => "credentials refused: AccessDenied (HTTP 403)".to_string(),
                "" => format!("HTTP {status}"),
                code => format!("{code}: {message}"),
            },
            Failure::Other(s) => s.clone(),
        }
    }

    /// An SDK error of this bucket's service as a `Failure`.
    pub fn failure<E>(
        &self,
        e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Failure
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        sdk::failure(&self.shown, e)
    }
}
