//! `runbook check [NAME…]`: compile, validate headers, and look up every
//! host function called (Rhai itself only does when the call runs); run
//! nothing. For editors and CI: every script named, or every script
//! `runbook list` shows; each error with file:line:col; exit 65 when any
//! failed.

use super::{prepare, Globals};
use crate::config::Config;
use crate::engine::diagnostic;
use crate::engine::{self, context};
use crate::exit::{CmdResult, Exit, Failure};
use crate::script::{Script, ScriptPath};

pub fn check(g: &Globals, names: &[String]) -> CmdResult {
    crate::config::unset_variables_read_empty();
    let config = std::sync::Arc::new(prepare::config(g)?);
    context::init(config.clone(), true, false);
    let scripts: Vec<Script> = if names.is_empty() {
        let all = ScriptPath::new(g.scripts_dir.as_deref(), &config).all();
        all.into_iter().map(|l| Script { name: l.name, origin: l.origin, source: l.source }).collect()
    } else {
        // A name that is no script is a usage error before anything is checked.
        names.iter().map(|n| prepare::find_script(g, &config, n)).collect::<Result<_, _>>()?
    };
    // Every script is checked, so one bad file does not hide the next.
    let mut failed = 0;
    for script in &scripts {
        match check_one(&config, script) {
            Ok(()) => crate::output::out(&format!("✓ {} ({})\n", script.name, script.display_path())),
            Err(f) => {
                failed += 1;
                crate::output::err(&f.message);
                if let Some(help) = &f.help {
                    crate::output::err(&format!("  = help: {help}"));
                }
            }
        }
    }
    match failed {
        0 => Ok(Exit::Ok),
        _ if scripts.len() == 1 => Ok(Exit::DataErr),
        n => Err(Failure::new(Exit::DataErr, format!("{n} of {} scripts failed the check", scripts.len()))),
    }
}

fn check_one(config: &Config, script: &Script) -> Result<(), Failure> {
    let header = prepare::header(script)?;
    // A skip list that names no step fails the run; it fails here first.
    if let Some(s) = config.scripts.get(&script.name).filter(|s| !s.skip.is_empty()) {
        let steps = crate::engine::steps::of_source(&script.source);
        let key = format!("{}: key `scripts.{}.skip`", config.origin(), script.name);
        crate::engine::steps::check_skips(&script.name, &s.skip, &steps, &key)?;
    }
    let limits = config.limits.clone();
    let stdlib = crate::engine::resolver::stdlib_dirs(config)?;
    engine::on_script_thread(|| {
        let mut engine = engine::build(&limits, stdlib);
        // Nothing runs, and an unfolded AST keeps each key's own position
        // (`#{warn: 80, crti: 90}` folded is one constant at `#{`).
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        let mut scope = prepare::base_scope(script, true);
        for p in &header.params {
            scope.push_constant(p.name.as_str(), ());
        }
        let ast = prepare::compile(&engine, &scope, script, &limits).map_err(prepare::rendered)?;
        let catalog = crate::engine::lint::Catalog::of(&engine);
        let mut found = prepare::diagnose(&scope, script, &limits, Some(&ast), |o| {
            let mut all = diagnostic::unknown_host_calls(&ast, o);
            all.extend(crate::engine::lint::lint(&ast, o, &catalog));
            all
        });
        // Every problem of the script, in source order, so one run of
        // `runbook check` in CI lists them all.
        found.sort_by_key(|d| (d.line, d.column));
        found.dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
        match found.is_empty() {
            true => Ok(()),
            false => Err(Failure::raw(Exit::DataErr, found.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n"))),
        }
    })
}
