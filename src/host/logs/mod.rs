//! `logs`: nginx and application log analysis in one native pass per call,
//! on logs of any size, rotated `.gz` files included. Memory stays flat:
//! files are streamed, counts are bounded, percentiles come from a
//! histogram. Files must be inside `[fs] roots`.

mod app;
mod counter;
mod histogram;
mod nginx;
mod search;
mod source;

use rhai::plugin::*;

/// Distinct keys (IPs, paths, messages) counted exactly per core before a
/// report says `approximate: true`; bounds memory on hostile logs.
const KEY_CAP: usize = 1_000_000;

fn io_err(func: &str, e: std::io::Error) -> Box<rhai::EvalAltResult> {
    crate::host::error(func, e)
}

use crate::host::opts::Opts;
use crate::host::{error, HostResult};
use rhai::Map;

fn top(func: &'static str, o: &Opts) -> HostResult<usize> {
    match o.int("top")? {
        None => Ok(10),
        Some(n) if (1..=10_000).contains(&n) => Ok(n as usize),
        Some(n) => Err(error(func, format!("option `top` must be between 1 and 10000, not {n}"))),
    }
}

/// A window bound: a duration ago ("1h") or a time.
fn time_bound(func: &'static str, options: &Map, key: &str) -> HostResult<Option<i64>> {
    let Some(v) = options.get(key).filter(|v| !v.is_unit()) else { return Ok(None) };
    if let Some(t) = v.read_lock::<crate::host::time::Timestamp>() {
        return Ok(Some(t.0.timestamp()));
    }
    if let Some(d) = v.read_lock::<crate::host::time::Span>() {
        return Ok(Some(chrono::Utc::now().timestamp() - d.millis() / 1000));
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        if let Ok(d) = crate::duration::parse(&s) {
            return Ok(Some(chrono::Utc::now().timestamp() - d.as_secs() as i64));
        }
        if let Ok(t) = crate::host::time::parse_timestamp(&s) {
            return Ok(Some(t.0.timestamp()));
        }
    }
    Err(error(func, format!("option `{key}` must be a duration ago (\"1h\") or a time, not `{v}`")))
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod logs_functions {
    use rhai::{Array, Dynamic, Map, INT};

    use super::{app, io_err, nginx, search, source, time_bound, top, KEY_CAP};
    use crate::host::opts::Opts;
    use crate::host::{error, HostResult};

    /// Everything the manual's awk pipelines compute over nginx access
    /// logs, in one pass: `#{requests, bytes, status_counts, errors_4xx,
    /// errors_5xx, error_rate_pct, top_ips, top_paths, top_error_paths,
    /// slow: #{count, threshold_ms, lines}, avg_ms, p50_ms, p95_ms, p99_ms,
    /// max_ms, per_hour, malformed: #{count, examples}, first, last,
    /// files, approximate, request_time_unit}`. The format is nginx
    /// "combined" with the request time as the last field: `0.512` (three
    /// decimals, as nginx writes `$request_time`) is read as seconds, `512`
    /// or `1.5` as milliseconds, unless `[logs] nginx_request_time` or the
    /// `request_time` option says which; `request_time_unit` says what was
    /// read ("seconds", "milliseconds"). Every `*_ms` figure is in ms.
    /// Malformed, truncated, binary or over-long lines are counted, never
    /// fatal.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-access.log",
    ///   `1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 512 "-" "curl" 12` + "\n");
    /// let r = logs::nginx("/tmp/runbook-doc-access.log");
    /// assert(r.requests == 1 && r.top_paths[0].path == "/" && r.p95_ms == 12.0, "one request");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nginx(path_or_glob: &str) -> HostResult<Map> {
        nginx_with(path_or_glob, Map::new())
    }

    /// `logs::nginx` with options `#{since, until, format, top, slow_ms,
    /// request_time}`: `request_time` is "auto", "seconds" or "milliseconds";
    /// `since`/`until` are durations ago ("1h") or times; `format` is an
    /// nginx `log_format` string; `top` (default 10) sizes the top lists
    /// and the slow-line examples; `slow_ms` (default 1000) is the slow
    /// threshold (strictly greater, as `$NF > 1000`). `until` is a Rhai
    /// keyword, so write that key quoted: `#{since: "2h", "until": "1h"}`.
    ///
    /// *read-only*
    #[rhai_fn(name = "nginx", return_raw)]
    pub fn nginx_with(path_or_glob: &str, options: Map) -> HostResult<Map> {
        const F: &str = "logs::nginx";
        let o = Opts::new(F, &options)?;
        let fmt = o.str("format")?.unwrap_or_else(|| nginx::COMBINED_MS.to_string());
        let mut format = nginx::Format::compile(&fmt).map_err(|e| error(F, format!("option `format`: {e}")))?;
        format.unit = match o.str("request_time")?.as_deref() {
            None => crate::engine::context::ctx().config.logs.nginx_request_time,
            Some("auto") => nginx::RequestTime::Auto,
            Some("seconds" | "s") => nginx::RequestTime::Seconds,
            Some("milliseconds" | "ms") => nginx::RequestTime::Milliseconds,
            Some(other) => {
                return Err(error(
                    F,
                    format!("option `request_time` must be \"auto\", \"seconds\" or \"milliseconds\", not \"{other}\""),
                ))
            }
        };
        let opts = nginx::Options {
            format,
            since: time_bound(F, &options, "since")?,
            until: time_bound(F, &options, "until")?,
            slow_ms: o.float("slow_ms")?.unwrap_or(1000.0),
            top: top(F, &o)?,
            key_cap: KEY_CAP,
        };
        let files = source::resolve(F, path_or_glob)?;
        let parts = crate::engine::runtime::run_blocking(|| source::scan(&files, || nginx::Stats::new(&opts), true))?
            .map_err(|e| io_err(F, e))?;
        let mut parts = parts.into_iter();
        let mut total = parts.next().unwrap_or_else(|| nginx::Stats::new(&opts));
        for p in parts {
            total.merge(p);
        }
        Ok(total.into_map(&files))
    }

    /// Application-log errors: `#{total, per_hour: [#{hour, count}],
    /// top_messages: [#{message, count}], files, approximate}`, counting
    /// lines that contain "ERROR" (the manual's `grep "ERROR"`), with the
    /// message after the logger's `]` and numbers and ids normalised.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-app.log",
    ///   "2026-02-14 12:00:01,1 ERROR [api] user 12 not found\n2026-02-14 12:30:00,2 ERROR [api] user 7 not found\n");
    /// let r = logs::app("/tmp/runbook-doc-app.log");
    /// assert(r.total == 2 && r.top_messages[0].message == "user <n> not found", "grouped");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn app(path_or_glob: &str) -> HostResult<Map> {
        app_with(path_or_glob, Map::new())
    }

    /// `logs::app` with options `#{since, level, top}`; `level` is the word
    /// that marks a line (default "ERROR").
    ///
    /// *read-only*
    #[rhai_fn(name = "app", return_raw)]
    pub fn app_with(path_or_glob: &str, options: Map) -> HostResult<Map> {
        const F: &str = "logs::app";
        let o = Opts::new(F, &options)?;
        let opts = app::Options {
            level: o.str("level")?.unwrap_or_else(|| "ERROR".into()).into_bytes(),
            since: time_bound(F, &options, "since")?,
            top: top(F, &o)?,
            key_cap: KEY_CAP,
        };
        if opts.level.is_empty() {
            return Err(error(F, "option `level` must not be empty"));
        }
        let files = source::resolve(F, path_or_glob)?;
        let parts = crate::engine::runtime::run_blocking(|| source::scan(&files, || app::Stats::new(&opts), true))?
            .map_err(|e| io_err(F, e))?;
        let mut parts = parts.into_iter();
        let mut total = parts.next().unwrap_or_else(|| app::Stats::new(&opts));
        for p in parts {
            total.merge(p);
        }
        Ok(total.into_map(&files))
    }

    /// The message of one log line as `logs::app` groups it: the text
    /// after the logger's `]`, else after the first "ERROR", else the whole
    /// line; trimmed, numbers made `<n>` and ids `<id>`. For lines that come
    /// from elsewhere (`docker::logs`), to rank them with `tally::top`.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(logs::message("2026-02-14 12:00:01,1 ERROR [api] user 12 not found") == "user <n> not found", "grouped");
    /// assert(logs::message("ERROR task 8f14e45f-ceea-467f-a0e6-2b4f1c5e9a11 lost") == "task <id> lost", "ids");
    /// ```
    pub fn message(line: &str) -> String {
        let level_end = line.find("ERROR").map(|i| i + "ERROR".len()).unwrap_or(0);
        String::from_utf8_lossy(&app::message(line.as_bytes(), level_end)).into_owned()
    }

    /// Lines matching a regex, in file order, as `#{file, line, text}`
    /// (`line` counts from 1).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-app.log", "ok\nSpecificError: boom\nok\n");
    /// let m = logs::grep("/tmp/runbook-doc-app.log", "SpecificError");
    /// assert(m.len() == 1 && m[0].line == 2, "found on line 2");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn grep(path_or_glob: &str, regex: &str) -> HostResult<Array> {
        grep_with(path_or_glob, regex, Map::new())
    }

    /// `logs::grep` with options `#{since, max, last, ignore_case,
    /// context}`: `max` stops after that many matches (default 1000),
    /// `last: N` keeps only the last N (the manual's `| tail -20`),
    /// `context: N` adds `before` and `after` arrays of N lines each.
    ///
    /// *read-only*
    #[rhai_fn(name = "grep", return_raw)]
    pub fn grep_with(path_or_glob: &str, regex: &str, options: Map) -> HostResult<Array> {
        const F: &str = "logs::grep";
        let o = Opts::new(F, &options)?;
        let re = search::compile(regex, o.bool("ignore_case")?.unwrap_or(false)).map_err(|e| error(F, e))?;
        let count = |k: &str| -> HostResult<Option<usize>> {
            o.int(k)?
                .map(|n| usize::try_from(n).map_err(|_| error(F, format!("option `{k}` must not be negative"))))
                .transpose()
        };
        let opts = search::GrepOptions {
            since: time_bound(F, &options, "since")?,
            max: count("max")?.unwrap_or(1000),
            last: count("last")?,
            context: count("context")?.unwrap_or(0),
        };
        let files = source::resolve(F, path_or_glob)?;
        let matches =
            crate::engine::runtime::run_blocking(|| search::grep(&files, &re, &opts))?.map_err(|e| io_err(F, e))?;
        Ok(matches)
    }

    /// How many lines match a regex, counted on every core.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-app.log", "error a\nfine\nERROR b\n");
    /// assert(logs::count("/tmp/runbook-doc-app.log", "(?i)error") == 2, "two");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn count(path_or_glob: &str, regex: &str) -> HostResult<INT> {
        const F: &str = "logs::count";
        let re = search::compile(regex, false).map_err(|e| error(F, e))?;
        let files = source::resolve(F, path_or_glob)?;
        let parts = crate::engine::runtime::run_blocking(|| source::scan(&files, || search::Count::new(&re), true))?
            .map_err(|e| io_err(F, e))?;
        Ok(parts.iter().map(|c| c.n).sum::<u64>() as INT)
    }

    /// The last `n` lines of a file (read from its end; a `.gz` is
    /// streamed).
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// fs::write_text("/tmp/runbook-doc-app.log", "a\nb\nc\n");
    /// assert(logs::tail("/tmp/runbook-doc-app.log", 2) == ["b", "c"], "last two");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tail(path: &str, n: INT) -> HostResult<Array> {
        const F: &str = "logs::tail";
        let n = usize::try_from(n).map_err(|_| error(F, "n must not be negative"))?;
        let p = crate::host::fs::confine(F, path)?;
        let lines = search::tail(&p, n).map_err(|e| io_err(F, e))?;
        Ok(lines.into_iter().map(Dynamic::from).collect())
    }
}
