//! `runbook run SCRIPT --on GROUP [--forks N | --serial K] [--retry-failed]`:
//! the script once per target of a group, in one report.
//!
//! Each target's run is a runbook process of its own: this binary's `run`,
//! with the target's name given to the script's parameter of that kind.
//! A process keeps each run's deadline, signals, dry-run gate, limits and
//! history record exactly as a run of its own has them; the parent only
//! schedules, waits, and puts the reports together. (`fleet::each`, in
//! host/fleet.rs, is the in-script fan-out, on threads of one run.) A
//! child's stdin is closed, so a `confirm()` is refused there unless
//! `--yes` was given.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Globals;
use crate::cli::{Format, RunArgs};
use crate::config::Config;
use crate::exit::{CmdResult, Exit, Failure};
use crate::pace::{Pace, Skipped, Slot, Work};
use crate::report::text::symbol;
use crate::report::Level;
use crate::script::{Header, Origin, Script};

/// The target a fanned-out run is bound to (`kind.name`), for its history record.
pub const ENV_TARGET: &str = "RUNBOOK_FANOUT_TARGET";
/// Where a fanned-out run leaves its JSON report for the parent.
pub const ENV_REPORT: &str = "RUNBOOK_FANOUT_REPORT";
/// As Ansible's: a group of 50 hosts is not hit all at once unless asked.
const DEFAULT_FORKS: u16 = 5;

/// A target of the group and the parameter it is given to (none for a
/// Docker engine: it becomes the run's engine).
struct Member {
    kind: &'static str,
    name: String,
    param: Option<String>,
}

impl Member {
    fn id(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

/// How one target's run ended.
#[derive(Default)]
struct Outcome {
    /// The process's exit code; `None` when it was not started.
    exit: Option<i32>,
    /// Why it was not started.
    not_run: Option<String>,
    duration: Duration,
    stdout: String,
    stderr: String,
    /// The run's own JSON report, when it got as far as one.
    report: Option<serde_json::Value>,
}

impl Outcome {
    fn level(&self) -> Option<Level> {
        self.exit?;
        let named = self.report.as_ref().and_then(|r| r["status"].as_str()).and_then(Level::from_name);
        Some(named.unwrap_or(Level::Unknown))
    }
    fn ok(&self) -> bool {
        self.exit == Some(0)
    }
}

pub fn run(g: &Globals, config: &Config, script: &Script, header: &Header, args: &RunArgs, group: &str) -> CmdResult {
    if matches!(script.origin, Origin::Inline(_)) {
        return Err(Failure::usage(
            "--on needs a script by name or path: each target's run reads it again, which `-e` or stdin code cannot be",
        )
        .with_help(
            "put the code in a .rhai file whose header has `// param db: string = main  [postgres.NAME] target`",
        ));
    }
    if !args.mail_to.is_empty() {
        return Err(Failure::usage("--mail-to does not combine with --on: a run per target is not mailed")
            .with_help("schedule the group's run and let its exit code alert, or mail each target's run of its own"));
    }
    if !matches!(args.format, Format::Text | Format::Json) {
        return Err(Failure::usage("--on prints text or JSON (--format text|json): one report per target"));
    }
    let one = group.split_once('.').filter(|(k, n)| config.target_names(k).iter().any(|t| t == n));
    if let (None, Some(help)) = (one, config.unknown_group(group)) {
        return Err(Failure::usage(format!("--on {group}: no group `{group}` in {}", config.origin())).with_help(help));
    }
    let members = members(config, script, header, group)?;
    let given: Vec<&str> = args.args.iter().filter_map(|a| a.split_once('=').map(|(k, _)| k.trim())).collect();
    if let Some(p) = members.iter().filter_map(|m| m.param.as_deref()).find(|p| given.contains(p)) {
        return Err(Failure::usage(format!("--arg {p}=…: --on {group} gives `{p}` each target's name"))
            .with_help(format!("drop --arg {p}; `runbook targets --group {group}` lists the targets")));
    }
    let members = if args.retry_failed { failed_last_time(config, script, members, group)? } else { members };
    if members.is_empty() {
        crate::output::out(&format!(
            "nothing to retry: every target of `{group}` ended OK in its last run of {}\n",
            script.name
        ));
        return Ok(Exit::Ok);
    }
    let _lock = super::run_lock::for_run(config, &script.name, args)?;
    let dir = tempfile::Builder::new()
        .prefix("runbook-on-")
        .tempdir()
        .map_err(|e| Failure::new(Exit::Software, format!("cannot make a folder for the targets' reports: {e}")))?;
    let base = child_args(g, config, script, args);
    let started = Instant::now();
    let at = chrono::Utc::now();
    let pace = match args.serial {
        Some(k) => Pace::Serial(k as usize),
        None => Pace::Forks(args.forks.unwrap_or(DEFAULT_FORKS) as usize),
    };
    let children = Children::watching_signals()?;
    let progress = Progress::new(members.len());
    let start_one = |i: usize| {
        let m = &members[i];
        let report = dir.path().join(format!("{i}.json"));
        let mut cmd = std::process::Command::new(exe());
        cmd.args(&base);
        if let Some(p) = &m.param {
            cmd.arg("--arg").arg(format!("{p}={}", m.name));
        }
        cmd.env(ENV_TARGET, m.id()).env(ENV_REPORT, &report).stdin(std::process::Stdio::null());
        let o = children.run(cmd, &report);
        progress.done(o.ok());
        o
    };
    let outcomes = run_all(pace, &members, &children, &start_one);
    progress.clear();
    record_not_run(config, script, &members, &outcomes, args.dry_run, at);
    let fanout =
        Fanout { script, group, pace, members: &members, outcomes: &outcomes, at, duration: started.elapsed() };
    let rendered = match if args.json { Format::Json } else { args.format } {
        Format::Json => fanout.json(),
        _ => fanout.text(),
    };
    let exit = fanout.exit();
    match &args.output {
        Some(path) => {
            let safe = crate::redact::apply(&rendered);
            crate::output::write_atomic(path, safe.as_bytes(), crate::output::mode::PUBLIC)
                .map_err(|e| Failure::new(Exit::Unknown, format!("cannot write {}: {e}", path.display())))?;
        }
        None if args.quiet && exit == Exit::Ok => {}
        None => crate::output::out(&rendered),
    }
    Ok(exit)
}

/// As a report's footer gives its time.
fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// This binary, for the runs per target.
fn exe() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "runbook".into())
}

/// The group's targets (or the one target `KIND.NAME`), each with the
/// script's parameter it is given to: the first whose description starts
/// `[KIND.NAME]`. A Docker engine needs none: it is the run's engine.
fn members(config: &Config, script: &Script, header: &Header, group: &str) -> Result<Vec<Member>, Failure> {
    let mut out = vec![];
    for kind in crate::config::TARGET_KINDS {
        let names = match group.split_once('.') {
            Some((k, n)) if k == kind && config.target_names(k).iter().any(|t| t == n) => vec![n.to_string()],
            _ => config.targets_in(kind, group),
        };
        if names.is_empty() {
            continue;
        }
        if kind == "docker" {
            // A run bound to an engine changes only where docker:: goes: a
            // script that never calls it would run as it is, once per engine.
            if !script.source.contains("docker::") {
                return Err(Failure::usage(format!(
                    "--on {group}: {} calls no docker:: function, and the group holds Docker engines",
                    script.name
                ))
                .with_help("a run on an engine sends its docker:: calls there; choose a script that makes them"));
            }
            out.extend(names.into_iter().map(|name| Member { kind, name, param: None }));
            continue;
        }
        let tag = format!("[{kind}.NAME]");
        let Some(p) = header.params.iter().find(|p| p.description.trim_start().starts_with(&tag)) else {
            let listed: Vec<String> = names.iter().map(|n| format!("{kind}.{n}")).collect();
            return Err(Failure::usage(format!(
                "--on {group}: {} has no parameter for a {kind} target, and the group holds {}",
                script.name,
                listed.join(", ")
            ))
            .with_help(format!(
                "a script takes its target through a parameter described `{tag} …`, e.g. \
                 `// param {kind}: string = {}  {tag} target`; `runbook run {} --help` lists its parameters",
                names[0], script.name
            )));
        };
        for name in names {
            out.push(Member { kind, name, param: Some(p.name.clone()) });
        }
    }
    Ok(out)
}

/// `--retry-failed`: the members whose last recorded run of this script
/// did not end OK; a target never run on is not retried.
fn failed_last_time(
    config: &Config,
    script: &Script,
    members: Vec<Member>,
    group: &str,
) -> Result<Vec<Member>, Failure> {
    let mut store = crate::history::Store::open(config)
        .map_err(|e| Failure::new(Exit::Unknown, format!("--retry-failed reads the history: {e}")))?;
    let mut out = vec![];
    let mut never = vec![];
    for m in members {
        let f = crate::history::Filter {
            script: Some(script.history_name()),
            target: Some(m.id()),
            limit: Some(1),
            ..Default::default()
        };
        let last = store.list(&f).map_err(|e| Failure::new(Exit::Unknown, format!("--retry-failed: {e}")))?;
        match last.first() {
            Some(r) if r.status != "OK" => out.push(m),
            Some(_) => {}
            None => never.push(m.id()),
        }
    }
    if !never.is_empty() && crate::output::stderr_is_terminal() {
        crate::output::err(&format!(
            "runbook: --retry-failed: never run on {} (not retried; `--on {group}` without it runs every target)",
            never.join(", ")
        ));
    }
    Ok(out)
}

/// A target left out (after a `--serial` stop, or by a signal) gets a
/// history row of its own saying so, exit 75 as the scheduler's missed
/// slots: its last row would otherwise be an older run, maybe OK, and
/// `--retry-failed` would pass it by.
fn record_not_run(
    config: &Config,
    script: &Script,
    members: &[Member],
    outcomes: &[Outcome],
    dry_run: bool,
    at: chrono::DateTime<chrono::Utc>,
) {
    if !crate::history::enabled(config) {
        return;
    }
    let host = crate::host::sys::hostname_string();
    // Under the scheduler, as the runs that did start are: with its job and slot.
    let job = std::env::var(crate::schedule::ENV_JOB).ok().filter(|j| !j.is_empty());
    let slot = std::env::var(crate::schedule::ENV_SLOT).ok().and_then(|s| crate::history::parse_stamp(&s).ok());
    // One connection for them all: after a signal to a large group, one per
    // row could outlast the scheduler's grace.
    let mut store = None;
    for (m, o) in members.iter().zip(outcomes) {
        let Some(why) = &o.not_run else { continue };
        let mut params = serde_json::Map::new();
        if let Some(p) = &m.param {
            params.insert(p.clone(), m.name.clone().into());
        }
        let mut report = crate::report::Report::new(&script.name, "", params, dry_run, host.clone());
        report.started_at = at;
        report.error = Some(crate::report::RunError {
            kind: "not run".into(),
            message: format!("not run: {why}"),
            file: None,
            line: None,
            column: None,
        });
        let mut run = crate::history::Run::of(&report, Exit::TempFail as i32, job.clone(), slot);
        run.script = script.history_name();
        run.target = Some(m.id());
        if store.is_none() {
            store = crate::history::Store::open(config).ok();
        }
        let written = store.as_mut().map(|s| s.record(&run).map(|_| ()));
        // Unreachable now: the spool keeps it, as for any run.
        if !matches!(written, Some(Ok(()))) {
            if let Err(e) = crate::history::record(config, &run) {
                crate::output::err(&format!("runbook: {e}\n"));
                return;
            }
        }
    }
}

/// In a run for `--on`, bound to a Docker engine: make it the run's
/// engine, so every `docker::` call goes there (and service names mean its
/// compose project). The `read_only` patterns of `[docker]` still count.
pub fn bind_engine(config: &mut Config) {
    let Some(target) = std::env::var(ENV_TARGET).ok() else { return };
    let Some(name) = target.strip_prefix("docker.") else { return };
    if let Some(engine) = config.docker_engines.get(name) {
        let mut e = engine.clone();
        e.read_only.extend(config.docker.read_only.iter().cloned());
        config.docker = e;
    }
}

/// What every target's run is given: the parent's flags that shape a run.
fn child_args(g: &Globals, config: &Config, script: &Script, args: &RunArgs) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![];
    // The config the parent read, whatever found it.
    if let Some(path) = config.path.as_ref().or(g.config.as_ref()) {
        a.extend(["--config".into(), path.into()]);
    }
    if let Some(d) = &g.scripts_dir {
        a.extend(["--scripts-dir".into(), d.into()]);
    }
    a.push("run".into());
    a.push(match &script.origin {
        Origin::File(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).into(),
        _ => script.name.clone().into(),
    });
    for x in &args.args {
        a.extend(["--arg".into(), x.into()]);
    }
    if args.dry_run {
        a.push("--dry-run".into());
    }
    if args.yes {
        a.push("--yes".into());
    }
    if !args.skip.is_empty() {
        a.extend(["--skip".into(), args.skip.join(",").into()]);
    }
    if let Some(t) = &args.timeout {
        a.extend(["--timeout".into(), t.to_string().into()]);
    }
    for l in &args.limits {
        a.extend(["--limit".into(), l.into()]);
    }
    a
}

/// Run every member at `pace`: the outcomes in the members' order.
fn run_all(
    pace: Pace,
    members: &[Member],
    children: &Children,
    start: &(dyn Fn(usize) -> Outcome + Sync),
) -> Vec<Outcome> {
    // A run that could not be started is no verdict on its target: --serial goes on.
    let ok = |o: &Outcome| o.ok() || o.exit.is_none();
    let stopped = || children.stopped();
    let work = Work { count: members.len(), start, ok: &ok, stopped: &stopped, stack: None };
    let not_run = |why: String| Outcome { not_run: Some(why), ..Outcome::default() };
    pace.run(&work)
        .into_iter()
        .map(|slot| match slot {
            Slot::Done(o) => o,
            Slot::NotRun(Skipped::AfterFailure(f)) => {
                not_run(format!("{} did not end OK (--serial stops at the first)", members[f].id()))
            }
            Slot::NotRun(Skipped::Stopped) => not_run("stopped by a signal before it started".into()),
        })
        .collect()
}

/// The runs in flight, and what a signal to this process does to them:
/// it is passed on to each (each stops cleanly, or at once the second
/// time, as a run of its own does), and no further run starts.
struct Children {
    live: Arc<Mutex<Vec<u32>>>,
    stopped: Arc<AtomicBool>,
}

impl Children {
    fn watching_signals() -> Result<Children, Failure> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let live: Arc<Mutex<Vec<u32>>> = Arc::default();
        let stopped: Arc<AtomicBool> = Arc::default();
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .map_err(|e| Failure::new(Exit::Unknown, format!("cannot watch for SIGINT and SIGTERM: {e}")))?;
        let (l, st) = (live.clone(), stopped.clone());
        std::thread::spawn(move || {
            for sig in signals.forever() {
                // Under the lock: a run being started now is either in the
                // list (and told) or sees `stopped` and does not start.
                let pids = l.lock().unwrap_or_else(|e| e.into_inner());
                st.store(true, Ordering::SeqCst);
                for &pid in pids.iter() {
                    // SAFETY: kill(2) on a child this process started and has not yet reaped.
                    unsafe { libc::kill(pid as i32, sig) };
                }
            }
        });
        Ok(Children { live, stopped })
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Start `cmd`, wait for it, and read what it left.
    fn run(&self, mut cmd: std::process::Command, report: &std::path::Path) -> Outcome {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        // Its own process group: a Ctrl-C reaches it once, through this
        // process, not twice (which would stop it at once).
        cmd.process_group(0).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        // Should runbook itself be killed (SIGKILL, SIGHUP), its runs go
        // with it rather than go on unwatched: the worker thread that
        // starts each one waits for it.
        crate::engine::runtime::die_with_parent(&mut cmd);
        let started = Instant::now();
        let child = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            if self.stopped() {
                return Outcome { not_run: Some("stopped by a signal before it started".into()), ..Outcome::default() };
            }
            match cmd.spawn() {
                Ok(c) => {
                    live.push(c.id());
                    c
                }
                Err(e) => {
                    return Outcome {
                        exit: Some(Exit::Software as i32),
                        stderr: format!("runbook: cannot start {}: {e}\n", exe().display()),
                        duration: started.elapsed(),
                        ..Outcome::default()
                    }
                }
            }
        };
        let pid = child.id();
        let waited = child.wait_with_output();
        self.live.lock().unwrap_or_else(|e| e.into_inner()).retain(|&p| p != pid);
        let duration = started.elapsed();
        let (exit, stdout, stderr) = match waited {
            Ok(o) => (
                o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (Exit::Software as i32, String::new(), format!("runbook: lost the run: {e}\n")),
        };
        let report = std::fs::read_to_string(report).ok().and_then(|t| serde_json::from_str(&t).ok());
        Outcome { exit: Some(exit), not_run: None, duration, stdout, stderr, report }
    }
}

/// "12/24 targets done" on a terminal's stderr, rewritten in place.
struct Progress {
    total: usize,
    done: AtomicUsize,
    bad: AtomicUsize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            bad: AtomicUsize::new(0),
            shown: crate::output::stderr_is_terminal(),
        }
    }
    fn done(&self, ok: bool) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let bad = self.bad.fetch_add(usize::from(!ok), Ordering::SeqCst) + usize::from(!ok);
        if self.shown {
            let not_ok = if bad > 0 { format!(", {bad} not OK") } else { String::new() };
            crate::output::progress(&format!("\x1b[K{n}/{} targets done{not_ok}", self.total));
        }
    }
    fn clear(&self) {
        if self.shown {
            crate::output::progress("");
        }
    }
}

/// The whole fan-out, to print.
struct Fanout<'a> {
    script: &'a Script,
    group: &'a str,
    pace: Pace,
    members: &'a [Member],
    outcomes: &'a [Outcome],
    at: chrono::DateTime<chrono::Utc>,
    duration: Duration,
}

impl Fanout<'_> {
    /// The worst: a run that did not end with a level (a usage or config
    /// error, a signal) outranks every level; else the worst level.
    fn exit(&self) -> Exit {
        let ran = self.outcomes.iter().filter_map(|o| o.exit);
        let odd = ran.clone().filter(|c| !(0..=3).contains(c)).max();
        if let Some(code) = odd {
            return match code {
                64 => Exit::Usage,
                65 => Exit::DataErr,
                75 => Exit::TempFail,
                78 => Exit::Config,
                130 => Exit::Interrupted,
                143 => Exit::Terminated,
                _ => Exit::Software,
            };
        }
        let stopped = self.outcomes.iter().any(|o| o.not_run.as_deref().is_some_and(|w| w.contains("signal")));
        let worst = self.outcomes.iter().filter_map(Outcome::level).fold(Level::Ok, Level::worst);
        if stopped && worst == Level::Ok {
            return Exit::Interrupted;
        }
        worst.exit()
    }

    fn pace_text(&self) -> String {
        match self.pace {
            Pace::Forks(n) => format!("{} at a time", n.min(self.members.len())),
            Pace::Serial(k) => format!("--serial {k}"),
        }
    }

    fn status_of(o: &Outcome) -> String {
        match (&o.not_run, o.exit, o.level()) {
            (Some(_), _, _) => "not run".into(),
            (None, Some(130), _) => "interrupted".into(),
            (None, Some(143), _) => "terminated".into(),
            (None, Some(0..=3), Some(l)) if o.report.is_some() => l.name().into(),
            (None, code, _) => format!("exit {}", code.unwrap_or(0)),
        }
    }

    fn text(&self) -> String {
        let n = self.members.len();
        let mut out = format!(
            "{} on {} · {n} {} · {}\n",
            self.script.name,
            self.group,
            if n == 1 { "target" } else { "targets" },
            self.pace_text()
        );
        for (m, o) in self.members.iter().zip(self.outcomes) {
            if o.not_run.is_some() {
                continue;
            }
            out.push_str(&format!("\n── {} · {} · {} ──\n", m.id(), Self::status_of(o), ms(o.duration)));
            // The run's heading says the script again: the section's says the target.
            let heading = format!("{} — ", self.script.name);
            let mut lines = o.stdout.lines().peekable();
            if lines.peek().is_some_and(|l| l.starts_with(&heading)) {
                lines.next();
                if lines.peek() == Some(&"") {
                    lines.next();
                }
            }
            for line in lines.chain(o.stderr.lines()) {
                match line.is_empty() {
                    true => out.push('\n'),
                    false => out.push_str(&format!("  {line}\n")),
                }
            }
        }
        out.push_str(&format!("\n── Summary ──\n{}", self.matrix()));
        let mut counts: Vec<(String, usize)> = vec![];
        for o in self.outcomes {
            let s = Self::status_of(o);
            match counts.iter_mut().find(|(k, _)| *k == s) {
                Some((_, c)) => *c += 1,
                None => counts.push((s, 1)),
            }
        }
        let counts: Vec<String> = counts.iter().map(|(s, c)| format!("{c} {s}")).collect();
        out.push_str(&format!(
            "{n} {}: {} · {} · exit {}\n",
            if n == 1 { "target" } else { "targets" },
            counts.join(", "),
            ms(self.duration),
            self.exit() as u8
        ));
        out
    }

    /// A row per target, a column per check (in the order first seen),
    /// then the status, exit code and time.
    fn matrix(&self) -> String {
        let checks_of = |o: &Outcome| -> Vec<(String, Level)> {
            let Some(r) = &o.report else { return vec![] };
            let mut v = vec![];
            for s in r["sections"].as_array().into_iter().flatten() {
                for c in s["checks"].as_array().into_iter().flatten() {
                    let level = c["level"].as_str().and_then(|l| match l {
                        "ok" => Some(Level::Ok),
                        "warning" => Some(Level::Warning),
                        "critical" => Some(Level::Critical),
                        "unknown" => Some(Level::Unknown),
                        _ => None,
                    });
                    if let (Some(name), Some(level)) = (c["name"].as_str(), level) {
                        v.push((name.to_string(), level));
                    }
                }
            }
            v
        };
        let mut columns: Vec<String> = vec![];
        for o in self.outcomes {
            for (name, _) in checks_of(o) {
                if !columns.contains(&name) {
                    columns.push(name);
                }
            }
        }
        // A matrix wider than a terminal helps nobody: past eight checks,
        // a count per level instead.
        let wide = columns.len() > 8;
        let mut head = vec!["TARGET".to_string()];
        if wide {
            head.push("CHECKS".into());
        } else {
            head.extend(columns.iter().cloned());
        }
        head.extend(["STATUS".into(), "EXIT".into(), "TIME".into()]);
        let mut grid = vec![head];
        for (m, o) in self.members.iter().zip(self.outcomes) {
            let checks = checks_of(o);
            let mut row = vec![m.id()];
            if wide {
                let mut by: Vec<String> = vec![];
                for l in [Level::Ok, Level::Warning, Level::Critical, Level::Unknown] {
                    let c = checks.iter().filter(|(_, x)| *x == l).count();
                    if c > 0 {
                        by.push(format!("{c} {}", symbol(l)));
                    }
                }
                row.push(if by.is_empty() { "-".into() } else { by.join(" ") });
            } else {
                for col in &columns {
                    let cell = checks.iter().filter(|(n, _)| n == col).map(|(_, l)| *l).reduce(Level::worst);
                    row.push(cell.map(|l| symbol(l).to_string()).unwrap_or_else(|| "-".into()));
                }
            }
            match &o.not_run {
                Some(_) => row.extend(["not run".into(), String::new(), String::new()]),
                None => {
                    row.extend([Self::status_of(o), o.exit.map(|e| e.to_string()).unwrap_or_default(), ms(o.duration)])
                }
            }
            grid.push(row);
        }
        let last = grid[0].len() - 1;
        let widths: Vec<usize> =
            (0..=last).map(|i| grid.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for row in &grid {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
        }
        // Why some did not run, once per reason, under the matrix.
        let mut reasons: Vec<(&str, Vec<String>)> = vec![];
        for (m, o) in self.members.iter().zip(self.outcomes) {
            if let Some(why) = &o.not_run {
                match reasons.iter_mut().find(|(w, _)| w == why) {
                    Some((_, ids)) => ids.push(m.id()),
                    None => reasons.push((why, vec![m.id()])),
                }
            }
        }
        for (why, ids) in reasons {
            out.push_str(&format!("  not run: {} — {why}\n", ids.join(", ")));
        }
        out
    }

    fn json(&self) -> String {
        let targets: Vec<serde_json::Value> = self
            .members
            .iter()
            .zip(self.outcomes)
            .map(|(m, o)| {
                serde_json::json!({
                    "target": m.id(),
                    "kind": m.kind,
                    "name": m.name,
                    "param": m.param,
                    "status": o.level().map(Level::name),
                    "exit_code": o.exit,
                    "duration_ms": o.exit.map(|_| o.duration.as_millis() as u64),
                    "not_run": o.not_run,
                    "report": o.report,
                    "stderr": o.stderr,
                })
            })
            .collect();
        let (forks, serial) = match self.pace {
            Pace::Forks(n) => (Some(n), None),
            Pace::Serial(k) => (None, Some(k)),
        };
        let worst = self.outcomes.iter().filter_map(Outcome::level).fold(Level::Ok, Level::worst);
        let v = serde_json::json!({
            "script": self.script.name,
            "group": self.group,
            "forks": forks,
            "serial": serial,
            "started_at": self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "duration_ms": self.duration.as_millis() as u64,
            "status": worst.name(),
            "exit_code": self.exit() as u8,
            "targets": targets,
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }
}
