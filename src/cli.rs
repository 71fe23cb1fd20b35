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
  runbook list                                       every script, shipped and local
  runbook run system-resources                       run one, report on the terminal
  runbook run system-resources --format nagios       as a monitoring plugin
  runbook run daily-check --arg backend=api --json   the morning check, as JSON
  runbook run NAME --help                            what a script does and takes
  runbook eject system-resources                     copy it to ./scripts to edit
  runbook doc sys::disk                              the reference of a host function
  runbook history --failed --since 7d                every run is recorded: what went wrong
  runbook schedule --list                            the jobs `runbook schedule` runs, and when

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (script failed),
            64 usage, 65 script or header invalid, 75 --lock held by another run,
            78 config invalid, 130 stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM
            (a signal is a clean stop: the report so far, recorded; twice: at once).";

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
    /// Compile scripts, validate their headers and check that every host
    /// function they call exists, without running them (no names: every
    /// script `runbook list` shows)
    Check {
        /// Script names or paths; none checks them all.
        #[arg(value_name = "NAME|PATH")]
        scripts: Vec<String>,
    },
    /// List every script with its summary, and which copy wins.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print a script's source, or a stdlib module's (`runbook show fmt`).
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
    /// Earlier runs: when, where, how they ended; `history show ID` for one report.
    History(HistoryArgs),
    /// Run scripts on their cron schedules until stopped (SIGTERM waits for
    /// running jobs); --list, --print-crontab and --print-systemd show the plan.
    Schedule(ScheduleArgs),
    /// The targets of runbook.toml — kind, name, groups, address — and
    /// whether each takes a connection now (exit 2 when one does not).
    Targets(TargetsArgs),
    /// Silence jobs for a while (a maintenance window): their runs go on
    /// and are recorded, marked as in maintenance, and their report mails
    /// are not sent until it ends.
    Snooze(SnoozeArgs),
    /// Shell completions of scripts, their --arg names and doc topics, asked
    /// of this binary as you type: `source <(runbook completions bash)` in
    /// ~/.bashrc (zsh: ~/.zshrc; fish: `runbook completions fish | source`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true, after_help = RUN_EXAMPLES)]
pub struct RunArgs {
    /// Script name (`weekly/review-logs`), path to a .rhai file, or `-` to
    /// read the script from stdin.
    #[arg(value_name = "NAME|PATH|-", conflicts_with = "eval")]
    pub script: Option<String>,

    /// Run CODE as the script: `runbook run -e 'print(sys::disk("/").used_pct)'`.
    #[arg(short = 'e', long = "eval", value_name = "CODE")]
    pub eval: Option<String>,

    /// A script parameter; repeat for several (`runbook run NAME --help` lists them).
    #[arg(short = 'a', long = "arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,

    /// Change nothing: every mutating call prints what it would do instead.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Skip steps of the script (its sections, by name: `--skip
    /// storage,frontend`). `runbook run NAME --help` lists the steps;
    /// `[scripts.NAME] skip = [...]` in runbook.toml skips them every run.
    #[arg(long, value_name = "STEP", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// Allow data-losing calls (deleting files, keys, objects) without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Wall-clock limit of the run, e.g. 30s, 5m (default: [run] timeout, or 10m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<crate::duration::Written>,

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
    pub lock_wait: Option<crate::duration::Written>,

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

    /// Run the script once per target of GROUP (`runbook targets` lists
    /// them), each bound to the parameter its header describes as
    /// `[KIND.NAME]`; one report with a section per target, a summary
    /// matrix, and the worst target's exit code.
    #[arg(long, value_name = "GROUP", help_heading = "Fleet")]
    pub on: Option<String>,

    /// With --on: at most N targets at once (default 5).
    #[arg(long, value_name = "N", requires = "on", help_heading = "Fleet",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub forks: Option<u16>,

    /// With --on: K targets at a time, each batch after the last has
    /// ended OK; the first target that does not end OK stops the rest
    /// (rolling restarts).
    #[arg(long, value_name = "K", requires = "on", conflicts_with = "forks", help_heading = "Fleet",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub serial: Option<u16>,

    /// With --on: only the group's targets whose last run of this script
    /// (in the history) did not end OK.
    #[arg(long, requires = "on", help_heading = "Fleet")]
    pub retry_failed: bool,

    /// Show the script's summary and parameters (with NAME), or this help.
    #[arg(short = 'h', long)]
    pub help: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = HISTORY_EXAMPLES)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,

    /// Only this script's runs.
    #[arg(value_name = "SCRIPT")]
    pub script: Option<String>,

    /// Only runs started within DURATION, e.g. 24h, 7d.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<crate::duration::Written>,

    /// Only runs that did not end OK.
    #[arg(long)]
    pub failed: bool,

    /// Also dry runs.
    #[arg(long)]
    pub dry_runs: bool,

    /// At most N runs, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: i64,

    /// The health of every scheduled job: `runbook history health`.
    #[arg(long)]
    pub health: bool,

    /// Only runs on HOST (as `runbook history` shows it), or bound to the
    /// target HOST (`postgres.replica-1`, by `runbook run --on`).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// The fleet at a glance: each host (and target) × each script, with
    /// the last run's status and age. Reads the shared history of
    /// [history] url = "postgres://…" (or this host's).
    #[arg(long, conflicts_with_all = ["since", "failed", "dry_runs", "health"])]
    pub hosts: bool,

    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

const HISTORY_EXAMPLES: &str = "\
Examples:
  runbook history                          the last 50 runs
  runbook history daily-check --since 7d   one script's week
  runbook history --failed --format json   what went wrong, for machines
  runbook history --hosts                  every host × script: last status and age
  runbook history --host web2              one host's runs
  runbook history show 42                  run 42's report as it was printed
  runbook history health                   is every scheduled job running, on time, as usual?
  runbook history health --format nagios   … as a monitoring plugin

The history is a SQLite file in the state folder, or PostgreSQL with
[history] url = \"postgres://…\" (shared by a fleet and by `runbook schedule`).
Runs leave their records in the state folder's history-spool/; reading the
history takes them in first.";

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// The health of each scheduled job from its recorded runs: overdue
    /// (no run since its last slot, plus a grace), a run time far from its
    /// usual, failing again and again. Exit 0/1/2 like a report; `--format
    /// nagios` is a monitoring plugin.
    Health {
        /// Only these jobs (default: every job of the schedule).
        #[arg(value_name = "JOB")]
        jobs: Vec<String>,
        /// How long after its slot a job may start before it is overdue.
        #[arg(long, value_name = "DURATION", default_value = "15m")]
        grace: crate::duration::Written,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One run's report, as it was.
    Show {
        #[arg(value_name = "ID")]
        id: i64,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = SCHEDULE_EXAMPLES)]
pub struct ScheduleArgs {
    /// Only these jobs (default: every job).
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,

    /// Show each job and its next run times, then exit.
    #[arg(long, group = "mode")]
    pub list: bool,

    /// With --list: also the suggested jobs of shipped scripts that are
    /// not in the plan.
    #[arg(long, requires = "list")]
    pub all: bool,

    /// Print the schedule as crontab lines, then exit.
    #[arg(long, group = "mode")]
    pub print_crontab: bool,

    /// Print the schedule as systemd .service and .timer units, then exit.
    #[arg(long, group = "mode")]
    pub print_systemd: bool,

    /// Install the plan: into the crontab, one marked block replaced in
    /// place on every install (never appended twice), other lines kept; or
    /// as systemd units (a .service and a .timer per job), the timers
    /// enabled, units of jobs no longer in the plan removed.
    #[arg(long, group = "mode", value_name = "crontab|systemd")]
    pub install: Option<Installer>,

    /// Remove exactly what `--install` wrote.
    #[arg(long, group = "mode", value_name = "crontab|systemd")]
    pub uninstall: Option<Installer>,

    /// With --install crontab or --uninstall crontab: USER's crontab
    /// (crontab -u USER; as root).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// With --install systemd or --uninstall systemd: the units' folder
    /// (default /etc/systemd/system as root, else
    /// $XDG_CONFIG_HOME/systemd/user or ~/.config/systemd/user); systemctl
    /// is then left to you.
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<std::path::PathBuf>,

    // A job's own settings, refused here with where they go.
    #[arg(long, hide = true, value_name = "X", num_args = 0..=1, default_missing_value = "")]
    pub lock: Option<String>,
    #[arg(long, hide = true, value_name = "X", num_args = 0..=1, default_missing_value = "")]
    pub mail_on: Option<String>,
    #[arg(long, hide = true, value_name = "X", num_args = 0..=1, default_missing_value = "")]
    pub mail_to: Option<String>,

    /// Slots missed while no scheduler ran are run once if the newest is
    /// at most this old (0s: never); the others are recorded as missed.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub catch_up: crate::duration::Written,

    /// On SIGTERM or Ctrl-C, wait this long for running jobs before stopping them.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub grace: crate::duration::Written,
}

const RUN_EXAMPLES: &str = "\
Examples:
  runbook run daily-check                          the morning check, its report on stdout
  runbook run db/vacuum --dry-run                  what it would change, changing nothing
  runbook run db/connections --on replicas --forks 8
                                                   once per target of the group, 8 at a time
  runbook run api-health --on web --serial 1       one at a time, stopping at the first not OK
  runbook run db/connections --on replicas --retry-failed
                                                   only the targets whose last run was not OK

With --on, each run is a runbook process of its own, bound to one target
through the first parameter its header describes as [KIND.NAME]
(`param database: string = main  [postgres.NAME] target`); each is
recorded in the history with its target (`runbook history --host
postgres.replica-1`).";

#[derive(Debug, Args)]
#[command(after_help = TARGETS_EXAMPLES)]
pub struct TargetsArgs {
    /// Only the targets in this group (`group = "NAME"` on a target, or [groups]).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Only this kind: postgres, redis, s3, smtp, http, docker.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,

    /// List them without connecting.
    #[arg(long)]
    pub no_check: bool,

    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

const TARGETS_EXAMPLES: &str = "\
Examples:
  runbook targets                       every target, each connected to (3 s at most, all at once)
  runbook targets --group replicas      one group
  runbook targets --kind postgres --no-check
  runbook targets --format json

A target is in a group by its own key or by the [groups] table:
  [postgres.replica-1]
  url = \"postgres://…\"
  group = \"replicas\"              # or a list: [\"replicas\", \"eu\"]

  [groups]
  replicas = [\"postgres.replica-2\"]  # members as KIND.NAME

Scripts read them with config::targets(\"postgres\", \"replicas\").";

#[derive(Debug, Args)]
#[command(after_help = SNOOZE_EXAMPLES)]
pub struct SnoozeArgs {
    /// How long: 30m, 2h, 1d (at most 7d).
    #[arg(value_name = "DURATION", required_unless_present_any = ["list", "end"])]
    pub duration: Option<crate::duration::Written>,

    /// The jobs or scripts to silence (none: every job).
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,

    /// Why: shown beside the silence and the runs it covers.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,

    /// The silences in force, then exit.
    #[arg(long, conflicts_with_all = ["duration", "end"])]
    pub list: bool,

    /// End silence ID now (with no ID: every silence in force).
    #[arg(long, value_name = "ID", num_args = 0..=1, conflicts_with = "duration")]
    pub end: Option<Option<u32>>,

    /// With --list: text or json.
    #[arg(long, value_enum, default_value_t = ListFormat::Text, requires = "list")]
    pub format: ListFormat,
}

const SNOOZE_EXAMPLES: &str = "\
Examples:
  runbook snooze 2h                               every job, for two hours
  runbook snooze 90m backup-db --reason \"disk swap\"
  runbook snooze --list                           the silences in force
  runbook snooze --end 4                          end silence 4 now
  runbook snooze --end                            end every silence now

A silence mutes the report mails of the runs it covers (--mail-to, a job's
mail_to), and `runbook history health` does not alarm on its jobs; the runs
still happen and are recorded, shown as in maintenance. A script's own
mail::send still goes. The maintenance/window script opens one for its
window. Silences are kept in the run history: with [history] url on
PostgreSQL they hold for every machine sharing it.";

const SCHEDULE_EXAMPLES: &str = "\
The plan is what the operator chose: [schedule.NAME] entries of the
config (script, cron, timezone, args, mail_to, mail_on, lock, timeout,
yes; enabled = false turns one off), the `schedule:` lines of your own
scripts, and, from the shipped scripts, the manual's three: daily-check
(9:00), backup-db (2:00) and cert/check (6:00). Every other shipped script
only suggests a cadence in its header: `--list --all` shows them, and
`[schedule.health-monitor]` (an empty entry) enables one at its header's
cadence. Mail and lock are a job's: [schedule.NAME] mail_to, mail_on, lock.
Cron expressions have 5 fields, or 6 with seconds first.

Examples:
  runbook schedule --list                  what runs when
  runbook schedule --list --all            … and what the shipped scripts suggest
  runbook schedule                         run them (e.g. as a systemd service)
  runbook schedule daily-check backup-db   only these two
  runbook schedule --print-crontab         the same plan for cron
  runbook schedule --install crontab       put it in the crontab (again: replaced, not doubled)
  runbook schedule --uninstall crontab     take it out again
  runbook schedule --install systemd       as systemd timers, enabled (again: replaced)
  runbook schedule --uninstall systemd     disabled and removed

Each run is a child `runbook run`, recorded in the history. Several
schedulers sharing a PostgreSQL history ([history] url) run each slot once.";

/// Where `runbook schedule --install` puts the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Installer {
    /// The user's crontab, through the `crontab` program.
    Crontab,
    /// systemd .service and .timer units, the timers enabled.
    Systemd,
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

pub use crate::value::MailOn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Nagios,
    Prometheus,
}
