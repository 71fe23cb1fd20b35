//! The layer order of docs/ARCHITECTURE.md, checked on every `use`: a file
//! may name modules of its own layer and the layers beneath it, never one
//! above. A `crate::…` path in code (not in a comment) is an import.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

use std::path::Path;

/// Lowest first. A path names a module (`config`), a folder (`host`) or a
/// file in one (`engine/context`); the longest match places a file.
const LAYERS: &[&[&str]] = &[
    &["exit", "duration", "redact", "suggest", "output", "flock", "memory", "trust", "value", "pace"],
    &["config", "layout"],
    &["script"],
    &["report"],
    &["engine/context", "engine/runtime", "engine/guard", "engine/diagnostic", "engine/failure", "engine/resolver"],
    &["history", "plan"],
    &["host"],
    &["engine"],
    &["cli", "commands", "repl", "schedule"],
    &["main", "fuzz"],
];

fn layer(module_path: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, names) in LAYERS.iter().enumerate() {
        for n in names.iter() {
            let hit = module_path == *n || module_path.starts_with(&format!("{n}/"));
            if hit && best.is_none_or(|(_, len)| n.len() > len) {
                best = Some((i, n.len()));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// `crate::a::b::{c, d}` and `crate::a::b` as module paths "a/b/c", "a/b/d",
/// "a/b"; `super::x` in the file of module `m` as `parent(m)/x`.
fn imports_in(module: &str, line: &str) -> Vec<String> {
    let code = match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    };
    let parent = module.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    let mut out = imports(code);
    if !parent.is_empty() {
        let sup = regex::Regex::new(r"\bsuper::([a-z_]+)").unwrap();
        for c in sup.captures_iter(code) {
            out.push(format!("{parent}/{}", &c[1]));
        }
    }
    out
}

fn imports(line: &str) -> Vec<String> {
    let code = match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    };
    let group = regex::Regex::new(r"crate::([a-z_]+)::\{([^}]*)\}").unwrap();
    let single = regex::Regex::new(r"crate::([a-z_]+)(?:::([a-z_]+))?").unwrap();
    let top = regex::Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let mut out = Vec::new();
    for c in top.captures_iter(code) {
        for item in c[1].split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(item.replace("::", "/"));
        }
    }
    let code = &top.replace_all(code, "").to_string();
    for c in group.captures_iter(code) {
        for item in c[2].split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(format!("{}/{}", &c[1], item.split("::").next().unwrap_or(item)));
        }
    }
    for c in single.captures_iter(&group.replace_all(code, "")) {
        out.push(match c.get(2) {
            Some(m) => format!("{}/{}", &c[1], m.as_str()),
            None => c[1].to_string(),
        });
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut upward = Vec::new();
    for path in &all {
        let rel = path.strip_prefix(&src).unwrap().with_extension("").display().to_string();
        let rel = rel.strip_suffix("/mod").unwrap_or(&rel).to_string();
        let mine = layer(&rel)
            .unwrap_or_else(|| panic!("{} is in no layer: add it to LAYERS and the document", path.display()));
        for (n, line) in std::fs::read_to_string(path).unwrap().lines().enumerate() {
            // A file's own unit tests (`mod tests`, last in the file) may use anything.
            if line.trim_start().starts_with("mod tests") {
                break;
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for import in imports_in(&rel, line) {
                // Test support (cfg(test)) may use anything.
                if import.starts_with("fuzz") {
                    continue;
                }
                if let Some(theirs) = layer(&import) {
                    if theirs > mine {
                        let shown = path.strip_prefix(src.parent().unwrap()).unwrap().display().to_string();
                        upward.push(format!("{shown}:{}: `{import}` is above it", n + 1));
                    }
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports against the layer order of docs/ARCHITECTURE.md:\n{}", upward.join("\n"));
}

/// Within the top layer, `commands` dispatches to the REPL and the
/// scheduler; neither reaches back into `commands` (what they shared, the
/// reference model, the stdlib folders, the schedule's environment
/// variables, lives beneath them now).
#[test]
fn the_repl_and_the_scheduler_do_not_reach_into_commands() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut back = Vec::new();
    for dir in ["repl", "schedule"] {
        let mut all = Vec::new();
        files(&src.join(dir), &mut all);
        for path in all {
            for (n, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                if !line.trim_start().starts_with("//") && imports(line).iter().any(|i| i.starts_with("commands")) {
                    back.push(format!("{}:{}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(back.is_empty(), "{}", back.join("\n"));
}

/// The checker itself: an upward import is seen, in both spellings.
#[test]
fn the_checker_sees_both_spellings_of_an_import() {
    assert_eq!(imports("use crate::engine::{guard, runtime};"), ["engine/guard", "engine/runtime"]);
    assert_eq!(imports("    let s = crate::host::state::dir(); // crate::commands"), ["host/state"]);
    assert_eq!(imports("use crate::{duration, host::time};"), ["duration", "host/time"]);
    assert_eq!(layer("engine/context"), Some(4));
    assert_eq!(layer("engine/resolver"), Some(4));
    assert_eq!(layer("engine"), Some(7));
    assert_eq!(imports_in("engine/guard", "let x = super::reference::build();"), ["engine/reference"]);
    assert_eq!(layer("host/pg/dump"), Some(6));
}
