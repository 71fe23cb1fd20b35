//! What runbook finds implicitly in the current folder (`./runbook.toml`,
//! `./scripts`, `./stdlib`) it runs as the operator, often as root: it is
//! refused when another user could have planted or changed it, as git's
//! `safe.directory` and Ansible's world-writable-cwd rule refuse. Naming
//! the same path explicitly (`--config`, `--scripts-dir`, `$RUNBOOK_STDLIB`)
//! is the override.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Why `path` cannot be trusted, or `None` when it is the operator's (or
/// root's) and only they can change it.
pub fn untrusted(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me && m.uid() != 0 {
        return Some(format!("is owned by another user (uid {}), not you (uid {me})", m.uid()));
    }
    if m.mode() & 0o002 != 0 {
        return Some("can be changed by every user (it is world-writable)".into());
    }
    let parent = std::fs::canonicalize(path).ok()?.parent()?.to_path_buf();
    let pm = std::fs::metadata(&parent).ok()?;
    // A world-writable folder without the sticky bit lets anyone replace
    // what is in it; with it (/tmp), only the owner can.
    if pm.mode() & 0o002 != 0 && pm.mode() & 0o1000 == 0 {
        return Some(format!("is in {}, which every user can write to", parent.display()));
    }
    None
}

/// Whether a folder of `dirs` other than the implicit one names the same
/// folder: then it was named, and naming it is the override.
pub fn named(dirs: &[std::path::PathBuf], implicit: &Path) -> bool {
    let Ok(target) = implicit.canonicalize() else { return false };
    dirs.iter().any(|d| d != implicit && d.canonicalize().is_ok_and(|c| c == target))
}

/// The refusal for an implicitly found `path`, naming the explicit way.
pub fn check(path: &Path, what: &str, explicit: &str) -> Result<(), crate::exit::Failure> {
    match untrusted(path) {
        None => Ok(()),
        Some(why) => Err(crate::exit::Failure::config(format!(
            "./{} {why}: runbook does not take {what} from the current folder that someone else could have planted",
            path.display()
        ))
        .with_help(format!("if you trust it, name it explicitly: {explicit}"))),
    }
}
