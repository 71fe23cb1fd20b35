//! What `run` and `check` share: config, script lookup, header, compile.

use rhai::{Engine, Scope, AST};

use super::Globals;
use crate::config::{Config, LimitsConfig};
use crate::engine::diagnostic::{self, Diagnostic, Origin};
use crate::exit::Failure;
use crate::script::{header, Header, Script, ScriptPath};

pub fn config(g: &Globals) -> Result<Config, Failure> {
    let config = Config::discover(g.config.as_deref())?;
    // A compose file that cannot be read is a config error before any
    // script runs, not a ✗ in every step that touches Docker.
    crate::host::docker::compose::check(&config).map_err(|e| Failure::config(format!("{}: {e}", config.origin())))?;
    Ok(config)
}

pub fn find_script(g: &Globals, config: &Config, name: &str) -> Result<Script, Failure> {
    ScriptPath::new(g.scripts_dir.as_deref(), config).find(name)
}

/// The header, or exit 65 with file:line:col and a caret.
pub fn header(script: &Script) -> Result<Header, Failure> {
    header::parse(&script.source).map_err(|e| {
        let d = Diagnostic {
            kind: "header error".into(),
            message: e.message,
            file: script.display_path(),
            line: Some(e.line),
            column: Some(e.column),
            source_line: script.source.lines().nth(e.line - 1).map(str::to_string),
            notes: vec![],
            help: e.help,
        };
        rendered(d)
    })
}

/// A failure whose message is an already rendered diagnostic (exit 65).
pub fn rendered(d: Diagnostic) -> Failure {
    Failure::raw(crate::exit::Exit::DataErr, d.render())
}

/// Constants every script sees besides its params.
pub fn base_scope<'a>(script: &Script, dry_run: bool) -> Scope<'a> {
    crate::engine::scope(&script.name, dry_run)
}

/// Compile with the params in scope (strict variables need to know them).
///
/// Rhai's optimizer folds constants into the script, and folds a
/// `Duration` in `${…}` into its type name instead of its text; so a
/// constant of a host type (a `duration` param) is shown to the compiler
/// as a variable. Assigning to one is still refused, when the run starts.
pub fn compile(engine: &Engine, scope: &Scope, script: &Script, limits: &LimitsConfig) -> Result<AST, Diagnostic> {
    let mut names = Scope::new();
    for (name, constant, value) in scope.iter_raw() {
        if constant && !value.is_variant() {
            names.push_constant_dynamic(name.to_string(), value.clone());
        } else {
            names.push_dynamic(name.to_string(), value.clone());
        }
    }
    match engine.compile_with_scope(&names, without_shebang(&script.source)) {
        Ok(mut ast) => {
            ast.set_source(script.display_path());
            Ok(ast)
        }
        Err(e) => Err(diagnose(scope, script, limits, None, |o| Diagnostic::from_parse(&e, o))),
    }
}

/// A param of a host type (a `duration` param, a Duration) inside a script's
/// `fn`: the compiler saw it as a variable (see [`compile`]), so rhai does
/// not copy it into function bodies as it does constants; it is given to
/// them here, when a body reads a name it does not have itself.
pub fn params_in_functions(engine: &mut Engine, params: &[(String, rhai::Dynamic, String)]) {
    let hidden: Vec<(String, rhai::Dynamic)> =
        params.iter().filter(|(_, v, _)| v.is_variant()).map(|(k, v, _)| (k.clone(), v.clone())).collect();
    if hidden.is_empty() {
        return;
    }
    #[allow(deprecated, reason = "on_var is marked volatile, not deprecated; it is the only hook for this")]
    engine.on_var(move |name, _, ctx| {
        if ctx.scope().contains(name) {
            return Ok(None);
        }
        Ok(hidden.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    });
}

/// A `#!/usr/bin/env -S runbook run` first line (a script run by its path)
/// blanked for Rhai, which reserves `#!`; the lines keep their numbers.
fn without_shebang(source: &str) -> std::borrow::Cow<'_, str> {
    match source.strip_prefix("#!") {
        Some(rest) => std::borrow::Cow::Owned(rest.find('\n').map(|i| rest[i..].to_string()).unwrap_or_default()),
        None => std::borrow::Cow::Borrowed(source),
    }
}

/// What a diagnostic of `script` is made from: its names in scope for "did
/// you mean", every host function (a run's engine has only the modules its
/// script names), and, once compiled, its AST.
pub fn diagnose<T>(
    scope: &Scope,
    script: &Script,
    limits: &LimitsConfig,
    ast: Option<&AST>,
    make: impl FnOnce(&Origin) -> T,
) -> T {
    let file = script.display_path();
    let vars: Vec<String> = scope.iter_raw().map(|(n, _, _)| n.to_string()).collect();
    // A run's engine has only the modules its script names: "did you mean"
    // looks in all of them (`pq::connect` → `pg::connect`).
    let every = crate::engine::build(limits, vec![]);
    let mut names = diagnostic::function_names(&every, ast);
    // Methods of host handles too, for `db.scaler(…)` → `scalar`.
    names.extend(crate::engine::lint::Catalog::of(&every).method_names());
    names.sort();
    names.dedup();
    make(&Origin { file: &file, source: &script.source, function_names: &names, variable_names: &vars, limits, ast })
}
