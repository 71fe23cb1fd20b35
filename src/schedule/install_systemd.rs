//! `runbook schedule --install systemd` and `--uninstall systemd`: the
//! plan as a .service and a .timer per job in a unit folder, each file
//! marked as runbook's (`export::UNIT_MARK`). An install writes what
//! changed, removes runbook's units of jobs no longer in the plan and
//! never touches a file it did not write; an uninstall removes exactly
//! runbook's files. Then `systemctl` reloads and enables the timers —
//! unless `--unit-dir` named the folder, which leaves enabling to whoever
//! owns that folder (an image build, a package).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::export::UNIT_MARK;

/// Where units go: /etc/systemd/system as root, else the user's own
/// ($XDG_CONFIG_HOME/systemd/user, ~/.config/systemd/user).
pub fn default_dir() -> Result<(PathBuf, bool), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Ok((PathBuf::from("/etc/systemd/system"), false));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or("neither XDG_CONFIG_HOME nor HOME is set: give --unit-dir")?;
    Ok((base.join("systemd/user"), true))
}

/// What an install or uninstall did.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

/// A regular file (never through a symlink, never a FIFO) whose first line is the mark.
fn is_ours(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
        && std::fs::read_to_string(path).is_ok_and(|t| t.lines().next() == Some(UNIT_MARK))
}

/// runbook's unit files in `dir`, by name.
fn ours(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("runbook-") && (n.ends_with(".service") || n.ends_with(".timer")))
        .filter(|n| is_ours(&dir.join(n)))
        .collect();
    found.sort();
    found
}

/// runbook's units in `dir` that `units` no longer has: what `apply` removes.
pub fn stale(dir: &Path, units: &[(String, String)]) -> Vec<String> {
    ours(dir).into_iter().filter(|n| !units.iter().any(|(u, _)| u == n)).collect()
}

/// Put `units` in `dir` (none: remove runbook's). Refuses, before writing
/// anything, when a file of the same name is someone else's.
pub fn apply(dir: &Path, units: &[(String, String)]) -> Result<Changes, String> {
    let fail = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    for (name, _) in units {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok() && !is_ours(&path) {
            return Err(format!(
                "{} exists and was not written by runbook: move it away, or give --unit-dir another folder",
                path.display()
            ));
        }
    }
    let mut changes = Changes::default();
    if !units.is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    for (name, text) in units {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|t| &t == text) {
            changes.unchanged.push(name.clone());
            continue;
        }
        crate::output::write_atomic(&path, text.as_bytes(), crate::output::mode::PUBLIC).map_err(|e| fail(&path, e))?;
        changes.written.push(name.clone());
    }
    for name in stale(dir, units) {
        let path = dir.join(&name);
        std::fs::remove_file(&path).map_err(|e| fail(&path, e))?;
        changes.removed.push(name);
    }
    Ok(changes)
}

/// `systemctl [--user] ARGS`, its error in words.
pub fn systemctl(user: bool, args: &[&str]) -> Result<(), String> {
    let mut c = Command::new("systemctl");
    if user {
        c.arg("--user");
    }
    let shown = format!("systemctl {}{}", if user { "--user " } else { "" }, args.join(" "));
    let out = c.args(args).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no `systemctl` on PATH: is this a systemd machine?".to_string(),
        _ => format!("{shown}: {e}"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{shown}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_replaces_its_own_files_and_never_anothers() {
        let dir = std::env::temp_dir().join(format!("runbook-units-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let unit = |n: &str, body: &str| (n.to_string(), format!("{UNIT_MARK}\n{body}\n"));
        let first = [unit("runbook-a.timer", "a"), unit("runbook-b.timer", "b")];
        let c = apply(&dir, &first).unwrap();
        assert_eq!(c.written, ["runbook-a.timer", "runbook-b.timer"]);
        let second = [unit("runbook-a.timer", "a2")];
        std::fs::write(dir.join("runbook-mine.timer"), "[Timer]\n").unwrap();
        let c = apply(&dir, &second).unwrap();
        assert_eq!(
            c,
            Changes {
                written: vec!["runbook-a.timer".into()],
                unchanged: vec![],
                removed: vec!["runbook-b.timer".into()]
            }
        );
        let clash = [unit("runbook-mine.timer", "x")];
        let e = apply(&dir, &clash).unwrap_err();
        assert!(e.contains("runbook-mine.timer exists and was not written by runbook"), "{e}");
        let c = apply(&dir, &[]).unwrap();
        assert_eq!(c.removed, ["runbook-a.timer"]);
        assert!(dir.join("runbook-mine.timer").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
