//! Scripts: where they are found (local folders, then those compiled into
//! the binary), what their header declares, and how `--arg`s become params.

pub mod cron;
pub mod header;
pub mod lookup;
pub mod params;

pub use header::Header;
pub use lookup::{set_flag_dir, Origin, Script, ScriptPath};
