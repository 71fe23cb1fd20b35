//! The report functions every script uses. They live in the global
//! namespace: `check(…)`, not `report::check(…)`.

use rhai::plugin::*;
use rhai::Array;

use crate::report::{Item, Level, Line};

pub(crate) fn line(level: Level, message: &str) {
    // Inside a check, `warn`/`crit`/`unknown` are the check's verdict, not
    // lines of their own: `check("Growth", || if n < 10 { warn("slow") } else { "fine" })`.
    if level != Level::Ok {
        let taken = VERDICTS.with(|v| match v.borrow_mut().last_mut() {
            Some(verdict) => {
                let (worst, texts) = verdict.get_or_insert((level, vec![]));
                *worst = Level::worst(*worst, level);
                texts.push(message.to_string());
                true
            }
            None => false,
        });
        if taken {
            return;
        }
    }
    crate::report::push(Item::Line(Line { level: Some(level), text: message.into(), dry_run: false, table: None }));
}

/// What `warn`/`crit`/`unknown` said inside one check: the worst level and their words.
type Verdict = Option<(Level, Vec<String>)>;

thread_local! {
    /// One entry per check being run (checks can nest).
    static VERDICTS: std::cell::RefCell<Vec<Verdict>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub(crate) fn error_text(e: &rhai::EvalAltResult) -> String {
    match e {
        rhai::EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        rhai::EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => error_text(inner),
        other => {
            let t = other.to_string();
            match t.rfind(" (line ") {
                Some(i) => t[..i].to_string(),
                None => t,
            }
        }
    }
}

pub(crate) fn render_table(rows: &Array, cols: &[String]) -> String {
    crate::report::table::render(rows, cols, 60)
}

/// `table(rows)`: aligned text for people, the rows themselves for JSON
/// (each an object with the columns as keys, in order; a missing cell is
/// null; timestamps in RFC 3339).
fn print_table(rows: &Array, cols: &[String]) {
    let records = rows
        .iter()
        .map(|r| {
            let m = r.read_lock::<rhai::Map>();
            let cells = cols.iter().map(|c| {
                let v = m.as_ref().and_then(|m| m.get(c.as_str())).map(crate::host::convert::to_json);
                (c.clone(), v.unwrap_or(serde_json::Value::Null))
            });
            serde_json::Value::Object(cells.collect())
        })
        .collect();
    let table = crate::report::Table { columns: cols.to_vec(), rows: records };
    crate::report::print_table(&render_table(rows, cols), table);
}

/// What a step `--dry-run` skipped says instead of ✓ done.
const SKIPPED: &str = "skipped (dry run)";

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod report_functions {
    use super::SKIPPED;
    use std::time::Instant;

    use rhai::{Array, Dynamic, FnPtr, Map, NativeCallContext};

    use super::{error_text, line};
    use crate::host::opts::{number, Opts};
    use crate::host::{error, HostResult};
    use crate::report::{self, Check, Item, Level, Metric};

    /// Start a new section of the report; what follows is listed under it.
    /// Written as an `if`'s condition, with its title written out, the
    /// section is a step that runbook.toml can skip: `[scripts.NAME] skip
    /// = ["database"]` (or `runbook run NAME --skip database`) names it by
    /// its title without number or brackets ("3. Database" is
    /// `database`). `section` then returns `false`, the `if` leaves the
    /// step's block out, and the report shows the step as skipped.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// if section("3. Database") {
    ///     check("arithmetic", || 1 + 1 == 2);
    /// }
    /// ```
    pub fn section(title: &str) -> bool {
        report::section(title)
    }

    /// Whether this run skips the step `key` (see `section`): for work a
    /// script starts ahead of its step, in the background.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// if !is_skipped("celery-workers") { print("start the Celery query now"); }
    /// ```
    pub fn is_skipped(key: &str) -> bool {
        report::is_skipped(key)
    }

    /// Run `f` as a named check. It passes (✓) with the text `f` returns,
    /// and fails (✗, CRITICAL) with the error's message if `f` throws or
    /// returns `false`; either way the script goes on, so one failure never
    /// hides the others. `warn(text)` inside `f` makes the check a warning
    /// (!) with that text (`crit` and `unknown` likewise). Time limits
    /// still end the run. Under `--dry-run`, a check whose body skipped a
    /// change is shown by its "would …" lines alone, not as passed.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// check("Arithmetic", || `2 + 2 = ${2 + 2}`);
    /// check("Disk readable", || sys::disk("/").total > 0);
    /// let signups = 3;
    /// check("Signups", || if signups < 10 { warn(`only ${signups} today`) } else { `${signups} today` });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn check(ctx: NativeCallContext, name: &str, f: FnPtr) -> HostResult<()> {
        let started = Instant::now();
        let skipped_before = report::dry_run_lines();
        super::VERDICTS.with(|v| v.borrow_mut().push(None));
        let result = f.call_within_context::<Dynamic>(&ctx, ());
        let verdict = super::VERDICTS.with(|v| v.borrow_mut().pop().flatten());
        let duration_ms = started.elapsed().as_millis() as u64;
        let (level, message) = match result {
            // A check that said warn(…) (or crit, unknown) is what it said.
            Ok(_) if verdict.is_some() => {
                let (level, texts) = verdict.unwrap_or((Level::Ok, vec![]));
                (level, texts.join("; "))
            }
            Ok(v) if v.as_bool() == Ok(false) => (Level::Critical, "returned false".to_string()),
            Ok(v) if v.is_unit() || v.as_bool() == Ok(true) => (Level::Ok, String::new()),
            Ok(v) => (Level::Ok, v.to_string()),
            // Timeouts, interruptions and limits are not the check's verdict:
            // they end the run.
            Err(e) if !e.is_catchable() => return Err(e),
            Err(e) => (Level::Critical, error_text(&e)),
        };
        // A dry run skipped what this check does: its "would …" lines stand
        // for it, never a green ✓ ("✓ backend: skipped (dry run)").
        if level == Level::Ok && crate::engine::context::ctx().dry_run() && report::dry_run_lines() > skipped_before {
            return Ok(());
        }
        report::push(Item::Check(Check { name: name.into(), level, message, duration_ms }));
        Ok(())
    }

    /// Record a measured value with no thresholds: always OK.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// metric("users", 20000);
    /// ```
    #[rhai_fn(name = "metric", return_raw)]
    pub fn metric_plain(name: &str, value: Dynamic) -> HostResult<()> {
        metric(name, value, Map::new())
    }

    /// Record a measured value and its level against thresholds:
    /// `#{warn, crit, unit, min, max, bound, note}`. By default higher is
    /// worse (`value >= crit` is CRITICAL); `bound: "lower"` flips that for
    /// things like free space or hit rates (`value <= crit`). A level starts
    /// at its threshold, as the manual's targets read: "< 70%" is healthy,
    /// so 70 warns; "> 80%" is healthy, so 80 warns. A `()` value is UNKNOWN;
    /// a Duration is its seconds (unit "s" unless told).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// metric("disk_used_pct", 42.5, #{warn: 85, crit: 90, unit: "%", min: 0, max: 100});
    /// let t = time::now();
    /// metric("query_s", time::now() - t, #{warn: 0.5});   // a Duration: seconds, to the µs
    /// metric("cache_hit_pct", 97.0, #{warn: 90, crit: 80, bound: "lower", unit: "%"});
    /// ```
    #[rhai_fn(name = "metric", return_raw)]
    pub fn metric(name: &str, value: Dynamic, thresholds: Map) -> HostResult<()> {
        let o = Opts::new("metric", &thresholds)?;
        let bound = crate::report::Bound::parse(o.str("bound")?.as_deref()).map_err(|e| error("metric", e))?;
        // A Duration is measured in seconds, to the microsecond.
        let span = value.read_lock::<crate::value::Span>().map(|d| d.micros() as f64 / 1e6);
        let value = if value.is_unit() {
            None
        } else {
            Some(span.or_else(|| number(&value)).ok_or_else(|| {
                let what = crate::host::convert::type_name(&value);
                error("metric", format!("`{name}` must be a number or a Duration, not {what}"))
            })?)
        };
        let unit = o.str("unit")?.or_else(|| span.map(|_| "s".to_string()));
        let (warn, crit) = (o.float("warn")?, o.float("crit")?);
        let level = match value {
            None => Level::Unknown,
            Some(v) if v.is_nan() => Level::Unknown,
            Some(v) => {
                let over = |t: Option<f64>| t.is_some_and(|t| bound.reached(v, t));
                if over(crit) {
                    Level::Critical
                } else if over(warn) {
                    Level::Warning
                } else {
                    Level::Ok
                }
            }
        };
        report::push(Item::Metric(Metric {
            name: name.into(),
            value,
            level,
            unit,
            warn,
            crit,
            min: o.float("min")?,
            max: o.float("max")?,
            bound,
            note: o.str("note")?,
        }));
        Ok(())
    }

    /// Ask before a step that loses data or takes the service down, as a
    /// data-losing host call does: `true` with `--yes`, or when the
    /// operator types "y" on the terminal; `false` under `--dry-run` (a
    /// "would …" line is recorded) or when the operator says no. Without a
    /// terminal and without `--yes` it throws: cron never goes ahead on a
    /// guess.
    ///
    /// *read-only* (it changes nothing itself)
    ///
    /// ```rhai,no_run
    /// if confirm("run VACUUM FULL, locking every table") {
    ///     pg::connect("main").execute("VACUUM FULL ANALYZE");
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn confirm(what: &str) -> HostResult<bool> {
        use std::io::IsTerminal;
        let ctx = crate::engine::context::ctx();
        if ctx.dry_run() {
            report::dry_run_line(what);
            return Ok(false);
        }
        if ctx.yes() {
            return Ok(true);
        }
        if std::io::stdin().is_terminal() && crate::output::stderr_is_terminal() {
            return Ok(crate::engine::guard::confirm(what));
        }
        Err(error(
            "confirm",
            format!("refusing to {what} without --yes (nobody can be asked: no terminal; run with --dry-run to see the steps, or --yes to go ahead)"),
        ))
    }

    /// The items as text, `sep` between them.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(["a", "b", 3].join(", ") == "a, b, 3", "joined");
    /// ```
    #[rhai_fn(name = "join", pure)]
    pub fn join(items: &mut rhai::Array, sep: &str) -> String {
        items.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(sep)
    }

    /// Whether this run is a `--dry-run`: mutating calls only say what
    /// they would do, so a script can word its report to match.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let verb = if is_dry_run() { "would vacuum" } else { "vacuumed" };
    /// ```
    pub fn is_dry_run() -> bool {
        crate::engine::context::ctx().dry_run()
    }

    /// What a step that changes something reports: `text` (what it did),
    /// or "skipped (dry run)" under `--dry-run`, so a check never claims
    /// work that did not happen. The shipped scripts' one idiom for it.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// // in a check: the work, then what it did
    /// check("Rotate the key", || done("rotated"));
    /// ```
    pub fn done(text: Dynamic) -> Dynamic {
        if crate::engine::context::ctx().dry_run() {
            Dynamic::from(SKIPPED.to_string())
        } else {
            text
        }
    }

    /// "skipped (dry run)": what a check returns when `--dry-run` skips
    /// its work before it starts.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// check("Upload", || { if is_dry_run() { return skipped(); } "uploaded" });
    /// ```
    pub fn skipped() -> String {
        SKIPPED.to_string()
    }

    /// Add an OK line to the report.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// ok("backups are fresh");
    /// ```
    pub fn ok(message: &str) {
        line(Level::Ok, message);
    }

    /// Add a WARNING line; the run's status becomes at least WARNING.
    ///
    /// *read-only*
    #[rhai_fn(name = "warn")]
    pub fn warn_line(message: &str) {
        line(Level::Warning, message);
    }

    /// Add a CRITICAL line; the run's status becomes CRITICAL.
    ///
    /// *read-only*
    pub fn crit(message: &str) {
        line(Level::Critical, message);
    }

    /// Add an UNKNOWN line: something could not be measured.
    ///
    /// *read-only*
    pub fn unknown(message: &str) {
        line(Level::Unknown, message);
    }

    /// Record what a step that `--dry-run` skipped would have done, as the
    /// "· would …" lines mutating host calls record: never a green ✓ for
    /// something that did not happen.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// if is_dry_run() { would("upload the dump to s3://backups/db/"); }
    /// ```
    pub fn would(text: &str) {
        report::dry_run_line(text);
    }

    /// Print an array of maps as an aligned table, one column per key of
    /// the first row (or the `columns` given). With `--format json` the
    /// section gets `tables: [#{columns, rows}]`, each row an object.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// table([#{role: "admin", n: 40}, #{role: "user", n: 19560}]);
    /// ```
    pub fn table(rows: Array) {
        let cols: Vec<String> = rows
            .first()
            .and_then(|r| r.read_lock::<Map>().map(|m| crate::report::table::columns_of(&m)))
            .unwrap_or_default();
        super::print_table(&rows, &cols);
    }

    /// Print an array of maps as a table with the given columns, in order.
    ///
    /// *read-only*
    #[rhai_fn(name = "table")]
    pub fn table_with(rows: Array, columns: Array) {
        let cols: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        super::print_table(&rows, &cols);
    }

    /// Throw an error unless `condition` holds.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(1 + 1 == 2, "arithmetic works");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn assert(condition: bool, message: &str) -> HostResult<()> {
        if condition {
            Ok(())
        } else {
            Err(error("", format!("assertion failed: {message}")))
        }
    }
}
