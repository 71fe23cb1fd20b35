//! The Nagios / monitoring-plugin renderer: one status line, then perfdata
//! `'label'=value[UOM];warn;crit;min;max` for every metric.

use super::{text::format_number, Item, Level, Report};

/// Units the plugin guidelines define; any other unit is left off the
/// perfdata (the value still counts) so graphers do not reject the line.
const UOMS: &[&str] = &["s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"];

pub fn render(r: &Report) -> String {
    let status = r.status();
    let mut problems: Vec<String> = Vec::new();
    // A name that several sections use (a check per job, a metric per
    // site) is ambiguous on one line: it is given its section's name,
    // "backup-db: on schedule: …".
    let name_of = |i: &Item| match i {
        Item::Check(c) => Some(c.name.clone()),
        Item::Metric(m) => Some(m.name.clone()),
        _ => None,
    };
    let shared = |name: &str| {
        r.sections.iter().filter(|s| s.items.iter().any(|i| name_of(i).as_deref() == Some(name))).count() > 1
    };
    for section in &r.sections {
        for item in &section.items {
            let from = match (&section.title, name_of(item)) {
                (Some(t), Some(n)) if shared(&n) => format!("{}: ", section_name(t)),
                _ => String::new(),
            };
            match item {
                Item::Check(c) if c.level != Level::Ok => {
                    problems.push(format!("{from}{}: {}", c.name, one_line(&c.message)))
                }
                Item::Metric(m) if m.level != Level::Ok => problems.push(match m.value {
                    Some(v) => format!("{from}{} is {}{}", m.name, format_number(v), m.unit.as_deref().unwrap_or("")),
                    None => format!("{from}{} is unknown", m.name),
                }),
                Item::Line(l) if l.level.is_some_and(|x| x != Level::Ok) => problems.push(one_line(&l.text)),
                _ => {}
            }
        }
    }
    if let Some(e) = &r.error {
        problems.insert(0, format!("{}: {}", e.kind, one_line(&e.message)));
    }
    let c = r.counts();
    let summary = if problems.is_empty() {
        format!("{} checks, {} metrics OK", c.checks, c.metrics)
    } else {
        problems.join("; ")
    };
    let perf: Vec<String> = r
        .items()
        .filter_map(|i| match i {
            Item::Metric(m) => Some(m),
            _ => None,
        })
        .map(|m| {
            let uom = m.unit.as_deref().filter(|u| UOMS.contains(u)).unwrap_or("");
            let f = |o: Option<f64>| o.map(format_number).unwrap_or_default();
            // In the plugin guidelines' ranges a bare `N` alerts above N;
            // `N:` alerts below it, which is what a lower bound means.
            let t = |o: Option<f64>| {
                if m.bound == super::Bound::Lower && o.is_some() {
                    format!("{}:", f(o))
                } else {
                    f(o)
                }
            };
            let value = m.value.map(format_number).unwrap_or_else(|| "U".into());
            let label = m.name.replace('\'', "''").replace('=', "_");
            let s = format!("'{label}'={value}{uom};{};{};{};{}", t(m.warn), t(m.crit), f(m.min), f(m.max));
            s.trim_end_matches(';').to_string()
        })
        .collect();
    let name = r.script.to_uppercase();
    let line = if perf.is_empty() {
        format!("{name} {} - {summary}", status.name())
    } else {
        format!("{name} {} - {summary} | {}", status.name(), perf.join(" "))
    };
    // Monitoring shows it on a screen too: inert, like the text report.
    format!("{}\n", super::text::inert(&line))
}

/// A section's title up to its first parenthesis or `·`: "backup-db" of
/// "backup-db (0 2 * * *) · in maintenance: …".
fn section_name(title: &str) -> &str {
    let cut = [title.find(" ("), title.find(" · ")].into_iter().flatten().min().unwrap_or(title.len());
    &title[..cut]
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('|', "/")
}
