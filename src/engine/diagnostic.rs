//! Turning Rhai's errors into messages an operator can act on: what went
//! wrong, file:line:col, the source line with a caret, and a help line
//! ("did you mean …") where one can be given.

use std::fmt::Write;

use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};

use super::context::{ctx, TOKEN_INTERRUPTED, TOKEN_MEMORY, TOKEN_TERMINATED, TOKEN_TIMEOUT};
use crate::report::RunError;

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// "error", "timeout", "limit", "interrupted", "terminated", "compile error".
    pub kind: String,
    pub message: String,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub source_line: Option<String>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

/// What the diagnostic needs to know about the script and the engine.
pub struct Origin<'a> {
    pub file: &'a str,
    pub source: &'a str,
    /// Every function name a script could have meant (`sys::disk`, `check`).
    pub function_names: &'a [String],
    /// Variables and constants in scope (params), for "did you mean".
    pub variable_names: &'a [String],
    pub limits: &'a crate::config::LimitsConfig,
    /// The compiled script, to find the call an error came from when Rhai
    /// gives it no position.
    pub ast: Option<&'a rhai::AST>,
}

impl<'a> Origin<'a> {
    /// An origin with no names for a "did you mean": for the warnings of
    /// `lint::traps`, which need only the file and its text.
    pub fn bare(file: &'a str, source: &'a str, limits: &'a crate::config::LimitsConfig, ast: &'a rhai::AST) -> Self {
        Origin { file, source, function_names: &[], variable_names: &[], limits, ast: Some(ast) }
    }
}

/// Where `ast` calls the namespaced function `name`. Rhai fills in the
/// position of an error a native function raises when it is called as a
/// method or a global, but not as `module::function(…)`; these are the
/// places it could have come from.
fn call_sites(ast: &rhai::AST, name: &str) -> Vec<Position> {
    qualified_calls(ast).into_iter().filter(|(n, _)| n == name).map(|(_, p)| p).collect()
}

/// Every `module::function(…)` call in `ast`, with where it is, in order.
fn qualified_calls(ast: &rhai::AST) -> Vec<(String, Position)> {
    let mut found = vec![];
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        // A call is an expression (`let x = f()`) or, on its own, a statement.
        let call = match path.last() {
            Some(rhai::ASTNode::Expr(rhai::Expr::FnCall(f, pos))) => Some((f, pos)),
            Some(rhai::ASTNode::Stmt(rhai::Stmt::FnCall(f, pos))) => Some((f, pos)),
            _ => None,
        };
        if let Some((f, pos)) = call.filter(|(f, _)| !f.namespace.is_empty()) {
            found.push((format!("{}::{}", f.namespace, f.name), *pos));
        }
        true
    });
    found.sort_by_key(|(_, p)| (p.line(), p.position()));
    found.dedup();
    found
}

/// Every call of a host function that does not exist (`sys::dsk`), as
/// the error running it would give. Rhai looks functions up only when a
/// call runs, so without this a typo in a step that rarely runs is found
/// on the day it does; `runbook check` finds it now. Calls into stdlib
/// modules (`fmt::bytes`) are left to the run: they are scripts.
pub fn unknown_host_calls(ast: &rhai::AST, origin: &Origin) -> Vec<Diagnostic> {
    let host: std::collections::HashSet<&str> =
        origin.function_names.iter().filter_map(|n| n.split_once("::").map(|(ns, _)| ns)).collect();
    qualified_calls(ast)
        .into_iter()
        .filter(|(name, _)| {
            let ns = name.split_once("::").map(|(ns, _)| ns).unwrap_or_default();
            host.contains(ns) && origin.function_names.binary_search(name).is_err()
        })
        .map(|(name, pos)| Diagnostic::from_eval(&EvalAltResult::ErrorFunctionNotFound(name, pos), origin))
        .collect()
}

impl Diagnostic {
    pub fn at(kind: &str, message: String, origin: &Origin, file: &str, pos: Position) -> Self {
        let source =
            if file == origin.file { Some(origin.source.to_string()) } else { super::resolver::module_source(file) };
        let source_line = match (pos.line(), source) {
            (Some(l), Some(src)) => src.lines().nth(l - 1).map(str::to_string),
            _ => None,
        };
        Diagnostic {
            kind: kind.into(),
            message,
            file: file.into(),
            line: pos.line(),
            column: pos.position(),
            source_line,
            notes: vec![],
            help: None,
        }
    }

    pub fn from_parse(err: &ParseError, origin: &Origin) -> Self {
        let ParseError(ty, pos) = err;
        let mut d = Self::at("compile error", ty.to_string(), origin, origin.file, *pos);
        let at = d.source_line.as_deref().zip(pos.position()).and_then(|(l, c)| l.chars().nth(c.saturating_sub(1)));
        if at == Some('\'') {
            d.help = Some(
                "strings take double quotes (\"text\") or backticks (`text ${x}`); single quotes hold one character"
                    .into(),
            );
        }
        if let ParseErrorType::VariableUndefined(name) = ty.as_ref() {
            d.message = format!("unknown variable `{name}`");
            let declared = declared_names(origin.source);
            let known = origin.variable_names.iter().chain(declared.iter()).map(String::as_str);
            d.help = Some(crate::suggest::DidYouMean::or(
                crate::suggest::DidYouMean::find(name, known),
                "variables must be declared with `let` (parameters come from the header's `param` lines)",
            ));
        }
        d
    }

    pub fn from_eval(err: &EvalAltResult, origin: &Origin) -> Self {
        Self::from_eval_in(err, origin, origin.file)
    }

    fn from_eval_in(err: &EvalAltResult, origin: &Origin, file: &str) -> Self {
        let pos = err.position();
        match err {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, _) => {
                let inner_file = if src.is_empty() { file } else { src.as_str() };
                let mut d = Self::from_eval_in(inner, origin, inner_file);
                let line = pos.line().map(|l| format!("{file}:{l}")).unwrap_or_else(|| file.to_string());
                d.notes.push(format!("in function `{name}`, called at {line}"));
                d
            }
            EvalAltResult::ErrorInModule(module, inner, _) => {
                let mut d = Self::from_eval_in(inner, origin, module);
                let line = pos.line().map(|l| format!("{file}:{l}")).unwrap_or_else(|| file.to_string());
                d.notes.push(format!("in module {module}, imported at {line}"));
                d
            }
            EvalAltResult::ErrorParsing(ty, p) => {
                let mut d = Self::from_parse(&ParseError(Box::new(ty.clone()), *p), origin);
                d.file = file.into();
                d
            }
            EvalAltResult::ErrorTerminated(token, _) => {
                let token = token.to_string();
                if token == TOKEN_TIMEOUT {
                    let limit = ctx().time_limit().map(crate::duration::format).unwrap_or_default();
                    let mut d =
                        Self::at("timeout", format!("the run exceeded its time limit of {limit}"), origin, file, pos);
                    d.help = Some("raise it with --timeout (or [run] timeout in runbook.toml)".into());
                    d
                } else if token == TOKEN_INTERRUPTED {
                    Self::at("interrupted", "interrupted (Ctrl-C or SIGINT)".into(), origin, file, pos)
                } else if token == TOKEN_MEMORY {
                    let mut d = Self::at(
                        "limit",
                        format!(
                            "the run holds more than {} of memory (max_memory = {})",
                            crate::report::text::human_bytes(origin.limits.max_memory as i64),
                            origin.limits.max_memory
                        ),
                        origin,
                        file,
                        pos,
                    );
                    d.help = Some("keep less at once (stream with logs::, write with fs::write_text), or raise [limits] max_memory / --limit max_memory=BYTES".into());
                    d
                } else if token == TOKEN_TERMINATED {
                    Self::at("terminated", "stopped by SIGTERM".into(), origin, file, pos)
                } else {
                    Self::at("error", format!("terminated: {token}"), origin, file, pos)
                }
            }
            EvalAltResult::ErrorTooManyOperations(_) => {
                let mut d = Self::at(
                    "limit",
                    format!(
                        "the script exceeded its operations limit (max_operations = {})",
                        origin.limits.max_operations
                    ),
                    origin,
                    file,
                    pos,
                );
                d.help = Some("raise [limits] max_operations in runbook.toml or pass --limit max_operations=N".into());
                d
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                let mut d = Self::at(
                    "limit",
                    format!(
                        "the script exceeded its call depth limit (max_call_depth = {})",
                        origin.limits.max_call_depth
                    ),
                    origin,
                    file,
                    pos,
                );
                d.help = Some("is a function calling itself without end?".into());
                d
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => Self::at(
                "limit",
                format!("{what} exceeds the sandbox limit ([limits] in runbook.toml)"),
                origin,
                file,
                pos,
            ),
            EvalAltResult::ErrorFunctionNotFound(sig, _) => {
                let name = sig.split(['(', ' ']).next().unwrap_or(sig).to_string();
                let mut d = Self::at("error", format!("unknown function `{}`", tidy_signature(sig)), origin, file, pos);
                let near = crate::suggest::nearest(&name, origin.function_names.iter().map(String::as_str));
                let on_unit = sig.split_once(" (").is_some_and(|(_, a)| a.starts_with("()"));
                d.help = match near {
                    _ if on_unit => Some(UNIT_HELP.into()),
                    Some(n) if n != name => Some(crate::suggest::DidYouMean(n.to_string()).to_string()),
                    Some(n) => Some(format!(
                        "`{n}` exists, but not for these argument types; `runbook doc {n}` shows its signatures"
                    )),
                    None => Some("`runbook doc` lists every host function".into()),
                };
                d
            }
            EvalAltResult::ErrorModuleNotFound(path, _) => {
                let mut d = Self::at("error", format!("no stdlib module `{path}`"), origin, file, pos);
                d.help = Some(if super::resolver::valid_name(path) {
                    let shipped: Vec<&str> = crate::script::lookup::SHIPPED_STDLIB.iter().map(|(n, _)| *n).collect();
                    crate::suggest::DidYouMean::or(
                        crate::suggest::DidYouMean::find(path, shipped.iter().copied()),
                        format!(
                            "modules come from ./stdlib, $RUNBOOK_STDLIB or the shipped stdlib ({})",
                            shipped.join(", ")
                        ),
                    )
                } else {
                    "imports name a stdlib module such as \"format\"; paths are not allowed".into()
                });
                d
            }
            EvalAltResult::ErrorPropertyNotFound(prop, _) => {
                Self::at("error", format!("the map has no field `{prop}`"), origin, file, pos)
            }
            EvalAltResult::ErrorRuntime(value, _) => {
                let message = value.to_string();
                let mut notes = vec![];
                let pos = match (pos.is_none() && file == origin.file, origin.ast) {
                    (true, Some(ast)) => {
                        let function = super::failure::function_of(value);
                        let sites = function.as_deref().map(|f| (f, call_sites(ast, f)));
                        match sites {
                            Some((_, sites)) if sites.len() == 1 => sites[0],
                            Some((f, sites)) if sites.len() > 1 => {
                                let lines: Vec<String> =
                                    sites.iter().filter_map(|p| p.line()).map(|l| l.to_string()).collect();
                                notes.push(format!("`{f}` is called on lines {}", lines.join(", ")));
                                pos
                            }
                            _ => pos,
                        }
                    }
                    _ => pos,
                };
                let mut d = Self::at("error", message, origin, file, pos);
                d.notes = notes;
                d
            }
            other => {
                let text = other.to_string();
                // Rhai appends " (line N, position M)"; we show it ourselves.
                let text = match text.rfind(" (line ") {
                    Some(i) if text.ends_with(')') => text[..i].to_string(),
                    _ => text,
                };
                // "Unknown property 'name' - a getter is not registered for type '()'"
                if let Some(prop) = text
                    .strip_prefix("Unknown property '")
                    .and_then(|r| r.split_once("' - a getter is not registered for type '()'"))
                    .map(|(p, _)| p.to_string())
                {
                    let mut d =
                        Self::at("error", format!("`()` has no property `{prop}`: the value is ()"), origin, file, pos);
                    d.help = Some(UNIT_HELP.into());
                    // Say what was (): `r.json` is () when the answer was not JSON.
                    if let Some(what) = d.source_line.as_deref().and_then(|l| unit_before(l, d.column, &prop)) {
                        d.message = format!("`{what}` is (), so it has no property `{prop}`");
                        if what.ends_with(".json") || what == "json" {
                            let look = match what.strip_suffix(".json") {
                                Some(r) => format!("`{r}.status` and `{r}.content_type`"),
                                None => "the answer's `status` and `content_type`".into(),
                            };
                            d.help = Some(format!(
                                "`json` is () when the answer is not JSON (its Content-Type is not application/json, or the body does not parse): look at {look}"
                            ));
                        }
                    }
                    return d;
                }
                Self::at("error", text, origin, file, pos)
            }
        }
    }

    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }

    /// The full message, as `just` would print it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}", self.kind, crate::report::text::inert(&self.message));
        let _ = writeln!(out, "  --> {}", self.location());
        if let (Some(line), Some(src)) = (self.line, &self.source_line) {
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{num} | {src}");
            if let Some(col) = self.column {
                // Columns count characters; keep tabs so the caret lines up.
                let lead: String =
                    src.chars().take(col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                let _ = writeln!(out, "{pad} | {lead}^");
            }
        }
        out.push_str(&crate::suggest::hints(&self.notes, self.help.as_deref()));
        out
    }

    pub fn to_run_error(&self) -> RunError {
        RunError {
            kind: self.kind.clone(),
            message: self.message.clone(),
            file: Some(self.file.clone()),
            line: self.line,
            column: self.column,
        }
    }
}

/// Every function name scripts can call, for "did you mean".
pub fn function_names(engine: &rhai::Engine, ast: Option<&rhai::AST>) -> Vec<String> {
    let mut names: Vec<String> = engine
        .gen_fn_signatures(false)
        .into_iter()
        .filter_map(|s| s.split('(').next().map(|n| n.trim().to_string()))
        .collect();
    if let Some(ast) = ast {
        names.extend(ast.iter_functions().map(|f| f.name.to_string()));
    }
    names.sort();
    names.dedup();
    names
}

/// Why a value is `()` (Rhai's "nothing"), where newcomers meet it.
/// The expression before `.prop` on `line`, nearest `column`: what was ().
fn unit_before(line: &str, column: Option<usize>, prop: &str) -> Option<String> {
    let needle = format!(".{prop}");
    // The column counts characters; the matches below are byte offsets.
    let col = line.char_indices().nth(column.unwrap_or(1).saturating_sub(1)).map_or(line.len(), |(i, _)| i);
    let at = line.match_indices(&needle).map(|(i, _)| i).min_by_key(|i| i.abs_diff(col))?;
    let before = &line[..at];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map(|(i, _)| i)?;
    let what = &before[start..];
    (!what.is_empty() && !what.starts_with('.')).then(|| what.to_string())
}

const UNIT_HELP: &str = "a value is () when a method changed it in place and returned nothing (s.trim(), s.replace(…), a.push(…), a.sort(): use the variable itself after the call), when a map has no such field, or when a query found no row";

/// Rhai writes `sys::dsk (&str | ImmutableString | String, i64)`; say
/// `sys::dsk(string, int)`.
fn tidy_signature(sig: &str) -> String {
    let Some((name, args)) = sig.split_once(" (") else {
        return sig.to_string();
    };
    let args = args.strip_suffix(')').unwrap_or(args);
    let args: Vec<&str> = if args.is_empty() { vec![] } else { args.split(", ").collect() };
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            let a = a.split(" | ").next().unwrap_or(a).trim_start_matches("&mut ");
            match a {
                "&str" | "ImmutableString" | "String" => "string",
                "i64" => "int",
                "f64" => "float",
                "rhai::Array" | "Array" => "array",
                "rhai::Map" | "Map" => "map",
                "()" => "()",
                other => other.rsplit("::").next().unwrap_or(other),
            }
            .to_string()
        })
        .collect();
    format!("{name}({})", args.join(", "))
}

/// Names the script declares with `let`, `const` or `fn`, for "did you
/// mean" on a compile error (the AST does not exist yet then).
fn declared_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for kw in ["let ", "const ", "fn ", "for "] {
        for (i, _) in source.match_indices(kw) {
            if i > 0 && source[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String =
                source[i + kw.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}
