//! The only way the program writes to stdout and stderr: through the
//! redactor. A write error (e.g. a closed pipe under `| head`) ends the
//! process quietly instead of panicking.

use std::io::Write;

pub fn out(text: &str) {
    let text = crate::redact::apply(text);
    let mut o = std::io::stdout().lock();
    if o.write_all(text.as_bytes()).and_then(|_| o.flush()).is_err() {
        std::process::exit(0);
    }
}

pub fn err(text: &str) {
    let text = crate::redact::apply(text);
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = e.write_all(b"\n");
    }
}

/// Write a file atomically: a temp file beside it, then rename. Readers
/// (a Prometheus collector, a backup check) never see half a file.
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    replace(path, contents, true)
}

/// [`write_atomic`] without waiting for the disk: readers still never see
/// half a file, but a power cut may leave it empty or missing. For what a
/// run keeps about itself (its spooled history record, its last status),
/// where a run's own start-up time matters more than surviving a power cut.
pub fn write_atomic_unsynced(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    replace(path, contents, false)
}

fn replace(path: &std::path::Path, contents: &[u8], sync: bool) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        if sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
