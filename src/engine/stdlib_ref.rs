//! The stdlib modules (`import "format" as fmt;`) as `runbook doc` shows
//! them: each file's header comment and each function's `///` comment,
//! read from the sources compiled into the binary, so that after `cargo
//! install`, with no stdlib file on disk, they are still documented.

use std::fmt::Write;

/// One stdlib module.
pub struct Module {
    pub name: &'static str,
    /// The name the shipped scripts import it as (`fmt` for `format`).
    pub alias: String,
    /// Its header comment, one paragraph.
    pub about: String,
    pub functions: Vec<Function>,
}

pub struct Function {
    pub name: String,
    pub params: Vec<String>,
    pub doc: String,
}

impl Module {
    /// The header up to its `import` line: "Formatting helpers the shipped
    /// scripts share".
    pub fn summary(&self) -> &str {
        self.about.split(": `import").next().unwrap_or(&self.about).trim_end_matches([':', '.', ' '])
    }

    fn signature(&self, f: &Function) -> String {
        format!("{}::{}({})", self.alias, f.name, f.params.join(", "))
    }
}

pub fn modules() -> Vec<Module> {
    crate::script::lookup::SHIPPED_STDLIB.iter().map(|(name, source)| module(name, source)).collect()
}

/// The module called `name` or imported as `name` (`format` or `fmt`).
pub fn find(name: &str) -> Option<Module> {
    modules().into_iter().find(|m| m.name == name || m.alias == name)
}

fn module(name: &'static str, source: &str) -> Module {
    let header: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//").filter(|rest| !rest.starts_with('/')))
        .map(str::trim)
        .collect();
    let about = header.join(" ");
    let marker = format!("import \"{name}\" as ");
    let alias = about
        .find(&marker)
        .map(|i| about[i + marker.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .unwrap_or_else(|| name.replace(['/', '-'], "_"));
    let mut engine = rhai::Engine::new_raw();
    // The raw engine's default depth limit refuses the stdlib's own code.
    engine.set_max_expr_depths(0, 0);
    let mut functions: Vec<Function> = engine
        .compile(source)
        .map(|ast| {
            ast.iter_functions()
                // Closures are compiled to functions named `anon$…`.
                .filter(|f| f.access != rhai::FnAccess::Private && !f.name.starts_with("anon$"))
                .map(|f| Function {
                    name: f.name.to_string(),
                    params: f.params.iter().map(|p| p.to_string()).collect(),
                    doc: f
                        .comments
                        .iter()
                        .flat_map(|c| c.lines())
                        .map(|l| l.trim_start().trim_start_matches("///").trim())
                        .collect::<Vec<_>>()
                        .join("\n"),
                })
                .collect()
        })
        .unwrap_or_default();
    // Source order is how the file reads; Rhai hands functions over hashed.
    functions.sort_by_key(|f| source.find(&format!("fn {}(", f.name)).unwrap_or(usize::MAX));
    Module { name, alias, about, functions }
}

/// The lines `runbook doc` adds under the host modules.
pub fn overview() -> String {
    let mut out = String::from(
        "\nStdlib modules (`import \"NAME\" as ALIAS;`; `runbook doc NAME` lists its functions, `runbook show NAME` prints its source):\n\n",
    );
    for m in modules() {
        let n = m.functions.len();
        let count = format!("{n:3} function{}", if n == 1 { " " } else { "s" });
        let _ = writeln!(out, "  {:26} {count}  {}", format!("{} as {}", m.name, m.alias), m.summary());
    }
    out
}

/// `runbook doc format` (or `fmt`): its functions, each with its first
/// sentence; `runbook doc fmt::bytes`: one function's whole comment.
pub fn text(target: &str) -> Option<String> {
    if let Some(m) = find(target) {
        let mut out = format!("{}\n\n", m.about);
        for f in &m.functions {
            let _ = writeln!(out, "{}\n    {}\n", m.signature(f), super::reference::first_sentence(&f.doc));
        }
        return Some(out);
    }
    let (module, name) = target.split_once("::")?;
    let m = find(module)?;
    let f = m.functions.iter().find(|f| f.name == name)?;
    let mut out = format!("{}  (stdlib `{}`)\n\n", m.signature(f), m.name);
    for l in f.doc.lines() {
        let _ = writeln!(out, "  {l}");
    }
    let _ = writeln!(out, "\n  `runbook show {}` prints the module's source.", m.name);
    Some(out)
}

/// The stdlib part of docs/reference.md.
pub fn markdown() -> String {
    let mut out = String::from(
        "\n# Stdlib modules\n\nScript code shipped in the binary (`runbook show NAME` prints it); a local `stdlib/NAME.rhai` overrides one.\n",
    );
    for m in modules() {
        let _ = write!(out, "\n## {}\n\n{}\n", m.name, m.about);
        for f in &m.functions {
            let _ = write!(out, "\n### `{}`\n\n{}\n", m.signature(f), f.doc);
        }
    }
    out
}

/// Every `alias::function` name, for a "did you mean" and completion.
pub fn names() -> Vec<String> {
    modules()
        .iter()
        .flat_map(|m| m.functions.iter().map(|f| format!("{}::{}", m.alias, f.name)).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    /// A stdlib function without a `///` comment would show an empty line
    /// in `runbook doc`; a module that fails to compile, no functions.
    #[test]
    fn every_stdlib_module_is_read_and_each_function_documented() {
        let modules = super::modules();
        assert_eq!(modules.len(), crate::script::lookup::SHIPPED_STDLIB.len());
        for m in modules {
            assert!(!m.functions.is_empty(), "{}: no functions read", m.name);
            for f in &m.functions {
                assert!(!f.doc.is_empty(), "{}::{} has no doc comment", m.name, f.name);
            }
        }
    }
}
