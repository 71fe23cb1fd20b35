//! `runbook targets [--group G] [--kind K]`: the inventory of runbook.toml
//! — every target, its groups and address — and whether each answers a
//! TCP connection now (all at once, 3 s each). Exit 2 when one does not.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::{prepare, Globals};
use crate::cli::{ListFormat, TargetsArgs};
use crate::config::{Config, SmtpSecurity, TARGET_KINDS};
use crate::exit::{CmdResult, Exit, Failure};

const CONNECT_WITHIN: Duration = Duration::from_secs(3);

/// Where a target is, as far as the config says.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    Tcp(String, u16),
    /// A compose service: its container is found when a run connects.
    Service(String),
    /// A Docker Engine's socket on this machine.
    Socket(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Tcp(h, p) if h.contains(':') => write!(f, "[{h}]:{p}"),
            Place::Tcp(h, p) => write!(f, "{h}:{p}"),
            Place::Service(s) => write!(f, "compose service {s}"),
            Place::Socket(p) => write!(f, "unix://{p}"),
        }
    }
}

/// `scheme://user:pw@host:port/path` → (host, port), the port defaulted.
fn host_port(url: &str, default: u16) -> Option<(String, u16)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default);
        return Some((h.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None if hostport.is_empty() => None,
        None => Some((hostport.to_string(), default)),
    }
}

/// A database or cache: its compose service, its URL, or host and port.
fn hosted(
    url: &Option<String>,
    host: &Option<String>,
    port: Option<u16>,
    service: &Option<String>,
    default: u16,
) -> Option<Place> {
    if let Some(s) = service {
        return Some(Place::Service(s.clone()));
    }
    match url {
        Some(u) => host_port(u, default).map(|(h, p)| Place::Tcp(h, port.unwrap_or(p))),
        None => Some(Place::Tcp(host.as_deref().unwrap_or("localhost").to_string(), port.unwrap_or(default))),
    }
}

fn place(config: &Config, kind: &str, name: &str) -> Option<Place> {
    let tcp = |h: &str, p: u16| Some(Place::Tcp(h.to_string(), p));
    match kind {
        "postgres" => {
            let t = config.postgres.get(name)?;
            hosted(&t.url, &t.host, t.port, &t.service, 5432)
        }
        "redis" => {
            let t = config.redis.get(name)?;
            hosted(&t.url, &t.host, t.port, &t.service, 6379)
        }
        "s3" => {
            let t = config.s3.get(name)?;
            match &t.endpoint {
                Some(e) => host_port(e, if e.starts_with("http://") { 80 } else { 443 }).map(|(h, p)| Place::Tcp(h, p)),
                None => tcp(&format!("s3.{}.amazonaws.com", t.region.as_deref().unwrap_or("us-east-1")), 443),
            }
        }
        "smtp" => {
            let t = config.smtp.get(name)?;
            let default = match t.security {
                SmtpSecurity::Starttls => 587,
                SmtpSecurity::Tls => 465,
                SmtpSecurity::None => 25,
            };
            tcp(&t.host, t.port.unwrap_or(default))
        }
        "http" => {
            let t = config.http.get(name)?;
            if let Some(s) = &t.service {
                return Some(Place::Service(s.clone()));
            }
            host_port(&t.url, if t.url.starts_with("http://") { 80 } else { 443 }).map(|(h, p)| Place::Tcp(h, p))
        }
        "docker" => {
            let t = config.docker_engines.get(name)?;
            let h = t.host.as_deref().unwrap_or("unix:///var/run/docker.sock");
            match h.strip_prefix("unix://").or(h.starts_with('/').then_some(h)) {
                Some(path) => Some(Place::Socket(path.to_string())),
                // ssh://ops@web1 is reached on its ssh port; tcp:// on the engine's.
                None if h.starts_with("ssh://") => host_port(h, 22).map(|(h, p)| Place::Tcp(h, p)),
                None => {
                    host_port(h, if h.starts_with("https://") { 2376 } else { 2375 }).map(|(h, p)| Place::Tcp(h, p))
                }
            }
        }
        _ => None,
    }
}

/// Whether `place` takes a connection now: Ok(time) or Err(why).
fn reach(place: &Place) -> Result<Duration, String> {
    let started = Instant::now();
    let (host, port) = match place {
        Place::Tcp(host, port) => (host, port),
        Place::Service(_) => {
            return Err("not checked: a compose service's container is found when a run connects".into())
        }
        Place::Socket(path) => {
            return std::os::unix::net::UnixStream::connect(path).map(|_| started.elapsed()).map_err(|e| e.to_string())
        }
    };
    let addrs: Vec<_> =
        (host.as_str(), *port).to_socket_addrs().map_err(|e| format!("{host} does not resolve: {e}"))?.collect();
    let mut last = format!("{host} resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_WITHIN) {
            Ok(_) => return Ok(started.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("no answer within {}s", CONNECT_WITHIN.as_secs())
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

struct Row {
    kind: String,
    name: String,
    groups: Vec<String>,
    place: Option<Place>,
    reach: Option<Result<Duration, String>>,
}

pub fn targets(g: &Globals, args: TargetsArgs) -> CmdResult {
    let config = prepare::config(g)?;
    if let Some(k) = &args.kind {
        if !TARGET_KINDS.contains(&k.as_str()) {
            let near = crate::suggest::DidYouMean::find(k, TARGET_KINDS);
            return Err(Failure::usage(format!("--kind {k}: not a kind of target"))
                .with_help(crate::suggest::DidYouMean::then(near, format!("kinds: {}", TARGET_KINDS.join(", ")))));
        }
    }
    if let Some(help) = args.group.as_deref().and_then(|g| config.unknown_group(g)) {
        let group = args.group.as_deref().unwrap_or_default();
        return Err(Failure::usage(format!("--group {group}: no such group in {}", config.origin())).with_help(help));
    }
    let mut rows: Vec<Row> = vec![];
    for kind in TARGET_KINDS.iter().filter(|k| args.kind.as_deref().is_none_or(|w| w == **k)) {
        for name in config.target_names(kind) {
            let groups = config.groups_of(kind, &name);
            if args.group.as_ref().is_some_and(|g| !groups.contains(g)) {
                continue;
            }
            let place = place(&config, kind, &name);
            rows.push(Row { kind: kind.to_string(), name, groups, place, reach: None });
        }
    }
    if !args.no_check {
        // Every target at once: the inventory takes one connect timeout, not one per target.
        let handles: Vec<_> = rows
            .iter()
            .map(|r| {
                let p = r.place.clone();
                std::thread::spawn(move || p.map(|p| reach(&p)))
            })
            .collect();
        for (r, h) in rows.iter_mut().zip(handles) {
            r.reach = h.join().ok().flatten();
        }
    }
    let unreachable = rows
        .iter()
        .filter(|r| matches!(&r.reach, Some(Err(_))) && matches!(r.place, Some(Place::Tcp(..) | Place::Socket(_))))
        .count();
    match args.format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "kind": r.kind,
                        "name": r.name,
                        "groups": r.groups,
                        "address": r.place.as_ref().map(|p| p.to_string()),
                        "reachable": r.reach.as_ref().map(|x| x.is_ok()),
                        "connect_ms": r.reach.as_ref().and_then(|x| x.as_ref().ok()).map(|d| d.as_secs_f64() * 1000.0),
                        "error": r.reach.as_ref().and_then(|x| x.as_ref().err()),
                    })
                })
                .collect();
            crate::output::out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
        }
        ListFormat::Text if rows.is_empty() => crate::output::out(&format!(
            "no targets in {}: [postgres.NAME], [redis.NAME], [s3.NAME], [smtp.NAME], [http.NAME] and [docker.NAME] sections name them\n",
            config.origin()
        )),
        ListFormat::Text => crate::output::out(&table(&rows, unreachable)),
    }
    Ok(if unreachable > 0 { Exit::Critical } else { Exit::Ok })
}

fn table(rows: &[Row], unreachable: usize) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.clone(),
                r.name.clone(),
                if r.groups.is_empty() { "-".into() } else { r.groups.join(",") },
                r.place.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "(no address in the config)".into()),
                match &r.reach {
                    None => String::new(),
                    Some(Ok(d)) => format!("✓ {:.1} ms", d.as_secs_f64() * 1000.0),
                    Some(Err(e)) if matches!(r.place, Some(Place::Service(_))) => format!("- {e}"),
                    Some(Err(e)) => format!("✗ {e}"),
                },
            ]
        })
        .collect();
    let head = ["KIND", "NAME", "GROUPS", "ADDRESS", "REACHABLE"];
    let w: Vec<usize> =
        (0..4).map(|i| cells.iter().map(|c| c[i].chars().count()).max().unwrap_or(0).max(head[i].len())).collect();
    let line = |c: [&str; 5]| {
        format!(
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}\n",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        )
        .trim_end()
        .to_string()
            + "\n"
    };
    let mut out = line(head);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
    }
    if unreachable > 0 {
        out.push_str(&format!("\n{unreachable} target(s) unreachable\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(
            host_port("postgres://u:p@db.example:6432/civicq?sslmode=require", 5432),
            Some(("db.example".into(), 6432))
        );
        assert_eq!(host_port("redis://:pw@cache", 6379), Some(("cache".into(), 6379)));
        assert_eq!(host_port("https://[::1]:8443/api", 443), Some(("::1".into(), 8443)));
        assert_eq!(host_port("https://api.example.com", 443), Some(("api.example.com".into(), 443)));
        assert_eq!(host_port("postgres:///db", 5432), None);
    }
}
