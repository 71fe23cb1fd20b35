//! Read-only is a property of an argv, named in config: never of a
//! program's name (`logrotate -f evil.conf` rotates and runs its scripts)
//! nor of a script's own say-so (`read_only: true` on a user-supplied
//! argv ran `sh -c …` in a dry run).
//!
//! A pattern is the argv written as words: each word matches one argument
//! exactly, or as a glob where `*` never crosses a `/` (`/etc/logrotate.d/*`);
//! a word `*` alone is any one argument that does not start with `-`; a
//! last word `...` is any further arguments. The first word is the program,
//! matched by its path or its name. `df ...` lets `df` run with anything;
//! `logrotate -d /etc/logrotate.d/*` only the debug (no-op) mode on those
//! files.

/// Whether `argv` matches `pattern`.
pub fn matches(pattern: &str, argv: &[String]) -> bool {
    let words: Vec<&str> = pattern.split_whitespace().collect();
    let (Some(program), Some(first)) = (words.first(), argv.first()) else { return false };
    let name = std::path::Path::new(first).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let by_name = !program.contains('/') && *program == name;
    if *program != first && !by_name {
        return false;
    }
    let (rest, open) = match words[1..].split_last() {
        Some((&"...", init)) => (init, true),
        _ => (&words[1..], false),
    };
    let args = &argv[1..];
    if args.len() < rest.len() || (!open && args.len() != rest.len()) {
        return false;
    }
    rest.iter().zip(args).all(|(w, a)| word(w, a))
}

fn word(w: &str, arg: &str) -> bool {
    if w == "*" {
        return !arg.starts_with('-');
    }
    if !w.contains(['*', '?', '[']) {
        return w == arg;
    }
    let opts =
        glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };
    // `..` never matches a glob: it would climb out of the folder named.
    !arg.split('/').any(|seg| seg == "..") && glob::Pattern::new(w).is_ok_and(|p| p.matches_with(arg, opts))
}

/// The first pattern of `patterns` that `argv` matches.
pub fn any<'a>(patterns: impl IntoIterator<Item = &'a str>, argv: &[String]) -> bool {
    patterns.into_iter().any(|p| matches(p, argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn patterns_match_whole_argvs() {
        assert!(matches("df ...", &v("df -h /")));
        assert!(matches("df ...", &v("/usr/bin/df")));
        assert!(!matches("df", &v("df -h")));
        let lr = "logrotate -d /etc/logrotate.d/*";
        assert!(matches(lr, &v("logrotate -d /etc/logrotate.d/nginx")));
        assert!(!matches(lr, &v("logrotate -f /etc/logrotate.d/nginx")));
        assert!(!matches(lr, &v("logrotate -d /tmp/evil.conf")));
        assert!(!matches(lr, &v("logrotate -d /etc/logrotate.d/../../tmp/evil.conf")));
        assert!(!matches(lr, &v("logrotate -d /etc/logrotate.d/nginx -f")));
        assert!(!matches("celery * inspect", &v("celery --help inspect")));
        assert!(!matches("sh ...", &v("bash -c id")));
    }
}
