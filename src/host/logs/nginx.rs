//! nginx access logs: one pass computes everything the manual's awk
//! pipelines compute (and percentiles, which awk cannot), per core, then
//! merges.

use rhai::{Array, Dynamic, Map};

use super::counter::Counter;
use super::histogram::Histogram;
use super::source::LineSink;
pub use crate::config::RequestTime;
use crate::host::time::Timestamp;

/// nginx "combined" plus the request time in ms as the last field, which
/// is what the manual's awk reads ($1 ip, $7 path, $9 status, $NF ms).
pub const COMBINED_MS: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time_ms"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Ip,
    Time,
    Request,
    Status,
    Bytes,
    Ms,
    Seconds,
    Other,
}

#[derive(Debug)]
enum Seg {
    Lit(Vec<u8>),
    Var(Field),
}

/// A compiled `log_format`: literals that must match and variables that
/// run up to the next literal.
#[derive(Debug)]
pub struct Format {
    segs: Vec<Seg>,
    /// The default format gets a hand-written parser: it is what almost
    /// every call reads, and the hot loop of the whole module.
    combined_ms: bool,
    /// What the default format's last field is in (see `[logs]
    /// nginx_request_time`); a custom format says it by its variable.
    pub unit: RequestTime,
}

impl Format {
    pub fn compile(fmt: &str) -> Result<Format, String> {
        let b = fmt.as_bytes();
        let mut segs = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let name = &fmt[start..j];
                if name.is_empty() {
                    return Err(format!("`$` without a variable name at column {}", i + 1));
                }
                if !lit.is_empty() {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                } else if matches!(segs.last(), Some(Seg::Var(_))) {
                    return Err(format!("`${name}` follows another variable with nothing between them"));
                }
                segs.push(Seg::Var(match name {
                    "remote_addr" | "http_x_forwarded_for" | "realip_remote_addr" => Field::Ip,
                    "time_local" => Field::Time,
                    "request" => Field::Request,
                    "status" => Field::Status,
                    "body_bytes_sent" | "bytes_sent" => Field::Bytes,
                    "request_time_ms" | "upstream_response_time_ms" => Field::Ms,
                    "request_time" | "upstream_response_time" => Field::Seconds,
                    _ => Field::Other,
                }));
                i = j;
            } else {
                lit.push(b[i]);
                i += 1;
            }
        }
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        let has = |f: Field| segs.iter().any(|s| matches!(s, Seg::Var(x) if *x == f));
        for (f, name) in [(Field::Ip, "$remote_addr"), (Field::Request, "$request"), (Field::Status, "$status")] {
            if !has(f) {
                return Err(format!("the format has no {name}"));
            }
        }
        if !has(Field::Ms) && !has(Field::Seconds) {
            return Err("the format has no request time ($request_time_ms or $request_time)".into());
        }
        Ok(Format { segs, combined_ms: fmt == COMBINED_MS, unit: RequestTime::Auto })
    }
}

/// The fields of one parsed line.
#[derive(Default)]
struct Parsed<'a> {
    ip: &'a [u8],
    time: &'a [u8],
    request: &'a [u8],
    status: u16,
    bytes: u64,
    ms: f64,
    /// The request time was written in seconds (`$request_time`).
    seconds: bool,
}

/// Position of `b` in `hay`: a plain loop for the short fields of a log
/// line (where `memchr`'s set-up costs more than it saves), `memchr` after.
#[inline(always)]
fn find(hay: &[u8], b: u8) -> Option<usize> {
    let head = hay.len().min(32);
    for (i, &c) in hay[..head].iter().enumerate() {
        if c == b {
            return Some(i);
        }
    }
    memchr::memchr(b, &hay[head..]).map(|i| i + head)
}

/// `ip ident user [time] "request" status bytes "referer" "agent" ms`.
/// The referer and agent are never looked into: the request time is found
/// from the end of the line, as awk's `$NF` does.
#[inline(always)]
fn parse_combined_ms(line: &[u8], unit: RequestTime) -> Option<Parsed<'_>> {
    let sp = find(line, b' ')?;
    let ip = &line[..sp];
    let lb = sp + find(&line[sp..], b'[')?;
    let time = line.get(lb + 1..lb + 27)?;
    if line.get(lb + 27..lb + 30)? != b"] \"" {
        return None;
    }
    let rq = lb + 30;
    let rq_end = rq + memchr::memchr(b'"', &line[rq..])?;
    let request = &line[rq..rq_end];
    // ` 200 1234 "`
    let rest = line.get(rq_end + 1..)?;
    if rest.len() < 8 || rest[0] != b' ' {
        return None;
    }
    let st = &rest[1..4];
    if !st.iter().all(u8::is_ascii_digit) || rest[4] != b' ' {
        return None;
    }
    let status = (st[0] - b'0') as u16 * 100 + (st[1] - b'0') as u16 * 10 + (st[2] - b'0') as u16;
    let b_end = 5 + find(&rest[5..], b' ')?;
    let bytes_field = &rest[5..b_end];
    let bytes = if bytes_field == b"-" { 0 } else { parse_uint(bytes_field)? };
    if rest.get(b_end + 1) != Some(&b'"') {
        return None;
    }
    // The last field, after the last space; before it, the agent's quote.
    let last_sp = memchr::memrchr(b' ', rest)?;
    if last_sp <= b_end + 1 || rest[last_sp - 1] != b'"' {
        return None;
    }
    let raw = &rest[last_sp + 1..];
    let (ms, seconds) = match unit {
        RequestTime::Auto => match request_time_point(raw) {
            Some(dot) => (seconds_at(raw, dot)?, true),
            None => (parse_float(raw)?, false),
        },
        RequestTime::Seconds => (parse_seconds(raw)?, true),
        RequestTime::Milliseconds => (parse_float(raw)?, false),
    };
    if ip.is_empty() || status < 100 {
        return None;
    }
    Some(Parsed { ip, time, request, status, bytes, ms, seconds })
}

fn parse<'a>(fmt: &Format, line: &'a [u8]) -> Option<Parsed<'a>> {
    if fmt.combined_ms {
        return parse_combined_ms(line, fmt.unit);
    }
    let mut p = Parsed::default();
    let mut i = 0;
    let mut have_ms = false;
    for (k, seg) in fmt.segs.iter().enumerate() {
        match seg {
            Seg::Lit(l) => {
                if !line[i..].starts_with(l) {
                    return None;
                }
                i += l.len();
            }
            Seg::Var(f) => {
                let end = match fmt.segs.get(k + 1) {
                    Some(Seg::Lit(l)) => i + memchr::memchr(l[0], &line[i..])?,
                    _ => line.len(),
                };
                let v = &line[i..end];
                match f {
                    Field::Ip => p.ip = v,
                    Field::Time => p.time = v,
                    Field::Request => p.request = v,
                    Field::Status => p.status = parse_uint(v).filter(|s| (100..1000).contains(s))? as u16,
                    Field::Bytes => p.bytes = if v == b"-" { 0 } else { parse_uint(v)? },
                    Field::Ms => {
                        p.ms = parse_float(v)?;
                        have_ms = true;
                    }
                    Field::Seconds => {
                        p.ms = parse_seconds(v)?;
                        p.seconds = true;
                        have_ms = true;
                    }
                    Field::Other => {}
                }
                i = end;
            }
        }
    }
    (i == line.len() && have_ms && !p.ip.is_empty()).then_some(p)
}

#[inline(always)]
fn parse_uint(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u64;
    }
    Some(n)
}

#[inline(always)]
fn parse_float(v: &[u8]) -> Option<f64> {
    if let Some(n) = parse_uint(v) {
        return Some(n as f64);
    }
    std::str::from_utf8(v).ok()?.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0)
}

/// Where the point is in a value of the form nginx writes `$request_time`
/// in: seconds with exactly three decimals ("0.512"). `None` for any
/// other form ("512", "1.5"), which is milliseconds.
#[inline(always)]
fn request_time_point(v: &[u8]) -> Option<usize> {
    let dot = v.len().checked_sub(4).filter(|&d| d > 0 && v[d] == b'.')?;
    (v[..dot].iter().chain(&v[dot + 1..]).all(u8::is_ascii_digit)).then_some(dot)
}

/// Seconds with three decimals, point at `dot`, in milliseconds: exact, so
/// that `1.000` is not slower than 1000 ms (a figure too large for that is
/// read as a float).
#[inline(always)]
fn seconds_at(v: &[u8], dot: usize) -> Option<f64> {
    let exact = parse_uint(&v[..dot]).zip(parse_uint(&v[dot + 1..]));
    match exact.and_then(|(whole, frac)| whole.checked_mul(1000)?.checked_add(frac)) {
        Some(ms) => Some(ms as f64),
        None => parse_float(v).map(|s| s * 1000.0),
    }
}

/// Seconds in any form, as milliseconds.
#[inline(always)]
fn parse_seconds(v: &[u8]) -> Option<f64> {
    match request_time_point(v) {
        Some(dot) => seconds_at(v, dot),
        None => parse_float(v).map(|s| s * 1000.0),
    }
}

/// `$7` of awk: the second word of the request line ("GET /x HTTP/1.1").
#[inline(always)]
fn path_of(request: &[u8]) -> &[u8] {
    let Some(a) = find(request, b' ') else { return request };
    let rest = &request[a + 1..];
    // "METHOD PATH PROTOCOL": a request with more words would shift awk's
    // $9 too, so it is not the case awk's $7 is right about either.
    match memchr::memrchr(b' ', rest) {
        Some(b) if b > 0 => &rest[..b],
        _ => rest,
    }
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

fn digits(v: &[u8]) -> Option<i64> {
    parse_uint(v).map(|n| n as i64)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// "01/Jan/2026:00:00:01 +0000" → Unix seconds (UTC).
pub fn parse_time_local(t: &[u8]) -> Option<i64> {
    if t.len() < 26 || t[2] != b'/' || t[6] != b'/' || t[11] != b':' {
        return None;
    }
    let d = digits(&t[0..2])?;
    let mon = MONTHS.iter().position(|m| &t[3..6] == *m)? as i64 + 1;
    let y = digits(&t[7..11])?;
    let (hh, mm, ss) = (digits(&t[12..14])?, digits(&t[15..17])?, digits(&t[18..20])?);
    let sign = match t[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off = sign * (digits(&t[22..24])? * 3600 + digits(&t[24..26])? * 60);
    Some(days_from_civil(y, mon, d) * 86400 + hh * 3600 + mm * 60 + ss - off)
}

pub struct Options {
    pub format: Format,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub slow_ms: f64,
    pub top: usize,
    pub key_cap: usize,
}

pub struct Stats<'a> {
    o: &'a Options,
    requests: u64,
    bytes: u64,
    status: Vec<u64>,
    ips: Counter,
    paths: Counter,
    error_paths: Counter,
    slow_count: u64,
    slow_lines: Vec<String>,
    hist: Histogram,
    /// (hour start, requests, 5xx), in the order hours appear.
    per_hour: Vec<(i64, u64, u64)>,
    malformed: u64,
    malformed_examples: Vec<String>,
    filtered: u64,
    /// Lines whose request time was read as seconds, and as milliseconds.
    in_seconds: u64,
    in_ms: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// The hour part ("01/Jan/2026:00") and zone of the last time field
    /// seen, and that hour's Unix time: only mm:ss is parsed per line.
    time_cache: ([u8; 14], [u8; 6], i64),
}

const EXAMPLES: usize = 5;

/// A line to show in a report: whole up to 240 characters; a longer one
/// keeps its start and its end (where the request time is) with " … "
/// between, so that no figure is shown cut short ("2168" as "216").
fn example(line: &[u8]) -> String {
    const WHOLE: usize = 240;
    // A character is at most 4 bytes: these slices hold the characters kept.
    if line.len() <= 4 * WHOLE {
        let text = String::from_utf8_lossy(line);
        if text.chars().count() <= WHOLE {
            return text.into_owned();
        }
    }
    let head: String = String::from_utf8_lossy(&line[..line.len().min(4 * 180)]).chars().take(180).collect();
    let end = String::from_utf8_lossy(&line[line.len().saturating_sub(4 * 40)..]);
    let tail: String = end.chars().skip(end.chars().count().saturating_sub(40)).collect();
    format!("{head} … {tail}")
}

impl<'a> Stats<'a> {
    pub fn new(o: &'a Options) -> Self {
        Stats {
            o,
            requests: 0,
            bytes: 0,
            status: vec![0; 1000],
            ips: Counter::new(o.key_cap),
            paths: Counter::new(o.key_cap),
            error_paths: Counter::new(o.key_cap),
            slow_count: 0,
            slow_lines: Vec::new(),
            hist: Histogram::default(),
            per_hour: Vec::new(),
            malformed: 0,
            malformed_examples: Vec::new(),
            filtered: 0,
            in_seconds: 0,
            in_ms: 0,
            first: None,
            last: None,
            time_cache: ([0; 14], [0; 6], 0),
        }
    }

    fn bad(&mut self, line: &[u8]) {
        self.malformed += 1;
        if self.malformed_examples.len() < EXAMPLES {
            self.malformed_examples.push(example(line));
        }
    }

    #[inline(always)]
    fn time_of(&mut self, t: &[u8]) -> Option<i64> {
        if t.len() != 26 || t[14] != b':' || t[17] != b':' {
            return parse_time_local(t);
        }
        let two = |a: u8, b: u8| -> Option<i64> {
            (a.is_ascii_digit() && b.is_ascii_digit()).then(|| ((a - b'0') * 10 + (b - b'0')) as i64)
        };
        let mmss = two(t[15], t[16])? * 60 + two(t[18], t[19])?;
        if t[..14] != self.time_cache.0 || t[20..] != self.time_cache.1 {
            let secs = parse_time_local(t)?;
            self.time_cache.0.copy_from_slice(&t[..14]);
            self.time_cache.1.copy_from_slice(&t[20..]);
            self.time_cache.2 = secs - mmss;
        }
        Some(self.time_cache.2 + mmss)
    }

    pub fn merge(&mut self, o: Stats) {
        self.requests += o.requests;
        self.bytes += o.bytes;
        for (a, b) in self.status.iter_mut().zip(o.status) {
            *a += b;
        }
        self.ips.merge(o.ips);
        self.paths.merge(o.paths);
        self.error_paths.merge(o.error_paths);
        self.slow_count += o.slow_count;
        let room = self.o.top.saturating_sub(self.slow_lines.len());
        self.slow_lines.extend(o.slow_lines.into_iter().take(room));
        self.hist.merge(o.hist);
        for (h, r, e) in o.per_hour {
            match self.per_hour.iter_mut().rev().find(|x| x.0 == h) {
                Some(x) => {
                    x.1 += r;
                    x.2 += e;
                }
                None => self.per_hour.push((h, r, e)),
            }
        }
        self.malformed += o.malformed;
        let room = EXAMPLES.saturating_sub(self.malformed_examples.len());
        self.malformed_examples.extend(o.malformed_examples.into_iter().take(room));
        self.filtered += o.filtered;
        self.in_seconds += o.in_seconds;
        self.in_ms += o.in_ms;
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(o.last);
    }

    pub fn into_map(mut self, files: &[std::path::PathBuf]) -> Map {
        let top = self.o.top;
        let ts = |secs: i64| Dynamic::from(Timestamp(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()));
        let ranked = |c: &mut Counter, key: &str| -> Array {
            c.top(top)
                .into_iter()
                .map(|(k, n)| {
                    let mut m = Map::new();
                    m.insert(key.into(), Dynamic::from(k));
                    m.insert("count".into(), Dynamic::from_int(n as i64));
                    Dynamic::from_map(m)
                })
                .collect()
        };
        let mut m = Map::new();
        m.insert(
            "files".into(),
            Dynamic::from_array(files.iter().map(|f| Dynamic::from(f.display().to_string())).collect()),
        );
        m.insert("requests".into(), Dynamic::from_int(self.requests as i64));
        m.insert("bytes".into(), Dynamic::from_int(self.bytes as i64));
        let mut status = Map::new();
        let mut errors5xx = 0u64;
        let mut errors4xx = 0u64;
        for (code, &n) in self.status.iter().enumerate() {
            if n > 0 {
                status.insert(code.to_string().into(), Dynamic::from_int(n as i64));
                if code >= 500 {
                    errors5xx += n;
                } else if code >= 400 {
                    errors4xx += n;
                }
            }
        }
        m.insert("status_counts".into(), Dynamic::from_map(status));
        m.insert("errors_4xx".into(), Dynamic::from_int(errors4xx as i64));
        m.insert("errors_5xx".into(), Dynamic::from_int(errors5xx as i64));
        let rate = if self.requests > 0 { errors5xx as f64 * 100.0 / self.requests as f64 } else { 0.0 };
        m.insert("error_rate_pct".into(), Dynamic::from_float((rate * 1000.0).round() / 1000.0));
        m.insert("top_ips".into(), Dynamic::from_array(ranked(&mut self.ips, "ip")));
        m.insert("top_paths".into(), Dynamic::from_array(ranked(&mut self.paths, "path")));
        m.insert("top_error_paths".into(), Dynamic::from_array(ranked(&mut self.error_paths, "path")));
        let mut slow = Map::new();
        slow.insert("threshold_ms".into(), Dynamic::from_float(self.o.slow_ms));
        slow.insert("count".into(), Dynamic::from_int(self.slow_count as i64));
        slow.insert("lines".into(), Dynamic::from_array(self.slow_lines.drain(..).map(Dynamic::from).collect()));
        m.insert("slow".into(), Dynamic::from_map(slow));
        let f = |v: Option<f64>| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT);
        let avg = (self.hist.count > 0).then(|| self.hist.sum / self.hist.count as f64);
        m.insert("avg_ms".into(), f(avg));
        m.insert("p50_ms".into(), f(self.hist.percentile(50.0)));
        m.insert("p95_ms".into(), f(self.hist.percentile(95.0)));
        m.insert("p99_ms".into(), f(self.hist.percentile(99.0)));
        m.insert("max_ms".into(), f((self.hist.count > 0).then_some(self.hist.max)));
        self.per_hour.sort_by_key(|x| x.0);
        let hours: Array = self
            .per_hour
            .iter()
            .map(|&(h, r, e)| {
                let mut x = Map::new();
                x.insert("hour".into(), ts(h));
                x.insert("requests".into(), Dynamic::from_int(r as i64));
                x.insert("errors".into(), Dynamic::from_int(e as i64));
                Dynamic::from_map(x)
            })
            .collect();
        m.insert("per_hour".into(), Dynamic::from_array(hours));
        let mut bad = Map::new();
        bad.insert("count".into(), Dynamic::from_int(self.malformed as i64));
        bad.insert(
            "examples".into(),
            Dynamic::from_array(self.malformed_examples.drain(..).map(Dynamic::from).collect()),
        );
        m.insert("malformed".into(), Dynamic::from_map(bad));
        m.insert("outside_window".into(), Dynamic::from_int(self.filtered as i64));
        // What the last field was taken to be, for the report to say.
        let unit = match (self.in_seconds, self.in_ms) {
            (0, 0) => Dynamic::UNIT,
            (_, 0) => Dynamic::from("seconds"),
            (0, _) => Dynamic::from("milliseconds"),
            _ => Dynamic::from("seconds and milliseconds"),
        };
        m.insert("request_time_unit".into(), unit);
        m.insert("first".into(), self.first.map(ts).unwrap_or(Dynamic::UNIT));
        m.insert("last".into(), self.last.map(ts).unwrap_or(Dynamic::UNIT));
        let approximate = self.ips.approximate() || self.paths.approximate() || self.error_paths.approximate();
        m.insert("approximate".into(), Dynamic::from_bool(approximate));
        m
    }
}

impl LineSink for Stats<'_> {
    fn line(&mut self, line: &[u8]) {
        let Some(p) = parse(&self.o.format, line) else {
            if !line.is_empty() {
                self.bad(line);
            }
            return;
        };
        let secs = if p.time.is_empty() { None } else { self.time_of(p.time) };
        if self.o.since.is_some() || self.o.until.is_some() {
            let Some(t) = secs else {
                self.bad(line);
                return;
            };
            if self.o.since.is_some_and(|s| t < s) || self.o.until.is_some_and(|u| t >= u) {
                self.filtered += 1;
                return;
            }
        }
        self.requests += 1;
        self.bytes += p.bytes;
        self.status[p.status as usize] += 1;
        self.ips.add(p.ip);
        let path = path_of(p.request);
        self.paths.add_pipelined(path);
        let error = p.status >= 500;
        if error {
            self.error_paths.add(path);
        }
        if p.ms > self.o.slow_ms {
            self.slow_count += 1;
            if self.slow_lines.len() < self.o.top {
                self.slow_lines.push(example(line));
            }
        }
        self.hist.add(p.ms);
        if p.seconds {
            self.in_seconds += 1;
        } else {
            self.in_ms += 1;
        }
        if let Some(t) = secs {
            let hour = t - t.rem_euclid(3600);
            match self.per_hour.last_mut() {
                Some(x) if x.0 == hour => {
                    x.1 += 1;
                    x.2 += error as u64;
                }
                _ => match self.per_hour.iter_mut().rev().find(|x| x.0 == hour) {
                    Some(x) => {
                        x.1 += 1;
                        x.2 += error as u64;
                    }
                    None => self.per_hour.push((hour, 1, error as u64)),
                },
            }
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    fn overlong(&mut self, head: &[u8]) {
        self.malformed += 1;
        if self.malformed_examples.len() < EXAMPLES {
            self.malformed_examples.push(format!("{}… (over-long line)", example(&head[..head.len().min(80)])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[&str] = &[
        "1.2.3.4 - - [01/Jan/2026:00:16:36 +0000] \"GET /api/v1/questions?page=2 HTTP/1.1\" 200 5 \"-\" \"curl/8\" 2168",
        "10.0.0.1 - bob [31/Dec/2025:23:59:59 -0130] \"POST /login HTTP/2.0\" 302 0 \"https://x/\" \"Mozilla/5.0 (\\\"quoted\\\")\" 0.003",
        "- - - [] \"\" - - \"\" \"\" -",
    ];

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config())]

        /// The nginx line parser, the default format's hand-written one
        /// and a compiled custom format, never panic on a line.
        #[test]
        fn nginx_lines_never_panic(line in proptest::prop_oneof![crate::fuzz::mutated(LINES), proptest::prelude::any::<String>()]) {
            let combined = Format::compile(COMBINED_MS).unwrap();
            let custom = Format::compile("$remote_addr [$time_local] \"$request\" $status $request_time").unwrap();
            let _ = parse(&combined, line.as_bytes());
            let _ = parse(&custom, line.as_bytes());
            let _ = parse_time_local(line.as_bytes());
            let _ = example(line.as_bytes());
        }

        #[test]
        fn log_formats_never_panic(fmt in proptest::prelude::any::<String>()) {
            if let Ok(f) = Format::compile(&fmt) {
                let _ = parse(&f, LINES[0].as_bytes());
            }
        }
    }

    #[test]
    fn a_long_line_keeps_its_end() {
        let short = "1.2.3.4 - - [01/Jan/2026:00:16:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" 2168";
        assert_eq!(example(short.as_bytes()), short);
        let agent = "Mozilla/5.0 (X11; Linux x86_64) ".repeat(8);
        let long =
            format!("1.2.3.4 - - [01/Jan/2026:00:16:36 +0000] \"GET / HTTP/1.1\" 302 5575 \"-\" \"{agent}\" 2168");
        let shown = example(long.as_bytes());
        assert!(shown.starts_with("1.2.3.4 - - [01/Jan/2026:00:16:36 +0000] \"GET / HTTP/1.1\" 302"), "{shown}");
        assert!(shown.ends_with("x86_64) \" 2168"), "{shown}");
        assert_eq!(shown.chars().count(), 180 + 3 + 40);
        // Cut inside a character, the replacement never reaches what is shown.
        let wide = "é".repeat(400);
        assert_eq!(example(wide.as_bytes()), format!("{} … {}", "é".repeat(180), "é".repeat(40)));
    }

    #[test]
    fn the_request_time_is_read_in_the_unit_it_was_written_in() {
        let line = |t: &str| {
            format!(r#"1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl" {t}"#).into_bytes()
        };
        let mut f = Format::compile(COMBINED_MS).unwrap();
        let read = |f: &Format, t: &str| parse(f, &line(t)).map(|p| (p.ms, p.seconds));
        // Detected: nginx's $request_time has a decimal point.
        assert_eq!(read(&f, "0.512"), Some((512.0, true)));
        assert_eq!(read(&f, "1.000"), Some((1000.0, true)));
        assert_eq!(read(&f, "0.5"), Some((0.5, false)));
        assert_eq!(read(&f, "1.5"), Some((1.5, false)));
        assert_eq!(read(&f, "99999999999999999.000"), Some((99999999999999999.0 * 1000.0, true)));
        assert_eq!(read(&f, "512"), Some((512.0, false)));
        f.unit = RequestTime::Seconds;
        assert_eq!(read(&f, "2"), Some((2000.0, true)));
        f.unit = RequestTime::Milliseconds;
        assert_eq!(read(&f, "1.5"), Some((1.5, false)));
        // A custom format says it by its variable.
        let custom = Format::compile(r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#).unwrap();
        assert_eq!(read(&custom, "0.250"), Some((250.0, true)));
    }

    #[test]
    fn parses_combined_with_ms() {
        let f = Format::compile(COMBINED_MS).unwrap();
        assert!(f.combined_ms);
        // The generic parser reads the same fields as the fast one.
        let generic =
            Format { segs: Format::compile(COMBINED_MS).unwrap().segs, combined_ms: false, unit: RequestTime::Auto };
        let l = br#"1.2.3.4 - bob [01/Jan/2026:00:00:01 +0000] "GET /a?b=c HTTP/1.1" 404 - "http://x/" "Mozilla/5.0 (X11)" 1.5"#;
        let (a, b) = (parse(&f, l).unwrap(), parse(&generic, l).unwrap());
        assert_eq!(
            (a.ip, a.time, a.request, a.status, a.bytes, a.ms),
            (b.ip, b.time, b.request, b.status, b.bytes, b.ms)
        );
        let l = br#"150.29.109.10 - - [01/Jan/2026:00:00:01 +0000] "GET /api/v1/questions/17671 HTTP/1.1" 200 30848 "-" "python-requests/2.31.0" 47"#;
        let p = parse(&f, l).unwrap();
        assert_eq!(p.ip, b"150.29.109.10");
        assert_eq!(path_of(p.request), b"/api/v1/questions/17671");
        assert_eq!((p.status, p.bytes, p.ms), (200, 30848, 47.0));
        assert_eq!(parse_time_local(p.time), Some(1767225601));
        assert!(parse(&f, br#"10.0.0.1 - - [14/Feb/2026:12:00:00 +0000] "GET /trunc"#).is_none());
        assert!(parse(&f, b"\xff\xfe garbage \x80").is_none());
    }

    #[test]
    fn custom_formats_compile_and_parse() {
        let f = Format::compile("$remote_addr [$time_local] \"$request\" $status $request_time").unwrap();
        let p = parse(&f, br#"1.2.3.4 [01/Jan/2026:00:00:01 +0100] "POST /x HTTP/2" 503 0.250"#).unwrap();
        assert_eq!((p.status, p.ms), (503, 250.0));
        assert_eq!(parse_time_local(p.time), Some(1767225601 - 3600));
        assert!(Format::compile("$status").unwrap_err().contains("no $remote_addr"));
    }
}
