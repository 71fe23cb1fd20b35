//! `runbook show NAME`: the source of the script that `run NAME` would run.

use super::{prepare, Globals};
use crate::exit::{CmdResult, Exit};

pub fn show(g: &Globals, name: &str) -> CmdResult {
    let config = prepare::config(g)?;
    let script = prepare::find_script(g, &config, name)?;
    crate::output::err(&format!("# {}", script.display_path()));
    crate::output::out(&script.source);
    Ok(Exit::Ok)
}
