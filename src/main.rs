//! runbook: operations procedures as safe, fast, tested Rhai scripts.
//! This file only parses the command line and maps the outcome to an exit
//! code; everything else lives in the modules below.

// A Diagnostic (the Err of compile and run) is built at most once per run;
// boxing it would buy nothing.
#![allow(clippy::result_large_err, reason = "a Diagnostic is built at most once per run; boxing it buys nothing")]

mod cli;
mod commands;
mod config;
mod duration;
mod engine;
mod exit;
mod flock;
#[cfg(test)]
mod fuzz;
mod history;
mod host;
mod layout;
mod memory;
mod output;
mod pace;
mod plan;
mod redact;
mod repl;
mod report;
mod schedule;
mod script;
mod suggest;
mod trust;
mod value;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    one_malloc_arena();
    // The shell asking for completions (COMPLETE set): answer and exit.
    commands::completions::serve();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => exit::Exit::Usage.into(),
            };
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(failure) if failure.raw => {
            output::err(&failure.message);
            failure.code.into()
        }
        Err(failure) => {
            let hints = suggest::hints(&[], failure.help.as_deref());
            output::err(&format!("error: {}\n{hints}", failure.message));
            failure.code.into()
        }
    }
}

/// glibc gives each new thread its own malloc arena and grows it a few
/// pages at a time, one mprotect each: the script thread alone made ~140 of
/// them, half a millisecond of a 5 ms run. One arena grows with brk in big
/// steps. Nothing here allocates hard from several threads at once (the
/// log scan was measured no slower: docs/BENCHMARKS.md).
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
