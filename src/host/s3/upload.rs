//! `put_file`: one PUT for a small file; above the part size a multipart
//! upload, a few parts in flight, each read from the file when its turn
//! comes — memory stays flat whatever the file's size. Any failure (or the
//! run's deadline, or Ctrl-C) aborts the upload, so no partial object is
//! ever left; the local file is only read.

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rhai::{Dynamic, Map, INT};

use super::bucket::Bucket;
use super::ops::{etag, within};
use crate::engine::context::ctx;
use crate::engine::{guard, runtime};
use crate::host::opts::Opts;
use crate::host::{error, HostResult};

/// Parts uploaded at once: enough to fill a link, few enough that memory
/// stays at a few parts.
const IN_FLIGHT: usize = 4;
const PART_TIMEOUT: Duration = Duration::from_secs(600);

pub fn put_file(b: &Bucket, path: &str, key: &str, map: Map) -> HostResult<Map> {
    const F: &str = "s3::put_file";
    let o = Opts::new(F, &map)?;
    let src = crate::host::fs::confine(F, path)?;
    let file = crate::host::fs::open_beneath(&src).map_err(|e| crate::host::fs::escaped(F, &src, e))?;
    let size = file.metadata().map_err(|e| error(F, e))?.len();
    let headers = Headers {
        storage_class: o.str("storage_class")?.map(|c| aws_sdk_s3::types::StorageClass::from(c.as_str())),
        content_type: o.str("content_type")?.unwrap_or_else(|| guess_type(key).into()),
        metadata: user_metadata(F, o.map("metadata")?.unwrap_or_default())?.into_iter().collect(),
    };
    let shown = format!("s3://{}/{key}", b.bucket);
    if !guard::mutating(|| {
        format!("upload {} ({}) to {shown}", src.display(), crate::report::text::human_bytes(size as i64))
    }) {
        let mut m = Map::new();
        m.insert("key".into(), Dynamic::from(key.to_string()));
        m.insert("bytes".into(), Dynamic::from_int(size as INT));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let started = Instant::now();
    let client = b.client()?;
    let etag = if size <= b.part_size {
        let mut body = vec![0u8; size as usize];
        file.read_exact_at(&mut body, 0).map_err(|e| error(F, format!("{}: {e}", src.display())))?;
        let req = client
            .put_object()
            .bucket(&b.bucket)
            .key(key)
            .content_type(&headers.content_type)
            .set_storage_class(headers.storage_class.clone())
            .set_metadata(Some(headers.metadata.clone()).filter(|m| !m.is_empty()))
            .body(body.into());
        let r =
            runtime::block_on(within(PART_TIMEOUT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))?
                .map_err(|e| error(&b.who(), format!("upload to {shown} failed: {}", b.text(&e))))?;
        etag(r.e_tag())
    } else {
        multipart(b, client, &file, size, key, &headers).map_err(|e| match ctx().interruption() {
            Some(token) => runtime::terminated(token),
            None => error(&b.who(), format!("upload to {shown} failed, {e}")),
        })?
    };
    let mut m = Map::new();
    m.insert("key".into(), Dynamic::from(key.to_string()));
    m.insert("bytes".into(), Dynamic::from_int(size as INT));
    m.insert("etag".into(), Dynamic::from(etag));
    m.insert("duration_ms".into(), Dynamic::from_int(started.elapsed().as_millis() as INT));
    Ok(m)
}

/// The `metadata` option as S3 user metadata: names of letters, digits, `-`
/// and `_` (S3 keeps them lowercase), values of printable ASCII (they travel
/// as HTTP headers: a line break would forge one), 2 KiB in all as S3 allows.
fn user_metadata(func: &str, map: Map) -> HostResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut total = 0;
    for (name, value) in map {
        let name = name.to_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
            return Err(error(func, format!("metadata name `{name}`: use letters, digits, `-` and `_`")));
        }
        let value = value.to_string();
        if !value.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(error(func, format!("metadata `{name}`: the value must be printable ASCII on one line")));
        }
        total += name.len() + value.len();
        out.push((name, value));
    }
    if total > 2048 {
        return Err(error(func, format!("metadata of {total} bytes: S3 keeps at most 2 KiB per object")));
    }
    Ok(out)
}

fn guess_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or("") {
        "gz" => "application/gzip",
        "json" => "application/json",
        "sql" | "txt" | "log" => "text/plain",
        "html" => "text/html",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// What an upload sets on its object.
struct Headers {
    storage_class: Option<aws_sdk_s3::types::StorageClass>,
    content_type: String,
    metadata: std::collections::HashMap<String, String>,
}

fn multipart(
    b: &Bucket,
    client: &aws_sdk_s3::Client,
    file: &std::fs::File,
    size: u64,
    key: &str,
    headers: &Headers,
) -> Result<String, String> {
    let req = client
        .create_multipart_upload()
        .bucket(&b.bucket)
        .key(key)
        .content_type(&headers.content_type)
        .set_storage_class(headers.storage_class.clone())
        .set_metadata(Some(headers.metadata.clone()).filter(|m| !m.is_empty()));
    let created =
        runtime::block_on(within(PART_TIMEOUT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))
            .map_err(|e| e.to_string())?
            .map_err(|e| b.text(&e))?;
    let upload_id = created.upload_id().ok_or("the server sent no UploadId")?.to_string();
    let result = upload_parts(b, client, file, size, key, &upload_id);
    match result {
        Ok(etag) => Ok(etag),
        Err(e) => match abort(b, client, key, &upload_id) {
            Ok(()) => Err(format!("nothing was left in the bucket: {e}")),
            Err(left) => Err(format!("{e}; {left}")),
        },
    }
}

fn upload_parts(
    b: &Bucket,
    client: &aws_sdk_s3::Client,
    file: &std::fs::File,
    size: u64,
    key: &str,
    upload_id: &str,
) -> Result<String, String> {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let parts = size.div_ceil(b.part_size);
    let tty = crate::output::stderr_is_terminal();
    let mut done_bytes = 0u64;
    let mut last_shown = Instant::now();
    let mut etags: Vec<(u64, String)> = Vec::with_capacity(parts as usize);
    let uploads = futures_util::stream::iter(1..=parts)
        .map(|n| {
            let offset = (n - 1) * b.part_size;
            let len = b.part_size.min(size - offset);
            async move {
                let mut body = vec![0u8; len as usize];
                file.read_exact_at(&mut body, offset).map_err(|e| format!("reading the file: {e}"))?;
                let req = client
                    .upload_part()
                    .bucket(&b.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(n as i32)
                    .body(body.into());
                let r = within(PART_TIMEOUT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) })
                    .await
                    .map_err(|e| format!("part {n}: {}", b.text(&e)))?;
                Ok::<_, String>((n, len, etag(r.e_tag())))
            }
        })
        .buffer_unordered(IN_FLIGHT);
    let collected = runtime::block_on(async {
        futures_util::pin_mut!(uploads);
        while let Some(r) = uploads.next().await {
            let (n, len, etag) = r?;
            etags.push((n, etag));
            done_bytes += len;
            if tty && last_shown.elapsed() > Duration::from_millis(250) {
                let pct = done_bytes as f64 / size as f64 * 100.0;
                crate::output::progress(&format!(
                    "s3 upload {key}: {} of {} ({pct:.0}%)",
                    human(done_bytes),
                    human(size)
                ));
                last_shown = Instant::now();
            }
        }
        Ok::<_, String>(())
    });
    if tty {
        crate::output::progress("");
    }
    match collected {
        Ok(r) => r?,
        Err(_) => return Err(ctx().interruption().unwrap_or_else(|| "interrupted".into())),
    }
    etags.sort();
    let done = CompletedMultipartUpload::builder()
        .set_parts(Some(
            etags
                .iter()
                .map(|(n, e)| CompletedPart::builder().part_number(*n as i32).e_tag(format!("\"{e}\"")).build())
                .collect(),
        ))
        .build();
    let req = client.complete_multipart_upload().bucket(&b.bucket).key(key).upload_id(upload_id).multipart_upload(done);
    // S3 may answer 200 and put the error in the body: the SDK reads that
    // as the error it is.
    let r = runtime::block_on(within(PART_TIMEOUT, &b.shown, async { req.send().await.map_err(|e| b.failure(e)) }))
        .map_err(|e| e.to_string())?
        .map_err(|e| b.text(&e))?;
    Ok(etag(r.e_tag()))
}

fn human(n: u64) -> String {
    crate::report::text::human_bytes(n as i64)
}

/// Abort even when the run's time is up: this is the cleanup that keeps
/// a partial upload from lingering (and being billed). The abort is
/// checked by listing the upload's parts, and repeated while parts remain
/// (a part in flight may complete after the first abort); `Err` says what
/// could not be cleaned up and how to do it by hand.
fn abort(b: &Bucket, client: &aws_sdk_s3::Client, key: &str, upload_id: &str) -> Result<(), String> {
    let by_hand = format!(
        "remove them with `aws s3api abort-multipart-upload --bucket {} --key {key} --upload-id {upload_id}`, \
         or let a lifecycle rule (AbortIncompleteMultipartUpload) do it",
        b.bucket
    );
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        let result = runtime::runtime().block_on(async {
            let step = Duration::from_secs(10);
            let req = client.abort_multipart_upload().bucket(&b.bucket).key(key).upload_id(upload_id);
            let aborted = within(step, "the abort", async { req.send().await.map_err(|e| b.failure(e)) }).await;
            if let Err(e) = &aborted {
                if !e.is_code("NoSuchUpload") {
                    return Err(b.text(e));
                }
            }
            // What is left of the upload, if anything.
            let req = client.list_parts().bucket(&b.bucket).key(key).upload_id(upload_id);
            match within(step, "the list of parts", async { req.send().await.map_err(|e| b.failure(e)) }).await {
                Err(e) if e.is_code("NoSuchUpload") || e.is_code("NotImplemented") => Ok(0),
                Err(e) => Err(b.text(&e)),
                Ok(r) => Ok(r.parts().len()),
            }
        });
        match result {
            Ok(0) => return Ok(()),
            Ok(n) => last = format!("{n} part(s) remained after the abort"),
            Err(e) => last = e,
        }
    }
    Err(format!("the upload's parts may remain in the bucket ({last}): {by_hand}"))
}
