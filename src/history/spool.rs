//! The history's spool: where a finished run leaves its record, one small
//! JSON file, for the store to take in later.
//!
//! Why: opening SQLite, committing and checkpointing its WAL costs a run
//! 2–4 ms of fsyncs, which is most of a short script's start-up. A file
//! written beside the store costs a tenth of a millisecond. Whoever reads
//! the history (`runbook history`, `history::` in scripts, the scheduler
//! after each run) first moves the spool into the store, so no reader ever
//! sees it behind; a run that finds the spool full moves it itself, so a
//! history nobody reads still stays small. The same spool keeps the record
//! of a run whose PostgreSQL history could not be reached, until it can.
//!
//! Each file is named by its run's start, so runs enter the store in the
//! order they started. Taking in is under an flock; each file's name goes
//! in with its row (`spool_key`, unique), so a crash between the commit
//! and the delete never records a run twice.

use std::path::{Path, PathBuf};

use super::Run;

/// A run that finds this many records waiting moves them into the store.
pub const FLUSH_AT: usize = 32;

pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// The spool of the state folder `[run] state_dir` names.
    pub fn of(config: &crate::config::Config) -> Spool {
        Spool { dir: crate::layout::history_spool(config) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Leave `run` in the spool; how many records now wait there.
    pub fn put(&self, run: &Run) -> Result<usize, String> {
        let fail = |e: &dyn std::fmt::Display| format!("history spool {}: {e}", self.dir.display());
        let now = chrono::Utc::now();
        let name = format!(
            "{}-{}-{:09}.json",
            run.started_at.format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id(),
            now.timestamp_subsec_nanos()
        );
        let json = serde_json::to_vec(run).map_err(|e| fail(&e))?;
        let path = self.dir.join(name);
        // The folder is made by the first run only, not looked for by every run.
        let written = match crate::output::write_atomic_unsynced(&path, &json) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir).and_then(|_| crate::output::write_atomic_unsynced(&path, &json))
            }
            other => other,
        };
        written.map_err(|e| fail(&e))?;
        Ok(self.waiting().map_err(|e| fail(&e))?.len())
    }

    /// The records waiting, oldest first, by file name.
    fn waiting(&self) -> std::io::Result<Vec<String>> {
        let mut names = vec![];
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            // Dot files are records still being written (and the lock).
            if name.ends_with(".json") && !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Hand every waiting record to `insert` (with its file name as the
    /// key), oldest first, deleting each once it is in. Stops at the first
    /// record the store refuses; the rest wait for the next time. A file
    /// that is not a record (left empty by a power cut) is moved to
    /// `unreadable/` and said on stderr. Returns how many went in.
    pub fn drain(&self, mut insert: impl FnMut(&str, &Run) -> Result<(), String>) -> Result<usize, String> {
        if !self.dir.is_dir() {
            return Ok(0);
        }
        let fail = |e: &dyn std::fmt::Display| format!("history spool {}: {e}", self.dir.display());
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))
            .map_err(|e| fail(&e))?;
        crate::flock::exclusive(&lock, true).map_err(|e| fail(&e))?;
        let mut moved = 0;
        for name in self.waiting().map_err(|e| fail(&e))? {
            let path = self.dir.join(&name);
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                // Taken in by another process between the listing and now.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(&format_args!("{name}: {e}"))),
            };
            match serde_json::from_slice::<Run>(&text) {
                Ok(run) => {
                    insert(&name, &run)?;
                    std::fs::remove_file(&path).map_err(|e| fail(&format_args!("{name}: {e}")))?;
                    moved += 1;
                }
                Err(e) => {
                    let aside = self.dir.join("unreadable");
                    let _ = std::fs::create_dir_all(&aside);
                    let _ = std::fs::rename(&path, aside.join(&name));
                    crate::output::err(&format!(
                        "runbook: history spool: {name} is not a run record ({e}); moved to {}",
                        aside.display()
                    ));
                }
            }
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str, at: &str) -> Run {
        Run {
            script: script.into(),
            params: "{}".into(),
            host: "h".into(),
            started_at: super::super::parse_stamp(at).unwrap(),
            duration_ms: 1,
            status: "OK".into(),
            exit_code: 0,
            dry_run: false,
            job: None,
            slot: None,
            target: None,
            report_json: "{}".into(),
            report_text: String::new(),
        }
    }

    #[test]
    fn records_come_out_oldest_first_once_and_a_refused_one_waits() {
        let dir = std::env::temp_dir().join(format!("runbook-spool-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool { dir: dir.clone() };
        assert_eq!(spool.put(&run("b", "2026-01-02T00:00:00Z")).unwrap(), 1);
        assert_eq!(spool.put(&run("a", "2026-01-01T00:00:00Z")).unwrap(), 2);
        assert_eq!(spool.put(&run("c", "2026-01-03T00:00:00Z")).unwrap(), 3);
        std::fs::write(dir.join("20260104T000000.000Z-1-000000000.json"), "").unwrap();

        // The store refuses the second record: the first is in and gone, the rest wait.
        let mut seen = vec![];
        let err = spool
            .drain(|_, r| {
                if r.script == "b" {
                    return Err("refused".into());
                }
                seen.push(r.script.clone());
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err, "refused");
        assert_eq!(seen, ["a"]);

        let mut keys = vec![];
        let taken = spool.drain(|k, r| {
            keys.push((k.to_string(), r.script.clone()));
            Ok(())
        });
        assert_eq!(taken.unwrap(), 2);
        assert_eq!(keys.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert!(keys[0].0.starts_with("20260102T000000.000Z-"), "{keys:?}");
        assert!(dir.join("unreadable/20260104T000000.000Z-1-000000000.json").exists());
        assert_eq!(spool.drain(|_, _| panic!("nothing is left")).unwrap(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
