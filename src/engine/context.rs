//! The run context: what every host function may need to know about the
//! run it serves (config, dry-run, `--yes`, deadline, cancellation).
//! One per process: a `runbook run` is one run, the REPL one session.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::config::Config;

/// Wakes a host call blocked in `runtime::block_on` when the run is
/// cancelled (the REPL's Ctrl-C, a signal); see [`RunContext::cancel`].
pub static CANCELLED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Stack of the threads scripts run on (the script thread, and
/// `fleet::each`'s). Deep recursion in Rhai uses the native stack (several
/// KiB per call level, more in debug builds); with `max_call_depth` well
/// under what this holds, a runaway recursion ends in a clean "call depth"
/// error instead of aborting the process.
pub const SCRIPT_STACK: usize = 256 * 1024 * 1024;

pub struct RunContext {
    pub config: Arc<Config>,
    dry_run: AtomicBool,
    yes: AtomicBool,
    cancel: AtomicBool,
    /// The signal that stopped the run (SIGINT, SIGTERM), or 0.
    signal: AtomicI32,
    deadline: RwLock<Option<(Instant, Duration)>>,
}

static CTX: OnceLock<RunContext> = OnceLock::new();

/// Install the context for this process. Later calls keep the first one.
pub fn init(config: Arc<Config>, dry_run: bool, yes: bool) -> &'static RunContext {
    CTX.get_or_init(|| RunContext {
        config,
        dry_run: AtomicBool::new(dry_run),
        yes: AtomicBool::new(yes),
        cancel: AtomicBool::new(false),
        signal: AtomicI32::new(0),
        deadline: RwLock::new(None),
    })
}

/// The context; a default one (no config, no deadline) when no run set it,
/// e.g. while `runbook doc` builds an engine to read its metadata.
pub fn ctx() -> &'static RunContext {
    CTX.get_or_init(|| RunContext {
        config: Arc::new(Config::default()),
        dry_run: AtomicBool::new(false),
        yes: AtomicBool::new(false),
        cancel: AtomicBool::new(false),
        signal: AtomicI32::new(0),
        deadline: RwLock::new(None),
    })
}

impl RunContext {
    pub fn dry_run(&self) -> bool {
        self.dry_run.load(Ordering::Relaxed)
    }
    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, Ordering::Relaxed)
    }
    /// Stop the running statement (the REPL's Ctrl-C): Rhai at its next
    /// operation, a blocked host call at once.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        // Every host call waiting now (several, under `fleet::each`), and
        // a permit for one about to wait.
        CANCELLED.notify_waiters();
        CANCELLED.notify_one();
    }
    /// A signal stops the run: like [`RunContext::cancel`], and the run
    /// ends with 128 + the signal's number.
    pub fn stop_for(&self, signal: i32) {
        self.signal.store(signal, Ordering::Relaxed);
        self.cancel();
    }
    /// The signal that stopped the run, if one did.
    pub fn stopped_by(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }
    pub fn clear_cancel(&self) {
        self.cancel.store(false, Ordering::Relaxed)
    }
    pub fn yes(&self) -> bool {
        self.yes.load(Ordering::Relaxed)
    }
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Start the clock: the run must end within `limit`.
    pub fn set_deadline(&self, limit: Option<Duration>) {
        *self.deadline.write().unwrap_or_else(|e| e.into_inner()) = limit.map(|l| (Instant::now() + l, l));
    }

    /// The time the run has left; `None` when it has no limit.
    pub fn remaining(&self) -> Option<Duration> {
        let d = *self.deadline.read().unwrap_or_else(|e| e.into_inner());
        d.map(|(at, _)| at.saturating_duration_since(Instant::now()))
    }

    pub fn time_limit(&self) -> Option<Duration> {
        self.deadline.read().unwrap_or_else(|e| e.into_inner()).map(|(_, l)| l)
    }

    /// Why the run must stop now, if it must: the token carried by Rhai's
    /// `ErrorTerminated`, which `try/catch` cannot swallow.
    pub fn interruption(&self) -> Option<String> {
        if self.cancelled() {
            if self.signal.load(Ordering::Relaxed) == libc::SIGTERM {
                return Some(TOKEN_TERMINATED.into());
            }
            return Some(TOKEN_INTERRUPTED.into());
        }
        match self.remaining() {
            Some(r) if r.is_zero() => Some(TOKEN_TIMEOUT.into()),
            _ => None,
        }
    }
}

pub const TOKEN_TIMEOUT: &str = "timeout";
pub const TOKEN_INTERRUPTED: &str = "interrupted";
pub const TOKEN_TERMINATED: &str = "terminated";
pub const TOKEN_MEMORY: &str = "memory";
