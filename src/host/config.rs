//! `config`: what scripts may read of runbook.toml — free values from
//! `[vars]` and the names of targets. Secrets stay with the host modules.

use rhai::plugin::*;
use rhai::Dynamic;

fn toml_to_dynamic(v: &toml::Value) -> Dynamic {
    match v {
        toml::Value::String(s) => Dynamic::from(s.clone()),
        toml::Value::Integer(i) => Dynamic::from_int(*i),
        toml::Value::Float(f) => Dynamic::from_float(*f),
        toml::Value::Boolean(b) => Dynamic::from_bool(*b),
        toml::Value::Datetime(d) => Dynamic::from(d.to_string()),
        toml::Value::Array(a) => Dynamic::from_array(a.iter().map(toml_to_dynamic).collect()),
        toml::Value::Table(t) => Dynamic::from_map(t.iter().map(|(k, v)| (k.into(), toml_to_dynamic(v))).collect()),
    }
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod config_functions {
    use rhai::{Array, Dynamic};

    use super::toml_to_dynamic;
    use crate::engine::context::ctx;
    use crate::host::{error, HostResult};

    /// The value of `name` in the `[vars]` table of runbook.toml; an error
    /// naming the known vars when it is not there.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn get(name: &str) -> HostResult<Dynamic> {
        let cfg = &ctx().config;
        match cfg.vars.get(name) {
            Some(v) => Ok(toml_to_dynamic(v)),
            None => {
                let known: Vec<&str> = cfg.vars.keys().map(String::as_str).collect();
                let hint = match crate::suggest::DidYouMean::find(name, known.iter().copied()) {
                    Some(d) => d.to_string(),
                    None if known.is_empty() => "there is no [vars] table".into(),
                    None => format!("known: {}", known.join(", ")),
                };
                Err(error("config::get", format!("no `{name}` in [vars] of {}; {hint}", cfg.origin())))
            }
        }
    }

    /// The value of `name` in `[vars]`, or `default` when it is not there.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let admin = config::get("admin_email", "admin@example.com");
    /// assert(admin.contains("@"), "an address");
    /// ```
    #[rhai_fn(name = "get")]
    pub fn get_or(name: &str, default: Dynamic) -> Dynamic {
        ctx().config.vars.get(name).map(toml_to_dynamic).unwrap_or(default)
    }

    /// The target names of one kind ("postgres", "redis", "s3", "smtp",
    /// "http") configured in runbook.toml.
    ///
    /// *read-only*
    pub fn targets(kind: &str) -> Array {
        ctx().config.target_names(kind).into_iter().map(Dynamic::from).collect()
    }

    /// The target names of one kind in `group` (`group = "replicas"` on a
    /// target, or `[groups] replicas = ["postgres.replica-1"]`), in name
    /// order; an error naming the groups there are when there is no such
    /// group at all.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// for name in config::targets("postgres", "replicas") {
    ///     let lag = pg::connect(name).scalar("SELECT now() - pg_last_xact_replay_timestamp()");
    ///     print(`${name}: ${lag}`);
    /// }
    /// ```
    #[rhai_fn(name = "targets", return_raw)]
    pub fn targets_in(kind: &str, group: &str) -> HostResult<Array> {
        let cfg = &ctx().config;
        if let Some(help) = cfg.unknown_group(group) {
            return Err(error("config::targets", format!("no group `{group}` in {}; {help}", cfg.origin())));
        }
        Ok(cfg.targets_in(kind, group).into_iter().map(Dynamic::from).collect())
    }

    /// The config file in use, or "(no config file: defaults)".
    ///
    /// *read-only*
    pub fn path() -> String {
        ctx().config.origin()
    }
}
