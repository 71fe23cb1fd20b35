//! The jobs `runbook schedule` runs: one per script whose header has a
//! `schedule:` line, changed, added or turned off by `[schedule.NAME]`
//! entries in the config. Every expression, time zone and duration is
//! checked before anything runs, and an error names the key or the file.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;

use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::script::{header, ScriptPath};

/// A named time zone, read from the system's tz database
/// (/usr/share/zoneinfo): the binary carries no copy of its own.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    pub tz: tzfile::ArcTz,
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Next,
    LatestSoFar,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub script: String,
    pub summary: String,
    pub cron_text: String,
    pub cron: Cron,
    pub timezone: Option<Zone>,
    pub args: BTreeMap<String, String>,
    pub mail_to: Option<String>,
    pub mail_on: Option<crate::value::MailOn>,
    /// `--lock` for the run: the job's own name unless config names one.
    pub lock: String,
    pub timeout: Duration,
    /// `--yes` for the run: data-losing calls go ahead unattended.
    pub yes: bool,
    /// "header" (the script's `schedule:` line) or the config file.
    pub from: String,
    /// In the plan. A shipped script's `schedule:` line is a suggestion,
    /// except for the manual's three ([`MANUAL`]); a `[schedule.NAME]`
    /// entry, an operator's own script and a job named on the command
    /// line are in it.
    pub enabled: bool,
}

/// The jobs the operations manual itself schedules: the morning check at
/// 9:00, the backup at 2:00, the certificate check at 6:00.
pub const MANUAL: [&str; 3] = ["daily-check", "backup-db", "cert/check"];

impl Job {
    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.find(t, Direction::Next)
    }

    /// The newest slot at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.find(t, Direction::LatestSoFar)
    }

    /// `t` on the job's clock (its time zone, else the machine's), as text.
    pub fn local_text(&self, t: DateTime<Utc>, format: &str) -> String {
        match &self.timezone {
            Some(z) => t.with_timezone(&z.tz).format(format).to_string(),
            None => t.with_timezone(&chrono::Local).format(format).to_string(),
        }
    }

    /// Cron expressions are read on the job's clock: its time zone, else the machine's.
    fn find(&self, t: DateTime<Utc>, direction: Direction) -> Option<DateTime<Utc>> {
        fn on<Z: chrono::TimeZone>(cron: &Cron, t: DateTime<Z>, direction: Direction) -> Option<DateTime<Utc>>
        where
            DateTime<Z>: croner::CronDateTime,
        {
            let found = match direction {
                Direction::Next => cron.find_next_occurrence(&t, false),
                Direction::LatestSoFar => cron.find_previous_occurrence(&t, true),
            };
            found.ok().map(|d| d.with_timezone(&Utc))
        }
        match &self.timezone {
            Some(z) => on(&self.cron, t.with_timezone(&z.tz), direction),
            None => on(&self.cron, t.with_timezone(&chrono::Local), direction),
        }
    }

    pub fn has_seconds(&self) -> bool {
        self.cron_text.split_whitespace().count() == 6
    }

    /// The `runbook run …` arguments (after the binary and global flags).
    pub fn run_args(&self) -> Vec<String> {
        let mut a = vec!["run".to_string(), self.script.clone(), "--quiet".into()];
        for (k, v) in &self.args {
            a.push("--arg".into());
            a.push(format!("{k}={v}"));
        }
        a.push("--timeout".into());
        a.push(crate::duration::format(self.timeout));
        a.push("--lock".into());
        a.push(self.lock.clone());
        if self.yes {
            a.push("--yes".into());
        }
        if let Some(to) = &self.mail_to {
            a.push("--mail-to".into());
            a.push(to.clone());
            a.push("--mail-on".into());
            a.push(self.mail_on.unwrap_or_default().as_str().into());
        }
        a
    }
}

pub use crate::script::cron::parse_cron;

/// The jobs of the plan, in name order; `only` keeps the named ones, in
/// the plan or not (an unknown name is a usage error with the nearest one);
/// `all` adds the suggestions of shipped scripts that are not in the plan.
pub fn load(config: &Config, scripts: &ScriptPath, only: &[String], all: bool) -> Result<Vec<Job>, Failure> {
    let default_timeout = config.run_timeout();
    let listed = scripts.all();
    let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
    let bad_header = |name: &str, e: String| Failure::new(Exit::DataErr, format!("script `{name}`: {e}"));
    for s in &listed {
        let h = match header::parse(&s.source) {
            Ok(h) => h,
            // One bad `schedule:` line must not stop every other job:
            // that job is left out, and said so.
            Err(e) => {
                if s.source.lines().take_while(|l| l.starts_with("//")).any(|l| l.contains("schedule:")) {
                    crate::output::err(&format!(
                        "runbook schedule: `{}` is left out: line {} of its header: {}",
                        s.name, e.line, e.message
                    ));
                }
                continue;
            }
        };
        let Some(expr) = h.schedule else { continue };
        let cron = parse_cron(&expr).map_err(|e| bad_header(&s.name, format!("schedule: {e}")))?;
        jobs.insert(
            s.name.clone(),
            Job {
                name: s.name.clone(),
                script: s.name.clone(),
                summary: h.summary.clone(),
                cron_text: expr,
                cron,
                timezone: None,
                args: BTreeMap::new(),
                mail_to: None,
                mail_on: None,
                lock: s.name.clone(),
                timeout: default_timeout,
                yes: false,
                from: "header".into(),
                enabled: !matches!(s.origin, crate::script::Origin::Shipped) || MANUAL.contains(&s.name.as_str()),
            },
        );
    }
    let file = config.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "config".into());
    for (name, e) in &config.schedule {
        let key = |k: &str| format!("{file}: key `schedule.{name}{k}`");
        let bad = |k: &str, msg: String| Failure::new(Exit::Config, format!("{}: {msg}", key(k)));
        if e.enabled == Some(false) {
            // Kept for `--list --all`, which shows what was turned off.
            match jobs.get_mut(name) {
                Some(j) if all => {
                    j.enabled = false;
                    j.from = format!("{file}: enabled = false");
                }
                _ => {
                    jobs.remove(name);
                }
            }
            continue;
        }
        let script_name = e.script.clone().unwrap_or_else(|| name.clone());
        let script = scripts.find(&script_name).map_err(|f| {
            let mut err = bad(".script", f.message);
            err.help = f.help;
            err
        })?;
        let h = header::parse(&script.source).map_err(|err| bad(".script", format!("its header: {}", err.message)))?;
        let expr = match (&e.cron, &h.schedule) {
            (Some(c), _) => c.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(bad("", format!("no `cron`, and script `{script_name}` has no `schedule:` line"))
                    .with_help(format!("[schedule.{name}]\ncron = \"0 9 * * *\"")))
            }
        };
        let cron = parse_cron(&expr).map_err(|m| bad(".cron", m))?;
        let timezone = match &e.timezone {
            Some(z) => Some(Zone {
                name: z.clone(),
                tz: tzfile::ArcTz::named(z).map_err(|e| {
                    bad(
                        ".timezone",
                        format!(
                            "`{z}` is not a time zone of /usr/share/zoneinfo ({e}); e.g. \"Europe/Berlin\", \"UTC\""
                        ),
                    )
                })?,
            }),
            None => None,
        };
        let given: Vec<String> = e.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        crate::script::params::resolve(&h, &script.name, &given).map_err(|f| {
            let mut err = bad(".args", f.message);
            err.help = f.help;
            err
        })?;
        let timeout = e.timeout.as_ref().map(|t| t.value).unwrap_or(default_timeout);
        jobs.insert(
            name.clone(),
            Job {
                name: name.clone(),
                script: script.name.clone(),
                summary: h.summary.clone(),
                cron_text: expr,
                cron,
                timezone,
                args: e.args.clone(),
                mail_to: e.mail_to.clone(),
                mail_on: e.mail_on,
                lock: e.lock.clone().unwrap_or_else(|| name.clone()),
                timeout,
                yes: e.yes.unwrap_or(false),
                from: if e.cron.is_none() { format!("header and {file}") } else { file.clone() },
                enabled: true,
            },
        );
    }
    for o in only {
        if !jobs.contains_key(o) {
            let near = crate::suggest::DidYouMean::find(o, jobs.keys().map(|k| k.as_str()));
            return Err(Failure::usage(format!("no scheduled job `{o}`"))
                .with_help(crate::suggest::DidYouMean::then(near, "`runbook schedule --list` shows every job")));
        }
    }
    let turned_off = |j: &Job| j.from.ends_with("enabled = false");
    Ok(jobs
        .into_values()
        .filter(|j| if only.is_empty() { j.enabled || all } else { only.contains(&j.name) && !turned_off(j) })
        .collect())
}

/// Each name is a job of the plan (or a suggested one) or a script: a
/// silence for a typo would silence nothing.
pub fn check_names(config: &Config, scripts: &ScriptPath, names: &[String]) -> Result<(), Failure> {
    let jobs = load(config, scripts, &[], true)?;
    let listed = scripts.all();
    for n in names {
        if jobs.iter().any(|j| &j.name == n) || listed.iter().any(|s| &s.name == n) {
            continue;
        }
        let candidates = jobs.iter().map(|j| j.name.as_str()).chain(listed.iter().map(|s| s.name.as_str()));
        let near = crate::suggest::DidYouMean::find(n, candidates);
        return Err(Failure::usage(format!("no job or script `{n}` to snooze")).with_help(
            crate::suggest::DidYouMean::then(near, "`runbook schedule --list` and `runbook list` show them"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_fields_parse_and_others_say_why() {
        assert!(parse_cron("0 9 * * *").is_ok());
        assert!(parse_cron("* * * * * *").is_ok());
        assert!(parse_cron("@daily").is_ok());
        let e = parse_cron("0 9 * *").unwrap_err();
        assert!(e.contains("has 4 fields"), "{e}");
        let e = parse_cron("0 25 * * *").unwrap_err();
        assert_eq!(e, "`0 25 * * *` is not a cron expression: 25 is outside the hour field's 0-23");
        let e = parse_cron("*/10 61 * * * *").unwrap_err();
        assert_eq!(e, "`*/10 61 * * * *` is not a cron expression: 61 is outside the minute field's 0-59");
    }

    #[test]
    fn six_fields_are_seconds_first() {
        let cron = parse_cron("*/10 * * * * *").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:01Z").unwrap().with_timezone(&Utc);
        let next = cron.find_next_occurrence(&t, false).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-01T00:00:10+00:00");
    }
}
