//! How the REPL shows a value: a table for records, key/value lines for a
//! map, times and durations as everywhere else, human sizes for size-like fields, JSON on request.

use rhai::{Array, Dynamic, Map};

use crate::host::time::Timestamp;

const MAX_ROWS: usize = 50;
const MAX_CELL: usize = 40;

/// Field names whose integer values are byte counts.
fn is_size_key(k: &str) -> bool {
    k == "size"
        || k == "bytes"
        || k.ends_with("_bytes")
        || ["used", "total", "available", "free", "max", "swap_total", "swap_used"].contains(&k)
}

fn scalar(key: Option<&str>, v: &Dynamic) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Some(t) = v.read_lock::<Timestamp>() {
        // The one display of a time, as `run` prints it and JSON gives it
        // (`t.local` shows the machine's zone).
        return t.rfc3339();
    }
    if let Some(d) = v.read_lock::<crate::host::time::Span>() {
        return d.to_string();
    }
    if let (Some(k), Ok(i)) = (key, v.as_int()) {
        if is_size_key(k) {
            return format!("{} ({i})", crate::report::text::human_bytes(i));
        }
    }
    if let Ok(f) = v.as_float() {
        return crate::report::text::format_number(f);
    }
    v.to_string()
}

/// `None` for `()`: nothing to show.
pub fn render(v: &Dynamic, json: bool) -> Option<String> {
    if v.is_unit() {
        return None;
    }
    if json {
        return Some(serde_json::to_string_pretty(&crate::host::convert::to_json(v)).unwrap_or_default());
    }
    if let Some(a) = v.read_lock::<Array>() {
        if !a.is_empty() && a.iter().all(|r| r.is_map()) {
            let cols = a[0].read_lock::<Map>().map(|m| crate::report::table::columns_of(&m)).unwrap_or_default();
            let shown: Array = a.iter().take(MAX_ROWS).map(humanize_row).collect();
            let mut out = crate::report::table::render(&shown, &cols, MAX_CELL);
            if a.len() > MAX_ROWS {
                out.push_str(&format!("\n… {} more rows", a.len() - MAX_ROWS));
            }
            return Some(out);
        }
    }
    if let Some(m) = v.read_lock::<Map>() {
        if m.is_empty() {
            return Some("#{}".into());
        }
        let w = m.keys().map(|k| k.len()).max().unwrap_or(0);
        let lines: Vec<String> = m.iter().map(|(k, v)| format!("{k:w$}  {}", scalar(Some(k), v))).collect();
        return Some(lines.join("\n"));
    }
    Some(scalar(None, v))
}

fn humanize_row(r: &Dynamic) -> Dynamic {
    let Some(m) = r.read_lock::<Map>() else { return r.clone() };
    let mut out = Map::new();
    for (k, v) in m.iter() {
        let shown = if v.is::<Timestamp>() || v.is::<crate::host::time::Span>() || (v.is_int() && is_size_key(k)) {
            Dynamic::from(scalar(Some(k), v))
        } else {
            v.clone()
        };
        out.insert(k.clone(), shown);
    }
    Dynamic::from_map(out)
}
