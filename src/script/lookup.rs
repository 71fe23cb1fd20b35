//! Finding a script by name. Local folders come first (`--scripts-dir`,
//! `$RUNBOOK_SCRIPTS`, `./scripts`, the config folder's `scripts/`), then
//! the scripts compiled into the binary. A local file therefore overrides
//! the shipped script of the same name, folders included
//! (`weekly/review-logs` → `weekly/review-logs.rhai`).

use std::path::{Path, PathBuf};

use crate::exit::Failure;

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary.
    Shipped,
    /// A file on the script path (may override a shipped one).
    Local(PathBuf),
    /// A path given on the command line.
    File(PathBuf),
    /// Code given on the command line (`-e`) or on stdin (`-`): the label
    /// shown as its file, `<-e>` or `<stdin>`.
    Inline(&'static str),
}

#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    pub origin: Origin,
    pub source: String,
}

impl Script {
    /// The name errors and reports show as the file: a path for files,
    /// `<shipped>/name.rhai` for built-in scripts.
    pub fn display_path(&self) -> String {
        match &self.origin {
            Origin::Shipped => format!("<shipped>/{}.rhai", self.name),
            Origin::Local(p) | Origin::File(p) => p.display().to_string(),
            Origin::Inline(label) => format!("<{label}>"),
        }
    }

    /// Code given with `runbook run -e CODE`.
    pub fn inline(code: &str) -> Script {
        Script { name: "-e".into(), origin: Origin::Inline("-e"), source: code.to_string() }
    }

    /// The name the run history keeps: a file given by path is kept under
    /// its absolute path, so `/tmp/daily-check.rhai` never mixes with the
    /// shipped `daily-check`.
    pub fn history_name(&self) -> String {
        match &self.origin {
            Origin::File(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string(),
            _ => self.name.clone(),
        }
    }
}

/// The ordered list of local script folders.
#[derive(Debug, Clone)]
pub struct ScriptPath {
    pub dirs: Vec<PathBuf>,
}

/// This process's `--scripts-dir`, for what reads the script path from
/// inside a run (`history::health()` reads the plan).
static FLAG_DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

pub fn set_flag_dir(dir: Option<PathBuf>) {
    let _ = FLAG_DIR.set(dir);
}

impl ScriptPath {
    /// The path with this process's `--scripts-dir`.
    pub fn of_process(config: &crate::config::Config) -> Self {
        Self::new(FLAG_DIR.get().and_then(|d| d.as_deref()), config)
    }

    pub fn new(flag: Option<&Path>, config: &crate::config::Config) -> Self {
        let mut dirs = Vec::new();
        if let Some(d) = flag {
            dirs.push(d.to_path_buf());
        }
        if let Some(d) = std::env::var_os("RUNBOOK_SCRIPTS").filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(d));
        }
        if let Some(d) = &config.run.scripts_dir {
            dirs.push(d.clone());
        }
        dirs.push(PathBuf::from("scripts"));
        if let Some(d) = config.dir() {
            dirs.push(d.join("scripts"));
        }
        dirs.dedup();
        ScriptPath { dirs }
    }

    /// Where `runbook eject` writes: the first folder of the path.
    pub fn first_dir(&self) -> PathBuf {
        self.dirs.first().cloned().unwrap_or_else(|| PathBuf::from("scripts"))
    }

    /// A NAME, or a PATH when it ends in `.rhai` or contains a path
    /// separator that is not a shipped name's folder.
    pub fn find(&self, name_or_path: &str) -> Result<Script, Failure> {
        if name_or_path == "-" {
            let mut source = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut source)
                .map_err(|e| Failure::usage(format!("cannot read the script from stdin: {e}")))?;
            return Ok(Script { name: "-".into(), origin: Origin::Inline("stdin"), source });
        }
        let as_path = Path::new(name_or_path);
        if name_or_path.ends_with(".rhai") || (as_path.is_file() && name_or_path.contains('/')) {
            let source = std::fs::read_to_string(as_path)
                .map_err(|e| Failure::usage(format!("cannot read script {name_or_path}: {e}")))?;
            let name = as_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok(Script { name, origin: Origin::File(as_path.to_path_buf()), source });
        }
        if let Some(s) = self.find_local(name_or_path)? {
            return Ok(s);
        }
        if let Some(source) = shipped(name_or_path) {
            return Ok(Script { name: name_or_path.into(), origin: Origin::Shipped, source: source.into() });
        }
        let names = self.all().into_iter().map(|e| e.name).collect::<Vec<_>>();
        let mut f = Failure::usage(format!("no script named `{name_or_path}`"));
        f = match crate::suggest::DidYouMean::find(name_or_path, names.iter().map(String::as_str)) {
            Some(d) => f.with_help(format!("{d} (`runbook list` shows them all)")),
            None => f.with_help("`runbook list` shows every script; a path to a .rhai file works too"),
        };
        Err(f)
    }

    fn find_local(&self, name: &str) -> Result<Option<Script>, Failure> {
        if name.split('/').any(|c| c == ".." || c.is_empty()) {
            return Ok(None);
        }
        // ./scripts is searched without being named: refused if another
        // user could have put a script there.
        let implicit = Path::new("scripts");
        if self.dirs.iter().any(|d| d == implicit) && implicit.is_dir() && !crate::trust::named(&self.dirs, implicit) {
            crate::trust::check(implicit, "scripts", "--scripts-dir ./scripts (or RUNBOOK_SCRIPTS)")?;
            let file = implicit.join(format!("{name}.rhai"));
            if file.is_file() {
                crate::trust::check(&file, "scripts", "--scripts-dir ./scripts (or RUNBOOK_SCRIPTS)")?;
            }
        }
        for dir in &self.dirs {
            let p = dir.join(format!("{name}.rhai"));
            if p.is_file() {
                let source = std::fs::read_to_string(&p)
                    .map_err(|e| Failure::usage(format!("cannot read script {}: {e}", p.display())))?;
                return Ok(Some(Script { name: name.into(), origin: Origin::Local(p), source }));
            }
        }
        Ok(None)
    }

    /// Every script by name, the winning one for each, with whether a local
    /// file shadows a shipped one.
    pub fn all(&self) -> Vec<Listed> {
        let mut out: Vec<Listed> = Vec::new();
        for dir in &self.dirs {
            let mut files = Vec::new();
            walk(dir, dir, &mut files);
            for (name, path) in files {
                if out.iter().any(|l| l.name == name) {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap_or_default();
                let overrides = shipped(&name).map(|s| if s == source { Shadow::Same } else { Shadow::Differs });
                out.push(Listed { name, origin: Origin::Local(path), source, overrides });
            }
        }
        for (name, source) in SHIPPED_SCRIPTS {
            if !out.iter().any(|l| l.name == *name) {
                out.push(Listed {
                    name: name.to_string(),
                    origin: Origin::Shipped,
                    source: source.to_string(),
                    overrides: None,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shadow {
    /// The local file is identical to the shipped script.
    Same,
    /// The local file is an edited copy: it wins.
    Differs,
}

#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub origin: Origin,
    pub source: String,
    pub overrides: Option<Shadow>,
}

pub fn shipped(name: &str) -> Option<&'static str> {
    SHIPPED_SCRIPTS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

pub fn shipped_stdlib(name: &str) -> Option<&'static str> {
    SHIPPED_STDLIB.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(base, &p, out);
        } else if p.extension().is_some_and(|x| x == "rhai") {
            if let Ok(rel) = p.strip_prefix(base) {
                let name = rel
                    .with_extension("")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, p.clone()));
            }
        }
    }
}
