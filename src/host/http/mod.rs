//! `http`: requests with certificate verification on, answers as maps,
//! and a load generator for the monthly baseline. A URL may be written as
//! a `[http.NAME]` target and a path ("api/health"): the target gives the
//! base URL, bearer token, CA and timeout.

mod bench;
mod client;
mod request;
mod wire;

use rhai::plugin::*;

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod http_functions {
    use rhai::Map;

    use crate::host::HostResult;

    /// GET a URL: `#{status, ok, url, headers, body, json, content_type,
    /// elapsed_ms}` (`json` parsed when the answer says it is JSON, else
    /// `()`; `content_type` is "" when the answer has none; header names in
    /// lower case). A non-2xx status is returned, not thrown; DNS,
    /// connect, TLS and timeout failures throw.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let r = http::get("https://api.civicq.example.com/health");
    /// check("API healthy", || r.status == 200 && r.json.status == "healthy");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get(url: &str) -> HostResult<Map> {
        super::request::request("GET", url, Map::new())
    }

    /// GET with options `#{headers, timeout, bearer, basic, insecure,
    /// follow, ca}`: `bearer` a token, `basic` "user:password" or [user,
    /// password], `timeout` the whole request ("30s" default), `follow:
    /// false` returns redirects as they are, `ca` a PEM file of CAs to
    /// trust, `insecure: true` skips certificate checks for this call only.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let r = http::get("api/api/v1/admin/health", #{timeout: "5s"});   // [http.api] url, bearer
    /// ```
    #[rhai_fn(name = "get", return_raw)]
    pub fn get_with(url: &str, options: Map) -> HostResult<Map> {
        super::request::request("GET", url, options)
    }

    /// HEAD a URL: the status and headers, no body.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn head(url: &str) -> HostResult<Map> {
        super::request::request("HEAD", url, Map::new())
    }

    /// HEAD with the options of `get`.
    ///
    /// *read-only*
    #[rhai_fn(name = "head", return_raw)]
    pub fn head_with(url: &str, options: Map) -> HostResult<Map> {
        super::request::request("HEAD", url, options)
    }

    /// POST with the options of `get` plus `json` (any value, sent as
    /// JSON) or `body` (text). `read_only: true` says the endpoint changes
    /// nothing (a search, a health probe), so it runs under `--dry-run`.
    ///
    /// *mutating* (read-only when the call says `read_only: true`)
    ///
    /// ```rhai,no_run
    /// http::post("https://hooks.example.com/notify", #{json: #{text: "backup done"}});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn post(url: &str, options: Map) -> HostResult<Map> {
        super::request::request("POST", url, options)
    }

    /// PUT, with the options of `post`.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn put(url: &str, options: Map) -> HostResult<Map> {
        super::request::request("PUT", url, options)
    }

    /// DELETE a URL.
    ///
    /// *mutating*
    #[rhai_fn(return_raw)]
    pub fn delete(url: &str) -> HostResult<Map> {
        super::request::request("DELETE", url, Map::new())
    }

    /// DELETE with the options of `post`.
    ///
    /// *mutating*
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_with(url: &str, options: Map) -> HostResult<Map> {
        super::request::request("DELETE", url, options)
    }

    /// Load a URL like `ab -n 1000 -c 10`: options `#{requests (1000),
    /// concurrency (10), method ("GET"), keep_alive (true)}` and those of
    /// `get`. Returns `#{requests, concurrency, errors, non_2xx, rps,
    /// p50_ms, p95_ms, p99_ms, max_ms, duration_ms, status_counts,
    /// first_error}`; failures are counted, not thrown.
    ///
    /// *read-only* (mutating for methods other than GET and HEAD)
    ///
    /// ```rhai,no_run
    /// let b = http::bench("https://civicq.example.com/", #{requests: 1000, concurrency: 10});
    /// metric("p95", b.p95_ms, #{unit: "ms", warn: 500});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bench(url: &str, options: Map) -> HostResult<Map> {
        super::bench::bench(url, options)
    }
}
