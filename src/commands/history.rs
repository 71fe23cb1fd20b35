//! `runbook history [SCRIPT] [--since DUR] [--failed]` and
//! `runbook history show ID`: what ran, where, when and how it ended.

use super::{prepare, Globals};
use crate::cli::{HistoryArgs, HistoryCommand, ListFormat};
use crate::exit::{CmdResult, Exit, Failure};
use crate::history::silence::{covering, Silence};
use crate::history::{Filter, RunRow, Store};

pub fn history(g: &Globals, args: HistoryArgs) -> CmdResult {
    let config = prepare::config(g)?;
    let mut store = Store::open(&config).map_err(|e| Failure::new(Exit::Unknown, e))?;
    match args.show {
        Some(HistoryCommand::Show { id, format }) => return show(&mut store, id, format),
        Some(HistoryCommand::Health { jobs, grace, format }) => {
            return health(g, &config, &mut store, &jobs, grace.value, format)
        }
        // `history --health [JOB] [--format json]`: `history health` with its defaults.
        None if args.health => {
            let only: Vec<String> = args.script.iter().cloned().collect();
            let format = match args.format {
                ListFormat::Json => crate::cli::Format::Json,
                ListFormat::Text => crate::cli::Format::Text,
            };
            return health(g, &config, &mut store, &only, std::time::Duration::from_secs(900), format);
        }
        None => {}
    }
    let script = args.script.as_ref().map(|s| match std::fs::canonicalize(s) {
        // A script run by its path is kept under its absolute path.
        Ok(p) if s.ends_with(".rhai") || s.contains('/') => p.display().to_string(),
        _ => s.clone(),
    });
    if args.hosts {
        return super::history_hosts::matrix(&mut store, args.host.as_deref(), script.as_deref(), args.format);
    }
    let since = args
        .since
        .as_ref()
        .map(|s| chrono::Utc::now() - chrono::Duration::from_std(s.value).unwrap_or(chrono::Duration::MAX));
    let filter = Filter {
        script,
        since,
        failed: args.failed,
        with_dry_runs: args.dry_runs,
        job: None,
        host: args.host.clone(),
        target: None,
        limit: Some(args.limit.max(0) + 1),
    };
    let mut rows = store.list(&filter).map_err(|e| Failure::new(Exit::Unknown, e))?;
    let more = rows.len() as i64 > args.limit;
    rows.truncate(args.limit.max(0) as usize);
    let silences = silences_over(&mut store, &rows)?;
    let silence_of = |r: &RunRow| covering(&silences, &r.script, r.job.as_deref(), r.started_at).map(|s| s.id);
    match args.format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut v = summary_json(r);
                    v["silence"] = silence_of(r).map(serde_json::Value::from).unwrap_or(serde_json::Value::Null);
                    v
                })
                .collect();
            crate::output::out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
        }
        ListFormat::Text if rows.is_empty() => {
            crate::output::out(&format!("no runs recorded{} ({})\n", what(&args), store.location()));
        }
        ListFormat::Text => {
            let mut out = table(&rows, &silence_of);
            if more {
                out.push_str(&format!("… and earlier runs: --limit {} shows more\n", args.limit * 2));
            }
            crate::output::out(&out);
        }
    }
    Ok(Exit::Ok)
}

fn what(args: &HistoryArgs) -> String {
    let mut w = String::new();
    if let Some(s) = &args.script {
        w.push_str(&format!(" of `{s}`"));
    }
    if let Some(s) = &args.since {
        w.push_str(&format!(" in the last {s}"));
    }
    if args.failed {
        w.push_str(" that failed");
    }
    if let Some(h) = &args.host {
        w.push_str(&format!(" on `{h}`"));
    }
    w
}

fn show(store: &mut Store, id: i64, format: ListFormat) -> CmdResult {
    let Some(run) = store.get(id).map_err(|e| Failure::new(Exit::Unknown, e))? else {
        return Err(Failure::usage(format!("no run {id} in the history ({})", store.location()))
            .with_help("`runbook history` lists the runs with their IDs"));
    };
    match format {
        ListFormat::Json => crate::output::out(&run.report_json),
        ListFormat::Text => {
            let silences = silences_over(store, std::slice::from_ref(&run))?;
            let head = format!(
                "run {} · {} · {} · {} on {}{}{}\n\n",
                run.id,
                run.script,
                run.status,
                run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                match &run.target {
                    Some(t) => format!("{} → {t}", run.host),
                    None => run.host.clone(),
                },
                run.job.as_deref().map(|j| format!(" · scheduled job `{j}`")).unwrap_or_default(),
                covering(&silences, &run.script, run.job.as_deref(), run.started_at)
                    .map(|s| format!(" · in maintenance: {}", s.describe()))
                    .unwrap_or_default()
            );
            crate::output::out(&format!("{head}{}", run.report_text));
        }
    }
    Ok(Exit::Ok)
}

fn summary_json(r: &RunRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "script": r.script,
        "params": serde_json::from_str::<serde_json::Value>(&r.params).unwrap_or(serde_json::Value::Null),
        "host": r.host,
        "target": r.target,
        "started_at": r.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "duration_ms": r.duration_ms,
        "status": r.status,
        "exit_code": r.exit_code,
        "dry_run": r.dry_run,
        "job": r.job,
        "slot": r.slot.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

/// The silences over the time the rows span: one query for a whole listing.
fn silences_over(store: &mut Store, rows: &[RunRow]) -> Result<Vec<Silence>, Failure> {
    let (Some(first), Some(last)) = (rows.iter().map(|r| r.started_at).min(), rows.iter().map(|r| r.started_at).max())
    else {
        return Ok(vec![]);
    };
    store.silences(first, last + chrono::Duration::milliseconds(1)).map_err(|e| Failure::new(Exit::Unknown, e))
}

fn table(rows: &[RunRow], silence_of: &dyn Fn(&RunRow) -> Option<i64>) -> String {
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let mut status = if r.dry_run { format!("{} (dry run)", r.status) } else { r.status.clone() };
            if let Some(id) = silence_of(r) {
                status.push_str(&format!(" (in maintenance: silence {id})"));
            }
            [
                r.id.to_string(),
                r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.script.clone(),
                status,
                r.exit_code.to_string(),
                crate::duration::format(std::time::Duration::from_millis(r.duration_ms.max(0) as u64)),
                match &r.target {
                    Some(t) => format!("{} → {t}", r.host),
                    None => r.host.clone(),
                },
            ]
        })
        .collect();
    let head = ["ID", "STARTED (UTC)", "SCRIPT", "STATUS", "EXIT", "DURATION", "HOST"];
    let widths: Vec<usize> =
        (0..7).map(|i| cells.iter().map(|c| c[i].chars().count()).max().unwrap_or(0).max(head[i].len())).collect();
    let line = |c: &[&str]| {
        let mut l = String::new();
        for (i, cell) in c.iter().enumerate() {
            if i == 6 {
                l.push_str(cell);
            } else if i == 0 || i == 4 {
                l.push_str(&format!("{cell:>w$}  ", w = widths[i]));
            } else {
                l.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        l.push('\n');
        l
    };
    let mut out = line(&head);
    for c in &cells {
        out.push_str(&line(&c.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    }
    out
}

/// `runbook history health`: one section per scheduled job, its checks
/// judged from its recorded runs (`crate::plan::health`); the exit code
/// is the worst level, as a report's.
fn health(
    g: &Globals,
    config: &crate::config::Config,
    store: &mut Store,
    only: &[String],
    grace: std::time::Duration,
    format: crate::cli::Format,
) -> CmdResult {
    use crate::report::{self, Item, Report, Section};
    let scripts = crate::script::ScriptPath::new(g.scripts_dir.as_deref(), config);
    let jobs = crate::plan::jobs::load(config, &scripts, only, false)?;
    let now = chrono::Utc::now();
    let mut r = Report::new(
        "history health",
        "is every scheduled job running, on time, as usual?",
        serde_json::Map::new(),
        false,
        crate::host::sys::hostname_string(),
    );
    r.sections.clear();
    if jobs.is_empty() {
        r.sections.push(Section { title: None, items: vec![], skipped: None });
    }
    let judged = crate::plan::health::of_plan(store, &jobs, now, grace).map_err(|e| Failure::new(Exit::Unknown, e))?;
    for h in judged {
        let title = Some(h.title());
        r.sections.push(Section { title, items: h.checks.into_iter().map(Item::Check).collect(), skipped: None });
    }
    r.redact();
    let out = match format {
        crate::cli::Format::Text => report::text::render(&r, report::text::Style::for_stdout()),
        crate::cli::Format::Json => report::json::render(&r),
        crate::cli::Format::Nagios => report::nagios::render(&r),
        crate::cli::Format::Prometheus => report::prometheus::render(&r),
    };
    crate::output::out(&out);
    Ok(r.exit())
}
