//! Advice for a mistake, one vocabulary for every error: "did you mean …?"
//! for every name an operator can mistype (scripts, functions, config keys,
//! header keys, parameters, jobs, limits, options), and the one way notes
//! and help lines are shown under an error (docs/ARCHITECTURE.md, "Errors
//! and hints").

use std::fmt;

/// A near name for a mistyped one. Shown as "did you mean `name`?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidYouMean(pub String);

impl DidYouMean {
    /// The candidate nearest to `wanted`, if it is near enough to be a typo.
    pub fn find<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<DidYouMean> {
        nearest(wanted, candidates).map(|n| DidYouMean(n.to_string()))
    }

    /// The same suggestion written another way (`postgres` → `postgres://`).
    pub fn map(self, f: impl FnOnce(&str) -> String) -> DidYouMean {
        DidYouMean(f(&self.0))
    }

    /// The help line: this suggestion, else `otherwise` (where to look).
    pub fn or(found: Option<DidYouMean>, otherwise: impl Into<String>) -> String {
        found.map(|d| d.to_string()).unwrap_or_else(|| otherwise.into())
    }

    /// This suggestion followed by `then` ("did you mean `x`? `runbook list`
    /// shows them all"), or `then` alone.
    pub fn then(found: Option<DidYouMean>, then: impl fmt::Display) -> String {
        match found {
            Some(d) => format!("{d} {then}"),
            None => then.to_string(),
        }
    }
}

impl fmt::Display for DidYouMean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did you mean `{}`?", self.0)
    }
}

/// The candidate nearest to `wanted`, if it is near enough to be a typo.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_l = wanted.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&wanted_l, &c.to_lowercase());
        // A typo changes a few letters of a word, never all of it.
        let edits = strsim::levenshtein(&wanted_l, &c.to_lowercase());
        let close = edits <= (wanted.len() / 3).max(1) && edits < wanted.len();
        if (score >= 0.85 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The lines under an error message, the same for a failure of runbook's
/// own (`error: no script named …`) and a script's diagnostic (with its
/// source frame): each note, then the help, as `  = note: …` and
/// `  = help: …`; a second line of either is indented under the first.
pub fn hints(notes: &[String], help: Option<&str>) -> String {
    let mut out = String::new();
    let mut one = |label: &str, text: &str| {
        let lead = format!("  = {label}: ");
        for (i, line) in text.lines().enumerate() {
            if i == 0 {
                out.push_str(&lead);
            } else {
                out.push_str(&" ".repeat(lead.len()));
            }
            out.push_str(line);
            out.push('\n');
        }
    };
    for n in notes {
        one("note", n);
    }
    if let Some(h) = help {
        one("help", h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_only() {
        let names = ["sys::disk", "sys::cpu", "sys::memory"];
        assert_eq!(nearest("sys::dsk", names), Some("sys::disk"));
        assert_eq!(nearest("sys::memroy", names), Some("sys::memory"));
        assert_eq!(nearest("completely_else", names), None);
        assert_eq!(
            DidYouMean::find("sys::dsk", names).map(|d| d.to_string()).as_deref(),
            Some("did you mean `sys::disk`?")
        );
    }

    #[test]
    fn hints_are_one_shape() {
        assert_eq!(
            hints(&["called at a.rhai:5".into()], Some("did you mean `x`?\nor `y`")),
            "  = note: called at a.rhai:5\n  = help: did you mean `x`?\n          or `y`\n"
        );
    }
}
