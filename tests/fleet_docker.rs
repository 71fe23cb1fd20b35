//! Several Docker engines (`[docker.NAME]`, each with its own host and
//! compose project), reached over a Unix socket and over ssh:// (Debian's
//! sshd on loopback, the system's ssh client forwarding a socket to the
//! engine's), as targets of `runbook run --on`: a rolling restart
//! over three compose-labelled instances stops at the one made unhealthy.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{service, Compose, Sandbox, IDLE_SH};

/// Times as `N ms`.
fn norm(s: &str) -> String {
    regex::Regex::new(r"\d+ ms").unwrap().replace_all(s, "N ms").into_owned()
}

/// `[docker.NAME]` on this machine's socket, for `project`, in `group`.
fn socket_engine(name: &str, project: &str, group: &str) -> String {
    format!("[docker.{name}]\nhost = \"unix:///var/run/docker.sock\"\nproject = \"{project}\"\ngroup = \"{group}\"\n\n")
}

/// `[docker.NAME]` through the test sshd, logging in with `key`.
fn ssh_engine(name: &str, project: &str, group: &str, key: &str) -> String {
    format!(
        "[docker.{name}]\nhost = \"ssh://{}:{}\"\nssh_key = \"{key}\"\nknown_hosts = \"{}\"\n\
         project = \"{project}\"\ngroup = \"{group}\"\nconnect_timeout = \"10s\"\n\n",
        service("RUNBOOK_TEST_SSH_HOST"),
        service("RUNBOOK_TEST_SSH_PORT"),
        service("RUNBOOK_TEST_SSH_KNOWN_HOSTS"),
    )
}

const PS: &str =
    "// Which containers run?\nfor c in docker::ps() { print(`${c.service} ${c.state}`); }\nok(\"listed\");\n";

#[test]
fn an_ssh_engine_answers_as_the_socket_does() {
    let compose = Compose::new("sshps");
    compose.run("backend", 1, IDLE_SH);
    let sb = Sandbox::new();
    sb.config(&format!(
        "{}{}",
        socket_engine("local", &compose.project, "web"),
        ssh_engine("remote", &compose.project, "web", &service("RUNBOOK_TEST_SSH_KEY"))
    ));
    sb.write("ps.rhai", PS);
    let out = sb.run(&["run", "ps.rhai", "--on", "web"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        norm(&out.stdout),
        "ps on web · 2 targets · 2 at a time\n\
         \n\
         ── docker.local · OK · N ms ──\n\
         \x20   backend running\n\
         \x20   ✓ listed\n\
         \n\
         \x20 OK · 0 checks · 0 metrics · N ms\n\
         \n\
         ── docker.remote · OK · N ms ──\n\
         \x20   backend running\n\
         \x20   ✓ listed\n\
         \n\
         \x20 OK · 0 checks · 0 metrics · N ms\n\
         \n\
         ── Summary ──\n\
         \x20 TARGET         STATUS  EXIT  TIME\n\
         \x20 docker.local   OK      0     N ms\n\
         \x20 docker.remote  OK      0     N ms\n\
         2 targets: 2 OK · N ms · exit 0\n"
    );
    // The inventory: the socket connected to, the ssh port answering.
    let listed = sb.run(&["targets", "--kind", "docker"]);
    assert_eq!(listed.code, 0, "{}{}", listed.stdout, listed.stderr);
    let ms = regex::Regex::new(r"✓ \d+\.\d ms").unwrap();
    let ssh = format!("127.0.0.1:{}", service("RUNBOOK_TEST_SSH_PORT"));
    assert_eq!(
        ms.replace_all(&listed.stdout, "✓ [ms]"),
        format!(
            "KIND    NAME    GROUPS  ADDRESS                      REACHABLE\n\
             docker  local   web     unix:///var/run/docker.sock  ✓ [ms]\n\
             docker  remote  web     {ssh:<27}  ✓ [ms]\n"
        )
    );
}

#[test]
fn an_ssh_engine_that_refuses_the_key_is_named_with_what_to_check() {
    let sb = Sandbox::new();
    let key = sb.path().join("stranger");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    sb.config(&ssh_engine("web9", "none", "web", key.to_str().unwrap()));
    sb.write("ps.rhai", PS);
    let out = sb.run(&["run", "ps.rhai", "--on", "docker.web9"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let (login, port) = (service("RUNBOOK_TEST_SSH_HOST"), service("RUNBOOK_TEST_SSH_PORT"));
    let said = format!(
        "error: docker: cannot reach the Docker Engine at ssh://{login}:{port} through ssh: {login}: Permission denied (publickey).; \
         check that `ssh -p {port} {login} docker version` works without a prompt: a key in the ssh agent or [docker] ssh_key, \
         the host in known_hosts (or [docker] known_hosts), the user in the docker group there"
    );
    assert!(
        norm(&out.stdout).starts_with(&format!(
            "ps on docker.web9 · 1 target · 1 at a time\n\n── docker.web9 · UNKNOWN · N ms ──\n    ? {said}\n"
        )),
        "{}",
        out.stdout
    );
    // A host whose key is not known is refused, not asked about (nor added).
    let empty = sb.write("known_hosts", "");
    sb.config(
        &ssh_engine("web9", "none", "web", &service("RUNBOOK_TEST_SSH_KEY"))
            .replace(&service("RUNBOOK_TEST_SSH_KNOWN_HOSTS"), empty.to_str().unwrap()),
    );
    let out = sb.run(&["run", "ps.rhai", "--on", "docker.web9"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("through ssh: Host key verification failed.; check that"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "");
}

/// Three instances, each its own compose project on its own engine; the
/// second exits when restarted. `--serial 1` restarts the first, then the
/// second, finds it down, and leaves the third alone.
#[test]
fn a_rolling_restart_stops_at_the_instance_made_unhealthy() {
    let (a, b, c) = (Compose::new("roll1"), Compose::new("roll2"), Compose::new("roll3"));
    let started: Vec<String> = [&a, &c]
        .iter()
        .map(|p| {
            let name = p.run("backend", 1, IDLE_SH);
            p.inspect(&name, "{{.State.StartedAt}}")
        })
        .collect();
    let fragile = b.run(
        "backend",
        1,
        "if [ -f /restarted ]; then echo 'cannot start twice' >&2; exit 1; fi; touch /restarted; \
         trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done",
    );
    let sb = Sandbox::new();
    sb.config(&format!(
        "{}{}{}",
        socket_engine("app-1", &a.project, "app"),
        socket_engine("app-2", &b.project, "app"),
        socket_engine("app-3", &c.project, "app")
    ));
    let out = sb.run(&[
        "run",
        "services/restart",
        "--on",
        "app",
        "--serial",
        "1",
        "--arg",
        "service=backend",
        "--arg",
        "settle=1s",
    ]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let (pa, pb) = (&a.project, &b.project);
    let w = pa.len() + "-backend-1".len();
    assert_eq!(
        regex::Regex::new(r"Up \d+ seconds?|Exited \(1\) \d+ seconds? ago")
            .unwrap()
            .replace_all(&norm(&out.stdout), "[state]"),
        format!(
            "services/restart on app · 3 targets · --serial 1\n\
             \n\
             ── docker.app-1 · OK · N ms ──\n\
             \x20 Restart\n\
             \x20   ✓ backend: restarted {pa}-backend-1\n\
             \n\
             \x20 After the restart\n\
             \x20   ✓ {pa}-backend-1: [state]\n\
             \n\
             \x20 OK · 2 checks · 0 metrics · N ms\n\
             \n\
             ── docker.app-2 · CRITICAL · N ms ──\n\
             \x20 Restart\n\
             \x20   ✓ backend: restarted {pb}-backend-1\n\
             \n\
             \x20 After the restart\n\
             \x20   ✗ {pb}-backend-1: exited: [state] (exit code 1)\n\
             \n\
             \x20 CRITICAL · 1 critical · 2 checks · 0 metrics · N ms\n\
             \n\
             ── Summary ──\n\
             \x20 TARGET        backend  {ca:<w$}  {cb:<w$}  STATUS    EXIT  TIME\n\
             \x20 docker.app-1  ✓        {ok:<w$}  {no:<w$}  OK        0     N ms\n\
             \x20 docker.app-2  ✓        {no:<w$}  {bad:<w$}  CRITICAL  2     N ms\n\
             \x20 docker.app-3  -        {no:<w$}  {no:<w$}  not run\n\
             \x20 not run: docker.app-3 — docker.app-2 did not end OK (--serial stops at the first)\n\
             3 targets: 1 OK, 1 CRITICAL, 1 not run · N ms · exit 2\n",
            ca = format!("{pa}-backend-1"),
            cb = format!("{pb}-backend-1"),
            ok = "✓",
            no = "-",
            bad = "✗",
        )
    );
    assert_eq!(b.inspect(&fragile, "{{.State.Status}}"), "exited");
    // The first was restarted; the third never was.
    let name = |p: &Compose| format!("{}-backend-1", p.project);
    assert_ne!(a.inspect(&name(&a), "{{.State.StartedAt}}"), started[0]);
    assert_eq!(c.inspect(&name(&c), "{{.State.StartedAt}}"), started[1]);
}
