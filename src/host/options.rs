//! The keys of every host function's option map, in one table: a run
//! (`Opts::new`) and `runbook check` (before any line runs) refuse the
//! same typos, and a key added here is known to both.

/// One host function that takes an option map.
pub struct Options {
    /// The name its errors give: `proc::run`, `metric`, `pg query`.
    pub name: &'static str,
    /// How a script calls it when it is a handle's method, as
    /// `Type.method`: what `runbook check` looks up for `db.query(…)`.
    pub method: Option<&'static str>,
    pub keys: &'static [&'static str],
}

const HTTP: &[&str] =
    &["headers", "json", "body", "timeout", "bearer", "basic", "insecure", "follow", "ca", "read_only"];
const EXEC: &[&str] = &["user", "env", "workdir", "stdin", "timeout", "read_only"];

const fn f(name: &'static str, keys: &'static [&'static str]) -> Options {
    Options { name, method: None, keys }
}

const fn m(name: &'static str, method: &'static str, keys: &'static [&'static str]) -> Options {
    Options { name, method: Some(method), keys }
}

pub const ALL: &[Options] = &[
    f("metric", &["warn", "crit", "unit", "min", "max", "bound", "note"]),
    f("proc::run", &["timeout", "cwd", "env", "stdin"]),
    f("fleet::each", &["forks", "serial"]),
    f("pg::dump", &["gzip", "format", "tables"]),
    m("pg query", "PgConnection.query", &["timeout"]),
    m("pg execute", "PgConnection.execute", &["multiple"]),
    f("history::runs", &["since"]),
    f("history::metrics", &["since"]),
    f("history::health", &["jobs", "grace"]),
    f("history::snooze", &["jobs", "reason"]),
    f("http::get", HTTP),
    f("http::head", HTTP),
    f("http::post", HTTP),
    f("http::put", HTTP),
    f("http::delete", HTTP),
    f(
        "http::bench",
        &[
            "headers",
            "json",
            "body",
            "timeout",
            "bearer",
            "basic",
            "insecure",
            "follow",
            "ca",
            "read_only",
            "requests",
            "concurrency",
            "method",
            "keep_alive",
        ],
    ),
    f("mail::send", &["to", "cc", "subject", "body", "html", "attachments", "from", "smtp", "timeout"]),
    f("aws::costs", &["metric", "group_by", "granularity"]),
    f("docker::exec", EXEC),
    f("docker::exec_background", EXEC),
    f("docker::exec_to_file", &["gzip", "user", "env", "workdir", "timeout"]),
    f("docker::ps", &["project", "service", "all"]),
    f("docker::restart", &["timeout"]),
    f("docker::stop", &["timeout"]),
    f("docker::start", &[]),
    f("docker::logs", &["since", "until", "tail", "timestamps", "stream", "pattern", "ignore_case"]),
    f("docker::count_logs", &["since", "until", "stream", "pattern", "ignore_case"]),
    f("logs::nginx", &["since", "until", "format", "top", "slow_ms", "request_time"]),
    f("logs::app", &["since", "level", "top"]),
    f("logs::grep", &["since", "max", "last", "ignore_case", "context"]),
    m("s3::put_file", "S3Bucket.put_file", &["storage_class", "content_type", "metadata"]),
    m("s3 list", "S3Bucket.list", &["prefix", "recursive"]),
    f("tls::certificate", &["sni", "timeout", "ca", "service", "starttls"]),
    f("tls::certificate_file", &["host", "ca"]),
];

/// The keys `name` (as its errors give it) takes.
pub fn keys(name: &str) -> Option<&'static [&'static str]> {
    ALL.iter().find(|o| o.name == name).map(|o| o.keys)
}

/// The entry a script's call names: `proc::run`, `metric`, or a handle's
/// method as `PgConnection.query`.
pub fn of_call(call: &str) -> Option<&'static Options> {
    ALL.iter().find(|o| o.method == Some(call) || (o.method.is_none() && o.name == call))
}

/// What is wrong with `key` among `known`, as both a run and `runbook
/// check` say it: "unknown option `crti` (did you mean `crit`?)".
pub fn unknown(known: &[&str], key: &str) -> Option<String> {
    if known.contains(&key) {
        return None;
    }
    let hint = if known.is_empty() {
        "it takes no options".to_string()
    } else {
        let near = crate::suggest::DidYouMean::find(key, known.iter().copied());
        crate::suggest::DidYouMean::or(near, format!("it takes {}", known.join(", ")))
    };
    Some(format!("unknown option `{key}` ({hint})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_listed_once_and_bench_takes_what_a_request_takes() {
        for (i, o) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|p| p.name != o.name), "{} twice", o.name);
        }
        let bench = keys("http::bench").unwrap_or_default();
        assert!(HTTP.iter().all(|k| bench.contains(k)));
    }
}
