//! `fleet`: a closure once per target of a group, a few at once, each
//! target's report in a section of its own, the results in order.
//!
//! How closures run side by side: rhai is built with its `sync` feature,
//! so the engine and a closure can be shared by threads. At most `forks`
//! worker threads take the targets in turn; each call gets its own copy of
//! the caller's context (`NativeCallContextStore`: the script's functions
//! and imports; the operations limit counts per call, from the caller's
//! count), while its host calls wait on the process's one runtime as the
//! script thread's do. The run's deadline, Ctrl-C, SIGTERM, `--dry-run`,
//! `--yes`, `--skip` and the memory limit are the process's, so they hold
//! inside every closure; questions on the terminal are asked one at a time
//! and say which target asks. What a closure reports is held apart
//! (`report::capture`) and added to the run's report in the targets'
//! order, each as soon as those before it are done.
//!
//! `runbook run SCRIPT --on GROUP` is the other fan-out: a process per
//! target, for a whole script (and for Docker engines, which a closure
//! cannot be bound to). Both pace their work with `crate::pace`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rhai::plugin::*;
use rhai::{Array, FnPtr, Map};

use crate::engine::context::{ctx, SCRIPT_STACK};
use crate::host::{error, HostResult};
use crate::pace::{Pace, Skipped, Slot, Work};
use crate::report::{Item, Level, Line, Section};

const FUNC: &str = "fleet::each";
/// As `run --on`'s, and Ansible's: a group of 50 is not hit all at once unless asked.
const DEFAULT_FORKS: usize = 5;
/// No more threads than this, whatever `forks` says: each holds a script stack.
const MOST_FORKS: usize = 64;

/// One piece of work: what the closure is given, and its section's title.
struct Target {
    id: String,
    arg: Dynamic,
}

/// How one target's call ended.
struct Done {
    level: Level,
    value: Dynamic,
    error: Option<String>,
    took: Duration,
}

/// The targets of `group` (every kind it holds), as `kind.name`, each
/// given its name.
fn group_targets(group: &str) -> HostResult<Vec<Target>> {
    let cfg = &ctx().config;
    if let Some(help) = cfg.unknown_group(group) {
        return Err(error(FUNC, format!("no group `{group}` in {}; {help}", cfg.origin())));
    }
    let mut out = vec![];
    let mut kinds = vec![];
    for kind in crate::config::TARGET_KINDS {
        let names = cfg.targets_in(kind, group);
        if !names.is_empty() {
            kinds.push(kind);
        }
        if kind == "docker" && !names.is_empty() {
            return Err(error(
                FUNC,
                format!(
                    "group `{group}` holds Docker engines ({}): a closure cannot be bound to an engine; \
                     run the script once per engine with `runbook run SCRIPT --on {group}`",
                    names.join(", ")
                ),
            ));
        }
        out.extend(names.into_iter().map(|n| Target { id: format!("{kind}.{n}"), arg: n.into() }));
    }
    // The closure is given a name: `postgres.cache` and `redis.cache` would
    // both be "cache", and `pg::connect` would take the same one twice.
    if let [first, second, ..] = kinds[..] {
        return Err(error(
            FUNC,
            format!(
                "group `{group}` holds {} targets: the closure is given a name, which does not say its kind; \
                 give one kind's names, e.g. fleet::each(config::targets(\"{first}\", \"{group}\"), |name| …)",
                [first, second].join(" and ")
            ),
        ));
    }
    Ok(out)
}

/// Names given as an array: each must be a string, its own section's title.
fn named(items: Array) -> HostResult<Vec<Target>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v.clone().into_string() {
            Ok(id) => Ok(Target { id, arg: v }),
            Err(_) => Err(error(FUNC, format!("item {} is not a name (a string): {v}", i + 1))),
        })
        .collect()
}

fn pace(opts: &Map) -> HostResult<Pace> {
    let o = super::opts::Opts::new(FUNC, opts)?;
    let at_least_one = |key: &str, n: rhai::INT| match n {
        n if (1..=MOST_FORKS as rhai::INT).contains(&n) => Ok(n as usize),
        n => Err(error(FUNC, format!("option `{key}` must be from 1 to {MOST_FORKS}, not {n}"))),
    };
    match (o.int("forks")?, o.int("serial")?) {
        (Some(_), Some(_)) => Err(error(
            FUNC,
            "give `forks` (at most N at once) or `serial` (K at a time, stopping at the first not OK), not both",
        )),
        (_, Some(k)) => Ok(Pace::Serial(at_least_one("serial", k)?)),
        (Some(n), None) => Ok(Pace::Forks(at_least_one("forks", n)?)),
        (None, None) => Ok(Pace::Forks(DEFAULT_FORKS)),
    }
}

/// Sections finished out of order wait here for those before them.
struct InOrder {
    next: usize,
    ready: Vec<Option<Vec<Section>>>,
}

impl InOrder {
    fn put(&mut self, i: usize, sections: Vec<Section>) {
        self.ready[i] = Some(sections);
        while let Some(Some(s)) = self.ready.get_mut(self.next).map(Option::take) {
            crate::report::append(s);
            self.next += 1;
        }
    }
}

/// What stopped the run ("timeout", "terminated", …), as the engine's
/// progress hook and `block_on` give it.
fn stop_token(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorTerminated(t, _) => t.to_string(),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => stop_token(inner),
        other => super::report::error_text(other),
    }
}

fn worst(sections: &[Section]) -> Level {
    sections.iter().flat_map(|s| &s.items).fold(Level::Ok, |w, i| w.worst(i.level()))
}

impl Done {
    /// No error and everything OK: what lets `serial` go on.
    fn ok(&self) -> bool {
        self.error.is_none() && self.level == Level::Ok
    }
}

// rhai marks the context store "volatile", not deprecated: it is the way
// to call a closure outside the call that was given it.
#[allow(deprecated, reason = "NativeCallContextStore is volatile in rhai, not deprecated")]
fn each_at(native: &NativeCallContext, label: &str, targets: Vec<Target>, opts: &Map, f: &FnPtr) -> HostResult<Array> {
    let pace = pace(opts)?;
    // Inside another's closure, its workers would add their sections to the
    // run's report, past the outer target's own.
    if crate::report::captured_title().is_some() {
        return Err(error(
            FUNC,
            "called inside another fleet::each's closure; fan out once, over the names both levels need",
        ));
    }
    let store = native.store_data();
    let engine = native.engine();
    // A stop the script cannot catch (its deadline, a signal, a limit) in
    // one closure ends the call: nothing more starts, and it is raised.
    let halt: Mutex<Option<Box<EvalAltResult>>> = Mutex::new(None);
    let order = Mutex::new(InOrder { next: 0, ready: targets.iter().map(|_| None).collect() });
    let start = |i: usize| {
        let t = &targets[i];
        let began = Instant::now();
        let call = store.create_context(engine);
        let (result, sections) = crate::report::capture(&t.id, || {
            let r = f.call_within_context::<Dynamic>(&call, (t.arg.clone(),));
            // As a check's: `false` is a verdict, and a rolling change stops at it.
            let r = match r {
                Ok(v) if v.as_bool() == Ok(false) => {
                    Err(Box::new(EvalAltResult::ErrorRuntime("returned false".into(), Position::NONE)))
                }
                r => r,
            };
            if let Err(e) = &r {
                // A stop is the run's, said once at its end; here only where it struck.
                let (level, text) = match e.is_catchable() {
                    true => (Some(Level::Critical), format!("failed: {}", super::report::error_text(e))),
                    false => (None, format!("stopped here ({})", stop_token(e))),
                };
                crate::report::push(Item::Line(Line { level, text, dry_run: false, table: None }));
            }
            r
        });
        let level = worst(&sections);
        order.lock().unwrap_or_else(|e| e.into_inner()).put(i, sections);
        let (value, error) = match result {
            Ok(v) => (v, None),
            Err(e) if !e.is_catchable() => {
                let text = super::report::error_text(&e);
                halt.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                (Dynamic::UNIT, Some(text))
            }
            Err(e) => (Dynamic::UNIT, Some(super::report::error_text(&e))),
        };
        Done { level, value, error, took: began.elapsed() }
    };
    let ok = Done::ok;
    let stopped = || halt.lock().unwrap_or_else(|e| e.into_inner()).is_some() || ctx().interruption().is_some();
    let work = Work { count: targets.len(), start: &start, ok: &ok, stopped: &stopped, stack: Some(SCRIPT_STACK) };
    let slots = pace.run(&work);

    // What was not run says why, in its place.
    let why = |s: &Skipped| match s {
        Skipped::AfterFailure(f) => format!("not run: {} did not end OK (serial stops at the first)", targets[*f].id),
        Skipped::Stopped => "not run: the run was stopped".to_string(),
    };
    {
        let mut order = order.lock().unwrap_or_else(|e| e.into_inner());
        for (i, slot) in slots.iter().enumerate() {
            if let Slot::NotRun(s) = slot {
                let line = Item::Line(Line { level: None, text: why(s), dry_run: false, table: None });
                order.put(i, vec![Section { title: Some(targets[i].id.clone()), items: vec![line], skipped: None }]);
            }
        }
    }
    if let Some(e) = halt.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }

    summary(label, &targets, &slots);
    Ok(targets
        .iter()
        .zip(slots)
        .map(|(t, slot)| {
            let mut m = Map::new();
            m.insert("target".into(), t.id.clone().into());
            let (status, ok, value, error, took): (Dynamic, bool, Dynamic, Option<String>, Duration) = match slot {
                Slot::Done(d) => {
                    let good = d.ok();
                    (d.level.name().into(), good, d.value, d.error, d.took)
                }
                Slot::NotRun(s) => ("NOT RUN".into(), false, Dynamic::UNIT, Some(why(&s)), Duration::ZERO),
            };
            m.insert("ok".into(), ok.into());
            m.insert("status".into(), status);
            m.insert("value".into(), value);
            m.insert("error".into(), error.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
            m.insert("seconds".into(), (took.as_secs_f64() as rhai::FLOAT).into());
            Dynamic::from_map(m)
        })
        .collect())
}

/// After the targets' sections, one of the whole: a line per target, and
/// the section what the script reports next belongs to.
fn summary(label: &str, targets: &[Target], slots: &[Slot<Done>]) {
    let not_ok = slots.iter().filter(|s| !matches!(s, Slot::Done(d) if d.ok())).count();
    let n = targets.len();
    let title = match not_ok {
        0 => format!("{label}: {n} targets, all OK"),
        k => format!("{label}: {n} targets, {k} not OK"),
    };
    crate::report::section(&title);
    let width = targets.iter().map(|t| t.id.chars().count()).max().unwrap_or(0);
    for (t, slot) in targets.iter().zip(slots) {
        let text = match slot {
            Slot::Done(d) => {
                let (sym, word) = match &d.error {
                    Some(_) => (crate::report::text::symbol(Level::Critical), "FAILED"),
                    None => (crate::report::text::symbol(d.level), d.level.name()),
                };
                format!("{sym} {:width$}  {word:<8}  {:.2} s", t.id, d.took.as_secs_f64())
            }
            Slot::NotRun(_) => format!("- {:width$}  NOT RUN", t.id),
        };
        crate::report::print_line(&text);
    }
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod fleet_functions {
    use super::{each_at, group_targets, named};
    use crate::host::HostResult;
    use rhai::{Array, FnPtr, Map};

    /// Call `f` once for each target of `group` (`group = "replicas"` on
    /// targets in runbook.toml, or `[groups]`), at most five at once,
    /// each given the target's name. Each target's checks, metrics and
    /// lines come out in a section of its own (`postgres.replica-1`), in
    /// the group's order, then a section with one line per target. It
    /// returns, in the same order, a map per target: `target`
    /// (`kind.name`), `ok` (no error and everything OK), `status` ("OK",
    /// "WARNING", "CRITICAL", "UNKNOWN", "NOT RUN"), `value` (what `f`
    /// returned), `error` (what it threw, or why it was not run) and
    /// `seconds`. A throw (or `false` returned, as from a check) fails that
    /// target only; the run's `--timeout`, Ctrl-C and SIGTERM stop them
    /// all, host calls in flight included. Targets run on threads of their
    /// own: `f` sees the values it captured, shared between targets; a
    /// `confirm()` says which target asks, one question at a time. Refused:
    /// a group of Docker engines (use `runbook run SCRIPT --on GROUP`), a
    /// group of several kinds (give `config::targets(kind, group)`), and a
    /// `fleet::each` inside another's closure.
    ///
    /// *read-only* (what `f` calls is judged as it is called)
    ///
    /// ```rhai,no_run
    /// let lags = fleet::each("replicas", |name| {
    ///     let lag = pg::connect(name).scalar("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())");
    ///     metric("replication_lag_s", lag, #{warn: 30, crit: 300, unit: "s"});
    ///     lag
    /// });
    /// let worst = lags.filter(|r| r.ok).map(|r| r.value).reduce(|a, b| if a > b { a } else { b });
    /// ```
    #[rhai_fn(name = "each", return_raw)]
    pub fn each_group(ctx: NativeCallContext, group: &str, f: FnPtr) -> HostResult<Array> {
        each_at(&ctx, group, group_targets(group)?, &Map::new(), &f)
    }

    /// `fleet::each(group, #{forks: N}, f)`: at most N at once (five
    /// unless told). `#{serial: K}`: K at a time, the next K only once
    /// every one of these ended OK; after the first that did not, the rest
    /// are not run (`status: "NOT RUN"`): a rolling change stops where it
    /// broke.
    ///
    /// *read-only* (what `f` calls is judged as it is called)
    ///
    /// ```rhai,no_run
    /// fleet::each("app-servers", #{serial: 1}, |name| {
    ///     check("healthy", || http::get(config::get("health_url_" + name)).status == 200);
    /// });
    /// ```
    #[rhai_fn(name = "each", return_raw)]
    pub fn each_group_opts(ctx: NativeCallContext, group: &str, opts: Map, f: FnPtr) -> HostResult<Array> {
        each_at(&ctx, group, group_targets(group)?, &opts, &f)
    }

    /// `fleet::each(names, f)`: the same for any list of names (say
    /// `config::targets("postgres", "replicas")`, or URLs), each name its
    /// section's title.
    ///
    /// *read-only* (what `f` calls is judged as it is called)
    ///
    /// ```rhai
    /// let r = fleet::each(["a", "bb", "ccc"], |s| s.len());
    /// assert(r.map(|x| x.value) == [1, 2, 3], "in order");
    /// ```
    #[rhai_fn(name = "each", return_raw)]
    pub fn each_named(ctx: NativeCallContext, names: Array, f: FnPtr) -> HostResult<Array> {
        each_at(&ctx, "fleet::each", named(names)?, &Map::new(), &f)
    }

    /// `fleet::each(names, #{forks: N} or #{serial: K}, f)`.
    ///
    /// *read-only* (what `f` calls is judged as it is called)
    ///
    /// ```rhai
    /// let r = fleet::each(["x", "y", "z"], #{forks: 2}, |s| s + "!");
    /// assert(r.map(|x| x.value) == ["x!", "y!", "z!"], "in order");
    /// ```
    #[rhai_fn(name = "each", return_raw)]
    pub fn each_named_opts(ctx: NativeCallContext, names: Array, opts: Map, f: FnPtr) -> HostResult<Array> {
        each_at(&ctx, "fleet::each", named(names)?, &opts, &f)
    }
}
