//! `runbook.toml`: where it is found, `${ENV}` interpolation, secrets, and
//! the typed targets that host modules connect to.
//!
//! Loading goes in three steps so that every error names the file and the
//! key: TOML syntax (with line and column), then interpolation and secret
//! registration on the raw table, then typed deserialization where unknown
//! keys and wrong types are reported with their dotted key path.

mod groups;
pub use groups::KINDS as TARGET_KINDS;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::Failure;
use crate::{duration, redact};

// Every section is parsed and validated on every run, so a typo in a
// target fails before any script starts, even one whose host module
// (pg, redis, s3, mail, docker, schedule, history) has not been built
// into this binary yet; those fields are read by those modules.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "every key is parsed so that a typo is refused; not every field is read yet")]
pub struct Config {
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub postgres: BTreeMap<String, PostgresTarget>,
    #[serde(default)]
    pub redis: BTreeMap<String, RedisTarget>,
    #[serde(default)]
    pub s3: BTreeMap<String, S3Target>,
    #[serde(default)]
    pub smtp: BTreeMap<String, SmtpTarget>,
    #[serde(default)]
    pub http: BTreeMap<String, HttpTarget>,
    #[serde(default)]
    pub docker: DockerConfig,
    /// `[docker.NAME]`: other engines, each with its own host and compose
    /// project (a fleet's app servers, for `runbook run --on`). Moved here
    /// from under `[docker]` by `parse` before the keys are read.
    #[serde(default, rename = "docker engines")]
    pub docker_engines: BTreeMap<String, DockerConfig>,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default)]
    pub fs: FsConfig,
    #[serde(default)]
    pub proc: ProcConfig,
    #[serde(default)]
    pub schedule: BTreeMap<String, ScheduleEntry>,
    #[serde(default)]
    pub history: HistoryConfig,
    /// Per-script settings: `[scripts.daily-check] skip = ["storage"]`.
    #[serde(default)]
    pub scripts: BTreeMap<String, ScriptConfig>,
    #[serde(default)]
    pub logs: LogsConfig,
    /// Target groups by name, members as KIND.NAME (`config/groups.rs`).
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,

    /// Where the config was read from; `None` when no file was found.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Wall-clock limit of `runbook run` (default 10m).
    pub timeout: Option<duration::Written>,
    /// Connect timeout that checks use towards services (default 3s).
    pub connect_timeout: Option<duration::Written>,
    /// Extra folder searched for scripts before the shipped ones.
    pub scripts_dir: Option<PathBuf>,
    /// Extra folder searched for stdlib modules before the shipped ones.
    pub stdlib_dir: Option<PathBuf>,
    /// Where scripts keep results between runs (`state::`); default
    /// $XDG_STATE_HOME/runbook, else ~/.local/state/runbook.
    pub state_dir: Option<PathBuf>,
}

/// Sandbox limits. Set explicitly because Rhai's own defaults differ
/// between debug and release builds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_operations: u64,
    pub max_call_depth: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Bytes of output a command may give `docker::exec` or `proc::run`
    /// (stdout and stderr together); more is an error, not an abort.
    pub max_output: usize,
    /// Bytes of an HTTP answer's body that `http::` functions keep.
    pub max_body: usize,
    /// Bytes of values one query may return (`query`, `query_one`, `scalar`).
    pub max_result: usize,
    /// Bytes of a file `fs::read_text` and `fs::lines` read whole.
    pub max_file: usize,
    /// Bytes the whole run may hold in memory; past it the run ends (exit 3).
    pub max_memory: usize,
}

impl LimitsConfig {
    /// The deepest a script may call or nest: what the script thread's
    /// stack (`engine::SCRIPT_STACK`, 256 MiB) holds with room to
    /// spare in a debug build (a simple recursion overflowed it between
    /// 20,000 and 50,000 levels). Beyond it the process would abort.
    pub const MAX_DEPTH: usize = 5_000;

    /// What is out of range, if anything: the key, and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (key, v) in [("max_call_depth", self.max_call_depth), ("max_expr_depth", self.max_expr_depth)] {
            if v > Self::MAX_DEPTH || v == 0 {
                return Err((
                    key,
                    format!(
                        "{v} is out of range: between 1 and {} (what the script thread's stack holds)",
                        Self::MAX_DEPTH
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_operations: 2_000_000_000,
            max_call_depth: 96,
            max_expr_depth: 256,
            max_string_size: 64 * 1024 * 1024,
            max_array_size: 10_000_000,
            max_map_size: 1_000_000,
            max_output: 64 << 20,
            max_body: 64 << 20,
            max_result: 256 << 20,
            max_file: 256 << 20,
            max_memory: 2 << 30,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "every key is parsed so that a typo is refused; not every field is read yet")]
pub struct PostgresTarget {
    /// The groups this target is in: `group = "replicas"` or a list.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
    pub url: Option<String>,
    pub host: Option<String>,
    /// A compose service instead of a host: its container's address on
    /// the compose network (see `host::docker::address`).
    pub service: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub sslmode: Option<String>,
    pub connect_timeout: Option<duration::Written>,
    pub statement_timeout: Option<duration::Written>,
    /// The client programs `pg::dump` / `pg::restore` run (default: on PATH).
    pub pg_dump: Option<String>,
    pub pg_restore: Option<String>,
    pub psql: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "every key is parsed so that a typo is refused; not every field is read yet")]
pub struct RedisTarget {
    /// The groups this target is in: `group = "replicas"` or a list.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
    pub url: Option<String>,
    pub host: Option<String>,
    /// A compose service instead of a host, as for `[postgres.NAME]`.
    pub service: Option<String>,
    pub port: Option<u16>,
    pub db: Option<i64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<bool>,
    pub connect_timeout: Option<duration::Written>,
    pub command_timeout: Option<duration::Written>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Target {
    /// The groups this target is in: `group = "replicas"` or a list.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
    pub bucket: String,
    /// Default $AWS_REGION, then the profile's region, then us-east-1.
    pub region: Option<String>,
    /// For MinIO, Garage, R2, Ceph…: "http://127.0.0.1:9000".
    pub endpoint: Option<String>,
    /// Bucket in the path (…/bucket/key) rather than the host name;
    /// default true when an endpoint is given, false for AWS.
    pub path_style: Option<bool>,
    /// Credentials; default as the AWS CLI finds them: $AWS_ACCESS_KEY_ID /
    /// $AWS_SECRET_ACCESS_KEY, the profile (keys, role_arn, SSO,
    /// credential_process), a web identity token, ECS.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// A profile of ~/.aws/config; default $AWS_PROFILE, then "default".
    pub profile: Option<String>,
    /// Use the instance-metadata service for credentials and region (off
    /// by default, so that a script never hangs probing for it).
    pub instance_metadata: Option<bool>,
    /// Multipart upload above this size, in parts of this size ("16MiB").
    pub part_size: Option<String>,
}

/// The AWS account APIs other than S3 (Cost Explorer).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Default $AWS_REGION, then the profile's region, then us-east-1
    /// (where Cost Explorer lives).
    pub region: Option<String>,
    /// Cost Explorer's endpoint; default https://ce.us-east-1.amazonaws.com.
    pub cost_explorer_endpoint: Option<String>,
    /// Credentials, as for [s3.NAME]: default as the AWS CLI finds them,
    /// then instance metadata if allowed.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// A profile of ~/.aws/config; default $AWS_PROFILE, then "default".
    pub profile: Option<String>,
    pub instance_metadata: Option<bool>,
    /// Timeout of each attempt of a request (default 15s; the SDK makes
    /// up to three attempts, all within the run's own --timeout).
    pub timeout: Option<duration::Written>,
}

/// `[smtp.NAME] security`: how the connection is protected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only towards localhost (port 25).
    None,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpTarget {
    /// The groups this target is in: `group = "replicas"` or a list.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
    pub host: String,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender: "runbook <runbook@example.com>".
    pub from: Option<String>,
    /// A PEM file of extra CA certificates to trust (a private CA).
    pub ca: Option<String>,
    /// Connect and command timeout (default 10s).
    pub timeout: Option<duration::Written>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTarget {
    /// The groups this target is in: `group = "replicas"` or a list.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
    /// The base URL: `http::get("api/health")` is `{url}/health`.
    pub url: String,
    /// A compose service that serves the URL: its host name is resolved to
    /// the service's container address (the Host header and the TLS server
    /// name stay as written).
    pub service: Option<String>,
    /// Sent as `Authorization: Bearer …` (a secret: masked in output).
    pub bearer: Option<String>,
    /// Skip certificate verification (only for a target you control).
    pub insecure: Option<bool>,
    /// Whole-request timeout ("10s").
    pub timeout: Option<duration::Written>,
    /// A PEM file of extra CA certificates to trust (a private CA).
    pub ca: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerConfig {
    /// unix:///var/run/docker.sock, tcp://host:2376 …; default $DOCKER_HOST.
    pub host: Option<String>,
    /// The compose project that service names refer to; default
    /// $COMPOSE_PROJECT_NAME, then the compose file's.
    pub project: Option<String>,
    /// The stack's compose file: its project (`name:` or its folder, as
    /// docker compose reads it) and the services that must have a
    /// container. Relative to the config file's folder.
    pub compose_file: Option<PathBuf>,
    /// Services that must have a container, beside the compose file's.
    #[serde(default)]
    pub services: Vec<String>,
    /// For tcp:// with TLS: the CA, client certificate and key (PEM).
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// How long to wait for the engine to answer at first ("3s").
    pub connect_timeout: Option<duration::Written>,
    /// Argv patterns an exec may run under `--dry-run` when the call says
    /// `read_only: true`, beside the built-in ones (alembic current, pip
    /// list --outdated …): a script's claim alone is never enough.
    #[serde(default)]
    pub read_only: Vec<String>,
    /// For ssh:// engines: the private key to log in with (default: the
    /// ssh agent's keys and ~/.ssh, as `ssh` itself finds them).
    pub ssh_key: Option<PathBuf>,
    /// For ssh:// engines: the known_hosts file with the host's key
    /// (default: ssh's own; an unknown host key is refused, never asked).
    pub known_hosts: Option<PathBuf>,
    /// `[docker.NAME]` only: the groups the engine is in.
    #[serde(default, deserialize_with = "groups::one_or_many")]
    pub group: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsConfig {
    /// The only folders `fs::*` may reach.
    #[serde(default)]
    pub roots: Vec<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcConfig {
    /// Programs `proc::run` may start (names looked up on PATH, or paths),
    /// with any arguments; an entry with spaces is an argv pattern
    /// (`host::argv_pattern`) and allows only the argvs it matches.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Argv patterns that only read, so they run under `--dry-run` too:
    /// `"df ..."`, `"logrotate -d /etc/logrotate.d/*"` (see
    /// `host::argv_pattern`). A program's name alone matches it only with
    /// no arguments.
    #[serde(default)]
    pub read_only: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "every key is parsed so that a typo is refused; not every field is read yet")]
pub struct ScheduleEntry {
    /// The script (default: the entry's name).
    pub script: Option<String>,
    /// Cron expression (default: the script header's `schedule:`).
    pub cron: Option<String>,
    /// `false` turns off a job that a script header schedules.
    pub enabled: Option<bool>,
    pub timezone: Option<String>,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    pub mail_to: Option<String>,
    pub mail_on: Option<crate::value::MailOn>,
    pub lock: Option<String>,
    pub timeout: Option<duration::Written>,
    /// Pass `--yes`: the job's data-losing calls run unattended.
    pub yes: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "every key is parsed so that a typo is refused; not every field is read yet")]
pub struct HistoryConfig {
    /// `false`: record nothing (a read-only machine; `runbook schedule` needs it on).
    pub enabled: Option<bool>,
    pub url: Option<String>,
    pub keep_days: Option<u32>,
    pub keep_runs: Option<u32>,
}

/// `[scripts.NAME]`: how one script runs without editing it (read by
/// `commands/run_shape.rs`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// Steps (the script's sections, by name: "storage", "frontend") that
    /// are not run; each is shown as skipped.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Parameter values for every run (`media = "uploads"`); `--arg`
    /// overrides them.
    #[serde(default)]
    pub args: BTreeMap<String, toml::Value>,
}

/// How nginx writes the last field of its access log lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestTime {
    /// Read from the log itself: `0.512` (a decimal point) is seconds,
    /// `512` milliseconds.
    #[default]
    Auto,
    /// `$request_time`, nginx's own: seconds with milliseconds ("0.512").
    Seconds,
    /// Milliseconds, as a `log_format` that multiplies it out writes them.
    Milliseconds,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// The unit of the request time at the end of nginx lines.
    #[serde(default)]
    pub nginx_request_time: RequestTime,
}

/// Keys whose values are always secrets, wherever they appear.
const SECRET_KEYS: &[&str] = &["password", "secret_access_key", "bearer", "token", "secret", "api_key"];

impl Config {
    /// Find and load the config: `--config`, `$RUNBOOK_CONFIG`,
    /// `./runbook.toml`, `~/.config/runbook/runbook.toml`,
    /// `/etc/runbook/runbook.toml`. No file at all is fine (defaults); a
    /// file named explicitly that does not exist is an error.
    pub fn discover(explicit: Option<&Path>) -> Result<Config, Failure> {
        if let Some(p) = explicit {
            return Self::load(p);
        }
        if let Some(p) = std::env::var_os("RUNBOOK_CONFIG").filter(|v| !v.is_empty()) {
            return Self::load(Path::new(&p));
        }
        for (i, candidate) in Self::search_path().into_iter().enumerate() {
            if candidate.is_file() {
                if i == 0 {
                    crate::trust::check(&candidate, "a config", "--config ./runbook.toml (or RUNBOOK_CONFIG)")?;
                }
                return Self::load(&candidate);
            }
        }
        Ok(Config::default())
    }

    pub fn search_path() -> Vec<PathBuf> {
        let mut v = vec![PathBuf::from("runbook.toml")];
        if let Some(home) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            v.push(PathBuf::from(home).join("runbook/runbook.toml"));
        } else if let Some(home) = std::env::var_os("HOME") {
            v.push(PathBuf::from(home).join(".config/runbook/runbook.toml"));
        }
        v.push(PathBuf::from("/etc/runbook/runbook.toml"));
        v
    }

    pub fn load(path: &Path) -> Result<Config, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::config(format!("cannot read config {}: {e}", path.display()))
                .with_help("pass --config FILE, set $RUNBOOK_CONFIG, or start from runbook.example.toml")
        })?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, Failure> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Failure::config(format!("{origin}: {}", e.to_string().trim_end())))?;
        for (key, value) in table.iter_mut() {
            prepare(value, key, false).map_err(|m| Failure::config(format!("{origin}: {m}")))?;
        }
        // `[docker.web1]` beside `[docker]`'s own keys: a table under
        // [docker] is an engine of its own.
        if let Some(toml::Value::Table(docker)) = table.get_mut("docker") {
            let names: Vec<String> = docker.iter().filter(|(_, v)| v.is_table()).map(|(k, _)| k.clone()).collect();
            let mut engines = toml::Table::new();
            for n in names {
                if let Some(v) = docker.remove(&n) {
                    engines.insert(n, v);
                }
            }
            if !engines.is_empty() {
                table.insert("docker engines".into(), toml::Value::Table(engines));
            }
        }
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let path = match path.strip_prefix("docker engines.") {
                Some(rest) => format!("docker.{rest}"),
                None => path,
            };
            let inner = e.into_inner().to_string();
            // toml appends "\nin `table`": the key path already says it.
            let inner = inner.lines().next().unwrap_or("").trim_end();
            let msg = if path == "." || path.is_empty() {
                format!("{origin}: {inner}")
            } else {
                format!("{origin}: key `{path}`: {inner}")
            };
            let mut f = Failure::config(msg);
            if let Some(suggestion) = unknown_field_suggestion(inner) {
                f = f.with_help(suggestion);
            }
            f
        })?;
        config.validate().map_err(|m| Failure::config(format!("{origin}: {m}")))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        self.limits.check().map_err(|(k, e)| format!("key `limits.{k}`: {e}"))?;
        self.check_groups()?;
        for (n, t) in &self.postgres {
            if let Some(m) = &t.sslmode {
                const MODES: [&str; 6] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
                if !MODES.contains(&m.as_str()) {
                    let hint =
                        crate::suggest::DidYouMean::find(m, MODES).map(|d| format!(" ({d})")).unwrap_or_default();
                    return Err(format!("key `postgres.{n}.sslmode`: `{m}` is not one of {}{hint}", MODES.join(", ")));
                }
            }
        }
        let both = |kind: &str, n: &str, host: &Option<String>, service: &Option<String>| {
            match (host, service) {
            (Some(_), Some(_)) => Err(format!(
                "key `{kind}.{n}`: give `host` or `service`, not both (a compose service's address comes from the Docker Engine)"
            )),
            _ => Ok(()),
        }
        };
        for (n, t) in &self.postgres {
            both("postgres", n, &t.host, &t.service)?;
        }
        for (n, t) in &self.redis {
            both("redis", n, &t.host, &t.service)?;
        }
        if !self.docker.group.is_empty() {
            return Err("key `docker.group`: the default engine is in no group; name an engine \
                        ([docker.web1] host = \"ssh://ops@web1\", group = \"web\") to put it in one"
                .into());
        }
        let engines = std::iter::once(("docker".to_string(), &self.docker))
            .chain(self.docker_engines.iter().map(|(n, e)| (format!("docker.{n}"), e)));
        for (key, engine) in engines {
            if let Some(h) = &engine.host {
                const SCHEMES: [&str; 5] = ["unix://", "tcp://", "http://", "https://", "ssh://"];
                if !h.starts_with('/') && !SCHEMES.iter().any(|s| h.starts_with(s)) {
                    return Err(format!(
                        "key `{key}.host`: `{h}` is not an engine address: use unix:///var/run/docker.sock, tcp://HOST:2376, http://, https:// or ssh://USER@HOST"
                    ));
                }
            }
        }
        for (n, t) in &self.http {
            let ok = reqwest::Url::parse(&t.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(format!("key `http.{n}.url`: `{}` is not an http:// or https:// URL", t.url));
            }
        }
        if let Some(u) = &self.history.url {
            check_history_url(u).map_err(|e| format!("key `history.url`: {e}"))?;
        }
        Ok(())
    }

    /// The folder the config file lives in, if there is one.
    pub fn dir(&self) -> Option<PathBuf> {
        let p = self.path.as_ref()?;
        let parent = p.parent()?;
        Some(if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent.to_path_buf() })
    }

    /// One line saying where the config came from, for headers and the REPL.
    pub fn origin(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "(no config file: defaults)".into(),
        }
    }

    pub fn run_timeout(&self) -> std::time::Duration {
        self.run.timeout.as_ref().map(|t| t.value).unwrap_or(std::time::Duration::from_secs(600))
    }

    /// The reason in "no [KIND.NAME] target (…)": the nearest name, the
    /// known ones, or, when there are none, where to put the first. One
    /// wording for every kind, so an operator learns it once.
    pub fn missing_target(&self, kind: &str, name: &str) -> String {
        let names = self.target_names(kind);
        let why = match crate::suggest::DidYouMean::find(name, names.iter().map(String::as_str)) {
            Some(d) => d.to_string(),
            None if !names.is_empty() => format!("known: {}", names.join(", ")),
            None => match &self.path {
                Some(p) => format!("{} has no [{kind}.NAME] section", p.display()),
                None => "no config file was found".into(),
            },
        };
        format!("no [{kind}.{name}] target ({why})")
    }

    /// Every target name of one kind, for completion and error help.
    pub fn target_names(&self, kind: &str) -> Vec<String> {
        match kind {
            "postgres" | "pg" => self.postgres.keys().cloned().collect(),
            "redis" => self.redis.keys().cloned().collect(),
            "s3" => self.s3.keys().cloned().collect(),
            "smtp" | "mail" => self.smtp.keys().cloned().collect(),
            "http" => self.http.keys().cloned().collect(),
            "docker" => self.docker_engines.keys().cloned().collect(),
            _ => vec![],
        }
    }
}

/// Interpolate `${VAR}` / `${VAR:-default}` in every string, unwrap
/// `{ secret = "…" }` tables, and register secrets with the redactor.
fn prepare(value: &mut toml::Value, key_path: &str, secret: bool) -> Result<(), String> {
    let leaf = key_path.rsplit('.').next().unwrap_or(key_path);
    let secret = secret || SECRET_KEYS.contains(&leaf) || leaf.ends_with("_password") || leaf.ends_with("_token");
    match value {
        toml::Value::String(s) => {
            *s = interpolate(s).map_err(|e| format!("key `{key_path}`: {e}"))?;
            if secret {
                redact::add(s);
            }
            redact::add_url_credentials(s);
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                prepare(item, &format!("{key_path}[{i}]"), secret)?;
            }
        }
        toml::Value::Table(t) => {
            if t.len() == 1 && t.contains_key("secret") {
                let mut inner = t.remove("secret").unwrap_or(toml::Value::String(String::new()));
                prepare(&mut inner, key_path, true)?;
                *value = inner;
                return Ok(());
            }
            for (k, v) in t.iter_mut() {
                prepare(v, &format!("{key_path}.{k}"), secret)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Set by `runbook check`, which connects to nothing: a scripts
/// repository's CI has none of production's variables, and an unset one
/// reads as "" instead of failing every script.
static UNSET_IS_EMPTY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn unset_variables_read_empty() {
    UNSET_IS_EMPTY.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `${VAR}` is the variable's value and an error when it is unset;
/// `${VAR:-default}` falls back; `$$` is a literal dollar.
pub fn interpolate(s: &str) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| format!("unclosed `${{` in \"{s}\""))?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`${{{expr}}}` is not a valid variable reference"));
            }
            match std::env::var(name) {
                Ok(v) if !v.is_empty() || default.is_none() => out.push_str(&v),
                _ => match default {
                    Some(d) => out.push_str(d),
                    None if UNSET_IS_EMPTY.load(std::sync::atomic::Ordering::Relaxed) => {}
                    None => {
                        return Err(format!(
                            "environment variable {name} is not set: export it, or write ${{{name}:-default}} to give a default"
                        ))
                    }
                },
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// serde says "unknown field `pasword`, expected one of `host`, `port`…";
/// turn that into a "did you mean" when one is close.
fn unknown_field_suggestion(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    crate::suggest::DidYouMean::find(field, candidates.iter().copied()).map(|d| d.to_string())
}

/// `[history] url` is a postgres:// URL, a sqlite:// one, or a file path;
/// anything else with a scheme is a typo (`postgress://`), which once
/// became a SQLite file named after the URL, password and all, and left
/// two schedulers without a shared history.
fn check_history_url(url: &str) -> Result<(), String> {
    const SCHEMES: [&str; 3] = ["postgres", "postgresql", "sqlite"];
    let Some((scheme, _)) = url.split_once("://") else {
        return Ok(());
    };
    if SCHEMES.contains(&scheme) {
        return Ok(());
    }
    let hint = crate::suggest::DidYouMean::find(scheme, SCHEMES)
        .map(|d| format!("{} ", d.map(|s| format!("{s}://"))))
        .unwrap_or_default();
    crate::redact::add_url_credentials(url);
    Err(crate::redact::apply(&format!(
        "`{url}` is neither a postgres:// URL nor a file path: {hint}(a SQLite file is a plain path or sqlite://PATH)"
    ))
    .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_env_with_defaults() {
        std::env::set_var("RUNBOOK_TEST_X", "abc");
        assert_eq!(interpolate("a-${RUNBOOK_TEST_X}-b").unwrap(), "a-abc-b");
        assert_eq!(interpolate("${RUNBOOK_TEST_UNSET_Y:-dflt}").unwrap(), "dflt");
        assert_eq!(interpolate("cost $$5").unwrap(), "cost $5");
        let e = interpolate("${RUNBOOK_TEST_UNSET_Y}").unwrap_err();
        assert!(e.contains("RUNBOOK_TEST_UNSET_Y is not set"), "{e}");
    }

    #[test]
    fn unknown_keys_name_the_key_and_suggest() {
        let e = Config::parse("[postgres.main]\nhost = \"x\"\npasword = \"y\"\n", "t.toml").unwrap_err();
        assert!(e.message.contains("t.toml: key `postgres.main.pasword`"), "{}", e.message);
        assert!(e.message.contains("unknown field `pasword`"), "{}", e.message);
        assert_eq!(e.help.as_deref(), Some("did you mean `password`?"));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = Config::parse("[postgres.main]\nport = \"five\"\n", "t.toml").unwrap_err();
        assert!(e.message.contains("key `postgres.main.port`"), "{}", e.message);
    }
}
