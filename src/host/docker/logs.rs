//! `docker::logs` and `docker::count_logs`: the engine's log stream,
//! stdout and stderr demultiplexed, split into lines as it arrives, so a
//! count over a day of logs holds one line at a time.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;
use rhai::{Dynamic, Map};

use super::client::{client, explain};
use super::resolve::resolve;
use crate::engine::runtime;
use crate::host::opts::Opts;
use crate::host::time::{parse_timestamp, Span, Timestamp};
use crate::host::{error, HostResult};

/// Which of the container's streams to read.
#[derive(Clone, Copy)]
pub struct Streams {
    pub stdout: bool,
    pub stderr: bool,
}

pub fn streams(func: &str, o: &Opts) -> HostResult<Streams> {
    match o.str("stream")?.as_deref() {
        None | Some("both") => Ok(Streams { stdout: true, stderr: true }),
        Some("stdout") => Ok(Streams { stdout: true, stderr: false }),
        Some("stderr") => Ok(Streams { stdout: false, stderr: true }),
        Some(other) => {
            Err(error(func, format!("option `stream` must be \"stdout\", \"stderr\" or \"both\", not \"{other}\"")))
        }
    }
}

/// `since`/`until` as Unix seconds: a duration ago ("1h"), a `Timestamp`,
/// or a date-time text ("2026-11-28T09:00:00Z").
pub fn point_in_time(func: &str, key: &str, v: Option<&Dynamic>) -> HostResult<Option<i64>> {
    let Some(v) = v.filter(|v| !v.is_unit()) else { return Ok(None) };
    let now = chrono::Utc::now().timestamp();
    if let Some(t) = v.read_lock::<Timestamp>() {
        return Ok(Some(t.0.timestamp()));
    }
    if let Some(s) = v.read_lock::<Span>() {
        return Ok(Some(now - s.millis() / 1000));
    }
    if let Some(text) = v.read_lock::<rhai::ImmutableString>() {
        if let Ok(d) = crate::duration::parse(&text) {
            return Ok(Some(now - d.as_secs() as i64));
        }
        if let Ok(t) = parse_timestamp(&text) {
            return Ok(Some(t.0.timestamp()));
        }
        return Err(error(
            func,
            format!(
                "option `{key}`: \"{}\" is neither a duration (\"1h\") nor a date-time (\"2026-11-28T09:00:00Z\")",
                text.as_str()
            ),
        ));
    }
    Err(error(
        func,
        format!("option `{key}` must be a duration, a timestamp or a date-time text, not {}", v.type_name()),
    ))
}

/// The API takes 32-bit seconds; a date past 2038 is "the far future".
fn api_seconds(t: Option<i64>) -> i32 {
    t.unwrap_or(0).clamp(0, i32::MAX as i64) as i32
}

/// Splits frames into lines per stream: a frame may hold several lines
/// or a part of one.
#[derive(Default)]
pub struct Lines {
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Lines {
    pub fn push(&mut self, frame: LogOutput, mut each: impl FnMut(&[u8])) {
        let (buf, message) = match frame {
            LogOutput::StdErr { message } => (&mut self.err, message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => (&mut self.out, message),
            LogOutput::StdIn { .. } => return,
        };
        let mut rest: &[u8] = &message;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..i];
            if buf.is_empty() {
                each(strip_cr(piece));
            } else {
                buf.extend_from_slice(piece);
                each(strip_cr(buf));
                buf.clear();
            }
            rest = &rest[i + 1..];
        }
        buf.extend_from_slice(rest);
    }

    pub fn finish(&mut self, mut each: impl FnMut(&[u8])) {
        for buf in [&mut self.out, &mut self.err] {
            if !buf.is_empty() {
                each(strip_cr(buf));
                buf.clear();
            }
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The engine's options, and the tail we apply ourselves: the engine
/// counts `tail` over both streams before it filters one out, so "the
/// last 10 stderr lines" would come back short; so would "the last 10
/// lines matching a pattern" (`filtered`).
fn options(func: &str, o: &Opts, map: &Map, filtered: bool) -> HostResult<(LogsOptions, Option<usize>)> {
    let s = streams(func, o)?;
    let tail = match o.int("tail")? {
        Some(n) if n < 0 => return Err(error(func, "option `tail` must be 0 or more")),
        Some(n) => Some(n as usize),
        None => None,
    };
    let both = s.stdout && s.stderr && !filtered;
    let opts = LogsOptions {
        follow: false,
        stdout: s.stdout,
        stderr: s.stderr,
        since: api_seconds(point_in_time(func, "since", map.get("since"))?),
        until: api_seconds(point_in_time(func, "until", map.get("until"))?),
        timestamps: o.bool("timestamps")?.unwrap_or(false),
        tail: match tail {
            Some(n) if both => n.to_string(),
            _ => "all".into(),
        },
    };
    Ok((opts, if both { None } else { tail }))
}

/// Feed every log line of every container `name` stands for to `each`,
/// container by container.
fn for_each_line(func: &str, name: &str, opts: LogsOptions, mut each: impl FnMut(usize, &[u8])) -> HostResult<()> {
    let c = client()?;
    let who = format!("{func} ({name})");
    runtime::block_on(async {
        let containers = resolve(&c, name).await?;
        for (i, container) in containers.iter().enumerate() {
            let mut stream = c.docker.logs(&container.id, Some(opts.clone()));
            let mut lines = Lines::default();
            while let Some(frame) = stream.next().await {
                let frame = frame.map_err(|e| explain(&c, &e))?;
                lines.push(frame, |l| each(i, l));
            }
            lines.finish(|l| each(i, l));
        }
        Ok::<_, String>(())
    })?
    .map_err(|e| error(&who, e))
}

pub fn logs(name: &str, map: Map) -> HostResult<rhai::Array> {
    const F: &str = "docker::logs";
    let o = Opts::new(F, &map)?;
    let re = pattern(F, &o)?;
    let (opts, tail) = options(F, &o, &map, re.is_some())?;
    let mut out = rhai::Array::new();
    // Per container: where its lines start in `out`, to cut its tail.
    let mut current = usize::MAX;
    let mut start = 0;
    let trim = |out: &mut rhai::Array, start: usize| {
        if let Some(n) = tail {
            let len = out.len() - start;
            if len > n {
                out.drain(start..start + len - n);
            }
        }
    };
    for_each_line(F, name, opts, |i, line| {
        if i != current {
            trim(&mut out, start);
            current = i;
            start = out.len();
        }
        if re.as_ref().is_some_and(|r| !r.is_match(line)) {
            return;
        }
        out.push(Dynamic::from(String::from_utf8_lossy(line).into_owned()));
        // Bound memory when only a tail is wanted.
        if tail.is_some_and(|n| out.len() - start > 2 * n + 1024) {
            trim(&mut out, start);
        }
    })?;
    trim(&mut out, start);
    Ok(out)
}

/// The `pattern` option (with `ignore_case`), compiled once.
fn pattern(func: &str, o: &Opts) -> HostResult<Option<regex::bytes::Regex>> {
    match o.str("pattern")? {
        Some(p) => Ok(Some(
            regex::bytes::RegexBuilder::new(&p)
                .case_insensitive(o.bool("ignore_case")?.unwrap_or(false))
                .build()
                .map_err(|e| error(func, format!("option `pattern`: {e}")))?,
        )),
        None => Ok(None),
    }
}

pub fn count_logs(name: &str, map: Map) -> HostResult<rhai::INT> {
    const F: &str = "docker::count_logs";
    let o = Opts::new(F, &map)?;
    let (opts, _) = options(F, &o, &map, false)?;
    let re = pattern(F, &o)?;
    let mut n: rhai::INT = 0;
    for_each_line(F, name, opts, |_, line| {
        if re.as_ref().map(|r| r.is_match(line)).unwrap_or(true) {
            n += 1;
        }
    })?;
    Ok(n)
}
