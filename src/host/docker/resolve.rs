//! Names as operators write them: a compose service of the current
//! project ("backend"), a container name ("civicq-backend-1") or an id.
//! A service is tried first, because that is what the manual says.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptions;

use super::client::{explain, Client};

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

/// One container a name resolved to.
#[derive(Clone, Debug)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub running: bool,
}

impl Container {
    fn from_summary(s: &bollard::models::ContainerSummary) -> Self {
        Container {
            id: s.id.clone().unwrap_or_default(),
            name: first_name(&s.names),
            running: s.state.map(|st| st.to_string() == "running").unwrap_or(false),
        }
    }
}

/// Docker reports names with a leading slash ("/civicq-backend-1").
pub fn first_name(names: &Option<Vec<String>>) -> String {
    names.as_ref().and_then(|n| n.first()).map(|n| n.trim_start_matches('/').to_string()).unwrap_or_default()
}

/// Label filters for a project and, optionally, one of its services.
pub fn label_filters(project: Option<&str>, service: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![];
    if let Some(p) = project {
        labels.push(format!("{PROJECT_LABEL}={p}"));
    }
    if let Some(s) = service {
        labels.push(format!("{SERVICE_LABEL}={s}"));
    }
    let mut f = HashMap::new();
    if !labels.is_empty() {
        f.insert("label".to_string(), labels);
    }
    f
}

/// The compose project changes are confined to; none configured is an
/// error saying how to set it, checked before a name is looked up so that
/// the operator learns that first.
pub fn configured_project(c: &Client) -> Result<&str, String> {
    c.project.as_deref().ok_or_else(|| {
        "no compose project is configured, and a change never reaches beyond one: set [docker] project or [docker] compose_file in runbook.toml (or COMPOSE_PROJECT_NAME, as docker compose reads it)"
            .to_string()
    })
}

/// A change never reaches beyond one compose project: with none
/// configured it is refused, and so is a container of another project
/// named directly (`other-project-web-1`).
pub async fn within_project(c: &Client, found: &[Container]) -> Result<(), String> {
    let project = configured_project(c)?;
    for x in found {
        let i = c.docker.inspect_container(&x.id, None).await.map_err(|e| explain(c, &e))?;
        let theirs = i.config.and_then(|c| c.labels).and_then(|l| l.get(PROJECT_LABEL).cloned());
        if theirs.as_deref() != Some(project) {
            let of =
                theirs.map(|p| format!("of compose project `{p}`")).unwrap_or_else(|| "of no compose project".into());
            return Err(format!(
                "{} is {of}, not `{project}` ([docker] project): runbook changes only its own project",
                x.name
            ));
        }
    }
    Ok(())
}

/// Every container `name` stands for (several for a scaled service).
pub async fn resolve(c: &Client, name: &str) -> Result<Vec<Container>, String> {
    if name.is_empty() {
        return Err("empty container name".into());
    }
    let opts = ListContainersOptions {
        all: true,
        filters: Some(label_filters(c.project.as_deref(), Some(name))),
        ..Default::default()
    };
    let listed = c.docker.list_containers(Some(opts)).await.map_err(|e| explain(c, &e))?;
    if !listed.is_empty() {
        let mut found: Vec<Container> = listed.iter().map(Container::from_summary).collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(found);
    }
    match c.docker.inspect_container(name, None).await {
        Ok(i) => Ok(vec![Container {
            id: i.id.unwrap_or_default(),
            name: i.name.unwrap_or_default().trim_start_matches('/').to_string(),
            running: i.state.and_then(|s| s.running).unwrap_or(false),
        }]),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
            Err(not_found(c, name).await)
        }
        Err(e) => Err(explain(c, &e)),
    }
}

/// Exactly one running container, for exec: a scaled service is an error
/// that lists the candidates, so the operator can name one.
pub async fn one_running(c: &Client, name: &str) -> Result<Container, String> {
    let all = resolve(c, name).await?;
    let running: Vec<&Container> = all.iter().filter(|x| x.running).collect();
    match running.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "`{name}` is not running ({})",
            all.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ") + " stopped"
        )),
        many => Err(format!(
            "`{name}` has {} running containers: {}; name the one to use",
            many.len(),
            many.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

async fn not_found(c: &Client, name: &str) -> String {
    let scope = match &c.project {
        Some(p) => format!(" in compose project `{p}`"),
        None => String::new(),
    };
    let opts = ListContainersOptions {
        all: true,
        filters: Some(label_filters(c.project.as_deref(), None)),
        ..Default::default()
    };
    let mut candidates: Vec<String> = vec![];
    if let Ok(list) = c.docker.list_containers(Some(opts)).await {
        for s in &list {
            if let Some(svc) = s.labels.as_ref().and_then(|l| l.get(SERVICE_LABEL)) {
                candidates.push(svc.clone());
            }
            candidates.push(first_name(&s.names));
        }
    }
    candidates.sort();
    candidates.dedup();
    let hint = match crate::suggest::DidYouMean::find(name, candidates.iter().map(String::as_str)) {
        Some(d) => format!(" ({d})"),
        None if candidates.is_empty() => String::new(),
        None => format!(" (known: {})", candidates.join(", ")),
    };
    format!("no container or compose service `{name}`{scope}{hint}")
}
