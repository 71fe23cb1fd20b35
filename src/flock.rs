//! flock(2), the advisory lock the kernel drops when its holder dies,
//! however it dies: `run --lock` and the history spool's taking-in use it.
//! (std's `File::lock` and `try_lock` are newer than the Rust this project
//! supports.)

use std::fs::File;
use std::os::fd::AsRawFd;

/// Lock `file` exclusively. With `wait`, block until it is ours; without,
/// `Ok(false)` when another process holds it. Released when `file` is closed.
pub fn exclusive(file: &File, wait: bool) -> std::io::Result<bool> {
    let op = if wait { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    // SAFETY: flock on a descriptor this File owns for the call's duration.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if !wait && e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}
