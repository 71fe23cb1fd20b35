//! `runbook run --lock [NAME]`: one run at a time per script (or NAME).
//!
//! An advisory lock (flock) on a file in the state folder's `locks/`: the
//! kernel drops it when the process dies, however it dies, so a crashed run
//! never leaves a stale lock behind. The file holds the holder's pid and
//! start time, for the message a second run prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::exit::{Exit, Failure};

/// Held for the life of the run; dropping it releases the lock.
pub struct RunLock {
    _file: File,
}

fn file_for(state_dir: &std::path::Path, name: &str) -> PathBuf {
    state_dir.join("locks").join(format!("{}.lock", crate::host::state::file_name(name)))
}

/// flock(LOCK_EX | LOCK_NB): `Ok(false)` when another process holds it.
/// (std's `File::try_lock` is newer than the Rust this project supports.)
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this File owns for the call's duration.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

pub fn acquire(state_dir: &std::path::Path, name: &str, wait: Option<Duration>) -> Result<RunLock, Failure> {
    let path = file_for(state_dir, name);
    let fail = |e: std::io::Error| Failure::new(Exit::Unknown, format!("--lock: {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(fail)?;
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match try_lock(&file) {
            Ok(true) => break,
            Ok(false) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() { "another run".to_string() } else { holder.to_string() };
                let waited = wait.map(|w| format!(" after waiting {}", crate::duration::format(w))).unwrap_or_default();
                return Err(Failure::new(
                    Exit::TempFail,
                    format!("`{name}` is already running ({who}){waited}; lock {}", path.display()),
                )
                .with_help("--lock-wait 10m waits for it instead of giving up"));
            }
            Err(e) => return Err(fail(e)),
        }
    }
    let stamp = format!("pid {}, started {}", std::process::id(), chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"));
    file.set_len(0).map_err(fail)?;
    file.rewind().map_err(fail)?;
    file.write_all(stamp.as_bytes()).map_err(fail)?;
    Ok(RunLock { _file: file })
}
