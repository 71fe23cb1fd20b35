//! The only way the program writes to stdout and stderr: through the
//! redactor. A write error (e.g. a closed pipe under `| head`) ends the
//! process quietly instead of panicking. `clippy.toml` disallows
//! `std::io::stdout`/`stderr` and the print macros everywhere else
//! (docs/ARCHITECTURE.md, "Invariants as lints").
#![allow(clippy::disallowed_methods, reason = "this module is the one that may touch stdout and stderr")]

use std::io::{IsTerminal, Write};

/// Is stdout a terminal (colour, the report frame)?
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Is stderr a terminal (progress lines, prompts)?
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress line on stderr, drawn over the previous one (`\r`); `""`
/// clears it. Only for a terminal: callers check `stderr_is_terminal`.
pub fn progress(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = if line.is_empty() {
        e.write_all(b"\r\x1b[K")
    } else {
        e.write_all(format!("\r{}", crate::redact::apply(line)).as_bytes())
    };
    let _ = e.flush();
}

/// Held while a question is on the terminal and its answer is read: two
/// at once (`fleet::each` asks from several threads) would mix their
/// prompts and answers, and one turning echo off would race the other.
pub fn asking() -> std::sync::MutexGuard<'static, ()> {
    static ASKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ASKING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A question on stderr, left open for the answer on the same line.
pub fn prompt(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(crate::redact::apply(text).as_bytes());
    let _ = e.flush();
}

/// One line of a long-running process's log on stdout (the scheduler's
/// journal): unlike `out`, a closed stdout does not end the process.
pub fn log_line(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(format!("{}\n", crate::redact::apply(text)).as_bytes());
    let _ = o.flush();
}

/// Bytes another runbook process wrote (and redacted itself), passed on to
/// stderr unchanged: they may end mid-character.
pub fn pass_through_err(bytes: &[u8]) {
    let _ = std::io::stderr().write_all(bytes);
}

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

/// Who may read what runbook writes: backups, history and what a run
/// keeps about itself are the owner's alone; a report written with `-o`
/// is also for its collector (node_exporter runs as another user).
pub mod mode {
    pub const PRIVATE: u32 = 0o600;
    pub const GROUP: u32 = 0o640;
    pub const PUBLIC: u32 = 0o644;
}

/// A new temporary file beside `dest`, for renaming onto it: created
/// exclusively (`O_EXCL`, so a symlink planted at its name is never
/// followed) under an unpredictable name, with `mode`. Dropped unrenamed,
/// it is removed.
pub fn temp_beside(dest: &std::path::Path, suffix: &str, mode: u32) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(suffix)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
}

/// Write a file atomically: a temp file beside it, then rename. Readers
/// (a Prometheus collector, a backup check) never see half a file. The
/// rename replaces a symlink at `path`; it never writes through one.
pub fn write_atomic(path: &std::path::Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    replace(path, contents, true, mode)
}

/// [`write_atomic`] without waiting for the disk: readers still never see
/// half a file, but a power cut may leave it empty or missing. For what a
/// run keeps about itself (its spooled history record, its last status),
/// where a run's own start-up time matters more than surviving a power cut.
pub fn write_atomic_unsynced(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    replace(path, contents, false, mode::PRIVATE)
}

fn replace(path: &std::path::Path, contents: &[u8], sync: bool, mode: u32) -> std::io::Result<()> {
    let mut tmp = temp_beside(path, ".tmp", mode)?;
    tmp.write_all(contents)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
