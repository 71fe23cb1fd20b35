//! The Nagios / monitoring-plugin renderer: one status line, then perfdata
//! `'label'=value[UOM];warn;crit;min;max` for every metric.

use super::{text::format_number, Item, Level, Report};

/// Units the plugin guidelines define; any other unit is left off the
/// perfdata (the value still counts) so graphers do not reject the line.
const UOMS: &[&str] = &["s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"];

pub fn render(r: &Report) -> String {
    let status = r.status();
    let mut problems: Vec<String> = Vec::new();
    for (place, item) in r.items_placed() {
        let from = place.map(|p| format!("{p}: ")).unwrap_or_default();
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

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('|', "/")
}
