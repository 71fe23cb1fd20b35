//! `fleet::each`: a closure per target of a group inside one script, a
//! few at once on threads of the process, each target's report in a
//! section of its own in the group's order, the results in order. Against
//! the real PostgreSQL of the tests and a closed port.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::fleet::{bad, closed_port, good};
use common::{service, Sandbox};

/// Times as `N ms` and `N.NN s`, the closed port as `PORT`.
fn norm(s: &str) -> String {
    let s = regex::Regex::new(r"\d+ ms").unwrap().replace_all(s, "N ms");
    let s = regex::Regex::new(r"\d+\.\d\d s").unwrap().replace_all(&s, "N.NN s");
    regex::Regex::new(r"(127\.0\.0\.1:|-p )\d+").unwrap().replace_all(&s, "${1}PORT").into_owned()
}

/// `runbook run each` of `script` with `config` and `args`: its stdout,
/// normalised, once the exit code is `code`.
fn run_each(config: &str, script: &str, args: &[&str], code: i32) -> String {
    let mut all = vec!["--scripts-dir", "scripts", "run", "each"];
    all.extend_from_slice(args);
    let out = sandbox(config, script).run(&all);
    assert_eq!(out.code, code, "{}{}", out.stdout, out.stderr);
    norm(&out.stdout)
}

fn sandbox(config: &str, script: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(config);
    sb.write("scripts/each.rhai", script);
    sb
}

const CHECKS: &str = "\
// Each replica answers.
let r = fleet::each(\"replicas\", |name| {
    print(`asking ${name}`);
    check(\"answers\", || pg::connect(name).scalar(\"SELECT 1\") == 1);
    name.len()
});
print(`values: ${r.map(|x| x.value)}`);
print(`ok: ${r.map(|x| x.ok)}`);
print(`status: ${r.map(|x| x.status)}`);
";

#[test]
fn each_target_gets_a_section_in_order_and_the_worst_level_is_the_exit_code() {
    let port = closed_port();
    let sb = sandbox(
        &format!("{}{}{}", good("a", "replicas"), bad("bb", "replicas", port), good("ccc", "replicas")),
        CHECKS,
    );
    let out = sb.run(&["--scripts-dir", "scripts", "run", "each"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        norm(&out.stdout),
        "each — Each replica answers.\n\
         \n\
         postgres.a\n\
         \x20 asking a\n\
         \x20 ✓ answers\n\
         \n\
         postgres.bb\n\
         \x20 asking bb\n\
         \x20 ✗ answers: pg (bb): connection refused at 127.0.0.1:PORT: is PostgreSQL running and listening there? (pg_isready -h 127.0.0.1 -p PORT)\n\
         \n\
         postgres.ccc\n\
         \x20 asking ccc\n\
         \x20 ✓ answers\n\
         \n\
         replicas: 3 targets, 1 not OK\n\
         \x20 ✓ postgres.a    OK        N.NN s\n\
         \x20 ✗ postgres.bb   CRITICAL  N.NN s\n\
         \x20 ✓ postgres.ccc  OK        N.NN s\n\
         \x20 values: [1, 2, 3]\n\
         \x20 ok: [true, false, true]\n\
         \x20 status: [\"OK\", \"CRITICAL\", \"OK\"]\n\
         \n\
         CRITICAL · 1 critical · 3 checks · 0 metrics · N ms\n"
    );
}

#[test]
fn forks_bound_how_many_closures_run_at_once() {
    let config: String = (1..=6).map(|i| good(&format!("p{i}"), "six")).collect();
    let script = "\
let start = time::now();
let r = fleet::each(\"six\", #{forks: 2}, |name| {
    let a = (time::now() - start).ms;
    pg::connect(name).scalar(\"SELECT pg_sleep(0.4)\");
    [a, (time::now() - start).ms]
});
print(json::stringify(r.map(|x| x.value)));
";
    let sb = sandbox(&config, script);
    let out = sb.run(&["--scripts-dir", "scripts", "run", "each"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let line = out.stdout.lines().map(str::trim).find(|l| l.starts_with("[[")).unwrap();
    let spans: Vec<(i64, i64)> =
        serde_json::from_str::<Vec<[i64; 2]>>(line).unwrap().into_iter().map(|[a, b]| (a, b)).collect();
    assert_eq!(spans.len(), 6);
    let most =
        spans.iter().map(|&(s, e)| (s + e) / 2).map(|m| spans.iter().filter(|&&(a, b)| a <= m && m < b).count()).max();
    assert_eq!(most.unwrap(), 2, "{spans:?}");
    // Three rounds of two, not six one after the other.
    let last = spans.iter().map(|s| s.1).max().unwrap();
    assert!((1200..2300).contains(&last), "{spans:?}");
}

#[test]
fn serial_stops_at_the_first_target_that_is_not_ok() {
    let port = closed_port();
    let config = format!("{}{}{}", good("a", "web"), bad("b", "web", port), good("c", "web"));
    let script = "\
let r = fleet::each(\"web\", #{serial: 1}, |name| {
    check(\"answers\", || pg::connect(name).scalar(\"SELECT 1\") == 1);
});
print(`status: ${r.map(|x| x.status)}`);
print(`error: ${r[2].error}`);
";
    assert_eq!(
        run_each(&config, script, &[], 2),
        "each\n\
         \n\
         postgres.a\n\
         \x20 ✓ answers\n\
         \n\
         postgres.b\n\
         \x20 ✗ answers: pg (b): connection refused at 127.0.0.1:PORT: is PostgreSQL running and listening there? (pg_isready -h 127.0.0.1 -p PORT)\n\
         \n\
         postgres.c\n\
         \x20 not run: postgres.b did not end OK (serial stops at the first)\n\
         \n\
         web: 3 targets, 2 not OK\n\
         \x20 ✓ postgres.a  OK        N.NN s\n\
         \x20 ✗ postgres.b  CRITICAL  N.NN s\n\
         \x20 - postgres.c  NOT RUN\n\
         \x20 status: [\"OK\", \"CRITICAL\", \"NOT RUN\"]\n\
         \x20 error: not run: postgres.b did not end OK (serial stops at the first)\n\
         \n\
         CRITICAL · 1 critical · 2 checks · 0 metrics · N ms\n"
    );
}

#[test]
fn a_throw_fails_its_target_only_and_a_timeout_stops_them_all() {
    let script = "\
let r = fleet::each([\"x\", \"y\"], |s| if s == \"x\" { throw \"broken\" } else { s + s });
print(`${r[0].status} ${r[0].error} | ${r[1].status} ${r[1].value}`);
fleet::each([\"slow-1\", \"slow-2\", \"slow-3\"], #{forks: 1}, |s| time::sleep(\"5s\"));
print(\"not reached\");
";
    let sb = sandbox("", script);
    let started = std::time::Instant::now();
    let out = sb.run(&["--scripts-dir", "scripts", "run", "each", "--timeout", "1s"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        norm(&out.stdout),
        "each\n\
         \n\
         x\n\
         \x20 ✗ failed: broken\n\
         \n\
         y\n\
         \n\
         fleet::each: 2 targets, 1 not OK\n\
         \x20 ✗ x  FAILED    N.NN s\n\
         \x20 ✓ y  OK        N.NN s\n\
         \x20 CRITICAL broken | OK yy\n\
         \n\
         slow-1\n\
         \x20 stopped here (timeout)\n\
         \n\
         slow-2\n\
         \x20 not run: the run was stopped\n\
         \n\
         slow-3\n\
         \x20 not run: the run was stopped\n\
         \n\
         \x20 ? timeout: the run exceeded its time limit of 1s\n\
         \n\
         CRITICAL · stopped by its time limit (exit 3) · 1 critical · 0 checks · 0 metrics · N ms\n"
    );
}

#[test]
fn a_dry_run_holds_inside_every_closure() {
    let config = format!("{}{}", good("a", "pair"), good("b", "pair"));
    let script = "\
fleet::each(\"pair\", |name| pg::connect(name).execute(`CREATE TABLE fleet_each_${name} (x int)`));
";
    assert_eq!(
        run_each(&config, script, &["--dry-run"], 0),
        "each  [dry run: nothing is changed]\n\
         \n\
         postgres.a\n\
         \x20 · would execute on a: CREATE TABLE fleet_each_a (x int)\n\
         \n\
         postgres.b\n\
         \x20 · would execute on b: CREATE TABLE fleet_each_b (x int)\n\
         \n\
         pair: 2 targets, all OK\n\
         \x20 ✓ postgres.a  OK        N.NN s\n\
         \x20 ✓ postgres.b  OK        N.NN s\n\
         \n\
         OK · 0 checks · 0 metrics · N ms\n"
    );
    let probe = sandbox(&config, "").run(&[
        "run",
        "-e",
        "print(pg::connect(\"a\").scalar(\"SELECT count(*) FROM pg_tables WHERE tablename LIKE 'fleet_each_%'\"))",
    ]);
    assert_eq!(probe.stdout, "0\n", "{}", probe.stderr);
}

#[test]
fn what_cannot_fan_out_is_refused_with_help() {
    let config = format!(
        "{}{}[redis.cache]\nurl = \"redis://127.0.0.1:1\"\ngroup = \"mixed\"\n\n\
         [docker.web1]\nhost = \"unix:///var/run/docker.sock\"\ngroup = \"engines\"\n",
        good("a", "replicas"),
        good("cache", "mixed")
    );
    let sb = sandbox(&config, "");
    let refused = |what: &str| format!("error: fleet::each: {what}\n");
    for (code, said) in [
        (
            "fleet::each(\"replica\", |n| n)",
            refused("no group `replica` in runbook.toml; did you mean `replicas`? groups: engines, mixed, replicas"),
        ),
        (
            "fleet::each(\"engines\", |n| n)",
            refused(
                "group `engines` holds Docker engines (web1): a closure cannot be bound to an engine; \
                 run the script once per engine with `runbook run SCRIPT --on engines`",
            ),
        ),
        ("fleet::each(\"replicas\", #{fork: 2}, |n| n)", refused("unknown option `fork` (did you mean `forks`?)")),
        (
            "fleet::each(\"replicas\", #{forks: 2, serial: 1}, |n| n)",
            refused(
                "give `forks` (at most N at once) or `serial` (K at a time, stopping at the first not OK), not both",
            ),
        ),
        ("fleet::each(\"replicas\", #{forks: 0}, |n| n)", refused("option `forks` must be from 1 to 64, not 0")),
        ("fleet::each([\"a\", 2], |n| n)", refused("item 2 is not a name (a string): 2")),
        ("fleet::each(\"replicas\", #{serial: 65}, |n| n)", refused("option `serial` must be from 1 to 64, not 65")),
        (
            "fleet::each(\"mixed\", |n| n)",
            refused(
                "group `mixed` holds postgres and redis targets: the closure is given a name, which does not say its kind; \
                 give one kind's names, e.g. fleet::each(config::targets(\"postgres\", \"mixed\"), |name| …)",
            ),
        ),
    ] {
        let out = sb.run(&["run", "-e", code]);
        let first = out.stderr.lines().next().unwrap_or("").to_string() + "\n";
        assert_eq!((out.code, first), (3, said), "{code}\n{}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(&format!("1 | {code}\n")), "the line is shown: {}", out.stderr);
    }
}

#[test]
fn check_finds_a_mistyped_option_before_a_closure() {
    let sb = sandbox("", "let k = 1;\nfleet::each([\"a\"], #{serial: 1, forkz: 2}, |n| n + k);\n");
    let out = sb.run(&["--scripts-dir", "scripts", "check", "each"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            65,
            "",
            "error: fleet::each: unknown option `forkz` (did you mean `forks`?)\n\
             \x20 --> scripts/each.rhai:2:33\n\
             \x20 |\n\
             2 | fleet::each([\"a\"], #{serial: 1, forkz: 2}, |n| n + k);\n\
             \x20 |                                 ^\n\
             \x20 = help: `runbook doc fleet::each` describes its options\n"
        )
    );
}

#[test]
fn a_nested_fan_out_is_refused_and_false_fails_its_target() {
    let script = "\
let r = fleet::each([\"outer\"], |o| fleet::each([\"inner\"], |i| i));
print(r[0].error);
let h = fleet::each([\"up\", \"down\"], |s| s == \"up\");
print(`${h[0].ok} ${h[1].ok} ${h[1].error}`);
";
    assert_eq!(
        run_each("", script, &[], 2),
        "each\n\
         \n\
         outer\n\
         \x20 ✗ failed: fleet::each: called inside another fleet::each's closure; fan out once, over the names both levels need\n\
         \n\
         fleet::each: 1 targets, 1 not OK\n\
         \x20 ✗ outer  FAILED    N.NN s\n\
         \x20 fleet::each: called inside another fleet::each's closure; fan out once, over the names both levels need\n\
         \n\
         up\n\
         \n\
         down\n\
         \x20 ✗ failed: returned false\n\
         \n\
         fleet::each: 2 targets, 1 not OK\n\
         \x20 ✓ up    OK        N.NN s\n\
         \x20 ✗ down  FAILED    N.NN s\n\
         \x20 true false returned false\n\
         \n\
         CRITICAL · 2 critical · 0 checks · 0 metrics · N ms\n"
    );
}

#[test]
fn a_skipped_step_inside_a_closure_is_not_run() {
    let script = "\
fleet::each([\"a\", \"b\"], |n| {
    if section(\"Restart\") { print(`restarting ${n}`); }
    if section(\"Verify\") { print(`verifying ${n}`); }
});
";
    assert_eq!(
        run_each("", script, &["--skip", "restart"], 0),
        "each\n\
         \n\
         a\n\
         \n\
         a · Restart\n\
         \x20 - skipped (--skip)\n\
         \n\
         a · Verify\n\
         \x20 verifying a\n\
         \n\
         b\n\
         \n\
         b · Restart\n\
         \x20 - skipped (--skip)\n\
         \n\
         b · Verify\n\
         \x20 verifying b\n\
         \n\
         fleet::each: 2 targets, all OK\n\
         \x20 ✓ a  OK        N.NN s\n\
         \x20 ✓ b  OK        N.NN s\n\
         \n\
         OK · 0 checks · 0 metrics · 2 steps skipped · N ms\n"
    );
}

/// SIGTERM while every closure waits on the database: all of them stop
/// at once (not only one), their statements are cancelled on the server,
/// and nothing more starts.
#[test]
fn sigterm_stops_every_closure_in_flight() {
    let config: String = (1..=4).map(|i| good(&format!("p{i}"), "four")).collect();
    let script = "\
fleet::each(\"four\", #{forks: 3}, |name| pg::connect(name).query(\"SELECT pg_sleep(30), 'fleet-each-sigterm'\"));
";
    let sb = sandbox(&config, script);
    let child = sb
        .cmd()
        .args(["--scripts-dir", "scripts", "run", "each"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sql =
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%fleet-each-sigterm%' AND pid <> pg_backend_pid()";
    let asking = |n: &str| {
        let out = std::process::Command::new("psql")
            .args(["-Atq", &service("RUNBOOK_TEST_PG_URL"), "-c", n])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let waited = std::time::Instant::now();
    while asking(sql) != "3" {
        assert!(waited.elapsed() < std::time::Duration::from_secs(10), "three queries never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let sent = std::time::Instant::now();
    // SAFETY: kill(2) on a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < std::time::Duration::from_secs(5), "stopped in {:?}", sent.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(143), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        norm(&stdout),
        "each\n\
         \n\
         postgres.p1\n\
         \x20 stopped here (terminated)\n\
         \n\
         postgres.p2\n\
         \x20 stopped here (terminated)\n\
         \n\
         postgres.p3\n\
         \x20 stopped here (terminated)\n\
         \n\
         postgres.p4\n\
         \x20 not run: the run was stopped\n\
         \n\
         \x20 ? terminated: stopped by SIGTERM\n\
         \n\
         UNKNOWN · stopped by SIGTERM (exit 143) · 0 checks · 0 metrics · N ms\n"
    );
    assert_eq!(asking(sql), "0", "the statements were cancelled on the server");
}
