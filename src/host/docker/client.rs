//! One connection to the Docker Engine per run: `[docker] host`, else
//! `DOCKER_HOST`, else the local socket. The API version is negotiated
//! with the engine (one round trip) so that both old engines (20.10
//! speaks 1.41) and new ones (29 refuses anything under 1.44) work.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};

use crate::engine::context::ctx;
use crate::engine::runtime;
use crate::host::{error, HostResult};

#[derive(Clone)]
pub struct Client {
    pub docker: Docker,
    /// Where the engine is, for messages.
    pub host: String,
    /// The compose project that service names belong to.
    pub project: Option<String>,
}

static CLIENT: Mutex<Option<Arc<Client>>> = Mutex::new(None);

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Requests wait this long at most; the run's own deadline is shorter
/// when `--timeout` says so. Streaming logs of a busy container can take
/// a while, so this is not the place to be strict.
const REQUEST_TIMEOUT_SECS: u64 = 3600;

/// The engine's address, and the project: `[docker] project`, else
/// $COMPOSE_PROJECT_NAME, else the compose file's (as docker compose
/// ranks the last two).
pub fn host_and_project() -> Result<(String, Option<String>), String> {
    let cfg = &ctx().config.docker;
    let host = cfg
        .host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    let mut project =
        cfg.project.clone().or_else(|| std::env::var("COMPOSE_PROJECT_NAME").ok().filter(|p| !p.is_empty()));
    if project.is_none() {
        project = super::compose::configured()?.map(|c| c.project.clone());
    }
    Ok((host, project))
}

pub fn client() -> HostResult<Arc<Client>> {
    if let Some(c) = CLIENT.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Ok(c.clone());
    }
    let (host, project) = host_and_project().map_err(|e| error("docker", e))?;
    let cfg = &ctx().config.docker;
    let connect_timeout = cfg.connect_timeout.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(3));
    // ssh://: a tunnel (tunnel.rs), then the engine as a local socket.
    let reach = match host.starts_with("ssh://") {
        true => {
            let key = cfg.ssh_key.as_deref();
            for (what, p) in [("ssh_key", key), ("known_hosts", cfg.known_hosts.as_deref())] {
                if let Some(p) = p.filter(|p| !p.is_file()) {
                    return Err(error("docker", format!("[docker] {what}: {} does not exist", p.display())));
                }
            }
            // The handshake, a jump host and the login take longer than an engine's answer.
            let within = connect_timeout.max(Duration::from_secs(10));
            let socket = super::tunnel::open(&host, key, cfg.known_hosts.as_deref(), within)
                .map_err(|e| error("docker", explain_ssh(&host, &e)))?;
            format!("unix://{}", socket.display())
        }
        false => host.clone(),
    };
    let docker = {
        let _enter = runtime::runtime().enter();
        open(&reach).map_err(|e| error("docker", e))?
    };
    let shown = reach.clone();
    let negotiated =
        runtime::block_on(async move { tokio::time::timeout(connect_timeout, negotiate(docker, &shown)).await })?;
    let docker = match negotiated {
        Ok(Ok(d)) => d,
        Ok(Err(e)) if reach != host => return Err(error("docker", explain_ssh(&host, &e))),
        Ok(Err(e)) => return Err(error("docker", e)),
        Err(_) => {
            return Err(error(
                "docker",
                format!(
                    "the Docker Engine at {host} did not answer within {}",
                    crate::duration::format(connect_timeout)
                ),
            ))
        }
    };
    let c = Arc::new(Client { docker, host, project });
    *CLIENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
    Ok(c)
}

/// The socket's path when the engine is reached through one.
pub fn socket_path(host: &str) -> Option<&str> {
    host.strip_prefix("unix://").or(if host.starts_with('/') { Some(host) } else { None })
}

/// Speak the highest API version both sides know. On a socket the engine
/// says its version in the headers of `GET /_ping`, which it answers from
/// memory in under a millisecond; bollard's `negotiate_version` asks
/// `/version`, for which a 20.10 engine first asks containerd and runc
/// theirs: 8 to 10 ms, paid by every run that touches Docker.
async fn negotiate(docker: Docker, host: &str) -> Result<Docker, String> {
    let Some(path) = socket_path(host) else {
        return docker.negotiate_version().await.map_err(|e| explain_connect(host, &e));
    };
    match ping_api_version(path).await {
        Ok(Some(engine)) if engine < *API_DEFAULT_VERSION => {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &engine).map_err(|e| explain_connect(host, &e))
        }
        Ok(Some(_)) => Ok(docker),
        // An engine too old to say: ask it the long way.
        Ok(None) => docker.negotiate_version().await.map_err(|e| explain_connect(host, &e)),
        Err(e) => Err(explain_socket(host, path, &e)),
    }
}

/// The `Api-Version` header of the engine's answer to `GET /_ping`.
async fn ping_api_version(path: &str) -> std::io::Result<Option<ClientVersion>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(path).await?;
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").await?;
    let mut answer = Vec::with_capacity(512);
    s.read_to_end(&mut answer).await?;
    Ok(api_version_header(&String::from_utf8_lossy(&answer)))
}

fn api_version_header(answer: &str) -> Option<ClientVersion> {
    let headers = answer.split("\r\n\r\n").next()?;
    let value = headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case("api-version").then(|| v.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// A failure to talk on the socket, in the words `explain_connect` uses.
fn explain_socket(host: &str, path: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => format!(
            "no Docker socket at {path}: is the Docker Engine running? (set [docker] host or DOCKER_HOST to reach another one)"
        ),
        K::PermissionDenied => format!(
            "permission denied on {host}: run as root or as a member of the `docker` group (the socket's group)"
        ),
        K::ConnectionRefused => format!("connection refused at {host}: is the Docker Engine running?"),
        _ => format!("cannot reach the Docker Engine at {host}: {e}"),
    }
}

fn open(host: &str) -> Result<Docker, String> {
    let cfg = &ctx().config.docker;
    let t = REQUEST_TIMEOUT_SECS;
    if let Some(path) = socket_path(host) {
        return Docker::connect_with_unix(path, t, API_DEFAULT_VERSION).map_err(|e| explain_connect(host, &e));
    }
    if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("https://")) {
        let cert_dir = std::env::var("DOCKER_CERT_PATH").ok().map(std::path::PathBuf::from);
        let tls_verify = std::env::var("DOCKER_TLS_VERIFY").map(|v| !v.is_empty() && v != "0").unwrap_or(false);
        let from_env = |f: &str| cert_dir.as_ref().map(|d| d.join(f));
        let ca = cfg.tls_ca.clone().or_else(|| if tls_verify { from_env("ca.pem") } else { None });
        let cert = cfg.tls_cert.clone().or_else(|| if tls_verify { from_env("cert.pem") } else { None });
        let key = cfg.tls_key.clone().or_else(|| if tls_verify { from_env("key.pem") } else { None });
        return match (ca, cert, key) {
            (Some(ca), Some(cert), Some(key)) => {
                for (what, p) in [("tls_ca", &ca), ("tls_cert", &cert), ("tls_key", &key)] {
                    if !p.is_file() {
                        return Err(format!("[docker] {what}: {} does not exist", p.display()));
                    }
                }
                Docker::connect_with_ssl(&format!("https://{addr}"), &key, &cert, &ca, t, API_DEFAULT_VERSION)
                    .map_err(|e| explain_connect(host, &e))
            }
            (None, None, None) => Docker::connect_with_http(&format!("http://{addr}"), t, API_DEFAULT_VERSION)
                .map_err(|e| explain_connect(host, &e)),
            _ => Err("TLS towards the Docker Engine needs all of [docker] tls_ca, tls_cert and tls_key".into()),
        };
    }
    if let Some(addr) = host.strip_prefix("http://") {
        return Docker::connect_with_http(&format!("http://{addr}"), t, API_DEFAULT_VERSION)
            .map_err(|e| explain_connect(host, &e));
    }
    Err(format!(
        "unsupported Docker host `{host}`: use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host"
    ))
}

/// An ssh:// engine that could not be reached, with what to check.
fn explain_ssh(host: &str, why: &str) -> String {
    format!(
        "cannot reach the Docker Engine at {host} through ssh: {}; check that `{}` works without a prompt: a key in the ssh agent \
         or [docker] ssh_key, the host in known_hosts (or [docker] known_hosts), the user in the docker group there",
        why.trim_end(),
        super::tunnel::by_hand(host)
    )
}

/// Turn a connection failure into what the operator should do about it.
pub fn explain_connect(host: &str, e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    let text = crate::host::error_chain(e);
    if let E::SocketNotFoundError(path) = e {
        return format!(
            "no Docker socket at {path}: is the Docker Engine running? (set [docker] host or DOCKER_HOST to reach another one)"
        );
    }
    if text.contains("Permission denied") || text.contains("permission denied") {
        return format!(
            "permission denied on {host}: run as root or as a member of the `docker` group (the socket's group)"
        );
    }
    if text.contains("Connection refused") || text.contains("connection refused") {
        return format!("connection refused at {host}: is the Docker Engine running?");
    }
    format!("cannot reach the Docker Engine at {host}: {text}")
}

/// A failed request, in words: the engine's own message when it sent one.
pub fn explain(c: &Client, e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError { message, .. } => message.clone(),
        _ => explain_connect(&c.host, e),
    }
}

#[cfg(test)]
mod tests {
    use super::api_version_header;

    #[test]
    fn the_api_version_is_read_from_the_ping_headers() {
        let answer = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24\r\n\r\nOK";
        let v = api_version_header(answer).unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(api_version_header("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nApi-Version: 1.44").is_none());
    }
}
