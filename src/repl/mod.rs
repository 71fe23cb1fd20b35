//! `runbook repl`: one prompt over every host module, with the same config,
//! safety and redaction as `runbook run`.
//!
//! The main thread edits lines (rustyline); a script thread with the large
//! script stack owns the engine and scope. Ctrl-C while a statement runs is
//! a SIGINT (the terminal is not in raw mode then): it cancels the run's
//! context, which ends Rhai at its next operation and a blocked host call
//! at once, and the session goes on.

mod display;
mod helper;
mod session;

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use crate::engine::context;
use crate::exit::{CmdResult, Exit, Failure};

enum Request {
    Eval(String),
    Vars,
    Reset,
}

/// The variables in scope and the type of each, for completion.
type Vars = Vec<(String, String)>;

enum Reply {
    /// What to print (already rendered), and the variables now in scope.
    Done {
        shown: Option<String>,
        error: Option<String>,
        vars: Vars,
    },
    Vars(Vec<String>),
}

const HELP: &str = "\
Type Rhai statements; values are shown (records as tables, maps as lines).
An open bracket, brace or string continues on the next line.
Tab completes modules, functions, methods, variables and target names.
Ctrl-C clears the line, or interrupts a running statement; Ctrl-D quits.

  :help              this text
  :doc NAME          reference of a module or function (as `runbook doc`)
  :load FILE         run a script into this session
  :vars              variables in scope
  :reset             forget variables, functions and imports
  :dry-run on|off    mutating calls print what they would do instead
  :format text|json  how values are shown (:json toggles)
  :quit              leave (Ctrl-D too)
";

fn script_thread(
    rx: Receiver<Request>,
    tx: Sender<Reply>,
    limits: crate::config::LimitsConfig,
    stdlib: Vec<PathBuf>,
    json: Arc<Mutex<bool>>,
) {
    let mut session = session::Session::new(limits, stdlib);
    for req in rx {
        let reply = match req {
            Request::Eval(input) => {
                context::ctx().clear_cancel();
                let r = session.eval(&input);
                let json = *json.lock().unwrap_or_else(|e| e.into_inner());
                let (shown, error) = match r {
                    Ok(v) => (display::render(&v, json), None),
                    Err(d) => (None, Some(d.render())),
                };
                Reply::Done { shown, error, vars: session.var_names() }
            }
            Request::Vars => Reply::Vars(session.vars()),
            Request::Reset => {
                session.reset();
                Reply::Done { shown: Some("session reset".into()), error: None, vars: session.var_names() }
            }
        };
        if tx.send(reply).is_err() {
            break;
        }
    }
}

pub fn repl(config_path: Option<&std::path::Path>, load: Option<String>, dry_run: bool) -> CmdResult {
    let config = Arc::new(crate::config::Config::discover(config_path)?);
    let ctx = context::init(config.clone(), dry_run, false);
    ctx.set_deadline(None);
    let stdlib = crate::engine::resolver::stdlib_dirs(&config)?;
    let json = Arc::new(Mutex::new(false));
    // Reports (print, check, metric …) print as they happen.
    crate::report::start(
        crate::report::Report::new(
            "repl",
            "interactive session",
            Default::default(),
            dry_run,
            crate::host::sys::hostname_string(),
        ),
        Some(crate::report::text::Live::new(crate::report::text::Style::for_stdout())),
        false,
    );

    let (req_tx, req_rx) = channel::<Request>();
    let (rep_tx, rep_rx) = channel::<Reply>();
    let limits = config.limits.clone();
    let json2 = json.clone();
    let _worker = std::thread::Builder::new()
        .name("script".into())
        .stack_size(crate::engine::SCRIPT_STACK)
        .spawn(move || script_thread(req_rx, rep_tx, limits, stdlib, json2))
        .map_err(|e| Failure::new(Exit::Unknown, format!("cannot start the script thread: {e}")))?;

    // SIGINT during a statement cancels it instead of ending the session.
    let signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT])
        .map_err(|e| Failure::new(Exit::Unknown, format!("cannot watch Ctrl-C: {e}")))?;
    let sig_handle = signals.handle();
    std::thread::spawn(move || {
        let mut signals = signals;
        for _ in signals.forever() {
            context::ctx().cancel();
        }
    });

    let meta = Arc::new(OnceLock::new());
    {
        // Completion data is built off the prompt's path.
        let meta = meta.clone();
        std::thread::spawn(move || {
            let _ = meta.set(helper::Meta::build());
        });
    }
    let vars = Arc::new(Mutex::new(Vec::new()));
    let rl_config = Config::builder().auto_add_history(false).completion_type(rustyline::CompletionType::List).build();
    let mut rl: Editor<helper::ReplHelper, DefaultHistory> = Editor::with_config(rl_config)
        .map_err(|e| Failure::new(Exit::Unknown, format!("cannot open the terminal: {e}")))?;
    rl.set_helper(Some(helper::ReplHelper::new(meta, vars.clone(), &config)));
    let history = Some(crate::layout::repl_history(&config));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }

    let targets: Vec<String> = ["postgres", "redis", "s3", "smtp", "http"]
        .iter()
        .filter_map(|k| {
            let n = config.target_names(k);
            (!n.is_empty()).then(|| format!("{k}: {}", n.join(", ")))
        })
        .collect();
    crate::output::out(&format!(
        "runbook {} REPL · config {} · {}dry-run {} · :help, Ctrl-D to quit\n",
        env!("CARGO_PKG_VERSION"),
        config.origin(),
        if targets.is_empty() { String::new() } else { format!("{} · ", targets.join("; ")) },
        if dry_run { "on" } else { "off" }
    ));

    let eval = |input: String, vars: &Arc<Mutex<Vars>>| -> bool {
        if req_tx.send(Request::Eval(input)).is_err() {
            return false;
        }
        match rep_rx.recv() {
            Ok(Reply::Done { shown, error, vars: v }) => {
                if let Some(s) = shown {
                    crate::output::out(&format!("{s}\n"));
                }
                if let Some(e) = &error {
                    crate::output::err(e);
                }
                *vars.lock().unwrap_or_else(|e| e.into_inner()) = v;
                error.is_none()
            }
            _ => false,
        }
    };

    if let Some(file) = load {
        load_file(&file, &eval, &vars);
    }

    loop {
        let prompt = if context::ctx().dry_run() { "runbook (dry-run)> " } else { "runbook> " };
        match rl.readline(prompt) {
            Ok(line) => {
                let input = line.trim();
                if input.is_empty() {
                    continue;
                }
                if let Some(cmd) = input.strip_prefix(':') {
                    let (name, arg) = cmd.split_once(' ').map(|(a, b)| (a, b.trim())).unwrap_or((cmd, ""));
                    match name {
                        "quit" | "exit" | "q" => break,
                        "help" | "h" => crate::output::out(HELP),
                        "doc" => match crate::engine::reference::text(if arg.is_empty() { None } else { Some(arg) }) {
                            Ok(t) => crate::output::out(&t),
                            Err(f) => crate::output::err(&format!(
                                "{}{}",
                                f.message,
                                f.help.map(|h| format!(" ({h})")).unwrap_or_default()
                            )),
                        },
                        "load" => load_file(arg, &eval, &vars),
                        "vars" => {
                            let _ = req_tx.send(Request::Vars);
                            if let Ok(Reply::Vars(v)) = rep_rx.recv() {
                                crate::output::out(&format!("{}\n", v.join("\n")));
                            }
                        }
                        "reset" => {
                            let _ = req_tx.send(Request::Reset);
                            if let Ok(Reply::Done { shown, vars: v, .. }) = rep_rx.recv() {
                                crate::output::out(&format!("{}\n", shown.unwrap_or_default()));
                                *vars.lock().unwrap_or_else(|e| e.into_inner()) = v;
                            }
                        }
                        "dry-run" => match arg {
                            "on" => context::ctx().set_dry_run(true),
                            "off" => context::ctx().set_dry_run(false),
                            _ => crate::output::err(&format!(
                                "dry-run is {}: write :dry-run on or :dry-run off",
                                if context::ctx().dry_run() { "on" } else { "off" }
                            )),
                        },
                        "format" | "json" => {
                            let mut j = json.lock().unwrap_or_else(|e| e.into_inner());
                            *j = match (name, arg) {
                                ("json", _) => !*j,
                                (_, "json") => true,
                                (_, "text") => false,
                                _ => {
                                    crate::output::err("write :format text or :format json");
                                    *j
                                }
                            };
                            crate::output::out(&format!("values shown as {}\n", if *j { "JSON" } else { "text" }));
                        }
                        other => crate::output::err(&format!("unknown command :{other} (:help lists them)")),
                    }
                    continue;
                }
                let ok = eval(input.to_string(), &vars);
                let _ = ok;
                // Never write a secret to the history file: a line that the
                // redactor would change (after evaluation, which may have
                // registered new credentials) is not kept.
                if crate::redact::apply(input) == input {
                    let _ = rl.add_history_entry(input);
                    if let Some(h) = &history {
                        if let Some(dir) = h.parent() {
                            let _ = std::fs::create_dir_all(dir);
                        }
                        let _ = rl.append_history(h);
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::new(Exit::Unknown, format!("terminal: {e}"))),
        }
    }
    sig_handle.close();
    if !crate::output::stdout_is_terminal() {
        crate::output::out("\n");
    }
    Ok(Exit::Ok)
}

fn load_file(path: &str, eval: &impl Fn(String, &Arc<Mutex<Vars>>) -> bool, vars: &Arc<Mutex<Vars>>) {
    match std::fs::read_to_string(path) {
        Ok(src) => {
            if eval(src, vars) {
                crate::output::out(&format!("loaded {path}\n"));
            }
        }
        Err(e) => crate::output::err(&format!("cannot read {path}: {e}")),
    }
}
