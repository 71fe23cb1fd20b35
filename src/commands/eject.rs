//! `runbook eject NAME [DIR]`: copy a shipped script into a local folder,
//! where it overrides the shipped one. Never overwrites without --force.

use std::path::PathBuf;

use super::{prepare, Globals};
use crate::exit::{CmdResult, Exit, Failure};
use crate::script::{lookup, ScriptPath};

pub fn eject(g: &Globals, name: &str, dir: Option<PathBuf>, force: bool) -> CmdResult {
    let config = prepare::config(g)?;
    let path = ScriptPath::new(g.scripts_dir.as_deref(), &config);
    let Some(source) = lookup::shipped(name) else {
        // Reuse lookup's "did you mean".
        path.find(name)?;
        return Err(Failure::usage(format!(
            "`{name}` is a local script, not a shipped one: it is already yours to edit"
        )));
    };
    let dir = dir.unwrap_or_else(|| path.first_dir());
    let dest = dir.join(format!("{name}.rhai"));
    if dest.exists() && !force {
        return Err(
            Failure::usage(format!("{} already exists", dest.display())).with_help("pass --force to overwrite it")
        );
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::usage(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&dest, source).map_err(|e| Failure::usage(format!("cannot write {}: {e}", dest.display())))?;
    crate::output::out(&format!("wrote {}: edit it; `runbook run {name}` now runs your copy\n", dest.display()));
    Ok(Exit::Ok)
}
