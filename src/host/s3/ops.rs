//! Listing, looking at, downloading and deleting objects.

use std::time::Duration;

use futures_util::StreamExt;
use rhai::{Array, Dynamic, Map, INT};

use super::bucket::{blocks, escape, tag, Bucket, Failure};
use crate::engine::{guard, runtime};
use crate::host::filesink::FileSink;
use crate::host::time::{parse_timestamp, Timestamp};
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

/// ListObjectsV2, page after page; `each` sees every object, and the
/// common prefixes ("folders") when not recursive.
pub fn list_each(b: &Bucket, prefix: &str, recursive: bool, mut each: impl FnMut(Object)) -> HostResult<Vec<String>> {
    let mut token: Option<String> = None;
    let mut folders = vec![];
    loop {
        let mut q = vec![("list-type".to_string(), "2".to_string()), ("max-keys".into(), "1000".into())];
        if !prefix.is_empty() {
            q.push(("prefix".into(), prefix.to_string()));
        }
        if !recursive {
            q.push(("delimiter".into(), "/".into()));
        }
        if let Some(t) = &token {
            q.push(("continuation-token".into(), t.clone()));
        }
        let text = runtime::block_on(async {
            let r = b.request("GET", "", &q, &[], vec![], SHORT).await?;
            crate::host::http::text_within(r, "the server's answer").await.map_err(Failure::Other)
        })?
        .map_err(|e| error(&b.who(), e.text(b)))?;
        for c in blocks(&text, "Contents") {
            each(Object {
                key: tag(c, "Key").unwrap_or_default().into_owned(),
                size: tag(c, "Size").and_then(|s| s.parse().ok()).unwrap_or(0),
                modified: tag(c, "LastModified").and_then(|t| parse_timestamp(&t).ok()),
                etag: tag(c, "ETag").unwrap_or_default().trim_matches('"').to_string(),
                storage_class: tag(c, "StorageClass").unwrap_or_default().into_owned(),
            });
        }
        for p in blocks(&text, "CommonPrefixes") {
            folders.push(tag(p, "Prefix").unwrap_or_default().into_owned());
        }
        match (tag(&text, "IsTruncated").as_deref(), tag(&text, "NextContinuationToken")) {
            (Some("true"), Some(t)) => token = Some(t.into_owned()),
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
    let r = runtime::block_on(b.request("HEAD", key, &[], &[], vec![], SHORT))?;
    let resp = match r {
        Ok(resp) => resp,
        Err(e) if e.is_code("NoSuchKey") => return Ok(None),
        Err(e) => return Err(error(&b.who(), format!("{key}: {}", e.text(b)))),
    };
    let h = resp.headers();
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut m = Map::new();
    m.insert("key".into(), Dynamic::from(key.to_string()));
    m.insert("size".into(), Dynamic::from_int(get("content-length").parse::<INT>().unwrap_or(0)));
    m.insert(
        "modified".into(),
        chrono::DateTime::parse_from_rfc2822(&get("last-modified"))
            .map(|d| Dynamic::from(Timestamp(d.with_timezone(&chrono::Utc))))
            .unwrap_or(Dynamic::UNIT),
    );
    m.insert("etag".into(), Dynamic::from(get("etag").trim_matches('"').to_string()));
    m.insert("content_type".into(), Dynamic::from(get("content-type")));
    let sc = get("x-amz-storage-class");
    m.insert("storage_class".into(), Dynamic::from(if sc.is_empty() { "STANDARD".to_string() } else { sc }));
    let metadata: Map = h
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str().strip_prefix("x-amz-meta-")?;
            Some((name.into(), Dynamic::from(v.to_str().ok()?.to_string())))
        })
        .collect();
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
    let mut sink = FileSink::create(&dest, false).map_err(|e| error(&b.who(), e))?;
    let result = runtime::block_on(async {
        let resp = b.request("GET", key, &[], &[], vec![], Duration::from_secs(24 * 3600)).await?;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Failure::Other(format!("download cut off: {e}")))?;
            if sink.send(chunk.to_vec()).is_err() {
                return Err(Failure::Other(sink.why_stopped()));
            }
        }
        Ok::<_, Failure>(())
    })?;
    // On error the sink is dropped here and the partial file removed.
    result.map_err(|e| error(&b.who(), format!("{key}: {}", e.text(b))))?;
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
    runtime::block_on(b.request("DELETE", key, &[], &[], vec![], SHORT))?
        .map_err(|e| error(&b.who(), format!("{key}: {}", e.text(b))))?;
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
    let mut deleted = 0;
    for batch in old.chunks(1000) {
        let body: String = format!(
            "<Delete><Quiet>true</Quiet>{}</Delete>",
            batch.iter().map(|o| format!("<Object><Key>{}</Key></Object>", escape(&o.key))).collect::<String>()
        );
        let md5 = md5_base64(body.as_bytes());
        let headers =
            vec![("content-md5".to_string(), md5), ("content-type".to_string(), "application/xml".to_string())];
        let text = runtime::block_on(async {
            let r =
                b.request("POST", "", &[("delete".into(), String::new())], &headers, body.into_bytes(), SHORT).await?;
            crate::host::http::text_within(r, "the server's answer").await.map_err(Failure::Other)
        })?
        .map_err(|e| error(&b.who(), e.text(b)))?;
        let errors = blocks(&text, "Error");
        if let Some(first) = errors.first() {
            return Err(error(
                &b.who(),
                format!(
                    "{} of {} deletions failed, first {}: {}",
                    errors.len(),
                    batch.len(),
                    tag(first, "Key").unwrap_or_default(),
                    tag(first, "Message").unwrap_or_default()
                ),
            ));
        }
        deleted += batch.len();
    }
    m.insert("deleted".into(), Dynamic::from_int(deleted as INT));
    Ok(m)
}

/// Content-MD5, which DeleteObjects requires.
fn md5_base64(data: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}
