//! `docker::ps`, `docker::inspect` and the lifecycle calls (restart,
//! stop, start): what `docker-compose ps` and friends do.

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{ListContainersOptions, RestartContainerOptions, StopContainerOptions};
use futures_util::future::join_all;
use rhai::{Array, Dynamic, Map};

use super::client::{client, explain};
use super::resolve::{first_name, label_filters, resolve, PROJECT_LABEL, SERVICE_LABEL};
use crate::engine::{guard, runtime};
use crate::host::opts::Opts;
use crate::host::time::{parse_timestamp, Timestamp};
use crate::host::{error, HostResult};

pub fn ps(map: Map) -> HostResult<Array> {
    const F: &str = "docker::ps";
    let o = Opts::new(F, &map)?;
    let c = client()?;
    // With no project configured, the engine's every container is not
    // "the compose project": say what to set (or ask for all of them).
    let project = match o.str("project")? {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(p),
        None => Some(c.project.clone().ok_or_else(|| {
            error(
                F,
                "no compose project is configured: set [docker] project or [docker] compose_file in runbook.toml (or COMPOSE_PROJECT_NAME); docker::ps(#{project: \"\"}) lists every container on the engine",
            )
        })?),
    };
    let service = o.str("service")?;
    let opts = ListContainersOptions {
        all: o.bool("all")?.unwrap_or(true),
        filters: Some(label_filters(project.as_deref(), service.as_deref())),
        ..Default::default()
    };
    let rows = runtime::block_on(async {
        let mut list = c.docker.list_containers(Some(opts)).await.map_err(|e| explain(&c, &e))?;
        list.sort_by_key(|s| first_name(&s.names));
        // The list has no start time and no exit code: inspect each, all
        // at once (compose does the same).
        let details =
            join_all(list.iter().map(|s| c.docker.inspect_container(s.id.as_deref().unwrap_or(""), None))).await;
        Ok::<_, String>(list.iter().zip(details).map(|(s, d)| row(s, d.ok().as_ref())).collect::<Array>())
    })?
    .map_err(|e| error(F, e))?;
    Ok(rows)
}

fn row(s: &ContainerSummary, details: Option<&ContainerInspectResponse>) -> Dynamic {
    let labels = s.labels.clone().unwrap_or_default();
    let label = |k: &str| Dynamic::from(labels.get(k).cloned().unwrap_or_default());
    let state = details.and_then(|d| d.state.as_ref());
    let health = state
        .and_then(|st| st.health.as_ref())
        .and_then(|h| h.status)
        .map(|h| h.to_string())
        .filter(|h| h != "none")
        .unwrap_or_default();
    let started_at = state
        .and_then(|st| st.started_at.as_deref())
        .filter(|t| !t.starts_with("0001-"))
        .and_then(|t| parse_timestamp(t).ok())
        .map(Dynamic::from::<Timestamp>)
        .unwrap_or(Dynamic::UNIT);
    let state_text = s.state.map(|st| st.to_string()).unwrap_or_default();
    let ports: Array = s
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            Dynamic::from(match (p.ip.as_deref(), p.public_port) {
                (Some(ip), Some(public)) => format!("{ip}:{public}->{}/{proto}", p.private_port),
                _ => format!("{}/{proto}", p.private_port),
            })
        })
        .collect();
    let mut m = Map::new();
    let id = s.id.clone().unwrap_or_default();
    m.insert("id".into(), Dynamic::from(id.chars().take(12).collect::<String>()));
    m.insert("name".into(), Dynamic::from(first_name(&s.names)));
    m.insert("project".into(), label(PROJECT_LABEL));
    m.insert("service".into(), label(SERVICE_LABEL));
    m.insert("image".into(), Dynamic::from(s.image.clone().unwrap_or_default()));
    m.insert("running".into(), Dynamic::from_bool(state_text == "running"));
    m.insert("state".into(), Dynamic::from(state_text));
    m.insert("status".into(), Dynamic::from(s.status.clone().unwrap_or_default()));
    m.insert("health".into(), Dynamic::from(health));
    m.insert("started_at".into(), started_at);
    m.insert("exit_code".into(), Dynamic::from_int(state.and_then(|st| st.exit_code).unwrap_or(0)));
    m.insert("ports".into(), Dynamic::from_array(ports));
    Dynamic::from_map(m)
}

pub fn inspect(name: &str) -> HostResult<Map> {
    let who = format!("docker::inspect ({name})");
    let c = client()?;
    let details = runtime::block_on(async {
        let found = resolve(&c, name).await?;
        if found.len() > 1 {
            let names: Vec<&str> = found.iter().map(|x| x.name.as_str()).collect();
            return Err(format!(
                "`{name}` has {} containers: {}; name the one to inspect",
                found.len(),
                names.join(", ")
            ));
        }
        c.docker.inspect_container(&found[0].id, None).await.map_err(|e| explain(&c, &e))
    })?
    .map_err(|e| error(&who, e))?;
    let json = serde_json::to_value(&details).map_err(|e| error(&who, e))?;
    Ok(crate::host::convert::from_json(json).try_cast::<Map>().unwrap_or_default())
}

/// restart, stop or start every container `name` stands for.
pub fn lifecycle(action: &'static str, name: &str, map: Map) -> HostResult<Array> {
    let func = match action {
        "restart" => "docker::restart",
        "stop" => "docker::stop",
        _ => "docker::start",
    };
    let o = Opts::new(func, &map)?;
    let timeout = o.duration("timeout")?.map(|d| d.as_secs().min(i32::MAX as u64) as i32);
    let who = format!("{func} ({name})");
    let c = client()?;
    let found = runtime::block_on(async {
        super::resolve::configured_project(&c)?;
        let found = resolve(&c, name).await?;
        super::resolve::within_project(&c, &found).await?;
        Ok::<_, String>(found)
    })?
    .map_err(|e| error(&who, e))?;
    let names: Vec<String> = found.iter().map(|x| x.name.clone()).collect();
    if !guard::mutating(|| format!("{action} {}", names.join(", "))) {
        return Ok(names.into_iter().map(Dynamic::from).collect());
    }
    runtime::block_on(async {
        for x in &found {
            let r = match action {
                "restart" => {
                    c.docker.restart_container(&x.id, Some(RestartContainerOptions { t: timeout, signal: None })).await
                }
                "stop" => c.docker.stop_container(&x.id, Some(StopContainerOptions { t: timeout, signal: None })).await,
                _ => c.docker.start_container(&x.id, None).await,
            };
            match r {
                Ok(()) => {}
                // Already in the wanted state: compose treats it as done.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {}
                Err(e) => return Err(format!("{}: {}", x.name, explain(&c, &e))),
            }
        }
        Ok(())
    })?
    .map_err(|e| error(&who, e))?;
    Ok(names.into_iter().map(Dynamic::from).collect())
}
