//! Line editing: Tab completion of modules, functions, methods, variables
//! and config target names; a hint with the signature of the function being
//! typed; multi-line input while brackets or strings are open.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// What completion knows about the host functions (built off the prompt's
/// path, in the background).
pub struct Meta {
    modules: Vec<String>,
    functions: HashMap<String, BTreeSet<String>>,
    globals: BTreeSet<String>,
    methods: BTreeSet<String>,
    /// `PgConnection` → its methods and properties.
    by_type: HashMap<String, BTreeSet<String>>,
    signatures: HashMap<String, String>,
}

impl Meta {
    pub fn build() -> Meta {
        let mut m = Meta {
            modules: vec![],
            functions: HashMap::new(),
            globals: BTreeSet::new(),
            methods: BTreeSet::new(),
            by_type: HashMap::new(),
            signatures: HashMap::new(),
        };
        for e in crate::engine::reference::entries() {
            if !e.name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
                continue;
            }
            let is_method = e.signature.contains('.') && !e.signature.contains("::");
            if e.module.is_empty() {
                m.globals.insert(e.name.clone());
            } else if is_method {
                m.methods.insert(e.name.clone());
                // "db.scalar(sql: string) -> any  (PgConnection method)"
                if let Some(ty) = e.signature.rsplit_once("  (").and_then(|(_, t)| t.split(' ').next()) {
                    m.by_type.entry(ty.to_string()).or_default().insert(e.name.clone());
                }
            } else {
                if !m.modules.iter().any(|x| x == e.module) {
                    m.modules.push(e.module.to_string());
                }
                m.functions.entry(e.module.to_string()).or_default().insert(e.name.clone());
            }
            let key =
                if is_method || e.module.is_empty() { e.name.clone() } else { format!("{}::{}", e.module, e.name) };
            // The first overload; `:doc` shows them all.
            m.signatures.entry(key).or_insert(e.signature.clone());
        }
        m
    }
}

pub struct ReplHelper {
    meta: Arc<OnceLock<Meta>>,
    pub vars: Arc<Mutex<Vec<(String, String)>>>,
    targets: HashMap<&'static str, Vec<String>>,
}

impl ReplHelper {
    pub fn new(
        meta: Arc<OnceLock<Meta>>,
        vars: Arc<Mutex<Vec<(String, String)>>>,
        config: &crate::config::Config,
    ) -> Self {
        let mut targets = HashMap::new();
        for k in ["postgres", "redis", "s3", "smtp", "http"] {
            targets.insert(k, config.target_names(k));
        }
        ReplHelper { meta, vars, targets }
    }

    fn meta(&self) -> &Meta {
        self.meta.get_or_init(Meta::build)
    }
}

/// The widest prompt, "runbook (dry-run)> ", for fitting hints on the line.
const PROMPT_WIDTH: usize = 19;

const COMMANDS: [&str; 10] =
    [":help", ":doc", ":load", ":vars", ":reset", ":dry-run", ":format", ":json", ":quit", ":exit"];

/// Calls whose first argument is a target name, and the kind of target.
const TARGET_CALLS: [(&str, &str); 6] = [
    ("pg::connect(\"", "postgres"),
    ("pg::dump(\"", "postgres"),
    ("pg::restore(\"", "postgres"),
    ("redis::connect(\"", "redis"),
    ("s3::bucket(\"", "s3"),
    ("http::target(\"", "http"),
];

fn pairs(start_of: &str, items: impl IntoIterator<Item = String>) -> Vec<Pair> {
    items.into_iter().filter(|c| c.starts_with(start_of)).map(|c| Pair { display: c.clone(), replacement: c }).collect()
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        for (call, kind) in TARGET_CALLS {
            if let Some(i) = before.rfind(call) {
                let partial = &before[i + call.len()..];
                if !partial.contains('"') {
                    let names = self.targets.get(kind).cloned().unwrap_or_default();
                    return Ok((pos - partial.len(), pairs(partial, names)));
                }
            }
        }
        if before.starts_with(':') && !before.contains(' ') {
            return Ok((0, pairs(before, COMMANDS.iter().map(|c| c.to_string()))));
        }
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &before[start..];
        let meta = self.meta();
        if let Some((module, prefix)) = word.rsplit_once("::") {
            let names = meta.functions.get(module).map(|s| s.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
            return Ok((pos - prefix.len(), pairs(prefix, names)));
        }
        if let Some((receiver, prefix)) = word.rsplit_once('.') {
            // A variable of a host type offers that type's methods only;
            // anything else (a string, a call's result) every method.
            let ty = self.vars.lock().ok().and_then(|v| v.iter().find(|(n, _)| n == receiver).map(|(_, t)| t.clone()));
            let methods = ty.and_then(|t| meta.by_type.get(&t)).unwrap_or(&meta.methods);
            return Ok((pos - prefix.len(), pairs(prefix, methods.iter().cloned())));
        }
        let mut all: Vec<String> = meta.modules.iter().map(|m| format!("{m}::")).collect();
        all.extend(meta.globals.iter().cloned());
        all.extend(self.vars.lock().map(|v| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()).unwrap_or_default());
        all.extend(
            ["let", "const", "fn", "if", "else", "for", "while", "loop", "return", "import", "try", "catch", "throw"]
                .map(String::from),
        );
        all.sort();
        all.dedup();
        Ok((start, pairs(word, all)))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    /// The signature of the function whose argument list the cursor is in.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        let mut depth = 0i32;
        for (i, c) in line[..pos].char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth > 0 => depth -= 1,
                '(' => {
                    let head = &line[..i];
                    let s = head
                        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
                        .map(|j| j + 1)
                        .unwrap_or(0);
                    let name = head[s..].rsplit('.').next().unwrap_or("");
                    let meta = self.meta();
                    // A hint that would wrap the line confuses the terminal
                    // more than it helps: only when it fits.
                    return meta
                        .signatures
                        .get(name)
                        .map(|sig| format!("   {sig}"))
                        .filter(|h| PROMPT_WIDTH + line.chars().count() + h.chars().count() < 80);
                }
                _ => {}
            }
        }
        None
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }
}

/// Whether `input` is unfinished: an open bracket, brace, paren or string.
pub fn incomplete(input: &str) -> bool {
    let mut depth = 0i32;
    let mut chars = input.chars().peekable();
    let mut in_str: Option<char> = None;
    while let Some(c) = chars.next() {
        match in_str {
            Some(q) => {
                if c == '\\' && q != '`' {
                    chars.next();
                } else if c == q {
                    in_str = None;
                }
            }
            None => match c {
                '"' | '`' | '\'' => in_str = Some(c),
                '/' if chars.peek() == Some(&'/') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            break;
                        }
                    }
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth > 0 || matches!(in_str, Some('`') | Some('"'))
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if incomplete(ctx.input()) { ValidationResult::Incomplete } else { ValidationResult::Valid(None) })
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    #[test]
    fn open_brackets_and_strings_continue() {
        assert!(super::incomplete("fn f() {"));
        assert!(super::incomplete("let x = [1,"));
        assert!(super::incomplete("let s = `multi"));
        assert!(!super::incomplete("let s = \"a { b\";"));
        assert!(!super::incomplete("f(1) // trailing ("));
        assert!(!super::incomplete("let x = 1;"));
    }
}
