//! One file per subcommand.

mod check;
pub mod completions;
mod doc;
mod eject;
mod history;
mod history_hosts;
mod list;
mod prepare;
mod run;
mod run_fanout;
mod run_history;
mod run_lock;
mod run_mail;
mod run_shape;
mod schedule;
mod show;
mod snooze;
mod targets;

use crate::cli::{Cli, Command};

use crate::exit::CmdResult;

pub fn dispatch(cli: Cli) -> CmdResult {
    crate::script::set_flag_dir(cli.scripts_dir.clone());
    let globals = Globals { config: cli.config, scripts_dir: cli.scripts_dir };
    match cli.command {
        Command::Run(args) => run::run(&globals, args),
        Command::Check { scripts } => check::check(&globals, &scripts),
        Command::List { json } => list::list(&globals, json),
        Command::Show { script } => show::show(&globals, &script),
        Command::Eject { script, dir, force } => eject::eject(&globals, &script, dir, force),
        Command::Doc(args) => doc::doc(args),
        Command::History(args) => history::history(&globals, args),
        Command::Schedule(args) => schedule::schedule(&globals, args),
        Command::Snooze(args) => snooze::snooze(&globals, args),
        Command::Targets(args) => targets::targets(&globals, args),
        Command::Completions { shell } => completions::completions(shell),
        Command::Repl { load, dry_run } => crate::repl::repl(globals.config.as_deref(), load, dry_run),
    }
}

/// Flags every subcommand shares.
pub struct Globals {
    pub config: Option<std::path::PathBuf>,
    pub scripts_dir: Option<std::path::PathBuf>,
}
