//! A stack as docker-compose runs it: PostgreSQL and Redis in containers on
//! the project's compose network, with no port published to the host,
//! reached by compose service name (`[postgres.main] service =
//! "postgres"`); the morning check shaped by runbook.toml (steps skipped,
//! services the compose file expects); a TLS-only PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::Command;
use std::time::Duration;

use common::web::pki;
use common::{service, Sandbox};

const PG_PASSWORD: &str = "compose-pg-pw";
const REDIS_PASSWORD: &str = "compose-redis-pw";

/// A compose project's network and its postgres and redis containers,
/// made as docker compose makes them (names, labels, network), all
/// removed on drop.
struct Stack {
    project: String,
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Stack {
    /// `tls`: the PEM certificate and key PostgreSQL serves, and then it
    /// takes TLS connections only.
    fn up(test: &str, tls: Option<(String, String)>) -> Stack {
        let project = format!("rbstack-{test}-{}", std::process::id());
        let network = format!("{project}_default");
        docker(&[
            "network",
            "create",
            "--label",
            &format!("com.docker.compose.project={project}"),
            "--label",
            "com.docker.compose.network=default",
            &network,
        ]);
        let stack = Stack { project };
        let (cert, key) = tls.clone().unwrap_or_default();
        let hba = if tls.is_some() { "hostssl" } else { "host" };
        let ssl = if tls.is_some() {
            "printf '%s' \"$CERT\" > /tmp/server.crt; printf '%s' \"$KEY\" > /tmp/server.key; chmod 600 /tmp/server.key; \
             echo \"ssl = on\" >> /tmp/pg/postgresql.conf; echo \"ssl_cert_file = '/tmp/server.crt'\" >> /tmp/pg/postgresql.conf; \
             echo \"ssl_key_file = '/tmp/server.key'\" >> /tmp/pg/postgresql.conf;"
        } else {
            ""
        };
        let postgres = format!(
            "echo \"$PGPW\" > /tmp/pw && initdb -D /tmp/pg -U postgres --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 >/tmp/initdb.log 2>&1 || {{ cat /tmp/initdb.log; exit 1; }}; \
             echo '{hba} all all 0.0.0.0/0 scram-sha-256' > /tmp/pg/pg_hba.conf; echo 'local all all trust' >> /tmp/pg/pg_hba.conf; {ssl} \
             exec postgres -D /tmp/pg -c listen_addresses='*' -k /tmp"
        );
        stack.run(
            "postgres",
            "999:999",
            &["-e", &format!("PGPW={PG_PASSWORD}"), "-e", &format!("CERT={cert}"), "-e", &format!("KEY={key}")],
            &["sh", "-c", &postgres],
        );
        // With TLS, Redis also listens for TLS on 6380, as Redis-over-TLS does.
        let redis = if tls.is_some() {
            format!(
                "printf '%s' \"$CERT\" > /tmp/r.crt; printf '%s' \"$KEY\" > /tmp/r.key; \
                 exec redis-server --protected-mode no --requirepass {REDIS_PASSWORD} --save '' \
                 --tls-port 6380 --tls-cert-file /tmp/r.crt --tls-key-file /tmp/r.key --tls-auth-clients no"
            )
        } else {
            format!("exec redis-server --protected-mode no --requirepass {REDIS_PASSWORD} --save ''")
        };
        let env = ["-e", &format!("CERT={cert}"), "-e", &format!("KEY={key}")];
        stack.run("redis", "998:998", &env, &["sh", "-c", &redis]);
        stack.wait_for("postgres", "database system is ready to accept connections");
        stack.wait_for("redis", "Ready to accept connections");
        stack.psql("CREATE TABLE users (id int); INSERT INTO users SELECT generate_series(1, 3);");
        stack
    }

    fn name(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    fn run(&self, service: &str, user: &str, env: &[&str], argv: &[&str]) {
        let name = self.name(service);
        let project = format!("com.docker.compose.project={}", self.project);
        let svc = format!("com.docker.compose.service={service}");
        let network = format!("{}_default", self.project);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            "--network-alias",
            service,
            "--user",
            user,
            "--label",
            &project,
            "--label",
            &svc,
            "--label",
            "com.docker.compose.container-number=1",
        ];
        args.extend_from_slice(env);
        let image = service_image();
        args.push(&image);
        args.extend_from_slice(argv);
        docker(&args);
    }

    fn wait_for(&self, service: &str, line: &str) {
        for _ in 0..300 {
            let out = Command::new("docker").args(["logs", &self.name(service)]).output().expect("docker logs");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if text.contains(line) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{service} did not say {line:?}: {}", docker(&["logs", &self.name(service)]));
    }

    fn psql(&self, sql: &str) -> String {
        docker(&["exec", &self.name("postgres"), "psql", "-h", "/tmp", "-U", "postgres", "-qtAc", sql])
    }

    /// A compose file that names the project and these services, in a
    /// folder of the sandbox.
    fn compose_file(&self, sb: &Sandbox, services: &[&str]) {
        let mut text = format!("name: {}\nservices:\n", self.project);
        for s in services {
            text.push_str(&format!("  {s}:\n    image: {s}\n"));
        }
        text.push_str("  debug:\n    image: busybox\n    profiles: [debug]\n");
        sb.write("stack/docker-compose.yml", &text);
    }
}

fn service_image() -> String {
    service("RUNBOOK_TEST_SERVER_IMAGE")
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.name("postgres"), &self.name("redis")]).output();
        let _ = Command::new("docker").args(["network", "rm", &format!("{}_default", self.project)]).output();
    }
}

/// The targets of the stack by service name, as an operator writes them.
fn targets(extra: &str) -> String {
    format!(
        "[docker]\ncompose_file = \"stack/docker-compose.yml\"\n\n\
         [postgres.main]\nservice = \"postgres\"\nuser = \"postgres\"\npassword = \"{PG_PASSWORD}\"\ndatabase = \"postgres\"\n\n\
         [redis.cache]\nservice = \"redis\"\npassword = \"{REDIS_PASSWORD}\"\n{extra}"
    )
}

/// What changes between runs: how long a container has been up, times.
fn steady(text: &str) -> String {
    let up = regex::Regex::new(r"Up (\d+|About a|Less than a) (seconds?|minutes?|second)").unwrap();
    common::harness::filtered(&up.replace_all(text, "Up [UPTIME]"))
}

#[test]
fn services_on_the_compose_network_are_reached_by_name() {
    let stack = Stack::up("reach", None);
    let published = docker(&["port", &stack.name("postgres")]);
    assert_eq!(published, "", "the test's PostgreSQL publishes no port");
    let sb = Sandbox::new();
    stack.compose_file(&sb, &["postgres", "redis"]);
    sb.config(&targets(""));
    let out = sb.script(
        r#"let db = pg::connect("main");
print(`users: ${db.scalar("SELECT count(*) FROM users")}`);
print(`read only: ${db.scalar("SHOW transaction_read_only")}`);
print(`redis: ${redis::connect("cache").ping()}`);
print(`expected: ${docker::expected_services()}`);"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        common::printed(&out),
        ["users: 3", "read only: on", "redis: PONG", r#"expected: ["postgres", "redis"]"#]
    );
}

#[test]
fn the_morning_check_is_shaped_by_config_and_the_compose_file() {
    let stack = Stack::up("morning", None);
    let sb = Sandbox::new();
    // The compose file expects nginx, which has no container at all.
    stack.compose_file(&sb, &["postgres", "redis", "nginx"]);
    sb.config(&targets(
        "\n[scripts.daily-check]\nskip = [\"system-resources\", \"api\", \"frontend\", \"celery-workers\", \"recent-errors\", \"storage\"]\n",
    ));
    let out = sb.run(&["run", "daily-check"]);
    let p = &stack.project;
    assert_eq!(
        steady(&out.stdout),
        format!(
            "daily-check — The Morning Checklist: services, resources, database, Redis, API, frontend, Celery, errors, storage.

1. Services
  ✓ postgres ({p}-postgres-1): Up [UPTIME]
  ✓ redis ({p}-redis-1): Up [UPTIME]
  ✗ nginx: no container

2. System resources
  - skipped ([scripts.daily-check] skip)

3. Database
  ✓ database: 3 users

4. Redis
  ✓ redis: PONG

5. API
  - skipped ([scripts.daily-check] skip)

6. Frontend
  - skipped ([scripts.daily-check] skip)

7. Celery workers
  - skipped ([scripts.daily-check] skip)

8. Recent errors (last hour)
  - skipped ([scripts.daily-check] skip)

9. Storage
  - skipped ([scripts.daily-check] skip)

CRITICAL · 1 critical · 5 checks · 0 metrics · 6 steps skipped · [TIME]
"
        )
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr, "");

    // The same, as JSON: a skipped step says so and holds nothing.
    let json = sb.run(&["run", "daily-check", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let storage = &v["sections"][8];
    assert_eq!(storage["title"], "9. Storage");
    assert_eq!(storage["skipped"], "[scripts.daily-check] skip");
    assert_eq!(storage["checks"], serde_json::json!([]));
    assert!(v["sections"][2].get("skipped").is_none());

    // The database container removed: its step is a ✗ that says so, and
    // the services step lists it as missing.
    docker(&["rm", "-f", &stack.name("postgres")]);
    let gone = sb.run(&["run", "daily-check", "--skip", "services"]);
    assert!(
        gone.stdout.contains(&format!(
            "3. Database\n  ✗ database: pg::connect: compose service `postgres` of project `{p}` has no container (services with a container: redis; docker compose up -d postgres starts it)\n"
        )),
        "{}",
        gone.stdout
    );
    assert!(gone.stdout.contains("1. Services\n  - skipped (--skip)\n"), "{}", gone.stdout);
}

#[test]
fn service_targets_fail_in_words() {
    let stack = Stack::up("fail", None);
    let sb = Sandbox::new();
    stack.compose_file(&sb, &["postgres", "redis"]);
    sb.config(&targets("\n[postgres.typo]\nservice = \"postgress\"\n"));
    let p = &stack.project;
    let typo = sb.script(r#"pg::connect("typo");"#, &[]);
    assert!(
        typo.stderr.starts_with(&format!(
            "error: pg::connect: compose service `postgress` of project `{p}` has no container: did you mean `postgres`?\n"
        )),
        "{}",
        typo.stderr
    );
    docker(&["stop", "-t", "1", &stack.name("redis")]);
    let stopped = sb.script(r#"redis::connect("cache");"#, &[]);
    assert!(
        stopped.stderr.starts_with(&format!(
            "error: redis::connect: compose service `redis` of project `{p}` has no running container ({p}-redis-1 is exited): docker compose start redis\n"
        )),
        "{}",
        stopped.stderr
    );
    // No project: the compose file is what names it.
    let bare = Sandbox::new();
    bare.config("[postgres.main]\nservice = \"postgres\"\n");
    let none = bare.script(r#"pg::connect("main");"#, &[]);
    assert!(
        none.stderr.starts_with(
            "error: pg::connect: compose service `postgres`: no compose project is configured: set [docker] project or [docker] compose_file in runbook.toml\n"
        ),
        "{}",
        none.stderr
    );
    // A config that says both where and which service is refused at once.
    let both = Sandbox::new();
    both.config("[postgres.main]\nhost = \"db\"\nservice = \"postgres\"\n");
    let refused = both.script("print(1);", &[]);
    assert_eq!(refused.code, 78, "{}", refused.stderr);
    assert!(refused.stderr.contains("key `postgres.main`: give `host` or `service`, not both"), "{}", refused.stderr);
}

#[test]
fn a_tls_only_postgres_says_so_and_shows_its_certificate_after_starttls() {
    let pki = pki();
    let read = |f: &str| std::fs::read_to_string(pki.path(f)).unwrap();
    let stack = Stack::up("tls", Some((read("valid.pem"), read("valid.key"))));
    let sb = Sandbox::new();
    stack.compose_file(&sb, &["postgres", "redis"]);
    sb.config(&targets(&format!(
        "\n[postgres.tls]\nservice = \"postgres\"\nuser = \"postgres\"\npassword = \"{PG_PASSWORD}\"\ndatabase = \"postgres\"\nsslmode = \"require\"\n\n\
         [postgres.plain]\nservice = \"postgres\"\nuser = \"postgres\"\npassword = \"{PG_PASSWORD}\"\ndatabase = \"postgres\"\nsslmode = \"disable\"\n"
    )));
    let plain = sb.script(r#"pg::connect("plain");"#, &[]);
    assert!(
        plain.stderr.contains("the server takes only TLS connections: set sslmode = \"require\" on the target"),
        "{}",
        plain.stderr
    );
    let out = sb.script(
        &format!(
            r#"print(pg::connect("tls").scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
let c = tls::certificate("localhost:5432", #{{service: "postgres", ca: "{ca}"}});
print(`${{c.subject}} by ${{c.issuer}}, valid=${{c.valid}}, ${{c.protocol}}`);
let r = tls::certificate("localhost:6380", #{{service: "redis", ca: "{ca}"}});
print(`redis: ${{r.subject}}, valid=${{r.valid}}`);"#,
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        common::printed(&out),
        ["true", "CN=localhost by CN=runbook test CA, valid=true, TLS 1.3", "redis: CN=localhost, valid=true"]
    );
}

/// docs/compose-stack.md's runbook.toml, as written, on a stack of its
/// shape: the morning report is green.
#[test]
fn the_guides_config_gives_a_green_morning_report() {
    let stack = Stack::up("guide", None);
    stack.psql(&format!("CREATE ROLE civicq LOGIN PASSWORD '{PG_PASSWORD}'"));
    stack.psql("CREATE DATABASE civicq OWNER civicq");
    docker(&[
        "exec",
        &stack.name("postgres"),
        "psql",
        "-h",
        "/tmp",
        "-U",
        "civicq",
        "-d",
        "civicq",
        "-qc",
        "CREATE TABLE users (id int); INSERT INTO users SELECT generate_series(1, 1204);",
    ]);
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/compose-stack.md")).unwrap();
    let after = guide.split("<!-- tested by tests/compose_stack.rs").nth(1).expect("the guide marks its tested config");
    let toml = after.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let sb = Sandbox::new();
    stack.compose_file(&sb, &["postgres", "redis"]);
    let compose = sb.path().join("stack/docker-compose.yml");
    sb.config(&toml.replace("/opt/civicq/docker-compose.production.yml", &compose.display().to_string()));
    // The test machine is busy: CPU and disk are not what this test is about.
    let mut cmd = sb.cmd();
    cmd.args(["run", "daily-check", "--arg", "cpu_warn=101", "--arg", "cpu_crit=102", "--arg", "disk_warn=101"])
        .args(["--arg", "disk_crit=102"])
        .env("POSTGRES_PASSWORD", PG_PASSWORD)
        .env("REDIS_PASSWORD", REDIS_PASSWORD);
    let out = sb.run_cmd(&mut cmd);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let p = &stack.project;
    let text = steady(&out.stdout);
    for part in [
        format!("1. Services\n  ✓ postgres ({p}-postgres-1): Up [UPTIME]\n  ✓ redis ({p}-redis-1): Up [UPTIME]\n\n2. System resources\n"),
        "3. Database\n  ✓ database: 1,204 users\n\n4. Redis\n  ✓ redis: PONG\n\n5. API\n  - skipped ([scripts.daily-check] skip)\n".into(),
        "\nOK · 4 checks · 3 metrics · 5 steps skipped · [TIME]\n".into(),
    ] {
        assert!(text.contains(&part), "missing {part:?} in\n{text}");
    }
}

/// An engine reached over TCP at an address of another machine: its
/// containers' addresses are not reachable from here, and runbook says so
/// (the engine is this one, behind a TCP-to-socket relay on a
/// non-loopback address, so the refusal is runbook's, not the network's).
#[test]
fn a_remote_engine_says_its_containers_are_out_of_reach() {
    use std::io::{Read, Write};
    let stack = Stack::up("remote", None);
    let ip = Command::new("hostname").arg("-I").output().unwrap();
    let ip = String::from_utf8_lossy(&ip.stdout)
        .split_whitespace()
        .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok_and(|v| !v.is_loopback()))
        .expect("a non-loopback IPv4 address")
        .to_string();
    let listener = std::net::TcpListener::bind((ip.as_str(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let unix = std::os::unix::net::UnixStream::connect("/var/run/docker.sock").unwrap();
            let (mut a, mut b) = (tcp.try_clone().unwrap(), unix.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a, &mut b);
                let _ = b.shutdown(std::net::Shutdown::Write);
            });
            let (mut c, mut d) = (unix, tcp);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 || d.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = d.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    let sb = Sandbox::new();
    stack.compose_file(&sb, &["postgres", "redis"]);
    sb.config(&targets("").replacen("[docker]\n", &format!("[docker]\nhost = \"tcp://{ip}:{port}\"\n"), 1));
    let ps = sb.script("print(docker::ps().len());", &[]);
    assert_eq!(common::printed(&ps), ["2"], "{}", ps.stderr);
    let out = sb.script(r#"pg::connect("main");"#, &[]);
    assert!(
        out.stderr.starts_with(&format!(
            "error: pg::connect: compose service `postgres`: the Docker Engine at tcp://{ip}:{port} is on another machine, and its containers' addresses cannot be reached from here: publish the service's port and give `host` and `port` instead, or run runbook on that machine\n"
        )),
        "{}",
        out.stderr
    );
}
