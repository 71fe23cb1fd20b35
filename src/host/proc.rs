//! `proc`: run a program from an argv — never through a shell — and only
//! the programs `[proc] allow` lists. Mutating unless `[proc] read_only`
//! lists the program too.

use rhai::plugin::*;

fn program_allowed(program: &str) -> (bool, bool) {
    let cfg = &crate::engine::context::ctx().config.proc;
    let base = std::path::Path::new(program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let matches = |entry: &String| entry == program || (!program.contains('/') && *entry == base);
    (cfg.allow.iter().any(matches), cfg.read_only.iter().any(matches))
}

#[export_module]
pub mod proc_functions {
    use std::process::Stdio;
    use std::time::Instant;

    use rhai::{Array, Dynamic, Map, INT};
    use tokio::io::AsyncWriteExt;

    use super::program_allowed;
    use crate::engine::{guard, runtime};
    use crate::host::opts::Opts;
    use crate::host::{error, HostResult};

    /// Run `argv` and wait for it: `#{code, stdout, stderr, duration_ms}`.
    /// A non-zero exit code is returned, not thrown.
    ///
    /// *mutating* (read-only for programs in `[proc] read_only`)
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
    /// ("30s") kills the program and throws; `env` adds variables; `stdin`
    /// is text written to the program's input.
    ///
    /// *mutating* (read-only for programs in `[proc] read_only`)
    ///
    /// ```rhai
    /// let r = proc::run(["cat"], #{stdin: "piped"});
    /// assert(r.stdout == "piped", "cat echoes stdin");
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_with(argv: Array, options: Map) -> HostResult<Map> {
        const F: &str = "proc::run";
        let o = Opts::new(F, &options, &["timeout", "cwd", "env", "stdin"])?;
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let Some(program) = argv.first() else {
            return Err(error(F, "argv is empty: give the program and its arguments, e.g. [\"df\", \"-h\"]"));
        };
        let (allowed, read_only) = program_allowed(program);
        if !allowed {
            return Err(error(
                F,
                format!("`{program}` is not allowed; add it to [proc] allow in runbook.toml to let scripts run it"),
            ));
        }
        let shown = argv.join(" ");
        if !read_only && !guard::mutating(|| format!("run `{shown}`")) {
            return Ok(crate::host::dry_run_command_result());
        }
        let timeout = o.duration("timeout")?;
        let stdin_text = o.str("stdin")?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(&argv[1..]).kill_on_drop(true).stdout(Stdio::piped()).stderr(Stdio::piped());
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
            if let (Some(text), Some(mut stdin)) = (stdin_text, child.stdin.take()) {
                tokio::spawn(async move {
                    let _ = stdin.write_all(text.as_bytes()).await;
                });
            }
            let wait = child.wait_with_output();
            match timeout {
                Some(t) => match tokio::time::timeout(t, wait).await {
                    Ok(r) => r.map(Some),
                    Err(_) => Ok(None),
                },
                None => wait.await.map(Some),
            }
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
