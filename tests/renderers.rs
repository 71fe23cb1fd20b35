//! The exact shape of each renderer.

mod common;
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

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("scripts/fixture.rhai", FIXTURE);
    sb
}

#[test]
fn text_report_in_full() {
    let out = sandbox().run(&["run", "fixture"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stdout_norm(),
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

CRITICAL · 1 critical · 3 warnings · 2 checks · 3 metrics · N ms
"
    );
}

#[test]
fn a_script_that_stops_after_a_critical_check_says_why_it_exits_3() {
    let sb = Sandbox::new();
    sb.write("scripts/stops.rhai", "// Stops.\ncheck(\"fails\", || throw \"boom\");\nthrow \"gave up\";\n");
    let out = sb.run(&["run", "stops"]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stdout_norm(),
        "stops — Stops.

  ✗ fails: boom

  ? error: gave up

CRITICAL · stopped by an error (exit 3) · 1 critical · 1 check · 0 metrics · N ms
"
    );
}

#[test]
fn text_without_colour_when_piped_and_with_colour_never_leaking_into_files() {
    let sb = sandbox();
    let out = sb.run(&["run", "fixture"]);
    assert!(!out.stdout.contains('\x1b'), "no escape codes when piped");
    let file = sb.path().join("report.txt");
    sb.run(&["run", "fixture", "--output", file.to_str().unwrap()]);
    assert!(!std::fs::read_to_string(file).unwrap().contains('\x1b'));
}

#[test]
fn nagios_status_line_and_perfdata() {
    let out = sandbox().run(&["run", "fixture", "--format", "nagios"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stdout,
        "FIXTURE CRITICAL - fails: boom; disk_used_pct is 86.5%; days_left is 30; watch this | 'disk_used_pct'=86.5%;85;90;0;100 'hit_rate'=97%;90:;80: 'days_left'=30;30:;7:\n"
    );
}

#[test]
fn json_report_shape() {
    let out = sandbox().run(&["run", "fixture", "--json"]);
    assert_eq!(out.code, 2);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(v["script"], "fixture");
    assert_eq!(v["status"], "CRITICAL");
    assert_eq!(v["exit_code"], 2);
    assert!(v["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(v["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(v["duration_ms"].is_u64());
    let s = v["sections"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0]["title"], "Checks");
    assert_eq!(
        s[0]["checks"][0],
        serde_json::json!({"name": "passes", "level": "ok", "message": "fine", "duration_ms": s[0]["checks"][0]["duration_ms"]})
    );
    assert_eq!(s[0]["checks"][1]["level"], "critical");
    assert_eq!(s[0]["checks"][1]["message"], "boom");
    assert_eq!(s[0]["metrics"][0]["name"], "disk_used_pct");
    assert_eq!(s[0]["metrics"][0]["value"], 86.5);
    assert_eq!(s[0]["metrics"][0]["level"], "warning");
    assert_eq!(s[0]["metrics"][1]["bound"], "lower");
    assert_eq!(s[1]["lines"][0]["text"], "plain line");
    assert_eq!(s[1]["lines"][1]["level"], "warning");
    assert!(v["error"].is_null());
}

#[test]
fn json_carries_the_error_with_its_location() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\nok(\"a\");\nthrow \"broken\";\n");
    let out = sb.run(&["run", "s.rhai", "--format", "json"]);
    assert_eq!(out.code, 3);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["status"], "UNKNOWN");
    assert_eq!(v["error"]["message"], "broken");
    assert_eq!(v["error"]["line"], 3);
    assert_eq!(v["error"]["file"], "s.rhai");
}

#[test]
fn prometheus_textfile_written_atomically() {
    let sb = sandbox();
    let file = sb.path().join("runbook.prom");
    let out = sb.run(&["run", "fixture", "--format", "prometheus", "--output", file.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "", "with --output nothing goes to stdout");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines[0], "runbook_status{script=\"fixture\"} 2");
    assert!(lines[1].starts_with("runbook_duration_seconds{script=\"fixture\"} "));
    assert!(lines.contains(&"runbook_check_ok{script=\"fixture\",check=\"passes\"} 1"));
    assert!(lines.contains(&"runbook_check_ok{script=\"fixture\",check=\"fails\"} 0"));
    assert!(lines.contains(&"runbook_disk_used_pct{script=\"fixture\"} 86.5"));
    assert!(lines.contains(&"runbook_hit_rate{script=\"fixture\"} 97"));
    assert!(lines.contains(&"runbook_metric_level{script=\"fixture\",metric=\"disk_used_pct\"} 1"));
    assert!(text.contains("# TYPE runbook_status gauge"));
    let leftovers: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file left behind");
}

#[test]
fn quiet_prints_nothing_when_ok_and_everything_when_not() {
    let sb = Sandbox::new();
    sb.write("ok.rhai", "// S.\nok(\"fine\");\n");
    sb.write("bad.rhai", "// S.\ncrit(\"disk full\");\n");
    let ok = sb.run(&["run", "ok.rhai", "--quiet"]);
    assert_eq!((ok.code, ok.stdout.as_str()), (0, ""));
    let bad = sb.run(&["run", "bad.rhai", "--quiet"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stdout.contains("✗ disk full"), "{}", bad.stdout);
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
    let text = sb.run(&["run", "s.rhai"]);
    assert_eq!(
        text.stdout,
        "s — S.\n\n  GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1\n  ✗ path GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1: bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe\n  ✓ bell\\x07 c1\\x9b31m rtl\\u{202e}txt.exe: 1\n\n  ? error: GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1\n\nCRITICAL · stopped by an error (exit 3) · 1 critical · 1 check · 1 metric · N ms\n"
            .replace(" N ms", &format!(" {} ms", text.stdout.rsplit(" · ").next().unwrap().trim_end_matches(" ms\n"))),
        "{}",
        text.stdout
    );
    assert!(!text.stderr.contains('\u{1b}'), "{:?}", text.stderr);
    assert!(text.stderr.contains("GET /\\e]0;pwned\\x07\\e[2J HTTP/1.1"), "{}", text.stderr);
    let nagios = sb.run(&["run", "s.rhai", "--format", "nagios"]);
    assert!(!nagios.stdout.contains('\u{1b}') && !nagios.stdout.contains('\u{7}'), "{:?}", nagios.stdout);
}
