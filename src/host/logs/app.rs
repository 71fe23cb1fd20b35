//! Application logs ("2026-02-14 12:00:01,123 ERROR [app.api] message"):
//! errors per hour and the top messages, with numbers, ids and hex
//! normalised away so the same error groups together.

use std::collections::BTreeMap;

use rhai::{Array, Dynamic, Map};

use super::counter::Counter;
use super::source::LineSink;

pub struct Options {
    pub level: Vec<u8>,
    pub since: Option<i64>,
    pub top: usize,
    pub key_cap: usize,
}

pub struct Stats<'a> {
    o: &'a Options,
    finder: memchr::memmem::Finder<'a>,
    total: u64,
    per_hour: BTreeMap<String, u64>,
    messages: Counter,
    filtered: u64,
}

impl<'a> Stats<'a> {
    pub fn new(o: &'a Options) -> Self {
        Stats {
            o,
            finder: memchr::memmem::Finder::new(&o.level),
            total: 0,
            per_hour: BTreeMap::new(),
            messages: Counter::new(o.key_cap),
            filtered: 0,
        }
    }

    pub fn merge(&mut self, o: Stats) {
        self.total += o.total;
        for (k, v) in o.per_hour {
            *self.per_hour.entry(k).or_insert(0) += v;
        }
        self.messages.merge(o.messages);
        self.filtered += o.filtered;
    }

    pub fn into_map(mut self, files: &[std::path::PathBuf]) -> Map {
        let mut m = Map::new();
        m.insert(
            "files".into(),
            Dynamic::from_array(files.iter().map(|f| Dynamic::from(f.display().to_string())).collect()),
        );
        m.insert("total".into(), Dynamic::from_int(self.total as i64));
        let hours: Array = self
            .per_hour
            .into_iter()
            .map(|(h, n)| {
                let mut x = Map::new();
                x.insert("hour".into(), Dynamic::from(h));
                x.insert("count".into(), Dynamic::from_int(n as i64));
                Dynamic::from_map(x)
            })
            .collect();
        m.insert("per_hour".into(), Dynamic::from_array(hours));
        let top: Array = self
            .messages
            .top(self.o.top)
            .into_iter()
            .map(|(k, n)| {
                let mut x = Map::new();
                x.insert("message".into(), Dynamic::from(k));
                x.insert("count".into(), Dynamic::from_int(n as i64));
                Dynamic::from_map(x)
            })
            .collect();
        m.insert("top_messages".into(), Dynamic::from_array(top));
        m.insert("outside_window".into(), Dynamic::from_int(self.filtered as i64));
        m.insert("approximate".into(), Dynamic::from_bool(self.messages.approximate()));
        m
    }
}

/// "2026-02-14 12:00:01,123 …" → Unix seconds, if the line starts so.
pub fn leading_time(line: &[u8]) -> Option<i64> {
    if line.len() < 19
        || line[4] != b'-'
        || line[7] != b'-'
        || !(line[10] == b' ' || line[10] == b'T')
        || line[13] != b':'
    {
        return None;
    }
    let d = |r: std::ops::Range<usize>| std::str::from_utf8(&line[r]).ok()?.parse::<i64>().ok();
    let days = super::nginx::days_from_civil(d(0..4)?, d(5..7)?, d(8..10)?);
    Some(days * 86400 + d(11..13)? * 3600 + d(14..16)? * 60 + d(17..19)?)
}

/// `cut -d' ' -f1,2 | cut -d: -f1`: "2026-02-14 12".
fn hour_key(line: &[u8]) -> Option<&[u8]> {
    let mut spaces = line.iter().enumerate().filter(|(_, &c)| c == b' ').map(|(i, _)| i);
    let _first = spaces.next()?;
    let second = spaces.next().unwrap_or(line.len());
    let f12 = &line[..second];
    Some(match memchr::memchr(b':', f12) {
        Some(i) => &f12[..i],
        None => f12,
    })
}

/// What lines are grouped by: `cut -d']' -f2-`, the text after the
/// logger's name, else after the level word (which ends at `level_end`);
/// trimmed, with numbers and ids normalised.
pub fn message(line: &[u8], level_end: usize) -> Vec<u8> {
    let msg = match memchr::memchr(b']', line) {
        Some(i) => &line[i + 1..],
        None => &line[level_end.min(line.len())..],
    };
    normalize(msg.trim_ascii())
}

/// Numbers → `<n>`, hex and uuid-like ids → `<id>`.
pub fn normalize(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len());
    let mut i = 0;
    while i < msg.len() {
        let c = msg[i];
        let starts_word = i == 0 || !msg[i - 1].is_ascii_alphanumeric();
        if starts_word && (c.is_ascii_hexdigit() || c == b'-') {
            let mut j = i;
            while j < msg.len() && (msg[j].is_ascii_hexdigit() || msg[j] == b'-') {
                j += 1;
            }
            let run = &msg[i..j];
            let ends_word = j == msg.len() || !msg[j].is_ascii_alphanumeric();
            let has_digit = run.iter().any(u8::is_ascii_digit);
            if ends_word && has_digit {
                if run.iter().all(|b| b.is_ascii_digit() || *b == b'-')
                    && run.iter().filter(|b| **b == b'-').count() <= 1
                    && run.len() < 8
                {
                    out.extend_from_slice(b"<n>");
                } else if run.len() >= 8 || run.iter().all(u8::is_ascii_digit) {
                    out.extend_from_slice(b"<id>");
                } else {
                    out.extend_from_slice(run);
                }
                i = j;
                continue;
            }
        }
        if c == b'0' && msg.get(i + 1) == Some(&b'x') && starts_word {
            let mut j = i + 2;
            while j < msg.len() && msg[j].is_ascii_hexdigit() {
                j += 1;
            }
            out.extend_from_slice(b"<id>");
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

impl LineSink for Stats<'_> {
    fn line(&mut self, line: &[u8]) {
        let Some(at) = self.finder.find(line) else { return };
        if let Some(since) = self.o.since {
            if leading_time(line).is_some_and(|t| t < since) {
                self.filtered += 1;
                return;
            }
        }
        self.total += 1;
        if let Some(h) = hour_key(line) {
            let h = String::from_utf8_lossy(h);
            match self.per_hour.get_mut(h.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    self.per_hour.insert(h.into_owned(), 1);
                }
            }
        }
        self.messages.add(&message(line, at + self.o.level.len()));
    }

    fn overlong(&mut self, _head: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_numbers_and_ids() {
        assert_eq!(normalize(b"user 123 failed after 3 tries"), b"user <n> failed after <n> tries");
        assert_eq!(normalize(b"task 8f14e45f-ceea-467f-a0e6-2b4f1c5e9a11 lost"), b"task <id> lost");
        assert_eq!(normalize(b"at 0xdeadbeef in v2 handler"), b"at <id> in v2 handler");
        assert_eq!(normalize(b"id=98765432 dead"), b"id=<id> dead");
        assert_eq!(normalize(b"cafe decade"), b"cafe decade");
    }

    #[test]
    fn reads_the_hour_and_time() {
        let l = b"2026-02-14 12:00:01,123 ERROR [app.api] boom";
        assert_eq!(hour_key(l), Some(&b"2026-02-14 12"[..]));
        assert_eq!(leading_time(l), Some(1771070401));
    }
}
