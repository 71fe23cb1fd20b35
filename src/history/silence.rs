//! Silences: `runbook snooze 2h [JOB…]` and the maintenance window open
//! one. While it lasts, the runs it covers still happen and are recorded,
//! and are shown as in maintenance; their report mails are not sent, and
//! run health does not alarm on them. A silence lives in the history store,
//! so with a PostgreSQL history it holds for the whole fleet.
//!
//! "In maintenance" is read from the silences when runs are listed, not
//! written into each run: a run pays nothing for it, and a silence ended
//! early (`runbook snooze --end`) marks exactly the runs it covered.

use chrono::{DateTime, Utc};

/// The longest silence: one forgotten must not mute a job for good.
pub const LONGEST: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: i64,
    /// The jobs or scripts it covers; none: every one.
    pub names: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    /// Who opened it: `user@host`, or the script that did.
    pub by: String,
}

impl Silence {
    /// Whether a run of `script` (started as `job`, if the scheduler did) at `at` is inside it.
    pub fn covers(&self, script: &str, job: Option<&str>, at: DateTime<Utc>) -> bool {
        at >= self.starts_at
            && at < self.ends_at
            && (self.names.is_empty() || self.names.iter().any(|n| n == script || Some(n.as_str()) == job))
    }

    /// "every job" or "daily-check, backup-db".
    pub fn what(&self) -> String {
        if self.names.is_empty() {
            "every job".into()
        } else {
            self.names.join(", ")
        }
    }

    /// One line: `silence 4 (every job) until 2026-12-03 18:00 UTC: the reason`.
    pub fn describe(&self) -> String {
        let reason = if self.reason.is_empty() { String::new() } else { format!(": {}", self.reason) };
        format!("silence {} ({}) until {}{reason}", self.id, self.what(), self.ends_at.format("%Y-%m-%d %H:%M UTC"))
    }
}

/// A silence's length, checked: `Err` says why it is refused.
pub fn length(d: std::time::Duration, text: &str) -> Result<(), String> {
    if d.is_zero() || d > LONGEST {
        return Err(format!("snooze {text}: a silence lasts from 1s to 7d"));
    }
    Ok(())
}

/// `user@host`: who opened a silence on `host`.
pub fn who(host: &str) -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        // cron and systemd start jobs without USER: the name from /etc/passwd.
        std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| {
                p.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
                })
            })
            .unwrap_or_else(|| format!("uid {uid}"))
    });
    format!("{user}@{host}")
}

/// The first of `silences` that covers the run.
pub fn covering<'a>(
    silences: &'a [Silence],
    script: &str,
    job: Option<&str>,
    at: DateTime<Utc>,
) -> Option<&'a Silence> {
    silences.iter().find(|s| s.covers(script, job, at))
}

/// The names as stored: a JSON array.
pub(super) fn names_text(names: &[String]) -> String {
    serde_json::to_string(names).unwrap_or_else(|_| "[]".into())
}

pub(super) fn names_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_covers_its_names_inside_its_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let s = Silence {
            id: 1,
            names: vec!["backup-db".into(), "nightly".into()],
            starts_at: t("2026-12-03T10:00:00Z"),
            ends_at: t("2026-12-03T12:00:00Z"),
            reason: "disk swap".into(),
            by: "ops@web1".into(),
        };
        assert!(s.covers("backup-db", None, t("2026-12-03T10:00:00Z")));
        assert!(s.covers("other", Some("nightly"), t("2026-12-03T11:59:59Z")));
        assert!(!s.covers("backup-db", None, t("2026-12-03T12:00:00Z")));
        assert!(!s.covers("backup-db", None, t("2026-12-03T09:59:59Z")));
        assert!(!s.covers("daily-check", Some("daily-check"), t("2026-12-03T11:00:00Z")));
        let all = Silence { names: vec![], ..s.clone() };
        assert!(all.covers("daily-check", None, t("2026-12-03T11:00:00Z")));
        assert_eq!(s.describe(), "silence 1 (backup-db, nightly) until 2026-12-03 12:00 UTC: disk swap");
        assert_eq!(names_of(&names_text(&s.names)), s.names);
    }
}
