//! What `runbook check` finds that Rhai itself finds only when the line
//! runs, or never: a global function that does not exist (`warning(…)`), a
//! method a host handle does not have (`db.scaler(…)` on a PgConnection),
//! a host call with a number of arguments no overload takes, an option map
//! key the function does not take (`#{crti: 90}`), `${…}` inside double
//! quotes (printed as it is), and the value of a method that changes its
//! string or array in place (`let t = s.trim();` is `()`). Each as the
//! diagnostic a run would give: file:line:col, the line, a caret, a "did
//! you mean".

use std::collections::{HashMap, HashSet};

use rhai::{ASTNode, Engine, Expr, Stmt, AST};
use serde_json::Value;

use super::diagnostic::{Diagnostic, Origin};
use crate::suggest::DidYouMean;

/// Rhai's own functions, which no signature list names.
const KEYWORDS: &[&str] =
    &["print", "debug", "type_of", "eval", "Fn", "call", "curry", "is_shared", "is_def_var", "is_def_fn", "this"];

/// Rhai's methods that change their string or array in place and return
/// `()`: `let t = s.trim();` makes `t` a `()`.
const IN_PLACE: &[&str] = &[
    "trim",
    "make_upper",
    "make_lower",
    "replace",
    "pad",
    "truncate",
    "crop",
    "clear",
    "push",
    "append",
    "insert",
    "sort",
    "reverse",
    "dedup",
    "mixin",
    "fill_with",
];

/// What every value answers, whatever its type.
const ANY_METHOD: &[&str] = &["to_string", "to_debug", "type_of", "tag", "is_shared", "call", "curry", "clone"];

/// The functions and methods a script can call, from the engine itself.
pub struct Catalog {
    globals: HashSet<String>,
    /// `pg::connect` → the argument counts of its overloads and what they return.
    host: HashMap<String, (Vec<usize>, Vec<String>)>,
    /// `PgConnection` → its methods and properties.
    methods: HashMap<String, HashSet<String>>,
}

impl Catalog {
    pub fn of(engine: &Engine) -> Catalog {
        let mut globals: HashSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        for sig in engine.gen_fn_signatures(true) {
            let name = sig.split('(').next().unwrap_or("").trim();
            if !name.contains("::") {
                globals.insert(name.to_string());
            }
        }
        let meta: Value =
            serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap_or_default()).unwrap_or(Value::Null);
        let mut host: HashMap<String, (Vec<usize>, Vec<String>)> = HashMap::new();
        let mut methods: HashMap<String, HashSet<String>> = HashMap::new();
        for m in crate::host::modules() {
            let fns = if m.name.is_empty() { &meta["functions"] } else { &meta["modules"][m.name]["functions"] };
            for f in fns.as_array().into_iter().flatten() {
                let name = f["name"].as_str().unwrap_or_default();
                let params = f["params"].as_array().cloned().unwrap_or_default();
                let first = params.first().and_then(|p| p["type"].as_str()).unwrap_or_default();
                if f["namespace"] == "global" && first.starts_with("&mut ") {
                    let ty = super::reference::rhai_type(first);
                    let shown = name.strip_prefix("get$").unwrap_or(name);
                    // Only host types: Rhai's own (array, map, string) have
                    // methods of the standard library besides these.
                    if ty.starts_with(|c: char| c.is_ascii_uppercase()) {
                        methods.entry(ty).or_default().insert(shown.to_string());
                    }
                    globals.insert(name.to_string());
                } else if !m.name.is_empty() {
                    let e = host.entry(format!("{}::{name}", m.name)).or_default();
                    e.0.push(params.len());
                    e.1.push(super::reference::rhai_type(f["returnType"].as_str().unwrap_or("()")));
                }
            }
        }
        Catalog { globals, host, methods }
    }

    /// Every method name of every handle type, for a "did you mean".
    pub fn method_names(&self) -> Vec<String> {
        self.methods.values().flatten().cloned().collect()
    }
}

/// An option map written out in a host call (`#{warn: 80, crti: 90}`)
/// with a key the function does not take: the error a run would give.
fn option_keys(called: &str, args: &[Expr], origin: &Origin, found: &mut Vec<(rhai::Position, Diagnostic)>) {
    let Some(options) = crate::host::options::of_call(called) else {
        return;
    };
    // `fleet::each(group, #{forks: 2}, f)`: the map comes before the closure.
    let last = match (options.name, args) {
        ("fleet::each", [_, opts, _]) => Some(opts),
        _ => args.last(),
    };
    let keys: Vec<(String, rhai::Position)> = match last {
        Some(Expr::Map(x, _)) => x.0.iter().map(|(k, _)| (k.name.to_string(), k.pos)).collect(),
        Some(Expr::DynamicConstant(d, pos)) => match d.read_lock::<rhai::Map>() {
            Some(m) => m.keys().map(|k| (k.to_string(), *pos)).collect(),
            None => return,
        },
        _ => return,
    };
    for (key, pos) in keys {
        if let Some(problem) = crate::host::options::unknown(options.keys, &key) {
            let mut d = Diagnostic::at("error", format!("{}: {problem}", options.name), origin, origin.file, pos);
            let topic = called.split('.').next().unwrap_or(called);
            d.help = Some(format!("`runbook doc {topic}` describes its options"));
            found.push((pos, d));
        }
    }
}

/// Every problem in `ast`, in source order.
pub fn lint(ast: &AST, origin: &Origin, catalog: &Catalog) -> Vec<Diagnostic> {
    let script_fns: HashSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    let mut lets: HashMap<String, Vec<Option<String>>> = HashMap::new();
    // A name that is also a parameter (of a fn or a closure), a loop
    // variable or assigned again may hold anything: no type is inferred.
    let mut untyped: HashSet<String> =
        ast.iter_functions().flat_map(|f| f.params.iter().map(|p| p.to_string()).collect::<Vec<_>>()).collect();
    let mut found: Vec<(rhai::Position, Diagnostic)> = vec![];
    // What a host call returns when that is always one handle type.
    let returns = |q: &str| -> Option<&String> {
        catalog
            .host
            .get(q)
            .and_then(|(_, rets)| rets.first().filter(|r| rets.iter().all(|x| x == *r)))
            .filter(|t| catalog.methods.contains_key(*t))
    };
    // First pass: the type of each variable given one `let` of a host call.
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::For(x, _))) => {
                untyped.insert(x.0.name.to_string());
                if let Some(counter) = &x.1 {
                    untyped.insert(counter.name.to_string());
                }
            }
            Some(ASTNode::Stmt(Stmt::Assignment(x))) => {
                if let Expr::Variable(v, _, _) = &x.1.lhs {
                    untyped.insert(v.1.to_string());
                }
            }
            _ => {}
        }
        if let Some(ASTNode::Stmt(Stmt::Var(x, _, _))) = path.last() {
            let ty = match &x.1 {
                Expr::FnCall(f, _) if !f.namespace.is_empty() => {
                    returns(&format!("{}::{}", f.namespace, f.name)).cloned()
                }
                _ => None,
            };
            lets.entry(x.0.name.to_string()).or_default().push(ty);
        }
        true
    });
    let type_of = |var: &str| -> Option<&String> {
        if untyped.contains(var) {
            return None;
        }
        match lets.get(var).map(Vec::as_slice) {
            Some([Some(t)]) => Some(t),
            _ => None,
        }
    };
    let variables: HashSet<&str> =
        lets.keys().map(String::as_str).chain(origin.variable_names.iter().map(String::as_str)).collect();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(f, pos))) | Some(ASTNode::Stmt(Stmt::FnCall(f, pos))) => Some((f, *pos)),
            _ => None,
        };
        if let Some((f, pos)) = call {
            let name = f.name.as_str();
            let called = if f.namespace.is_empty() { name.to_string() } else { format!("{}::{name}", f.namespace) };
            // A script's own `fn metric(…)` is what the call runs.
            if !(f.namespace.is_empty() && script_fns.contains(name)) {
                option_keys(&called, &f.args, origin, &mut found);
            }
            let plain = name.starts_with(|c: char| c.is_alphabetic() || c == '_');
            if f.namespace.is_empty() && plain && f.op_token.is_none() {
                let known = catalog.globals.contains(name) || script_fns.contains(name) || variables.contains(name);
                if !known {
                    let mut d = Diagnostic::at("error", format!("unknown function `{name}`"), origin, origin.file, pos);
                    let near = DidYouMean::find(name, catalog.globals.iter().map(String::as_str));
                    d.help = Some(DidYouMean::or(near, "`runbook doc` lists every function"));
                    found.push((pos, d));
                }
            } else if !f.namespace.is_empty() {
                let q = format!("{}::{name}", f.namespace);
                if let Some((counts, _)) = catalog.host.get(&q) {
                    if !counts.contains(&f.args.len()) {
                        let mut takes: Vec<usize> = counts.clone();
                        takes.sort();
                        takes.dedup();
                        let takes: Vec<String> = takes.iter().map(|n| n.to_string()).collect();
                        let mut d = Diagnostic::at(
                            "error",
                            format!("`{q}` takes {} argument(s), not {}", takes.join(" or "), f.args.len()),
                            origin,
                            origin.file,
                            pos,
                        );
                        d.help = Some(format!("`runbook doc {q}` shows its signatures"));
                        found.push((pos, d));
                    }
                }
            }
        }
        if let Some(ASTNode::Expr(Expr::Dot(x, _, _))) = path.last() {
            // The receiver's type: a variable given one host call, or the
            // host call itself (`pg::connect("main").scaler(…)`).
            let typed: Option<(String, String)> = match &x.lhs {
                Expr::Variable(v, _, _) => type_of(v.1.as_str()).map(|t| (t.clone(), format!("`{}` is a {t}", v.1))),
                Expr::FnCall(f, _) if !f.namespace.is_empty() => {
                    let q = format!("{}::{}", f.namespace, f.name);
                    returns(&q).map(|t| (t.clone(), format!("`{q}` returns a {t}")))
                }
                _ => None,
            };
            // The method called on it, also when more follow (`db.q().len()`).
            let method = match &x.rhs {
                Expr::MethodCall(m, pos) => Some((m, *pos)),
                Expr::Dot(inner, _, _) => match &inner.lhs {
                    Expr::MethodCall(m, pos) => Some((m, *pos)),
                    _ => None,
                },
                _ => None,
            };
            if let (Some((ty, why)), Some((m, pos))) = (typed, method) {
                let have = &catalog.methods[&ty];
                let name = m.name.as_str();
                option_keys(&format!("{ty}.{name}"), &m.args, origin, &mut found);
                if !have.contains(name) && !ANY_METHOD.contains(&name) && !script_fns.contains(name) {
                    let mut d = Diagnostic::at(
                        "error",
                        format!("a {ty} has no method `{name}` ({why})"),
                        origin,
                        origin.file,
                        pos,
                    );
                    let near = DidYouMean::find(name, have.iter().map(String::as_str));
                    d.help = Some(DidYouMean::or(near, format!("`runbook doc {ty}` lists them")));
                    found.push((pos, d));
                }
            }
        }
        true
    });
    found.extend(traps(ast, origin, "error"));
    found.sort_by_key(|(p, _)| (p.line(), p.position()));
    found.into_iter().map(|(_, d)| d).collect()
}

/// What runs without an error but not as written: `${…}` inside double
/// quotes, the `()` of a method that changes its string or array in place
/// used as a value. `check` reports them as errors; `run`, which needs no
/// catalog for them, warns before the first line runs.
pub fn traps(ast: &AST, origin: &Origin, kind: &str) -> Vec<(rhai::Position, Diagnostic)> {
    let script_fns: HashSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    let mut found = vec![];
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::StringConstant(text, pos))) = path.last() {
            // "… ${x} …" in double quotes prints `${x}` as it is.
            if let Some(i) = text.find("${") {
                if text[i..].contains('}') {
                    let mut d = Diagnostic::at(
                        kind,
                        format!(
                            "`{}` is inside double quotes, so it is printed as it is",
                            &text[i..=i + text[i..].find('}').unwrap_or(0)]
                        ),
                        origin,
                        origin.file,
                        *pos,
                    );
                    d.help = Some("`${…}` fills in a value only between backticks: `disk ${d.used_pct}%`".into());
                    found.push((*pos, d));
                }
            }
        }
        if let Some(ASTNode::Expr(Expr::Dot(x, _, _))) = path.last() {
            // `s.trim()` as a statement is fine; as a value it is ().
            // `${…}` holds a block of statements whose value is printed.
            let in_text = path.iter().rev().take(4).any(|n| matches!(n, ASTNode::Expr(Expr::InterpolatedString(..))));
            // A `switch` arm is one too: the optimizer turns `{ a.push(x); }`
            // into the bare call.
            let statement =
                !in_text && matches!(path.iter().rev().nth(1), Some(ASTNode::Stmt(Stmt::Expr(_) | Stmt::Switch(..))));
            let receiver = match &x.lhs {
                Expr::Variable(v, _, _) => Some(v.1.to_string()),
                _ => None,
            };
            let used = match &x.rhs {
                Expr::MethodCall(m, pos) if !statement => Some((m, *pos)),
                Expr::Dot(inner, _, _) => match &inner.lhs {
                    Expr::MethodCall(m, pos) => Some((m, *pos)),
                    _ => None,
                },
                _ => None,
            };
            if let (Some((m, pos)), Some(var)) = (used, &receiver) {
                let name = m.name.as_str();
                if IN_PLACE.contains(&name) && !script_fns.contains(name) {
                    let mut d = Diagnostic::at(
                        kind,
                        format!("`{var}.{name}(…)` changes `{var}` in place and returns (), so its value here is ()"),
                        origin,
                        origin.file,
                        pos,
                    );
                    d.help = Some(format!("call `{var}.{name}(…);` on its own line, then use `{var}`"));
                    found.push((pos, d));
                }
            }
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name in the option table that no script can call would make
    /// `runbook check` silently skip the function it was meant for.
    #[test]
    fn every_function_with_options_is_one_a_script_can_call() {
        let catalog = Catalog::of(&crate::engine::build(&Default::default(), vec![]));
        for o in crate::host::options::ALL {
            let callable = match o.method.and_then(|m| m.split_once('.')) {
                Some((ty, m)) => catalog.methods.get(ty).is_some_and(|have| have.contains(m)),
                None => catalog.host.contains_key(o.name) || catalog.globals.contains(o.name),
            };
            assert!(callable, "{} ({:?}) is not a function scripts call", o.name, o.method);
        }
    }
}
