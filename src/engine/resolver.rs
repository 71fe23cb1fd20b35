//! `import "name" as x;` — confined to the stdlib. Rhai's default file
//! resolver accepts absolute paths and `..`; this one accepts only plain
//! names (`format`, `thresholds`, `team/helpers`), looked up in the local
//! stdlib folders first, then in the stdlib compiled into the binary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope};

type SharedModule = std::sync::Arc<Module>;

pub struct StdlibResolver {
    dirs: Vec<PathBuf>,
    cache: Mutex<HashMap<String, SharedModule>>,
}

impl StdlibResolver {
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        StdlibResolver { dirs, cache: Mutex::new(HashMap::new()) }
    }

    fn source(&self, name: &str) -> Option<(String, String)> {
        source(&self.dirs, name)
    }
}

/// Where `import "name"` finds its module, and its text: the first local
/// stdlib folder that has it, else the stdlib compiled into the binary.
/// `runbook show NAME` prints the same file.
pub fn source(dirs: &[PathBuf], name: &str) -> Option<(String, String)> {
    if !valid_name(name) {
        return None;
    }
    for d in dirs {
        let p = d.join(format!("{name}.rhai"));
        if let Ok(src) = std::fs::read_to_string(&p) {
            return Some((p.display().to_string(), src));
        }
    }
    crate::script::lookup::shipped_stdlib(name).map(|s| (format!("<stdlib>/{name}.rhai"), s.to_string()))
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && part != ".."
        })
}

/// Sources of loaded modules, by the name errors show, for excerpts.
static SOURCES: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

pub fn module_source(file: &str) -> Option<String> {
    SOURCES.read().ok()?.iter().find(|(n, _)| n == file).map(|(_, s)| s.clone())
}

impl ModuleResolver for StdlibResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        if let Some(m) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(m.clone());
        }
        if !valid_name(path) {
            return Err(Box::new(EvalAltResult::ErrorModuleNotFound(
                format!("{path} (imports name a stdlib module such as \"format\"; paths are not allowed)"),
                pos,
            )));
        }
        let Some((file, src)) = self.source(path) else {
            return Err(Box::new(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos)));
        };
        if let Ok(mut s) = SOURCES.write() {
            s.push((file.clone(), src.clone()));
        }
        let mut ast =
            engine.compile(&src).map_err(|e| Box::new(EvalAltResult::ErrorInModule(file.clone(), e.into(), pos)))?;
        ast.set_source(file.as_str());
        let mut module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(file.clone(), e, pos)))?;
        module.build_index();
        let shared: SharedModule = module.into();
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_string(), shared.clone());
        Ok(shared)
    }
}

/// Local stdlib folders searched before the shipped stdlib. `./stdlib`,
/// found without being named, is refused when another user could have
/// changed it.
pub fn stdlib_dirs(config: &crate::config::Config) -> Result<Vec<std::path::PathBuf>, crate::exit::Failure> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("RUNBOOK_STDLIB").filter(|v| !v.is_empty()) {
        v.push(std::path::PathBuf::from(d));
    }
    if let Some(d) = &config.run.stdlib_dir {
        v.push(d.clone());
    }
    let implicit = std::path::PathBuf::from("stdlib");
    if implicit.is_dir() && !crate::trust::named(&v, &implicit) {
        crate::trust::check(&implicit, "a stdlib", "RUNBOOK_STDLIB=./stdlib")?;
        // Every shipped script imports the stdlib: each module counts.
        for entry in std::fs::read_dir(&implicit).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "rhai") {
                crate::trust::check(&entry.path(), "a stdlib", "RUNBOOK_STDLIB=./stdlib")?;
            }
        }
    }
    v.push(implicit);
    if let Some(d) = config.dir() {
        v.push(d.join("stdlib"));
    }
    Ok(v)
}
