//! `runbook completions SHELL`.

use clap::CommandFactory;

use crate::exit::{CmdResult, Exit};

pub fn completions(shell: clap_complete::Shell) -> CmdResult {
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "runbook", &mut buf);
    crate::output::out(&String::from_utf8_lossy(&buf));
    Ok(Exit::Ok)
}
