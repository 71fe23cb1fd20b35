//! `[docker] compose_file`: the stack as its compose file declares it. Only
//! what runbook needs is read, the way docker compose reads it: the
//! project name (top-level `name:`, else the file's folder, normalised)
//! and the services that `docker compose up` starts (not those behind a
//! profile, nor those scaled to zero). One file: `include:`, override
//! files and `.env` are not read; where they decide, set `[docker]
//! project` and `[docker] services` instead.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use yaml_rust2::{Yaml, YamlLoader};

use crate::engine::context::ctx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeFile {
    pub path: PathBuf,
    pub project: String,
    /// In the file's order.
    pub services: Vec<String>,
}

/// The configured compose file, read once per run; `None` when there is
/// none configured.
pub fn configured() -> Result<Option<&'static ComposeFile>, String> {
    let read = READ.get_or_init(|| read(&ctx().config));
    match read {
        Ok(c) => Ok(c.as_ref()),
        Err(e) => Err(e.clone()),
    }
}

/// The compose file as read once for the run (by [`check`] or [`configured`]).
static READ: OnceLock<Result<Option<ComposeFile>, String>> = OnceLock::new();

/// Read `config`'s compose file now, so that a bad one fails before any
/// script runs; what was read is kept for [`configured`].
pub fn check(config: &crate::config::Config) -> Result<(), String> {
    let result = READ.get_or_init(|| read(config));
    result.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Read and parse `[docker] compose_file` of `config`, if it names one.
pub fn read(config: &crate::config::Config) -> Result<Option<ComposeFile>, String> {
    let Some(p) = &config.docker.compose_file else { return Ok(None) };
    let path = match config.dir() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.clone(),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("key `docker.compose_file`: cannot read {}: {e}", path.display()))?;
    parse(&path, &text).map(Some)
}

pub fn parse(path: &Path, text: &str) -> Result<ComposeFile, String> {
    let shown = path.display();
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("{shown}:{}:{}: {}", m.line(), m.col() + 1, e.info())
    })?;
    let doc = docs.first().ok_or_else(|| format!("{shown}: the file is empty"))?;
    let project = match &doc["name"] {
        Yaml::String(n) => normalise(
            &crate::config::interpolate(n)
                .map_err(|e| format!("{shown}: `name`: {e}; or set [docker] project in runbook.toml"))?,
        ),
        Yaml::BadValue | Yaml::Null => {
            // The folder as written, symlinks not followed (compose does not).
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let folder = absolute.parent().and_then(Path::file_name).map(|f| f.to_string_lossy().into_owned());
            normalise(&folder.unwrap_or_default())
        }
        _ => return Err(format!("{shown}: `name` is not a string")),
    };
    if project.is_empty() {
        return Err(format!("{shown}: no project name: give the file a top-level `name:` or set [docker] project"));
    }
    let services = match &doc["services"] {
        Yaml::Hash(h) => h,
        Yaml::BadValue => return Err(format!("{shown}: no `services:` in it: is it a compose file?")),
        _ => return Err(format!("{shown}: `services` is not a mapping of service names")),
    };
    let mut names = vec![];
    for (k, v) in services {
        let Some(name) = k.as_str() else { return Err(format!("{shown}: a service name that is not a string: {k:?}")) };
        // A `<<: *anchor` merge is read as compose reads it, one level deep.
        let key = |k: &str| if v[k].is_badvalue() { &v["<<"][k] } else { &v[k] };
        let profiled = key("profiles").as_vec().is_some_and(|p| !p.is_empty());
        let count = |y: &Yaml| match y {
            Yaml::Integer(n) => Some(*n),
            Yaml::String(t) => crate::config::interpolate(t).ok().and_then(|t| t.trim().parse().ok()),
            _ => None,
        };
        let replicas = count(&key("deploy")["replicas"]).or(count(key("scale")));
        if !profiled && replicas != Some(0) {
            names.push(name.to_string());
        }
    }
    Ok(ComposeFile { path: path.to_path_buf(), project, services: names })
}

/// What docker compose makes of a project name: lower case, only letters,
/// digits, `-` and `_`, not starting with `-` or `_`.
fn normalise(name: &str) -> String {
    let kept: String =
        name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    kept.trim_start_matches(['-', '_']).to_string()
}

/// The services that must have a container: the compose file's, then
/// `[docker] services`, each once.
pub fn expected() -> Result<Vec<String>, String> {
    let mut names: Vec<String> = configured()?.map(|c| c.services.clone()).unwrap_or_default();
    for s in &ctx().config.docker.services {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_started_services_are_read_as_compose_reads_them() {
        let text = "name: CivicQ.Prod\nservices:\n  postgres:\n    image: postgres\n  backend: {}\n  debug:\n    profiles: [debug]\n  spare:\n    deploy:\n      replicas: 0\n";
        let c = parse(Path::new("/x/docker-compose.yml"), text).unwrap();
        assert_eq!(c.project, "civicqprod");
        assert_eq!(c.services, ["postgres", "backend"]);
        let merged = "name: _Stack\nx-debug: &debug\n  profiles: [debug]\nservices:\n  web: {}\n  tools:\n    <<: *debug\n  spare:\n    deploy:\n      replicas: ${RUNBOOK_TEST_UNSET_N:-0}\n";
        let c = parse(Path::new("/x/c.yml"), merged).unwrap();
        assert_eq!((c.project.as_str(), c.services.as_slice()), ("stack", ["web".to_string()].as_slice()));
        let folder = parse(Path::new("/srv/My.Stack/docker-compose.yml"), "services:\n  a: {}\n").unwrap();
        assert_eq!(folder.project, "mystack");
    }

    #[test]
    fn bad_files_say_where() {
        let e = parse(Path::new("c.yml"), "services:\n  a: [\n").unwrap_err();
        assert!(e.starts_with("c.yml:"), "{e}");
        let e = parse(Path::new("c.yml"), "name: x\nversion: '3'\n").unwrap_err();
        assert_eq!(e, "c.yml: no `services:` in it: is it a compose file?");
    }
}
