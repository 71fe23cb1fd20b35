//! A sandbox for the backup scripts: local backups in ./backups, and a
//! bucket of the S3 test server named `backups` in its runbook.toml.

use std::path::{Path, PathBuf};

use super::{service, Sandbox};

pub struct Backups {
    pub sb: Sandbox,
    /// ./backups in the sandbox.
    pub dir: PathBuf,
    /// The bucket's folder on the S3 test server's disk.
    pub bucket_dir: PathBuf,
}

/// `[s3.backups]` at `s3_endpoint` (a closed port plays a stopped S3), the
/// test PostgreSQL and Redis, and `extra` config.
pub fn sandbox(test: &str, s3_endpoint: &str, extra: &str) -> Backups {
    let bucket = format!("backups-{test}-{}", std::process::id());
    let bucket_dir = Path::new(&service("RUNBOOK_TEST_S3_ROOT")).join(&bucket);
    std::fs::create_dir_all(&bucket_dir).unwrap();
    let sb = Sandbox::with_services(&format!(
        "\n[s3.backups]\nbucket = \"{bucket}\"\nendpoint = \"{s3_endpoint}\"\naccess_key_id = \"runbook-test-key\"\nsecret_access_key = \"runbook-test-secret\"\n{extra}"
    ));
    let dir = sb.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    Backups { sb, dir, bucket_dir }
}
