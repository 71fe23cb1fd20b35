//! `docker::exec` and `docker::exec_to_file`: a command in a running
//! container, through the engine's exec API (no `docker` CLI), its
//! stdout and stderr kept apart.

use std::time::{Duration, Instant};

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use rhai::{Array, Dynamic, Map, INT};
use tokio::io::AsyncWriteExt;

use super::client::{client, explain, Client};
use super::resolve::{one_running, Container};
use crate::engine::context::ctx;
use crate::engine::{guard, runtime};
use crate::host::filesink::FileSink;
use crate::host::opts::Opts;
use crate::host::{error, HostResult};

#[derive(Clone)]
pub(super) struct Request {
    pub(super) argv: Vec<String>,
    user: Option<String>,
    env: Vec<String>,
    workdir: Option<String>,
    stdin: Option<String>,
    timeout: Option<Duration>,
    /// Started by `exec_background`: killed whenever it is dropped
    /// unfinished, not only when the run stops.
    pub(super) background: bool,
}

pub(super) fn request(func: &'static str, argv: Array, o: &Opts) -> HostResult<Request> {
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    if argv.is_empty() {
        return Err(error(func, "argv is empty: give the program and its arguments, e.g. [\"ps\", \"aux\"]"));
    }
    let env = o.map("env")?.unwrap_or_default().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(Request {
        argv,
        user: o.str("user")?,
        env,
        workdir: o.str("workdir")?,
        stdin: o.str("stdin")?,
        timeout: o.duration("timeout")?,
        background: false,
    })
}

/// Where the output of one exec goes.
pub(super) trait Output {
    fn stdout(&mut self, bytes: &[u8]) -> Result<(), String>;
    fn stderr(&mut self, bytes: &[u8]) -> Result<(), String>;
}

/// Output kept in memory, up to `[limits] max_output` (`cat /dev/zero`
/// grew to 3.3 GB before): more ends the exec with an error that says how
/// to get it whole.
pub(super) struct Captured {
    out: Vec<u8>,
    err: Vec<u8>,
    max: usize,
}

impl Default for Captured {
    fn default() -> Self {
        Captured { out: vec![], err: vec![], max: ctx().config.limits.max_output }
    }
}

impl Captured {
    fn room(&self, more: usize) -> Result<(), String> {
        if self.out.len() + self.err.len() + more > self.max {
            return Err(crate::host::too_large(
                "the command's output",
                "max_output",
                self.max,
                "write it to a file with docker::exec_to_file",
            ));
        }
        Ok(())
    }
}

impl Output for Captured {
    fn stdout(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.room(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }
    fn stderr(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.room(bytes.len())?;
        self.err.extend_from_slice(bytes);
        Ok(())
    }
}

/// stdout into a file, stderr kept (its tail explains a failure).
struct ToFile {
    sink: FileSink,
    read: u64,
    err: Vec<u8>,
    /// The first bytes of stdout: where the engine says a program is missing.
    head: Vec<u8>,
}

impl Output for ToFile {
    fn stdout(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.read += bytes.len() as u64;
        if self.head.len() < 512 {
            self.head.extend_from_slice(&bytes[..bytes.len().min(512)]);
        }
        self.sink.send(bytes.to_vec()).map_err(|_| self.sink.why_stopped())
    }
    fn stderr(&mut self, bytes: &[u8]) -> Result<(), String> {
        // A chatty command must not grow memory without bound.
        if self.err.len() < 1 << 20 {
            self.err.extend_from_slice(bytes);
        }
        Ok(())
    }
}

pub(super) enum Ended {
    Exited(i64),
    TimedOut,
}

/// Run the exec and feed its output; the exit code comes from the engine.
pub(super) async fn run(
    c: &Client,
    target: &Container,
    r: &Request,
    out: &mut (dyn Output + Send),
) -> Result<Ended, String> {
    let config = ExecConfig {
        attach_stdin: Some(r.stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        env: if r.env.is_empty() { None } else { Some(r.env.clone()) },
        cmd: Some(r.argv.clone()),
        user: r.user.clone(),
        working_dir: r.workdir.clone(),
        ..Default::default()
    };
    let created = c.docker.create_exec(&target.id, config).await.map_err(|e| explain(c, &e))?;
    // Ended with the run: the run's deadline, Ctrl-C or SIGTERM drop this
    // future, and the command must not go on in the container without us.
    let abandoned = {
        let (c, id) = (c.clone(), created.id.clone());
        let kill = async move { kill_local(&c, &id).await };
        if r.background {
            runtime::OnAbandon::always(kill)
        } else {
            runtime::OnAbandon::new(kill)
        }
    };
    let started = c
        .docker
        .start_exec(&created.id, Some(StartExecOptions { detach: false, tty: false, output_capacity: None }))
        .await
        .map_err(|e| explain(c, &e))?;
    let StartExecResults::Attached { mut output, mut input } = started else {
        return Err("the engine detached the exec".into());
    };
    let stdin = r.stdin.clone();
    let feed = async move {
        if let Some(text) = stdin {
            let _ = input.write_all(text.as_bytes()).await;
            // Closing our side is the command's end of input.
            let _ = input.shutdown().await;
        }
        // Without stdin our side stays open: the engine ends the whole
        // connection, output included, when it sees it closed.
        let _still_open = input;
        std::future::pending::<()>().await
    };
    let pump = async {
        while let Some(frame) = output.next().await {
            match frame.map_err(|e| explain(c, &e))? {
                bollard::container::LogOutput::StdOut { message }
                | bollard::container::LogOutput::Console { message } => out.stdout(&message)?,
                bollard::container::LogOutput::StdErr { message } => out.stderr(&message)?,
                bollard::container::LogOutput::StdIn { .. } => {}
            }
        }
        Ok::<_, String>(())
    };
    let finished = async {
        tokio::select! {
            r = pump => r,
            _ = feed => Ok(()),
        }
    };
    let done = match r.timeout {
        Some(t) => tokio::time::timeout(t, finished).await.ok(),
        None => Some(finished.await),
    };
    abandoned.done();
    match done {
        Some(Ok(())) => {}
        // Output over its cap, a broken stream: the command stops too.
        Some(Err(e)) => {
            kill_local(c, &created.id).await;
            return Err(e);
        }
        None => {
            kill_local(c, &created.id).await;
            return Ok(Ended::TimedOut);
        }
    }
    // The stream ends a moment before the engine records the exit code.
    for _ in 0..100 {
        let i = c.docker.inspect_exec(&created.id).await.map_err(|e| explain(c, &e))?;
        if i.running != Some(true) {
            return Ok(Ended::Exited(i.exit_code.unwrap_or(-1)));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the engine did not report the command's exit code".into())
}

/// The exec API cannot kill what it started. When the engine is on this
/// machine, the process id it reports is ours to signal; elsewhere the
/// command runs on and the error says so.
async fn kill_local(c: &Client, exec_id: &str) {
    if !c.host.starts_with("unix://") && !c.host.starts_with('/') {
        return;
    }
    if let Ok(i) = c.docker.inspect_exec(exec_id).await {
        if let Some(pid) = i.pid.filter(|p| *p > 1) {
            // SAFETY: kill(2) with a pid the engine gave us; no memory involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

/// The runtime's words when the program does not exist, made plain.
fn missing_program(code: i64, out: &[u8], err: &[u8], program: &str, container: &str) -> Option<String> {
    if code != 126 && code != 127 {
        return None;
    }
    let text = String::from_utf8_lossy(if out.is_empty() { err } else { out });
    let missing = text.contains("executable file not found")
        || (text.contains("OCI runtime exec failed") && text.contains("no such file or directory"));
    missing.then(|| format!("`{program}` was not found in {container} (exit {code}): {}", text.trim()))
}

fn timed_out(r: &Request, container: &str) -> String {
    let t = r.timeout.map(crate::duration::format).unwrap_or_default();
    format!("`{}` in {container} did not finish within {t}", r.argv.join(" "))
}

pub(super) fn interrupted_or(e: String, who: &str) -> Box<rhai::EvalAltResult> {
    if let Some(token) = ctx().interruption() {
        return runtime::terminated(token);
    }
    error(who, e)
}

/// The request, whether it only reads, and who is asking (for errors):
/// what `docker::exec` and `docker::exec_background` read from their call.
pub(super) fn exec_call(f: &'static str, name: &str, argv: Array, map: &Map) -> HostResult<(Request, bool, String)> {
    let o = Opts::new(f, map)?;
    let r = request(f, argv, &o)?;
    // The call's claim counts only for an argv known to read.
    // `env`, `workdir` or `user` change what a known argv does
    // (`NODE_OPTIONS=--require …`): with them it is not known to read.
    let adjusted = ["env", "workdir", "user"].iter().any(|k| map.get(*k).is_some_and(|v| !v.is_unit()));
    let read_only = o.bool("read_only")?.unwrap_or(false) && !adjusted && reads(&r.argv);
    Ok((r, read_only, format!("{f} ({name})")))
}

/// The argvs of the shipped scripts that only read; `[docker] read_only`
/// adds more. `python -m app.scripts.security_audit` is not one: it is the
/// application's own code, which runbook cannot vouch for.
const READ_ONLY_EXECS: &[&str] = &[
    "alembic current",
    "celery -A * inspect active -j",
    "celery -A * inspect ping",
    "pip list --outdated --format json",
    "npm outdated --json",
    "pip-audit -f json",
    "npm audit --json",
    "pg_isready ...",
];

fn reads(argv: &[String]) -> bool {
    let cfg = &ctx().config.docker.read_only;
    crate::host::argv_pattern::any(READ_ONLY_EXECS.iter().copied().chain(cfg.iter().map(String::as_str)), argv)
}

pub fn exec(name: &str, argv: Array, map: Map) -> HostResult<Map> {
    let (r, read_only, who) = exec_call("docker::exec", name, argv, &map)?;
    let c = client()?;
    let target = runtime::block_on(one_running(&c, name))?.map_err(|e| error(&who, e))?;
    if !read_only {
        runtime::block_on(super::resolve::within_project(&c, std::slice::from_ref(&target)))?
            .map_err(|e| error(&who, e))?;
    }
    let shown = r.argv.join(" ");
    if !read_only && !guard::mutating(|| format!("run `{shown}` in {}", target.name)) {
        return Ok(crate::host::dry_run_command_result());
    }
    let started = Instant::now();
    let mut out = Captured::default();
    let ended = runtime::block_on(run(&c, &target, &r, &mut out))?.map_err(|e| interrupted_or(e, &who))?;
    finish(&who, &r, &target, ended, out, started.elapsed())
}

/// The map `docker::exec` returns, or the error a missing program or a
/// timeout is.
pub(super) fn finish(
    who: &str,
    r: &Request,
    target: &Container,
    ended: Ended,
    out: Captured,
    took: Duration,
) -> HostResult<Map> {
    let code = match ended {
        Ended::Exited(code) => code,
        Ended::TimedOut => return Err(error(who, timed_out(r, &target.name))),
    };
    if let Some(msg) = missing_program(code, &out.out, &out.err, &r.argv[0], &target.name) {
        return Err(error(who, msg));
    }
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from_int(code as INT));
    m.insert("stdout".into(), Dynamic::from(String::from_utf8_lossy(&out.out).into_owned()));
    m.insert("stderr".into(), Dynamic::from(String::from_utf8_lossy(&out.err).into_owned()));
    m.insert("duration_ms".into(), Dynamic::from_int(took.as_millis() as INT));
    m.insert("container".into(), Dynamic::from(target.name.clone()));
    Ok(m)
}

pub fn exec_to_file(name: &str, argv: Array, path: &str, map: Map) -> HostResult<Map> {
    const F: &str = "docker::exec_to_file";
    let o = Opts::new(F, &map)?;
    let r = request(F, argv, &o)?;
    let gzip = o.bool("gzip")?.unwrap_or(false);
    let dest = crate::host::fs::confine(F, path)?;
    let who = format!("{F} ({name})");
    let c = client()?;
    let target = runtime::block_on(one_running(&c, name))?.map_err(|e| error(&who, e))?;
    runtime::block_on(super::resolve::within_project(&c, std::slice::from_ref(&target)))?
        .map_err(|e| error(&who, e))?;
    let shown = r.argv.join(" ");
    if !guard::mutating(|| format!("run `{shown}` in {} into {}", target.name, dest.display())) {
        let mut m = Map::new();
        m.insert("path".into(), Dynamic::from(dest.display().to_string()));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let started = Instant::now();
    let sink = FileSink::create(&dest, gzip).map_err(|e| error(&who, e))?;
    let mut out = ToFile { sink, read: 0, err: vec![], head: vec![] };
    // On any early return `out` is dropped, and with it the partial file.
    let ended = runtime::block_on(run(&c, &target, &r, &mut out))?.map_err(|e| interrupted_or(e, &who))?;
    let stderr = String::from_utf8_lossy(&out.err).into_owned();
    let code = match ended {
        Ended::Exited(code) => code,
        Ended::TimedOut => return Err(error(&who, format!("{}; no file was written", timed_out(&r, &target.name)))),
    };
    if let Some(msg) = missing_program(code, &out.head, &out.err, &r.argv[0], &target.name) {
        return Err(error(&who, format!("{msg}; no file was written")));
    }
    if code != 0 {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(error(
            &who,
            format!("`{shown}` exited with {code}; no file was written. stderr: {}", tail.join(" / ").trim()),
        ));
    }
    let read = out.read;
    let written = out.sink.commit().map_err(|e| error(&who, e))?;
    let mut m = Map::new();
    m.insert("path".into(), Dynamic::from(dest.display().to_string()));
    m.insert("bytes".into(), Dynamic::from_int(written.bytes as INT));
    m.insert("output_bytes".into(), Dynamic::from_int(read as INT));
    m.insert("sha256".into(), Dynamic::from(written.sha256));
    m.insert("stderr".into(), Dynamic::from(stderr));
    m.insert("duration_ms".into(), Dynamic::from_int(started.elapsed().as_millis() as INT));
    m.insert("container".into(), Dynamic::from(target.name));
    Ok(m)
}
