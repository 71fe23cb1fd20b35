//! Command-line definitions only; behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Operations procedures as safe, fast, tested scripts";

const LONG_ABOUT: &str = "\
runbook runs operations procedures written in Rhai: the morning check, backups,
certificate checks, database maintenance. Scripts reach systems only through
host functions that are read-only, mutating (honour --dry-run) or data-losing
(also need --yes), and every secret is masked in everything runbook writes.";

const EXAMPLES: &str = "\
Examples:
  runbook list                                   every script, shipped and local
  runbook run system-resources                   run one, report on the terminal
  runbook run system-resources --format nagios   as a monitoring plugin
  runbook run daily-check --arg project=civicq --json
  runbook run NAME --help                        what a script does and takes
  runbook eject system-resources                 copy it to ./scripts to edit
  runbook doc sys::disk                          the reference of a host function

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (script failed),
            64 usage, 65 script or header invalid, 78 config invalid.";

#[derive(Debug, Parser)]
#[command(name = "runbook", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The config file (default: $RUNBOOK_CONFIG, ./runbook.toml,
    /// ~/.config/runbook/runbook.toml, /etc/runbook/runbook.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A folder searched for scripts before the shipped ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a script by NAME (local scripts first, then shipped) or PATH.
    Run(RunArgs),
    /// Compile scripts and validate their headers without running them.
    Check {
        /// Script names or paths.
        #[arg(required = true, value_name = "NAME|PATH")]
        scripts: Vec<String>,
    },
    /// List every script with its summary, and which copy wins.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print a script's source.
    Show {
        #[arg(value_name = "NAME")]
        script: String,
    },
    /// Copy a shipped script into the local scripts folder to edit it.
    Eject {
        #[arg(value_name = "NAME")]
        script: String,
        /// Where to put it (default: the first folder of the script path).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Overwrite an existing local copy.
        #[arg(long)]
        force: bool,
    },
    /// The reference of host functions, from their doc comments.
    Doc(DocArgs),
    /// An interactive prompt over every host module, with the same config,
    /// safety and redaction as `run`.
    Repl {
        /// Run this script into the session first.
        #[arg(long, value_name = "SCRIPT")]
        load: Option<String>,
        /// Mutating calls print what they would do instead (`:dry-run off` to lift).
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
    /// Shell completions: `runbook completions bash > /etc/bash_completion.d/runbook`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Script name (`weekly/review-logs`) or path to a .rhai file.
    #[arg(value_name = "NAME|PATH")]
    pub script: Option<String>,

    /// A script parameter; repeat for several (`runbook run NAME --help` lists them).
    #[arg(short = 'a', long = "arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,

    /// Change nothing: every mutating call prints what it would do instead.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Allow data-losing calls (deleting files, keys, objects) without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Wall-clock limit of the run, e.g. 30s, 5m (default: [run] timeout, or 10m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print nothing when the run is OK (for cron).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// One run at a time: a second run while one holds the lock exits 75,
    /// naming the holder. The lock is the script's, or NAME's.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub lock: Option<String>,

    /// With --lock: wait up to DURATION for the lock instead of giving up.
    #[arg(long, value_name = "DURATION", requires = "lock")]
    pub lock_wait: Option<String>,

    /// Mail the report to ADDR through [smtp] (repeat for several).
    #[arg(long, value_name = "ADDR")]
    pub mail_to: Vec<String>,

    /// When to mail: failure (not OK, the default), always, or change
    /// (the status differs from the previous run's).
    #[arg(long, value_enum, default_value_t = MailOn::Failure, requires = "mail_to")]
    pub mail_on: MailOn,

    /// Override a sandbox limit for this run, e.g. max_operations=1000000.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub limits: Vec<String>,

    /// Show the script's summary and parameters (with NAME), or this help.
    #[arg(short = 'h', long)]
    pub help: bool,
}

#[derive(Debug, Args)]
pub struct DocArgs {
    /// A module (`sys`) or function (`sys::disk`); none lists the modules.
    #[arg(value_name = "MODULE|MODULE::FN")]
    pub target: Option<String>,
    /// Print the whole reference as Markdown (docs/reference.md).
    #[arg(long)]
    pub markdown: bool,
    /// Write Rhai definition files (for editors) into DIR.
    #[arg(long, value_name = "DIR")]
    pub definitions: Option<PathBuf>,
    /// Write every example of the reference as a .rhai file into DIR.
    #[arg(long, value_name = "DIR", hide = true)]
    pub examples: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MailOn {
    Failure,
    Always,
    Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Nagios,
    Prometheus,
}
