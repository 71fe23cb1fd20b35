//! `runbook show NAME`: the source of the script that `run NAME` would run,
//! or of the stdlib module `import "NAME"` would load (`format`, or `fmt`
//! as the scripts import it): after `cargo install` neither is on disk.

use super::{prepare, Globals};
use crate::exit::{CmdResult, Exit};

pub fn show(g: &Globals, name: &str) -> CmdResult {
    let config = prepare::config(g)?;
    let script = match prepare::find_script(g, &config, name) {
        Ok(s) => s,
        Err(not_a_script) => {
            let module = crate::engine::stdlib_ref::find(name).map(|m| m.name.to_string());
            let dirs = crate::engine::resolver::stdlib_dirs(&config)?;
            let Some((file, source)) = crate::engine::resolver::source(&dirs, module.as_deref().unwrap_or(name)) else {
                return Err(match not_a_script.help.as_deref() {
                    Some(h) if h.starts_with("did you mean") => not_a_script,
                    _ => not_a_script.with_help(
                        "`runbook list` shows every script, `runbook doc` every stdlib module; a path to a .rhai file works too",
                    ),
                });
            };
            crate::output::err(&format!("# {file} (stdlib: `import \"{}\"`)", module.as_deref().unwrap_or(name)));
            crate::output::out(&source);
            return Ok(Exit::Ok);
        }
    };
    crate::output::err(&format!("# {}", script.display_path()));
    crate::output::out(&script.source);
    Ok(Exit::Ok)
}
