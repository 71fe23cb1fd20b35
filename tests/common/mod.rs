//! Test helpers: a throw-away folder with its own runbook.toml and scripts,
//! and the real `runbook` binary run inside it with a clean environment.
#![allow(dead_code, reason = "each test crate uses part of the shared helpers")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

pub mod backups;
pub mod fleet;
pub mod harness;
pub mod history;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    /// stdout with the run's wall time ("· 12 ms") replaced by "· N ms".
    pub fn stdout_norm(&self) -> String {
        normalize_ms(&self.stdout)
    }
}

pub fn normalize_ms(s: &str) -> String {
    s.lines()
        .map(|l| match l.rfind(" · ") {
            Some(i) if l.ends_with(" ms") && l[i + " · ".len()..l.len() - 3].chars().all(|c| c.is_ascii_digit()) => {
                format!("{} · N ms", &l[..i])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if s.ends_with('\n') { "\n" } else { "" }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_runbook")
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox { dir: tempfile::Builder::new().prefix("runbook-test").tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Write ./runbook.toml in the sandbox.
    pub fn config(&self, toml: &str) -> PathBuf {
        self.write("runbook.toml", toml)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path())
            .env_remove("RUNBOOK_CONFIG")
            .env_remove("RUNBOOK_SCRIPTS")
            .env_remove("RUNBOOK_STDLIB")
            .env_remove("NO_COLOR")
            .env_remove("XDG_STATE_HOME")
            .env_remove("RUNBOOK_HOST")
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_cmd(self.cmd().args(args))
    }

    pub fn run_cmd(&self, cmd: &mut Command) -> Out {
        let started = Instant::now();
        let out = cmd.output().expect("runbook runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// A service address exported by dev/services.sh. Missing is a failure,
/// never a skip: run the tests through ./dev/test, which starts them.
pub fn service(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with ./dev/test, which starts PostgreSQL and Redis")
    })
}

/// `[smtp.default]` for the SMTP test server on `port` (STARTTLS, AUTH,
/// the test CA); the real port is `service("RUNBOOK_TEST_SMTP_PORT")`.
pub fn smtp_config(port: &str) -> String {
    format!(
        "[smtp.default]\nhost = \"localhost\"\nport = {port}\nsecurity = \"starttls\"\nusername = \"runbook\"\npassword = \"smtp-test-pw\"\nfrom = \"runbook <runbook@example.com>\"\nca = \"{}\"\ntimeout = \"5s\"\n",
        service("RUNBOOK_TEST_CA")
    )
}

/// This machine's name, as runbook reports it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string()
}

/// The messages the SMTP test server received whose subject mentions
/// `script`, oldest first; waits up to 2 s for `at_least` of them.
pub fn received(script: &str, at_least: usize) -> Vec<String> {
    let dir = service("RUNBOOK_TEST_SMTP_DIR");
    let mut found = vec![];
    for _ in 0..40 {
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        found = files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|t| t.lines().any(|l| l.starts_with("Subject: ") && l.contains(&format!("] {script} on "))))
            .collect();
        if found.len() >= at_least {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    found
}

/// Run SQL on the test database with the real psql; its output, trimmed.
pub fn psql(sql: &str) -> String {
    psql_at(&service("RUNBOOK_TEST_PG_URL"), sql)
}

/// Run SQL on the database at `url` with the real psql; its output, trimmed.
pub fn psql_at(url: &str, sql: &str) -> String {
    let out = Command::new(Path::new(&service("RUNBOOK_TEST_PG_BIN")).join("psql"))
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Sandbox {
    /// A sandbox whose runbook.toml names the test PostgreSQL as `main`
    /// and the test Redis as `cache`, with `extra` appended.
    pub fn with_services(extra: &str) -> Self {
        let sb = Sandbox::new();
        sb.config(&format!(
            "[postgres.main]\nurl = \"{}\"\n\n[redis.cache]\nurl = \"{}\"\n\n[fs]\nroots = [\"{}\"]\n{extra}",
            service("RUNBOOK_TEST_PG_URL"),
            service("RUNBOOK_TEST_REDIS_URL"),
            sb.path().display()
        ));
        sb
    }

    /// Run a script body (a header is added) with extra flags.
    pub fn script(&self, body: &str, flags: &[&str]) -> Out {
        self.write("s.rhai", &format!("// Test script.\n{body}\n"));
        let mut args = vec!["run", "s.rhai"];
        args.extend_from_slice(flags);
        self.run(&args)
    }
}

/// The printed lines of a report (what `print` wrote), without the heading,
/// the status line and the dry-run "· would …" lines. A script that only
/// prints, piped, prints just its lines: those are all of stdout.
pub fn printed(out: &Out) -> Vec<String> {
    if !framed(&out.stdout) {
        return out.stdout.lines().map(str::to_string).collect();
    }
    out.stdout.lines().filter(|l| l.starts_with("  ") && !l.starts_with("  · ")).map(|l| l[2..].to_string()).collect()
}

/// Whether stdout is a whole report (heading … status line), not the bare
/// lines of a script that only printed.
pub fn framed(stdout: &str) -> bool {
    let footer = regex::Regex::new(r"^(OK|WARNING|CRITICAL|UNKNOWN) · .* · \d+ ms$").unwrap();
    stdout.lines().last().is_some_and(|l| footer.is_match(l))
}

/// A throw-away compose project: containers carrying compose's labels,
/// made from the busybox image dev/services.sh builds, all removed on drop.
pub struct Compose {
    pub project: String,
    pub image: String,
}

/// The backend writes INFO lines to stdout and ERROR lines to stderr, then
/// waits; it exits at once on SIGTERM so that restarts are quick.
pub const BACKEND_SH: &str = "echo 'INFO backend started'; echo 'ERROR database timeout' >&2; \
     echo 'INFO listening on :8000'; echo 'ERROR redis refused' >&2; echo 'error: lowercase on stdout'; \
     trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

pub const IDLE_SH: &str = "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done";

impl Compose {
    pub fn new(test: &str) -> Self {
        let image = service("RUNBOOK_TEST_DOCKER_IMAGE");
        let project = format!("rbtest-{test}-{}", std::process::id());
        Compose { project, image }
    }

    fn docker(args: &[&str]) -> String {
        let out = Command::new("docker").args(args).output().expect("docker CLI runs");
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Start container NUMBER of SERVICE running `sh -c SCRIPT`; its name
    /// is compose's: PROJECT-SERVICE-NUMBER.
    pub fn run(&self, service: &str, number: u32, script: &str) -> String {
        let name = format!("{}-{service}-{number}", self.project);
        Self::docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &format!("com.docker.compose.project={}", self.project),
            "--label",
            &format!("com.docker.compose.service={service}"),
            "--label",
            &format!("com.docker.compose.container-number={number}"),
            &self.image,
            "sh",
            "-c",
            script,
        ]);
        name
    }

    /// A container that ran and exited with `code`.
    pub fn exited(&self, service: &str, code: u32) -> String {
        let name = self.run(service, 1, &format!("exit {code}"));
        Self::docker(&["wait", &name]);
        name
    }

    pub fn inspect(&self, name: &str, format: &str) -> String {
        Self::docker(&["inspect", "--format", format, name])
    }

    /// Write an executable `path` holding `content` into a running
    /// container: a stand-in program (`python`, `pip`, `npm`) whose output
    /// is the real one's.
    pub fn install(&self, name: &str, path: &str, content: &str) {
        use std::io::Write;
        let mut child = Command::new("docker")
            .args(["exec", "-i", name, "sh", "-c", &format!("cat > {path} && chmod +x {path}")])
            .stdin(Stdio::piped())
            .spawn()
            .expect("docker exec runs");
        child.stdin.take().unwrap().write_all(content.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "installing {path} in {name}");
    }

    /// Wait until the container's logs hold `lines` lines (the shell
    /// writes them just after start).
    pub fn wait_logs(&self, name: &str, lines: usize) {
        for _ in 0..100 {
            let out = Command::new("docker").args(["logs", name]).output().expect("docker logs");
            let n = out.stdout.iter().chain(out.stderr.iter()).filter(|b| **b == b'\n').count();
            if n >= lines {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{name} did not write {lines} log lines");
    }

    /// `[docker] project = …` plus an fs root, for the sandbox's runbook.toml.
    pub fn config(&self, sb: &Sandbox) -> String {
        format!("[docker]\nproject = \"{}\"\n\n[fs]\nroots = [\"{}\"]\n", self.project, sb.path().display())
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let ids = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label=com.docker.compose.project={}", self.project)])
            .output();
        if let Ok(out) = ids {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
            if !ids.is_empty() {
                let _ = Command::new("docker").arg("rm").arg("-f").args(&ids).output();
            }
        }
    }
}
