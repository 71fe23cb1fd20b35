//! The schedule for those who keep cron or systemd timers:
//! `runbook schedule --print-crontab` and `--print-systemd` emit the jobs
//! `runbook schedule` would run, with the same flags.

use crate::plan::jobs::Job;

/// The arguments a job runs: the binary, the global flags, `run …`.
fn argv(exe: &str, globals: &[String], job: &Job) -> Vec<String> {
    let mut parts = vec![exe.to_string()];
    parts.extend(globals.iter().cloned());
    parts.extend(job.run_args());
    parts
}

/// The command a job runs, as one shell-quoted line. A job named other
/// than its script carries its name (`RUNBOOK_SCHEDULE_JOB`), so the run is
/// recorded as the job and a `runbook snooze JOB` covers it.
fn command_line(exe: &str, globals: &[String], job: &Job) -> String {
    let line = argv(exe, globals, job).iter().map(|p| shell_quote(p)).collect::<Vec<_>>().join(" ");
    if job.name == job.script {
        line
    } else {
        format!("{}={} {line}", super::ENV_JOB, shell_quote(&job.name))
    }
}

/// A command line as systemd's ExecStart reads it: each argument in double
/// quotes when it needs any, with `\` and `"` escaped (systemd decodes C
/// escapes, unlike sh's single quotes), `%` as `%%` (a specifier) and `$`
/// as `$$` (a variable).
fn exec_start(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
            let a = a.replace('%', "%%").replace('$', "$$");
            if plain {
                return a;
            }
            let mut q = String::from("\"");
            for c in a.chars() {
                match c {
                    '\\' => q.push_str("\\\\"),
                    '"' => q.push_str("\\\""),
                    '\n' => q.push_str("\\n"),
                    '\t' => q.push_str("\\t"),
                    c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
                    c => q.push(c),
                }
            }
            q.push('"');
            q
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A job's unit name, escaped as `systemd-escape` does: `cert/check` is
/// `runbook-cert-check`, other bytes outside `[A-Za-z0-9:_.]` are `\xNN`.
pub fn unit_name(job: &str) -> String {
    let mut out = String::from("runbook-");
    for b in job.bytes() {
        match b {
            b'/' => out.push('-'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b':' | b'_' | b'.' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The machine's time zone by name ("Etc/UTC"), as cron reads it when no
/// CRON_TZ is set: the target of /etc/localtime, else /etc/timezone.
fn machine_zone() -> Option<String> {
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let t = target.display().to_string();
        if let Some((_, name)) = t.split_once("zoneinfo/") {
            return Some(name.to_string());
        }
    }
    std::fs::read_to_string("/etc/timezone").ok().map(|z| z.trim().to_string()).filter(|z| !z.is_empty())
}

/// A job that runbook mails sends its stdout nowhere: cron's MAILTO would
/// mail the same report again. Its stderr (a mail that failed) still goes
/// to cron.
fn mailed_once(j: &Job, cmd: String) -> String {
    if j.mail_to.is_some() {
        format!("{cmd} >/dev/null")
    } else {
        cmd
    }
}

pub fn crontab(exe: &str, globals: &[String], jobs: &[Job]) -> String {
    let mut out = String::from(
        "# runbook schedule, as crontab lines (install them with: runbook schedule --install crontab)\n\
         # Each run is recorded in the history; --lock keeps a slow run from overlapping the next.\n\
         # A job that mails through runbook sends its output nowhere else: cron's MAILTO would mail it twice.\n",
    );
    for j in jobs {
        out.push_str(&format!("\n# {} — {} (from {})\n", j.name, j.summary, j.from));
        if j.has_seconds() {
            out.push_str(&format!(
                "# `{}` has a seconds field, which cron cannot express: use `runbook schedule`\n",
                j.cron_text
            ));
            continue;
        }
        let (cron, line) = match weekday_guard(&j.cron_text, j.timezone.as_ref().map(|z| z.name.as_str())) {
            Some((cron, test)) => {
                out.push_str("# cron alone runs a job on its day of month OR its weekday; runbook schedule on both,\n");
                out.push_str("# so the day of month is cron's and the weekday is tested in the command\n");
                (cron, test.replace("CMD", &mailed_once(j, command_line(exe, globals, j))))
            }
            None => (j.cron_text.clone(), mailed_once(j, command_line(exe, globals, j))),
        };
        // `%` ends a crontab command line; it must be escaped.
        let line = line.replace('%', "\\%");
        match &j.timezone {
            // CRON_TZ holds for every line below it: the machine's zone is
            // set back at once, so the next job is not read in this one's.
            Some(tz) => match machine_zone() {
                Some(local) => out.push_str(&format!("CRON_TZ={tz}\n{cron} {line}\nCRON_TZ={local}\n")),
                None => out.push_str(&format!(
                    "CRON_TZ={tz}\n{cron} {line}\n# the machine's own zone is unknown (no /etc/localtime): CRON_TZ={tz} holds for the lines below\n"
                )),
            },
            None => out.push_str(&format!("{cron} {line}\n")),
        }
    }
    out
}

/// When a 5-field expression names both a day of month and a weekday, cron
/// runs it on either (Vixie cron: unless one field starts with `*`), while
/// `runbook schedule` runs it only where both hold ("the first Monday":
/// `0 11 1-7 * 1`). Then: the expression with the weekday as `*`, and the
/// command (`CMD`) behind a test of today's weekday, in the job's zone.
fn weekday_guard(cron: &str, timezone: Option<&str>) -> Option<(String, String)> {
    let f: Vec<&str> = cron.split_whitespace().collect();
    if f.len() != 5 || f[2].starts_with('*') || f[4].starts_with('*') {
        return None;
    }
    let days: Vec<String> = weekdays(f[4])?.iter().map(u32::to_string).collect();
    let tz = timezone.map(|t| format!("TZ={} ", shell_quote(t))).unwrap_or_default();
    let today = format!("\"$({tz}date +%w)\"");
    let test = match days.as_slice() {
        [one] => format!("[ {today} = {one} ] && CMD"),
        _ => format!("case {today} in {}) CMD;; esac", days.join("|")),
    };
    Some((format!("{} {} {} {} *", f[0], f[1], f[2], f[3]), test))
}

/// The weekdays a cron field stands for, Sunday as 0 (cron also takes 7).
fn weekdays(text: &str) -> Option<Vec<u32>> {
    let mut days: Vec<u32> = expand(text, 0, 7, &DAYS)?.into_iter().map(|d| d % 7).collect();
    days.sort_unstable();
    days.dedup();
    Some(days)
}

/// The first line of every unit `--install systemd` writes: what marks a
/// file as runbook's to replace or remove.
pub const UNIT_MARK: &str =
    "# written by `runbook schedule --install systemd`: an install replaces this file, --uninstall removes it";

/// The plan as systemd units: `(file name, text)`, a .service and a .timer
/// per job, each text starting with [`UNIT_MARK`]. `Err` names a job that
/// has no OnCalendar form, or two jobs whose units would share a name.
pub fn systemd_units(exe: &str, globals: &[String], jobs: &[Job]) -> Result<Vec<(String, String)>, String> {
    let mut units: Vec<(String, String)> = vec![];
    // systemd gives a system unit no HOME: the state folder (history,
    // locks, silences) must be the one `runbook` uses from this shell.
    let home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
    for j in jobs {
        let unit = unit_name(&j.name);
        if let Some((other, _)) = units.iter().find(|(n, _)| *n == format!("{unit}.service")) {
            return Err(format!("jobs `{}` and another both make {other}: rename one of them", j.name));
        }
        let calendar = on_calendar(&j.cron_text).map_err(|e| {
            format!("job `{}`: {e}: systemd cannot run it (give it a 5-field cron, or use `runbook schedule`)", j.name)
        })?;
        let tz = j.timezone.as_ref().map(|t| format!(" {t}")).unwrap_or_default();
        let mut env = String::new();
        // Environment= expands `%` specifiers but no `$`.
        let assign = |k: &str, v: &str| {
            format!("Environment=\"{k}={}\"\n", v.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%"))
        };
        if let Some(h) = &home {
            env.push_str(&assign("HOME", h));
        }
        if j.name != j.script {
            env.push_str(&assign(super::ENV_JOB, &j.name));
        }
        let describe = |s: &str| s.replace('%', "%%").replace('\n', " ");
        units.push((
            format!("{unit}.service"),
            format!(
                "{UNIT_MARK}\n[Unit]\nDescription=runbook {name}: {summary}\n\n[Service]\nType=oneshot\n{env}ExecStart={cmd}\n",
                name = describe(&j.name),
                summary = describe(&j.summary),
                cmd = exec_start(&argv(exe, globals, j)),
            ),
        ));
        units.push((
            format!("{unit}.timer"),
            format!(
                "{UNIT_MARK}\n[Unit]\nDescription=runbook {name} on `{cron}`\n\n[Timer]\nOnCalendar={calendar}{tz}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
                name = describe(&j.name),
                cron = j.cron_text,
            ),
        ));
    }
    Ok(units)
}

pub fn systemd(exe: &str, globals: &[String], jobs: &[Job]) -> String {
    let mut out = String::from(
        "# runbook schedule, as systemd units: `runbook schedule --install systemd` writes them\n\
         # (to /etc/systemd/system as root, else ~/.config/systemd/user) and enables the timers.\n",
    );
    // Printed one job at a time, so a job with no systemd form is a
    // comment here, not the end of the listing.
    for j in jobs {
        match systemd_units(exe, globals, std::slice::from_ref(j)) {
            Ok(units) => {
                for (name, text) in units {
                    out.push_str(&format!(
                        "\n# ---- {name}\n{}",
                        text.trim_start_matches(UNIT_MARK).trim_start_matches('\n')
                    ));
                }
            }
            Err(e) => out.push_str(&format!("\n# {e}\n")),
        }
    }
    out
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A cron expression as systemd's OnCalendar (`Mon *-*-* 09:00:00`).
pub fn on_calendar(cron: &str) -> Result<String, String> {
    let expanded = match cron.trim() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    };
    let f: Vec<&str> = expanded.split_whitespace().collect();
    let (sec, rest) = match f.len() {
        5 => ("0", &f[..]),
        6 => (f[0], &f[1..]),
        _ => return Err(format!("`{cron}` is not a 5- or 6-field cron expression")),
    };
    let field = |text: &str, lo: u32, hi: u32, names: &[&str]| -> Result<String, String> {
        let vals = expand(text, lo, hi, names).ok_or_else(|| format!("`{text}` in `{cron}` has no systemd form"))?;
        Ok(if vals.len() as u32 == hi - lo + 1 {
            "*".to_string()
        } else {
            vals.iter().map(|v| format!("{v:02}")).collect::<Vec<_>>().join(",")
        })
    };
    let s = field(sec, 0, 59, &[])?;
    let m = field(rest[0], 0, 59, &[])?;
    let h = field(rest[1], 0, 23, &[])?;
    let dom = field(rest[2], 1, 31, &[])?;
    let mon = field(rest[3], 1, 12, &MONTHS)?;
    let dow = weekdays(rest[4]).ok_or_else(|| format!("`{}` in `{cron}` has no systemd form", rest[4]))?;
    let days = if dow.len() == 7 {
        String::new()
    } else {
        let mut names: Vec<&str> = dow.iter().map(|d| DAY_NAMES[*d as usize]).collect();
        names.dedup();
        format!("{} ", names.join(","))
    };
    Ok(format!("{days}*-{mon}-{dom} {h}:{m}:{s}"))
}

/// The values a cron field stands for: `*`, `5`, `1-5`, `*/15`, `1-30/2`,
/// `mon`, lists of those.
fn expand(text: &str, lo: u32, hi: u32, names: &[&str]) -> Option<Vec<u32>> {
    let num = |s: &str| -> Option<u32> {
        s.parse().ok().or_else(|| {
            let l = s.to_lowercase();
            names.iter().position(|n| *n == l).map(|i| i as u32 + if names.len() == 12 { 1 } else { 0 })
        })
    };
    let mut out = vec![];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (num(a)?, num(b)?)
        } else {
            let a = num(range)?;
            (a, if step > 1 { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return None;
        }
        out.extend((a..=b).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{exec_start, on_calendar, unit_name, weekday_guard};

    #[test]
    fn exec_start_quotes_as_systemd_reads_it() {
        let args: Vec<String> =
            ["/usr/bin/runbook", "run", "x", "--arg", "p=a'b\\c %d $e x\"y"].iter().map(|s| s.to_string()).collect();
        assert_eq!(exec_start(&args), "/usr/bin/runbook run x --arg \"p=a'b\\\\c %%d $$e x\\\"y\"");
        assert_eq!(unit_name("cert/check"), "runbook-cert-check");
        assert_eq!(unit_name("my job"), "runbook-my\\x20job");
    }

    #[test]
    fn cron_expressions_become_on_calendar() {
        assert_eq!(on_calendar("0 9 * * *").unwrap(), "*-*-* 09:00:00");
        assert_eq!(on_calendar("*/15 * * * *").unwrap(), "*-*-* *:00,15,30,45:00");
        assert_eq!(on_calendar("0 10 * * 1").unwrap(), "Mon *-*-* 10:00:00");
        assert_eq!(on_calendar("0 11 1-7 * 1").unwrap(), "Mon *-*-01,02,03,04,05,06,07 11:00:00");
        assert_eq!(on_calendar("30 2 * * 1-5").unwrap(), "Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00");
        assert_eq!(on_calendar("*/20 * * * * *").unwrap(), "*-*-* *:*:00,20,40");
        assert_eq!(on_calendar("@daily").unwrap(), "*-*-* 00:00:00");
        assert!(on_calendar("0 9 L * *").is_err());
        // Sunday is 0 or 7; "5-7" once became "5-0" and had no form.
        assert_eq!(on_calendar("0 8 * * 5-7").unwrap(), "Sun,Fri,Sat *-*-* 08:00:00");
    }

    #[test]
    fn a_day_of_month_and_a_weekday_both_hold_in_the_crontab_line() {
        assert_eq!(
            weekday_guard("0 11 1-7 * 1", None).unwrap(),
            ("0 11 1-7 * *".to_string(), "[ \"$(date +%w)\" = 1 ] && CMD".to_string())
        );
        assert_eq!(
            weekday_guard("0 6 1-7 * sat,7", Some("Europe/Berlin")).unwrap(),
            ("0 6 1-7 * *".to_string(), "case \"$(TZ=Europe/Berlin date +%w)\" in 0|6) CMD;; esac".to_string())
        );
        // One field unrestricted: cron and runbook agree already.
        assert_eq!(weekday_guard("0 9 * * 1", None), None);
        assert_eq!(weekday_guard("0 9 */2 * 1", None), None);
        assert_eq!(weekday_guard("0 9 1 * *", None), None);
    }
}
