//! Operating beneath an opened root (cap-std, openat-style). [`confine`]
//! checks a path once; everything that then reads, writes or removes goes
//! through the root folder opened as a handle and resolves the path again
//! beneath it, so a folder swapped for a symlink after the check cannot
//! move the operation out of `[fs] roots`.
//!
//! [`confine`]: super::confine

use std::io;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use crate::host::{error, HostResult};

/// The root `resolved` (a path [`super::confine`] returned) lies in,
/// opened, and the path relative to it.
fn opened_root(resolved: &Path) -> io::Result<(Dir, PathBuf)> {
    let roots: Vec<PathBuf> =
        crate::engine::context::ctx().config.fs.roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    let root =
        roots.iter().filter(|r| resolved.starts_with(r)).max_by_key(|r| r.as_os_str().len()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::PermissionDenied, "it is outside the allowed roots ([fs] roots)")
        })?;
    let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
    // The root itself is ".": cap-std refuses an empty path.
    let rel = match resolved.strip_prefix(root) {
        Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, rel))
}

/// [`opened_root`] for a host function: the error names the function.
pub fn beneath(func: &str, resolved: &Path) -> HostResult<(Dir, PathBuf)> {
    opened_root(resolved).map_err(|e| error(func, format!("{}: {e}", resolved.display())))
}

/// Why cap-std refused, in our words: a refusal to leave the root most
/// likely means a folder on the way was swapped for a link.
fn explain(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied && e.to_string().contains("outside of the filesystem") {
        io::Error::new(e.kind(), format!("{e} (did a folder on the way change into a link out of [fs] roots?)"))
    } else {
        e
    }
}

/// The error of a host function whose operation beneath the root failed.
pub fn escaped(func: &str, path: &Path, e: io::Error) -> Box<rhai::EvalAltResult> {
    error(func, format!("{}: {}", path.display(), explain(e)))
}

/// Open a confined file for reading, through its opened root: the drop-in
/// for `File::open` everywhere a script named the path.
pub fn open_beneath(resolved: &Path) -> io::Result<std::fs::File> {
    let (root, rel) = opened_root(resolved)?;
    root.open(&rel).map(|f| f.into_std()).map_err(explain)
}

/// The folder a confined path names a file in, opened beneath its root,
/// and the file's name: a file created in this handle, and renamed within
/// it, stays where the check put it however long the writing takes.
pub fn folder_beneath(resolved: &Path) -> io::Result<(Dir, PathBuf)> {
    let (root, rel) = opened_root(resolved)?;
    let name = rel
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match rel.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => root.open_dir(d).map_err(explain)?,
        None => root,
    };
    Ok((dir, name))
}

/// A temporary file in an opened folder: created exclusively (a link
/// planted at its name is never followed) under an unpredictable name, with
/// a deliberate mode; renamed onto its target by [`TempIn::persist`], or
/// removed when dropped.
pub struct TempIn {
    dir: Dir,
    name: Option<String>,
}

impl TempIn {
    pub fn create(dir: Dir, target: &Path, suffix: &str, mode: u32) -> io::Result<(std::fs::File, TempIn)> {
        use cap_std::fs::OpenOptionsExt;
        use std::hash::{BuildHasher, Hasher};
        let mut last = None;
        for _ in 0..8 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
            );
            let name = format!(".{}.{:016x}{suffix}", target.display(), h.finish());
            match dir.open_with(&name, cap_std::fs::OpenOptions::new().write(true).create_new(true).mode(mode)) {
                Ok(f) => {
                    let file = f.into_std();
                    // The mode asked for, whatever the umask.
                    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
                    return Ok((file, TempIn { dir, name: Some(name) }));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(explain(e)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary name was free")))
    }

    /// Rename onto `target` in the same opened folder.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        let name = self.name.take().ok_or_else(|| io::Error::other("already persisted"))?;
        let result = self.dir.rename(&name, &self.dir, target);
        if result.is_err() {
            let _ = self.dir.remove_file(&name);
        }
        result
    }
}

impl Drop for TempIn {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let _ = self.dir.remove_file(&name);
        }
    }
}
