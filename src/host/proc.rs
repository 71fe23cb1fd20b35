//! `proc`: run a program from an argv — never through a shell — and only
//! the programs `[proc] allow` lists, found by runbook itself on its own
//! PATH (a script cannot set PATH or the loader's variables). Mutating
//! unless the whole argv matches a `[proc] read_only` pattern.

use std::path::{Path, PathBuf};

use rhai::plugin::*;

/// The allowed program as an absolute path: an allow entry that is a path
/// is taken as it is; a name is looked up on runbook's own PATH. An allow
/// entry is a program (with any arguments) or, with spaces, an argv
/// pattern: `certbot renew --non-interactive` allows exactly that, not
/// `certbot renew --deploy-hook 'sh -c …'`.
fn resolve(argv: &[String]) -> Result<PathBuf, String> {
    let program = argv[0].as_str();
    let cfg = &crate::engine::context::ctx().config.proc;
    let base = Path::new(program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let names = |entry: &str| entry == program || (!program.contains('/') && entry == base);
    let allowed = cfg.allow.iter().any(|entry| {
        if entry.contains(char::is_whitespace) {
            crate::host::argv_pattern::matches(entry, argv)
        } else {
            names(entry)
        }
    });
    if !allowed {
        let by_pattern = cfg.allow.iter().any(|e| e.split_whitespace().next().is_some_and(names));
        if by_pattern {
            return Err(format!(
                "`{}` matches none of the [proc] allow patterns for `{program}` in runbook.toml",
                argv.join(" ")
            ));
        }
        return Err(format!(
            "`{program}` is not allowed; add it to [proc] allow in runbook.toml to let scripts run it"
        ));
    }
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("`{program}` was not found on PATH (is it installed? or allow it by its full path)"))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Variables that choose which code runs: a script may not set them.
fn refused_env(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n == "PATH" || n.starts_with("LD_") || n.starts_with("DYLD_") || n == "BASH_ENV" || n == "ENV" || n == "IFS"
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod proc_functions {
    use std::process::Stdio;
    use std::time::Instant;

    use rhai::{Array, Dynamic, Map, INT};
    use tokio::io::AsyncWriteExt;

    use super::{refused_env, resolve};
    use crate::engine::{guard, runtime};
    use crate::host::opts::Opts;
    use crate::host::{error, HostResult};

    /// Run `argv` and wait for it: `#{code, stdout, stderr, duration_ms}`.
    /// A non-zero exit code is returned, not thrown.
    ///
    /// *mutating* (read-only for an argv a `[proc] read_only` pattern matches)
    ///
    /// ```rhai
    /// let r = proc::run(["echo", "hello"]);
    /// assert(r.code == 0 && r.stdout == "hello\n", "echoed");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn run(argv: Array) -> HostResult<Map> {
        run_with(argv, Map::new())
    }

    /// Run `argv` with options `#{timeout, cwd, env, stdin}`: a timeout
    /// ("30s") kills the program and throws; `env` adds variables (never
    /// PATH, `LD_*` or others that choose which code runs); `stdin` is text
    /// written to the program's input.
    ///
    /// *mutating* (read-only for an argv a `[proc] read_only` pattern matches)
    ///
    /// ```rhai
    /// let r = proc::run(["cat"], #{stdin: "piped"});
    /// assert(r.stdout == "piped", "cat echoes stdin");
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_with(argv: Array, options: Map) -> HostResult<Map> {
        const F: &str = "proc::run";
        let o = Opts::new(F, &options)?;
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let Some(program) = argv.first() else {
            return Err(error(F, "argv is empty: give the program and its arguments, e.g. [\"df\", \"-h\"]"));
        };
        let resolved = resolve(&argv).map_err(|e| error(F, e))?;
        let read_only = crate::host::argv_pattern::any(
            crate::engine::context::ctx().config.proc.read_only.iter().map(String::as_str),
            &argv,
        );
        if let Some(env) = o.map("env")? {
            if let Some(k) = env.keys().find(|k| refused_env(k)) {
                return Err(error(
                    F,
                    format!("env `{k}` cannot be set by a script: it chooses which code runs (programs are found on runbook's own PATH)"),
                ));
            }
        }
        let shown = argv.join(" ");
        if !read_only && !guard::mutating(|| format!("run `{shown}`")) {
            return Ok(crate::host::dry_run_command_result());
        }
        let timeout = o.duration("timeout")?;
        let stdin_text = o.str("stdin")?;
        let mut cmd = tokio::process::Command::new(&resolved);
        // The program sees its own name as argv[0], as from a shell.
        cmd.arg0(program);
        cmd.args(&argv[1..]).kill_on_drop(true).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group, so that stopping it stops what it started
        // (a `sh -c` and its `sleep`), not only the program itself.
        cmd.process_group(0);
        // SAFETY: prctl(2) is async-signal-safe; see runtime::die_with_parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        cmd.stdin(if stdin_text.is_some() { Stdio::piped() } else { Stdio::null() });
        if let Some(cwd) = o.str("cwd")? {
            cmd.current_dir(cwd);
        }
        if let Some(env) = o.map("env")? {
            for (k, v) in env {
                cmd.env(k.as_str(), v.to_string());
            }
        }
        let started = Instant::now();
        let output = runtime::block_on(async move {
            let mut child = cmd.spawn()?;
            // Killed with its group unless it finishes: on its own timeout,
            // the run's deadline, Ctrl-C or SIGTERM (the future is dropped).
            let mut group = super::KillGroup(child.id());
            if let Some(pid) = group.0 {
                runtime::register_group(pid);
            }
            if let (Some(text), Some(mut stdin)) = (stdin_text, child.stdin.take()) {
                tokio::spawn(async move {
                    let _ = stdin.write_all(text.as_bytes()).await;
                });
            }
            let max = crate::engine::context::ctx().config.limits.max_output;
            let wait = super::collect(child, max);
            let finished = match timeout {
                Some(t) => match tokio::time::timeout(t, wait).await {
                    Ok(r) => r.map(Some),
                    Err(_) => return Ok(None),
                },
                None => wait.await.map(Some),
            };
            if let Some(pid) = group.0.take() {
                runtime::unregister_group(pid);
            }
            finished
        })?;
        let output = match output {
            Ok(Some(out)) => out,
            Ok(None) => {
                let t = timeout.map(crate::duration::format).unwrap_or_default();
                return Err(error(F, format!("`{shown}` did not finish within {t} and was killed")));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(error(F, format!("`{program}` was not found (is it installed and on PATH?)")))
            }
            Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                return Err(error(F, format!("`{shown}` was killed: {e}")))
            }
            Err(e) => return Err(error(F, format!("cannot start `{program}`: {e}"))),
        };
        let mut m = Map::new();
        let code = output.status.code().map(|c| c as INT).unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + output.status.signal().unwrap_or(0) as INT
        });
        m.insert("code".into(), Dynamic::from_int(code));
        m.insert("stdout".into(), Dynamic::from(String::from_utf8_lossy(&output.stdout).into_owned()));
        m.insert("stderr".into(), Dynamic::from(String::from_utf8_lossy(&output.stderr).into_owned()));
        m.insert("duration_ms".into(), Dynamic::from_int(started.elapsed().as_millis() as INT));
        Ok(m)
    }
}

/// The child's output and status, keeping at most `max` bytes of output
/// (stdout and stderr together): more is an `OutOfMemory` error, and the
/// caller's [`KillGroup`] stops the child (it aborted allocating 8 GiB).
#[allow(clippy::expect_used, reason = "each branch runs only while its pipe is open (Some)")]
async fn collect(mut child: tokio::process::Child, max: usize) -> std::io::Result<std::process::Output> {
    use tokio::io::AsyncReadExt;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut out_open, mut err_open) = (out_pipe.is_some(), err_pipe.is_some());
    let mut a = vec![0u8; 64 * 1024];
    let mut b = vec![0u8; 64 * 1024];
    while out_open || err_open {
        let n = tokio::select! {
            r = async { out_pipe.as_mut().expect("open").read(&mut a).await }, if out_open => match r? {
                0 => { out_open = false; 0 }
                n => { out.extend_from_slice(&a[..n]); n }
            },
            r = async { err_pipe.as_mut().expect("open").read(&mut b).await }, if err_open => match r? {
                0 => { err_open = false; 0 }
                n => { err.extend_from_slice(&b[..n]); n }
            },
        };
        if n > 0 && out.len() + err.len() > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                crate::host::too_large("its output", "max_output", max, "redirect it to a file in the command itself"),
            ));
        }
    }
    let status = child.wait().await?;
    Ok(std::process::Output { status, stdout: out, stderr: err })
}

/// Kills the process group of a child that did not finish when dropped.
struct KillGroup(Option<u32>);

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            crate::engine::runtime::kill_group(pid);
            crate::engine::runtime::unregister_group(pid);
        }
    }
}
