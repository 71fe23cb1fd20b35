//! What `[scripts.NAME]` in runbook.toml says about one run of a script:
//! the steps it skips and the parameter values it gives, so that a shipped
//! script fits a stack without being edited.

use crate::config::Config;
use crate::exit::Failure;
use crate::script::{Header, Script};

/// `[scripts.NAME] args`, as `--arg KEY=VALUE` strings that the command
/// line's own `--arg`s come after (and so override). A key that is no
/// parameter of the script is refused, naming the key.
pub fn args(config: &Config, script: &Script, header: &Header) -> Result<Vec<String>, Failure> {
    let Some(s) = config.scripts.get(&script.name) else { return Ok(vec![]) };
    let mut out = vec![];
    for (k, v) in &s.args {
        let key = format!("{}: key `scripts.{}.args.{k}`", config.origin(), script.name);
        if header.param(k).is_none() {
            let near = crate::suggest::DidYouMean::find(k, header.params.iter().map(|p| p.name.as_str()));
            let names: Vec<&str> = header.params.iter().map(|p| p.name.as_str()).collect();
            let help = match near {
                Some(d) => format!("{d} its parameters: {}", names.join(", ")),
                None => format!("its parameters: {}", names.join(", ")),
            };
            return Err(Failure::config(format!("{key}: {} has no parameter `{k}`", script.name)).with_help(help));
        }
        let text = match v {
            toml::Value::String(t) => t.clone(),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => v.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    toml::Value::String(t) => t.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => return Err(Failure::config(format!("{key}: give a string, number, boolean or list"))),
        };
        out.push(format!("{k}={text}"));
    }
    Ok(out)
}

/// The steps this run skips (`[scripts.NAME] skip`, then `--skip`), each
/// a step of the script, with where that was said.
pub fn steps_to_skip(
    config: &Config,
    script: &Script,
    cli: &[String],
    is_script: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, Failure> {
    let configured = config.scripts.get(&script.name).map(|s| s.skip.clone()).unwrap_or_default();
    // `[scripts.daily-chek]` would skip nothing, silently.
    if !config.scripts.contains_key(&script.name) {
        let others: Vec<&str> = config.scripts.keys().map(String::as_str).collect();
        // A sibling (`services/status` beside `services/restart`) is no typo.
        let near = others
            .into_iter()
            .find(|k| crate::suggest::DidYouMean::find(&script.name, [*k]).is_some() && !is_script(k));
        if let Some(typo) = near {
            crate::output::err(&format!(
                "warning: {} has [scripts.{typo}], which names no script: did you mean [scripts.{}]? (its settings are not used)",
                config.origin(),
                script.name
            ));
        }
    }
    if configured.is_empty() && cli.is_empty() {
        return Ok(vec![]);
    }
    let steps = crate::engine::steps::of_source(&script.source);
    let key = format!("{}: key `scripts.{}.skip`", config.origin(), script.name);
    crate::engine::steps::check_skips(&script.name, &configured, &steps, &key)?;
    crate::engine::steps::check_skips(&script.name, cli, &steps, "--skip")?;
    let from_config = format!("[scripts.{}] skip", script.name);
    let mut skip: Vec<(String, String)> = configured.into_iter().map(|k| (k, from_config.clone())).collect();
    for k in cli {
        match skip.iter_mut().find(|(s, _)| s == k) {
            Some((_, why)) => why.push_str(", --skip"),
            None => skip.push((k.clone(), "--skip".into())),
        }
    }
    Ok(skip)
}
