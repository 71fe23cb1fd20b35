//! `pg::dump` and `pg::restore`: the real PostgreSQL tools, streamed.
//!
//! pg_dump's output is read in one thread and compressed and hashed in
//! another (as `pg_dump | gzip` runs two processes), into a temporary file
//! beside the target that is renamed into place only when pg_dump exited
//! 0. The connection, password included, goes through PG* variables, never
//! the command line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Map};

use super::connect;
use crate::engine::context::ctx;
use crate::engine::{guard, runtime};
use crate::host::filesink::{FileSink, Written};
use crate::host::opts::Opts;
use crate::host::{error, HostResult};

const F: &str = "pg::dump";

/// The last lines a tool wrote to stderr, on one line: its reason.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

fn tool_missing(tool: &str, e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "`{tool}` was not found: install the PostgreSQL client tools, or name the program in the target's `{}` key",
            tool.rsplit('/').next().unwrap_or(tool)
        )
    } else {
        format!("cannot start `{tool}`: {e}")
    }
}

pub fn dump(target: &str, path: &str, options: Map) -> HostResult<Map> {
    let o = Opts::new(F, &options)?;
    let format = o.str("format")?.unwrap_or_else(|| "plain".into());
    let flag = match format.as_str() {
        "plain" => "p",
        "custom" => "c",
        other => return Err(error(F, format!("option `format` must be \"plain\" or \"custom\", not \"{other}\""))),
    };
    let gzip = o.bool("gzip")?.unwrap_or(format == "plain");
    let tables: Vec<String> = match options.get("tables") {
        Some(v) if !v.is_unit() => v
            .clone()
            .try_cast::<rhai::Array>()
            .ok_or_else(|| error(F, "option `tables` must be an array of table names"))?
            .iter()
            .map(|t| t.to_string())
            .collect(),
        _ => vec![],
    };
    let dest = crate::host::fs::confine(F, path)?;
    let t = {
        let _enter = runtime::runtime().enter();
        connect::target(F, target)?
    };
    if !guard::mutating(|| format!("dump {} with pg_dump to {}", t.name, dest.display())) {
        let mut m = Map::new();
        m.insert("path".into(), Dynamic::from(dest.display().to_string()));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let started = Instant::now();
    match run_dump(&t, flag, gzip, &tables, &dest) {
        Ok(w) => {
            let mut m = Map::new();
            m.insert("path".into(), Dynamic::from(dest.display().to_string()));
            m.insert("bytes".into(), Dynamic::from_int(w.bytes as i64));
            m.insert("sha256".into(), Dynamic::from(w.sha256));
            m.insert("duration_ms".into(), Dynamic::from_int(started.elapsed().as_millis() as i64));
            Ok(m)
        }
        Err(e) => {
            if let Some(token) = ctx().interruption() {
                t.cancel_now();
                return Err(runtime::terminated(token));
            }
            Err(error(&format!("pg::dump ({})", t.name), e))
        }
    }
}

fn run_dump(t: &connect::Target, flag: &str, gzip: bool, tables: &[String], dest: &Path) -> Result<Written, String> {
    let mut cmd = Command::new(&t.tools.pg_dump);
    cmd.arg("--no-password").arg(format!("--format={flag}"));
    for table in tables {
        cmd.arg(format!("--table={table}"));
    }
    cmd.envs(t.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own group, killed by the watchdog when the run must stop: a read
    // of its output blocks while pg_dump waits on a lock.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    runtime::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| tool_missing(&t.tools.pg_dump, e))?;
    let watchdog = runtime::Watchdog::new(child.id());
    #[allow(clippy::expect_used, reason = "the command above pipes both")]
    let (mut stdout, mut stderr) =
        (child.stdout.take().expect("piped stdout"), child.stderr.take().expect("piped stderr"));
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut sink = FileSink::create(dest, gzip)?;
    let tty = crate::output::stderr_is_terminal();
    let progress = |read: u64, end: &str| {
        let line = format!("pg_dump {}: {} read{end}", t.name, crate::report::text::human_bytes(read as i64));
        crate::output::progress(&line);
    };
    let mut read_total = 0u64;
    let mut last_progress = Instant::now();
    let mut failure: Option<String> = None;
    loop {
        if let Some(why) = ctx().interruption() {
            failure = Some(why);
            let _ = child.kill();
            break;
        }
        let mut buf = vec![0u8; 256 * 1024];
        match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                read_total += n as u64;
                if sink.send(buf).is_err() {
                    failure = Some(sink.why_stopped());
                    let _ = child.kill();
                    break;
                }
                if tty && last_progress.elapsed() > Duration::from_millis(250) {
                    progress(read_total, "");
                    last_progress = Instant::now();
                }
            }
            Err(e) => {
                failure = Some(format!("reading pg_dump's output: {e}"));
                let _ = child.kill();
                break;
            }
        }
    }
    if tty && read_total > 0 {
        progress(read_total, ", done\n");
    }
    let status = child.wait().map_err(|e| e.to_string());
    // Reaped: its process id may be reused from here on.
    drop(watchdog);
    let status = status?;
    let stderr_text = err_reader.join().unwrap_or_default();
    if let Some(f) = failure {
        return Err(f);
    }
    if !status.success() {
        return Err(format!("pg_dump failed ({status}): {}", last_lines(&stderr_text, 5)));
    }
    sink.commit()
}

pub fn restore(target: &str, path: &str) -> HostResult<Map> {
    const R: &str = "pg::restore";
    let src: PathBuf = crate::host::fs::confine(R, path)?;
    if !src.is_file() {
        return Err(error(R, format!("{path}: no such file")));
    }
    // Opened once, beneath its root; the tools read this handle, never the path.
    let file = crate::host::fs::open_beneath(&src).map_err(|e| crate::host::fs::escaped(R, &src, e))?;
    let t = {
        let _enter = runtime::runtime().enter();
        connect::target(R, target)?
    };
    let mut head = [0u8; 5];
    let n = std::os::unix::fs::FileExt::read_at(&file, &mut head, 0).map_err(|e| error(R, e))?;
    let custom = n == 5 && &head == b"PGDMP";
    let gz = n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
    let format = if custom { "custom" } else { "plain" };
    if !guard::data_losing(R, || format!("restore {} into {} (its tables are replaced)", src.display(), t.name))? {
        let mut m = Map::new();
        m.insert("format".into(), Dynamic::from(format));
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        return Ok(m);
    }
    let started = Instant::now();
    let mut cmd = if custom {
        let mut c = Command::new(&t.tools.pg_restore);
        c.args(["--no-password", "--clean", "--if-exists", "--no-owner", "--exit-on-error"]);
        if let Some((_, db)) = t.env.iter().find(|(k, _)| *k == "PGDATABASE") {
            c.arg(format!("--dbname={db}"));
        }
        // pg_restore reads the archive on stdin (a regular file, so it can seek).
        c.stdin(Stdio::from(file.try_clone().map_err(|e| error(R, e))?));
        c
    } else {
        let mut c = Command::new(&t.tools.psql);
        c.args(["--no-password", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction", "--file=-"])
            .stdin(Stdio::piped());
        c
    };
    cmd.envs(t.env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::null()).stderr(Stdio::piped());
    let tool = if custom { &t.tools.pg_restore } else { &t.tools.psql };
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    runtime::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| error(R, tool_missing(tool, e)))?;
    let watchdog = runtime::Watchdog::new(child.id());
    let feeder = if custom {
        None
    } else {
        #[allow(clippy::expect_used, reason = "the command above pipes stdin")]
        let mut stdin = child.stdin.take().expect("piped stdin");
        Some(std::thread::spawn(move || -> std::io::Result<()> {
            let mut reader: Box<dyn Read> = if gz {
                Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)))
            } else {
                Box::new(file)
            };
            std::io::copy(&mut reader, &mut stdin)?;
            Ok(())
        }))
    };
    #[allow(clippy::expect_used, reason = "the command above pipes stderr")]
    let mut stderr = child.stderr.take().expect("piped stderr");
    let mut err_text = String::new();
    let _ = stderr.read_to_string(&mut err_text);
    let status = child.wait().map_err(|e| error(R, e));
    drop(watchdog);
    let status = status?;
    if let Some(token) = ctx().interruption() {
        // Killed by the watchdog: the restore's one transaction is rolled back.
        t.cancel_now();
        return Err(runtime::terminated(token));
    }
    if let Some(f) = feeder {
        if let Ok(Err(e)) = f.join() {
            if status.success() {
                return Err(error(R, format!("reading {}: {e}", src.display())));
            }
        }
    }
    if !status.success() {
        return Err(error(
            &format!("pg::restore ({})", t.name),
            format!("{tool} failed ({status}): {}", last_lines(&err_text, 5)),
        ));
    }
    let mut m = Map::new();
    m.insert("format".into(), Dynamic::from(format));
    m.insert("duration_ms".into(), Dynamic::from_int(started.elapsed().as_millis() as i64));
    Ok(m)
}
