//! `[docker] compose_file`: the stack as its compose file declares it. Only
//! what runbook needs is read, the way docker compose reads it: the
//! project name (top-level `name:`, else the file's folder, normalised)
//! and the services that `docker compose up` starts (not those behind a
//! profile, nor those scaled to zero).

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
    static READ: OnceLock<Result<Option<ComposeFile>, String>> = OnceLock::new();
    let read = READ.get_or_init(|| {
        let cfg = &ctx().config;
        let Some(p) = &cfg.docker.compose_file else { return Ok(None) };
        let path = match cfg.dir() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.clone(),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("[docker] compose_file: cannot read {}: {e}", path.display()))?;
        parse(&path, &text).map(Some)
    });
    match read {
        Ok(c) => Ok(c.as_ref()),
        Err(e) => Err(e.clone()),
    }
}

pub fn parse(path: &Path, text: &str) -> Result<ComposeFile, String> {
    let shown = path.display();
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("{shown}:{}:{}: {}", m.line(), m.col() + 1, e.info())
    })?;
    let doc = docs.first().ok_or_else(|| format!("{shown}: the file is empty"))?;
    let project = match &doc["name"] {
        Yaml::String(n) => normalise(n),
        Yaml::BadValue | Yaml::Null => {
            let dir = std::fs::canonicalize(path).ok().and_then(|p| p.parent().map(Path::to_path_buf));
            let folder = dir.as_deref().and_then(Path::file_name).map(|f| f.to_string_lossy().into_owned());
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
        let profiled = v["profiles"].as_vec().is_some_and(|p| !p.is_empty());
        let replicas = v["deploy"]["replicas"].as_i64().or(v["scale"].as_i64());
        if !profiled && replicas != Some(0) {
            names.push(name.to_string());
        }
    }
    Ok(ComposeFile { path: path.to_path_buf(), project, services: names })
}

/// What docker compose makes of a project name: lower case, only letters,
/// digits, `-` and `_`.
fn normalise(name: &str) -> String {
    name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
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
    }

    #[test]
    fn bad_files_say_where() {
        let e = parse(Path::new("c.yml"), "services:\n  a: [\n").unwrap_err();
        assert!(e.starts_with("c.yml:"), "{e}");
        let e = parse(Path::new("c.yml"), "name: x\nversion: '3'\n").unwrap_err();
        assert_eq!(e, "c.yml: no `services:` in it: is it a compose file?");
    }
}
