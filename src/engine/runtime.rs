//! The one tokio runtime, and the bridge from synchronous Rhai host
//! functions to async clients.
//!
//! Rhai cannot interrupt a host call from its progress hook, so every
//! future a host function waits on is raced against the time the run has
//! left and against cancellation (the REPL's Ctrl-C). Losing that race
//! ends the run with `ErrorTerminated`, which scripts cannot catch.

use std::future::Future;
use std::sync::OnceLock;

use rhai::{Dynamic, EvalAltResult, Position};

use super::context::{ctx, TOKEN_INTERRUPTED, TOKEN_TIMEOUT};

/// Created on first use, so a script that never waits on I/O never pays
/// for it. A current-thread runtime: the script thread drives the I/O
/// itself inside `block_on`, so a query costs no hand-off between threads
/// (a multi-thread runtime adds a wake-up per call, which a loop of short
/// queries feels).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("cannot start the I/O runtime")
    })
}

/// Wakes a host call blocked in [`block_on`] when the run is cancelled
/// (the REPL's Ctrl-C); see `RunContext::cancel`.
pub static CANCELLED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Resolves when the run is cancelled. `notify_one` leaves a permit when
/// nobody waits yet, so a Ctrl-C between the check and the wait is not
/// lost; a stale permit is ignored because the flag is not set.
async fn cancelled() {
    loop {
        CANCELLED.notified().await;
        if ctx().cancelled() {
            return;
        }
    }
}

/// Wait for `fut` on the script thread, bounded by the run's deadline.
pub fn block_on<T>(fut: impl Future<Output = T>) -> Result<T, Box<EvalAltResult>> {
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    let remaining = ctx().remaining();
    runtime().block_on(async move {
        // One timer per call: a loop of short queries feels every extra one.
        let deadline = async {
            match remaining {
                Some(r) => tokio::time::sleep(r).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            v = fut => Ok(v),
            _ = deadline => Err(terminated(TOKEN_TIMEOUT.into())),
            _ = cancelled() => Err(terminated(TOKEN_INTERRUPTED.into())),
        }
    })
}

pub fn terminated(token: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(Dynamic::from(token), Position::NONE))
}

/// Run disk- or CPU-bound work (a log scan) on the script thread. The work
/// itself checks `ctx().interruption()` between blocks; if it stopped for
/// that reason, the run ends here, uncatchably, like a timed-out future.
pub fn run_blocking<T>(work: impl FnOnce() -> T) -> Result<T, Box<EvalAltResult>> {
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    let v = work();
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    Ok(v)
}
