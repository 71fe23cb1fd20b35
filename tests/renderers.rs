//! The exact shape of each renderer, whole streams compared
//! (tests/common/harness.rs: a stream not stated must be empty).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::harness::{filtered, Test};
use common::Sandbox;

const FIXTURE: &str = r#"// Renderer fixture.
section("Checks");
check("passes", || "fine");
check("fails", || throw "boom");
metric("disk_used_pct", 86.5, #{warn: 85, crit: 90, unit: "%", min: 0, max: 100});
metric("hit_rate", 97, #{warn: 90, crit: 80, bound: "lower", unit: "%"});
metric("days_left", 30, #{warn: 30, crit: 7, bound: "lower"});
section("Notes");
print("plain line");
warn("watch this");
"#;

fn fixture() -> Test {
    Test::new().script("fixture", FIXTURE)
}

#[test]
fn text_report_in_full() {
    fixture()
        .args(&["run", "fixture"])
        .code(2)
        .stdout(
            "fixture — Renderer fixture.

Checks
  ✓ passes: fine
  ✗ fails: boom
  ! disk_used_pct: 86.5%  (warn 85, crit 90)
  ✓ hit_rate: 97%  (warn ≤90, crit ≤80)
  ! days_left: 30  (warn ≤30, crit ≤7)

Notes
  plain line
  ! watch this

CRITICAL · 1 critical · 3 warnings · 2 checks · 3 metrics · [TIME]
",
        )
        .run();
}

#[test]
fn a_script_that_stops_after_a_critical_check_says_why_it_exits_3() {
    Test::new()
        .script("stops", "// Stops.\ncheck(\"fails\", || throw \"boom\");\nthrow \"gave up\";\n")
        .args(&["run", "stops"])
        .code(3)
        .stdout(
            "stops — Stops.

  ✗ fails: boom

  ? error: gave up

CRITICAL · stopped by an error (exit 3) · 1 critical · 1 check · 0 metrics · [TIME]
",
        )
        .stderr(
            "error: gave up
  --> scripts/stops.rhai:3:1
  |
3 | throw \"gave up\";
  | ^
",
        )
        .run();
}

#[test]
fn text_without_colour_when_piped_and_with_colour_never_leaking_into_files() {
    let sb = Sandbox::new();
    sb.write("scripts/fixture.rhai", FIXTURE);
    let out = sb.run(&["run", "fixture"]);
    assert!(!out.stdout.contains('\x1b'), "no escape codes when piped");
    let file = sb.path().join("report.txt");
    sb.run(&["run", "fixture", "--output", file.to_str().unwrap()]);
    assert!(!std::fs::read_to_string(file).unwrap().contains('\x1b'));
}

/// 7.5 ms in seconds is 0.0075, not "0.01"; a Duration given to `metric`
/// is its seconds to the microsecond.
#[test]
fn small_values_and_durations_keep_their_precision() {
    Test::new()
        .script(
            "small",
            r#"// Small values.
metric("ratio", 0.0075);
metric("p", 0.00012, #{unit: "%"});
metric("big", 1234.5678);
"#,
        )
        .args(&["run", "small"])
        .stdout(
            "small — Small values.

  ✓ ratio: 0.0075
  ✓ p: 0.00012%
  ✓ big: 1234.57

OK · 0 checks · 3 metrics · [TIME]
",
        )
        .run();
    let sb = Sandbox::new();
    let code = "let d = time::duration(\"15ms\") * 0.5; metric(\"query\", d, #{warn: 0.5}); metric(\"in_ms\", d, #{unit: \"s\"});";
    let out = sb.run(&["run", "-e", code, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let m = &v["sections"][0]["metrics"];
    assert_eq!(
        (m[0]["value"].as_f64(), m[0]["unit"].as_str(), m[0]["warn"].as_f64()),
        (Some(0.0075), Some("s"), Some(0.5))
    );
    assert_eq!(m[1]["value"].as_f64(), Some(0.0075));
    let wrong = sb.run(&["run", "-e", "metric(\"x\", \"fast\")"]);
    assert!(
        wrong.stderr.starts_with("error: metric: `x` must be a number or a Duration, not string\n"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn nagios_status_line_and_perfdata() {
    fixture()
        .args(&["run", "fixture", "--format", "nagios"])
        .code(2)
        .stdout("FIXTURE CRITICAL - fails: boom; disk_used_pct is 86.5%; days_left is 30; watch this | 'disk_used_pct'=86.5%;85;90;0;100 'hit_rate'=97%;90:;80: 'days_left'=30;30:;7:\n")
        .run();
}

#[test]
fn json_report_in_full() {
    fixture()
        .args(&["run", "fixture", "--json"])
        .code(2)
        .stdout(
            r#"{
  "script": "fixture",
  "summary": "Renderer fixture.",
  "params": {},
  "host": "[HOST]",
  "started_at": "[DATE]",
  "duration_ms": [TIME],
  "dry_run": false,
  "status": "CRITICAL",
  "exit_code": 2,
  "sections": [
    {
      "title": "Checks",
      "checks": [
        {
          "name": "passes",
          "level": "ok",
          "message": "fine",
          "duration_ms": [TIME]
        },
        {
          "name": "fails",
          "level": "critical",
          "message": "boom",
          "duration_ms": [TIME]
        }
      ],
      "metrics": [
        {
          "name": "disk_used_pct",
          "value": 86.5,
          "level": "warning",
          "unit": "%",
          "warn": 85.0,
          "crit": 90.0,
          "min": 0.0,
          "max": 100.0,
          "bound": "upper",
          "note": null
        },
        {
          "name": "hit_rate",
          "value": 97.0,
          "level": "ok",
          "unit": "%",
          "warn": 90.0,
          "crit": 80.0,
          "min": null,
          "max": null,
          "bound": "lower",
          "note": null
        },
        {
          "name": "days_left",
          "value": 30.0,
          "level": "warning",
          "unit": null,
          "warn": 30.0,
          "crit": 7.0,
          "min": null,
          "max": null,
          "bound": "lower",
          "note": null
        }
      ],
      "lines": []
    },
    {
      "title": "Notes",
      "checks": [],
      "metrics": [],
      "lines": [
        {
          "level": null,
          "text": "plain line"
        },
        {
          "level": "warning",
          "text": "watch this"
        }
      ]
    }
  ],
  "error": null
}
"#,
        )
        .run();
}

#[test]
fn json_carries_the_error_with_its_location() {
    Test::new()
        .write("s.rhai", "// S.\nok(\"a\");\nthrow \"broken\";\n")
        .args(&["run", "s.rhai", "--format", "json"])
        .code(3)
        .stdout(
            r#"{
  "script": "s",
  "summary": "S.",
  "params": {},
  "host": "[HOST]",
  "started_at": "[DATE]",
  "duration_ms": [TIME],
  "dry_run": false,
  "status": "UNKNOWN",
  "exit_code": 3,
  "sections": [
    {
      "title": null,
      "checks": [],
      "metrics": [],
      "lines": [
        {
          "level": "ok",
          "text": "a"
        }
      ]
    }
  ],
  "error": {
    "kind": "error",
    "message": "broken",
    "file": "s.rhai",
    "line": 3,
    "column": 1
  }
}
"#,
        )
        .stderr("error: broken\n  --> s.rhai:3:1\n  |\n3 | throw \"broken\";\n  | ^\n")
        .run();
}

#[test]
fn prometheus_textfile_written_atomically() {
    let sb = fixture().args(&["run", "fixture", "--format", "prometheus", "--output", "runbook.prom"]).code(2).run();
    let text = std::fs::read_to_string(sb.path().join("runbook.prom")).unwrap();
    assert_eq!(
        filtered(&text),
        r#"# HELP runbook_status Run status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
# TYPE runbook_status gauge
runbook_status{script="fixture"} 2
# HELP runbook_duration_seconds Wall time of the run.
# TYPE runbook_duration_seconds gauge
runbook_duration_seconds{script="fixture"} [TIME]
# HELP runbook_last_run_timestamp_seconds When the run started, Unix time.
# TYPE runbook_last_run_timestamp_seconds gauge
runbook_last_run_timestamp_seconds{script="fixture"} [DATE]
# HELP runbook_check_ok 1 when the check passed, 0 when it failed.
# TYPE runbook_check_ok gauge
runbook_check_ok{script="fixture",check="passes"} 1
runbook_check_ok{script="fixture",check="fails"} 0
# HELP runbook_disk_used_pct disk_used_pct (unit: %).
# TYPE runbook_disk_used_pct gauge
runbook_disk_used_pct{script="fixture"} 86.5
# HELP runbook_hit_rate hit_rate (unit: %).
# TYPE runbook_hit_rate gauge
runbook_hit_rate{script="fixture"} 97
# HELP runbook_days_left days_left (unit: none).
# TYPE runbook_days_left gauge
runbook_days_left{script="fixture"} 30
# HELP runbook_metric_level Level of each metric: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
# TYPE runbook_metric_level gauge
runbook_metric_level{script="fixture",metric="disk_used_pct"} 1
runbook_metric_level{script="fixture",metric="hit_rate"} 0
runbook_metric_level{script="fixture",metric="days_left"} 1
"#
    );
    let leftovers: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file left behind");
}

#[test]
fn quiet_prints_nothing_when_ok_and_everything_when_not() {
    Test::new().write("ok.rhai", "// S.\nok(\"fine\");\n").args(&["run", "ok.rhai", "--quiet"]).run();
    Test::new()
        .write("bad.rhai", "// S.\ncrit(\"disk full\");\n")
        .args(&["run", "bad.rhai", "--quiet"])
        .code(2)
        .stdout("bad — S.\n\n  ✗ disk full\n\nCRITICAL · 1 critical · 0 checks · 0 metrics · [TIME]\n")
        .run();
}

/// Text from logs and pages reaches the terminal inert: an escape sequence
/// in a container's or nginx's log line (clear the screen, retitle the
/// window), a bell, a C1 control or a bidirectional override is shown as
/// an escape, in every part of the text report, nagios and the error.
#[test]
fn control_sequences_from_outside_are_shown_not_obeyed() {
    let sb = Sandbox::new();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", sb.path().display()));
    let log = sb.path().join("access.log");
    std::fs::write(&log, "GET /\u{1b}]0;pwned\u{7}\u{1b}[2J HTTP/1.1\nbell\u{7} c1\u{9b}31m rtl\u{202e}txt.exe\n")
        .unwrap();
    sb.write(
        "s.rhai",
        &format!(
            "// S.\nlet l = fs::lines(\"{}\");\nprint(l[0]);\ncheck(`path ${{l[0]}}`, || throw l[1]);\nmetric(l[1], 1);\nthrow l[0];\n",
            log.display()
        ),
    );
    let error = "error: GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1\n  --> s.rhai:6:1\n  |\n6 | throw l[0];\n  | ^\n";
    let sb = Test::in_sandbox(sb)
        .args(&["run", "s.rhai"])
        .code(3)
        .stdout("s — S.\n\n  GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1\n  ✗ path GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1: bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe\n  ✓ bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe: 1\n\n  ? error: GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1\n\nCRITICAL · stopped by an error (exit 3) · 1 critical · 1 check · 1 metric · [TIME]\n")
        .stderr(error)
        .run();
    Test::in_sandbox(sb)
        .args(&["run", "s.rhai", "--format", "nagios"])
        .code(3)
        .stdout("S CRITICAL - error: GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1; path GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1: bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe | 'bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe'=1\n")
        .stderr(error)
        .run();
}
