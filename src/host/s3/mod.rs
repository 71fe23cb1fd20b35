//! `s3`: buckets of `[s3.NAME]` targets (AWS, MinIO, Garage, R2, Ceph…)
//! through the official SDK. Credentials and region come from where the
//! AWS CLI finds them (`host/aws/sdk.rs`); the instance-metadata service is
//! asked only when the target says so.

pub mod bucket;
mod ops;
mod upload;

pub use bucket::S3Bucket;

use rhai::plugin::*;

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod s3_functions {
    use rhai::{Array, Map};

    use super::S3Bucket;
    use crate::host::{error, HostResult};

    /// The bucket of the `[s3.NAME]` target. Nothing is sent yet; the
    /// first call finds the credentials and talks to the service.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let media = s3::bucket("media");
    /// print(media.summary().human);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bucket(name: &str) -> HostResult<S3Bucket> {
        S3Bucket::open(name).map_err(|e| error("s3::bucket", e))
    }

    /// Every object (all pages): maps with `key`, `size`, `modified` (a
    /// Timestamp), `etag`, `storage_class`.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "list", return_raw, pure)]
    pub fn list(b: &mut S3Bucket) -> HostResult<Array> {
        super::ops::list(&b.0, "", true)
    }

    /// Objects with options `#{prefix, recursive}`: `recursive: false`
    /// lists one level, folders as `#{key: "db/", folder: true}` (the
    /// manual's `aws s3 ls`).
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// for o in s3::bucket("backups").list(#{prefix: "db/"}) { print(`${o.key} ${o.size}`); }
    /// ```
    #[rhai_fn(global, name = "list", return_raw, pure)]
    pub fn list_with(b: &mut S3Bucket, options: Map) -> HostResult<Array> {
        let o = crate::host::opts::Opts::new("s3 list", &options)?;
        super::ops::list(&b.0, &o.str("prefix")?.unwrap_or_default(), o.bool("recursive")?.unwrap_or(true))
    }

    /// Objects and bytes in the whole bucket: `#{objects, bytes, human}`
    /// (`aws s3 ls --recursive --summarize`).
    ///
    /// *read-only*
    #[rhai_fn(global, name = "summary", return_raw, pure)]
    pub fn summary(b: &mut S3Bucket) -> HostResult<Map> {
        super::ops::summary(&b.0, "")
    }

    /// Objects and bytes under a prefix.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "summary", return_raw, pure)]
    pub fn summary_prefix(b: &mut S3Bucket, prefix: &str) -> HostResult<Map> {
        super::ops::summary(&b.0, prefix)
    }

    /// Whether an object exists.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "exists", return_raw, pure)]
    pub fn exists(b: &mut S3Bucket, key: &str) -> HostResult<bool> {
        Ok(super::ops::head(&b.0, key)?.is_some())
    }

    /// An object's `#{key, size, modified, etag, content_type,
    /// storage_class, metadata}` (`metadata`: the user metadata `put_file`
    /// kept, e.g. `metadata.sha256`); throws when there is no such object.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "head", return_raw, pure)]
    pub fn head(b: &mut S3Bucket, key: &str) -> HostResult<Map> {
        super::ops::head(&b.0, key)?
            .ok_or_else(|| error(&b.0.who(), format!("no object `{key}` in bucket `{}`", b.0.bucket)))
    }

    /// Upload a file (inside `[fs] roots`): one request up to the part
    /// size (`[s3.NAME] part_size`, 8MiB), a multipart upload above it,
    /// memory flat, a progress line on a terminal. A failure aborts the
    /// upload: no partial object is left. Returns `#{key, bytes, etag,
    /// duration_ms}`.
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// s3::bucket("backups").put_file("/opt/civicq/backups/db/civicq.sql.gz", "db/civicq.sql.gz");
    /// ```
    #[rhai_fn(global, name = "put_file", return_raw, pure)]
    pub fn put_file(b: &mut S3Bucket, path: &str, key: &str) -> HostResult<Map> {
        super::upload::put_file(&b.0, path, key, Map::new())
    }

    /// `put_file` with options `#{storage_class, content_type, metadata}`:
    /// a storage class ("STANDARD_IA", "GLACIER" …), and user metadata kept
    /// with the object (a map of strings; `head` returns it).
    ///
    /// ```rhai,no_run
    /// let d = pg::dump("main", "/opt/civicq/backups/db/civicq.sql.gz");
    /// s3::bucket("backups").put_file(d.path, "db/civicq.sql.gz", #{metadata: #{sha256: d.sha256}});
    /// ```
    ///
    /// *mutating*
    #[rhai_fn(global, name = "put_file", return_raw, pure)]
    pub fn put_file_with(b: &mut S3Bucket, path: &str, key: &str, options: Map) -> HostResult<Map> {
        super::upload::put_file(&b.0, path, key, options)
    }

    /// Download an object to a file (inside `[fs] roots`), through a
    /// temporary file renamed into place when complete: `#{path, bytes,
    /// sha256}`.
    ///
    /// *mutating*
    #[rhai_fn(global, name = "get_file", return_raw, pure)]
    pub fn get_file(b: &mut S3Bucket, key: &str, path: &str) -> HostResult<Map> {
        super::ops::get_file(&b.0, key, path)
    }

    /// Delete one object; `false` under `--dry-run`.
    ///
    /// *data-losing*
    #[rhai_fn(global, name = "delete", return_raw, pure)]
    pub fn delete(b: &mut S3Bucket, key: &str) -> HostResult<bool> {
        super::ops::delete(&b.0, key)
    }

    /// Delete the objects under `prefix` last modified more than `age`
    /// ("30d") ago: `#{deleted, keys, bytes}`. `--dry-run` lists them.
    ///
    /// *data-losing*
    ///
    /// ```rhai,no_run
    /// let gone = s3::bucket("backups").delete_older_than("db/", "30d");
    /// print(`${gone.deleted} old backups deleted`);
    /// ```
    #[rhai_fn(global, name = "delete_older_than", return_raw, pure)]
    pub fn delete_older_than(b: &mut S3Bucket, prefix: &str, age: &str) -> HostResult<Map> {
        super::ops::delete_older_than(&b.0, prefix, age)
    }

    /// As `delete_older_than(prefix, "30d")`, with a `Duration`.
    ///
    /// *data-losing*
    #[rhai_fn(global, name = "delete_older_than", return_raw, pure)]
    pub fn delete_older_than_span(b: &mut S3Bucket, prefix: &str, age: crate::host::time::Span) -> HostResult<Map> {
        super::ops::delete_older_than(&b.0, prefix, &age.to_string())
    }

    /// The target's name, bucket and endpoint, for messages.
    ///
    /// *read-only*
    #[rhai_fn(global, name = "to_string", pure)]
    pub fn to_string(b: &mut S3Bucket) -> String {
        format!("s3 bucket {} ([s3.{}] at {})", b.0.bucket, b.0.name, b.0.shown)
    }
}
