//! `runbook schedule`: run the jobs (see `crate::schedule`), or show them
//! (`--list`), or hand them to cron or systemd (`--print-crontab`,
//! `--print-systemd`, `--install crontab|systemd`, `--uninstall …`).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::{prepare, Globals};
use crate::cli::{Installer, ScheduleArgs};
use crate::exit::{CmdResult, Exit, Failure};
use crate::plan::jobs;
use crate::schedule::{export, Options, Scheduler};
use crate::script::ScriptPath;

pub fn schedule(g: &Globals, args: ScheduleArgs) -> CmdResult {
    for (flag, given, key) in [
        ("--lock", &args.lock, "lock = \"NAME\" (each job runs with --lock JOB already)"),
        ("--mail-on", &args.mail_on, "mail_on = \"failure\" (with mail_to)"),
        ("--mail-to", &args.mail_to, "mail_to = \"ops@example.com\""),
    ] {
        if given.is_some() {
            return Err(Failure::usage(format!("{flag} is a job's setting, not the scheduler's"))
                .with_help(format!("set it per job in runbook.toml: [schedule.NAME] {key}")));
        }
    }
    let installer = args.install.or(args.uninstall);
    if installer.is_some() && !args.jobs.is_empty() {
        return Err(Failure::usage("--install and --uninstall take the whole plan, not jobs by name")
            .with_help("to leave a job out: [schedule.NAME] enabled = false in runbook.toml, then install again"));
    }
    if args.unit_dir.is_some() && installer != Some(Installer::Systemd) {
        return Err(Failure::usage("--unit-dir goes with --install systemd or --uninstall systemd"));
    }
    if args.user.is_some() && installer != Some(Installer::Crontab) {
        return Err(Failure::usage("--user goes with --install crontab or --uninstall crontab")
            .with_help("systemd units are the system's (as root) or your own: run it as that user"));
    }
    let config = Arc::new(prepare::config(g)?);
    let scripts = ScriptPath::new(g.scripts_dir.as_deref(), &config);
    let jobs = jobs::load(&config, &scripts, &args.jobs, args.all)?;
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "runbook".into());
    let mut globals = vec![];
    if let Some(c) = config.path.as_ref() {
        let abs = std::fs::canonicalize(c).unwrap_or_else(|_| c.clone());
        globals.extend(["--config".to_string(), abs.display().to_string()]);
    }
    // cron and systemd start a job in another folder and without this
    // shell's RUNBOOK_SCRIPTS: a folder found only through those is named.
    let pinned = g.scripts_dir.clone().or_else(|| {
        let from_env = std::env::var_os("RUNBOOK_SCRIPTS").map(std::path::PathBuf::from);
        let lasting = |d: &std::path::PathBuf| d.is_absolute() && from_env.as_ref() != Some(d);
        // The folders a job still finds: absolute ones, and the config's
        // own scripts/ (the job is given --config as an absolute path).
        let beside_config =
            config.path.as_ref().and_then(|p| p.canonicalize().ok()).and_then(|p| Some(p.parent()?.join("scripts")));
        let kept: Vec<_> = scripts
            .dirs
            .iter()
            .filter(|d| lasting(d))
            .cloned()
            .chain(beside_config)
            .filter_map(|d| d.canonicalize().ok())
            .collect();
        scripts
            .dirs
            .iter()
            .find(|d| {
                !lasting(d)
                    && jobs.iter().any(|j| d.join(format!("{}.rhai", j.script)).is_file())
                    && d.canonicalize().is_ok_and(|c| !kept.contains(&c))
            })
            .cloned()
    });
    if let Some(d) = pinned {
        let abs = std::fs::canonicalize(&d).unwrap_or(d);
        globals.extend(["--scripts-dir".to_string(), abs.display().to_string()]);
    }
    if args.list {
        // The silences in force; a history that cannot be read shows none.
        let silences = crate::history::enabled(&config)
            .then(|| crate::history::Store::open(&config).and_then(|mut s| s.silences_at(chrono::Utc::now())).ok())
            .flatten()
            .unwrap_or_default();
        crate::output::out(&list(&jobs, &silences));
        return Ok(Exit::Ok);
    }
    if args.print_crontab {
        crate::output::out(&export::crontab(&exe, &globals, &jobs));
        return Ok(Exit::Ok);
    }
    if args.print_systemd {
        crate::output::out(&export::systemd(&exe, &globals, &jobs));
        return Ok(Exit::Ok);
    }
    match args.install.or(args.uninstall) {
        Some(Installer::Crontab) => return install(&args, &export::crontab(&exe, &globals, &jobs), jobs.len()),
        Some(Installer::Systemd) => return install_systemd(&args, &exe, &globals, &jobs),
        None => {}
    }
    let (catch_up, grace) = (args.catch_up.value, args.grace.value);
    if jobs.is_empty() {
        return Err(Failure::usage("nothing to schedule: no script has a `schedule:` line and [schedule] is empty")
            .with_help("add `// schedule: 0 9 * * *` to a script's header, or a [schedule.NAME] entry to the config"));
    }
    if !crate::history::enabled(&config) {
        return Err(Failure::new(
            Exit::Config,
            "runbook schedule needs the run history, and [history] enabled = false",
        )
        .with_help("every slot is claimed and every run recorded there; remove `enabled = false`"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| Failure::new(Exit::Unknown, format!("cannot handle signal {sig}: {e}")))?;
    }
    let scheduler = Scheduler::new(config, jobs, Options { catch_up, grace, globals })
        .map_err(|e| Failure::new(Exit::Unknown, e))?;
    scheduler.run(stop).map_err(|e| Failure::new(Exit::Unknown, e))?;
    Ok(Exit::Ok)
}

/// `--install crontab` / `--uninstall crontab`: the block replaced or
/// removed, the rest of the crontab kept; says what it did.
fn install(args: &ScheduleArgs, plan: &str, jobs: usize) -> CmdResult {
    use crate::schedule::install;
    let user = args.user.as_deref();
    let fail = |e: String| Failure::new(Exit::Unknown, e);
    let current = install::read(user).map_err(fail)?;
    let whose = user.map(|u| format!("{u}'s crontab")).unwrap_or_else(|| "the crontab".into());
    let had = current.lines().any(|l| l == install::BEGIN);
    let next = install::with_block(&current, args.install.map(|_| plan));
    if next == current {
        let why = if args.install.is_some() { "already holds this plan" } else { "has no runbook block" };
        crate::output::out(&format!("{whose} {why}: nothing to change\n"));
        return Ok(Exit::Ok);
    }
    install::write(user, &next).map_err(fail)?;
    let done = match (args.install.is_some(), had) {
        (true, true) => format!("replaced runbook's block in {whose}: {jobs} job(s)"),
        (true, false) => format!("added runbook's block to {whose}: {jobs} job(s)"),
        (false, true) => format!("removed runbook's block from {whose}"),
        (false, false) => format!("{whose} has no runbook block: nothing to change"),
    };
    crate::output::out(&format!("{done}\n"));
    Ok(Exit::Ok)
}

/// `--install systemd` / `--uninstall systemd`: the units written or
/// removed, then the timers enabled or disabled through systemctl (not
/// with `--unit-dir`: that folder's owner enables them).
fn install_systemd(args: &ScheduleArgs, exe: &str, globals: &[String], jobs: &[jobs::Job]) -> CmdResult {
    use crate::schedule::install_systemd::{apply, default_dir, stale, systemctl};
    let (dir, user_units, manage) = match &args.unit_dir {
        Some(d) => (d.clone(), false, false),
        None => {
            let (d, user) = default_dir().map_err(Failure::usage)?;
            (d, user, true)
        }
    };
    let installing = args.install.is_some();
    let units = match installing {
        true => export::systemd_units(exe, globals, jobs).map_err(|e| Failure::new(Exit::Config, e))?,
        false => vec![],
    };
    let before: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let timers = |names: &[String]| names.iter().filter(|n| n.ends_with(".timer")).cloned().collect::<Vec<_>>();
    let enable = timers(&units.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    let disable = timers(&stale(&dir, &units));
    let scope = if user_units { "systemctl --user" } else { "systemctl" };
    let mut todo = vec![];
    // Under --unit-dir the files are gone before anyone can disable them by name.
    if !disable.is_empty() && manage {
        todo.push(format!("{scope} disable --now {}", disable.join(" ")));
    }
    todo.push(format!("{scope} daemon-reload"));
    if !enable.is_empty() {
        todo.push(format!("{scope} enable --now {}", enable.join(" ")));
    }
    // A timer is stopped while its unit file is still there to name it;
    // when it cannot be, nothing is removed or written.
    let mut trouble = None;
    if manage && !disable.is_empty() {
        let argv: Vec<&str> = ["disable", "--now"].into_iter().chain(disable.iter().map(String::as_str)).collect();
        if let Err(e) = systemctl(user_units, &argv) {
            return Err(Failure::new(Exit::TempFail, format!("nothing changed in {}: {e}", dir.display()))
                .with_help("--unit-dir DIR writes and removes the files without systemctl"));
        }
    }
    if !installing && !dir.is_dir() {
        crate::output::out(&format!("{} does not exist: nothing to change\n", dir.display()));
        return Ok(Exit::Ok);
    }
    let changes = apply(&dir, &units).map_err(|e| Failure::new(Exit::Config, e))?;
    let mut out = String::new();
    let where_ = dir.display();
    if changes.written.is_empty() && changes.removed.is_empty() {
        out.push_str(&if installing {
            format!("{where_} already holds this plan: nothing to change\n")
        } else {
            format!("{where_} has no runbook units: nothing to change\n")
        });
    }
    for n in &changes.written {
        let verb = if before.contains(n) { "replaced" } else { "wrote" };
        out.push_str(&format!("{verb} {where_}/{n}\n"));
    }
    for n in &changes.removed {
        out.push_str(&format!("removed {where_}/{n}\n"));
    }
    let changed = !changes.written.is_empty() || !changes.removed.is_empty();
    if !manage {
        if changed {
            out.push_str(&format!("--unit-dir: systemctl is yours: {}\n", todo.join(" && ")));
        }
        crate::output::out(&out);
        return Ok(Exit::Ok);
    }
    crate::output::out(&out);
    if trouble.is_none() {
        trouble = systemctl(user_units, &["daemon-reload"]).err();
    }
    if trouble.is_none() && !enable.is_empty() {
        let argv: Vec<&str> = ["enable", "--now"].into_iter().chain(enable.iter().map(String::as_str)).collect();
        trouble = systemctl(user_units, &argv).err();
    }
    if let Some(e) = trouble {
        return Err(Failure::new(Exit::TempFail, format!("the units are in {where_}, but {e}")).with_help(format!(
            "when systemctl{} can reach systemd: {}",
            if user_units { " --user" } else { "" },
            todo.join(" && ")
        )));
    }
    let done = if installing {
        format!("enabled {} timer(s): `{scope} list-timers 'runbook-*'` shows them\n", enable.len())
    } else {
        format!("disabled {} timer(s)\n", disable.len())
    };
    crate::output::out(&done);
    Ok(Exit::Ok)
}

/// `--list`: each job, its expression, where it comes from, its next runs.
fn list(jobs: &[jobs::Job], silences: &[crate::history::silence::Silence]) -> String {
    if jobs.is_empty() {
        return "no jobs in the plan: [schedule] is empty (`runbook schedule --list --all` shows the suggested ones)\n"
            .into();
    }
    let now = chrono::Utc::now();
    let w_name = jobs.iter().map(|j| j.name.len()).max().unwrap_or(3).max(3);
    let w_cron = jobs.iter().map(|j| j.cron_text.len()).max().unwrap_or(4).max(4);
    let w_tz = jobs.iter().map(|j| j.timezone.as_ref().map(|t| t.name.len()).unwrap_or(5)).max().unwrap_or(5).max(5);
    let mut out = format!("{:w_name$}  {:w_cron$}  {:w_tz$}  NEXT RUNS\n", "JOB", "CRON", "TZ");
    for j in jobs {
        let mut next = vec![];
        let mut t = now;
        for _ in 0..3 {
            let Some(n) = j.next_after(t) else { break };
            next.push(j.local_text(n, "%a %Y-%m-%d %H:%M:%S"));
            t = n;
        }
        let tz = j.timezone.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "local".into());
        let next = match (j.enabled, j.from.ends_with("enabled = false")) {
            (true, _) => next,
            (false, true) => vec!["(turned off, not in the plan)".to_string()],
            (false, false) => vec!["(suggested, not in the plan)".to_string()],
        };
        out.push_str(&format!("{:w_name$}  {:w_cron$}  {tz:w_tz$}  {}\n", j.name, j.cron_text, next.join(", ")));
        let mut extra = vec![];
        if j.script != j.name {
            extra.push(format!("script {}", j.script));
        }
        if !j.args.is_empty() {
            extra.push(j.args.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        }
        if let Some(m) = &j.mail_to {
            extra.push(format!("mail {m} on {}", j.mail_on.unwrap_or_default().as_str()));
        }
        extra.push(format!("timeout {}", crate::duration::format(j.timeout)));
        if j.yes {
            extra.push("--yes".into());
        }
        extra.push(format!("from {}", j.from));
        if let Some(s) = crate::history::silence::covering(silences, &j.script, Some(&j.name), now) {
            extra.push(format!("in maintenance until {} (silence {})", s.ends_at.format("%Y-%m-%d %H:%M UTC"), s.id));
        }
        out.push_str(&format!("{:w_name$}    └ {}\n", "", extra.join(" · ")));
    }
    for s in silences {
        out.push_str(&format!(
            "\nin maintenance: {} (opened by {}; `runbook snooze --end {}` ends it)\n",
            s.describe(),
            s.by,
            s.id
        ));
    }
    out
}
