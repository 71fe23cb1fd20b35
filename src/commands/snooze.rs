//! `runbook snooze DURATION [JOB…]`, `--list`, `--end [ID]`: silences of
//! the run history (`crate::history::silence`), for a maintenance window.

use chrono::Utc;

use super::{prepare, Globals};
use crate::cli::{ListFormat, SnoozeArgs};
use crate::exit::{CmdResult, Exit, Failure};
use crate::history::silence::Silence;
use crate::history::Store;

pub fn snooze(g: &Globals, args: SnoozeArgs) -> CmdResult {
    let config = prepare::config(g)?;
    if !crate::history::enabled(&config) {
        return Err(Failure::new(
            Exit::Config,
            "runbook snooze keeps its silences in the run history, and [history] enabled = false",
        )
        .with_help("remove `enabled = false` from [history]"));
    }
    let mut store = Store::open(&config).map_err(|e| Failure::new(Exit::TempFail, e))?;
    let fail = |e: String| Failure::new(Exit::TempFail, e);
    let now = Utc::now();
    if args.list {
        let silences = store.silences_at(now).map_err(fail)?;
        crate::output::out(&list(&silences, args.format));
        return Ok(Exit::Ok);
    }
    if let Some(id) = args.end {
        let id = id.map(i64::from);
        let ended = store.end_silence(id, now).map_err(fail)?;
        let said = match (id, ended) {
            (Some(id), 0) => {
                return Err(Failure::usage(format!("no silence {id} is in force (ended, expired or never opened)"))
                    .with_help("`runbook snooze --list` shows the silences in force"))
            }
            (Some(id), _) => format!("ended silence {id}: its jobs mail again\n"),
            (None, 0) => "no silence is in force: nothing to end\n".to_string(),
            (None, n) => format!("ended {n} silence(s): every job mails again\n"),
        };
        crate::output::out(&said);
        return Ok(Exit::Ok);
    }
    let Some(duration) = args.duration else {
        return Err(Failure::usage("runbook snooze needs a DURATION (2h), --list or --end"));
    };
    if let Err(e) = crate::history::silence::length(duration.value, &duration.text) {
        return Err(
            Failure::usage(e).with_help("so a forgotten one cannot mute a job for good: snooze again when it ends")
        );
    }
    let scripts = crate::script::ScriptPath::new(g.scripts_dir.as_deref(), &config);
    crate::plan::jobs::check_names(&config, &scripts, &args.jobs)?;
    let ends_at = now + chrono::Duration::from_std(duration.value).unwrap_or_default();
    let mut silence = Silence {
        id: 0,
        names: args.jobs.clone(),
        starts_at: now,
        ends_at,
        reason: args.reason.clone(),
        by: crate::history::silence::who(&crate::host::sys::hostname_string()),
    };
    silence.id = store.open_silence(&silence).map_err(fail)?;
    let reason = if silence.reason.is_empty() { String::new() } else { format!(": {}", silence.reason) };
    crate::output::out(&format!(
        "snoozed {} until {} (silence {}{reason}): runs go on and are recorded, their report mails are not sent\n  `runbook snooze --end {}` ends it sooner\n",
        silence.what(),
        silence.ends_at.format("%Y-%m-%d %H:%M UTC"),
        silence.id,
        silence.id
    ));
    crate::output::out(&format!("  kept in the history at {}\n", store.location()));
    Ok(Exit::Ok)
}

fn list(silences: &[Silence], format: ListFormat) -> String {
    match format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = silences.iter().map(silence_json).collect();
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        ListFormat::Text if silences.is_empty() => "no silence is in force: every job mails as configured\n".into(),
        ListFormat::Text => {
            let mut out = String::new();
            for s in silences {
                out.push_str(&format!(
                    "{}\n  opened by {} at {}\n",
                    s.describe(),
                    s.by,
                    s.starts_at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            out
        }
    }
}

pub fn silence_json(s: &Silence) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "names": s.names,
        "starts_at": s.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "ends_at": s.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "reason": s.reason,
        "by": s.by,
    })
}
