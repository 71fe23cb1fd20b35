//! `redis` against a real Redis server (dev/services.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{printed, service, Sandbox};

fn redis_cli(args: &[&str]) -> String {
    redis_cli_at(&service("RUNBOOK_TEST_REDIS_URL"), args)
}

fn redis_cli_stdin(commands: &str) {
    use std::io::Write;
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let rest = url.trim_start_matches("redis://");
    let (auth, addr) = rest.split_once('@').unwrap();
    let (host, port) = addr.split_once('/').unwrap().0.split_once(':').unwrap();
    let mut child = std::process::Command::new("redis-cli")
        .args(["-h", host, "-p", port, "-a", auth.trim_start_matches(':'), "--no-auth-warning"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(commands.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// redis-cli against `redis://:PASSWORD@HOST:PORT/DB`.
fn redis_cli_at(url: &str, args: &[&str]) -> String {
    let rest = url.trim_start_matches("redis://");
    let (auth, addr) = rest.split_once('@').unwrap();
    let (hostport, db) = addr.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let out = std::process::Command::new("redis-cli")
        .args(["-h", host, "-p", port, "-n", db, "-a", auth.trim_start_matches(':'), "--no-auth-warning"])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn prefix(test: &str) -> String {
    format!("rbtest:{test}:{}", std::process::id())
}

#[test]
fn basic_commands() {
    let sb = Sandbox::with_services("");
    let p = prefix("basic");
    let out = sb.script(
        &format!(
            r#"let r = redis::connect("cache");
print(r.ping());
r.set("{p}:a", 42);
print(r.get("{p}:a"));
print(r.get("{p}:missing"));
print(r.exists("{p}:a"));
print(r.ttl("{p}:a"));
print(r.expire("{p}:a", "1h"));
print(r.ttl("{p}:a") > 3500);
print(r.incr("{p}:n"));
print(r.incr("{p}:n"));
r.set("{p}:t", "v", "10m");
print(r.ttl("{p}:t") > 500);
print(r.command(["STRLEN", "{p}:a"]));
let i = r.info("server");
print(type_of(i.uptime_in_seconds));
print(r.lastsave().unix > 0);
print(r.dbsize() >= 3);
print(r.del("{p}:a"));"#
        ),
        &["--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        ["PONG", "42", "", "true", "-1", "true", "true", "1", "2", "true", "2", "i64", "true", "true", "1"]
    );
    assert_eq!(redis_cli(&["EXISTS", &format!("{p}:a")]), "0");
}

#[test]
fn memory_and_hit_rate_from_info() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let r = redis::connect("cache");
let m = r.memory();
print(m.used > 0);
print(m.max);
print(m.pct);
print(m.evicted_keys);
r.get("rbtest:hit-rate-miss");
let h = r.hit_rate();
print(type_of(h) == "f64" && h >= 0.0 && h <= 100.0);"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["true", "0", "", "0", "true"]);
    let stats = redis_cli(&["INFO", "stats"]);
    assert!(stats.contains("keyspace_misses:"), "the server's own figures exist");
}

#[test]
fn delete_matching_deletes_exactly_the_matching_keys_and_honours_dry_run() {
    let sb = Sandbox::with_services("");
    let p = prefix("pattern");
    // One redis-cli reading 2505 commands from its input.
    let mut commands = String::new();
    for i in 0..2500 {
        commands.push_str(&format!("SET {p}:session:{i} x\n"));
        if i % 500 == 0 {
            commands.push_str(&format!("SET {p}:keep:{i} y\n"));
        }
    }
    redis_cli_stdin(&commands);
    let body = format!(
        r#"let r = redis::connect("cache"); print(r.count_matching("{p}:session:*")); print(r.delete_matching("{p}:session:*"));"#
    );
    let dry = sb.script(&body, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(printed(&dry)[..2], ["2500", "2500"]);
    assert!(
        dry.stdout.contains(&format!("· would delete 2500 key(s) matching `{p}:session:*` on cache")),
        "{}",
        dry.stdout
    );
    let count = |pat: &str| redis_cli(&["EVAL", "return #redis.call('KEYS', ARGV[1])", "0", pat]);
    assert_eq!(count(&format!("{p}:session:*")), "2500", "dry-run deleted nothing");
    let refused = sb.script(&body, &[]);
    assert_eq!(refused.code, 3);
    assert_eq!(count(&format!("{p}:session:*")), "2500");
    let out = sb.script(&body, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["2500", "2500"]);
    assert_eq!(count(&format!("{p}:session:*")), "0");
    assert_eq!(count(&format!("{p}:keep:*")), "5", "other keys untouched");
}

#[test]
fn flushdb_is_data_losing() {
    let sb = Sandbox::new();
    let url = service("RUNBOOK_TEST_REDIS_URL").trim_end_matches("/0").to_string() + "/9";
    sb.config(&format!("[redis.scratch]\nurl = \"{url}\"\n"));
    let cli = |args: &[&str]| redis_cli_at(&url, args);
    cli(&["SET", "a", "1"]);
    cli(&["SET", "b", "2"]);
    let body = r#"let r = redis::connect("scratch"); print(r.flushdb());"#;
    assert_eq!(sb.script(body, &["--dry-run"]).code, 0);
    assert_eq!(cli(&["DBSIZE"]), "2");
    assert_eq!(sb.script(body, &[]).code, 3);
    assert_eq!(cli(&["DBSIZE"]), "2");
    let out = sb.script(body, &["--yes"]);
    assert_eq!(printed(&out), ["2"]);
    assert_eq!(cli(&["DBSIZE"]), "0");
}

#[test]
fn generic_commands_count_as_reads_or_writes() {
    let sb = Sandbox::with_services("");
    let p = prefix("generic");
    let out = sb.script(
        &format!(r#"let r = redis::connect("cache"); print(r.command(["HSET", "{p}:h", "f", "v"])); print(r.command(["HGETALL", "{p}:h"]));"#),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("· would run HSET {p}:h f v on cache")), "{}", out.stdout);
    assert_eq!(redis_cli(&["EXISTS", &format!("{p}:h")]), "0");
}

#[test]
fn connection_failures_are_clear_and_redacted() {
    let sb = Sandbox::new();
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let bad = url.replace("redis-test-pw", "wrong-redis-pw");
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap().to_string();
    sb.config(&format!(
        "[redis.badpw]\nurl = \"{bad}\"\n[redis.down]\nhost = \"127.0.0.1\"\nport = 1\npassword = \"down-secret-pw\"\nconnect_timeout = \"2s\"\n[redis.byparts]\nhost = \"127.0.0.1\"\nport = {port}\npassword = \"redis-test-pw\"\n"
    ));
    let out = sb.script(
        r#"for t in ["badpw", "down", "typo"] { try { redis::connect(t); } catch (e) { print(e); } }
print(redis::connect("byparts").ping());"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert!(p[0].starts_with("redis (badpw): ") && p[0].to_lowercase().contains("authentication failed"), "{p:?}");
    assert!(p[1].starts_with("redis (down): connection refused"), "{p:?}");
    assert_eq!(p[2], "redis::connect: no [redis.typo] target (known: badpw, byparts, down); a redis:// URL works too");
    assert_eq!(p[3], "PONG");
    for s in ["wrong-redis-pw", "down-secret-pw", "redis-test-pw"] {
        assert!(!out.stdout.contains(s) && !out.stderr.contains(s), "{s} leaked");
    }
}

#[test]
fn tls_is_verified_and_a_plain_server_is_refused() {
    let sb = Sandbox::new();
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap().to_string();
    sb.config(&format!("[redis.secure]\nhost = \"127.0.0.1\"\nport = {port}\npassword = \"redis-test-pw\"\ntls = true\nconnect_timeout = \"3s\"\n"));
    let out = sb.script(r#"try { redis::connect("secure"); } catch (e) { print(e); }"#, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert!(p[0].starts_with("redis (secure): "), "{p:?}");
    assert!(!p[0].contains("feature"), "TLS is compiled in: {p:?}");
    assert!(out.elapsed < std::time::Duration::from_secs(8));
    assert!(!out.stdout.contains("redis-test-pw"));
}

/// A dry run skipped `SELECT 7`, so its later reads went to db 0 and saw
/// what the real run would not: connection state is not a mutation.
#[test]
fn a_dry_run_selects_the_database_the_real_run_would() {
    let sb = Sandbox::with_services("");
    let p = prefix("select");
    let url = service("RUNBOOK_TEST_REDIS_URL");
    let db7 = format!("{}/7", url.rsplit_once('/').unwrap().0);
    redis_cli_at(&db7, &["SET", &format!("{p}:k"), "in-db-7"]);
    let out = sb.script(
        &format!(
            r#"let r = redis::connect("cache");
print(r.command(["SELECT", "7"]));
print(r.command(["CLIENT", "SETNAME", "runbook-dry"]));
print(r.get("{p}:k"));
r.set("{p}:k", "changed");"#
        ),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["OK", "OK", "in-db-7"]);
    assert!(out.stdout.contains(&format!("· would SET {p}:k on cache")), "{}", out.stdout);
    assert_eq!(redis_cli_at(&db7, &["GET", &format!("{p}:k")]), "in-db-7");
    redis_cli_at(&db7, &["DEL", &format!("{p}:k")]);
}
