//! `http`: against HTTP and HTTPS servers the tests start on loopback.

mod common;
use common::web::{closed_port, pki, serve_http, serve_tls};
use common::{printed, Sandbox};

#[test]
fn get_returns_status_headers_body_and_json() {
    let port = serve_http();
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"
let r = http::get("http://127.0.0.1:{port}/health");
print(`${{r.status}} ${{r.ok}} ${{r.json.status}} ${{r.headers["content-type"]}} ${{type_of(r.elapsed_ms)}}`);
let e = http::get("http://127.0.0.1:{port}/status/500");
print(`${{e.status}} ${{e.ok}} ${{e.body}} ${{e.json}}`);
let h = http::head("http://127.0.0.1:{port}/health");
print(`${{h.status}} [${{h.body}}]`);
let f = http::get("http://127.0.0.1:{port}/redirect");
print(`${{f.status}} ${{f.url.ends_with("/health")}}`);
let n = http::get("http://127.0.0.1:{port}/redirect", #{{follow: false}});
print(`${{n.status}} ${{n.headers.location}}`);
"#
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec!["200 true healthy application/json f64", "500 false status 500 ", "200 []", "200 true", "302 /health",]
    );
}

#[test]
fn targets_bearer_basic_headers_and_json_bodies_and_secrets_stay_hidden() {
    let port = serve_http();
    let sb = Sandbox::new();
    sb.config(&format!(
        "[http.api]\nurl = \"http://127.0.0.1:{port}\"\nbearer = \"admin-test-token\"\ntimeout = \"5s\"\n"
    ));
    let out = sb.script(
        r#"
let a = http::get("api/api/v1/admin/health");
print(`${a.status} ${a.json.components.database.status} ${a.json.components.celery.status}`);
let e = http::post("api/echo", #{json: #{user: "ana", n: 3}, headers: #{"X-Test": "yes"}});
print(`${e.json.method} ${e.json.content_type} ${e.json.x_test} ${e.json.body}`);
print(e.json.authorization);
let b = http::put("api/echo", #{body: "raw text", basic: "ops:hunter2-secret"});
print(`${b.json.method} ${b.json.body} ${b.json.authorization}`);
let d = http::delete("api/echo");
print(d.json.method);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            "200 healthy degraded",
            r#"POST application/json yes {"n":3,"user":"ana"}"#,
            "Bearer ***",
            "PUT raw text Basic ***",
            "DELETE",
        ]
    );
    assert!(!out.stdout.contains("admin-test-token") && !out.stderr.contains("admin-test-token"));
    let typo = sb.script(r#"http::get("apx/health");"#, &[]);
    assert!(
        typo.stderr.contains("http::get: `apx/health`: no [http.apx] target (did you mean `api`?)"),
        "{}",
        typo.stderr
    );
    let both = sb.script(r#"http::post("api/echo", #{json: 1, body: "x"});"#, &[]);
    assert!(both.stderr.contains("give `json` or `body`, not both"), "{}", both.stderr);
}

#[test]
fn writes_honour_dry_run_and_reads_do_not_need_to() {
    let port = serve_http();
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"
let p = http::post("http://127.0.0.1:{port}/echo", #{{json: #{{a: 1}}}});
print(`post dry: ${{p.dry_run}}`);
let s = http::post("http://127.0.0.1:{port}/echo", #{{body: "q", read_only: true}});
print(`search ran: ${{s.status}}`);
print(`get ran: ${{http::get("http://127.0.0.1:{port}/health").status}}`);
"#
        ),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("would POST http://127.0.0.1:{port}/echo")), "{}", out.stdout);
    assert_eq!(printed(&out), vec!["post dry: true", "search ran: 200", "get ran: 200"]);
}

#[test]
fn transport_failures_throw_clear_errors() {
    let port = serve_http();
    let closed = closed_port();
    let sb = Sandbox::new();
    let slow = sb.script(&format!(r#"http::get("http://127.0.0.1:{port}/slow", #{{timeout: "1s"}});"#), &[]);
    assert!(
        slow.stderr.contains(&format!("http::get: http://127.0.0.1:{port}/slow: no answer within 1s")),
        "{}",
        slow.stderr
    );
    assert!(slow.elapsed.as_secs() < 3, "{:?}", slow.elapsed);
    let refused = sb.script(&format!(r#"http::get("http://127.0.0.1:{closed}/");"#), &[]);
    assert!(refused.stderr.contains(&format!("http://127.0.0.1:{closed}/: cannot connect")), "{}", refused.stderr);
    let dns = sb.script(r#"http::get("http://no-such-host.invalid/");"#, &[]);
    assert!(dns.stderr.contains("http://no-such-host.invalid/: cannot resolve the host name"), "{}", dns.stderr);
    // A caught error leaves the script going.
    let caught = sb.script(
        &format!(r#"try {{ http::get("http://127.0.0.1:{closed}/"); }} catch (e) {{ print("caught"); }}"#),
        &[],
    );
    assert_eq!(printed(&caught), vec!["caught"]);
}

#[test]
fn https_is_verified_unless_the_call_says_insecure() {
    let pki = pki();
    let valid = serve_tls(&pki.path("valid.pem"), &pki.path("valid.key"));
    let selfsigned = serve_tls(&pki.path("self.pem"), &pki.path("self.key"));
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"
print(http::get("https://localhost:{valid}/health", #{{ca: "{ca}"}}).json.status);
print(http::get("https://localhost:{selfsigned}/health", #{{insecure: true}}).status);
"#,
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), vec!["healthy", "200"]);
    let untrusted = sb.script(&format!(r#"http::get("https://localhost:{valid}/health");"#), &[]);
    assert!(
        untrusted.stderr.contains(&format!("https://localhost:{valid}/health: TLS failed")),
        "{}",
        untrusted.stderr
    );
    assert!(untrusted.stderr.contains("insecure: true"), "{}", untrusted.stderr);
    let selfs = sb.script(&format!(r#"http::get("https://localhost:{selfsigned}/", #{{ca: "{}"}});"#, pki.ca()), &[]);
    assert!(selfs.stderr.contains("TLS failed"), "{}", selfs.stderr);
}

#[test]
fn bench_counts_requests_statuses_and_percentiles() {
    let port = serve_http();
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"
let b = http::bench("http://127.0.0.1:{port}/health", #{{requests: 200, concurrency: 8}});
print(`${{b.requests}} ${{b.errors}} ${{b.status_counts}} ${{b.rps > 0.0}} ${{b.p50_ms <= b.p95_ms && b.p95_ms <= b.p99_ms && b.p99_ms <= b.max_ms}}`);
let e = http::bench("http://127.0.0.1:{port}/status/503", #{{requests: 20, concurrency: 4, keep_alive: false}});
print(`${{e.non_2xx}} ${{e.status_counts}}`);
let c = http::bench("http://127.0.0.1:{closed}/", #{{requests: 5, concurrency: 2}});
print(`${{c.errors}} ${{c.first_error.contains("cannot connect")}}`);
"#,
            closed = closed_port()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), vec![r#"200 0 #{"200": 200} true true"#, r#"20 #{"503": 20}"#, "5 true"]);
}
