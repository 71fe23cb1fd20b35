//! The REPL's script side: one engine and one scope that live for the whole
//! session, on a thread with the script stack. Functions, variables,
//! imports and open connections persist from one input to the next.

use std::path::PathBuf;

use rhai::{Dynamic, Engine, Scope, AST};

use crate::config::LimitsConfig;
use crate::engine::diagnostic::{self, Diagnostic, Origin};

pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    functions: AST,
    limits: LimitsConfig,
    stdlib_dirs: Vec<PathBuf>,
}

pub const INPUT: &str = "<input>";

impl Session {
    pub fn new(limits: LimitsConfig, stdlib_dirs: Vec<PathBuf>) -> Self {
        let engine = crate::engine::build(&limits, stdlib_dirs.clone());
        let scope = crate::engine::scope("repl", crate::engine::context::ctx().dry_run());
        Session { engine, scope, functions: AST::empty(), limits, stdlib_dirs }
    }

    pub fn reset(&mut self) {
        *self = Session::new(self.limits.clone(), self.stdlib_dirs.clone());
    }

    /// `import "name" as alias;` on its own: registered as a module of the
    /// engine, so that it stays for the next inputs (Rhai's own imports
    /// last one evaluation).
    fn import(&mut self, input: &str) -> Option<Result<Dynamic, Diagnostic>> {
        let s = input.trim().strip_prefix("import")?.trim_start();
        let s = s.strip_prefix('"')?;
        let (name, rest) = s.split_once('"')?;
        let alias = rest.trim().strip_prefix("as")?.trim().trim_end_matches(';').trim();
        if alias.is_empty() || !alias.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let resolved = self.engine.module_resolver().resolve(&self.engine, None, name, rhai::Position::new(1, 8));
        Some(match resolved {
            Ok(m) => {
                self.engine.register_static_module(alias, m);
                Ok(Dynamic::UNIT)
            }
            Err(e) => Err(self.diagnose_eval(input, &e, None)),
        })
    }

    pub fn eval(&mut self, input: &str) -> Result<Dynamic, Diagnostic> {
        if let Some(r) = self.import(input) {
            return r;
        }
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, input)
            .map_err(|e| self.diagnose(input, Some(&self.functions), None, |o| Diagnostic::from_parse(&e, o)))?;
        ast.set_source(INPUT);
        // As `run` does: a line that runs but not as written is said first.
        let origin = Origin::bare(INPUT, input, &self.limits, &ast);
        for (_, d) in crate::engine::lint::traps(&ast, &origin, "warning") {
            crate::output::err(&d.render());
        }
        let merged = self.functions.merge(&ast);
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &merged);
        match result {
            Ok(v) => {
                self.functions = merged.clone_functions_only();
                Ok(v)
            }
            Err(e) => Err(self.diagnose_eval(input, &e, Some(&merged))),
        }
    }

    fn diagnose_eval(&self, input: &str, e: &rhai::EvalAltResult, ast: Option<&AST>) -> Diagnostic {
        self.diagnose(input, ast, ast, |o| Diagnostic::from_eval(e, o))
    }

    /// A diagnostic of one input, with the names in scope for "did you
    /// mean" (functions defined so far come from `functions`) and, after a
    /// run, the AST that ran.
    fn diagnose(
        &self,
        input: &str,
        functions: Option<&AST>,
        ran: Option<&AST>,
        make: impl FnOnce(&Origin) -> Diagnostic,
    ) -> Diagnostic {
        let vars: Vec<String> = self.scope.iter_raw().map(|(n, _, _)| n.to_string()).collect();
        let mut names = diagnostic::function_names(&self.engine, functions);
        // Methods of host handles too, for `db.scaler(…)` → `scalar`, as `run` says.
        names.extend(crate::engine::lint::Catalog::of(&self.engine).method_names());
        names.sort();
        names.dedup();
        make(&Origin {
            file: INPUT,
            source: input,
            function_names: &names,
            variable_names: &vars,
            limits: &self.limits,
            ast: ran,
        })
    }

    /// Each variable with its type as the reference names it
    /// (`PgConnection`, `string`), so `db.` + Tab offers `db`'s methods.
    pub fn var_names(&self) -> Vec<(String, String)> {
        self.scope
            .iter_raw()
            .map(|(n, _, v)| {
                (n.to_string(), crate::engine::reference::rhai_type(self.engine.map_type_name(v.type_name())))
            })
            .collect()
    }

    /// `name: type = value` for `:vars`.
    pub fn vars(&self) -> Vec<String> {
        self.scope
            .iter_raw()
            .map(|(n, constant, v)| {
                let mut shown = v.to_string().replace('\n', " ");
                if shown.chars().count() > 60 {
                    shown = shown.chars().take(59).collect::<String>() + "…";
                }
                format!(
                    "{}{n}: {} = {shown}",
                    if constant { "const " } else { "" },
                    v.type_name().rsplit("::").next().unwrap_or("")
                )
            })
            .collect()
    }
}
