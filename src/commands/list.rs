//! `runbook list`: every script, where it comes from, its summary.

use super::{prepare, Globals};
use crate::exit::{CmdResult, Exit};
use crate::script::lookup::Shadow;
use crate::script::{header, Origin, ScriptPath};

pub fn list(g: &Globals, json: bool) -> CmdResult {
    // Listing needs no secret: an unset ${VAR} of the config reads as "".
    crate::config::unset_variables_read_empty();
    let config = prepare::config(g)?;
    let scripts = ScriptPath::new(g.scripts_dir.as_deref(), &config).all();
    let rows: Vec<(String, String, String, Option<String>)> = scripts
        .iter()
        .map(|s| {
            let origin = match (&s.origin, s.overrides) {
                (Origin::Shipped, _) => "shipped".to_string(),
                (Origin::Inline(label), _) => format!("<{label}>"),
                (Origin::Local(p) | Origin::File(p), None) => format!("local {}", p.display()),
                (Origin::Local(p) | Origin::File(p), Some(Shadow::Differs)) => {
                    format!("local {} (overrides shipped)", p.display())
                }
                (Origin::Local(p) | Origin::File(p), Some(Shadow::Same)) => {
                    format!("local {} (same as shipped)", p.display())
                }
            };
            let h = header::parse(&s.source);
            let summary =
                h.as_ref().map(|h| h.summary.clone()).unwrap_or_else(|e| format!("(invalid header: {})", e.message));
            let schedule = h.ok().and_then(|h| h.schedule);
            (s.name.clone(), origin, summary, schedule)
        })
        .collect();
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(n, o, s, sch)| serde_json::json!({"name": n, "origin": o, "summary": s, "schedule": sch}))
            .collect();
        crate::output::out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
        return Ok(Exit::Ok);
    }
    let w_name = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:w_name$}  SUMMARY\n", "NAME");
    for (name, origin, summary, _) in &rows {
        out.push_str(&format!("{name:w_name$}  {summary}\n"));
        if origin != "shipped" {
            out.push_str(&format!("{:w_name$}    └ {origin}\n", ""));
        }
    }
    crate::output::out(&out);
    Ok(Exit::Ok)
}
