//! "Did you mean …?" for every name an operator can mistype: scripts,
//! functions, config keys, header keys, parameters.

/// The candidate nearest to `wanted`, if it is near enough to be a typo.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_l = wanted.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&wanted_l, &c.to_lowercase());
        let close = strsim::levenshtein(&wanted_l, &c.to_lowercase()) <= (wanted.len() / 3).max(2);
        if (score >= 0.85 || close) && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_typos_only() {
        let names = ["sys::disk", "sys::cpu", "sys::memory"];
        assert_eq!(super::nearest("sys::dsk", names), Some("sys::disk"));
        assert_eq!(super::nearest("sys::memroy", names), Some("sys::memory"));
        assert_eq!(super::nearest("completely_else", names), None);
    }
}
