//! `runbook run daily-check`, end to end: PostgreSQL with the fixture,
//! Redis, Docker containers standing in for the compose project, an S3
//! server with objects in it, and HTTP servers for the API and frontend.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::web::serve_http;
use common::{service, Compose, Sandbox, IDLE_SH};

/// The backend: logs with errors, and a `celery` that answers
/// `inspect active -j` as Celery does.
const BACKEND: &str = r#"printf '#!/bin/sh\necho "{\\"worker1@civicq\\": [{\\"id\\": 1}, {\\"id\\": 2}], \\"worker2@civicq\\": []}"\n' > /bin/celery; chmod +x /bin/celery; echo 'INFO up'; echo 'ERROR one' >&2; echo 'error two' >&2; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"#;

fn setup(test: &str) -> (Compose, Sandbox, String) {
    let c = Compose::new(test);
    let backend = c.run("backend", 1, BACKEND);
    c.run("worker", 1, IDLE_SH);
    c.wait_logs(&backend, 3);
    let bucket = format!("media-{test}-{}", std::process::id());
    let dir = std::path::Path::new(&service("RUNBOOK_TEST_S3_ROOT")).join(&bucket);
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    std::fs::write(dir.join("uploads/a.jpg"), vec![7u8; 2048]).unwrap();
    std::fs::write(dir.join("uploads/b.jpg"), vec![7u8; 1024]).unwrap();
    let web = serve_http();
    let sb = Sandbox::with_services(&format!(
        "\n[docker]\nproject = \"{}\"\n\n[http.api]\nurl = \"http://127.0.0.1:{web}\"\n\n[http.frontend]\nurl = \"http://127.0.0.1:{web}/\"\n\n[s3.media]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\naccess_key_id = \"runbook-test-key\"\nsecret_access_key = \"runbook-test-secret\"\n",
        c.project,
        service("RUNBOOK_TEST_S3_ENDPOINT")
    ));
    (c, sb, backend)
}

/// The report's lines without those whose figures vary between machines.
fn stable(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.contains("cpu_used_pct") && !l.contains("memory_used_pct") && !l.contains("disk_used_pct"))
        .map(|l| {
            let l = common::normalize_ms(l).replace(char::is_numeric, "N");
            // "0.89 ms" and "12 ms" alike.
            regex::Regex::new(r"N+(\.N+)? ms").unwrap().replace_all(&l, "N ms").into_owned()
        })
        .collect()
}

const CALM: &[&str] =
    &["--arg", "cpu_warn=101", "--arg", "cpu_crit=102", "--arg", "disk_warn=99", "--arg", "disk_crit=100"];

#[test]
fn all_is_well_and_every_step_reports() {
    let (c, sb, _) = setup("dcok");
    let mut args = vec!["run", "daily-check"];
    args.extend_from_slice(CALM);
    let out = sb.run(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let p = &c.project;
    let expected = format!(
        "daily-check — The Morning Checklist: services, resources, database, Redis, API, frontend, Celery, errors, storage.

1. Services
  ✓ backend ({p}-backend-1): Up Less than a second
  ✓ worker ({p}-worker-1): Up Less than a second

2. System resources

3. Database
  ✓ database: 20,000 users

4. Redis
  ✓ redis: PONG

5. API
  ✓ API /health: healthy in N ms

6. Frontend
  ✓ frontend: HTTP 200

7. Celery workers
  ✓ celery: worker1@civicq: 2 tasks, worker2@civicq: 0 tasks

8. Recent errors (last hour)
  ✓ backend_errors_1h: 2  (warn 10, crit 100)

9. Storage
  ✓ media storage: 2 objects, 3.0 KiB

OK · 7 checks · 4 metrics · N ms"
    );
    let got = stable(&out.stdout).join("\n");
    let want = stable(&expected).join("\n");
    // Container uptimes read "Up 2 seconds" or "Up Less than a second".
    let norm = |s: &str| {
        s.lines()
            .map(|l| if l.contains(": Up ") { l[..l.find(": Up ").unwrap()].to_string() } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&got), norm(&want), "{}", out.stdout);

    // The CPU line says how long it sampled, and the load averages beside it.
    let sample = if std::path::Path::new("/sys/fs/cgroup/cpuacct/cpuacct.usage").exists() { 25 } else { 250 };
    let cpu = out.stdout.lines().find(|l| l.contains("cpu_used_pct")).unwrap();
    let shape = format!(
        r"^  ✓ cpu_used_pct: [0-9.]+% — over {sample} ms; load [0-9.]+ [0-9.]+ [0-9.]+  \(warn 101, crit 102\)$"
    );
    assert!(regex::Regex::new(&shape).unwrap().is_match(cpu), "{cpu:?} is not {shape:?}");

    // A project without Celery says so instead of failing the step.
    args.extend_from_slice(&["--arg", "celery="]);
    let out = sb.run(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("7. Celery workers\n  not checked: the celery parameter is empty\n\n8. Recent errors"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_stopped_service_and_crossed_thresholds_are_critical_and_the_rest_still_runs() {
    let (c, sb, backend) = setup("dcbad");
    let st = std::process::Command::new("docker")
        .args(["stop", "-t", "1", &format!("{}-worker-1", c.project)])
        .status()
        .unwrap();
    assert!(st.success());
    let mut args =
        vec!["run", "daily-check", "--arg", "errors_warn=1", "--arg", "errors_crit=2", "--arg", "media=nomedia"];
    args.extend_from_slice(CALM);
    let out = sb.run(&args);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let p = &c.project;
    assert!(out.stdout.contains(&format!("  ✗ worker ({p}-worker-1): exited: Exited (0)")), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("  ✓ backend ({backend}): Up")), "{}", out.stdout);
    assert!(out.stdout.contains("  ✗ backend_errors_1h: 2  (warn 1, crit 2)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("  ✗ media storage: s3::bucket: no [s3.nomedia] target (did you mean `media`?)"),
        "{}",
        out.stdout
    );
    // The steps after the failures ran.
    assert!(out.stdout.contains("  ✓ celery: worker1@civicq: 2 tasks"), "{}", out.stdout);
    assert!(out.stdout.contains("  ✓ redis: PONG"), "{}", out.stdout);
}

#[test]
fn without_any_service_every_step_is_a_cross_with_its_reason_quickly() {
    let sb = Sandbox::new();
    sb.config("[run]\nconnect_timeout = \"1s\"\n\n[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n");
    let mut args = vec!["run", "daily-check"];
    args.extend_from_slice(CALM);
    let out = sb.run(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for line in [
        "  ✗ services: docker: no Docker socket at /nonexistent/docker.sock",
        "  ✗ database: pg::connect: no [postgres.main] target (runbook.toml has no [postgres.NAME] section); a postgres:// URL works too",
        "  ✗ redis: redis::connect: no [redis.cache] target (runbook.toml has no [redis.NAME] section); a redis:// URL works too",
        "  ✗ API /health: http::get: `api/health`: no [http.api] target (runbook.toml has no [http.NAME] section); or give a full URL (https://…)",
        "  ✗ frontend: http::head: `frontend`: no [http.frontend] target (runbook.toml has no [http.NAME] section); or give a full URL (https://…)",
        "  ✗ celery: docker: no Docker socket",
        "  ✗ backend logs: docker: no Docker socket",
        "  ✗ media storage: s3::bucket: no [s3.media] target (runbook.toml has no [s3.NAME] section)",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    }
    assert!(out.elapsed.as_secs() < 5, "{:?}", out.elapsed);
}
