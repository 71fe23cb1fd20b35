//! `logs::*` against the manual's own awk / grep / cut pipelines, run on
//! the same generated files in the test.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Sandbox;
use serde_json::Value;

fn gen_log(path: &Path, lines: u32, garbage_every: Option<u32>) {
    let gen = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/gen_access_log.py");
    let mut c = Command::new("python3");
    c.arg(gen).arg(lines.to_string()).arg(path);
    if let Some(k) = garbage_every {
        c.args(["--garbage-every", &k.to_string()]);
    }
    assert!(c.status().expect("python3 runs the generator").success());
}

/// A shell pipeline under the C locale (awk must not choke on bad UTF-8).
fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).env("LC_ALL", "C").output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `… | sort | uniq -c` as a map.
fn uniq_c(cmd: &str) -> HashMap<String, u64> {
    sh(&format!("{cmd} | sort | uniq -c"))
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (n, k) = l.split_once(' ').unwrap_or((l, ""));
            Some((k.to_string(), n.parse().ok()?))
        })
        .collect()
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("logs")).unwrap();
    sb.config(&format!("[fs]\nroots = [\"{}/logs\"]\n", sb.path().display()));
    sb
}

/// Run `logs::nginx(glob, opts)` in a script and return its result as JSON.
fn nginx_json(sb: &Sandbox, glob: &str, opts: &str) -> Value {
    sb.write("n.rhai", &format!("// S.\nprint(json::stringify(logs::nginx(\"{glob}\", {opts})));\n"));
    let out = sb.run(&["run", "n.rhai", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    serde_json::from_str(report["sections"][0]["lines"][0]["text"].as_str().unwrap()).unwrap()
}

/// Every entry of a top list has exactly the count awk gives that key, and
/// the counts are the awk top counts in order (ties may order differently).
fn assert_top(ours: &Value, key: &str, awk: &HashMap<String, u64>, n: usize) {
    let ours = ours.as_array().unwrap();
    let mut expected: Vec<u64> = awk.values().copied().collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.truncate(n);
    let counts: Vec<u64> = ours.iter().map(|e| e["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, expected, "{key} counts");
    for e in ours {
        let k = e[key].as_str().unwrap();
        assert_eq!(awk.get(k).copied(), e["count"].as_u64(), "{key} {k}");
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

fn check_against_awk(file: &Path, r: &Value, valid: &str) {
    let f = file.display();
    // The manual's pipelines, each prefixed with a filter that keeps the
    // well-formed lines (on a clean log it keeps them all).
    let awk = |prog: &str| format!("awk '{valid}' {f} | awk '{prog}'");
    let requests: u64 = sh(&format!("awk '{valid}' {f} | wc -l")).trim().parse().unwrap();
    assert_eq!(r["requests"].as_u64().unwrap(), requests, "requests (wc -l)");

    let status = uniq_c(&awk("{print $9}"));
    let ours: HashMap<String, u64> =
        r["status_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    assert_eq!(ours, status, "status codes");

    assert_top(&r["top_ips"], "ip", &uniq_c(&awk("{print $1}")), 20);
    assert_top(&r["top_paths"], "path", &uniq_c(&awk("{print $7}")), 20);
    assert_top(&r["top_error_paths"], "path", &uniq_c(&awk("{if ($9 >= 500) print $7}")), 20);

    let slow: u64 = sh(&format!("{} | wc -l", awk("{if ($NF > 1000) print $0}"))).trim().parse().unwrap();
    assert_eq!(r["slow"]["count"].as_u64().unwrap(), slow, "slow requests");
    let first_slow = sh(&format!("{} | head -3", awk("{if ($NF > 1000) print $0}")));
    let ours_slow: Vec<&str> =
        r["slow"]["lines"].as_array().unwrap().iter().take(3).map(|l| l.as_str().unwrap()).collect();
    assert_eq!(ours_slow, first_slow.lines().collect::<Vec<_>>(), "first slow lines, in file order");

    let avg: f64 =
        sh(&format!("{} | awk '{{sum+=$1; count++}} END {{printf \"%.6f\", sum/count}}'", awk("{print $NF}")))
            .parse()
            .unwrap();
    assert!((r["avg_ms"].as_f64().unwrap() - avg).abs() < 1e-3, "average {} vs {avg}", r["avg_ms"]);

    let bytes: u64 = sh(&format!("{} | awk '{{s+=$1}} END {{printf \"%d\", s}}'", awk("{print $10}"))).parse().unwrap();
    assert_eq!(r["bytes"].as_u64().unwrap(), bytes, "bytes");

    let mut ms: Vec<f64> = sh(&awk("{print $NF}")).lines().map(|l| l.parse().unwrap()).collect();
    ms.sort_by(f64::total_cmp);
    for (q, key) in [(50.0, "p50_ms"), (95.0, "p95_ms"), (99.0, "p99_ms")] {
        let exact = percentile(&ms, q);
        let ours = r[key].as_f64().unwrap();
        assert!((ours - exact).abs() <= exact * 0.01, "{key}: {ours} vs exact {exact}");
    }
    assert_eq!(r["max_ms"].as_f64().unwrap(), *ms.last().unwrap());

    let hours = uniq_c(&awk("{print substr($4, 2, 14)}"));
    let per_hour = r["per_hour"].as_array().unwrap();
    assert_eq!(per_hour.len(), hours.len(), "hours");
    assert_eq!(per_hour.iter().map(|h| h["requests"].as_u64().unwrap()).sum::<u64>(), requests);
    let mut awk_counts: Vec<u64> = {
        let mut v: Vec<_> = hours.into_iter().collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    };
    let mut our_counts: Vec<u64> = per_hour.iter().map(|h| h["requests"].as_u64().unwrap()).collect();
    awk_counts.sort_unstable();
    our_counts.sort_unstable();
    assert_eq!(our_counts, awk_counts, "requests per hour");
}

const ALL: &str = "1";
const WELL_FORMED: &str = r#"NF >= 12 && $9 ~ /^[0-9]+$/ && $NF ~ /^[0-9]+$/ && $4 ~ /^\[/"#;

#[test]
fn nginx_matches_the_manuals_awk_pipelines() {
    let sb = sandbox();
    let file = sb.path().join("logs/access.log");
    gen_log(&file, 30_000, None);
    let r = nginx_json(&sb, &file.display().to_string(), "#{top: 20}");
    check_against_awk(&file, &r, ALL);
    assert_eq!(r["malformed"]["count"], 0);
    assert_eq!(r["approximate"], false);
}

#[test]
fn malformed_lines_are_counted_never_fatal() {
    let sb = sandbox();
    let file = sb.path().join("logs/access.log");
    gen_log(&file, 30_000, Some(100));
    let r = nginx_json(&sb, &file.display().to_string(), "#{top: 20}");
    check_against_awk(&file, &r, WELL_FORMED);
    assert_eq!(r["malformed"]["count"].as_u64().unwrap(), 300, "every 100th line of 30000");
    let examples: Vec<&str> =
        r["malformed"]["examples"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(examples.iter().any(|e| e.contains("GET /trunc")), "{examples:?}");
    assert!(examples.iter().any(|e| e.ends_with("(over-long line)")), "{examples:?}");
}

#[test]
fn large_files_split_across_cores_give_the_same_answer() {
    // Over the 8 MiB threshold: scanned in one byte range per core.
    let sb = sandbox();
    let file = sb.path().join("logs/big.log");
    gen_log(&file, 80_000, Some(997));
    assert!(std::fs::metadata(&file).unwrap().len() > 8 << 20);
    let r = nginx_json(&sb, &file.display().to_string(), "#{top: 20}");
    check_against_awk(&file, &r, WELL_FORMED);
}

#[test]
fn rotated_gz_files_and_globs() {
    let sb = sandbox();
    let live = sb.path().join("logs/access.log");
    let old = sb.path().join("logs/access.log.1");
    gen_log(&old, 5_000, None);
    gen_log(&live, 7_000, None);
    let plain = nginx_json(&sb, &old.display().to_string(), "#{}");
    sh(&format!("gzip {}", old.display()));
    let gz = nginx_json(&sb, &format!("{}.gz", old.display()), "#{}");
    for k in ["requests", "bytes", "status_counts", "top_paths", "avg_ms", "p95_ms", "slow"] {
        assert_eq!(plain[k], gz[k], "{k} differs between plain and gz");
    }
    let both = nginx_json(&sb, &format!("{}/logs/access.log*", sb.path().display()), "#{}");
    assert_eq!(both["requests"].as_u64().unwrap(), 12_000);
    assert_eq!(both["files"].as_array().unwrap().len(), 2);
}

#[test]
fn since_and_until_window() {
    let sb = sandbox();
    let file = sb.path().join("logs/access.log");
    gen_log(&file, 20_000, None);
    let r = nginx_json(
        &sb,
        &file.display().to_string(),
        "#{since: \"2026-01-01T02:00:00Z\", \"until\": \"2026-01-01T04:00:00Z\"}",
    );
    let f = file.display();
    let expected: u64 =
        sh(&format!("awk '$4 >= \"[01/Jan/2026:02\" && $4 < \"[01/Jan/2026:04\"' {f} | wc -l")).trim().parse().unwrap();
    assert!(expected > 1000);
    assert_eq!(r["requests"].as_u64().unwrap(), expected);
    assert_eq!(r["outside_window"].as_u64().unwrap(), 20_000 - expected);
    assert_eq!(r["per_hour"].as_array().unwrap().len(), 2);
    assert_eq!(r["per_hour"][0]["hour"], "2026-01-01T02:00:00Z");
}

#[test]
fn custom_log_format() {
    let sb = sandbox();
    sb.write("logs/custom.log", "1.1.1.1 [01/Jan/2026:00:00:01 +0000] \"GET /a HTTP/1.1\" 200 0.120\n2.2.2.2 [01/Jan/2026:00:00:02 +0000] \"GET /b HTTP/1.1\" 503 1.500\n");
    let r = nginx_json(
        &sb,
        &format!("{}/logs/custom.log", sb.path().display()),
        "#{format: `$remote_addr [$time_local] \"$request\" $status $request_time`}",
    );
    assert_eq!(r["requests"], 2);
    assert_eq!(r["slow"]["count"], 1);
    assert_eq!(r["top_error_paths"][0]["path"], "/b");
    assert_eq!(r["max_ms"], 1500.0);
}

fn app_log(sb: &Sandbox) -> PathBuf {
    let mut text = String::new();
    let msgs =
        ["database timeout after 30 s", "user 123 not found", "user 98 not found", "payment failed", "payment failed"];
    for h in 0..5 {
        for m in 0..(h + 3) {
            let msg = msgs[(h + m) % msgs.len()];
            text.push_str(&format!("2026-02-14 {:02}:{:02}:01,123 ERROR [app.api] {msg}\n", 8 + h, m));
            text.push_str(&format!("2026-02-14 {:02}:{:02}:02,456 INFO [app.api] request ok\n", 8 + h, m));
        }
    }
    text.push_str("2026-02-14 13:00:00,000 ERROR [app.worker] SpecificError: queue stuck\n");
    sb.write("logs/app.log", &text)
}

#[test]
fn app_log_matches_grep_and_cut() {
    let sb = sandbox();
    let file = app_log(&sb);
    let f = file.display();
    sb.write("a.rhai", &format!("// S.\nprint(json::stringify(logs::app(\"{f}\")));\n"));
    let out = sb.run(&["run", "a.rhai", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let r: Value = serde_json::from_str(report["sections"][0]["lines"][0]["text"].as_str().unwrap()).unwrap();

    let total: u64 = sh(&format!("grep \"ERROR\" {f} | wc -l")).trim().parse().unwrap();
    assert_eq!(r["total"].as_u64().unwrap(), total);
    // Error frequency by hour: grep "ERROR" | cut -d' ' -f1,2 | cut -d: -f1 | sort | uniq -c
    let by_hour = uniq_c(&format!("grep \"ERROR\" {f} | cut -d' ' -f1,2 | cut -d: -f1"));
    let ours: HashMap<String, u64> = r["per_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["hour"].as_str().unwrap().to_string(), h["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(ours, by_hour);
    // Top error messages: cut -d']' -f2- | sort | uniq -c, where the two
    // "user N not found" lines group into one once numbers are normalised.
    let top = uniq_c(&format!("grep \"ERROR\" {f} | cut -d']' -f2- | sed 's/^ //'"));
    let messages: HashMap<String, u64> = r["top_messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["message"].as_str().unwrap().to_string(), m["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(messages["payment failed"], top["payment failed"]);
    assert_eq!(messages["database timeout after <n> s"], top["database timeout after 30 s"]);
    assert_eq!(messages["user <n> not found"], top["user 123 not found"] + top["user 98 not found"]);
}

#[test]
fn grep_count_and_tail_match_their_unix_namesakes() {
    let sb = sandbox();
    let file = app_log(&sb);
    let f = file.display();
    sb.write(
        "g.rhai",
        &format!(
            "// S.\nlet m = logs::grep(\"{f}\", \"not found\");\nprint(m.len());\nprint(m[0].line);\nprint(logs::count(\"{f}\", \"ERROR\"));\nlet t = logs::tail(\"{f}\", 3);\nfor l in t {{ print(l); }}\nlet c = logs::grep(\"{f}\", \"SpecificError\", #{{context: 1, last: 20}});\nprint(c[0].before[0]);\nprint(c.len());\n"
        ),
    );
    let out = sb.run(&["run", "g.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let printed = common::printed(&out);
    let lines: Vec<&str> = printed.iter().map(|l| l.trim_start()).collect();
    let grep_n: Vec<String> = sh(&format!("grep -n 'not found' {f}")).lines().map(String::from).collect();
    assert_eq!(lines[0], grep_n.len().to_string());
    assert_eq!(lines[1], grep_n[0].split(':').next().unwrap());
    assert_eq!(lines[2], sh(&format!("grep -c ERROR {f}")).trim());
    let tail = sh(&format!("tail -n 3 {f}"));
    assert_eq!(&lines[3..6], tail.lines().collect::<Vec<_>>().as_slice());
    assert_eq!(lines[6], sh(&format!("grep -B1 SpecificError {f} | head -1")).trim_end());
    assert_eq!(lines[7], "1");
}

#[test]
fn logs_outside_the_roots_are_refused() {
    let sb = sandbox();
    sb.write("n.rhai", "// S.\nlogs::nginx(\"/etc/passwd\");\n");
    let out = sb.run(&["run", "n.rhai"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("logs::nginx: /etc/passwd is outside the allowed roots"), "{}", out.stderr);
}

/// nginx's own `$request_time` is seconds ("0.600"): read as such, the
/// p95 is 600 ms and the manual's 500 ms threshold fires; a log of whole
/// seconds is read as seconds once runbook.toml says so; the scripts say
/// what they assumed.
#[test]
fn request_times_in_seconds_are_detected_declared_and_said() {
    let sb = sandbox();
    let line = |t: &str| {
        format!("10.0.0.1 - - [01/Dec/2026:10:00:00 +0000] \"GET /api HTTP/1.1\" 200 512 \"-\" \"curl\" {t}\n")
    };
    let seconds: String = (0..19).map(|_| line("0.600")).collect::<String>() + &line("2.500");
    sb.write("logs/seconds.log", &seconds);
    let log = sb.path().join("logs/seconds.log").display().to_string();
    let r = nginx_json(&sb, &log, "#{}");
    assert_eq!(
        (r["p95_ms"].as_f64(), r["max_ms"].as_f64(), r["slow"]["count"].as_i64(), r["request_time_unit"].as_str()),
        (Some(600.0), Some(2500.0), Some(1), Some("seconds"))
    );
    let out = sb.run(&["run", "weekly/performance-review", "--arg", &format!("log={log}"), "--arg", "since=3650d"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Response times\n  request times read as seconds ($request_time)\n  ✓ avg_ms: 695 ms\n  ✓ p50_ms: 600 ms\n  ! p95_ms: 600 ms  (warn 500, crit 1000)\n"),
        "{}",
        out.stdout
    );

    // Whole seconds cannot be told from milliseconds: the config says.
    let whole: String = (0..10).map(|_| line("2")).collect();
    sb.write("logs/whole.log", &whole);
    let whole_log = sb.path().join("logs/whole.log").display().to_string();
    assert_eq!(nginx_json(&sb, &whole_log, "#{}")["p95_ms"].as_f64(), Some(2.0));
    assert_eq!(nginx_json(&sb, &whole_log, "#{request_time: \"seconds\"}")["p95_ms"].as_f64(), Some(2000.0));
    sb.config(&format!(
        "[fs]\nroots = [\"{}/logs\"]\n\n[logs]\nnginx_request_time = \"seconds\"\n",
        sb.path().display()
    ));
    let declared = nginx_json(&sb, &whole_log, "#{}");
    assert_eq!((declared["p95_ms"].as_f64(), declared["request_time_unit"].as_str()), (Some(2000.0), Some("seconds")));
    sb.config(&format!(
        "[fs]\nroots = [\"{}/logs\"]\n\n[logs]\nnginx_request_time = \"minutes\"\n",
        sb.path().display()
    ));
    let bad = sb.run(&["run", "-e", "1"]);
    assert_eq!(bad.code, 78, "{}", bad.stderr);
    assert!(bad.stderr.contains("key `logs.nginx_request_time`: unknown variant `minutes`, expected one of `auto`, `seconds`, `milliseconds`"), "{}", bad.stderr);
}
