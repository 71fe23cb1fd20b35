//! The safety model in two functions. Every mutating host function calls
//! [`mutating`]; every one that loses data calls [`data_losing`].

use std::io::{BufRead, IsTerminal};

use rhai::EvalAltResult;

use super::context::ctx;
use super::failure::error;

/// `true`: go ahead. `false`: `--dry-run` is on, and a "would …" line was
/// recorded instead; the caller returns a harmless value.
pub fn mutating(what: impl FnOnce() -> String) -> bool {
    if ctx().dry_run() {
        crate::report::dry_run_line(&what());
        return false;
    }
    true
}

/// Like [`mutating`], and without `--dry-run` it also needs `--yes`, or a
/// "y" typed on the terminal. Without a terminal and without `--yes` it is
/// an error: cron must never delete on a guess.
pub fn data_losing(module: &str, what: impl FnOnce() -> String) -> Result<bool, Box<EvalAltResult>> {
    if ctx().dry_run() {
        crate::report::dry_run_line(&what());
        return Ok(false);
    }
    if ctx().yes() {
        return Ok(true);
    }
    let what = what();
    if std::io::stdin().is_terminal() && crate::output::stderr_is_terminal() {
        let yes = confirm(&what);
        // Ctrl-C at the prompt ends the run; it is never a "yes".
        if let Some(token) = ctx().interruption() {
            return Err(super::runtime::terminated(token));
        }
        if yes {
            return Ok(true);
        }
        return Err(error(module, format!("not confirmed: did not {what}")));
    }
    Err(error(
        module,
        format!("refusing to {what} without --yes (this loses data; run with --dry-run to see what would go, or --yes to go ahead)"),
    ))
}

/// Ask "y/N" on the terminal.
pub fn confirm(what: &str) -> bool {
    let _one = crate::output::asking();
    // Stopped while waiting for another question's answer: ask nothing.
    if ctx().interruption().is_some() {
        return false;
    }
    // What the script printed comes before the question about it.
    crate::report::release_held();
    // Under `fleet::each`, which target asks.
    let whose = crate::report::captured_title().map(|t| format!("[{t}] ")).unwrap_or_default();
    crate::output::prompt(&format!("runbook: {whose}about to {what}. Go ahead? [y/N] "));
    // Wait for the answer, or for the run to be stopped: a signal handler
    // restarts the read, so Ctrl-C would otherwise be ignored here.
    if !readable_or_stopped() {
        crate::output::prompt("\n");
        return false;
    }
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `true` once stdin has something to read; `false` when the run was
/// stopped (Ctrl-C, SIGTERM, its deadline) while waiting.
pub fn readable_or_stopped() -> bool {
    loop {
        if ctx().interruption().is_some() {
            return false;
        }
        let mut fd = libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 };
        // SAFETY: poll(2) on one pollfd that lives on this stack frame.
        let n = unsafe { libc::poll(&mut fd, 1, 100) };
        if n > 0 {
            return true;
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return true;
        }
    }
}
