//! Fleets: `runbook run SCRIPT --on GROUP` runs the script once per target
//! of a group (bounded by `--forks`, or `--serial` K at a time stopping at
//! the first target not OK), in one report with a section per target and a
//! matrix; `--retry-failed` re-runs the targets whose last run failed; and
//! the history keeps each run's target and host (`history --hosts`,
//! `--host`), shared on PostgreSQL. Against the real PostgreSQL of the
//! tests and a closed port.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::fleet::{bad, closed_port, good};
use common::{service, Sandbox};

const PROBE: &str = "\
// Does the database answer?
// param database: string = main  [postgres.NAME] the database to ask
// param pause: duration = 0s     how long to wait first
time::sleep(pause);
print(`asking ${database}`);
check(\"answers\", || pg::connect(database).scalar(\"SELECT 1\") == 1);
check(\"says its name\", || pg::connect(database).scalar(\"SELECT current_database()\") != \"\");
";

/// Times as `N ms`.
fn norm(s: &str) -> String {
    regex::Regex::new(r"\d+ ms").unwrap().replace_all(s, "N ms").into_owned()
}

fn fleet(config: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(config);
    sb.write("scripts/probe.rhai", PROBE);
    sb
}

#[test]
fn a_group_runs_once_per_target_in_one_report_with_the_worst_exit_code() {
    let port = closed_port();
    let sb = fleet(&format!("{}{}{}", good("a", "replicas"), bad("b", "replicas", port), good("c", "replicas")));
    let out = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas", "--forks", "3"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let refused = format!(
        "connection refused at 127.0.0.1:{port}: is PostgreSQL running and listening there? (pg_isready -h 127.0.0.1 -p {port})"
    );
    assert_eq!(
        norm(&out.stdout),
        format!(
            "probe on replicas · 3 targets · 3 at a time\n\
             \n\
             ── postgres.a · OK · N ms ──\n\
             \x20   asking a\n\
             \x20   ✓ answers\n\
             \x20   ✓ says its name\n\
             \n\
             \x20 OK · 2 checks · 0 metrics · N ms\n\
             \n\
             ── postgres.b · CRITICAL · N ms ──\n\
             \x20   asking b\n\
             \x20   ✗ answers: pg (b): {refused}\n\
             \x20   ✗ says its name: pg (b): {refused}\n\
             \n\
             \x20 CRITICAL · 2 critical · 2 checks · 0 metrics · N ms\n\
             \n\
             ── postgres.c · OK · N ms ──\n\
             \x20   asking c\n\
             \x20   ✓ answers\n\
             \x20   ✓ says its name\n\
             \n\
             \x20 OK · 2 checks · 0 metrics · N ms\n\
             \n\
             ── Summary ──\n\
             \x20 TARGET      answers  says its name  STATUS    EXIT  TIME\n\
             \x20 postgres.a  ✓        ✓              OK        0     N ms\n\
             \x20 postgres.b  ✗        ✗              CRITICAL  2     N ms\n\
             \x20 postgres.c  ✓        ✓              OK        0     N ms\n\
             3 targets: 2 OK, 1 CRITICAL · N ms · exit 2\n"
        )
    );
    // Each run is in the history with its target.
    let h = sb.run(&["history", "--host", "postgres.b", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{v}");
    assert_eq!((runs[0]["target"].as_str(), runs[0]["status"].as_str()), (Some("postgres.b"), Some("CRITICAL")));
}

#[test]
fn json_gives_each_targets_own_report() {
    let sb = fleet(&format!("{}{}", good("a", "replicas"), good("c", "replicas")));
    let out = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["group"].as_str(), v["status"].as_str(), v["exit_code"].as_u64()),
        (Some("replicas"), Some("OK"), Some(0))
    );
    let targets: Vec<(&str, &str, &str)> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap(),
                t["param"].as_str().unwrap(),
                t["report"]["params"]["database"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(targets, [("postgres.a", "database", "a"), ("postgres.c", "database", "c")]);
}

/// The targets' own reports say when each ran: never more than `--forks`
/// at once, and that many did run together (6 × 400 ms in 3 rounds).
#[test]
fn forks_bound_how_many_run_at_once() {
    let config: String = (1..=6).map(|i| good(&format!("p{i}"), "six")).collect();
    let sb = fleet(&config);
    let out = sb.run(&[
        "--scripts-dir",
        "scripts",
        "run",
        "probe",
        "--on",
        "six",
        "--forks",
        "2",
        "--arg",
        "pause=400ms",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let spans: Vec<(i64, i64)> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let r = &t["report"];
            let at =
                chrono::DateTime::parse_from_rfc3339(r["started_at"].as_str().unwrap()).unwrap().timestamp_millis();
            (at, at + r["duration_ms"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), 6);
    // Counted at each run's middle: a report's start and length are each
    // a few milliseconds off the process's own.
    let most =
        spans.iter().map(|&(s, e)| (s + e) / 2).map(|m| spans.iter().filter(|&&(a, b)| a <= m && m < b).count()).max();
    let most = most.unwrap();
    assert_eq!(most, 2, "{spans:?}");
}

#[test]
fn serial_stops_at_the_first_target_that_is_not_ok() {
    let port = closed_port();
    let sb = fleet(&format!("{}{}{}{}", good("a", "web"), bad("b", "web", port), good("c", "web"), good("d", "web")));
    let out = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "web", "--serial", "1"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let summary = norm(out.stdout.split("── Summary ──\n").nth(1).unwrap());
    assert_eq!(
        summary,
        "  TARGET      answers  says its name  STATUS    EXIT  TIME\n\
         \x20 postgres.a  ✓        ✓              OK        0     N ms\n\
         \x20 postgres.b  ✗        ✗              CRITICAL  2     N ms\n\
         \x20 postgres.c  -        -              not run\n\
         \x20 postgres.d  -        -              not run\n\
         \x20 not run: postgres.c, postgres.d — postgres.b did not end OK (--serial stops at the first)\n\
         4 targets: 1 OK, 1 CRITICAL, 2 not run · N ms · exit 2\n"
    );
    // The two left out are in the history as not run (exit 75, as a
    // missed slot), so that --retry-failed takes them with the failed one.
    let ran = sb.run(&["history", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let mut rows: Vec<(String, String, i64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort_unstable();
    let row = |t: &str, s: &str, c| (t.to_string(), s.to_string(), c);
    assert_eq!(
        rows,
        [
            row("postgres.a", "OK", 0),
            row("postgres.b", "CRITICAL", 2),
            row("postgres.c", "UNKNOWN", 75),
            row("postgres.d", "UNKNOWN", 75)
        ]
    );
    let shown = sb.run(&["history", "probe", "--host", "postgres.c"]);
    assert!(shown.stdout.contains("UNKNOWN"), "{}", shown.stdout);
    sb.config(&format!("{}{}{}{}", good("a", "web"), good("b", "web"), good("c", "web"), good("d", "web")));
    let again = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "web", "--serial", "1", "--retry-failed"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.starts_with("probe on web · 3 targets · --serial 1\n"), "{}", again.stdout);
    assert!(norm(&again.stdout).ends_with("3 targets: 3 OK · N ms · exit 0\n"), "{}", again.stdout);
}

#[test]
fn retry_failed_runs_only_the_targets_whose_last_run_was_not_ok() {
    let port = closed_port();
    let broken = format!("{}{}{}", good("a", "replicas"), bad("b", "replicas", port), good("c", "replicas"));
    let sb = fleet(&broken);
    let first = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas"]);
    assert_eq!(first.code, 2, "{}{}", first.stdout, first.stderr);
    let again = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas", "--retry-failed"]);
    assert_eq!(again.code, 2, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.starts_with("probe on replicas · 1 target · 1 at a time\n\n── postgres.b · CRITICAL"),
        "{}",
        again.stdout
    );
    // Fixed: the retry runs it, ends OK, and then there is nothing to retry.
    sb.config(&format!("{}{}{}", good("a", "replicas"), good("b", "replicas"), good("c", "replicas")));
    let fixed = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas", "--retry-failed"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed.stdout.starts_with("probe on replicas · 1 target · 1 at a time\n\n── postgres.b · OK"),
        "{}",
        fixed.stdout
    );
    let none = sb.run(&["--scripts-dir", "scripts", "run", "probe", "--on", "replicas", "--retry-failed"]);
    assert_eq!(
        (none.code, none.stdout.as_str()),
        (0, "nothing to retry: every target of `replicas` ended OK in its last run of probe\n")
    );
}

#[test]
fn what_cannot_fan_out_is_refused_before_anything_runs() {
    let sb = fleet(&format!(
        "{}[redis.cache]\nurl = \"{}\"\ngroup = \"caches\"\n\n[docker.web1]\nhost = \"unix:///var/run/docker.sock\"\ngroup = \"engines\"\n",
        good("a", "replicas"),
        service("RUNBOOK_TEST_REDIS_URL")
    ));
    for (args, code, said) in [
        (
            &["run", "probe", "--on", "replica"][..],
            64,
            "error: --on replica: no group `replica` in runbook.toml\n\
             \x20 = help: did you mean `replicas`? groups: caches, engines, replicas\n",
        ),
        (
            &["run", "probe", "--on", "caches"][..],
            64,
            "error: --on caches: probe has no parameter for a redis target, and the group holds redis.cache\n\
             \x20 = help: a script takes its target through a parameter described `[redis.NAME] …`, e.g. \
             `// param redis: string = cache  [redis.NAME] target`; `runbook run probe --help` lists its parameters\n",
        ),
        (
            &["run", "probe", "--on", "engines"][..],
            64,
            "error: --on engines: probe calls no docker:: function, and the group holds Docker engines\n\
             \x20 = help: a run on an engine sends its docker:: calls there; choose a script that makes them\n",
        ),
        (
            &["run", "probe", "--on", "replicas", "--arg", "database=x"][..],
            64,
            "error: --arg database=…: --on replicas gives `database` each target's name\n\
             \x20 = help: drop --arg database; `runbook targets --group replicas` lists the targets\n",
        ),
        (
            &["run", "-e", "print(1)", "--on", "replicas"][..],
            64,
            "error: --on needs a script by name or path: each target's run reads it again, which `-e` or stdin code cannot be\n\
             \x20 = help: put the code in a .rhai file whose header has `// param db: string = main  [postgres.NAME] target`\n",
        ),
    ] {
        let mut full = vec!["--scripts-dir", "scripts"];
        full.extend_from_slice(args);
        let out = sb.run(&full);
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (code, "", said), "{args:?}");
    }
    let h = sb.run(&["history"]);
    assert!(h.stdout.starts_with("no runs recorded"), "{}", h.stdout);
}

/// Several hosts share a history on PostgreSQL; `--hosts` is the matrix
/// of their last runs, `--host` one host's runs.
#[test]
fn a_shared_history_shows_every_host_and_filters_by_one() {
    let url = common::history::fresh_database("fleet");
    let sb = fleet(&format!("[history]\nurl = \"{url}\"\n\n{}", good("a", "replicas")));
    sb.write("scripts/fine.rhai", "// Always fine.\nok(\"fine\");\n");
    sb.write(
        "scripts/sad.rhai",
        "// Fails on web2.\nif sys::hostname() == \"web2\" { crit(\"down\") } else { ok(\"up\") }\n",
    );
    for host in ["web1", "web2"] {
        for script in ["fine", "sad"] {
            let out = sb.run_cmd(sb.cmd().env("RUNBOOK_HOST", host).args(["--scripts-dir", "scripts", "run", script]));
            assert!(out.code == 0 || out.code == 2, "{}{}", out.stdout, out.stderr);
        }
    }
    let out = sb.run_cmd(sb.cmd().env("RUNBOOK_HOST", "db1").args([
        "--scripts-dir",
        "scripts",
        "run",
        "probe",
        "--on",
        "replicas",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let m = sb.run(&["history", "--hosts"]);
    assert_eq!(m.code, 0, "{}", m.stderr);
    let ages = regex::Regex::new(r"(OK|CRITICAL) \d+s").unwrap();
    assert_eq!(
        ages.replace_all(&m.stdout, "$1 Ns"),
        "HOST              fine   probe  sad\n\
         db1 → postgres.a  -      OK Ns  -\n\
         web1              OK Ns  -      OK Ns\n\
         web2              OK Ns  -      CRITICAL Ns\n\
         3 hosts · 3 scripts · 1 not OK: web2 sad (run 4)\n"
    );
    let one = sb.run(&["history", "--host", "web2", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&one.stdout).unwrap();
    let seen: Vec<(&str, &str)> =
        v.as_array().unwrap().iter().map(|r| (r["host"].as_str().unwrap(), r["script"].as_str().unwrap())).collect();
    assert_eq!(seen, [("web2", "sad"), ("web2", "fine")]);
}

/// SIGTERM to runbook in the middle of a fan-out: each run in flight is
/// told and stops cleanly (its report, its history record, exit 143), no
/// further run starts, and runbook says which ran and which did not.
#[test]
fn sigterm_stops_every_run_in_flight_and_starts_no_more() {
    let config: String = (1..=4).map(|i| good(&format!("p{i}"), "four")).collect();
    let sb = fleet(&config);
    let child = sb
        .cmd()
        .args(["--scripts-dir", "scripts", "run", "probe", "--on", "four", "--forks", "2", "--arg", "pause=30s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = std::time::Instant::now();
    // SAFETY: kill(2) on a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < std::time::Duration::from_secs(5), "stopped in {:?}", sent.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(143), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let summary = norm(stdout.split("── Summary ──\n").nth(1).unwrap());
    assert_eq!(
        summary,
        "  TARGET       STATUS      EXIT  TIME\n\
         \x20 postgres.p1  terminated  143   N ms\n\
         \x20 postgres.p2  terminated  143   N ms\n\
         \x20 postgres.p3  not run\n\
         \x20 postgres.p4  not run\n\
         \x20 not run: postgres.p3, postgres.p4 — stopped by a signal before it started\n\
         4 targets: 2 terminated, 2 not run · N ms · exit 143\n"
    );
    let h = sb.run(&["history", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    let codes: Vec<i64> = v.as_array().unwrap().iter().map(|r| r["exit_code"].as_i64().unwrap()).collect();
    // The two stopped runs, and the two never started, recorded as not run (75).
    assert_eq!(codes, [143, 143, 75, 75], "{v}");
}
