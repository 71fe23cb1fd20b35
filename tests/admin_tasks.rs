//! The manual's Common Tasks, Certificate, Security Patches, Log Rotation
//! and Maintenance Window procedures end to end: users/* against the test
//! PostgreSQL, db/migrate, security/audit-deps and services/scale with
//! stand-in programs whose output is the real ones', cert/renew,
//! logs/rotation-check with the real logrotate, maintenance/window on
//! Docker, Redis, HTTP and SMTP.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::io::Write;
use std::process::{Command, Stdio};

use common::web::serve_http;
use common::{psql, service, smtp_config, Compose, Out, Sandbox, BACKEND_SH, IDLE_SH};

/// Run with `input` on standard input (as a pipe: no terminal).
fn run_with_input(sb: &Sandbox, args: &[&str], input: &str) -> Out {
    let started = std::time::Instant::now();
    let mut child =
        sb.cmd().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// A program on the sandbox's PATH, ahead of the system's.
fn stand_in(sb: &Sandbox, name: &str, script: &str) {
    let p = sb.write(&format!("bin/{name}"), script);
    assert!(Command::new("chmod").arg("+x").arg(&p).status().unwrap().success());
}

fn with_path(sb: &Sandbox, args: &[&str]) -> Out {
    let path = format!("{}:{}", sb.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
    sb.run_cmd(sb.cmd().args(args).env("PATH", path))
}

#[test]
fn users_create_admin_reset_password_and_verify_never_show_the_password() {
    let email = format!("rbtest-{}@example.com", std::process::id());
    // Also what an earlier, interrupted run of this test left behind.
    psql("DELETE FROM users WHERE email LIKE 'rbtest-%@example.com'");
    // The fixture's counts are other tests' expectations (40 admins): the
    // account goes also when an assertion below fails.
    let _gone_at_the_end = DeleteUser(email.clone());
    let sb = Sandbox::with_services("");
    let email_arg = format!("email={email}");

    let out = run_with_input(
        &sb,
        &["run", "users/create-admin", "--arg", &email_arg, "--arg", "name=Test Admin"],
        "first-secret-pw\n",
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("  ✓ admin: created {email} (admin, verified)")), "{}", out.stdout);
    let row = psql(&format!("SELECT role, is_verified, full_name, hashed_password FROM users WHERE email = '{email}'"));
    let f: Vec<&str> = row.split('|').collect();
    assert_eq!(&f[..3], ["admin", "t", "Test Admin"]);
    assert!(bcrypt::verify("first-secret-pw", f[3]).unwrap(), "stored as the bcrypt hash of what was typed");

    // A second create refuses; a short password changes nothing.
    let again =
        run_with_input(&sb, &["run", "users/create-admin", "--arg", &email_arg, "--arg", "name=X"], "another-pw-123\n");
    assert_eq!(again.code, 2);
    assert!(again.stdout.contains("already exists: use users/reset-password"), "{}", again.stdout);
    let short = run_with_input(&sb, &["run", "users/reset-password", "--arg", &email_arg], "x9!q\n");
    assert_eq!(short.code, 2);
    assert!(short.stdout.contains("not changed: the password is shorter than 8 characters"), "{}", short.stdout);

    // --dry-run changes nothing; a real run stores the new hash.
    let dry =
        run_with_input(&sb, &["run", "users/reset-password", "--arg", &email_arg, "--dry-run"], "second-secret-pw\n");
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(!dry.stdout.contains("second-secret-pw"), "{}", dry.stdout);
    // The new hash can be cracked offline: the dry run's "would" line masks it.
    assert!(!dry.stdout.contains("$2b$12$"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("UPDATE users SET hashed_password = $1 WHERE email = $2 with ['***', "),
        "{}",
        dry.stdout
    );
    let hash = psql(&format!("SELECT hashed_password FROM users WHERE email = '{email}'"));
    assert!(bcrypt::verify("first-secret-pw", &hash).unwrap(), "dry run changed the password");
    let out = run_with_input(&sb, &["run", "users/reset-password", "--arg", &email_arg], "second-secret-pw\n");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ password: changed (1 user)"), "{}", out.stdout);
    let hash = psql(&format!("SELECT hashed_password FROM users WHERE email = '{email}'"));
    assert!(hash.starts_with("$2b$12$") && bcrypt::verify("second-secret-pw", &hash).unwrap());
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("second-secret-pw"));

    psql(&format!("UPDATE users SET is_verified = false WHERE email = '{email}'"));
    let out = sb.run(&["run", "users/verify", "--arg", &email_arg]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("  ✓ verified: now verified"), "{}", out.stdout);
    assert_eq!(psql(&format!("SELECT is_verified FROM users WHERE email = '{email}'")), "t");
    let missing = sb.run(&["run", "users/verify", "--arg", "email=nobody-here@example.com"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stdout.contains("  ✗ no user nobody-here@example.com"), "{}", missing.stdout);
}

/// Deletes the user with this email when dropped, even by a panic.
struct DeleteUser(String);

impl Drop for DeleteUser {
    fn drop(&mut self) {
        psql(&format!("DELETE FROM users WHERE email = '{}'", self.0));
    }
}

/// alembic as it prints, recording its arguments in /tmp/alembic.args.
const ALEMBIC: &str = "#!/bin/sh\necho \"$@\" >> /tmp/alembic.args\ncase \"$1\" in\n current) echo 'a1b2c3 (head)';;\n upgrade) echo 'INFO  [alembic.runtime.migration] Running upgrade a1b2c3 -> d4e5f6, add votes index' >&2;;\n downgrade) echo 'INFO  [alembic.runtime.migration] Running downgrade d4e5f6 -> a1b2c3' >&2;;\nesac\n";

#[test]
fn db_migrate_upgrades_and_a_downgrade_asks_first() {
    let c = Compose::new("migrate");
    let backend = c.run("backend", 1, IDLE_SH);
    c.install(&backend, "/bin/alembic", ALEMBIC);
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "db/migrate"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ alembic current: a1b2c3 (head)"), "{}", out.stdout);
    assert!(out.stdout.contains("Running upgrade a1b2c3 -> d4e5f6, add votes index"), "{}", out.stdout);
    let refused = sb.run(&["run", "db/migrate", "--arg", "down=1"]);
    assert_ne!(refused.code, 0);
    assert!(format!("{}{}", refused.stdout, refused.stderr).contains("refusing to roll the database back 1 migrations"));
    let out = sb.run(&["run", "db/migrate", "--arg", "down=1", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let args = String::from_utf8(
        Command::new("docker").args(["exec", &backend, "cat", "/tmp/alembic.args"]).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(args, "current\nupgrade head\ncurrent\ncurrent\ndowngrade -1\n");
}

#[test]
fn cert_renew_runs_certbot_then_restarts_nginx_and_a_rehearsal_restarts_nothing() {
    let c = Compose::new("renew");
    let nginx = c.run("nginx", 1, IDLE_SH);
    let sb = Sandbox::new();
    sb.config(&format!("{}\n[proc]\nallow = [\"certbot\"]\n", c.config(&sb)));
    let log = sb.path().join("certbot.args");
    stand_in(
        &sb,
        "certbot",
        &format!("#!/bin/sh\necho \"$@\" >> {}\necho 'Congratulations, all renewals succeeded'\n", log.display()),
    );

    let before = c.inspect(&nginx, "{{.State.StartedAt}}");
    let out = with_path(&sb, &["run", "cert/renew", "--arg", "dry_run=true"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ not restarted: certbot only rehearsed"), "{}", out.stdout);
    assert_eq!(c.inspect(&nginx, "{{.State.StartedAt}}"), before);

    let out = with_path(&sb, &["run", "cert/renew"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  Congratulations, all renewals succeeded"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ restart nginx: restarted 1"), "{}", out.stdout);
    assert_ne!(c.inspect(&nginx, "{{.State.StartedAt}}"), before);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "renew --non-interactive --dry-run\nrenew --non-interactive\n");

    // runbook's own --dry-run runs neither.
    let out = with_path(&sb, &["run", "cert/renew", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[test]
fn services_scale_goes_through_the_compose_tool_and_counts_what_runs() {
    let c = Compose::new("scale");
    c.run("worker", 1, IDLE_SH);
    let sb = Sandbox::new();
    sb.config(&format!("{}\n[proc]\nallow = [\"docker-compose\"]\n", c.config(&sb)));
    // A compose that does what `up -d --scale worker=N` does: start containers up to N.
    stand_in(
        &sb,
        "docker-compose",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in worker=*) n=${{a#worker=}};; esac; done\ni=1\nwhile [ $i -le $n ]; do\n  docker inspect {p}-worker-$i >/dev/null 2>&1 || docker run -d --name {p}-worker-$i --label com.docker.compose.project={p} --label com.docker.compose.service=worker {img} sh -c 'sleep 3600' >/dev/null\n  i=$((i+1))\ndone\n",
            p = c.project,
            img = c.image
        ),
    );
    let out = with_path(
        &sb,
        &[
            "run",
            "services/scale",
            "--arg",
            "service=worker",
            "--arg",
            "replicas=3",
            "--arg",
            "compose=docker-compose",
            "--arg",
            "settle=100ms",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  running now: 1\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ running: 3 — wanted 3\n"), "{}", out.stdout);
}

#[test]
fn security_audit_deps_tables_vulnerabilities_by_severity() {
    let c = Compose::new("audit-deps");
    let backend = c.run("backend", 1, IDLE_SH);
    let frontend = c.run("frontend", 1, IDLE_SH);
    c.install(
        &backend,
        "/bin/pip-audit",
        "#!/bin/sh\necho '{\"dependencies\": [{\"name\": \"jinja2\", \"version\": \"3.1.2\", \"vulns\": [{\"id\": \"GHSA-h5c8-rqwp-cp95\", \"fix_versions\": [\"3.1.3\"], \"description\": \"xss\"}]}, {\"name\": \"requests\", \"version\": \"2.32.3\", \"vulns\": []}]}'\nexit 1\n",
    );
    c.install(
        &frontend,
        "/bin/npm",
        "#!/bin/sh\necho '{\"vulnerabilities\": {\"semver\": {\"name\": \"semver\", \"severity\": \"moderate\", \"via\": [{\"source\": 1, \"title\": \"ReDoS\", \"url\": \"https://github.com/advisories/GHSA-c2qf-rxjj-qqgw\"}], \"range\": \"<7.5.2\", \"fixAvailable\": true}, \"axios\": {\"name\": \"axios\", \"severity\": \"critical\", \"via\": [{\"source\": 2, \"title\": \"SSRF\", \"url\": \"https://github.com/advisories/GHSA-8hc4-vh64-cxmj\"}], \"range\": \"1.0.0 - 1.7.3\", \"fixAvailable\": {\"name\": \"axios\", \"version\": \"1.7.4\"}}}}'\nexit 1\n",
    );
    let sb = Sandbox::new();
    sb.config(&c.config(&sb));
    let out = sb.run(&["run", "security/audit-deps"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let table: String =
        out.stdout.split("Vulnerabilities\n").nth(1).unwrap().lines().take(5).collect::<Vec<_>>().join("\n");
    assert_eq!(
        table,
        "  severity  side      name    version        id                   fix
  ────────  ────────  ──────  ─────────────  ───────────────────  ─────────────
  critical  frontend  axios   1.0.0 - 1.7.3  GHSA-8hc4-vh64-cxmj  axios@1.7.4
  high      backend   jinja2  3.1.2          GHSA-h5c8-rqwp-cp95  3.1.3
  moderate  frontend  semver  <7.5.2         GHSA-c2qf-rxjj-qqgw  npm audit fix"
    );
    assert!(
        out.stdout.contains("  ✗ vulnerabilities_high: 2 — critical and high: patch immediately"),
        "{}",
        out.stdout
    );
}

#[test]
fn rotation_check_accepts_the_manuals_configuration_and_names_a_broken_one() {
    let sb = Sandbox::new();
    let conf = sb.path().join("civicq");
    let manual_conf = "/opt/civicq/backend/logs/*.log {\n    daily\n    missingok\n    rotate 14\n    compress\n    delaycompress\n    notifempty\n    sharedscripts\n}\n\n/var/log/nginx/*.log {\n    daily\n    missingok\n    rotate 14\n    compress\n}\n";
    std::fs::write(&conf, manual_conf).unwrap();
    sb.config(&format!(
        "[fs]\nroots = [\"{}\"]\n\n[proc]\nallow = [\"/usr/sbin/logrotate\"]\nread_only = [\"/usr/sbin/logrotate -d {}/*\"]\n",
        sb.path().display(),
        sb.path().display()
    ));
    let config_arg = format!("config={}", conf.display());
    let args = ["run", "logs/rotation-check", "--arg", &config_arg, "--arg", "logrotate=/usr/sbin/logrotate"];
    let out = sb.run(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  ✓ rotates /var/log/nginx/*.log: yes\n  ✓ /usr/sbin/logrotate -d: accepted\n"),
        "{}",
        out.stdout
    );

    std::fs::write(&conf, manual_conf.replace("rotate 14\n    compress\n}", "rotate 14\n    compresss\n}")).unwrap();
    let out = sb.run(&args);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("  ✗ /usr/sbin/logrotate -d: "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(line.contains("compresss"), "{line}");
}

#[test]
fn maintenance_window_walks_every_step_in_dry_run_and_then_does_them() {
    let c = Compose::new("maint");
    let backend = c.run("backend", 1, BACKEND_SH);
    c.wait_logs(&backend, 5);
    // Log times are counted in whole seconds: the start-up errors must be
    // older than the window.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let web = serve_http();
    let sb = Sandbox::with_services(&format!(
        "\n[http.api]\nurl = \"http://127.0.0.1:{web}\"\n\n{}\n[docker]\nproject = \"{}\"\n\n[proc]\nallow = [\"true\"]\n",
        smtp_config(&service("RUNBOOK_TEST_SMTP_PORT")),
        c.project
    ));
    let flag = format!("flag=rbtest:{}:maintenance", std::process::id());
    let backup_dir = format!("backup_dir={}", sb.path().display());
    let args = [
        "run",
        "maintenance/window",
        "--arg",
        &flag,
        "--arg",
        &backup_dir,
        "--arg",
        "services=backend",
        "--arg",
        "work=true",
        "--arg",
        "settle=500ms",
        "--arg",
        "announce_to=ops@example.com",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = sb.run(&dry);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for step in
        ["1. Backup", "2. Announce", "3. Stop services", "4. Work", "5. Restart services", "6. Verify", "7. Finish"]
    {
        assert!(out.stdout.contains(step), "missing {step} in\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains(&format!("  · would stop {backend}\n")) && !out.stdout.contains("✓ stop backend"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  ✓ backend_errors_since_start: 0  (warn 1, crit 10)"), "{}", out.stdout);
    assert_eq!(c.inspect(&backend, "{{.State.Status}}"), "running");
    assert!(std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".sql.gz")));

    let before = c.inspect(&backend, "{{.State.StartedAt}}");
    let out = sb.run(&args);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("  ✓ stop backend: stopped 1"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ API /health: healthy"), "{}", out.stdout);
    // The backend writes two ERROR lines and one "error:" at each start.
    assert!(out.stdout.contains("  ! backend_errors_since_start: 3  (warn 1, crit 10)"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ maintenance mode off: off"), "{}", out.stdout);
    assert_ne!(c.inspect(&backend, "{{.State.StartedAt}}"), before, "not restarted");
    assert_eq!(c.inspect(&backend, "{{.State.Status}}"), "running");
    assert!(std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("civicq-premaintenance-")));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let key = flag.trim_start_matches("flag=");
    let gone = sb.script(&format!("print(redis::connect(\"cache\").exists(\"{key}\"));"), &[]);
    assert_eq!(common::printed(&gone), ["false"], "the maintenance flag is still set");

    // Maintenance mode through the application's endpoint instead.
    let mut via_http = args.to_vec();
    via_http.extend_from_slice(&["--arg", "maintenance_url=api/echo"]);
    let out = sb.run(&via_http);
    assert!(out.stdout.contains("  ✓ maintenance mode on (api/echo): on\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ maintenance mode off: off\n"), "{}", out.stdout);
}
