//! ssh:// engines. The system's ssh client forwards a Unix socket in a
//! private folder of this machine to the engine's socket on the far side
//! (`ssh -N -L`), and the engine is then spoken to as a local socket: the
//! same client, the same one-round-trip version check, every request at
//! socket speed over one ssh connection. ssh brings the operator's agent,
//! keys, ~/.ssh/config (ProxyJump, ports, users) and known_hosts; it runs
//! in batch mode, so an unknown host key or a key that is refused is an
//! error naming the host, never a prompt. The folder is the owner's alone
//! (0700): nobody else on this machine reaches the remote engine through it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::engine::runtime;

/// `ssh://[user@]host[:port][/path/of/the/engine.sock]`.
#[derive(Debug, PartialEq)]
struct Destination {
    login: String,
    port: Option<u16>,
    remote_socket: String,
}

fn parse(url: &str) -> Result<Destination, String> {
    let rest = url.strip_prefix("ssh://").ok_or_else(|| format!("`{url}` is not an ssh:// address"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (login, port) = match authority.rsplit_once(':') {
        Some((l, p)) => {
            let port = p.parse().map_err(|_| format!("`{url}`: `{p}` is not a port"))?;
            (l, Some(port))
        }
        _ => (authority, None),
    };
    if login.is_empty() || login.ends_with('@') {
        return Err(format!("`{url}` names no host: ssh://USER@HOST"));
    }
    let remote_socket = if path.is_empty() || path == "/" { "/var/run/docker.sock".into() } else { path.into() };
    Ok(Destination { login: login.into(), port, remote_socket })
}

/// The ssh command an operator tries by hand to see what runbook's ssh sees.
pub fn by_hand(url: &str) -> String {
    match parse(url) {
        Ok(d) => match d.port {
            Some(p) => format!("ssh -p {p} {} docker version", d.login),
            None => format!("ssh {} docker version", d.login),
        },
        Err(_) => format!("ssh {} docker version", url.trim_start_matches("ssh://")),
    }
}

struct Tunnel {
    child: Child,
    _dir: tempfile::TempDir,
}

/// The tunnels of this run, closed by [`close_all`] (and, should runbook
/// die first, by SIGKILL with the thread that opened them).
static TUNNELS: Mutex<Vec<Tunnel>> = Mutex::new(Vec::new());

/// Open a tunnel to the engine at `url`; the local socket to speak to.
pub fn open(url: &str, key: Option<&Path>, known_hosts: Option<&Path>, within: Duration) -> Result<PathBuf, String> {
    let d = parse(url)?;
    let dir = tempfile::Builder::new()
        .prefix("runbook-ssh-")
        .tempdir()
        .map_err(|e| format!("cannot make a private folder for the ssh tunnel: {e}"))?;
    let socket = dir.path().join("docker.sock");
    let mut cmd = Command::new("ssh");
    cmd.args(["-N", "-T", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15"])
        .arg("-o")
        .arg(format!("ConnectTimeout={}", within.as_secs().max(1)));
    if let Some(k) = key {
        cmd.arg("-i").arg(k).args(["-o", "IdentitiesOnly=yes"]);
    }
    if let Some(k) = known_hosts {
        cmd.arg("-o").arg(format!("UserKnownHostsFile={}", k.display()));
    }
    if let Some(p) = d.port {
        cmd.arg("-p").arg(p.to_string());
    }
    cmd.arg("-L").arg(format!("{}:{}", socket.display(), d.remote_socket)).arg("--").arg(&d.login);
    // ssh's complaints go to a file in the private folder: a pipe nobody
    // reads after start-up would fill, and ssh would stop with it.
    let said_at = dir.path().join("ssh.log");
    let log = std::fs::File::create(&said_at).map_err(|e| format!("cannot write {}: {e}", said_at.display()))?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    runtime::die_with_parent(&mut cmd);
    let mut child = runtime::spawn_lasting(cmd).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no `ssh` on PATH: install the OpenSSH client (openssh-client)".to_string(),
        _ => format!("cannot start ssh: {e}"),
    })?;
    runtime::register_group(child.id());
    let started = Instant::now();
    loop {
        if socket.exists() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            runtime::unregister_group(child.id());
            let said = std::fs::read_to_string(&said_at).unwrap_or_default();
            let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            let said = if said.is_empty() { format!("ssh exited with {status}") } else { said };
            return Err(said);
        }
        if started.elapsed() > within + Duration::from_secs(1) {
            stop(&mut child);
            return Err(format!("no ssh connection within {}", crate::duration::format(within)));
        }
        if crate::engine::context::ctx().interruption().is_some() {
            stop(&mut child);
            return Err("stopped while ssh was connecting".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    TUNNELS.lock().unwrap_or_else(|e| e.into_inner()).push(Tunnel { child, _dir: dir });
    Ok(socket)
}

fn stop(child: &mut Child) {
    runtime::kill_group(child.id());
    runtime::unregister_group(child.id());
    let _ = child.wait();
}

/// Close every tunnel (at the end of the script): ssh ends, the folder goes.
pub fn close_all() {
    for mut t in std::mem::take(&mut *TUNNELS.lock().unwrap_or_else(|e| e.into_inner())) {
        stop(&mut t.child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_give_login_port_and_the_remote_socket() {
        let d = |login: &str, port: Option<u16>, s: &str| Destination {
            login: login.into(),
            port,
            remote_socket: s.into(),
        };
        assert_eq!(parse("ssh://ops@web1"), Ok(d("ops@web1", None, "/var/run/docker.sock")));
        assert_eq!(parse("ssh://ops@10.0.0.5:2222"), Ok(d("ops@10.0.0.5", Some(2222), "/var/run/docker.sock")));
        assert_eq!(parse("ssh://web1/run/user/1000/docker.sock"), Ok(d("web1", None, "/run/user/1000/docker.sock")));
        assert!(parse("ssh://ops@").is_err());
        assert!(parse("ssh://web1:twenty").is_err());
    }
}
