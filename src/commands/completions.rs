//! Shell completions that know what is on this machine: script names,
//! each script's `--arg` names (and a choice param's words), `doc` topics.
//!
//! `runbook completions SHELL` prints a few lines for the shell's startup
//! file; while completing, the shell calls `runbook` back with `RUNBOOK_COMPLETE`
//! set (clap_complete's dynamic engine), and [`serve`] answers from the
//! scripts and the reference of this very binary, so the completions
//! never fall behind a new script or an upgrade.

use std::ffi::OsStr;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter, CompletionCandidate, ValueCompleter};
use clap_complete::env::{CompleteEnv, Shells};

use crate::config::Config;
use crate::exit::{CmdResult, Exit, Failure};
use crate::script::ScriptPath;

/// The environment variable the shell's completion function sets.
const VAR: &str = "RUNBOOK_COMPLETE";

/// Answer the shell when it asks for completions (and exit); otherwise
/// return at once. Called before anything is printed.
pub fn serve() {
    CompleteEnv::with_factory(command).var(VAR).complete();
}

/// `runbook completions bash|zsh|fish|elvish|powershell`.
pub fn completions(shell: clap_complete::Shell) -> CmdResult {
    let name = shell.to_string();
    let builtins = Shells::builtins();
    let Some(completer) = builtins.completer(&name) else {
        return Err(Failure::usage(format!("no completions for {name}")));
    };
    let bin = callback();
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, "runbook", "runbook", &bin, &mut buf)
        .map_err(|e| Failure::usage(format!("cannot write the {name} completions: {e}")))?;
    crate::output::out(&String::from_utf8_lossy(&buf));
    Ok(Exit::Ok)
}

/// How the shell calls runbook back: `runbook` when that is this binary on
/// PATH (an upgrade in place keeps working, a packaged file fits every
/// machine), else this binary's full path (a build not installed).
fn callback() -> String {
    let here = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("runbook"))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
    });
    match (here, on_path) {
        (Some(h), Some(p)) if h == p => "runbook".into(),
        (Some(h), _) => h.display().to_string(),
        _ => "runbook".into(),
    }
}

/// The command line with completers on the arguments that name scripts,
/// params and doc topics. `cli` stays a plain definition (it imports
/// nothing); what completes lives here.
fn command() -> clap::Command {
    let scripts = || ArgValueCompleter::new(script_or_path);
    crate::cli::Cli::command()
        .mut_subcommand("run", |c| {
            completing(c, "script", scripts()).mut_arg("args", |a| a.add(ArgValueCompleter::new(param)))
        })
        .mut_subcommand("check", |c| completing(c, "scripts", scripts()))
        .mut_subcommand("show", |c| completing(c, "script", ArgValueCandidates::new(shown_names)))
        .mut_subcommand("eject", |c| completing(c, "script", ArgValueCandidates::new(script_names)))
        .mut_subcommand("history", |c| completing(c, "script", ArgValueCandidates::new(script_names)))
        .mut_subcommand("doc", |c| completing(c, "target", ArgValueCandidates::new(doc_topics)))
}

/// `c` with a completer on its positional `id`. `mut_arg` puts an
/// argument back last, so every positional gets its place said again.
fn completing(c: clap::Command, id: &str, completer: impl clap::builder::ArgExt) -> clap::Command {
    let order: Vec<String> = c.get_positionals().map(|a| a.get_id().to_string()).collect();
    let mut c = c.mut_arg(id, |a| a.add(completer));
    for (i, p) in order.iter().enumerate() {
        c = c.mut_arg(p, |a| a.index(i + 1));
    }
    c
}

/// The words of the command line being completed (after the `--` the
/// shell puts before them).
fn words() -> Vec<String> {
    let all: Vec<String> = std::env::args().collect();
    match all.iter().position(|a| a == "--") {
        Some(i) => all[i + 1..].to_vec(),
        None => vec![],
    }
}

/// The value of a global flag on the line being completed (`--scripts-dir
/// DIR` or `--scripts-dir=DIR`), which changes what the scripts are.
fn flag(words: &[String], name: &str) -> Option<std::path::PathBuf> {
    words.iter().enumerate().find_map(|(i, w)| match w.strip_prefix(name) {
        Some("") => words.get(i + 1).map(Into::into),
        Some(rest) => rest.strip_prefix('=').map(Into::into),
        None => None,
    })
}

fn script_path() -> ScriptPath {
    let words = words();
    // A config that does not load completes what needs no config.
    let config = Config::discover(flag(&words, "--config").as_deref()).unwrap_or_default();
    ScriptPath::new(flag(&words, "--scripts-dir").as_deref(), &config)
}

fn script_names() -> Vec<CompletionCandidate> {
    candidates(script_path().all())
}

fn candidates(scripts: Vec<crate::script::lookup::Listed>) -> Vec<CompletionCandidate> {
    scripts
        .into_iter()
        .map(|l| {
            let summary = crate::script::header::parse(&l.source).map(|h| h.summary).unwrap_or_default();
            CompletionCandidate::new(l.name).help((!summary.is_empty()).then(|| summary.into()))
        })
        .collect()
}

/// `show` also prints the stdlib modules.
fn shown_names() -> Vec<CompletionCandidate> {
    let mut all = script_names();
    for m in crate::engine::stdlib_ref::modules() {
        all.push(CompletionCandidate::new(m.name).help(Some(format!("stdlib: {}", m.summary()).into())));
    }
    all
}

/// A script name, or a path to a .rhai file once the word looks like one.
fn script_or_path(current: &OsStr) -> Vec<CompletionCandidate> {
    let word = current.to_string_lossy();
    // One listing of the script folders, for both questions.
    let scripts = script_path().all();
    if word.contains('/') && !scripts.iter().any(|l| l.name.starts_with(word.as_ref())) {
        return clap_complete::engine::PathCompleter::any()
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rhai"))
            .complete(current);
    }
    candidates(scripts).into_iter().filter(|c| c.get_value().to_string_lossy().starts_with(word.as_ref())).collect()
}

/// `--arg` after a script: its param names as `name=`, then a choice
/// param's words, or a bool's `true`/`false`.
fn param(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = words();
    let paths = script_path();
    let Some(run) = words.iter().position(|w| w == "run") else { return vec![] };
    let script = words[run + 1..]
        .iter()
        .enumerate()
        .filter(|(i, w)| !w.starts_with('-') && !matches!(words.get(run + i).map(String::as_str), Some("-a" | "--arg")))
        .find_map(|(_, w)| paths.find(w).ok());
    let Some(header) = script.and_then(|s| crate::script::header::parse(&s.source).ok()) else {
        return vec![];
    };
    let word = current.to_string_lossy();
    if let Some((name, value)) = word.split_once('=') {
        let Some(p) = header.params.iter().find(|p| p.name == name) else { return vec![] };
        let words: Vec<String> = match p.ty {
            crate::script::header::ParamType::Bool => vec!["true".into(), "false".into()],
            _ => p.choices.clone(),
        };
        return words
            .into_iter()
            .filter(|w| w.starts_with(value))
            .map(|w| CompletionCandidate::new(format!("{name}={w}")))
            .collect();
    }
    header
        .params
        .iter()
        .filter(|p| p.name.starts_with(word.as_ref()))
        .map(|p| {
            let about = match &p.default {
                Some(d) => format!("{} (default {d}) {}", p.type_text(), p.description),
                None => format!("{} (required) {}", p.type_text(), p.description),
            };
            CompletionCandidate::new(format!("{}=", p.name)).help(Some(about.trim_end().to_string().into()))
        })
        .collect()
}

/// What `runbook doc` takes: host modules, handle types, functions, and
/// the stdlib's modules and functions.
fn doc_topics() -> Vec<CompletionCandidate> {
    let mut out: Vec<CompletionCandidate> = crate::host::modules()
        .iter()
        .map(|m| CompletionCandidate::new(if m.name.is_empty() { "report" } else { m.name }).help(Some(m.about.into())))
        .collect();
    let mut names: Vec<String> = vec![];
    for e in crate::engine::reference::entries() {
        // "db.scalar(sql: string) -> any  (PgConnection method)": the type
        // is a topic (`runbook doc PgConnection`), the bare method is not.
        match e.signature.rsplit_once("  (").filter(|_| e.signature.contains('.') && !e.signature.contains("::")) {
            Some((_, kind)) => names.extend(kind.split(' ').next().map(String::from)),
            None => names.push(e.qualified()),
        }
    }
    for m in crate::engine::stdlib_ref::modules() {
        names.push(m.name.to_string());
        if m.alias != m.name {
            names.push(m.alias.clone());
        }
    }
    names.extend(crate::engine::stdlib_ref::names());
    names.sort();
    names.dedup();
    out.extend(names.into_iter().filter(|n| !n.contains(' ')).map(CompletionCandidate::new));
    out
}
