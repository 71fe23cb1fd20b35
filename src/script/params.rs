//! `--arg key=value` → typed constants the script sees by name.

use rhai::{Array, Dynamic};

use super::header::{Header, ParamType};
use crate::exit::Failure;

/// Convert one value as typed on the command line to the param's type. A
/// duration arrives as a `Duration` (`time::now() + wait` is a later time);
/// every host call that takes "7d" takes it; it prints in runbook's own
/// form ("24h" as "1d"), and the report's params keep it as written.
pub fn convert(ty: ParamType, value: &str) -> Result<Dynamic, String> {
    let v = value.trim();
    Ok(match ty {
        ParamType::String | ParamType::Secret => Dynamic::from(value.to_string()),
        ParamType::Choice => Dynamic::from(v.to_string()),
        ParamType::Int => Dynamic::from(v.parse::<i64>().map_err(|_| format!("expected an int, found `{value}`"))?),
        ParamType::Float => Dynamic::from(v.parse::<f64>().map_err(|_| format!("expected a float, found `{value}`"))?),
        ParamType::Bool => Dynamic::from(match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => return Err(format!("expected a bool (true or false), found `{value}`")),
        }),
        ParamType::Duration => Dynamic::from(crate::value::Span::from(crate::duration::parse(v)?)),
        ParamType::List => {
            let items: Array =
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Dynamic::from(s.to_string())).collect();
            Dynamic::from_array(items)
        }
    })
}

/// A `secret` param, or a string param whose name says it carries one
/// (`db_password`, `api_token`, `secret`, `access_key`); declare it
/// another type (e.g. `list`) to show it.
pub fn is_secret(ty: ParamType, name: &str) -> bool {
    const WORDS: &[&str] = &["password", "passwd", "pw", "token", "secret", "key", "apikey", "credentials"];
    ty == ParamType::Secret
        || (ty == ParamType::String && name.to_ascii_lowercase().split(['_', '-']).any(|w| WORDS.contains(&w)))
}

/// Resolve every param from `--arg`s and defaults. Unknown names, bad
/// values and missing required params are usage errors (exit 64) that list
/// the script's parameters.
pub fn resolve(header: &Header, script: &str, args: &[String]) -> Result<Vec<(String, Dynamic, String)>, Failure> {
    let table = || format!("parameters of {script}:\n{}", header.params_table().trim_end());
    let mut given: Vec<(String, String)> = Vec::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--arg `{a}` must be written key=value")).with_help(table()))?;
        let k = k.trim();
        if header.param(k).is_none() {
            let near = crate::suggest::DidYouMean::find(k, header.params.iter().map(|p| p.name.as_str()));
            let hint = near.map(|d| format!("{d}\n")).unwrap_or_default();
            return Err(
                Failure::usage(format!("{script} has no parameter `{k}`")).with_help(format!("{hint}{}", table()))
            );
        }
        given.retain(|(gk, _)| gk != k);
        given.push((k.to_string(), v.to_string()));
    }
    let mut out = Vec::new();
    for p in &header.params {
        let raw = match given.iter().find(|(k, _)| *k == p.name) {
            Some((_, v)) => v.clone(),
            None => match &p.default {
                Some(d) => d.clone(),
                None => {
                    return Err(Failure::usage(format!("{script} needs --arg {}=<{}>", p.name, p.type_text()))
                        .with_help(table()))
                }
            },
        };
        if is_secret(p.ty, &p.name) {
            crate::redact::add(&raw);
        }
        // A URL with a password is a secret in any param.
        crate::redact::add_url_credentials(&raw);
        let value = p.convert(&raw).map_err(|e| Failure::usage(format!("--arg {}: {e}", p.name)).with_help(table()))?;
        out.push((p.name.clone(), value, raw));
    }
    Ok(out)
}
