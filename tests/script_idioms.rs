//! The shipped scripts use one idiom for each thing (docs/ARCHITECTURE.md,
//! "Scripts and the stdlib"): checked on the script files themselves, so a
//! new script that drifts fails here before review.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is the report")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn scripts() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rhai") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap().with_extension("").display().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// `fn NAME() { #{warn: W, crit: C, …} }` in stdlib/thresholds.rhai.
fn thresholds() -> HashMap<String, (f64, f64)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib/thresholds.rhai")).unwrap();
    let re = regex::Regex::new(r"fn ([a-z0-9_]+)\(\) \{ #\{warn: ([0-9.]+), crit: ([0-9.]+)").unwrap();
    re.captures_iter(&text).map(|c| (c[1].to_string(), (c[2].parse().unwrap(), c[3].parse().unwrap()))).collect()
}

fn param_default(script: &str, param: &str) -> f64 {
    let re = regex::Regex::new(&format!(r"(?m)^// param {param}: (?:float|int) = ([0-9.]+)")).unwrap();
    let text = scripts().into_iter().find(|(n, _)| n == script).unwrap_or_else(|| panic!("no script {script}")).1;
    re.captures(&text).unwrap_or_else(|| panic!("{script} has no param {param}"))[1].parse().unwrap()
}

#[test]
fn threshold_params_default_to_the_manuals_numbers_in_thresholds_rhai() {
    // (script, param, threshold function, warn or crit)
    let pairs = [
        ("daily-check", "cpu_warn", "cpu_pct", "warn"),
        ("daily-check", "cpu_crit", "cpu_pct", "crit"),
        ("daily-check", "disk_warn", "disk_pct", "warn"),
        ("daily-check", "disk_crit", "disk_pct", "crit"),
        ("system-resources", "cpu_warn", "cpu_pct", "warn"),
        ("system-resources", "cpu_crit", "cpu_pct", "crit"),
        ("system-resources", "mem_warn", "memory_pct", "warn"),
        ("system-resources", "mem_crit", "memory_pct", "crit"),
        ("system-resources", "disk_warn", "disk_pct", "warn"),
        ("system-resources", "disk_crit", "disk_pct", "crit"),
        ("weekly/performance-review", "p95_warn_ms", "api_p95_ms", "warn"),
        ("weekly/performance-review", "p95_crit_ms", "api_p95_ms", "crit"),
        ("weekly/performance-review", "error_warn_pct", "error_rate_pct", "warn"),
        ("weekly/performance-review", "error_crit_pct", "error_rate_pct", "crit"),
        ("api-health", "connections_warn", "connection_pool_pct", "warn"),
        ("api-health", "connections_crit", "connection_pool_pct", "crit"),
        ("api-health", "response_warn", "query_avg_ms", "warn"),
        ("api-health", "response_crit", "query_avg_ms", "crit"),
        ("api-health", "redis_memory_warn", "redis_memory_pct", "warn"),
        ("api-health", "redis_memory_crit", "redis_memory_pct", "crit"),
        ("db/connections", "warn_pct", "connection_pool_pct", "warn"),
        ("db/connections", "crit_pct", "connection_pool_pct", "crit"),
        ("db/replication", "lag_warn", "replication_lag_s", "warn"),
        ("db/replication", "lag_crit", "replication_lag_s", "crit"),
    ];
    let th = thresholds();
    let mut wrong = Vec::new();
    for (script, param, f, which) in pairs {
        let (w, c) = th[f];
        let want = if which == "warn" { w } else { c };
        let got = param_default(script, param);
        if got != want {
            wrong.push(format!("{script}: param {param} = {got}, but th::{f}().{which} is {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A metric of the manual's with its numbers written inline, not taken from
/// thresholds.rhai or from a param.
#[test]
fn no_script_writes_the_manuals_threshold_numbers_inline() {
    let inline = regex::Regex::new(r"#\{warn: [0-9]").unwrap();
    let manual =
        ["cpu_used_pct", "memory_used_pct", "disk_used_pct", "connections_pct", "api_p95_ms", "error_rate_pct"];
    let mut found = Vec::new();
    for (name, text) in scripts() {
        for (i, line) in text.lines().enumerate() {
            if inline.is_match(line) && manual.iter().any(|m| line.contains(&format!("\"{m}\""))) {
                found.push(format!("scripts/{name}.rhai:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "use th::… from stdlib/thresholds.rhai:\n{}", found.join("\n"));
}

/// A step a dry run skips says so with `done(…)` or `return skipped();`,
/// never with its own spelling of "skipped (dry run)"; lists are joined
/// with `fmt::join`, not a hand-written reduce; a duration is bound as an
/// interval (`now() - $1` with a Duration), not formatted into SQL.
#[test]
fn the_shipped_scripts_use_the_stdlibs_one_idiom_for_each_thing() {
    let rules: [(&str, regex::Regex, &str); 4] = [
        ("dry run", regex::Regex::new(r#""skipped \(dry run\)""#).unwrap(), "done(text) or return skipped()"),
        ("join", regex::Regex::new(r"reduce\(\|[a-z]+, [a-z]+\| if [a-z]+ == \(\)").unwrap(), "fmt::join(items, sep)"),
        (
            "interval",
            regex::Regex::new(r"\$[0-9]+::interval|make_interval\(secs").unwrap(),
            "bind time::duration(d): `now() - $1`",
        ),
        ("seconds", regex::Regex::new(r"\.seconds\} seconds").unwrap(), "bind the Duration itself"),
    ];
    let mut found = Vec::new();
    for (name, text) in scripts() {
        for (i, line) in text.lines().enumerate() {
            for (what, re, instead) in &rules {
                if re.is_match(line) {
                    found.push(format!("scripts/{name}.rhai:{}: {what}: use {instead}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every shipped script has a header with a summary (a script of one's own
/// needs none).
#[test]
fn every_shipped_script_has_a_summary() {
    let missing: Vec<String> =
        scripts().into_iter().filter(|(_, text)| !text.starts_with("// ")).map(|(name, _)| name).collect();
    assert!(missing.is_empty(), "no `// summary` first line: {missing:?}");
}
