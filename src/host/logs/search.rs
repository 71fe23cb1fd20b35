//! `logs::grep`, `logs::count` and `logs::tail`.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use rhai::{Array, Dynamic, Map};

use super::source::{self, LineSink};

pub fn compile(pattern: &str, ignore_case: bool) -> Result<Regex, String> {
    regex::bytes::RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(10 << 20)
        .build()
        .map_err(|e| format!("bad regex `{pattern}`: {e}"))
}

pub struct Count<'a> {
    re: &'a Regex,
    pub n: u64,
}

impl<'a> Count<'a> {
    pub fn new(re: &'a Regex) -> Self {
        Count { re, n: 0 }
    }
}

impl LineSink for Count<'_> {
    fn line(&mut self, line: &[u8]) {
        if self.re.is_match(line) {
            self.n += 1;
        }
    }
    fn overlong(&mut self, head: &[u8]) {
        if self.re.is_match(head) {
            self.n += 1;
        }
    }
}

pub struct GrepOptions {
    pub since: Option<i64>,
    pub max: usize,
    pub last: Option<usize>,
    pub context: usize,
}

struct Match {
    file: String,
    line: u64,
    text: String,
    before: Vec<String>,
    after: Vec<String>,
}

struct Grep<'a> {
    re: &'a Regex,
    o: &'a GrepOptions,
    file: String,
    line_no: u64,
    recent: VecDeque<String>,
    found: VecDeque<Match>,
    /// Matches whose `after` context is still being filled.
    pending_after: usize,
    in_window: bool,
    done: bool,
}

fn text(l: &[u8]) -> String {
    String::from_utf8_lossy(&l[..l.len().min(4096)]).into_owned()
}

impl LineSink for Grep<'_> {
    fn line(&mut self, line: &[u8]) {
        self.line_no += 1;
        if self.done {
            return;
        }
        if let Some(since) = self.o.since {
            // Lines without a time of their own belong to the last one seen.
            if let Some(t) = super::app::leading_time(line) {
                self.in_window = t >= since;
            }
        }
        if self.o.context > 0 && self.pending_after > 0 {
            let n = self.found.len();
            for m in self.found.iter_mut().skip(n - self.pending_after.min(n)) {
                if m.after.len() < self.o.context {
                    m.after.push(text(line));
                }
            }
            self.pending_after = self.found.iter().rev().take_while(|m| m.after.len() < self.o.context).count();
        }
        if self.in_window && self.re.is_match(line) {
            self.found.push_back(Match {
                file: self.file.clone(),
                line: self.line_no,
                text: text(line),
                before: self.recent.iter().cloned().collect(),
                after: vec![],
            });
            if self.o.context > 0 {
                self.pending_after += 1;
            }
            if let Some(last) = self.o.last {
                while self.found.len() > last {
                    self.found.pop_front();
                }
            } else if self.found.len() >= self.o.max {
                self.done = self.pending_after == 0 || self.o.context == 0;
            }
        }
        if self.o.context > 0 {
            self.recent.push_back(text(line));
            if self.recent.len() > self.o.context {
                self.recent.pop_front();
            }
        }
    }
    fn overlong(&mut self, head: &[u8]) {
        self.line(head);
    }
}

pub fn grep(files: &[PathBuf], re: &Regex, o: &GrepOptions) -> std::io::Result<Array> {
    let mut out = Array::new();
    let mut remaining = o.max;
    for f in files {
        let file = f.display().to_string();
        let mut parts = source::scan(
            std::slice::from_ref(f),
            || Grep {
                re,
                o,
                file: file.clone(),
                line_no: 0,
                recent: VecDeque::new(),
                found: VecDeque::new(),
                pending_after: 0,
                in_window: o.since.is_none(),
                done: false,
            },
            false,
        )?;
        #[allow(clippy::expect_used, reason = "scan returns one part per range, and a sequential scan has one")]
        let g = parts.pop().expect("one part for a sequential scan");
        for m in g.found {
            if o.last.is_none() && remaining == 0 {
                break;
            }
            remaining = remaining.saturating_sub(1);
            let mut x = Map::new();
            x.insert("file".into(), Dynamic::from(m.file));
            x.insert("line".into(), Dynamic::from_int(m.line as i64));
            x.insert("text".into(), Dynamic::from(m.text));
            if o.context > 0 {
                x.insert("before".into(), Dynamic::from_array(m.before.into_iter().map(Dynamic::from).collect()));
                x.insert("after".into(), Dynamic::from_array(m.after.into_iter().map(Dynamic::from).collect()));
            }
            out.push(Dynamic::from_map(x));
        }
    }
    if let Some(last) = o.last {
        let skip = out.len().saturating_sub(last);
        out.drain(..skip);
    }
    Ok(out)
}

/// The last `n` lines, reading backwards in blocks from the end.
pub fn tail(path: &Path, n: usize) -> std::io::Result<Vec<String>> {
    if n == 0 {
        return Ok(vec![]);
    }
    if path.extension().is_some_and(|e| e == "gz") {
        struct Ring(VecDeque<String>, usize);
        impl LineSink for Ring {
            fn line(&mut self, l: &[u8]) {
                self.0.push_back(text(l));
                if self.0.len() > self.1 {
                    self.0.pop_front();
                }
            }
            fn overlong(&mut self, h: &[u8]) {
                self.line(h);
            }
        }
        let mut parts = source::scan(&[path.to_path_buf()], || Ring(VecDeque::new(), n), false)?;
        return Ok(parts.pop().map(|r| r.0.into_iter().collect()).unwrap_or_default());
    }
    let mut f = crate::host::fs::open_beneath(path)?;
    let len = f.seek(SeekFrom::End(0))?;
    let mut pos = len;
    let mut buf: Vec<u8> = Vec::new();
    const BLOCK: u64 = 64 * 1024;
    loop {
        let newlines = memchr::memchr_iter(b'\n', &buf).count();
        let trailing = buf.last() == Some(&b'\n');
        if newlines > n + usize::from(trailing) || pos == 0 || buf.len() > 64 << 20 {
            break;
        }
        let start = pos.saturating_sub(BLOCK);
        let mut block = vec![0u8; (pos - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
        pos = start;
    }
    let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let mut lines: Vec<String> = body.rsplit(|&c| c == b'\n').take(n).map(text).collect();
    if pos > 0 && lines.len() == n + 1 {
        lines.pop();
    }
    lines.reverse();
    Ok(lines)
}
