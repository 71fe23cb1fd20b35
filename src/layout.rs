//! Where runbook keeps its files: the one place that knows the state
//! folder's layout. Everything else asks here, so `[run] state_dir` moves
//! all of it at once (the REPL's line history ignored it before).
//!
//! ```text
//! STATE/                      [run] state_dir, else $XDG_STATE_HOME/runbook,
//!                             else ~/.local/state/runbook
//!   history.sqlite            the run history, when [history] url is unset
//!   history-spool/            runs not yet written to a PostgreSQL history
//!   locks/NAME.lock           `runbook run --lock`
//!   last-status/NAME.txt      the previous status, for `--mail-on change`
//!   history                   the REPL's lines (the name it always had)
//!   NAME.json                 `state::save` values (any depth of folders)
//! ```

use std::path::PathBuf;

use crate::config::Config;

/// The state folder.
pub fn state_dir(config: &Config) -> PathBuf {
    if let Some(d) = &config.run.state_dir {
        return d.clone();
    }
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x).join("runbook"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".local/state/runbook"),
    }
}

/// The SQLite run history.
pub fn history_sqlite(config: &Config) -> PathBuf {
    state_dir(config).join("history.sqlite")
}

/// Runs waiting for a PostgreSQL history that was unreachable.
pub fn history_spool(config: &Config) -> PathBuf {
    state_dir(config).join("history-spool")
}

/// The lock file of `runbook run --lock NAME`.
pub fn lock_file(config: &Config, name: &str) -> PathBuf {
    state_dir(config).join("locks").join(format!("{}.lock", file_name(name)))
}

/// Where the previous status of `script` is kept.
pub fn last_status(config: &Config, script: &str) -> PathBuf {
    state_dir(config).join("last-status").join(format!("{}.txt", file_name(script)))
}

/// The REPL's line history.
pub fn repl_history(config: &Config) -> PathBuf {
    state_dir(config).join("history")
}

/// A script's or a lock's name ("weekly/db-maintenance") as one file name:
/// letters, digits, `-`, `_` and `.` kept, anything else `-`.
pub fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_moves_with_state_dir() {
        let mut config = Config::default();
        config.run.state_dir = Some(PathBuf::from("/srv/rb"));
        let all = [
            history_sqlite(&config),
            history_spool(&config),
            lock_file(&config, "weekly/db-maintenance"),
            last_status(&config, "weekly/db-maintenance"),
            repl_history(&config),
        ];
        let shown: Vec<String> = all.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            shown,
            [
                "/srv/rb/history.sqlite",
                "/srv/rb/history-spool",
                "/srv/rb/locks/weekly-db-maintenance.lock",
                "/srv/rb/last-status/weekly-db-maintenance.txt",
                "/srv/rb/history",
            ]
        );
    }
}
