//! What a run found: sections of checks, metrics and lines, each with a
//! level; the worst level is the run's status and its exit code.
//!
//! A run records into the process-wide [`Recorder`]; with the text format
//! on a terminal each item is also printed as it happens, so a slow check
//! shows progress instead of a silent pause.

pub mod json;
pub mod nagios;
pub mod prometheus;
pub mod table;
pub mod text;

use std::sync::Mutex;

use serde::Serialize;

use crate::exit::Exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }
    /// The level a status word names ("OK", "WARNING", …), as the history
    /// and the state folder keep it.
    pub fn from_name(name: &str) -> Option<Level> {
        [Level::Ok, Level::Warning, Level::Critical, Level::Unknown].into_iter().find(|l| l.name() == name)
    }

    pub fn exit(self) -> Exit {
        match self {
            Level::Ok => Exit::Ok,
            Level::Warning => Exit::Warning,
            Level::Critical => Exit::Critical,
            Level::Unknown => Exit::Unknown,
        }
    }
    /// Worse of two, where UNKNOWN ranks between WARNING and CRITICAL as in
    /// the plugin convention's "status of the service" sense: an unknown
    /// check must not hide a critical one, and must not read as fine.
    pub fn worst(self, other: Level) -> Level {
        fn rank(l: Level) -> u8 {
            match l {
                Level::Ok => 0,
                Level::Warning => 1,
                Level::Unknown => 2,
                Level::Critical => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub message: String,
    pub duration_ms: u64,
}

/// Which side of a metric's thresholds is bad, parsed once from `metric()`'s
/// `bound` option. Shown as "upper" / "lower" in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Higher is worse: `value >= crit` is CRITICAL (disk used, latency).
    #[default]
    Upper,
    /// Lower is worse: `value <= crit` is CRITICAL (hit rate, days left).
    Lower,
}

impl Bound {
    pub fn parse(text: Option<&str>) -> Result<Bound, String> {
        match text {
            None | Some("upper") => Ok(Bound::Upper),
            Some("lower") => Ok(Bound::Lower),
            Some(other) => Err(format!("option `bound` must be \"upper\" or \"lower\", not \"{other}\"")),
        }
    }

    /// Whether `value` has reached `threshold` on the bad side.
    pub fn reached(self, value: f64, threshold: f64) -> bool {
        match self {
            Bound::Upper => value >= threshold,
            Bound::Lower => value <= threshold,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    /// `None` when the value could not be measured (UNKNOWN).
    pub value: Option<f64>,
    pub level: Level,
    pub unit: Option<String>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub bound: Bound,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// `None` for `print`, a level for ok/warn/crit/unknown.
    pub level: Option<Level>,
    pub text: String,
    /// True for the "would …" lines of `--dry-run`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// For `table(rows)`: the rows themselves, which JSON gives instead of
    /// the aligned text people read.
    #[serde(skip)]
    pub table: Option<Table>,
}

/// A table's records: its columns in order, and each row as an object
/// with those keys.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<serde_json::Value>,
}

/// Mask every secret in the strings of `v`, however deep.
fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => crate::redact::in_place(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum Item {
    Check(Check),
    Metric(Metric),
    Line(Line),
}

impl Item {
    /// The level it counts for in the report's status (a plain line: OK).
    pub fn level(&self) -> Level {
        match self {
            Item::Check(c) => c.level,
            Item::Metric(m) => m.level,
            Item::Line(l) => l.level.unwrap_or(Level::Ok),
        }
    }

    /// Mask every secret in the item's texts (see [`Report::redact`]).
    pub fn redact(&mut self) {
        let mask = crate::redact::in_place;
        match self {
            Item::Check(c) => {
                mask(&mut c.name);
                mask(&mut c.message);
            }
            Item::Metric(m) => {
                mask(&mut m.name);
                if let Some(n) = &mut m.note {
                    mask(n);
                }
            }
            Item::Line(l) => {
                mask(&mut l.text);
                if let Some(t) = &mut l.table {
                    t.rows.iter_mut().for_each(redact_json);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Section {
    pub title: Option<String>,
    pub items: Vec<Item>,
    /// Why the step was not run ("[scripts.daily-check] skip"), when it
    /// was skipped: it then has no items, and is never shown as passed.
    pub skipped: Option<String>,
}

/// The key a step is skipped by: its title without the number, the
/// words in brackets or the punctuation ("8. Recent errors (last hour)"
/// is "recent-errors").
pub fn step_key(title: &str) -> String {
    let t = title.trim_start();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let t = match t[digits..].strip_prefix(['.', ')']) {
        Some(rest) if digits > 0 => rest,
        _ => t,
    };
    let t = t.split('(').next().unwrap_or(t);
    let mut key = String::new();
    for c in t.chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    key.trim_end_matches('-').to_string()
}

/// The error that ended a run early, with where it happened.
#[derive(Debug, Clone, Serialize)]
pub struct RunError {
    pub kind: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub script: String,
    pub summary: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub host: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: u64,
    pub dry_run: bool,
    pub sections: Vec<Section>,
    pub error: Option<RunError>,
}

impl Report {
    /// A report begun now on `host` (the machine's name, or the
    /// scheduler's for a run it records itself).
    pub fn new(
        script: &str,
        summary: &str,
        params: serde_json::Map<String, serde_json::Value>,
        dry_run: bool,
        host: String,
    ) -> Self {
        Report {
            script: script.into(),
            summary: summary.into(),
            params,
            host,
            started_at: chrono::Utc::now(),
            duration_ms: 0,
            dry_run,
            sections: vec![Section::default()],
            error: None,
        }
    }

    /// Mask every secret in the model itself, before any renderer escapes,
    /// encodes, indents or clips a text (after which the redactor could no
    /// longer recognise it). The renderers' output passes the redactor
    /// again on its way out.
    pub fn redact(&mut self) {
        use crate::redact::in_place as mask;
        fn mask_json(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => crate::redact::in_place(s),
                serde_json::Value::Array(a) => a.iter_mut().for_each(mask_json),
                serde_json::Value::Object(m) => m.values_mut().for_each(mask_json),
                _ => {}
            }
        }
        mask(&mut self.summary);
        self.params.values_mut().for_each(mask_json);
        for section in &mut self.sections {
            if let Some(t) = &mut section.title {
                mask(t);
            }
            section.items.iter_mut().for_each(Item::redact);
        }
        if let Some(e) = &mut self.error {
            mask(&mut e.message);
        }
    }

    pub fn status(&self) -> Level {
        let mut worst = if self.error.is_some() { Level::Unknown } else { Level::Ok };
        for item in self.items() {
            let l = item.level();
            worst = worst.worst(l);
        }
        worst
    }

    /// The exit code: the status, except that a script that failed is
    /// UNKNOWN (3) even when an earlier check was CRITICAL, because its
    /// report is incomplete.
    pub fn exit(&self) -> Exit {
        if let Some(e) = &self.error {
            match e.kind.as_str() {
                "interrupted" => Exit::Interrupted,
                "terminated" => Exit::Terminated,
                _ => Exit::Unknown,
            }
        } else {
            self.status().exit()
        }
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// Each item with the name of its section when the item's name (a
    /// check's, a metric's) is used in several sections — a check per job,
    /// a metric per site — where the name alone is ambiguous on one line
    /// (Nagios) or one series (Prometheus). The section's name is its title
    /// up to a parenthesis or `·`: "backup-db" of "backup-db (0 2 * * *)".
    pub fn items_placed(&self) -> impl Iterator<Item = (Option<&str>, &Item)> {
        fn name_of(i: &Item) -> Option<&str> {
            match i {
                Item::Check(c) => Some(c.name.as_str()),
                Item::Metric(m) => Some(m.name.as_str()),
                _ => None,
            }
        }
        let shared = move |name: &str| {
            self.sections.iter().filter(|s| s.items.iter().any(|i| name_of(i) == Some(name))).count() > 1
        };
        self.sections.iter().flat_map(move |s| {
            s.items.iter().map(move |i| {
                let place = match (&s.title, name_of(i)) {
                    (Some(t), Some(n)) if shared(n) => {
                        let cut = [t.find(" ("), t.find(" · ")].into_iter().flatten().min().unwrap_or(t.len());
                        Some(&t[..cut])
                    }
                    _ => None,
                };
                (place, i)
            })
        })
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for item in self.items() {
            let level = match item {
                Item::Check(x) => {
                    c.checks += 1;
                    x.level
                }
                Item::Metric(x) => {
                    c.metrics += 1;
                    x.level
                }
                Item::Line(x) => x.level.unwrap_or(Level::Ok),
            };
            match level {
                Level::Ok => {}
                Level::Warning => c.warnings += 1,
                Level::Critical => c.critical += 1,
                Level::Unknown => c.unknown += 1,
            }
        }
        c
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub checks: usize,
    pub metrics: usize,
    pub warnings: usize,
    pub critical: usize,
    pub unknown: usize,
}

/// Where a running script's report accumulates, and the live printer.
pub struct Recorder {
    pub report: Report,
    pub live: Option<text::Live>,
    /// The step keys not to run, each with where that was said.
    skip: Vec<(String, String)>,
}

static RECORDER: Mutex<Option<Recorder>> = Mutex::new(None);

/// Start recording; with `heading`, the live printer first prints the
/// report's heading line (the REPL has a banner of its own instead).
pub fn start(report: Report, live: Option<text::Live>, heading: bool) {
    let mut r = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    if let (Some(l), true) = (&live, heading) {
        l.start(&report);
    }
    *r = Some(Recorder { report, live, skip: vec![] });
}

/// Take the finished report out of the recorder, with the live printer
/// that showed it (to end it).
pub fn finish_live() -> Option<(Report, Option<text::Live>)> {
    RECORDER.lock().unwrap_or_else(|e| e.into_inner()).take().map(|r| (r.report, r.live))
}

/// Piped output held back by the live printer goes out now (before a
/// prompt, or before the process ends at once). Never waits: a recorder
/// busy on another thread is left alone.
pub fn release_held() {
    if let Ok(guard) = RECORDER.try_lock() {
        if let Some(live) = guard.as_ref().and_then(|r| r.live.as_ref()) {
            live.release();
        }
    }
}

pub fn with<T>(f: impl FnOnce(&mut Recorder) -> T) -> Option<T> {
    let mut r = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    r.as_mut().map(f)
}

thread_local! {
    /// What this thread reports while [`capture`] holds it back.
    static CAPTURED: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

struct Captured {
    title: String,
    sections: Vec<Section>,
}

/// Run `f` with what it reports on this thread kept apart, under a
/// section titled `title` (a `section(t)` inside starts "`title` · t"),
/// and hand back those sections: `fleet::each` runs a closure per target
/// on threads of their own, and each target's lines must come out
/// together, in the targets' order, not interleaved as they happened.
pub fn capture<T>(title: &str, f: impl FnOnce() -> T) -> (T, Vec<Section>) {
    let first = Section { title: Some(title.into()), items: vec![], skipped: None };
    let before = CAPTURED.with(|c| c.replace(Some(Captured { title: title.into(), sections: vec![first] })));
    let out = f();
    let captured = CAPTURED.with(|c| c.replace(before));
    (out, captured.map(|c| c.sections).unwrap_or_default())
}

/// The title [`capture`] holds this thread's report under, if it does.
pub fn captured_title() -> Option<String> {
    CAPTURED.with(|c| c.borrow().as_ref().map(|cap| cap.title.clone()))
}

/// Add sections made apart (by [`capture`]) to the run's report, printing
/// them as a section of its own is printed.
pub fn append(sections: Vec<Section>) {
    with(|rec| {
        for section in sections {
            if let Some(live) = &rec.live {
                live.section(section.title.as_deref().unwrap_or(""), section.skipped.as_deref());
                for item in &section.items {
                    live.item(item);
                }
            }
            let s = &mut rec.report.sections;
            if s.len() == 1 && s[0].title.is_none() && s[0].items.is_empty() {
                s[0] = section;
            } else {
                s.push(section);
            }
        }
    });
}

/// `item` kept by [`capture`], or given back when this thread is not captured.
fn kept_apart(item: Item) -> Option<Item> {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(cap) => {
            if let Some(s) = cap.sections.last_mut() {
                s.items.push(item);
            }
            None
        }
        None => Some(item),
    })
}

pub fn push(mut item: Item) {
    // Masked before the live printer indents a multi-line text.
    item.redact();
    let Some(item) = kept_apart(item) else { return };
    let printed = with(|rec| {
        if let Some(live) = &rec.live {
            live.item(&item);
        }
        if let Some(section) = rec.report.sections.last_mut() {
            section.items.push(item.clone());
        }
    });
    if printed.is_none() {
        // No run is recording (e.g. `runbook check`): say it on stderr.
        if let Item::Line(l) = &item {
            crate::output::err(&l.text);
        }
    }
}

/// Steps (by [`step_key`]) that this run does not run, each with where
/// that was asked ("[scripts.daily-check] skip", "--skip").
pub fn skip_steps(steps: Vec<(String, String)>) {
    with(|rec| rec.skip = steps);
}

/// Start a section; `false` when the step is skipped, and the script's
/// `if section(…) { … }` then leaves the step's block out.
pub fn section(title: &str) -> bool {
    if captured_title().is_some() {
        // A step inside a closure is skipped by its own title's key, as it
        // would be outside one.
        let skipped = with(|rec| {
            let key = step_key(title);
            rec.skip.iter().find(|(k, _)| *k == key).map(|(_, why)| why.clone())
        })
        .flatten();
        let run = skipped.is_none();
        CAPTURED.with(|c| {
            if let Some(cap) = c.borrow_mut().as_mut() {
                let title = format!("{} · {title}", cap.title);
                cap.sections.push(Section { title: Some(title), items: vec![], skipped });
            }
        });
        return run;
    }
    with(|rec| {
        // Most runs skip nothing: no key to make then.
        let skipped = if rec.skip.is_empty() {
            None
        } else {
            let key = step_key(title);
            rec.skip.iter().find(|(k, _)| *k == key).map(|(_, why)| why.clone())
        };
        if let Some(live) = &rec.live {
            live.section(title, skipped.as_deref());
        }
        let s = &mut rec.report.sections;
        let run = skipped.is_none();
        if s.len() == 1 && s[0].title.is_none() && s[0].items.is_empty() {
            s[0].title = Some(title.into());
            s[0].skipped = skipped;
        } else {
            s.push(Section { title: Some(title.into()), items: vec![], skipped });
        }
        run
    })
    .unwrap_or(true)
}

/// Whether the step `key` is one this run skips.
pub fn is_skipped(key: &str) -> bool {
    with(|rec| rec.skip.iter().any(|(k, _)| k == key)).unwrap_or(false)
}

pub fn print_line(text: &str) {
    push(Item::Line(Line { level: None, text: text.into(), dry_run: false, table: None }));
}

/// A table: printed as `text`, kept as `table` for JSON.
pub fn print_table(text: &str, table: Table) {
    push(Item::Line(Line { level: None, text: text.into(), dry_run: false, table: Some(table) }));
}

/// How many "would …" lines the run has recorded so far: a check whose
/// body added one was skipped by the dry run, not passed.
pub fn dry_run_lines() -> usize {
    let is_dry = |i: &Item| matches!(i, Item::Line(l) if l.dry_run);
    let apart = CAPTURED.with(|c| {
        c.borrow().as_ref().map(|cap| cap.sections.iter().flat_map(|s| &s.items).filter(|i| is_dry(i)).count())
    });
    if let Some(n) = apart {
        return n;
    }
    with(|rec| rec.report.sections.iter().flat_map(|s| &s.items).filter(|i| is_dry(i)).count()).unwrap_or(0)
}

pub fn dry_run_line(text: &str) {
    push(Item::Line(Line { level: None, text: format!("would {text}"), dry_run: true, table: None }));
}
