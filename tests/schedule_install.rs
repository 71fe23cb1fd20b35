//! `runbook schedule --install crontab`: the plan as one marked block in a
//! real crontab (the `crontab` program, a user of the test's own),
//! installed twice and once removed, the crontab compared in full each
//! time; and the job settings `schedule` refuses as flags.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::io::Write;
use std::process::{Command, Stdio};

use common::Sandbox;

const USER: &str = "rbcrontest";
const BEGIN: &str =
    "# >>> runbook schedule: written by `runbook schedule --install crontab`; an install replaces this block >>>";

fn crontab_of_user() -> String {
    let out = Command::new("crontab").args(["-u", USER, "-l"]).output().expect("crontab runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_plan_installed_twice_is_there_once_and_removed_exactly() {
    let exists = Command::new("id").arg(USER).output().unwrap().status.success();
    if !exists {
        let made = Command::new("useradd").args(["--system", "--no-create-home", USER]).status().unwrap();
        assert!(made.success(), "useradd {USER} (the tests run as root)");
    }
    let mine = "MAILTO=me@example.com\n0 1 * * * /usr/bin/true\n";
    let mut w = Command::new("crontab").args(["-u", USER, "-"]).stdin(Stdio::piped()).spawn().unwrap();
    w.stdin.take().unwrap().write_all(mine.as_bytes()).unwrap();
    assert!(w.wait().unwrap().success());

    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", "// Ticks.\n// schedule: 30 2 * * *\nprint(1);\n");
    sb.write("scripts/mailer.rhai", "// Mails.\n// schedule: 0 9 * * *\nprint(1);\n");
    sb.config("[schedule.mailer]\nmail_to = \"ops@example.com\"\n[schedule.daily-check]\nenabled = false\n[schedule.backup-db]\nenabled = false\n[schedule.\"cert/check\"]\nenabled = false\n");
    let config = sb.path().join("runbook.toml").canonicalize().unwrap();
    let install = |args: &[&str]| {
        let mut a = vec!["schedule"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--user", USER]);
        sb.run(&a)
    };
    let block = format!(
        "{BEGIN}
# runbook schedule, as crontab lines (install them with: runbook schedule --install crontab)
# Each run is recorded in the history; --lock keeps a slow run from overlapping the next.
# A job that mails through runbook sends its output nowhere else: cron's MAILTO would mail it twice.

# mailer — Mails. (from header and runbook.toml)
0 9 * * * {bin} --config {config} run mailer --quiet --timeout 10m --lock mailer --mail-to ops@example.com --mail-on failure >/dev/null

# tick — Ticks. (from header)
30 2 * * * {bin} --config {config} run tick --quiet --timeout 10m --lock tick
# <<< runbook schedule <<<
",
        bin = common::bin(),
        config = config.display()
    );

    let first = install(&["--install", "crontab"]);
    assert_eq!(
        (first.code, first.stdout.as_str()),
        (0, format!("added runbook's block to {USER}'s crontab: 2 job(s)\n").as_str()),
        "{}",
        first.stderr
    );
    assert_eq!(crontab_of_user(), format!("{mine}{block}"));

    let again = install(&["--install", "crontab"]);
    assert_eq!(
        again.stdout,
        format!("{USER}'s crontab already holds this plan: nothing to change\n"),
        "{}",
        again.stderr
    );
    assert_eq!(crontab_of_user(), format!("{mine}{block}"));

    let removed = install(&["--uninstall", "crontab"]);
    assert_eq!(removed.stdout, format!("removed runbook's block from {USER}'s crontab\n"), "{}", removed.stderr);
    assert_eq!(crontab_of_user(), mine);
    let nothing = install(&["--uninstall", "crontab"]);
    assert_eq!(nothing.stdout, format!("{USER}'s crontab has no runbook block: nothing to change\n"));
}

#[test]
fn mail_and_lock_are_refused_as_schedule_flags_and_say_where_they_go() {
    let sb = Sandbox::new();
    let out = sb.run(&["schedule", "--list", "--lock"]);
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: --lock is a job's setting, not the scheduler's\n  = help: set it per job in runbook.toml: [schedule.NAME] lock = \"NAME\" (each job runs with --lock JOB already)\n"
    );
    let mail = sb.run(&["schedule", "--mail-on", "always"]);
    assert_eq!(mail.code, 64);
    assert!(mail.stderr.contains("[schedule.NAME] mail_on = \"failure\""), "{}", mail.stderr);
}

/// A fresh config's plan is the manual's three jobs; every other shipped
/// script only suggests its cadence, until a [schedule.NAME] entry enables it.
#[test]
fn a_fresh_plan_is_the_manuals_three_and_the_rest_are_suggestions() {
    let sb = Sandbox::new();
    let cron = sb.run(&["schedule", "--print-crontab"]);
    assert_eq!(cron.code, 0, "{}", cron.stderr);
    let jobs: Vec<String> = cron
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {} {} {} {}", f[0], f[1], f[2], f[3], f[4], f[7])
        })
        .collect();
    assert_eq!(jobs, ["0 2 * * * backup-db", "0 6 * * * cert/check", "0 9 * * * daily-check"], "{}", cron.stdout);

    let all = sb.run(&["schedule", "--list", "--all"]);
    assert!(
        all.stdout.contains("\nhealth-monitor                */5 * * * *   local  (suggested, not in the plan)\n"),
        "{}",
        all.stdout
    );
    sb.config("[schedule.health-monitor]\n");
    let enabled = sb.run(&["schedule", "--list"]);
    let names: Vec<&str> =
        enabled.stdout.lines().skip(1).filter(|l| !l.starts_with(' ')).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["backup-db", "cert/check", "daily-check", "health-monitor"], "{}", enabled.stdout);
    // A job turned off leaves the plan, and `--list --all` still shows it, saying so.
    sb.config("[schedule.\"cert/check\"]\nenabled = false\n");
    let off = sb.run(&["schedule", "--list", "--all"]);
    assert!(
        off.stdout.contains("\ncert/check                    0 6 * * *     local  (turned off, not in the plan)\n")
            && off.stdout.contains("from runbook.toml: enabled = false\n"),
        "{}",
        off.stdout
    );
    assert!(!sb.run(&["schedule", "--list"]).stdout.contains("cert/check"));
}

fn machine_zone() -> String {
    std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|t| t.display().to_string().split_once("zoneinfo/").map(|(_, z)| z.to_string()))
        .unwrap_or_else(|| "Etc/UTC".into())
}

/// A plan with a zoned job beside a job on the machine's clock.
fn zoned_plan() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("scripts/tick.rhai", "// Ticks.\n// schedule: 30 2 * * *\nprint(1);\n");
    let mut config =
        "[schedule.berlin]\nscript = \"tick\"\ncron = \"0 6 * * 1-5\"\ntimezone = \"Europe/Berlin\"\n".to_string();
    for manual in ["daily-check", "backup-db", "\"cert/check\""] {
        config.push_str(&format!("\n[schedule.{manual}]\nenabled = false\n"));
    }
    sb.config(&config);
    sb
}

/// (zone, cron, script) of each job `--list` shows, "local" read as the machine's zone.
fn listed(sb: &Sandbox) -> Vec<(String, String, String)> {
    let out = sb.run(&["schedule", "--list", "tick", "berlin"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().skip(1).collect();
    lines
        .chunks(2)
        .map(|pair| {
            let f: Vec<&str> = pair[0].split_whitespace().collect();
            let script = pair[1]
                .split(" · ")
                .find_map(|p| p.trim_start_matches([' ', '└']).strip_prefix("script "))
                .unwrap_or(f[0]);
            let zone = if f[6] == "local" { machine_zone() } else { f[6].to_string() };
            (zone, f[1..6].join(" "), script.to_string())
        })
        .collect()
}

/// The printed crontab and `--list` agree line by line: each job's line
/// is read under the CRON_TZ that --list names, and no zone leaks onto
/// the next job's line.
#[test]
fn the_crontab_and_the_list_agree_line_by_line() {
    let sb = zoned_plan();
    let cron = sb.run(&["schedule", "--print-crontab", "tick", "berlin"]);
    assert_eq!(cron.code, 0, "{}", cron.stderr);
    let mut zone = machine_zone();
    let mut lines = vec![];
    for l in cron.stdout.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        if let Some(z) = l.strip_prefix("CRON_TZ=") {
            zone = z.to_string();
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        let run = f.iter().position(|w| *w == "run").unwrap();
        lines.push((zone.clone(), f[..5].join(" "), f[run + 1].to_string()));
    }
    assert_eq!(lines, listed(&sb), "{}", cron.stdout);
    assert_eq!(lines[0], ("Europe/Berlin".to_string(), "0 6 * * 1-5".to_string(), "tick".to_string()));
    let config = sb.path().join("runbook.toml").canonicalize().unwrap();
    assert!(
        cron.stdout.ends_with(&format!(
            "CRON_TZ={}\n\n# tick — Ticks. (from header)\n30 2 * * * {} --config {} run tick --quiet --timeout 10m --lock tick\n",
            machine_zone(),
            common::bin(),
            config.display()
        )),
        "{}",
        cron.stdout
    );
}

/// `--install systemd`: the units written in full, a second install
/// changes nothing, a job taken out of the plan loses its units, a file
/// runbook did not write is never touched, and --uninstall removes
/// exactly runbook's. systemd's own tools accept the units, and each
/// timer elapses when `--list` says the job runs next.
#[test]
fn the_plan_as_systemd_units_installed_twice_changed_and_removed() {
    let sb = zoned_plan();
    let dir = sb.path().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("runbook-mine.timer"), "[Timer]\nOnCalendar=daily\n").unwrap();
    let d = dir.display().to_string();
    let install = |args: &[&str]| {
        let mut a = vec!["schedule"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--unit-dir", &d]);
        sb.run(&a)
    };
    let first = install(&["--install", "systemd"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.stdout,
        format!(
            "wrote {d}/runbook-berlin.service\nwrote {d}/runbook-berlin.timer\nwrote {d}/runbook-tick.service\nwrote {d}/runbook-tick.timer\n\
             --unit-dir: systemctl is yours: systemctl daemon-reload && systemctl enable --now runbook-berlin.timer runbook-tick.timer\n"
        )
    );
    let mark =
        "# written by `runbook schedule --install systemd`: an install replaces this file, --uninstall removes it";
    let config = sb.path().join("runbook.toml").canonicalize().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("runbook-berlin.service")).unwrap(),
        format!("{mark}\n[Unit]\nDescription=runbook berlin: Ticks.\n\n[Service]\nType=oneshot\nEnvironment=\"HOME={}\"\nEnvironment=\"RUNBOOK_SCHEDULE_JOB=berlin\"\nExecStart={} --config {} run tick --quiet --timeout 10m --lock berlin\n", sb.path().display(), common::bin(), config.display())
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("runbook-berlin.timer")).unwrap(),
        format!("{mark}\n[Unit]\nDescription=runbook berlin on `0 6 * * 1-5`\n\n[Timer]\nOnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 06:00:00 Europe/Berlin\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")
    );
    let units: Vec<String> = ["berlin", "tick"]
        .iter()
        .flat_map(|j| [format!("{d}/runbook-{j}.service"), format!("{d}/runbook-{j}.timer")])
        .collect();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .expect("systemd-analyze (apt-get install systemd)");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // Each timer's next three elapses, in the job's zone, are --list's next runs.
    let list = sb.run(&["schedule", "--list", "tick", "berlin"]);
    for (job, zone) in [("berlin", "Europe/Berlin".to_string()), ("tick", machine_zone())] {
        let timer = std::fs::read_to_string(dir.join(format!("runbook-{job}.timer"))).unwrap();
        let calendar = timer.lines().find_map(|l| l.strip_prefix("OnCalendar=")).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["calendar", "--iterations=3", calendar])
            .env("TZ", &zone)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let elapses: Vec<String> = said
            .lines()
            .filter_map(|l| {
                l.split_once(": ").filter(|(k, _)| k.trim() == "Next elapse" || k.trim().starts_with("Iter."))
            })
            .map(|(_, v)| v.trim().rsplit_once(' ').map(|(t, _zone)| t.to_string()).unwrap_or_default())
            .collect();
        let line = list.stdout.lines().find(|l| l.starts_with(&format!("{job} "))).unwrap();
        assert!(line.ends_with(&elapses.join(", ")), "{job}: systemd says {elapses:?}, --list says {line}\n{said}");
    }

    let again = install(&["--install", "systemd"]);
    assert_eq!(again.stdout, format!("{d} already holds this plan: nothing to change\n"), "{}", again.stderr);

    sb.write(
        "runbook.toml",
        &format!("{}\n[schedule.tick]\nenabled = false\n", std::fs::read_to_string(&config).unwrap()),
    );
    let fewer = install(&["--install", "systemd"]);
    assert_eq!(
        fewer.stdout,
        format!("removed {d}/runbook-tick.service\nremoved {d}/runbook-tick.timer\n--unit-dir: systemctl is yours: systemctl daemon-reload && systemctl enable --now runbook-berlin.timer\n"),
        "{}",
        fewer.stderr
    );
    let gone = install(&["--uninstall", "systemd"]);
    assert_eq!(
        gone.stdout,
        format!("removed {d}/runbook-berlin.service\nremoved {d}/runbook-berlin.timer\n--unit-dir: systemctl is yours: systemctl daemon-reload\n"),
        "{}",
        gone.stderr
    );
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
    assert_eq!(left, ["runbook-mine.timer"]);

    // A unit of the same name that is not runbook's: refused, nothing written.
    std::fs::write(dir.join("runbook-berlin.timer"), "[Timer]\nOnCalendar=weekly\n").unwrap();
    let clash = install(&["--install", "systemd"]);
    assert_eq!(clash.code, 78, "{}", clash.stdout);
    assert_eq!(clash.stderr, format!("error: {d}/runbook-berlin.timer exists and was not written by runbook: move it away, or give --unit-dir another folder\n"));
    assert!(!dir.join("runbook-berlin.service").exists());
    for (args, said) in [
        (
            &["schedule", "--install", "systemd", "--user", "someone"][..],
            "error: --user goes with --install crontab or --uninstall crontab\n",
        ),
        (
            &["schedule", "--unit-dir", "/tmp"][..],
            "error: --unit-dir goes with --install systemd or --uninstall systemd\n",
        ),
        (
            &["schedule", "--install", "systemd", "berlin"][..],
            "error: --install and --uninstall take the whole plan, not jobs by name\n",
        ),
    ] {
        let out = sb.run(args);
        assert_eq!(out.code, 64, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(said), "{args:?}: {}", out.stderr);
    }
    let typo = sb.run(&["schedule", "--uninstall", "systemd", "--unit-dir", "/nonexistent/units"]);
    assert_eq!((typo.code, typo.stdout.as_str()), (0, "/nonexistent/units does not exist: nothing to change\n"));
}
