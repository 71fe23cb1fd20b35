//! A compose service as a network address, for the targets that name one
//! (`[postgres.main] service = "postgres"`). The manual's stack publishes
//! no database port, which is why its bash says `docker-compose exec
//! postgres psql`; runbook asks the Docker Engine where the service's
//! container is on its compose network and connects there directly.

use std::net::IpAddr;

use bollard::query_parameters::ListContainersOptions;

use super::client::{client, explain, socket_path, Client};
use super::resolve::{first_name, label_filters, SERVICE_LABEL};
use crate::engine::runtime;
use crate::host::{error, HostResult};

/// Where a service's container listens.
#[derive(Debug, Clone)]
pub struct Address {
    pub ip: IpAddr,
    /// The container and network it was found on, for messages.
    pub container: String,
    pub network: String,
    /// The TCP ports the image exposes ("5432/tcp" → 5432).
    pub exposed: Vec<u16>,
}

impl Address {
    /// The port to connect to: the configured one; else the kind's usual
    /// one (5432, 6379) when the image exposes it or says nothing; else
    /// the one port the image exposes.
    pub fn port(&self, configured: Option<u16>, usual: u16) -> u16 {
        match (configured, self.exposed.as_slice()) {
            (Some(p), _) => p,
            (None, [only]) if !self.exposed.contains(&usual) => *only,
            _ => usual,
        }
    }

    /// "civicq-postgres-1 on civicq_default": where the address came from.
    pub fn origin(&self) -> String {
        format!("{} on {}", self.container, self.network)
    }
}

/// Addresses found in this run: an HTTP target by service asks once, not
/// on every request.
static FOUND: std::sync::Mutex<Option<std::collections::HashMap<String, Address>>> = std::sync::Mutex::new(None);

/// The address of `service`'s running container in the configured
/// compose project. `func` names the caller in errors ("pg::connect").
pub fn of_service(func: &str, service: &str) -> HostResult<Address> {
    if let Some(a) = FOUND.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(Default::default).get(service) {
        return Ok(a.clone());
    }
    let a = find_service(func, service)?;
    FOUND
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Default::default)
        .insert(service.into(), a.clone());
    Ok(a)
}

fn find_service(func: &str, service: &str) -> HostResult<Address> {
    let c = client()?;
    let Some(project) = c.project.clone() else {
        return Err(error(
            func,
            format!("compose service `{service}`: no compose project is configured: set [docker] project or [docker] compose_file in runbook.toml"),
        ));
    };
    if !local(&c.host) {
        return Err(error(
            func,
            format!(
                "compose service `{service}`: the Docker Engine at {} is on another machine, and its containers' addresses cannot be reached from here: publish the service's port and give `host` and `port` instead, or run runbook on that machine",
                c.host
            ),
        ));
    }
    let c2 = c.clone();
    let found = runtime::block_on(async move { find(&c2, &project, service).await })?;
    found.map_err(|e| error(func, e))
}

/// A Unix socket, or TCP on this machine's loopback.
fn local(host: &str) -> bool {
    if socket_path(host).is_some() {
        return true;
    }
    let rest = host.split_once("://").map(|(_, r)| r).unwrap_or(host);
    let h = rest.rsplit_once(':').map(|(h, _)| h).unwrap_or(rest);
    matches!(h, "127.0.0.1" | "localhost" | "[::1]")
}

async fn find(c: &Client, project: &str, service: &str) -> Result<Address, String> {
    let opts = ListContainersOptions {
        all: true,
        filters: Some(label_filters(Some(project), Some(service))),
        ..Default::default()
    };
    let mut listed = c.docker.list_containers(Some(opts)).await.map_err(|e| explain(c, &e))?;
    listed.sort_by_key(|s| first_name(&s.names));
    let running = listed.iter().find(|s| s.state.map(|st| st.to_string() == "running").unwrap_or(false));
    let Some(running) = running else {
        if listed.is_empty() {
            return Err(format!(
                "compose service `{service}` of project `{project}` has no container{}",
                others(c, project, service).await
            ));
        }
        let states: Vec<String> = listed
            .iter()
            .map(|s| format!("{} is {}", first_name(&s.names), s.state.map(|st| st.to_string()).unwrap_or_default()))
            .collect();
        return Err(format!(
            "compose service `{service}` of project `{project}` has no running container ({}): docker compose start {service}",
            states.join(", ")
        ));
    };
    let name = first_name(&running.names);
    let details =
        c.docker.inspect_container(running.id.as_deref().unwrap_or(""), None).await.map_err(|e| explain(c, &e))?;
    rootless(c).await?;
    let exposed: Vec<u16> = details
        .config
        .as_ref()
        .and_then(|cfg| cfg.exposed_ports.as_ref())
        .map(|ports| ports.iter().filter_map(|p| p.strip_suffix("/tcp").and_then(|n| n.parse().ok())).collect())
        .unwrap_or_default();
    let mode = details.host_config.as_ref().and_then(|h| h.network_mode.clone()).unwrap_or_default();
    if mode == "host" {
        return Ok(Address {
            ip: IpAddr::from([127, 0, 0, 1]),
            container: name,
            network: "the host's network".into(),
            exposed,
        });
    }
    let mut networks: Vec<(String, IpAddr)> = details
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(net, ep)| Some((net, ep.ip_address.as_deref()?.parse().ok()?)))
        .collect();
    // The project's own network first, as compose names it.
    let default = format!("{project}_default");
    networks.sort_by_key(|(n, _)| (n != &default, n.clone()));
    match networks.into_iter().next() {
        Some((network, ip)) => Ok(Address { ip, container: name, network, exposed }),
        None => Err(format!(
            "compose service `{service}`: {name} has no address on any network (network_mode: {}): publish its port and give `host` and `port` instead",
            if mode.is_empty() { "?" } else { &mode }
        )),
    }
}

/// The services the project does have, for "did you mean".
async fn others(c: &Client, project: &str, service: &str) -> String {
    let opts =
        ListContainersOptions { all: true, filters: Some(label_filters(Some(project), None)), ..Default::default() };
    let mut names: Vec<String> = match c.docker.list_containers(Some(opts)).await {
        Ok(l) => l.iter().filter_map(|s| s.labels.as_ref()?.get(SERVICE_LABEL).cloned()).collect(),
        Err(_) => return String::new(),
    };
    names.sort();
    names.dedup();
    match crate::suggest::DidYouMean::find(service, names.iter().map(String::as_str)) {
        Some(d) => format!(": {d}"),
        None if names.is_empty() => {
            format!(" (the project has no containers at all: is [docker] project right? docker compose up -d {service} starts it)")
        }
        None => format!(" (services with a container: {}; docker compose up -d {service} starts it)", names.join(", ")),
    }
}

/// Rootless Docker keeps its networks in a namespace of its own: the
/// addresses it reports cannot be reached from the host.
async fn rootless(c: &Client) -> Result<(), String> {
    let Ok(info) = c.docker.info().await else { return Ok(()) };
    if info.security_options.unwrap_or_default().iter().any(|o| o.contains("name=rootless")) {
        return Err(format!(
            "the Docker Engine at {} runs rootless: its containers' addresses are inside its own network namespace and cannot be reached from the host; publish the service's port (ports: [\"127.0.0.1:5432:5432\"]) and give `host` and `port` instead",
            c.host
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(exposed: &[u16]) -> Address {
        Address {
            ip: IpAddr::from([10, 0, 0, 2]),
            container: "c".into(),
            network: "n".into(),
            exposed: exposed.to_vec(),
        }
    }

    #[test]
    fn the_port_is_configured_usual_or_the_only_one_exposed() {
        assert_eq!(at(&[5432]).port(Some(6000), 5432), 6000);
        assert_eq!(at(&[]).port(None, 5432), 5432);
        assert_eq!(at(&[5433]).port(None, 5432), 5433);
        assert_eq!(at(&[5432, 8008]).port(None, 5432), 5432);
        assert_eq!(at(&[80, 443]).port(None, 5432), 5432);
    }

    #[test]
    fn only_a_socket_or_loopback_engine_is_local() {
        assert!(local("unix:///var/run/docker.sock"));
        assert!(local("/var/run/docker.sock"));
        assert!(local("tcp://127.0.0.1:2375"));
        assert!(!local("tcp://10.1.2.3:2376"));
        assert!(!local("https://docker.example.com:2376"));
    }
}
