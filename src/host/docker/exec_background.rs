//! `docker::exec_background`: a command started in a container now and waited for
//! later. A slow command, such as Celery's `inspect`, which waits a second
//! for its workers to answer, then runs while the script goes on with its
//! other checks, and the run takes as long as the slowest step, not all of
//! them added up.
//!
//! The runtime has one thread, the script's: the command advances
//! whenever the script waits on any I/O (a query, a request, the CPU
//! sample) and in `wait()`. Errors that come from the engine (no such
//! container, the engine is down) are kept for `wait()`, so that they land
//! in the check that reads the result; errors in the call itself (bad
//! options, an empty argv) are thrown at once, as `docker::exec` does.
//! A command nobody waits for any more (the script ended, the run was
//! stopped, the REPL variable was dropped) is killed in the container.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{Array, EvalAltResult, Map, Position};
use tokio::task::JoinHandle;

use super::client::client;
use super::exec::{exec_call, finish, interrupted_or, run, Captured, Ended, Request};
use super::resolve::{one_running, Container};
use crate::engine::{guard, runtime};
use crate::host::{error, HostResult};

/// A command started by `docker::exec_background`; `wait()` gives its result.
#[derive(Clone)]
pub struct BackgroundExec(Arc<Mutex<State>>);

enum State {
    Running {
        task: Task,
        who: String,
        request: Request,
        target: Container,
    },
    /// The map, or the whole text of the error `wait()` throws.
    Done(Result<Map, String>),
}

type Finished = (Result<Ended, String>, Captured, Duration);

/// Aborted when dropped: a command nobody can wait for any more (the
/// variable went out of scope in the REPL, the run was cut short) does not
/// go on being driven in the background.
struct Task(JoinHandle<Finished>);

impl Drop for Task {
    fn drop(&mut self) {
        // The command in the container ends too (kill, as the deadline does).
        runtime::abort_and_clean_up(&mut self.0);
    }
}

fn text_of(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        other => other.to_string(),
    }
}

fn done(outcome: Result<Map, String>) -> BackgroundExec {
    BackgroundExec(Arc::new(Mutex::new(State::Done(outcome))))
}

pub fn start(name: &str, argv: Array, map: Map) -> HostResult<BackgroundExec> {
    let (mut r, read_only, who) = exec_call("docker::exec_background", name, argv, &map)?;
    r.background = true;
    // A run that has run out of time ends here; anything else waits for `wait()`.
    let keep = |e: Box<EvalAltResult>| match *e {
        EvalAltResult::ErrorTerminated(..) => Err(e),
        _ => Ok(done(Err(text_of(&e)))),
    };
    let c = match client() {
        Ok(c) => c,
        Err(e) => return keep(e),
    };
    let target = match runtime::block_on(one_running(&c, name))? {
        Ok(t) => t,
        Err(e) => return keep(error(&who, e)),
    };
    if !read_only {
        if let Err(e) = runtime::block_on(super::resolve::within_project(&c, std::slice::from_ref(&target)))? {
            return keep(error(&who, e));
        }
    }
    let shown = r.argv.join(" ");
    if !read_only && !guard::mutating(|| format!("run `{shown}` in {}", target.name)) {
        return Ok(done(Ok(crate::host::dry_run_command_result())));
    }
    let (task_request, task_target) = (r.clone(), target.clone());
    let task = runtime::runtime().spawn(async move {
        let started = Instant::now();
        let mut out = Captured::default();
        let ended = run(&c, &task_target, &task_request, &mut out).await;
        (ended, out, started.elapsed())
    });
    Ok(BackgroundExec(Arc::new(Mutex::new(State::Running { task: Task(task), who, request: r, target }))))
}

pub fn wait(s: &mut BackgroundExec) -> HostResult<Map> {
    let mut state = s.0.lock().unwrap_or_else(|e| e.into_inner());
    let outcome = match std::mem::replace(&mut *state, State::Done(Err("the command was cut short".into()))) {
        State::Done(outcome) => outcome,
        State::Running { mut task, who, request, target } => match runtime::block_on(&mut task.0)? {
            Err(e) => Err(format!("{who}: the command's task ended: {e}")),
            Ok((Err(e), _, _)) => match *interrupted_or(e, &who) {
                t @ EvalAltResult::ErrorTerminated(..) => return Err(Box::new(t)),
                other => Err(text_of(&other)),
            },
            Ok((Ok(ended), out, took)) => finish(&who, &request, &target, ended, out, took).map_err(|e| text_of(&e)),
        },
    };
    *state = State::Done(outcome.clone());
    outcome.map_err(|text| Box::new(EvalAltResult::ErrorRuntime(text.into(), Position::NONE)))
}
