//! Host capabilities: one file per module, each an `#[export_module]`
//! whose doc comments are the reference (`runbook doc`). Adding a
//! capability is one new file and one line in [`modules`].
//!
//! Every function's doc says what it may do: `*read-only*`, `*mutating*`
//! (honours `--dry-run`) or `*data-losing*` (also needs `--yes`).

pub mod argv_pattern;
pub mod aws;
pub mod config;
pub mod convert;
pub mod docker;
pub mod filesink;
pub mod fleet;
pub mod fs;
pub mod history;
pub mod http;
pub mod json;
pub mod logs;
pub mod mail;
pub mod mixing;
pub mod options;
pub mod opts;
pub mod pg;
pub mod proc;
pub mod redis;
pub mod report;
pub mod s3;
pub mod secret;
pub mod state;
pub mod sys;
pub mod time;
pub mod tls;

use rhai::plugin::*;
use rhai::{Engine, Module};

/// A host module: the name scripts write before `::` (empty for the
/// global report functions), a one-line description, and its functions,
/// made when it is registered: building every module is most of a short
/// run's start-up, and a script that never writes `pg::` needs none of it.
pub struct HostModule {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn() -> Module,
}

pub fn modules() -> Vec<HostModule> {
    vec![
        HostModule {
            name: "",
            about: "Report: sections, checks, metrics and status lines",
            make: || exported_module!(report::report_functions),
        },
        HostModule { name: "time", about: "Timestamps and durations", make: || exported_module!(time::time_functions) },
        HostModule {
            name: "json",
            about: "JSON text to and from maps and arrays",
            make: || exported_module!(json::json_functions),
        },
        HostModule {
            name: "logs",
            about: "nginx and application logs analysed in one streaming pass",
            make: || exported_module!(logs::logs_functions),
        },
        HostModule {
            name: "pg",
            about: "PostgreSQL: pooled, read-only queries, bound parameters, pg_dump",
            make: || exported_module!(pg::pg_functions),
        },
        HostModule {
            name: "redis",
            about: "Redis: commands, INFO, memory and hit rate, SCAN-based deletes",
            make: || exported_module!(redis::redis_functions),
        },
        HostModule {
            name: "docker",
            about: "Docker Engine: compose services' containers, logs, exec, restart, stats",
            make: || exported_module!(docker::docker_functions),
        },
        HostModule {
            name: "http",
            about: "HTTP requests, verified by default, and an `ab`-style load test",
            make: || exported_module!(http::http_functions),
        },
        HostModule {
            name: "tls",
            about: "TLS certificates of servers and PEM files: dates, names, trust",
            make: || exported_module!(tls::tls_functions),
        },
        HostModule {
            name: "mail",
            about: "Mail through an [smtp] server, addresses checked before connecting",
            make: || exported_module!(mail::mail_functions),
        },
        HostModule {
            name: "s3",
            about: "S3 buckets: list, summarise, upload (multipart), download, expire",
            make: || exported_module!(s3::s3_functions),
        },
        HostModule {
            name: "aws",
            about: "AWS account APIs: costs by service from Cost Explorer",
            make: || exported_module!(aws::aws_functions),
        },
        HostModule {
            name: "sys",
            about: "CPU, memory, disks, load, uptime of this machine",
            make: || exported_module!(sys::sys_functions),
        },
        HostModule {
            name: "fs",
            about: "Files inside the roots that [fs] roots allows",
            make: || exported_module!(fs::fs_functions),
        },
        HostModule {
            name: "proc",
            about: "Programs that [proc] allow lists, run from an argv",
            make: || exported_module!(proc::proc_functions),
        },
        HostModule {
            name: "secret",
            about: "Passwords asked for without echo, and their bcrypt hashes",
            make: || exported_module!(secret::secret_functions),
        },
        HostModule {
            name: "history",
            about: "Earlier runs of scripts: the last one, their metrics over time",
            make: || exported_module!(history::history_functions),
        },
        HostModule {
            name: "state",
            about: "Results kept between runs, as JSON in the state folder",
            make: || exported_module!(state::state_functions),
        },
        HostModule {
            name: "fleet",
            about: "A closure per target of a group, a few at once, each target's report apart",
            make: || exported_module!(fleet::fleet_functions),
        },
        HostModule {
            name: "config",
            about: "Values and target names from runbook.toml",
            make: || exported_module!(config::config_functions),
        },
    ]
}

/// Every module: for `runbook check`, the REPL and the reference, which
/// must know every function.
pub fn register(engine: &mut Engine) {
    register_where(engine, |_| true);
}

/// The modules `source` can reach: those it names (`pg::`), and those
/// always there (the report functions, `time`, whose Timestamp and Duration
/// methods values from any module carry). A handle's methods come with the
/// module that makes the handle, so a script holds one only if it names
/// it. Only a name written before `::` reaches a module (Rhai has no
/// `eval` here), so the source text is enough; an `import` brings code this
/// text does not show, and then every module is registered.
pub fn register_for(engine: &mut Engine, source: &str) {
    if source.contains("import") {
        return register(engine);
    }
    register_where(engine, |name| name.is_empty() || name == "time" || names(source, name));
}

/// Whether `source` has `name::` where an identifier could end before it.
fn names(source: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    source
        .match_indices(&needle)
        .any(|(at, _)| !source[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn register_where(engine: &mut Engine, wanted: impl Fn(&str) -> bool) {
    engine.register_type_with_name::<time::Timestamp>("Timestamp");
    engine.register_type_with_name::<time::Span>("Duration");
    engine.register_type_with_name::<pg::PgHandle>("PgConnection");
    engine.register_type_with_name::<redis::RedisHandle>("RedisConnection");
    engine.register_type_with_name::<s3::S3Bucket>("S3Bucket");
    engine.register_type_with_name::<docker::BackgroundExec>("BackgroundExec");
    // Undocumented on purpose: operators that turn a silent type mix into an error.
    engine.register_global_module(exported_module!(mixing::mixing_functions).into());
    for m in modules().into_iter().filter(|m| wanted(m.name)) {
        if m.name.is_empty() {
            engine.register_global_module((m.make)().into());
        } else {
            engine.register_static_module(m.name, (m.make)().into());
        }
    }
}

// Defined beneath the host layer, so that the engine's guard can raise them too.
pub use crate::engine::failure::{error, HostResult};

/// The error of a host function that stopped buffering at a cap of
/// `[limits]`: what was too large, the cap, how to raise it, and the way
/// that does not buffer.
pub fn too_large(what: &str, key: &str, max: usize, instead: &str) -> String {
    format!(
        "{what} is larger than {}: raise [limits] {key} (or --limit {key}=BYTES), or {instead}",
        crate::report::text::human_bytes(max as i64)
    )
}

/// An error and its causes on one line: a client library's top-level
/// message alone ("client error (Connect)") says nothing useful.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// What a command-running function (`proc::run`, `docker::exec`) returns
/// under `--dry-run`: the shape of a real result, exit code 0, nothing
/// printed, and `dry_run: true`.
pub fn dry_run_command_result() -> rhai::Map {
    let mut m = rhai::Map::new();
    m.insert("code".into(), rhai::Dynamic::from_int(0));
    m.insert("stdout".into(), rhai::Dynamic::from(String::new()));
    m.insert("stderr".into(), rhai::Dynamic::from(String::new()));
    m.insert("duration_ms".into(), rhai::Dynamic::from_int(0));
    m.insert("dry_run".into(), rhai::Dynamic::from_bool(true));
    m
}
