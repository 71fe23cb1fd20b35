//! `docker`: against the Docker Engine on this machine, with containers
//! carrying compose's labels for a project of each test's own.

mod common;
use common::{printed, Compose, Sandbox, BACKEND_SH, IDLE_SH};

fn sandbox(c: &Compose) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    sb
}

#[test]
fn ps_lists_the_project_with_compose_fields_and_filters() {
    let c = Compose::new("ps");
    c.run("backend", 1, BACKEND_SH);
    c.run("worker", 1, IDLE_SH);
    c.exited("cron", 3);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
for x in docker::ps() {
    print(`${x.service} ${x.name} ${x.state} ${x.running} exit=${x.exit_code} ${x.image} ${type_of(x.started_at)} ${x.id.len()} ${x.status.sub_string(0, 2)}`);
}
print(`running: ${docker::ps(#{all: false}).len()}`);
print(`worker only: ${docker::ps(#{service: "worker"}).map(|x| x.name)}`);
print(`other project: ${docker::ps(#{project: "no-such-project"}).len()}`);
print(`health: "${docker::ps()[0].health}" ports: ${docker::ps()[0].ports}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = &c.project;
    assert_eq!(
        printed(&out),
        vec![
            format!("backend {p}-backend-1 running true exit=0 runbook-test/busybox:1 Timestamp 12 Up"),
            format!("cron {p}-cron-1 exited false exit=3 runbook-test/busybox:1 Timestamp 12 Ex"),
            format!("worker {p}-worker-1 running true exit=0 runbook-test/busybox:1 Timestamp 12 Up"),
            "running: 2".to_string(),
            format!("worker only: [\"{p}-worker-1\"]"),
            "other project: 0".to_string(),
            "health: \"\" ports: []".to_string(),
        ]
    );
}

#[test]
fn logs_by_stream_tail_since_and_until() {
    let c = Compose::new("logs");
    let backend = c.run("backend", 1, BACKEND_SH);
    c.wait_logs(&backend, 5);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
let all = docker::logs("backend");
all.sort();
print(`all: ${all}`);
print(`stdout: ${docker::logs("backend", #{stream: "stdout"})}`);
print(`stderr: ${docker::logs("backend", #{stream: "stderr"})}`);
print(`tail 1: ${docker::logs("backend", #{stream: "stdout", tail: 1})}`);
print(`since 1h: ${docker::logs("backend", #{since: "1h"}).len()}`);
print(`since 2099: ${docker::logs("backend", #{since: "2099-01-01T00:00:00Z"}).len()}`);
print(`until 2001: ${docker::logs("backend", #{"until": "2001-01-01T00:00:00Z"}).len()}`);
print(`since a timestamp: ${docker::logs("backend", #{since: time::now() - time::duration("1h")}).len()}`);
let stamped = docker::logs("backend", #{timestamps: true, stream: "stderr"});
print(`timestamped: ${stamped[0].sub_string(0, 2)} ${stamped[0].ends_with(" ERROR database timeout")}`);
print(`by container name: ${docker::logs(docker::ps()[0].name, #{stream: "stderr"}).len()}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            r#"all: ["ERROR database timeout", "ERROR redis refused", "INFO backend started", "INFO listening on :8000", "error: lowercase on stdout"]"#,
            r#"stdout: ["INFO backend started", "INFO listening on :8000", "error: lowercase on stdout"]"#,
            r#"stderr: ["ERROR database timeout", "ERROR redis refused"]"#,
            r#"tail 1: ["error: lowercase on stdout"]"#,
            "since 1h: 5",
            "since 2099: 0",
            "until 2001: 0",
            "since a timestamp: 5",
            "timestamped: 20 true",
            "by container name: 2",
        ]
    );
    let bad = sb.script(r#"docker::logs("backend", #{since: "yesterday-ish"});"#, &[]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("option `since`: \"yesterday-ish\" is neither a duration"), "{}", bad.stderr);
    let typo = sb.script(r#"docker::logs("backend", #{tial: 5});"#, &[]);
    assert!(typo.stderr.contains("unknown option `tial` (did you mean `tail`?)"), "{}", typo.stderr);
}

#[test]
fn count_logs_streams_and_counts_matching_lines() {
    let c = Compose::new("count");
    let backend = c.run("backend", 1, BACKEND_SH);
    c.wait_logs(&backend, 5);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
print(docker::count_logs("backend", #{since: "1h", pattern: "ERROR"}));
print(docker::count_logs("backend", #{since: "1h", pattern: "error", ignore_case: true}));
print(docker::count_logs("backend", #{pattern: "ERROR", ignore_case: true, stream: "stdout"}));
print(docker::count_logs("backend", #{}));
print(docker::count_logs("backend", #{since: "2099-01-01T00:00:00Z", pattern: "ERROR"}));
print(docker::count_logs("backend", #{pattern: "^INFO (backend|listening)"}));
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), vec!["2", "3", "1", "5", "0", "2"]);
    let bad = sb.script(r#"docker::count_logs("backend", #{pattern: "ERROR("});"#, &[]);
    assert!(bad.stderr.contains("docker::count_logs: option `pattern`: regex parse error"), "{}", bad.stderr);
}

#[test]
fn exec_returns_codes_and_streams_and_takes_options() {
    let c = Compose::new("exec");
    c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
let r = docker::exec("backend", ["sh", "-c", "echo out; echo err >&2; exit 3"]);
print(`code=${r.code} stdout=${r.stdout == "out\n"} stderr=${r.stderr == "err\n"} ${type_of(r.duration_ms)}`);
let r = docker::exec("backend", ["cat"], #{stdin: "piped in"});
print(`stdin: ${r.stdout}`);
let r = docker::exec("backend", ["sh", "-c", "echo $GREETING; pwd; id -u"], #{env: #{GREETING: "hello"}, workdir: "/tmp", user: "nobody"});
print(`options: ${r.stdout.split("\n")}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec!["code=3 stdout=true stderr=true i64", "stdin: piped in", r#"options: ["hello", "/tmp", "65534", ""]"#,]
    );

    let missing = sb.script(r#"docker::exec("backend", ["nosuch-program", "-x"]);"#, &[]);
    assert_ne!(missing.code, 0);
    assert!(
        missing
            .stderr
            .contains(&format!("docker::exec (backend): `nosuch-program` was not found in {}-backend-1", c.project)),
        "{}",
        missing.stderr
    );

    let slow = sb.script(r#"docker::exec("backend", ["sleep", "30"], #{timeout: "1s"});"#, &[]);
    assert_ne!(slow.code, 0);
    assert!(slow.stderr.contains("`sleep 30` in"), "{}", slow.stderr);
    assert!(slow.stderr.contains("did not finish within 1s"), "{}", slow.stderr);
    assert!(slow.elapsed.as_secs() < 15, "the timeout is honoured: {:?}", slow.elapsed);
    // The command was killed, not left running in the container.
    let ps = sb.script(r#"print(docker::exec("backend", ["ps"], #{read_only: true}).stdout);"#, &[]);
    assert!(!ps.stdout.contains("sleep 30"), "{}", ps.stdout);

    // Under --dry-run a command runs only when the call says it only reads
    // and its argv is one known to read: a claim on `sh -c …` (an argv a
    // user passed in) is not enough.
    sb.config(&c.config(&sb).replacen("[docker]\n", "[docker]\nread_only = [\"ls /tmp/*\"]\n", 1));
    let dry = sb.script(
        r#"
let w = docker::exec("backend", ["touch", "/tmp/marker"]);
print(`dry: ${w.dry_run}`);
print(docker::exec("backend", ["sh", "-c", "touch /tmp/pwned"], #{read_only: true}).dry_run);
print(docker::exec("backend", ["ls", "/tmp/marker"], #{read_only: true}).stderr);
print(docker::exec("backend", ["ls", "/tmp/marker"], #{read_only: true, env: #{LD_PRELOAD: "/tmp/x.so"}}).dry_run);
"#,
        &["--dry-run"],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    for argv in ["touch /tmp/marker", "sh -c touch /tmp/pwned"] {
        assert!(dry.stdout.contains(&format!("would run `{argv}` in {}-backend-1", c.project)), "{}", dry.stdout);
    }
    // With env, workdir or user, a known argv is no longer known to read.
    assert_eq!(printed(&dry), ["dry: true", "true", "ls: /tmp/marker: No such file or directory", "", "true"]);
    let pwned = sb.script(r#"print(docker::exec("backend", ["ls", "/tmp"]).stdout);"#, &[]);
    assert!(!pwned.stdout.contains("pwned"), "{}", pwned.stdout);
}

#[test]
fn exec_background_runs_while_the_script_goes_on_and_wait_gives_what_exec_would() {
    let c = Compose::new("execbg");
    c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    // The second command only succeeds if the first one has already run:
    // it looks for the file the first one makes, and gives up after 10 s.
    let out = sb.script(
        r#"
let first = docker::exec_background("backend", ["sh", "-c", "touch /tmp/first-ran; echo from-first; exit 4"], #{read_only: true});
let second = docker::exec("backend", ["sh", "-c", "i=0; until [ -f /tmp/first-ran ]; do sleep 0.05; i=$((i+1)); [ $i -gt 200 ] && exit 9; done; echo saw-first"], #{read_only: true});
print(`second: ${second.code} ${second.stdout == "saw-first\n"}`);
let r = first.wait();
print(`first: ${r.code} ${r.stdout == "from-first\n"} ${r.container.ends_with("-backend-1")} ${type_of(r.duration_ms)}`);
print(`again: ${first.wait().stdout == r.stdout}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), vec!["second: 0 true", "first: 4 true true i64", "again: true"]);

    // What the engine says goes wrong is thrown by `wait()`, in exec's words,
    // so that it lands in the check that reads the answer.
    let errors = sb.script(
        r#"
let nobody = docker::exec_background("nosuch", ["true"], #{read_only: true});
print("started");
try { nobody.wait(); } catch (e) { print(`wait: ${e}`); }
let missing = docker::exec_background("backend", ["nosuch-program"], #{read_only: true});
try { missing.wait(); } catch (e) { print(`missing: ${e}`); }
"#,
        &[],
    );
    assert_eq!(errors.code, 0, "{}", errors.stderr);
    let p = printed(&errors);
    assert_eq!(p[0], "started");
    assert!(p[1].starts_with("wait: docker::exec_background (nosuch): no container"), "{p:?}");
    assert!(
        p[2].starts_with(&format!(
            "missing: docker::exec_background (backend): `nosuch-program` was not found in {}-backend-1",
            c.project
        )),
        "{p:?}"
    );

    // A call that is wrong in itself throws at once.
    let bad = sb.script(r#"docker::exec_background("backend", [], #{read_only: true});"#, &[]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("docker::exec_background: argv is empty"), "{}", bad.stderr);

    // Under --dry-run a mutating command is not started.
    let dry = sb.script(
        r#"
let w = docker::exec_background("backend", ["touch", "/tmp/bg-marker"]);
print(`dry: ${w.wait().dry_run}`);
"#,
        &["--dry-run"],
    );
    let after =
        sb.script(r#"print(docker::exec("backend", ["sh", "-c", "ls /tmp/bg-marker 2>&1 || true"]).stdout);"#, &[]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains(&format!("would run `touch /tmp/bg-marker` in {}-backend-1", c.project)),
        "{}",
        dry.stdout
    );
    let p = printed(&dry);
    assert!(p.contains(&"dry: true".to_string()), "{p:?}");
    assert!(printed(&after).contains(&"ls: /tmp/bg-marker: No such file or directory".to_string()), "{}", after.stdout);
}

#[test]
fn exec_to_file_streams_gzip_and_leaves_nothing_on_failure() {
    let c = Compose::new("tofile");
    c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
let r = docker::exec_to_file("backend", ["seq", "1", "100000"], "dump.txt.gz", #{gzip: true});
print(`${r.output_bytes} ${r.bytes < r.output_bytes} ${r.sha256.len()} ${r.container.ends_with("backend-1")}`);
let plain = docker::exec_to_file("backend", ["sh", "-c", "echo one; echo two"], "plain.txt");
print(plain.bytes);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected: String = (1..=100000).map(|i| format!("{i}\n")).collect();
    assert_eq!(printed(&out), vec![format!("{} true 64 true", expected.len()), "8".to_string()]);
    let gz = std::fs::read(sb.path().join("dump.txt.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    assert_eq!(text, expected);
    assert_eq!(std::fs::read_to_string(sb.path().join("plain.txt")).unwrap(), "one\ntwo\n");

    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(sb.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let failed = sb.script(
        r#"docker::exec_to_file("backend", ["sh", "-c", "seq 1 50000; echo 'pg_dump: error: connection lost' >&2; exit 2"], "bad.txt.gz", #{gzip: true});"#,
        &[],
    );
    assert_ne!(failed.code, 0);
    assert!(
        failed.stderr.contains("exited with 2; no file was written. stderr: pg_dump: error: connection lost"),
        "{}",
        failed.stderr
    );
    let missing = sb.script(r#"docker::exec_to_file("backend", ["no-such-dumper"], "bad.txt");"#, &[]);
    assert!(missing.stderr.contains("`no-such-dumper` was not found in"), "{}", missing.stderr);
    let dry = sb.script(r#"print(docker::exec_to_file("backend", ["seq", "3"], "dry.txt").dry_run);"#, &["--dry-run"]);
    assert_eq!(printed(&dry), vec!["true"]);
    let outside = sb.script(r#"docker::exec_to_file("backend", ["seq", "3"], "/etc/runbook-test.txt");"#, &[]);
    assert!(outside.stderr.contains("outside"), "{}", outside.stderr);
    // No file, no partial file: the folder is as it was (s.rhai aside).
    assert_eq!(listing(), before);
}

#[test]
fn restart_changes_started_at_and_dry_run_does_not() {
    let c = Compose::new("restart");
    let backend = c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    let started = || c.inspect(&backend, "{{.State.StartedAt}}");
    let before = started();
    let dry = sb.script(r#"print(docker::restart("backend"));"#, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains(&format!("would restart {backend}")), "{}", dry.stdout);
    assert_eq!(started(), before, "dry-run restarted the container");

    let out = sb.script(
        r#"
let before = docker::ps(#{service: "backend"})[0].started_at;
print(docker::restart("backend", #{timeout: "5s"}));
let after = docker::ps(#{service: "backend"})[0];
print(`${after.started_at > before} ${after.running}`);
print(docker::stop("backend"));
print(docker::ps(#{service: "backend"})[0].state);
print(docker::start("backend"));
print(docker::ps(#{service: "backend"})[0].state);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            format!("[\"{backend}\"]"),
            "true true".to_string(),
            format!("[\"{backend}\"]"),
            "exited".to_string(),
            format!("[\"{backend}\"]"),
            "running".to_string(),
        ]
    );
    assert_ne!(started(), before);
}

#[test]
fn service_names_resolve_to_every_container_and_exec_refuses_ambiguity() {
    let c = Compose::new("scale");
    let w1 =
        c.run("worker", 1, "echo 'ERROR from one' >&2; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done");
    let w2 =
        c.run("worker", 2, "echo 'ERROR from two' >&2; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done");
    c.run("backend", 1, IDLE_SH);
    let cron = c.exited("cron", 0);
    c.wait_logs(&w1, 1);
    c.wait_logs(&w2, 1);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
print(docker::logs("worker"));
print(docker::count_logs("worker", #{pattern: "ERROR"}));
print(docker::restart("worker"));
print(docker::exec(docker::ps(#{service: "worker"})[1].name, ["echo", "by name"]).stdout);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            r#"["ERROR from one", "ERROR from two"]"#.to_string(),
            "2".to_string(),
            format!("[\"{w1}\", \"{w2}\"]"),
            "by name".to_string(),
            "".to_string(),
        ]
    );
    let ambiguous = sb.script(r#"docker::exec("worker", ["true"]);"#, &[]);
    assert!(
        ambiguous.stderr.contains(&format!(
            "docker::exec (worker): `worker` has 2 running containers: {w1}, {w2}; name the one to use"
        )),
        "{}",
        ambiguous.stderr
    );
    let typo = sb.script(r#"docker::logs("wroker");"#, &[]);
    assert!(
        typo.stderr.contains(&format!(
            "docker::logs (wroker): no container or compose service `wroker` in compose project `{}` (did you mean `worker`?)",
            c.project
        )),
        "{}",
        typo.stderr
    );
    let stopped = sb.script(r#"docker::exec("cron", ["true"]);"#, &[]);
    assert!(stopped.stderr.contains(&format!("`cron` is not running ({cron} stopped)")), "{}", stopped.stderr);
}

#[test]
fn stats_samples_a_running_container() {
    let c = Compose::new("stats");
    c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    let out = sb.script(
        r#"
let s = docker::stats("backend");
print(`${s.container.ends_with("backend-1")} ${s.mem_used > 0} ${s.mem_limit >= s.mem_used} ${s.mem_pct >= 0.0 && s.mem_pct <= 100.0} ${s.cpu_pct >= 0.0} ${s.pids >= 2}`);
print(`${type_of(s.net_rx)} ${type_of(s.block_read)}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), vec!["true true true true true true", "i64 i64"]);
}

#[test]
fn a_missing_socket_is_a_clear_error() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// Test script.\ndocker::ps();\n");
    let out = sb.run_cmd(sb.cmd().args(["run", "s.rhai"]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("docker: no Docker socket at /nonexistent/docker.sock: is the Docker Engine running?"),
        "{}",
        out.stderr
    );
    let refused = sb.run_cmd(sb.cmd().args(["run", "s.rhai"]).env("DOCKER_HOST", "tcp://127.0.0.1:1"));
    assert!(refused.stderr.contains("docker: connection refused at tcp://127.0.0.1:1"), "{}", refused.stderr);
    sb.config("[docker]\nhost = \"tcp://127.0.0.1:2376\"\ntls_ca = \"/nonexistent/ca.pem\"\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n");
    let tls = sb.run(&["run", "s.rhai"]);
    assert!(tls.stderr.contains("docker: [docker] tls_ca: /nonexistent/ca.pem does not exist"), "{}", tls.stderr);
    sb.config("[docker]\nhost = \"tcp://127.0.0.1:2376\"\ntls_ca = \"/nonexistent/ca.pem\"\n");
    let half = sb.run(&["run", "s.rhai"]);
    assert!(half.stderr.contains("needs all of [docker] tls_ca, tls_cert and tls_key"), "{}", half.stderr);
}

/// With no `[docker] project`, `restart("backend")` restarted the backend
/// of every compose project on the engine, and a container of another
/// project named directly was restarted too.
#[test]
fn changes_never_reach_beyond_the_configured_project() {
    let ours = Compose::new("ours");
    let theirs = Compose::new("theirs");
    ours.run("backend", 1, IDLE_SH);
    let their_backend = theirs.run("backend", 1, IDLE_SH);
    let started = || theirs.inspect(&their_backend, "{{.State.StartedAt}}");
    let before = started();

    let unset = Sandbox::new();
    unset.config(&format!("[fs]\nroots = [\"{}\"]\n", unset.path().display()));
    let mut cmd = unset.cmd();
    // A name no project has gets the same answer: the project comes first.
    unset.write(
        "s.rhai",
        "// S.\ntry { docker::restart(\"nosuch\"); } catch (e) { print(e); }\ndocker::restart(\"backend\");\n",
    );
    let out = unset.run_cmd(cmd.env_remove("COMPOSE_PROJECT_NAME").args(["run", "s.rhai"]));
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert_eq!(
        printed(&out)[0],
        "docker::restart (nosuch): no compose project is configured, and a change never reaches beyond one: set [docker] project or [docker] compose_file in runbook.toml (or COMPOSE_PROJECT_NAME, as docker compose reads it)"
    );
    assert!(
        out.stderr.contains("docker::restart (backend): no compose project is configured, and a change never reaches beyond one: set [docker] project or [docker] compose_file in runbook.toml (or COMPOSE_PROJECT_NAME, as docker compose reads it)"),
        "{}",
        out.stderr
    );

    let sb = sandbox(&ours);
    let out = sb.script(&format!("docker::restart(\"{their_backend}\");"), &[]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "{their_backend} is of compose project `{}`, not `{}` ([docker] project): runbook changes only its own project",
            theirs.project, ours.project
        )),
        "{}",
        out.stderr
    );
    let out = sb.script(&format!("docker::exec(\"{their_backend}\", [\"touch\", \"/tmp/x\"]);"), &[]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stderr.contains("runbook changes only its own project"), "{}", out.stderr);
    let out = sb.script(&format!("docker::exec_to_file(\"{their_backend}\", [\"true\"], \"x.txt\");"), &[]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stderr.contains("runbook changes only its own project"), "{}", out.stderr);
    assert_eq!(started(), before, "the other project's backend was not restarted");

    // Every service at once asks first; cron (no terminal, no --yes) is refused.
    let all = sb.run(&["run", "services/restart"]);
    assert_eq!(all.code, 3, "{}", all.stdout);
    assert!(
        all.stderr.contains("refusing to restart every service of the project (backend) without --yes"),
        "{}",
        all.stderr
    );
}

/// A dump's folder swapped for a link out of the roots while the dump
/// runs, with the attacker's file waiting at the temporary file's name on
/// the other side (the name can be read from the folder): the rename at the
/// end happens in the folder that was checked, never through the link.
#[test]
fn a_folder_swapped_during_a_dump_cannot_redirect_it() {
    let c = Compose::new("swapdump");
    c.run("backend", 1, IDLE_SH);
    let sb = sandbox(&c);
    let sub = sb.path().join("backups");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(outside.path().join("dump.sql"), "precious\n").unwrap();
    sb.write(
        "s.rhai",
        &format!(
            "// S.\nprint(docker::exec_to_file(\"backend\", [\"sh\", \"-c\", \"sleep 3; echo dumped\"], \"{}/dump.sql\").bytes);\n",
            sub.display()
        ),
    );
    let child = sb.cmd().args(["run", "s.rhai"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    let partial = loop {
        let found = std::fs::read_dir(&sub)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".dump.sql.") && n.ends_with(".partial"));
        if let Some(name) = found {
            break name;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "no temporary file appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    std::fs::rename(&sub, sb.path().join("backups.real")).unwrap();
    std::os::unix::fs::symlink(outside.path(), &sub).unwrap();
    std::fs::write(outside.path().join(&partial), "the attacker's\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(std::fs::read_to_string(outside.path().join("dump.sql")).unwrap(), "precious\n");
    assert_eq!(std::fs::read_to_string(sb.path().join("backups.real/dump.sql")).unwrap(), "dumped\n");
}
