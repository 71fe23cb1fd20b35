//! `runbook run`: config → script → header → params → engine → report →
//! exit code.

use std::sync::Arc;
use std::time::Instant;

use super::{prepare, Globals};
use crate::cli::{Format, RunArgs};
use crate::config::LimitsConfig;
use crate::engine::diagnostic::Diagnostic;
use crate::engine::{self, context};
use crate::exit::{CmdResult, Exit, Failure};
use crate::report::{self, text, Report};
use crate::script::{params, Header, Script};

pub fn run(g: &Globals, args: RunArgs) -> CmdResult {
    let name = match (&args.script, &args.eval) {
        (_, Some(_)) => None,
        (s, None) => s.clone(),
    };
    let Some(name) = name.or_else(|| args.eval.as_ref().map(|_| "-e".to_string())) else {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        if let Some(sub) = cmd.find_subcommand_mut("run") {
            crate::output::out(&sub.render_long_help().to_string());
        }
        return Ok(if args.help { Exit::Ok } else { Exit::Usage });
    };
    // Help needs no secret: an unset ${VAR} of the config reads as "".
    if args.help {
        crate::config::unset_variables_read_empty();
    }
    let mut config = prepare::config(g)?;
    super::run_fanout::bind_engine(&mut config);
    let script = match &args.eval {
        Some(code) => Script::inline(code),
        None => prepare::find_script(g, &config, &name)?,
    };
    let header = prepare::header(&script)?;
    if args.help {
        crate::output::out(&script_help(&script, &header, &config));
        return Ok(Exit::Ok);
    }
    let mut given = super::run_shape::args(&config, &script, &header)?;
    given.extend(args.args.iter().cloned());
    let params = params::resolve(&header, &script.name, &given)?;
    let is_script = |n: &str| prepare::find_script(g, &config, n).is_ok();
    let skip = super::run_shape::steps_to_skip(&config, &script, &args.skip, &is_script)?;
    // The run's limits, `--limit` included, are the config's: host
    // functions read their caps (max_output, max_body…) from there.
    config.limits = limits_with_overrides(&config.limits, &args.limits)?;
    if let Some(group) = &args.on {
        return super::run_fanout::run(g, &config, &script, &header, &args, group);
    }
    let limits = config.limits.clone();
    let config = Arc::new(config);
    let timeout = args.timeout.as_ref().map(|t| t.value).unwrap_or_else(|| config.run_timeout());
    let format = if args.json { Format::Json } else { args.format };
    let stdlib_dirs = crate::engine::resolver::stdlib_dirs(&config)?;
    let ctx = context::init(config.clone(), args.dry_run, args.yes);
    // Held until this function returns: the whole run, report and mail included.
    let _lock = super::run_lock::for_run(&config, &script.name, &args)?;
    let started = Instant::now();
    ctx.set_deadline(Some(timeout));
    stop_cleanly_on_signals()?;

    let live = (format == Format::Text && args.output.is_none() && !args.quiet).then(|| {
        let style = text::Style::for_stdout();
        // A dry run keeps its frame: its heading says nothing is changed.
        if crate::output::stdout_is_terminal() || args.dry_run {
            text::Live::new(style)
        } else {
            text::Live::piped(style)
        }
    });
    let params_json: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v, raw)| {
            // A Duration as it was written ("24h", not "1d").
            let shown =
                if v.is_variant() { serde_json::Value::String(raw.clone()) } else { crate::host::convert::to_json(v) };
            (k.clone(), shown)
        })
        .collect();

    let outcome = engine::on_script_thread(|| {
        let mut engine = engine::build_for(&limits, stdlib_dirs, &script.source);
        prepare::params_in_functions(&mut engine, &params);
        let mut scope = prepare::base_scope(&script, args.dry_run);
        for (k, v, _) in &params {
            scope.push_constant_dynamic(k.as_str(), v.clone());
        }
        let ast = match prepare::compile(&engine, &scope, &script, &limits) {
            Ok(ast) => ast,
            Err(d) => return Err(d),
        };
        warn_of_traps(&script, &ast, &limits);
        report::start(
            Report::new(&script.name, &header.summary, params_json, args.dry_run, crate::host::sys::hostname_string()),
            live,
            true,
        );
        if !skip.is_empty() {
            report::skip_steps(skip.clone());
        }
        let result = engine.run_ast_with_scope(&mut scope, &ast);
        Ok(result
            .map_err(|e| prepare::diagnose(&scope, &script, &limits, Some(&ast), |o| Diagnostic::from_eval(&e, o))))
    });

    crate::host::docker::close_tunnels();
    let ran = match outcome {
        Err(compile_error) => return Err(prepare::rendered(compile_error)),
        Ok(ran) => ran,
    };
    // What follows (report, history, mail) must run even after a signal.
    ctx.clear_cancel();
    #[allow(clippy::expect_used, reason = "context::init started the report above, and only this line finishes it")]
    let (mut report, live) = report::finish_live().expect("the report was started");
    report.duration_ms = started.elapsed().as_millis() as u64;
    if let Err(d) = &ran {
        report.error = Some(d.to_run_error());
        // The lines a pipe was holding come before the error about them.
        if let Some(l) = &live {
            l.frame();
        }
        crate::output::err(&d.render());
    } else if let Some(sig) = ctx.stopped_by() {
        // The signal came as the script ended: the run still says so.
        let (kind, message) = if sig == libc::SIGTERM {
            ("terminated", "stopped by SIGTERM")
        } else {
            ("interrupted", "interrupted (Ctrl-C or SIGINT)")
        };
        report.error =
            Some(report::RunError { kind: kind.into(), message: message.into(), file: None, line: None, column: None });
    }
    // Secrets a host call registered late are masked in what came before.
    report.redact();
    deliver(&report, live, format, &args)?;
    // A run of `--on`: its parent reads the report from here.
    if let Some(path) = std::env::var_os(super::run_fanout::ENV_REPORT) {
        let json = crate::redact::apply(&report::json::render(&report)).into_owned();
        if let Err(e) =
            crate::output::write_atomic(std::path::Path::new(&path), json.as_bytes(), crate::output::mode::PRIVATE)
        {
            crate::output::err(&format!("runbook: cannot leave the report for --on: {e}"));
        }
    }
    super::run_history::record(&config, &report, &script.history_name());
    // A run inside a silence (judged by its start, as the history marks
    // it) mails nothing and keeps no last status, so `--mail-on change`
    // still mails a failure that began in the silence and outlasted it.
    let silence = match args.mail_to.is_empty() || args.dry_run {
        true => None,
        false => super::run_mail::silence(&config, &script.history_name(), report.started_at),
    };
    if let Some(s) = &silence {
        // Said only at a terminal: under cron, stderr is mailed too.
        if crate::output::stderr_is_terminal() {
            crate::output::err(&format!(
                "runbook: --mail-to {}: not mailed, in maintenance: {} (`runbook snooze --end {}` ends it)",
                args.mail_to.join(", "),
                s.describe(),
                s.id
            ));
        }
    } else if !args.dry_run {
        // One-liners (`-e`, stdin) share a name: they keep no last status.
        let previous = match script.origin {
            crate::script::Origin::Inline(_) => None,
            _ => super::run_mail::swap_last_status(&config, &script.history_name(), report.status()),
        };
        if !args.mail_to.is_empty() && super::run_mail::wanted(args.mail_on, report.status(), previous) {
            // The run's own time limit is spent; the mail gets its own ([smtp] timeout).
            ctx.set_deadline(None);
            super::run_mail::send(&report, &args.mail_to);
        }
    }
    Ok(report.exit())
}

/// SIGINT and SIGTERM stop the script the way the deadline does: the
/// statement in flight is cancelled, children are killed, partial files
/// are removed, and the report so far is printed and recorded with the
/// interruption as its last line (exit 130 or 143); only then is the lock
/// released. A second signal ends the process at once.
fn stop_cleanly_on_signals() -> Result<(), Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Failure::new(Exit::Unknown, format!("cannot watch for SIGINT and SIGTERM: {e}")))?;
    std::thread::spawn(move || {
        let mut seen = false;
        for sig in signals.forever() {
            if seen {
                crate::report::release_held();
                crate::output::err(&format!("runbook: stopped at once (signal {sig} again)"));
                crate::engine::runtime::kill_all_groups();
                std::process::exit(128 + sig);
            }
            seen = true;
            let name = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" };
            crate::output::err(&format!("runbook: {name}: stopping (again to stop at once)"));
            context::ctx().stop_for(sig);
        }
    });
    Ok(())
}

/// Print or write the finished report.
fn deliver(report: &Report, live: Option<text::Live>, format: Format, args: &RunArgs) -> Result<(), Failure> {
    let quiet_ok = args.quiet && report.exit() == Exit::Ok;
    if let Some(live) = live {
        live.end(report);
        return Ok(());
    }
    let style = if args.output.is_some() { text::Style { color: false } } else { text::Style::for_stdout() };
    let rendered = match format {
        Format::Text if args.output.is_some() => {
            text::printed_only(report).unwrap_or_else(|| text::render(report, style))
        }
        Format::Text => text::render(report, style),
        Format::Json => report::json::render(report),
        Format::Nagios => report::nagios::render(report),
        Format::Prometheus => report::prometheus::render(report),
    };
    match &args.output {
        Some(path) => {
            let safe = crate::redact::apply(&rendered);
            crate::output::write_atomic(path, safe.as_bytes(), crate::output::mode::PUBLIC)
                .map_err(|e| Failure::new(Exit::Unknown, format!("cannot write {}: {e}", path.display())))?;
        }
        None if quiet_ok => {}
        None => crate::output::out(&rendered),
    }
    Ok(())
}

fn limits_with_overrides(base: &LimitsConfig, overrides: &[String]) -> Result<LimitsConfig, Failure> {
    let mut l = base.clone();
    const NAMES: [&str; 11] = [
        "max_operations",
        "max_call_depth",
        "max_expr_depth",
        "max_string_size",
        "max_array_size",
        "max_map_size",
        "max_output",
        "max_body",
        "max_result",
        "max_file",
        "max_memory",
    ];
    for o in overrides {
        let (k, v) = o.split_once('=').ok_or_else(|| Failure::usage(format!("--limit `{o}` must be NAME=VALUE")))?;
        let n: u64 =
            v.trim().parse().map_err(|_| Failure::usage(format!("--limit {k}: `{v}` is not a whole number")))?;
        match k.trim() {
            "max_operations" => l.max_operations = n,
            "max_call_depth" => l.max_call_depth = n as usize,
            "max_expr_depth" => l.max_expr_depth = n as usize,
            "max_string_size" => l.max_string_size = n as usize,
            "max_array_size" => l.max_array_size = n as usize,
            "max_map_size" => l.max_map_size = n as usize,
            "max_output" => l.max_output = n as usize,
            "max_body" => l.max_body = n as usize,
            "max_result" => l.max_result = n as usize,
            "max_file" => l.max_file = n as usize,
            "max_memory" => l.max_memory = n as usize,
            other => {
                let near = crate::suggest::DidYouMean::find(other, NAMES);
                return Err(Failure::usage(format!("--limit: unknown limit `{other}`"))
                    .with_help(crate::suggest::DidYouMean::then(near, format!("limits: {}", NAMES.join(", ")))));
            }
        }
    }
    l.check().map_err(|(k, e)| Failure::usage(format!("--limit {k}: {e}")))?;
    Ok(l)
}

/// `runbook run NAME --help`.
pub fn script_help(script: &Script, h: &Header, config: &crate::config::Config) -> String {
    let mut out = format!("{} — {}\n\n", script.name, h.summary);
    if let Some(m) = &h.manual {
        out.push_str(&format!("Manual:    {m}\n"));
    }
    if let Some(s) = &h.schedule {
        out.push_str(&format!("Schedule:  {s}\n"));
    }
    out.push_str(&format!("Source:    {}\n", script.display_path()));
    if !h.notes.is_empty() {
        out.push('\n');
        for n in &h.notes {
            out.push_str(&format!("{n}\n"));
        }
    }
    out.push_str("\nParameters (--arg NAME=VALUE):\n");
    out.push_str(&h.params_table());
    let steps = crate::engine::steps::of_source(&script.source);
    if steps.len() > 1 {
        out.push_str(&format!(
            "\nSteps (--skip STEP, or [scripts.{}] skip = [\"STEP\", …] in runbook.toml):\n",
            script.name
        ));
        let width = steps.iter().map(|s| s.key.len()).max().unwrap_or(0);
        let skipped = config.scripts.get(&script.name).map(|s| s.skip.clone()).unwrap_or_default();
        for s in &steps {
            let mark = if skipped.contains(&s.key) { "  (skipped: runbook.toml)" } else { "" };
            out.push_str(&format!("  {:width$}  {}{mark}\n", s.key, s.title));
        }
    }
    let example: Vec<String> = h
        .params
        .iter()
        .filter(|p| p.default.is_none())
        .map(|p| format!(" --arg {}=<{}>", p.name, p.type_text()))
        .collect();
    // A file given by path is run by that path again, not by a name that
    // finds no script (or finds a shipped one).
    let how = match &script.origin {
        crate::script::Origin::File(p) => p.display().to_string(),
        _ => script.name.clone(),
    };
    out.push_str(&format!("\nRun it:    runbook run {how}{}\n", example.join("")));
    out
}

/// A line that runs but not as written (`"${x}"`, `let t = s.trim();`)
/// is said on stderr before the run, where `runbook check` would fail it:
/// the run goes on, the operator sees why its output looks wrong.
fn warn_of_traps(script: &crate::script::Script, ast: &rhai::AST, limits: &crate::config::LimitsConfig) {
    let file = script.display_path();
    let origin = crate::engine::diagnostic::Origin::bare(&file, &script.source, limits, ast);
    for (_, d) in crate::engine::lint::traps(ast, &origin, "warning") {
        crate::output::err(&d.render());
    }
}
