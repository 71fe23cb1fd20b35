//! `fs`: files, but only inside the folders `[fs] roots` lists. A path is
//! resolved (`..` and symlinks included) before it is checked, so neither
//! can lead outside. Writes are atomic; removal is data-losing.

use std::path::{Component, Path, PathBuf};

use rhai::plugin::*;

use crate::host::{error, HostResult};

mod beneath;
pub use beneath::{beneath, escaped, folder_beneath, open_beneath, TempIn};

/// The canonical form of `path`, or an error when it is outside the roots.
/// A path that does not exist yet is checked through its parent folder.
pub fn confine(func: &str, path: &str) -> HostResult<PathBuf> {
    let roots: Vec<PathBuf> =
        crate::engine::context::ctx().config.fs.roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    if roots.is_empty() {
        return Err(error(
            func,
            format!("{path}: no file access is allowed (add the folder to [fs] roots in runbook.toml)"),
        ));
    }
    let p = Path::new(path);
    let abs =
        if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map_err(|e| error(func, e))?.join(p) };
    let resolved = match abs.canonicalize() {
        Ok(c) => c,
        Err(_) => {
            let name =
                abs.file_name().filter(|n| !matches!(Path::new(n).components().next(), Some(Component::ParentDir)));
            let parent = abs.parent().and_then(|d| d.canonicalize().ok());
            match (parent, name) {
                (Some(parent), Some(name)) => parent.join(name),
                _ => return Err(error(func, format!("{path}: its folder does not exist"))),
            }
        }
    };
    if roots.iter().any(|r| resolved.starts_with(r)) {
        Ok(resolved)
    } else {
        let list = roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ");
        Err(error(
            func,
            format!("{path} is outside the allowed roots ({list}); add its folder to [fs] roots in runbook.toml to allow it"),
        ))
    }
}

/// A whole confined file as text, read through its opened root, up to
/// `[limits] max_file`.
fn read_whole(func: &str, path: &str) -> HostResult<String> {
    let p = confine(func, path)?;
    let (root, rel) = beneath(func, &p)?;
    let mut file = root.open(&rel).map_err(|e| escaped(func, &p, e))?;
    // Whole files only up to `max_file`: a 1 GB file took 3.1 GB as lines.
    let max = crate::engine::context::ctx().config.limits.max_file;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > max as u64 {
        return Err(error(
            func,
            format!(
                "{path}: {}",
                crate::host::too_large(
                    &format!("the file ({})", crate::report::text::human_bytes(size as i64)),
                    "max_file",
                    max,
                    "read it in parts with logs::tail, logs::grep or logs::count, which stream"
                )
            ),
        ));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| escaped(func, &p, e))?;
    Ok(text)
}

/// The SHA-256 of a confined file, read through its opened root in
/// blocks; the run's deadline and Ctrl-C stop it between blocks.
fn hash_file(func: &str, path: &str) -> HostResult<String> {
    use sha2::Digest;
    let p = confine(func, path)?;
    let (root, rel) = beneath(func, &p)?;
    let mut file = root.open(&rel).map_err(|e| escaped(func, &p, e))?;
    let mut hash = sha2::Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        if let Some(token) = crate::engine::context::ctx().interruption() {
            return Err(crate::engine::runtime::terminated(token));
        }
        match std::io::Read::read(&mut file, &mut block) {
            Ok(0) => break,
            Ok(n) => hash.update(&block[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(escaped(func, &p, e)),
        }
    }
    Ok(format!("{:x}", hash.finalize()))
}

/// Glob matches, each confined (a symlink inside a root may point out;
/// such a match is left out, with a note in the report).
pub fn confined_glob(func: &str, pattern: &str) -> HostResult<Vec<PathBuf>> {
    let base: String = pattern.split(['*', '?', '[']).next().unwrap_or("").to_string();
    let base_dir = match base.rfind('/') {
        Some(i) => &base[..i.max(1)],
        None => ".",
    };
    confine(func, base_dir)?;
    let paths = glob::glob(pattern).map_err(|e| error(func, format!("bad pattern `{pattern}`: {e}")))?;
    let mut out = Vec::new();
    for p in paths.flatten() {
        let s = p.display().to_string();
        // A link planted to point out of a root is skipped with a note: it
        // must not make a whole listing or a backup expiry fail.
        match confine(func, &s) {
            Ok(_) => out.push(p),
            Err(_) => crate::report::print_line(&format!("note: {func} skipped {s}: it leads outside [fs] roots")),
        }
    }
    out.sort();
    Ok(out)
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod fs_functions {
    use std::time::SystemTime;

    use rhai::{Array, Dynamic, Map, INT};

    use super::{beneath, confine, confined_glob, escaped};
    use crate::engine::guard;
    use crate::host::time::{Span, Timestamp};
    use crate::host::{error, HostResult};

    /// Whether `path` exists (inside the roots).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-example.txt", "hello\nworld\n");
    /// assert(fs::exists("/tmp/runbook-doc-example.txt"), "written");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exists(path: &str) -> HostResult<bool> {
        let p = confine("fs::exists", path)?;
        let (root, rel) = beneath("fs::exists", &p)?;
        match root.metadata(&rel) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(escaped("fs::exists", &p, e)),
        }
    }

    /// `#{path, size, modified, age, is_dir, is_file}` of a file or folder.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-example.txt", "hello\n");
    /// let s = fs::stat("/tmp/runbook-doc-example.txt");
    /// assert(s.size == 6 && s.is_file && s.age < "1m", "fresh and small");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn stat(path: &str) -> HostResult<Map> {
        let p = confine("fs::stat", path)?;
        let (root, rel) = beneath("fs::stat", &p)?;
        let md = root.metadata(&rel).map_err(|e| escaped("fs::stat", &p, e))?;
        let modified = md.modified().map(|t| t.into_std()).unwrap_or(SystemTime::UNIX_EPOCH);
        let modified: chrono::DateTime<chrono::Utc> = modified.into();
        let mut m = Map::new();
        m.insert("path".into(), Dynamic::from(p.display().to_string()));
        m.insert("size".into(), Dynamic::from_int(md.len() as INT));
        m.insert("modified".into(), Dynamic::from(Timestamp(modified)));
        m.insert(
            "age".into(),
            Dynamic::from(Span::from_micros((chrono::Utc::now() - modified).num_microseconds().unwrap_or(i64::MAX))),
        );
        m.insert("is_dir".into(), Dynamic::from_bool(md.is_dir()));
        m.insert("is_file".into(), Dynamic::from_bool(md.is_file()));
        Ok(m)
    }

    /// The SHA-256 of a file's bytes, in hex (what `sha256sum` prints),
    /// read in blocks: a backup of any size takes no memory. Compare it with
    /// the `sha256` that `pg::dump` returned when the file was written.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-example.txt", "hello\n");
    /// let hex = fs::sha256("/tmp/runbook-doc-example.txt");
    /// assert(hex == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "sha256sum agrees");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sha256(path: &str) -> HostResult<String> {
        super::hash_file("fs::sha256", path)
    }

    /// Paths matching a glob such as "/opt/civicq/backups/db/*.sql.gz",
    /// sorted.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-example.txt", "x");
    /// assert(fs::list("/tmp/runbook-doc-*.txt").contains("/tmp/runbook-doc-example.txt"), "listed");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn list(pattern: &str) -> HostResult<Array> {
        Ok(confined_glob("fs::list", pattern)?.into_iter().map(|p| Dynamic::from(p.display().to_string())).collect())
    }

    /// The whole file as text (it must be UTF-8).
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn read_text(path: &str) -> HostResult<String> {
        super::read_whole("fs::read_text", path)
    }

    /// The file's lines, without their line endings.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-example.txt", "a\nb\n");
    /// assert(fs::lines("/tmp/runbook-doc-example.txt") == ["a", "b"], "two lines");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn lines(path: &str) -> HostResult<Array> {
        Ok(super::read_whole("fs::lines", path)?.lines().map(|l| Dynamic::from(l.to_string())).collect())
    }

    /// Write `text` to `path`, atomically (temp file, then rename), so a
    /// reader never sees half a file.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn write_text(path: &str, text: &str) -> HostResult<()> {
        let p = confine("fs::write_text", path)?;
        if !guard::mutating(|| format!("write {} bytes to {}", text.len(), p.display())) {
            return Ok(());
        }
        // Created in the folder opened beneath the root, renamed there.
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let (dir, name) = super::folder_beneath(&p)?;
            let (mut file, tmp) = super::TempIn::create(dir, &name, ".tmp", crate::output::mode::GROUP)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            tmp.persist(&name)
        };
        write().map_err(|e| escaped("fs::write_text", &p, e))
    }

    /// Create a folder and its parents.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn mkdir(path: &str) -> HostResult<()> {
        let p = confine("fs::mkdir", path)?;
        if p.is_dir() || !guard::mutating(|| format!("create folder {}", p.display())) {
            return Ok(());
        }
        let (root, rel) = beneath("fs::mkdir", &p)?;
        root.create_dir_all(&rel).map_err(|e| escaped("fs::mkdir", &p, e))
    }

    /// Remove a file (not a folder).
    ///
    /// *data-losing*
    #[rhai_fn(return_raw)]
    pub fn remove(path: &str) -> HostResult<()> {
        let p = confine("fs::remove", path)?;
        if !p.exists() {
            return Err(error("fs::remove", format!("{path} does not exist")));
        }
        if p.is_dir() {
            return Err(error("fs::remove", format!("{path} is a folder; fs::remove only removes files")));
        }
        if !guard::data_losing("fs::remove", || format!("remove {}", p.display()))? {
            return Ok(());
        }
        // Through the opened root: the prompt may have waited a while.
        let (root, rel) = beneath("fs::remove", &p)?;
        root.remove_file(&rel).map_err(|e| escaped("fs::remove", &p, e))
    }

    /// As `fs::remove_older_than(pattern, "30d")`, with a `Duration`.
    ///
    /// *data-losing*
    #[rhai_fn(name = "remove_older_than", return_raw)]
    pub fn remove_older_than_span(pattern: &str, age: crate::host::time::Span) -> HostResult<Array> {
        remove_older_than(pattern, &age.to_string())
    }

    /// Remove the files matching `pattern` that were last modified more
    /// than `age` ago ("30d"); returns the paths removed (under
    /// `--dry-run`, the paths that would be).
    ///
    /// *data-losing*
    #[rhai_fn(return_raw)]
    pub fn remove_older_than(pattern: &str, age: &str) -> HostResult<Array> {
        let age = crate::duration::parse(age).map_err(|e| error("fs::remove_older_than", e))?;
        let now = SystemTime::now();
        // Files only, never a link: a link's age is its target's, and
        // removing it is not what expiry is for.
        let old: Vec<_> = confined_glob("fs::remove_older_than", pattern)?
            .into_iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            .filter(|p| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > age)
            })
            .collect();
        let removed: Array = old.iter().map(|p| Dynamic::from(p.display().to_string())).collect();
        if old.is_empty() {
            return Ok(removed);
        }
        let listing = old.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        if !guard::data_losing("fs::remove_older_than", || {
            format!("remove {} file(s) older than {}: {listing}", old.len(), crate::duration::format(age))
        })? {
            return Ok(removed);
        }
        // Through the opened root, each path resolved again beneath it: a
        // folder swapped for a link during the prompt moves nothing out.
        for p in &old {
            let (root, rel) = beneath(
                "fs::remove_older_than",
                &confine("fs::remove_older_than", &p.display().to_string()).unwrap_or_else(|_| p.clone()),
            )?;
            root.remove_file(&rel).map_err(|e| escaped("fs::remove_older_than", p, e))?;
        }
        Ok(removed)
    }
}
