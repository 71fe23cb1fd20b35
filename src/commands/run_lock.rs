//! `runbook run --lock [NAME]`: one run at a time per script (or NAME).
//!
//! An advisory lock (flock) on a file in the state folder's `locks/`: the
//! kernel drops it when the process dies, however it dies, so a crashed run
//! never leaves a stale lock behind. The file holds the holder's pid and
//! start time, for the message a second run prints.
//!
//! With the history on PostgreSQL the lock is also the fleet's: an
//! advisory lock there (`history::fleet_lock`), so that two machines never
//! run the same job at once.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::time::{Duration, Instant};

use crate::exit::{Exit, Failure};

/// Held for the life of the run; dropping it releases the lock.
pub struct RunLock {
    _file: File,
    _fleet: Option<crate::history::fleet_lock::FleetLock>,
}

/// The lock `--lock [NAME]` (and `--lock-wait`) asks for, if any: NAME's,
/// or the script's when no name is given.
pub fn for_run(
    config: &crate::config::Config,
    script: &str,
    args: &crate::cli::RunArgs,
) -> Result<Option<RunLock>, Failure> {
    let Some(name) = &args.lock else { return Ok(None) };
    let name = if name.is_empty() { script } else { name.as_str() };
    acquire(config, name, args.lock_wait.as_ref().map(|w| w.value)).map(Some)
}

pub fn acquire(config: &crate::config::Config, name: &str, wait: Option<Duration>) -> Result<RunLock, Failure> {
    let path = crate::layout::lock_file(config, name);
    let fail = |e: std::io::Error| Failure::new(Exit::Unknown, format!("--lock: {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(fail)?;
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match crate::flock::exclusive(&file, false) {
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
    let fleet = fleet(config, name, wait, deadline)?;
    Ok(RunLock { _file: file, _fleet: fleet })
}

/// The fleet's lock, when the history is on PostgreSQL. A history that
/// cannot be reached runs nothing: the lock is what keeps two machines
/// from running the same job, and it cannot be known to be free.
fn fleet(
    config: &crate::config::Config,
    name: &str,
    wait: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<Option<crate::history::fleet_lock::FleetLock>, Failure> {
    use crate::history::fleet_lock::{try_take, Taken};
    let Some(url) = config.history.url.as_deref().filter(|_| crate::history::is_postgres(config)) else {
        return Ok(None);
    };
    let host = crate::host::sys::hostname_string();
    loop {
        match try_take(url, name, &host) {
            Ok(Taken::Held(lock)) => return Ok(Some(lock)),
            Ok(Taken::Busy(holder)) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(250));
                    continue;
                }
                let who = holder.unwrap_or_else(|| "another machine".into());
                let waited = wait.map(|w| format!(" after waiting {}", crate::duration::format(w))).unwrap_or_default();
                return Err(Failure::new(
                    Exit::TempFail,
                    crate::redact::apply(&format!(
                        "`{name}` is already running in the fleet ({who}){waited}; lock on the history's PostgreSQL"
                    ))
                    .into_owned(),
                )
                .with_help("--lock-wait 10m waits for it instead of giving up"));
            }
            Err(e) => {
                return Err(Failure::new(
                    Exit::TempFail,
                    crate::redact::apply(&format!(
                        "--lock: the fleet's lock on the history's PostgreSQL cannot be taken ({e}), so nothing was run"
                    ))
                    .into_owned(),
                )
                .with_help(
                    "the lock keeps two machines from running the same job: reach [history] url, or run without --lock",
                ))
            }
        }
    }
}
