//! What `run` and `check` share: config, script lookup, header, compile.

use rhai::{Engine, Scope, AST};

use super::Globals;
use crate::config::{Config, LimitsConfig};
use crate::engine::diagnostic::{self, Diagnostic, Origin};
use crate::exit::Failure;
use crate::script::{header, Header, Script, ScriptPath};

pub fn config(g: &Globals) -> Result<Config, Failure> {
    Config::discover(g.config.as_deref())
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
pub fn compile(engine: &Engine, scope: &Scope, script: &Script, limits: &LimitsConfig) -> Result<AST, Diagnostic> {
    match engine.compile_with_scope(scope, &script.source) {
        Ok(mut ast) => {
            ast.set_source(script.display_path());
            Ok(ast)
        }
        Err(e) => Err(diagnose(engine, scope, script, limits, None, |o| Diagnostic::from_parse(&e, o))),
    }
}

/// What a diagnostic of `script` is made from: its names in scope for "did
/// you mean", the engine's functions, and, once compiled, its AST.
pub fn diagnose<T>(
    engine: &Engine,
    scope: &Scope,
    script: &Script,
    limits: &LimitsConfig,
    ast: Option<&AST>,
    make: impl FnOnce(&Origin) -> T,
) -> T {
    let file = script.display_path();
    let vars: Vec<String> = scope.iter_raw().map(|(n, _, _)| n.to_string()).collect();
    let names = diagnostic::function_names(engine, ast);
    make(&Origin { file: &file, source: &script.source, function_names: &names, variable_names: &vars, limits, ast })
}
