//! `runbook history --hosts`: the fleet at a glance. A row per host (and
//! per target a fanned-out run was bound to), a column per script, each
//! cell the last run's status and how long ago it started. It reads the
//! history's table of last runs, one row per cell, so a year of a
//! thousand hosts' runs answers as fast as a day of one.

use chrono::{DateTime, Utc};

use crate::cli::ListFormat;
use crate::exit::{CmdResult, Exit, Failure};
use crate::history::{Latest, Store};

pub fn matrix(store: &mut Store, host: Option<&str>, script: Option<&str>, format: ListFormat) -> CmdResult {
    let mut cells = store.latest(host).map_err(|e| Failure::new(Exit::Unknown, e))?;
    if let Some(s) = script {
        cells.retain(|c| c.script == s);
    }
    let now = Utc::now();
    match format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = cells
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "host": c.host,
                        "target": c.target,
                        "script": c.script,
                        "status": c.status,
                        "exit_code": c.exit_code,
                        "started_at": c.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "age_s": (now - c.started_at).num_seconds().max(0),
                        "run": c.run_id,
                    })
                })
                .collect();
            crate::output::out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
        }
        ListFormat::Text if cells.is_empty() => {
            let only = host.map(|h| format!(" on `{h}`")).unwrap_or_default();
            crate::output::out(&format!("no runs recorded{only} ({})\n", store.location()));
        }
        ListFormat::Text => crate::output::out(&text(&cells, now)),
    }
    Ok(Exit::Ok)
}

/// The row a cell belongs to: the host, and the target when it had one.
fn row_name(c: &Latest) -> String {
    match &c.target {
        Some(t) => format!("{} → {t}", c.host),
        None => c.host.clone(),
    }
}

/// A cell's status; exit 75 is a run that did not happen (a missed slot,
/// a target `--serial` or a signal left out), not one that failed.
fn shown(c: &Latest) -> &str {
    if c.exit_code == crate::exit::Exit::TempFail as i32 {
        "NOT RUN"
    } else {
        &c.status
    }
}

fn text(cells: &[Latest], now: DateTime<Utc>) -> String {
    let mut scripts: Vec<&str> = cells.iter().map(|c| c.script.as_str()).collect();
    scripts.sort_unstable();
    scripts.dedup();
    let mut rows: Vec<String> = cells.iter().map(row_name).collect();
    rows.dedup();
    // One lookup per cell: a thousand hosts × thirty scripts stay instant.
    let by: std::collections::HashMap<(String, &str), &Latest> =
        cells.iter().map(|c| ((row_name(c), c.script.as_str()), c)).collect();
    let cell = |row: &str, script: &str| {
        by.get(&(row.to_string(), script))
            .map(|c| format!("{} {}", shown(c), age(now, c.started_at)))
            .unwrap_or_else(|| "-".into())
    };
    let mut grid: Vec<Vec<String>> =
        vec![std::iter::once("HOST".to_string()).chain(scripts.iter().map(|s| s.to_string())).collect()];
    for r in &rows {
        grid.push(std::iter::once(r.clone()).chain(scripts.iter().map(|s| cell(r, s))).collect());
    }
    let widths: Vec<usize> =
        (0..grid[0].len()).map(|i| grid.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &grid {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let bad: Vec<&Latest> = cells.iter().filter(|c| c.status != "OK").collect();
    out.push_str(&format!(
        "{} {} · {} {} · {}\n",
        rows.len(),
        if rows.len() == 1 { "host" } else { "hosts" },
        scripts.len(),
        if scripts.len() == 1 { "script" } else { "scripts" },
        match bad.len() {
            0 => "every last run OK".to_string(),
            n => format!(
                "{n} not OK: {}",
                bad.iter()
                    .map(|c| format!("{} {} (run {})", row_name(c), c.script, c.run_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    ));
    out
}

/// How long ago, in the largest unit that fits: 45s, 12m, 5h, 3d.
fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let s = (now - at).num_seconds().max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_unit_that_fits() {
        let now = Utc::now();
        let ago = |s: i64| age(now, now - chrono::Duration::seconds(s));
        assert_eq!([ago(5), ago(600), ago(7200), ago(86_400 * 3)], ["5s", "10m", "2h", "3d"]);
    }
}
