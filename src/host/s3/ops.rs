//! Listing, looking at, downloading and deleting objects.

use std::time::Duration;

use rhai::{Array, Dynamic, Map, INT};

use super::bucket::Bucket;
use crate::engine::{guard, runtime};
use crate::host::aws::sdk::Failure;
use crate::host::filesink::FileSink;
use crate::host::time::Timestamp;
use crate::host::{error, HostResult};

const SHORT: Duration = Duration::from_secs(60);

/// One listed object.
pub struct Object {
    pub key: String,
    pub size: u64,
    pub modified: Option<Timestamp>,
    pub etag: String,
    pub storage_class: String,
}

impl Object {
    pub fn to_map(&self) -> Dynamic {
        let mut m = Map::new();
        m.insert("key".into(), Dynamic::from(self.key.clone()));
        m.insert("size".into(), Dynamic::from_int(self.size as INT));
        m.insert("modified".into(), self.modified.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
        m.insert("etag".into(), Dynamic::from(self.etag.clone()));
        m.insert("storage_class".into(), Dynamic::from(self.storage_class.clone()));
        Dynamic::from_map(m)
    }
}

/// The SDK's time as a Timestamp.
pub fn timestamp(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<Timestamp> {
    let t = t?;
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).map(Timestamp)
}

/// An ETag without its quotes.
pub fn etag(e: Option<&str>) -> String {
    e.unwrap_or("").trim_matches('"').to_string()
}

/// At most `limit` for one request: the SDK's own retries sit inside it.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| Err(Failure::Other(format!("{what}: no answer within {}", crate::duration::format(limit)))))
}

/// ListObjectsV2, page after page; `each` sees every object, and the
/// common prefixes ("folders") when not recursive.
pub fn list_each(b: &Bucket, prefix: &str, recursive: bool, mut each: impl FnMut(Object)) -> HostResult<Vec<String>> {
    let client = b.client()?;
    let mut token: Option<String> = None;
    let mut folders = vec![];
    loop {
        let req = client
            .list_objects_v2()
            .bucket(&b.bucket)
            .max_keys(1000)
            .set_prefix(Some(prefix.to_string()).filter(|p| !p.is_empty()))
            .set_delimiter((!recursive).then(|| "/".to_string()))
            .set_continuation_token(token.take());
        let page = runtime::block_on(within(SHORT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))?
            .map_err(|e| error(&b.who(), b.text(&e)))?;
        for o in page.contents() {
            each(Object {
                key: o.key().unwrap_or_default().to_string(),
                size: o.size().unwrap_or(0).max(0) as u64,
                modified: timestamp(o.last_modified()),
                etag: etag(o.e_tag()),
                storage_class: o.storage_class().map(|c| c.as_str().to_string()).unwrap_or_default(),
            });
        }
        for p in page.common_prefixes() {
            folders.push(p.prefix().unwrap_or_default().to_string());
        }
        match (page.is_truncated(), page.next_continuation_token()) {
            (Some(true), Some(t)) => token = Some(t.to_string()),
            _ => return Ok(folders),
        }
    }
}

pub fn list(b: &Bucket, prefix: &str, recursive: bool) -> HostResult<Array> {
    let mut out = Array::new();
    let folders = list_each(b, prefix, recursive, |o| out.push(o.to_map()))?;
    for f in folders {
        let mut m = Map::new();
        m.insert("key".into(), Dynamic::from(f));
        m.insert("folder".into(), Dynamic::from_bool(true));
        m.insert("size".into(), Dynamic::from_int(0));
        out.push(Dynamic::from_map(m));
    }
    Ok(out)
}

pub fn summary(b: &Bucket, prefix: &str) -> HostResult<Map> {
    let (mut n, mut bytes) = (0i64, 0u64);
    list_each(b, prefix, true, |o| {
        n += 1;
        bytes += o.size;
    })?;
    let mut m = Map::new();
    m.insert("objects".into(), Dynamic::from_int(n));
    m.insert("bytes".into(), Dynamic::from_int(bytes as INT));
    m.insert("human".into(), Dynamic::from(crate::report::text::human_bytes(bytes as i64)));
    Ok(m)
}

pub fn head(b: &Bucket, key: &str) -> HostResult<Option<Map>> {
    let client = b.client()?;
    let req = client.head_object().bucket(&b.bucket).key(key);
    let r = runtime::block_on(within(SHORT, &b.shown, async {
        match req.send().await {
            Ok(h) => Ok(Some(h)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(b.failure(e)),
        }
    }))?
    .map_err(|e| error(&b.who(), format!("{key}: {}", b.text(&e))))?;
    let Some(h) = r else { return Ok(None) };
    let mut m = Map::new();
    m.insert("key".into(), Dynamic::from(key.to_string()));
    m.insert("size".into(), Dynamic::from_int(h.content_length().unwrap_or(0) as INT));
    m.insert("modified".into(), timestamp(h.last_modified()).map(Dynamic::from).unwrap_or(Dynamic::UNIT));
    m.insert("etag".into(), Dynamic::from(etag(h.e_tag())));
    m.insert("content_type".into(), Dynamic::from(h.content_type().unwrap_or("").to_string()));
    let sc = h.storage_class().map(|c| c.as_str().to_string()).unwrap_or_else(|| "STANDARD".into());
    m.insert("storage_class".into(), Dynamic::from(sc));
    let mut metadata: Vec<(&String, &String)> = h.metadata().into_iter().flatten().collect();
    metadata.sort();
    let metadata: Map = metadata.into_iter().map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone()))).collect();
    m.insert("metadata".into(), Dynamic::from_map(metadata));
    Ok(Some(m))
}

pub fn get_file(b: &Bucket, key: &str, path: &str) -> HostResult<Map> {
    const F: &str = "s3::get_file";
    let dest = crate::host::fs::confine(F, path)?;
    if !guard::mutating(|| format!("download s3://{}/{key} to {}", b.bucket, dest.display())) {
        let mut m = Map::new();
        m.insert("path".into(), Dynamic::from(dest.display().to_string()));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let client = b.client()?;
    let mut sink = FileSink::create(&dest, false).map_err(|e| error(&b.who(), e))?;
    let req = client.get_object().bucket(&b.bucket).key(key);
    let result = runtime::block_on(async {
        let mut body = within(SHORT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }).await?.body;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| Failure::Other(format!("download cut off: {}", crate::host::error_chain(&e))))?;
            if sink.send(chunk.to_vec()).is_err() {
                return Err(Failure::Other(sink.why_stopped()));
            }
        }
        Ok::<_, Failure>(())
    })?;
    // On error the sink is dropped here and the partial file removed.
    result.map_err(|e| error(&b.who(), format!("{key}: {}", b.text(&e))))?;
    let w = sink.commit().map_err(|e| error(&b.who(), e))?;
    let mut m = Map::new();
    m.insert("path".into(), Dynamic::from(dest.display().to_string()));
    m.insert("bytes".into(), Dynamic::from_int(w.bytes as INT));
    m.insert("sha256".into(), Dynamic::from(w.sha256));
    Ok(m)
}

pub fn delete(b: &Bucket, key: &str) -> HostResult<bool> {
    if !guard::data_losing(&b.who(), || format!("delete s3://{}/{key}", b.bucket))? {
        return Ok(false);
    }
    let client = b.client()?;
    let req = client.delete_object().bucket(&b.bucket).key(key);
    runtime::block_on(within(SHORT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))?
        .map_err(|e| error(&b.who(), format!("{key}: {}", b.text(&e))))?;
    Ok(true)
}

/// Delete every object under `prefix` last modified before `age` ago, in
/// batches of 1000 (DeleteObjects). Dry-run lists what would go.
pub fn delete_older_than(b: &Bucket, prefix: &str, age: &str) -> HostResult<Map> {
    let d = crate::duration::parse(age).map_err(|e| error(&b.who(), format!("age: {e}")))?;
    let cutoff = chrono::Utc::now() - chrono::Duration::milliseconds(d.as_millis() as i64);
    let mut old: Vec<Object> = vec![];
    list_each(b, prefix, true, |o| {
        if o.modified.is_some_and(|m| m.0 < cutoff) {
            old.push(o)
        }
    })?;
    let bytes: u64 = old.iter().map(|o| o.size).sum();
    let keys: Array = old.iter().map(|o| Dynamic::from(o.key.clone())).collect();
    let mut m = Map::new();
    m.insert("keys".into(), Dynamic::from_array(keys));
    m.insert("bytes".into(), Dynamic::from_int(bytes as INT));
    if old.is_empty() {
        m.insert("deleted".into(), Dynamic::from_int(0));
        return Ok(m);
    }
    let what = || {
        let names: Vec<&str> = old.iter().take(20).map(|o| o.key.as_str()).collect();
        let more = if old.len() > 20 { format!(" and {} more", old.len() - 20) } else { String::new() };
        format!(
            "delete {} objects older than {age} from s3://{}/{prefix} ({}): {}{more}",
            old.len(),
            b.bucket,
            crate::report::text::human_bytes(bytes as i64),
            names.join(", ")
        )
    };
    if !guard::data_losing(&b.who(), what)? {
        m.insert("deleted".into(), Dynamic::from_int(0));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let client = b.client()?;
    let mut deleted = 0;
    for batch in old.chunks(1000) {
        let ids = batch
            .iter()
            .map(|o| ObjectIdentifier::builder().key(&o.key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| error(&b.who(), e.to_string()))?;
        let delete =
            Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(|e| error(&b.who(), e.to_string()))?;
        let req = client.delete_objects().bucket(&b.bucket).delete(delete).customize().interceptor(ContentMd5);
        let answer = runtime::block_on(within(SHORT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))?
            .map_err(|e| error(&b.who(), b.text(&e)))?;
        if let Some(first) = answer.errors().first() {
            return Err(error(
                &b.who(),
                format!(
                    "{} of {} deletions failed, first {}: {}",
                    answer.errors().len(),
                    batch.len(),
                    first.key().unwrap_or_default(),
                    first.message().unwrap_or_default()
                ),
            ));
        }
        deleted += batch.len();
    }
    m.insert("deleted".into(), Dynamic::from_int(deleted as INT));
    Ok(m)
}

/// DeleteObjects with a Content-MD5 header: the SDK now sends only a CRC32
/// checksum, which older MinIO, Ceph RGW and other S3-compatible stores
/// refuse ("Missing required header for this request: Content-Md5").
#[derive(Debug)]
struct ContentMd5;

impl aws_smithy_runtime_api::client::interceptors::Intercept for ContentMd5 {
    fn name(&self) -> &'static str {
        "runbook Content-MD5"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use base64::Engine;
        use md5::Digest;
        let request = context.request_mut();
        if let Some(body) = request.body().bytes() {
            let sum = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body));
            request.headers_mut().insert("content-md5", sum);
        }
        Ok(())
    }
}
