//! The REPL through a real pseudo-terminal: what an operator types, what
//! they see.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{service, Sandbox};
use expectrl::{ControlCode, Regex, Session};

fn start(sb: &Sandbox) -> Session {
    start_with(sb, &[])
}

fn start_with(sb: &Sandbox, args: &[&str]) -> Session {
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(sb.path())
        .arg("repl")
        .args(args)
        .env_remove("RUNBOOK_CONFIG")
        .env("HOME", sb.path())
        .env("XDG_STATE_HOME", sb.path().join("state"))
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = Session::spawn(cmd).expect("a pty");
    p.set_expect_timeout(Some(Duration::from_secs(15)));
    prompt(&mut p);
    p
}

/// The prompt that follows output (a newline, maybe terminal modes, the
/// prompt), not the ones rustyline redraws while a line is typed. Returns
/// what came before it, without escape sequences.
fn prompt(p: &mut Session) -> String {
    let m = p.expect(Regex(r"\n(?:\x1b\[[0-9;?]*[A-Za-z]|\r)*runbook(?: \(dry-run\))?> ")).expect("the prompt");
    strip(&String::from_utf8_lossy(m.before()))
}

fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out + "\n"
}

/// Send a line and wait for the next prompt; what was printed in between.
fn eval(p: &mut Session, line: &str) -> String {
    p.send_line(line).unwrap();
    prompt(p)
}

#[test]
fn variables_functions_and_multiline_input_persist() {
    let sb = Sandbox::new();
    let mut p = start(&sb);
    eval(&mut p, "let x = 40;");
    p.send_line("fn add2(n) {").unwrap();
    p.send_line("  n + 2").unwrap();
    p.send_line("}").unwrap();
    prompt(&mut p);
    let out = eval(&mut p, "add2(x)");
    assert!(out.ends_with("\n42\n"), "{out:?}");
    let out = eval(&mut p, "#{name: \"disk\", size: 1536}");
    assert!(out.contains("name  disk\nsize  1.5 KiB (1536)\n"), "{out:?}");
    let out = eval(&mut p, "time::duration(\"90m\")");
    assert!(out.ends_with("\n1h30m\n"), "{out:?}");
    // A time as `run` prints it and JSON gives it, not in another form.
    let out = eval(&mut p, "time::parse(\"2026-11-28 09:00:00.5\")");
    assert!(out.ends_with("\n2026-11-28T09:00:00.500Z\n"), "{out:?}");
    let out = eval(&mut p, "#{at: time::parse(\"2026-11-28\")}");
    assert!(out.ends_with("\nat  2026-11-28T00:00:00Z\n"), "{out:?}");
    let out = eval(&mut p, ":vars");
    assert!(out.contains("x: i64 = 40"), "{out:?}");
    p.send(ControlCode::EndOfTransmission).unwrap();
}

#[test]
fn errors_show_a_caret_and_the_session_goes_on() {
    let sb = Sandbox::new();
    let mut p = start(&sb);
    let out = eval(&mut p, "sys::dsk(\"/\")");
    assert!(out.contains("error: unknown function `sys::dsk(string)`\n  --> <input>:1:6\n"), "{out:?}");
    assert!(out.contains("1 | sys::dsk(\"/\")\n  |      ^\n  = help: did you mean `sys::disk`?"), "{out:?}");
    let out = eval(&mut p, "1 + 2");
    assert!(out.ends_with("\n3\n"), "{out:?}");
    // A line that runs but not as written is said as it runs, as `run` does.
    let out = eval(&mut p, "let s = \" a \"; let t = s.trim();");
    assert!(
        out.contains("warning: `s.trim(…)` changes `s` in place and returns (), so its value here is ()"),
        "{out:?}"
    );
    // A handle's method mistyped gets the did-you-mean `run` gives.
    let out = eval(&mut p, "time::now().formt(\"%Y\")");
    assert!(out.contains("= help: did you mean `format`?"), "{out:?}");
}

#[test]
fn records_from_a_real_query_show_as_a_table() {
    let sb = Sandbox::with_services("");
    let mut p = start(&sb);
    eval(&mut p, "let db = pg::connect(\"main\");");
    let out = eval(&mut p, "db.query(\"SELECT role, count(*) AS n FROM users GROUP BY role ORDER BY n DESC\")");
    assert!(
        out.contains("role       n\n─────────  ─────\nuser       19600\nmoderator    360\nadmin         40\n"),
        "{out:?}"
    );
    let out = eval(&mut p, "db.query(\"SELECT id FROM users ORDER BY id LIMIT 60\")");
    assert!(out.contains("\n… 10 more rows\n"), "long tables are cut: {out:?}");
    let out = eval(&mut p, ":json");
    assert!(out.contains("values shown as JSON"), "{out:?}");
    let out = eval(&mut p, "db.query_one(\"SELECT 1 AS one\")");
    assert!(out.contains("\"one\": 1"), "{out:?}");
}

#[test]
fn tab_completes_functions_and_target_names() {
    let sb = Sandbox::with_services("");
    let mut p = start(&sb);
    // "sys::hostn" + Tab completes to sys::hostname.
    p.send("sys::hostn").unwrap();
    p.send(ControlCode::HorizontalTabulation).unwrap();
    p.send("()\r").unwrap();
    let out = prompt(&mut p);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(out.contains(&format!("\n{}\n", host.trim())), "{out:?}");
    // Inside pg::connect(" the target names of runbook.toml complete.
    p.send("let db = pg::connect(\"ma").unwrap();
    p.send(ControlCode::HorizontalTabulation).unwrap();
    p.send("\");\r").unwrap();
    prompt(&mut p);
    let out = eval(&mut p, "db.name");
    assert!(out.ends_with("\nmain\n"), "{out:?}");
    // After `db.` only a PgConnection's methods are offered: "s" is
    // `scalar` alone, where every type's methods would add set, summary.
    p.send("db.s").unwrap();
    p.send(ControlCode::HorizontalTabulation).unwrap();
    p.send("(\"SELECT 41 + 1\")\r").unwrap();
    let out = prompt(&mut p);
    assert!(out.ends_with("\n42\n"), "{out:?}");
}

#[test]
fn ctrl_c_interrupts_a_slow_query_and_the_session_goes_on() {
    let sb = Sandbox::with_services("");
    let mut p = start(&sb);
    eval(&mut p, "let db = pg::connect(\"main\");");
    let tag = format!("rbtest-repl-{}", std::process::id());
    p.send_line(format!("db.scalar(\"SELECT pg_sleep(30) /* {tag} */\")")).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    p.send(ControlCode::EndOfText).unwrap();
    let out = prompt(&mut p);
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert!(out.contains("interrupted"), "{out:?}");
    // Not only the prompt is back: the statement no longer runs on the server.
    let running = common::psql(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{tag}%' AND pid <> pg_backend_pid()"
    ));
    assert_eq!(running, "0");
    let out = eval(&mut p, "db.scalar(\"SELECT 6 * 7\")");
    assert!(out.ends_with("\n42\n"), "still usable, connection included: {out:?}");
    // And a loop in Rhai itself.
    p.send_line("loop {}").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    p.send(ControlCode::EndOfText).unwrap();
    prompt(&mut p);
    let out = eval(&mut p, "1");
    assert!(out.ends_with("\n1\n"), "{out:?}");
}

#[test]
fn data_losing_calls_ask_y_or_n() {
    let sb = Sandbox::new();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", sb.path().display()));
    let f = sb.write("old.log", "x");
    let mut p = start(&sb);
    p.send_line(format!("fs::remove(\"{}\")", f.display())).unwrap();
    p.expect("Go ahead? [y/N] ").unwrap();
    p.send_line("n").unwrap();
    assert!(prompt(&mut p).contains("not confirmed"));
    assert!(f.exists());
    p.send_line(format!("fs::remove(\"{}\")", f.display())).unwrap();
    p.expect("Go ahead? [y/N] ").unwrap();
    p.send_line("y").unwrap();
    // Nothing is printed for a removal; the next input shows the session
    // went on without an error.
    let out = eval(&mut p, "40 + 2");
    assert!(!out.contains("not confirmed") && out.ends_with("\n42\n"), "{out:?}");
    assert!(!f.exists());
}

#[test]
fn history_is_kept_between_sessions_without_secrets() {
    let sb = Sandbox::new();
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let mut p = start(&sb);
    eval(&mut p, "let a = 123;");
    eval(&mut p, &format!("let r = redis::connect(\"{url}\");"));
    eval(&mut p, "r.ping()");
    p.send(ControlCode::EndOfTransmission).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let history = std::fs::read_to_string(sb.path().join("state/runbook/history")).expect("history file");
    assert!(history.contains("let a = 123;"), "{history}");
    assert!(history.contains("r.ping()"), "{history}");
    assert!(!history.contains("redis-test-pw"), "a secret reached the history: {history}");
    // A new session finds it: Up arrow brings back the last line.
    let mut p = start(&sb);
    p.send("\x1b[A\x1b[A\r").unwrap();
    prompt(&mut p);
    let out = eval(&mut p, "a");
    assert!(out.ends_with("\n123\n"), "{out:?}");
}

/// The REPL's scope is a script's (`DRY_RUN` was missing), and its line
/// history lives in `[run] state_dir` like every other state file.
#[test]
fn the_session_has_a_scripts_environment_and_keeps_history_in_state_dir() {
    let sb = Sandbox::new();
    let kept = sb.path().join("kept");
    sb.config(&format!("[run]\nstate_dir = \"{}\"\n", kept.display()));
    let mut p = start_with(&sb, &["--config", &sb.path().join("runbook.toml").display().to_string(), "--dry-run"]);
    let out = eval(&mut p, "`${SCRIPT} ${DRY_RUN}`");
    assert!(out.ends_with("\nrepl true\n"), "{out:?}");
    p.send(ControlCode::EndOfTransmission).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let history = std::fs::read_to_string(kept.join("history")).expect("the history in state_dir");
    assert!(history.contains("`${SCRIPT} ${DRY_RUN}`"), "{history}");
    assert!(!sb.path().join("state/runbook/history").exists(), "the history went to XDG_STATE_HOME");
}

#[test]
fn load_runs_a_script_into_the_session() {
    let sb = Sandbox::new();
    let f = sb.write("helpers.rhai", "// Helpers.\nlet loaded = 7;\nfn triple(n) { n * 3 }\n");
    let mut p = start(&sb);
    let out = eval(&mut p, &format!(":load {}", f.display()));
    assert!(out.contains("loaded "), "{out:?}");
    let out = eval(&mut p, "triple(loaded) * 2");
    assert!(out.ends_with("\n42\n"), "{out:?}");
    let out = eval(&mut p, "import \"format\" as fmt;");
    assert!(!out.contains("error"), "{out:?}");
    let out = eval(&mut p, "fmt::count(1234567)");
    assert!(out.ends_with("\n1,234,567\n"), "imports persist: {out:?}");
    let out = eval(&mut p, ":doc sys::disk");
    assert!(out.contains("sys::disk(path: string) -> map"), "{out:?}");
}
