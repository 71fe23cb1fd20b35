//! `state`: small results a script keeps between runs (last month's
//! performance baseline, the previous backup's size), as JSON files in the
//! state folder. Names are checked so that none can lead outside it; writes
//! are atomic, so a crash never leaves half a result for the next run.

use std::path::PathBuf;

use rhai::plugin::*;

use crate::host::{error, HostResult};

/// The state folder of this run (see `crate::layout`).
pub fn dir() -> PathBuf {
    crate::layout::state_dir(&crate::engine::context::ctx().config)
}

/// `name` as a file in the state folder: segments of letters, digits,
/// `-`, `_` and `.` separated by `/`, none of them `.` or `..`.
fn file(func: &str, name: &str) -> HostResult<PathBuf> {
    let ok = !name.is_empty()
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if !ok {
        return Err(error(
            func,
            format!("bad state name `{name}`: use letters, digits, `-`, `_`, `.` and `/` between parts, e.g. \"performance-baseline/2026-11\""),
        ));
    }
    Ok(dir().join(format!("{name}.json")))
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod state_functions {
    use rhai::{Array, Dynamic};

    use super::file;
    use crate::engine::guard;
    use crate::host::convert::{from_json, to_json};
    use crate::host::{error, HostResult};

    /// The value last saved under `name`, or `()` when there is none.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// state::save("doc-example/counter", #{runs: 1});
    /// assert(state::load("doc-example/counter").runs == 1, "kept");
    /// assert(state::load("doc-example/never-saved") == (), "nothing yet");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn load(name: &str) -> HostResult<Dynamic> {
        let path = file("state::load", name)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Dynamic::UNIT),
            Err(e) => return Err(error("state::load", format!("{}: {e}", path.display()))),
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            error("state::load", format!("{}: not JSON ({e}); remove it to start afresh", path.display()))
        })?;
        Ok(from_json(v))
    }

    /// Save `value` (a map, array, string or number) under `name`,
    /// replacing what was there; atomic (temp file, then rename).
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn save(name: &str, value: Dynamic) -> HostResult<()> {
        let path = file("state::save", name)?;
        if !guard::mutating(|| format!("save state `{name}` to {}", path.display())) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| error("state::save", format!("cannot create {}: {e}", parent.display())))?;
        }
        let text = serde_json::to_string_pretty(&to_json(&value)).unwrap_or_default() + "\n";
        crate::output::write_atomic(&path, text.as_bytes(), crate::output::mode::PRIVATE)
            .map_err(|e| error("state::save", format!("{}: {e}", path.display())))
    }

    /// The names saved under `prefix` ("performance-baseline"), sorted;
    /// `""` lists them all.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// state::save("doc-example/2026-10", 1);
    /// state::save("doc-example/2026-11", 2);
    /// let names = state::list("doc-example");
    /// assert(names.contains("doc-example/2026-10") && names.contains("doc-example/2026-11"), "both");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn list(prefix: &str) -> HostResult<Array> {
        let root = super::dir();
        let base = if prefix.is_empty() { root.clone() } else { file("state::list", prefix)?.with_extension("") };
        let mut names = Vec::new();
        let mut stack = vec![base];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    if let Ok(rel) = p.with_extension("").strip_prefix(&root) {
                        names.push(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
        }
        names.sort();
        Ok(names.into_iter().map(Dynamic::from).collect())
    }

    /// The state folder in use.
    ///
    /// *read-only*
    pub fn dir() -> String {
        super::dir().display().to_string()
    }
}
