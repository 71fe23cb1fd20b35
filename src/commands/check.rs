//! `runbook check`: compile and validate headers, run nothing. For editors
//! and CI: exit 65 with file:line:col at the first error.

use super::{prepare, Globals};
use crate::engine::{self, context};
use crate::exit::{CmdResult, Exit};

pub fn check(g: &Globals, names: &[String]) -> CmdResult {
    let config = std::sync::Arc::new(prepare::config(g)?);
    context::init(config.clone(), true, false);
    for name in names {
        let script = prepare::find_script(g, &config, name)?;
        let header = prepare::header(&script)?;
        let limits = config.limits.clone();
        let stdlib = prepare::stdlib_dirs(&config);
        engine::on_script_thread(|| {
            let engine = engine::build(&limits, stdlib);
            let mut scope = prepare::base_scope(&script, true);
            for p in &header.params {
                scope.push_constant(p.name.as_str(), ());
            }
            prepare::compile(&engine, &scope, &script, &limits).map(|_| ())
        })
        .map_err(prepare::rendered)?;
        crate::output::out(&format!("✓ {} ({})\n", script.name, script.display_path()));
    }
    Ok(Exit::Ok)
}
