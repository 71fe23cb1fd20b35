//! Nothing outlives the run: the deadline, Ctrl-C and SIGTERM stop the
//! statement on the server, the command in the container and the
//! process's children; a signal is a clean stop, reported and recorded.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{psql, Compose, Sandbox, IDLE_SH};

/// The statements still running on the test server whose text holds `tag`.
fn active(tag: &str) -> String {
    psql(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{tag}%' AND pid <> pg_backend_pid()"
    ))
}

/// Processes on this machine whose command line is `needle` exactly.
fn processes(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).replace('\0', " ").trim() == needle)
        .count()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "waited 20 s for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a child this test started.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
fn the_deadline_cancels_the_statement_on_the_server() {
    let sb = Sandbox::with_services("");
    let tag = format!("rbtest-deadline-{}", std::process::id());
    let read = sb.script(
        &format!("pg::connect(\"main\").query(\"SELECT pg_sleep(30) /* {tag}-read */\");"),
        &["--timeout", "1s"],
    );
    assert_eq!(read.code, 3, "{}", read.stderr);
    assert!(read.stderr.contains("the run exceeded its time limit of 1s"), "{}", read.stderr);
    assert_eq!(active(&format!("{tag}-read")), "0", "the read is no longer running on the server");
    let write = sb.script(
        &format!("pg::connect(\"main\").execute(\"DO $$ BEGIN PERFORM pg_sleep(30); END $$ /* {tag}-write */\");"),
        &["--timeout", "1s", "--yes"],
    );
    assert_eq!(write.code, 3, "{}", write.stderr);
    assert_eq!(active(&format!("{tag}-write")), "0", "the write is no longer running on the server");
}

/// SIGTERM in the middle of a query: the report so far, the interruption
/// as its last line, exit 143, the run in the history, the statement
/// cancelled, and the lock free for the next run.
#[test]
fn sigterm_is_a_clean_stop_recorded_in_the_history() {
    let sb = Sandbox::with_services("");
    let tag = format!("rbtest-sigterm-{}", std::process::id());
    sb.write(
        "long.rhai",
        &format!(
            "// A long query.\ncheck(\"first\", || true);\nprint(\"started\");\npg::connect(\"main\").query(\"SELECT pg_sleep(30) /* {tag} */\");\nprint(\"never\");\n"
        ),
    );
    let child =
        sb.cmd().args(["run", "long.rhai", "--lock"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the query to start", || active(&tag) == "1");
    let sent = Instant::now();
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(5), "stopped in {:?}", sent.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stdout}{stderr}");
    assert!(stderr.contains("runbook: SIGTERM: stopping (again to stop at once)"), "{stderr}");
    assert!(stdout.contains("✓ first") && stdout.contains("  started\n"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
    let last = stdout.lines().filter(|l| !l.trim().is_empty()).nth_back(1).unwrap_or_default();
    assert!(last.contains("terminated: stopped by SIGTERM"), "the interruption is the last line: {stdout}");
    assert_eq!(active(&tag), "0", "the statement was cancelled");
    let history = sb.run(&["history", "long.rhai", "--format", "json"]);
    assert!(history.stdout.contains("\"exit_code\": 143"), "{}", history.stdout);
    let next = sb.script("print(1);", &["--lock", "long"]);
    assert_eq!(next.code, 0, "the lock was released: {}", next.stderr);
}

/// Ctrl-C while pg_dump waits on a lock: pg_dump is stopped, the partial
/// file removed, exit 130.
#[test]
fn sigint_during_a_dump_leaves_no_partial_file_and_no_pg_dump() {
    let sb = Sandbox::with_services("");
    let dir = sb.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // Another session holds the table, so pg_dump waits on it.
    let mut holder =
        std::process::Command::new(std::path::Path::new(&common::service("RUNBOOK_TEST_PG_BIN")).join("psql"))
            .args([
                &common::service("RUNBOOK_TEST_PG_URL"),
                "-X",
                "-q",
                "-c",
                "BEGIN; LOCK TABLE votes IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20);",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
    wait_for("the lock", || {
        psql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'votes'::regclass") == "1"
    });
    sb.write(
        "dump.rhai",
        &format!("// Dump.\npg::dump(\"main\", \"{}/civicq.sql.gz\", #{{tables: [\"votes\"]}});\n", dir.display()),
    );
    let child = sb.cmd().args(["run", "dump.rhai"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the partial file", || std::fs::read_dir(&dir).unwrap().count() == 1);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    // While the lock is still held: pg_dump's session no longer waits on it.
    let waiting =
        psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'LOCK TABLE public.votes%'");
    let _ = holder.kill();
    let _ = holder.wait();
    // pg_sleep does not notice its client is gone: end the holder's session.
    psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE votes%'");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("interrupted: interrupted (Ctrl-C or SIGINT)"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "nothing is left behind: {left:?}");
    assert_eq!(waiting, "0", "pg_dump's statement was cancelled on the server");
}

/// `sh -c 'sleep N & wait'`: the run's deadline kills the shell and its
/// sleep, as a process group (the sleep was reparented to PID 1).
#[test]
fn the_deadline_kills_a_commands_whole_process_group() {
    let sb = Sandbox::new();
    sb.config("[proc]\nallow = [\"sh\"]\n");
    // A number of this test run's own: an earlier run's orphan is not ours.
    let sleep = format!("sleep {}", 100_000 + std::process::id());
    let out = sb.script(&format!(r#"proc::run(["sh", "-c", "{sleep} & wait"]);"#), &["--timeout", "1s"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(processes(&sleep), 0, "the sleep went with its shell");
}

/// The run's deadline ends a `docker exec` command in the container too,
/// not only runbook's wait for it.
#[test]
fn the_deadline_stops_the_command_in_the_container() {
    let c = Compose::new("deadline");
    let name = c.run("backend", 1, IDLE_SH);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.script(r#"docker::exec("backend", ["sleep", "31338"]);"#, &["--timeout", "1s"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let top = std::process::Command::new("docker").args(["top", &name]).output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(!top.contains("sleep 31338"), "{top}");
}

/// A command started with `docker::exec_background` ends with the run: when
/// the script ends without waiting for it, and when the deadline ends the
/// run while the script waits on something else.
#[test]
fn a_background_command_in_a_container_ends_with_the_run() {
    let c = Compose::new("bgexec");
    let name = c.run("backend", 1, IDLE_SH);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let top = || {
        let top = std::process::Command::new("docker").args(["top", &name]).output().unwrap();
        String::from_utf8_lossy(&top.stdout).into_owned()
    };
    let out = sb.script(
        r#"let b = docker::exec_background("backend", ["sleep", "31339"]); time::sleep("300ms"); print("done");"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!top().contains("sleep 31339"), "left running after the script ended:\n{}", top());
    let out = sb.script(
        r#"let b = docker::exec_background("backend", ["sleep", "31340"]); time::sleep("30s");"#,
        &["--timeout", "1s"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!top().contains("sleep 31340"), "left running after the deadline:\n{}", top());
}

/// A file system that fills up during a dump names the cause and the path,
/// and keeps nothing.
#[test]
fn a_full_disk_says_so_and_keeps_nothing() {
    let c = Compose::new("diskfull");
    c.run("backend", 1, IDLE_SH);
    let sb = Sandbox::new();
    let small = sb.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a 256 KiB tmpfs (the tests run as root)");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    sb.config(&c.config(&sb));
    let dest = small.join("seq.txt");
    let out =
        sb.script(&format!(r#"docker::exec_to_file("backend", ["seq", "1", "1000000"], "{}");"#, dest.display()), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("writing {}: No space left on device", dest.display())), "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(&small).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A server that accepts connections and never says a word.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = vec![];
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    (port, handle)
}

fn silent_smtp(port: u16, timeout: &str) -> String {
    format!("[smtp.silent]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"runbook@example.com\"\ntimeout = \"{timeout}\"\n")
}

/// Run `cmd`, killing it after `limit`: the old code hung for ever here.
fn output_within(cmd: &mut std::process::Command, limit: Duration) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The deadline ends the run whatever the script catches: every host call
/// that waits gives it up uncatchably (`mail::send` turned it into an
/// ordinary error, so a `catch` went on past `--timeout` and exited 0).
#[test]
fn no_waiting_call_lets_a_script_catch_the_deadline() {
    let (port, _server) = silent_server();
    let c = Compose::new("catch");
    c.run("backend", 1, IDLE_SH);
    let sb = Sandbox::with_services(&format!(
        "{}\n[proc]\nallow = [\"sleep\"]\n\n[docker]\nproject = \"{}\"\n\n[s3.silent]\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{port}\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\n\n[aws]\ncost_explorer_endpoint = \"http://127.0.0.1:{port}\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\ntimeout = \"30s\"\n",
        silent_smtp(port, "30s"),
        c.project
    ));
    let calls = [
        r#"time::sleep("30s")"#.to_string(),
        r#"proc::run(["sleep", "30"])"#.to_string(),
        r#"pg::connect("main").query("SELECT pg_sleep(30)")"#.to_string(),
        format!(r#"http::get("http://127.0.0.1:{port}/")"#),
        format!(r#"http::bench("http://127.0.0.1:{port}/", #{{requests: 10}})"#),
        format!(r#"tls::certificate("127.0.0.1:{port}")"#),
        r#"mail::send(#{to: "admin@example.com", subject: "x", smtp: "silent"})"#.to_string(),
        r#"redis::connect("cache").command(["BLPOP", "runbook-test-never", "30"])"#.to_string(),
        r#"docker::exec("backend", ["sleep", "30"])"#.to_string(),
        r#"docker::exec_background("backend", ["sleep", "30"]).wait()"#.to_string(),
        r#"s3::bucket("silent").list(#{prefix: "db/"})"#.to_string(),
        r#"aws::costs("2026-11-01", "2026-12-01")"#.to_string(),
    ];
    for call in calls {
        sb.write(
            "s.rhai",
            &format!("// S.\ntry {{ {call}; }} catch (e) {{ print(`caught: ${{e}}`); }}\nprint(\"went on\");\n"),
        );
        let (out, took) = output_within(sb.cmd().args(["run", "s.rhai", "--timeout", "1s"]), Duration::from_secs(20));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{call}: {stdout}{stderr}");
        assert!(stderr.contains("the run exceeded its time limit of 1s"), "{call}: {stderr}");
        assert!(!stdout.contains("caught") && !stdout.contains("went on"), "{call}: {stdout}");
        assert!(took < Duration::from_secs(8), "{call} took {took:?}");
    }
}

/// `mail::send`'s own `timeout`, and the mail after a run, against a server
/// that accepts and never answers: a clear error in bounded time.
#[test]
fn a_silent_mail_server_cannot_hang_a_run() {
    let (port, _server) = silent_server();
    let sb = Sandbox::new();
    sb.config(&silent_smtp(port, "30s"));
    sb.write(
        "s.rhai",
        "// S.\ntry { mail::send(#{to: \"admin@example.com\", subject: \"x\", smtp: \"silent\", timeout: \"1s\"}); } catch (e) { print(e); }\n",
    );
    let (out, took) = output_within(sb.cmd().args(["run", "s.rhai"]), Duration::from_secs(20));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("127.0.0.1:{port}: no answer in time: the exchange did not finish within 3s (3 × the timeout of 1s, and time for the message's size); is the server answering at all?")),
        "{stdout}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");

    // After the run: no deadline of the run's own, [smtp] timeout bounds it.
    sb.config(&silent_smtp(port, "1s"));
    sb.write("quiet.rhai", "// Q.\nprint(1);\n");
    let (out, took) = output_within(
        sb.cmd().args(["run", "quiet.rhai", "--mail-to", "admin@example.com", "--mail-on", "always"]),
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the report was not mailed"), "{stderr}");
    assert!(stderr.contains("no answer in time"), "{stderr}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

/// PostgreSQL's infinities (a role `VALID UNTIL 'infinity'`) panicked in
/// sqlx's conversion; they are strings a script can test, and a date too
/// far out for runbook is an error that says what to do.
#[test]
fn infinite_and_far_dates_from_postgres_do_not_panic() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
let r = db.query_one("SELECT 'infinity'::timestamptz AS a, '-infinity'::timestamp AS b, 'infinity'::date AS c, now() AS d");
print(`${r.a} ${r.b} ${r.c} ${r.a == "infinity"} ${type_of(r.d)}`);
print(db.scalar("SELECT '-infinity'::timestamptz"));
let a = db.scalar("SELECT ARRAY['infinity', '2026-01-02 03:04:05+00', NULL, '-infinity']::timestamptz[]");
print(`${a[0]} ${a[1]} ${a[2]} ${a[3]}`);
try { db.scalar("SELECT '294000-01-01'::timestamp AS far"); } catch (e) { print(e); }"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        common::printed(&out),
        vec![
            "infinity -infinity infinity true Timestamp".to_string(),
            "-infinity".to_string(),
            "infinity 2026-01-02T03:04:05Z  -infinity".to_string(),
            "pg (main): column `far` (TIMESTAMP): a date beyond the years runbook can represent (±262,000); select it as text (`far::text`)".to_string(),
        ]
    );
}

/// Huge durations overflowed the date arithmetic (exit 101 with a
/// backtrace): as a param they are a usage error (64), in a script an
/// error (3), and `--limit max_call_depth` beyond what the stack holds is
/// refused instead of aborting (134).
#[test]
fn huge_numbers_are_errors_not_panics() {
    let sb = Sandbox::new();
    let param = sb.run(&["run", "health-monitor", "--arg", "uptime_period=99999999999d"]);
    assert_eq!(param.code, 64, "{}", param.stderr);
    assert!(
        param.stderr.contains("duration `99999999999d` is longer than 1000 years: is there a typo?"),
        "{}",
        param.stderr
    );
    for (script, expected) in [
        (
            r#"time::ago("99999999999d");"#,
            "time::ago: duration `99999999999d` is longer than 1000 years: is there a typo?",
        ),
        (
            r#"let d = time::duration("999d") * 1000000000; time::now() + d;"#,
            "is beyond the dates runbook can represent",
        ),
        (r#"time::now() - time::duration("999d") * 1000000000;"#, "is beyond the dates runbook can represent"),
        (r#"time::sleep("1e30");"#, "duration `1e30` is longer than 1000 years"),
    ] {
        let out = sb.script(script, &[]);
        assert_eq!(out.code, 3, "{script}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{script}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{script}: {}", out.stderr);
    }
    let deep = sb.script("print(1);", &["--limit", "max_call_depth=1000000"]);
    assert_eq!(deep.code, 64, "{}", deep.stderr);
    assert!(
        deep.stderr.contains("--limit max_call_depth: 1000000 is out of range: between 1 and 5000 (what the script thread's stack holds)"),
        "{}",
        deep.stderr
    );
    // The cap holds what it allows: a recursion 4,900 deep ends cleanly.
    let recursion = "fn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } }\nprint(f(4900));";
    let ok = sb.script(recursion, &["--limit", "max_call_depth=5000"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

/// A server that answers 200 and then sends bytes for ever.
fn endless_http_server() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
                let chunk = vec![b'x'; 64 * 1024];
                while conn.write_all(&chunk).is_ok() {}
            });
        }
    });
    port
}

/// Every host function that buffers stops at its cap with an error that
/// says which and how to raise it, and what it was reading stops too;
/// values spread over many variables meet the run's budget (exit 3), never
/// an abort.
#[test]
fn memory_has_a_bound_on_every_path() {
    let c = Compose::new("memory");
    let name = c.run("backend", 1, IDLE_SH);
    let port = endless_http_server();
    let sb = Sandbox::with_services(&format!(
        "\n[proc]\nallow = [\"cat\"]\n\n[docker]\nproject = \"{}\"\n\n[s3.endless]\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{port}\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\n",
        c.project
    ));
    std::fs::write(sb.path().join("big.log"), "a line of the log\n".repeat(200_000)).unwrap();
    let cases = [
        (r#"docker::exec("backend", ["cat", "/dev/zero"])"#.to_string(), "max_output=1000000",
         "docker::exec (backend): the command's output is larger than 976.6 KiB: raise [limits] max_output (or --limit max_output=BYTES), or write it to a file with docker::exec_to_file"),
        (r#"proc::run(["cat", "/dev/zero"])"#.to_string(), "max_output=1000000",
         "proc::run: `cat /dev/zero` was killed: its output is larger than 976.6 KiB: raise [limits] max_output (or --limit max_output=BYTES), or redirect it to a file in the command itself"),
        (r#"pg::connect("main").query("SELECT repeat('x', 1000000) FROM generate_series(1, 50)")"#.to_string(), "max_result=10000000",
         "pg (main): the result is larger than 9.5 MiB: raise [limits] max_result (or --limit max_result=BYTES), or select fewer rows or columns (LIMIT, or an aggregate in SQL)"),
        (format!(r#"http::get("http://127.0.0.1:{port}/")"#), "max_body=1000000",
         "the answer of http://127.0.0.1:PORT/ is larger than 976.6 KiB: raise [limits] max_body (or --limit max_body=BYTES), or ask for less (a range, a page)"),
        (r#"s3::bucket("endless").list(#{prefix: "db/"})"#.to_string(), "max_body=1000000",
         "the server's answer is larger than 976.6 KiB: raise [limits] max_body (or --limit max_body=BYTES), or ask for less (a narrower prefix)"),
        (format!(r#"fs::lines("{}/big.log")"#, sb.path().display()), "max_file=1000000",
         "is larger than 976.6 KiB: raise [limits] max_file (or --limit max_file=BYTES), or read it in parts with logs::tail, logs::grep or logs::count, which stream"),
    ];
    for (call, limit, expected) in cases {
        let out = sb.script(&format!("{call};"), &["--limit", limit, "--timeout", "30s"]);
        assert_eq!(out.code, 3, "{call}: {}", out.stderr);
        let expected = expected.replace("PORT", &port.to_string());
        assert!(out.stderr.contains(&expected), "{call}: {}", out.stderr);
    }
    // The kill reaches the container's process a moment after the run has
    // ended; on a loaded machine (CI) that moment outlasted a fixed 300 ms.
    // Stopped is the guarantee: `wait_for` allows 20 s.
    let in_container = || {
        let top = std::process::Command::new("docker").args(["top", &name]).output().unwrap();
        String::from_utf8_lossy(&top.stdout).contains("cat /dev/zero")
    };
    wait_for("the exec in the container to be stopped", || !in_container());
    wait_for("the child to be stopped", || processes("cat /dev/zero") == 0);

    let spread = sb.script(
        "let m = #{};\nlet s = \"x\";\ns.pad(10000000, 'x');\nfor i in 0..100 { m[`k${i}`] = s + i; }\nprint(m.len());",
        &["--limit", "max_memory=300000000"],
    );
    assert_eq!(spread.code, 3, "{}", spread.stderr);
    assert!(
        spread.stderr.contains("the run holds more than 286.1 MiB of memory (max_memory = 300000000)"),
        "{}",
        spread.stderr
    );
    assert!(spread.stderr.contains("help: keep less at once"), "{}", spread.stderr);
}

/// Ctrl-C at a confirmation prompt stops the run (it was ignored: the read
/// resumed, and a "y" typed after it went ahead); nothing is removed.
#[test]
fn ctrl_c_at_a_confirmation_prompt_stops_the_run() {
    use expectrl::{ControlCode, Eof, Session};
    let sb = Sandbox::new();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", sb.path().display()));
    let precious = sb.path().join("precious.txt");
    std::fs::write(&precious, "keep me\n").unwrap();
    sb.write("rm.rhai", &format!("// Remove.\nfs::remove(\"{}\");\nprint(\"removed\");\n", precious.display()));
    let mut cmd = std::process::Command::new(common::bin());
    cmd.current_dir(sb.path()).args(["run", "rm.rhai"]).env("HOME", sb.path()).env_remove("RUNBOOK_CONFIG");
    let mut p = Session::spawn(cmd).expect("a pty");
    p.set_expect_timeout(Some(Duration::from_secs(10)));
    p.expect("Go ahead? [y/N]").expect("the confirmation prompt");
    p.send(ControlCode::EndOfText).unwrap();
    let rest = p.expect(Eof).expect("runbook ends without an answer");
    let text = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    assert!(text.contains("interrupted (Ctrl-C or SIGINT)"), "{text:?}");
    assert!(!text.contains("removed"), "{text:?}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me\n");
    let status = p.get_process_mut().wait().unwrap();
    assert_eq!(status, expectrl::WaitStatus::Exited(p.get_process().pid(), 130));
}
