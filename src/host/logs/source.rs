//! Reading log files line by line, fast and in flat memory: plain files are
//! split into one byte range per core and read with `pread` into a fixed
//! buffer (no mmap: mapped pages would count against RSS), rotated `.gz`
//! files are streamed through a decoder. Lines longer than [`MAX_LINE`] are
//! reported to the caller as over-long and skipped, never buffered whole.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const MAX_LINE: usize = 64 * 1024;
const BUF: usize = 1 << 20;
/// Smaller files are not worth a second thread.
const PARALLEL_MIN: u64 = 8 << 20;

/// What a scan does with each line.
pub trait LineSink: Send {
    fn line(&mut self, line: &[u8]);
    /// A line over [`MAX_LINE`] bytes; `head` is its beginning.
    fn overlong(&mut self, head: &[u8]);
}

/// Paths matching `path_or_glob`, each confined to `[fs] roots`, oldest
/// first (so rotated files come before the live one).
pub fn resolve(func: &'static str, path_or_glob: &str) -> Result<Vec<PathBuf>, Box<rhai::EvalAltResult>> {
    use crate::host::error;
    let files: Vec<PathBuf> = if path_or_glob.contains(['*', '?', '[']) {
        crate::host::fs::confined_glob(func, path_or_glob)?.into_iter().filter(|p| p.is_file()).collect()
    } else {
        let p = crate::host::fs::confine(func, path_or_glob)?;
        if !p.is_file() {
            return Err(error(func, format!("{path_or_glob}: no such file")));
        }
        vec![p]
    };
    if files.is_empty() {
        return Err(error(func, format!("no file matches `{path_or_glob}`")));
    }
    let mut with_time: Vec<_> =
        files.into_iter().map(|p| (std::fs::metadata(&p).and_then(|m| m.modified()).ok(), p)).collect();
    with_time.sort();
    Ok(with_time.into_iter().map(|(_, p)| p).collect())
}

fn is_gz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "gz")
}

/// Scan every file; returns one sink per piece of work, in file order, so
/// "the first N" can be merged in order.
pub fn scan<S: LineSink>(files: &[PathBuf], new: impl Fn() -> S + Sync, parallel: bool) -> std::io::Result<Vec<S>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1);
    let mut out = Vec::new();
    for path in files {
        // Beneath its root: the path was confined when it was resolved.
        let file = crate::host::fs::open_beneath(path)?;
        if is_gz(path) {
            let mut sink = new();
            scan_gz(file, &mut sink)?;
            out.push(sink);
            continue;
        }
        let len = file.metadata()?.len();
        let parts = if parallel && len >= PARALLEL_MIN { threads as u64 } else { 1 };
        let bounds: Vec<(u64, u64)> = (0..parts).map(|i| (len * i / parts, len * (i + 1) / parts)).collect();
        let results: Vec<std::io::Result<S>> = std::thread::scope(|s| {
            let handles: Vec<_> = bounds
                .iter()
                .map(|&(start, end)| {
                    let file = &file;
                    let new = &new;
                    s.spawn(move || {
                        let mut sink = new();
                        scan_range(file, start, end, &mut sink).map(|_| sink)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        });
        for r in results {
            out.push(r?);
        }
    }
    Ok(out)
}

/// Lines that *start* in `[start, end)`; the last one may run past `end`.
fn scan_range<S: LineSink>(file: &File, start: u64, end: u64, sink: &mut S) -> std::io::Result<()> {
    let mut pos = start;
    if start > 0 {
        // Skip the line that began before our range: its owner reads it.
        let mut b = [0u8; 1];
        file.read_exact_at(&mut b, start - 1)?;
        if b[0] != b'\n' {
            let mut probe = vec![0u8; 64 * 1024];
            loop {
                let n = file.read_at(&mut probe, pos)?;
                if n == 0 {
                    return Ok(());
                }
                if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
                    pos += i as u64 + 1;
                    break;
                }
                pos += n as u64;
            }
        }
    }
    if pos >= end {
        return Ok(());
    }
    let mut buf = vec![0u8; BUF + MAX_LINE];
    let mut carry = 0usize; // bytes of an unfinished line at buf[..carry]
    let mut skipping = false; // inside an over-long line
    loop {
        stop_if_interrupted()?;
        let base = pos - carry as u64; // file offset of buf[0]
        let n = file.read_at(&mut buf[carry..carry + BUF], pos)?;
        if n == 0 {
            if carry > 0 && !skipping {
                sink.line(&buf[..carry]);
            }
            return Ok(());
        }
        pos += n as u64;
        let data = &buf[..carry + n];
        let mut line_start = 0usize;
        for nl in memchr::memchr_iter(b'\n', data) {
            if base + line_start as u64 >= end {
                return Ok(());
            }
            if skipping {
                skipping = false;
            } else if nl - line_start > MAX_LINE {
                sink.overlong(&data[line_start..line_start + 200]);
            } else {
                sink.line(&data[line_start..nl]);
            }
            line_start = nl + 1;
        }
        if base + line_start as u64 >= end {
            return Ok(());
        }
        let rest = data.len() - line_start;
        if skipping {
            carry = 0;
        } else if rest > MAX_LINE {
            sink.overlong(&data[line_start..line_start + 200]);
            skipping = true;
            carry = 0;
        } else {
            buf.copy_within(line_start..line_start + rest, 0);
            carry = rest;
        }
    }
}

fn scan_gz<S: LineSink>(file: File, sink: &mut S) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(256 * 1024, flate2::read::MultiGzDecoder::new(BufReader::new(file)));
    let mut line = Vec::with_capacity(1024);
    let mut n_lines = 0u64;
    loop {
        n_lines += 1;
        if n_lines % 8192 == 0 {
            stop_if_interrupted()?;
        }
        line.clear();
        // read_until stops at the newline or EOF; an over-long line is
        // consumed in bounded pieces.
        let n = (&mut r).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            sink.line(&line);
        } else if line.len() > MAX_LINE {
            sink.overlong(&line[..200]);
            // Drop the rest of it.
            loop {
                let buf = r.fill_buf()?;
                if buf.is_empty() {
                    return Ok(());
                }
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        r.consume(i + 1);
                        break;
                    }
                    None => {
                        let l = buf.len();
                        r.consume(l);
                    }
                }
            }
        } else {
            sink.line(&line); // last line without a newline
        }
    }
}

/// The run's deadline or a Ctrl-C ends a scan between blocks; the caller
/// turns this into the run's termination.
fn stop_if_interrupted() -> std::io::Result<()> {
    match crate::engine::context::ctx().interruption() {
        Some(why) => Err(std::io::Error::new(std::io::ErrorKind::Interrupted, why)),
        None => Ok(()),
    }
}
