//! The text renderer: symbols and colour on a terminal, plain when piped
//! or when `NO_COLOR` is set. Used live (item by item) and in one go.

use std::fmt::Write;

use super::{Check, Item, Level, Line, Metric, Report};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn for_stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style { color: !no_color && crate::output::stdout_is_terminal() }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn level(&self, l: Level, s: &str) -> String {
        self.paint(
            match l {
                Level::Ok => "32",
                Level::Warning => "33",
                Level::Critical => "31",
                Level::Unknown => "35",
            },
            s,
        )
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

pub fn symbol(l: Level) -> &'static str {
    match l {
        Level::Ok => "✓",
        Level::Warning => "!",
        Level::Critical => "✗",
        Level::Unknown => "?",
    }
}

/// Prints items to stdout as they are recorded.
///
/// Piped or redirected (`held`), a script that only prints prints exactly
/// its lines, so `runbook run newest-users | grep x` works: the heading and
/// the printed lines wait until the script reports anything else (a check,
/// a metric, a level, a section, a "would …" line), which brings the whole
/// frame; if it never does, only the lines come out, as `print` wrote them.
pub struct Live {
    pub style: Style,
    /// The heading is out and no section has opened: the first item needs
    /// the blank line a section title would have brought.
    gap: std::sync::atomic::AtomicBool,
    state: std::sync::Mutex<Held>,
}

/// How many printed lines a pipe waits for before they stream as they come.
const HOLD_AT_MOST: usize = 1000;

enum Held {
    /// The report frame is out (a terminal, or the script has reported).
    Framed,
    /// Piped: the heading and the printed lines so far, not yet written.
    Holding { heading: String, lines: Vec<Item> },
    /// Piped, the printed lines already out as they were (too many to
    /// hold, or a prompt or a second signal came): the heading waits for a
    /// report item, if one comes.
    Plain { heading: String },
}

impl Live {
    /// On a terminal: the frame from the first line.
    pub fn new(style: Style) -> Self {
        Live { style, gap: false.into(), state: std::sync::Mutex::new(Held::Framed) }
    }

    /// Piped or redirected: printed lines alone unless the script reports.
    pub fn piped(style: Style) -> Self {
        let live = Live::new(style);
        *live.state() = Held::Holding { heading: String::new(), lines: vec![] };
        live
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Held> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn start(&self, r: &Report) {
        self.gap.store(true, std::sync::atomic::Ordering::Relaxed);
        match &mut *self.state() {
            Held::Holding { heading: h, .. } | Held::Plain { heading: h } => *h = heading(r, self.style),
            Held::Framed => crate::output::out(&heading(r, self.style)),
        }
    }

    /// The script reported something (or failed): out with the frame.
    pub fn frame(&self) {
        let mut state = self.state();
        match std::mem::replace(&mut *state, Held::Framed) {
            Held::Framed => {}
            Held::Holding { heading, lines } => {
                drop(state);
                crate::output::out(&heading);
                for item in &lines {
                    self.print(item);
                }
            }
            Held::Plain { heading } => crate::output::out(&heading),
        }
    }

    /// The printed lines held so far go out as they are, and what the
    /// script prints next streams: before a prompt (so the question comes
    /// after what it is about), before a second signal ends the process,
    /// and past [`HOLD_AT_MOST`] lines.
    pub fn release(&self) {
        let mut state = self.state();
        if let Held::Holding { heading, lines } = std::mem::replace(&mut *state, Held::Framed) {
            *state = Held::Plain { heading };
            drop(state);
            crate::output::out(&printed_lines(&lines));
        }
    }

    pub fn section(&self, title: &str, skipped: Option<&str>) {
        self.frame();
        self.gap.store(false, std::sync::atomic::Ordering::Relaxed);
        crate::output::out(&format!("\n{}\n", self.style.bold(&inert(title))));
        if let Some(why) = skipped {
            crate::output::out(&skipped_line(why, self.style));
        }
    }

    pub fn item(&self, item: &Item) {
        let printed = matches!(item, Item::Line(l) if l.level.is_none() && !l.dry_run);
        if printed {
            let mut state = self.state();
            match &mut *state {
                Held::Holding { lines, .. } => {
                    lines.push(item.clone());
                    let full = lines.len() >= HOLD_AT_MOST;
                    drop(state);
                    if full {
                        self.release();
                    }
                    return;
                }
                Held::Plain { .. } => {
                    drop(state);
                    crate::output::out(&printed_lines(std::slice::from_ref(item)));
                    return;
                }
                Held::Framed => {}
            }
        }
        self.frame();
        self.print(item);
    }

    fn print(&self, item: &Item) {
        let gap = if self.gap.swap(false, std::sync::atomic::Ordering::Relaxed) { "\n" } else { "" };
        crate::output::out(&format!("{gap}{}", item_line(item, self.style)));
    }

    /// A run that failed or was stopped keeps its frame: the status line
    /// says what happened, even to a pipe.
    pub fn end(&self, r: &Report) {
        if r.error.is_some() {
            self.frame();
        }
        let mut state = self.state();
        match std::mem::replace(&mut *state, Held::Framed) {
            Held::Holding { lines, .. } => crate::output::out(&printed_lines(&lines)),
            Held::Plain { .. } => {}
            Held::Framed => crate::output::out(&footer(r, self.style)),
        }
    }
}

/// A report of printed lines only (no check, metric, level, section or
/// "would …" line) of a run that did not fail and was no dry run: those lines as `print`
/// wrote them, for a file or a pipe.
pub fn printed_only(r: &Report) -> Option<String> {
    if r.error.is_some() || r.dry_run {
        return None;
    }
    let mut items = vec![];
    for s in &r.sections {
        if s.title.is_some() {
            return None;
        }
        for item in &s.items {
            match item {
                Item::Line(l) if l.level.is_none() && !l.dry_run => items.push(item.clone()),
                _ => return None,
            }
        }
    }
    Some(printed_lines(&items))
}

fn printed_lines(items: &[Item]) -> String {
    let mut out = String::new();
    for item in items {
        if let Item::Line(l) = item {
            out.push_str(&inert(&l.text));
            out.push('\n');
        }
    }
    out
}

/// Text from outside (container logs, nginx lines, a web page) made inert
/// for a terminal: control characters other than newline and tab are
/// shown as escapes (`\e[2J`, `\x07`), never sent raw, so a log line cannot
/// clear the screen, retitle the window, reorder or hide what follows. Colours are
/// added after this, by the renderer itself.
pub fn inert(s: &str) -> std::borrow::Cow<'_, str> {
    // Bidirectional overrides too: they reorder what follows on screen.
    let risky = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(risky) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            c if risky(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if risky(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn heading(r: &Report, style: Style) -> String {
    let dry = if r.dry_run { "  [dry run: nothing is changed]" } else { "" };
    let summary = if r.summary.is_empty() { String::new() } else { format!(" — {}", inert(&r.summary)) };
    format!("{}{summary}{}\n", style.bold(&inert(&r.script)), style.dim(dry))
}

pub fn render(r: &Report, style: Style) -> String {
    let mut out = heading(r, style);
    for (i, s) in r.sections.iter().enumerate() {
        if let Some(t) = &s.title {
            let _ = write!(out, "\n{}\n", style.bold(&inert(t)));
        } else if i > 0 || !s.items.is_empty() {
            out.push('\n');
        }
        if let Some(why) = &s.skipped {
            out.push_str(&skipped_line(why, style));
        }
        for item in &s.items {
            out.push_str(&item_line(item, style));
        }
    }
    out.push_str(&footer(r, style));
    out
}

/// A skipped step: neither passed nor failed.
fn skipped_line(why: &str, style: Style) -> String {
    format!("  {} skipped ({})\n", style.dim("-"), inert(why))
}

pub fn item_line(item: &Item, style: Style) -> String {
    match item {
        Item::Check(c) => check_line(c, style),
        Item::Metric(m) => metric_line(m, style),
        Item::Line(l) => plain_line(l, style),
    }
}

fn check_line(c: &Check, style: Style) -> String {
    let sym = style.level(c.level, symbol(c.level));
    if c.message.is_empty() {
        format!("  {sym} {}\n", inert(&c.name))
    } else {
        format!("  {sym} {}: {}\n", inert(&c.name), first_line_and_rest(&inert(&c.message)))
    }
}

fn metric_line(m: &Metric, style: Style) -> String {
    let sym = style.level(m.level, symbol(m.level));
    let value = match m.value {
        Some(v) => format!("{}{}", format_number(v), unit_suffix(m.unit.as_deref())),
        None => "unknown".into(),
    };
    // A level starts at its threshold: `warn 85` is 85 and over, and on a
    // lower bound `warn ≤30` is 30 and under.
    let mut limits = Vec::new();
    if let Some(w) = m.warn {
        limits.push(format!("warn {}{}", if m.bound == super::Bound::Lower { "≤" } else { "" }, format_number(w)));
    }
    if let Some(c) = m.crit {
        limits.push(format!("crit {}{}", if m.bound == super::Bound::Lower { "≤" } else { "" }, format_number(c)));
    }
    let limits = if limits.is_empty() { String::new() } else { style.dim(&format!("  ({})", limits.join(", "))) };
    let note = m.note.as_deref().map(|n| format!(" — {}", inert(n))).unwrap_or_default();
    format!("  {sym} {}: {value}{note}{limits}\n", inert(&m.name))
}

fn plain_line(l: &Line, style: Style) -> String {
    let text = inert(&l.text);
    match l.level {
        Some(level) => format!("  {} {}\n", style.level(level, symbol(level)), text),
        None if l.dry_run => format!("  {}\n", style.dim(&format!("· {text}"))),
        None => format!("  {}\n", text.replace('\n', "\n  ")),
    }
}

fn first_line_and_rest(s: &str) -> String {
    s.trim_end().replace('\n', "\n      ")
}

fn unit_suffix(unit: Option<&str>) -> String {
    match unit {
        None | Some("") => String::new(),
        Some("%") => "%".into(),
        Some(u) => format!(" {u}"),
    }
}

/// Bytes as a human size: 1536 → "1.5 KiB".
pub fn human_bytes(n: i64) -> String {
    let mut v = n as f64;
    for u in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if v.abs() < 1024.0 {
            return if u == "B" { format!("{n} B") } else { format!("{v:.1} {u}") };
        }
        v /= 1024.0;
    }
    format!("{v:.1} PiB")
}

/// Integers without a decimal point; other values to at most 2 decimals,
/// and under 1 to 3 significant digits: 7.5 ms is "0.0075 s", not "0.01 s".
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let decimals = match v.abs() {
        a if a >= 1.0 || !a.is_normal() => 2,
        a => (2 - a.log10().floor() as i32).clamp(2, 12) as usize,
    };
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn footer(r: &Report, style: Style) -> String {
    let c = r.counts();
    let status = r.status();
    let mut parts = vec![];
    // The status is the worst level seen; a script that stopped exits 3
    // whatever that was, because its report is incomplete. Say so here,
    // or "CRITICAL" and exit 3 read as a contradiction.
    if let Some(e) = &r.error {
        parts.push(match r.exit() {
            crate::exit::Exit::Interrupted => "interrupted (exit 130)".to_string(),
            crate::exit::Exit::Terminated => "stopped by SIGTERM (exit 143)".to_string(),
            code => format!(
                "stopped by {} (exit {})",
                if e.kind == "timeout" { "its time limit" } else { "an error" },
                code as u8
            ),
        });
    }
    if c.critical > 0 {
        parts.push(format!("{} critical", c.critical));
    }
    if c.warnings > 0 {
        parts.push(format!("{} warning{}", c.warnings, if c.warnings == 1 { "" } else { "s" }));
    }
    if c.unknown > 0 {
        parts.push(format!("{} unknown", c.unknown));
    }
    parts.push(format!("{} check{}", c.checks, if c.checks == 1 { "" } else { "s" }));
    parts.push(format!("{} metric{}", c.metrics, if c.metrics == 1 { "" } else { "s" }));
    let skipped = r.sections.iter().filter(|s| s.skipped.is_some()).count();
    if skipped > 0 {
        parts.push(format!("{skipped} step{} skipped", if skipped == 1 { "" } else { "s" }));
    }
    let mut out = String::new();
    if let Some(e) = &r.error {
        let _ = writeln!(out, "\n  {} {}: {}", style.level(Level::Unknown, "?"), e.kind, inert(&e.message));
    }
    let _ = writeln!(out, "\n{} · {} · {} ms", style.level(status, status.name()), parts.join(" · "), r.duration_ms);
    out
}
