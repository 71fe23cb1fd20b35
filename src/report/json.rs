//! The JSON renderer: one object per run, for machines.

use serde_json::{json, Value};

use super::{Item, Line, Report};

pub fn render(r: &Report) -> String {
    let sections: Vec<Value> = r
        .sections
        .iter()
        .filter(|s| s.title.is_some() || !s.items.is_empty())
        .map(|s| {
            let mut checks = vec![];
            let mut metrics = vec![];
            let mut lines = vec![];
            let mut tables = vec![];
            for item in &s.items {
                match item {
                    Item::Check(c) => checks.push(serde_json::to_value(c).unwrap_or(Value::Null)),
                    Item::Metric(m) => metrics.push(serde_json::to_value(m).unwrap_or(Value::Null)),
                    Item::Line(Line { table: Some(t), .. }) => {
                        tables.push(serde_json::to_value(t).unwrap_or(Value::Null))
                    }
                    Item::Line(l) => lines.push(serde_json::to_value(l).unwrap_or(Value::Null)),
                }
            }
            let mut section = json!({ "title": s.title, "checks": checks, "metrics": metrics, "lines": lines });
            // Only where a script printed one: the shape of every other
            // report stays as it was.
            if !tables.is_empty() {
                section["tables"] = Value::Array(tables);
            }
            if let Some(why) = &s.skipped {
                section["skipped"] = Value::String(why.clone());
            }
            section
        })
        .collect();
    let v = json!({
        "script": r.script,
        "summary": r.summary,
        "params": r.params,
        "host": r.host,
        "started_at": r.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "duration_ms": r.duration_ms,
        "dry_run": r.dry_run,
        "status": r.status().name(),
        "exit_code": r.exit() as u8,
        "sections": sections,
        "error": r.error,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
