//! Aligned tables of records (arrays of maps), for `table(rows)` and the
//! REPL: wide cells are cut with "…", numbers are right-aligned.

use rhai::{Array, Dynamic, Map};

// Rhai maps keep their keys sorted, so a row forgets its SELECT's column
// order. Clients that return records note the order here, and `table`
// uses it when the rows have exactly those columns. Per thread:
// `fleet::each` runs queries on several at once.
thread_local! {
    static LAST_COLUMNS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub fn remember_columns(cols: Vec<String>) {
    LAST_COLUMNS.with(|l| *l.borrow_mut() = cols);
}

/// The columns of `first` in the remembered order when they match, else
/// in the map's (sorted) order.
pub fn columns_of(first: &Map) -> Vec<String> {
    let remembered = LAST_COLUMNS.with(|l| {
        let last = l.borrow();
        (last.len() == first.len() && last.iter().all(|c| first.contains_key(c.as_str()))).then(|| last.clone())
    });
    remembered.unwrap_or_else(|| first.keys().map(|k| k.to_string()).collect())
}

pub fn render(rows: &Array, cols: &[String], max_width: usize) -> String {
    if rows.is_empty() {
        return "(no rows)".into();
    }
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| {
            let m = r.read_lock::<Map>();
            cols.iter()
                .map(|c| match m.as_ref().and_then(|m| m.get(c.as_str())) {
                    Some(v) => (cut(&cell(v), max_width), v.is_int() || v.is_float()),
                    None => (String::new(), false),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].0.chars().count()).chain([c.chars().count()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let header: Vec<String> = cols.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
    out.push_str(header.join("  ").trim_end());
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    for r in &cells {
        out.push('\n');
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|((s, num), w)| if *num { format!("{s:>w$}") } else { format!("{s:<w$}") })
            .collect();
        out.push_str(line.join("  ").trim_end());
    }
    out
}

fn cell(v: &Dynamic) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Ok(f) = v.as_float() {
        return crate::report::text::format_number(f);
    }
    // Dynamic's Display shows custom types by their Rust name.
    if let Some(t) = v.read_lock::<crate::value::Timestamp>() {
        return t.rfc3339();
    }
    if let Some(d) = v.read_lock::<crate::value::Span>() {
        return d.to_string();
    }
    // A list in a cell (a container's ports) reads as one: `[]` and
    // `["a", "b"]` are Rhai's syntax, not something to show an operator.
    if let Some(items) = v.read_lock::<Array>() {
        return items.iter().map(cell).collect::<Vec<_>>().join(", ");
    }
    // Masked before a newline becomes a space, which a secret with a
    // newline in it would otherwise survive.
    crate::redact::apply(&v.to_string()).replace('\n', " ")
}

/// Cuts what [`cell`] gave, which is masked already: a cut secret (its
/// first 13 characters) would no longer be one the redactor knows.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_in_a_cell_is_its_items_joined() {
        let row = |ports: Array| {
            let mut m = Map::new();
            m.insert("name".into(), Dynamic::from("web"));
            m.insert("ports".into(), Dynamic::from_array(ports));
            Dynamic::from_map(m)
        };
        let rows = vec![row(vec![Dynamic::from("0.0.0.0:8080->80/tcp"), Dynamic::from("443/tcp")]), row(vec![])];
        assert_eq!(
            render(&rows, &["name".into(), "ports".into()], 60),
            "name  ports\n────  ─────────────────────────────\nweb   0.0.0.0:8080->80/tcp, 443/tcp\nweb"
        );
    }
}
