//! The Prometheus renderer: node_exporter's textfile-collector format.
//! With `--output` the file is written atomically (temp file, then rename)
//! so the collector never reads half a file.

use std::fmt::Write;

use super::{Item, Level, Report};

pub fn render(r: &Report) -> String {
    let script = escape(&r.script);
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    gauge(&mut out, "runbook_status", "Run status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
    let _ = writeln!(out, "runbook_status{{script=\"{script}\"}} {}", r.exit() as u8);
    gauge(&mut out, "runbook_duration_seconds", "Wall time of the run.");
    let _ = writeln!(out, "runbook_duration_seconds{{script=\"{script}\"}} {}", r.duration_ms as f64 / 1000.0);
    gauge(&mut out, "runbook_last_run_timestamp_seconds", "When the run started, Unix time.");
    let _ = writeln!(out, "runbook_last_run_timestamp_seconds{{script=\"{script}\"}} {}", r.started_at.timestamp());

    // A name several sections share gets a `section` label: one series each.
    let section = |p: Option<&str>| p.map(|p| format!(",section=\"{}\"", escape(p))).unwrap_or_default();
    let checks: Vec<_> =
        r.items_placed().filter_map(|(p, i)| if let Item::Check(c) = i { Some((p, c)) } else { None }).collect();
    if !checks.is_empty() {
        gauge(&mut out, "runbook_check_ok", "1 when the check passed, 0 when it failed.");
        for (p, c) in checks {
            let _ = writeln!(
                out,
                "runbook_check_ok{{script=\"{script}\",check=\"{}\"{}}} {}",
                escape(&c.name),
                section(p),
                u8::from(c.level == Level::Ok)
            );
        }
    }
    let metrics: Vec<_> =
        r.items_placed().filter_map(|(p, i)| if let Item::Metric(m) = i { Some((p, m)) } else { None }).collect();
    let mut seen = std::collections::HashSet::new();
    for (p, m) in &metrics {
        let name = format!("runbook_{}", sanitize(&m.name));
        if seen.insert(name.clone()) {
            gauge(&mut out, &name, &format!("{} (unit: {}).", m.name, m.unit.as_deref().unwrap_or("none")));
        }
        let v = m.value.map(|v| v.to_string()).unwrap_or_else(|| "NaN".into());
        let _ = writeln!(out, "{name}{{script=\"{script}\"{}}} {v}", section(*p));
    }
    if !metrics.is_empty() {
        gauge(&mut out, "runbook_metric_level", "Level of each metric: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
        for (p, m) in metrics {
            let _ = writeln!(
                out,
                "runbook_metric_level{{script=\"{script}\",metric=\"{}\"{}}} {}",
                escape(&m.name),
                section(p),
                m.level.exit() as u8
            );
        }
    }
    out
}

/// Metric names allow `[a-zA-Z0-9_:]`, not starting with a digit.
fn sanitize(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    s.trim_matches('_').to_string()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
