//! `pg` against a real PostgreSQL with the CivicQ fixture (dev/services.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{printed, psql, psql_at, service, Sandbox};

/// As the superuser, in database `db`.
fn psql_admin(db: &str, sql: &str) -> String {
    let admin = service("RUNBOOK_TEST_PG_ADMIN");
    psql_at(&format!("{}/{db}", admin.rsplit_once('/').unwrap().0), sql)
}

#[test]
fn query_scalar_and_query_one() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
print(db.scalar("SELECT count(*) FROM users"));
let rows = db.query("SELECT role, count(*) AS n FROM users GROUP BY role ORDER BY n DESC");
print(json::stringify(rows));
print(db.query_one("SELECT email FROM users WHERE id = $1", [42]).email);
try { db.query_one("SELECT 1 FROM users LIMIT 2"); } catch (e) { print(e); }
print(db.scalar("SELECT 1 WHERE false"));
table(db.query("SELECT role, count(*) AS n FROM users GROUP BY role ORDER BY n DESC"));"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert_eq!(p[0], psql("SELECT count(*) FROM users"));
    let admins = psql("SELECT count(*) FROM users WHERE role = 'admin'");
    assert_eq!(
        p[1],
        format!(r#"[{{"n":19600,"role":"user"}},{{"n":360,"role":"moderator"}},{{"n":{admins},"role":"admin"}}]"#)
    );
    assert_eq!(p[2], "user42@example.com");
    assert_eq!(p[3], "pg (main): query_one expected one row, got 2");
    assert_eq!(p[4], "");
    assert_eq!(
        &p[5..],
        ["role       n", "─────────  ─────", "user       19600", "moderator    360", "admin         40"],
        "columns in SELECT order"
    );
}

#[test]
fn every_type_maps_as_documented() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
let r = db.query_one(`SELECT 1::int2 a, 2::int4 b, 3::int8 c, 1.5::float4 d, 2.25::float8 e, 12.345::numeric f,
  123456789012345678901234.5::numeric g, 'x'::text h, 'y'::varchar i, 'z'::name j, true k,
  '2026-01-01 10:00+00'::timestamptz l, '2026-01-01 10:00'::timestamp m, '2026-01-02'::date n,
  interval '1 day 2 hours' o, '10.1.2.3'::inet p, '10.0.0.0/8'::cidr q, '{"a":[1,2]}'::jsonb r,
  ARRAY[1,2,3] s, ARRAY['a','b'] t, NULL::int u, 'a'::"char" v, 'ab'::bytea w, '00000000-0000-0000-0000-000000000001'::uuid x`);
for k in r.keys() { print(`${k}: ${type_of(r[k])} ${r[k]}`); }
try { db.query("SELECT point(1, 2) AS p"); } catch (e) { print(e); }"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        [
            "a: i64 1",
            "b: i64 2",
            "c: i64 3",
            "d: f64 1.5",
            "e: f64 2.25",
            "f: f64 12.345",
            "g: string 123456789012345678901234.5",
            "h: string x",
            "i: string y",
            "j: string z",
            "k: bool true",
            "l: Timestamp 2026-01-01T10:00:00Z",
            "m: Timestamp 2026-01-01T10:00:00Z",
            "n: Timestamp 2026-01-02T00:00:00Z",
            "o: Duration 1d2h",
            "p: string 10.1.2.3",
            "q: string 10.0.0.0/8",
            "r: map #{\"a\": [1, 2]}",
            "s: array [1, 2, 3]",
            "t: array [\"a\", \"b\"]",
            "u: () ",
            "v: string a",
            "w: blob [6162]",
            "x: string 00000000-0000-0000-0000-000000000001",
            "pg (main): column `p` has type point, which runbook cannot read yet: cast it in the SQL, e.g. p::text",
        ]
    );
}

#[test]
fn reads_refuse_writes_by_name() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
try { db.query("DELETE FROM votes WHERE id = 1"); } catch (e) { print(e); }
try { db.scalar("UPDATE users SET role = 'admin' RETURNING 1"); } catch (e) { print(e); }
try { db.query("SET default_transaction_read_only = off"); } catch (e) { print(e); }
try { db.query("SELECT * FROM userz"); } catch (e) { print(e); }"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        [
            "pg (main): DELETE is not a read: query and scalar only read; use db.execute",
            "pg (main): UPDATE is not a read: query and scalar only read; use db.execute",
            "pg (main): SET is not a read: query and scalar only read; use db.execute",
            "pg (main): relation \"userz\" does not exist (SQLSTATE 42P01, at character 15)",
        ]
    );
}

#[test]
fn parameters_can_never_change_the_statement() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
print(db.scalar("SELECT count(*) FROM users WHERE email = $1", ["x' OR '1'='1"]));
print(db.scalar("SELECT count(*) FROM users WHERE email = $1", ["'; DROP TABLE users; --"]));
print(db.scalar("SELECT count(*) FROM users WHERE created_at > $1", [time::ago("3650d")]));"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["0", "0", &psql("SELECT count(*) FROM users")]);
    assert_eq!(psql("SELECT to_regclass('users') IS NOT NULL"), "t");
}

#[test]
fn execute_honours_dry_run_and_yes() {
    let sb = Sandbox::with_services("");
    let table = format!("rb_exec_{}", std::process::id());
    psql(&format!("DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int, note text)"));
    let body = format!(
        r#"let db = pg::connect("main");
print(db.execute("INSERT INTO {table} VALUES ($1, $2), ($3, $4)", [1, "a", 2, "b"]));
print(db.execute("VACUUM ANALYZE {table}"));
print(db.execute("DELETE FROM {table} WHERE id = $1", [1]));"#
    );
    let dry = sb.script(&body, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "0", "dry-run inserted nothing");
    assert!(
        dry.stdout.contains(&format!(
            "· would insert 2 rows into {table} on main: INSERT INTO {table} VALUES ($1, $2), ($3, $4) with [1, 'a', 2, 'b']"
        )),
        "{}",
        dry.stdout
    );
    assert!(
        // Each dry-run call is rolled back on its own: the INSERT's rows are
        // gone again when the DELETE is tried.
        dry.stdout.contains(&format!(
            "· would delete 0 rows from {table} on main: DELETE FROM {table} WHERE id = $1 with [1]"
        )),
        "{}",
        dry.stdout
    );

    let no_yes = sb.script(&body, &[]);
    assert_eq!(no_yes.code, 3, "DELETE without --yes fails the run");
    assert!(no_yes.stderr.contains("refusing to execute on main: DELETE FROM"), "{}", no_yes.stderr);
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "2", "the insert before it ran");

    let yes = sb.script(&body, &["--yes"]);
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    // The refused run had inserted two rows already; this one adds two
    // more, and the DELETE takes both rows with id 1.
    assert_eq!(printed(&yes), ["2", "0", "2"]);
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "2");
    psql(&format!("DROP TABLE {table}"));
}

#[test]
fn info_and_extensions() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
let i = db.info();
print(i.database);
print(i.size_bytes > 1000000 && i.max_connections > 0 && i.connections >= 1 && i.connection_pct > 0.0);
print(i.version.starts_with("1"));
print(db.has_extension("pg_stat_statements"));
print(db.has_extension("postgis"));"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["civicq", "true", "true", "true", "false"]);
}

#[test]
fn the_fixtures_attacked_accounts_are_found() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
let rows = db.query(`SELECT email, COUNT(*) AS failed_attempts FROM audit_logs
  WHERE action = 'login_failed' AND created_at > $1 GROUP BY email HAVING COUNT(*) > 10 ORDER BY failed_attempts DESC`, [time::ago("7d")]);
for r in rows { print(`${r.email} ${r.failed_attempts}`); }"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    let emails: Vec<&str> = p.iter().map(|l| l.split(' ').next().unwrap()).collect();
    for e in ["admin@example.com", "user42@example.com", "user7@example.com"] {
        assert!(emails.contains(&e), "{e} in {p:?}");
    }
    assert!(!emails.contains(&"user9@example.com"), "9 failures is not over 10");
}

fn url_with(password: &str, db: &str, port: Option<u16>) -> String {
    let url = service("RUNBOOK_TEST_PG_URL");
    let (scheme_user, rest) = url.split_once(':').unwrap();
    let rest = rest.trim_start_matches("//");
    let user = rest.split(':').next().unwrap();
    let host_port = rest.split('@').nth(1).unwrap().split('/').next().unwrap();
    let host = host_port.split(':').next().unwrap();
    let port = port.map(|p| p.to_string()).unwrap_or_else(|| host_port.split(':').nth(1).unwrap().to_string());
    format!("{scheme_user}://{user}:{password}@{host}:{port}/{db}")
}

#[test]
fn connection_failures_are_clear_named_and_redacted() {
    let sb = Sandbox::new();
    sb.config(&format!(
        "[postgres.badpw]\nurl = \"{}\"\nconnect_timeout = \"3s\"\n[postgres.nodb]\nurl = \"{}\"\n[postgres.down]\nurl = \"{}\"\nconnect_timeout = \"30s\"\n\
         [postgres.nohost]\nurl = \"postgres://civicq@no-such-host.invalid/civicq\"\nconnect_timeout = \"30s\"\n",
        url_with("wrong-pass-123", "civicq", None),
        url_with("civicq-test-pw", "no_such_db", None),
        url_with("civicq-test-pw", "civicq", Some(1)),
    ));
    let out = sb.script(
        r#"for t in ["badpw", "nodb", "down", "nohost", "typo"] { try { pg::connect(t); } catch (e) { print(e); } }"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    // Each failure in its own words, with what to do about it; a server
    // that is down or a host that does not exist is said at once, not
    // after the 30 s connect timeout.
    assert_eq!(
        p,
        [
            "pg (badpw): password authentication failed for user \"civicq\" (SQLSTATE 28P01): check the password of the target (`password` in runbook.toml, or the URL's)",
            "pg (nodb): database \"no_such_db\" does not exist (SQLSTATE 3D000): check `database` of the target; `psql -l` lists the databases there",
            "pg (down): connection refused at 127.0.0.1:1: is PostgreSQL running and listening there? (pg_isready -h 127.0.0.1 -p 1)",
            "pg (nohost): no such host `no-such-host.invalid`: check the host of the target (or the URL)",
            "pg::connect: no [postgres.typo] target (known: badpw, down, nodb, nohost); a postgres:// URL works too",
        ]
    );
    assert!(out.elapsed < std::time::Duration::from_secs(8), "not the 30 s connect timeout: {:?}", out.elapsed);
    for secret in ["wrong-pass-123", "civicq-test-pw"] {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "password leaked");
    }
}

#[test]
fn a_server_without_tls_is_refused_when_tls_is_required() {
    let sb = Sandbox::new();
    sb.config(&format!(
        "[postgres.secure]\nurl = \"{}\"\nsslmode = \"require\"\nconnect_timeout = \"3s\"\n",
        service("RUNBOOK_TEST_PG_URL")
    ));
    let out = sb.script(r#"try { pg::connect("secure"); } catch (e) { print(e); }"#, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert!(p[0].starts_with("pg (secure): ") && p[0].to_lowercase().contains("tls"), "{p:?}");
    assert!(!out.stdout.contains("civicq-test-pw"));
}

#[test]
fn statement_timeout_per_call() {
    let sb = Sandbox::with_services("");
    let out = sb.script(
        r#"let db = pg::connect("main");
try { db.query("SELECT pg_sleep(5)", [], #{timeout: "200ms"}); } catch (e) { print(e); }
print(db.scalar("SELECT 1"));"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["pg (main): canceling statement due to statement timeout (SQLSTATE 57014)", "1"]);
    assert!(out.elapsed < std::time::Duration::from_secs(4));
}

#[test]
fn dump_then_restore_into_a_fresh_database_matches() {
    let sb = Sandbox::with_services("");
    let scratch = format!("rb_restore_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {scratch}"));
    psql(&format!("CREATE DATABASE {scratch}"));
    // As in production, extensions are the superuser's to create.
    psql_admin(&scratch, "CREATE EXTENSION pg_stat_statements");
    sb.config(&format!(
        "[postgres.main]\nurl = \"{}\"\n[postgres.scratch]\nurl = \"{}\"\n[fs]\nroots = [\"{}\"]\n",
        service("RUNBOOK_TEST_PG_URL"),
        url_with("civicq-test-pw", &scratch, None),
        sb.path().display()
    ));
    let dump = sb.path().join("civicq.sql.gz");
    let body = format!(
        r#"let d = pg::dump("main", "{0}");
print(d.bytes);
print(d.sha256);
let r = pg::restore("scratch", "{0}");
print(r.format);
let a = pg::connect("main");
let b = pg::connect("scratch");
for t in ["users", "questions", "votes", "audit_logs"] {{
    print(`${{t}} ${{a.scalar(`SELECT count(*) FROM ${{t}}`) == b.scalar(`SELECT count(*) FROM ${{t}}`)}}`);
}}"#,
        dump.display()
    );
    let no_yes = sb.script(&body, &[]);
    assert_eq!(no_yes.code, 3, "restore is data-losing: {}", no_yes.stdout);
    let out = sb.script(&body, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A backup holds every password hash: the owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let p = printed(&out);
    let meta = std::fs::metadata(&dump).unwrap();
    assert_eq!(p[0], meta.len().to_string());
    let sha = std::process::Command::new("sha256sum").arg(&dump).output().unwrap();
    assert_eq!(p[1], String::from_utf8_lossy(&sha.stdout).split(' ').next().unwrap());
    assert_eq!(&p[2..], ["plain", "users true", "questions true", "votes true", "audit_logs true"]);
    let gz = std::process::Command::new("gzip").arg("-t").arg(&dump).status().unwrap();
    assert!(gz.success(), "a valid gzip file");
    psql(&format!("DROP DATABASE {scratch} WITH (FORCE)"));
}

#[test]
fn a_failed_dump_leaves_no_file() {
    let sb = Sandbox::new();
    sb.config(&format!(
        "[postgres.gone]\nurl = \"{}\"\n[fs]\nroots = [\"{}\"]\n",
        url_with("civicq-test-pw", "no_such_db", None),
        sb.path().display()
    ));
    let target = sb.path().join("backup.sql.gz");
    let out = sb.script(&format!("pg::dump(\"gone\", \"{}\");", target.display()), &[]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("pg::dump (gone): pg_dump failed"), "{}", out.stderr);
    assert!(out.stderr.contains("no_such_db"), "pg_dump's own reason: {}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("backup"))
        .collect();
    assert!(left.is_empty(), "no partial file: {left:?}");
}

#[test]
fn dump_under_dry_run_writes_nothing() {
    let sb = Sandbox::with_services("");
    let target = sb.path().join("dry.sql.gz");
    let out = sb.script(&format!("pg::dump(\"main\", \"{}\");", target.display()), &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!target.exists());
    assert!(out.stdout.contains("· would dump main with pg_dump to"), "{}", out.stdout);
}

/// Drops what a test made, also when the test fails: a table left behind
/// shows up in other tests' lists of the largest tables.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| psql(&self.0));
    }
}

/// The attacks on the read path: each one wrote through `query` before
/// reads were parsed and run in a READ ONLY transaction of their own.
#[test]
fn the_read_path_cannot_write() {
    let sb = Sandbox::with_services("");
    let t = format!("rb_ro_{}", std::process::id());
    let marker = sb.path().join("copied");
    let _cleanup = Cleanup(format!(
        "DROP FUNCTION IF EXISTS {t}_lift(); DROP FUNCTION IF EXISTS {t}_del(); DROP TABLE IF EXISTS {t}"
    ));
    psql(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id int); INSERT INTO {t} VALUES (1), (2), (3);
         CREATE OR REPLACE FUNCTION {t}_lift() RETURNS text LANGUAGE sql AS $$ SELECT set_config('default_transaction_read_only', 'off', false) $$;
         CREATE OR REPLACE FUNCTION {t}_del() RETURNS bigint LANGUAGE sql AS $$ WITH d AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM d $$;"
    ));
    let body = format!(
        r#"let db = pg::connect("main");
for sql in [
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "/* /* */ SELECT */ SET default_transaction_read_only = off",
    "WITH d AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM d",
    "SELECT 1; DELETE FROM {t}",
    "COPY {t} TO PROGRAM 'touch {m}'",
    "COPY {t} TO '{m}'",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'nobody'",
    "SELECT pg_catalog.pg_reload_conf()",
    "SELECT lo_export(1, '{m}')",
    "EXPLAIN ANALYZE DELETE FROM {t}",
    "SELECT {t}_lift()",
    "SELECT {t}_del()",
] {{
    try {{ db.query(sql); print(`ran: ${{sql}}`); }} catch (e) {{ print(e); }}
}}
print(db.scalar("SELECT count(*) FROM {t}"));"#,
        m = marker.display()
    );
    let out = sb.script(&body, &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = "pg (main): ";
    assert_eq!(
        printed(&out),
        [
            format!("{p}set_config() has effects outside the data (sessions, files, config or other databases): query and scalar refuse it; use db.execute"),
            format!("{p}SET is not a read: query and scalar only read; use db.execute"),
            format!("{p}the read contains DELETE (a data-modifying WITH): query and scalar only read; use db.execute"),
            format!("{p}2 statements in one read: query and scalar take exactly one (a second statement could leave the read-only transaction)"),
            format!("{p}COPY is not a read: query and scalar only read; use db.execute"),
            format!("{p}COPY is not a read: query and scalar only read; use db.execute"),
            format!("{p}pg_terminate_backend() has effects outside the data (sessions, files, config or other databases): query and scalar refuse it; use db.execute"),
            format!("{p}pg_reload_conf() has effects outside the data (sessions, files, config or other databases): query and scalar refuse it; use db.execute"),
            format!("{p}lo_export() has effects outside the data (sessions, files, config or other databases): query and scalar refuse it; use db.execute"),
            format!("{p}EXPLAIN ANALYZE runs the statement: query and scalar only read; use db.execute"),
            // A function of the database's own passes the parser; the
            // transaction it runs in is READ ONLY whatever it changes.
            format!("ran: SELECT {t}_lift()"),
            format!("{p}cannot execute SELECT in a read-only transaction (SQLSTATE 25006)"),
            "3".to_string(),
        ]
    );
    assert!(!marker.exists(), "COPY wrote nothing");
    assert_eq!(psql(&format!("SELECT count(*) FROM {t}")), "3");
}

/// `execute` judged data loss by the first keyword: each of these deleted
/// rows or dropped a column with no --yes and no terminal.
#[test]
fn disguised_data_loss_needs_yes() {
    let sb = Sandbox::with_services("");
    let t = format!("rb_loss_{}", std::process::id());
    let _cleanup = Cleanup(format!("DROP TABLE IF EXISTS {t}"));
    psql(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id int, note text); INSERT INTO {t} VALUES (1, 'a'), (2, 'b')"
    ));
    let body = format!(
        r#"let db = pg::connect("main");
for sql in [
    "WITH d AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM d",
    "/* /* */ SELECT */ DELETE FROM {t}",
    "ALTER TABLE {t} DROP COLUMN note",
    "DO $$ BEGIN DELETE FROM {t}; END $$",
    "EXPLAIN ANALYZE DELETE FROM {t}",
    "UPDATE {t} SET note = 'x'",
] {{
    try {{ db.execute(sql); print(`ran: ${{sql}}`); }} catch (e) {{ print(e); }}
}}
try {{ db.execute("SELECT 1; DELETE FROM {t}"); }} catch (e) {{ print(e); }}
try {{ db.execute("SELECT 1; DELETE FROM {t}", [], #{{multiple: true}}); }} catch (e) {{ print(e); }}
print(db.execute("UPDATE {t} SET note = 'c' WHERE id = 2"));"#
    );
    let out = sb.script(&body, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let refused = |sql: &str, why: &str| {
        format!("pg (main): refusing to execute on main: {sql} ({why}) without --yes (this loses data; run with --dry-run to see what would go, or --yes to go ahead)")
    };
    assert_eq!(
        printed(&out),
        [
            refused(&format!("WITH d AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM d"), "deletes rows"),
            refused(&format!("/* /* */ SELECT */ DELETE FROM {t}"), "deletes rows"),
            refused(&format!("ALTER TABLE {t} DROP COLUMN note"), "drops a column"),
            refused(&format!("DO $$ BEGIN DELETE FROM {t}; END $$"), "runs code that cannot be classified"),
            refused(&format!("EXPLAIN ANALYZE DELETE FROM {t}"), "deletes rows"),
            refused(&format!("UPDATE {t} SET note = 'x'"), "updates every row (no WHERE)"),
            "pg (main): 2 statements in one execute: one call each, or #{multiple: true} to run them together (each is judged on its own)".to_string(),
            refused(&format!("SELECT 1; DELETE FROM {t}"), "deletes rows"),
            "1".to_string(),
        ]
    );
    assert_eq!(psql(&format!("SELECT string_agg(id || note, ',' ORDER BY id) FROM {t}")), "1a,2c");
    psql(&format!("DROP TABLE {t}"));
}

/// A dry run tries the SQL in a transaction that is rolled back and says
/// how many rows each statement would touch; what cannot run in a
/// transaction only "would run".
#[test]
fn dry_run_sql_counts_the_rows_it_would_touch() {
    let sb = Sandbox::with_services("");
    let t = format!("rb_dry_{}", std::process::id());
    let _cleanup = Cleanup(format!("DROP TABLE IF EXISTS {t}"));
    psql(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id int); INSERT INTO {t} SELECT generate_series(1, 50)"
    ));
    let body = format!(
        r#"let db = pg::connect("main");
print(db.execute("DELETE FROM {t} WHERE id > $1", [1]));
print(db.execute("UPDATE {t} SET id = id + 100 WHERE id <= 3; DELETE FROM {t}", [], #{{multiple: true}}));
print(db.execute("VACUUM ANALYZE {t}"));
print(db.execute("CREATE INDEX CONCURRENTLY {t}_i ON {t} (id)"));"#
    );
    let out = sb.script(&body, &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let would: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("  · would")).collect();
    assert_eq!(
        would,
        [
            format!("  · would delete 49 rows from {t} on main: DELETE FROM {t} WHERE id > $1 with [1]"),
            format!("  · would update 3 rows in {t} on main: UPDATE {t} SET id = id + 100 WHERE id <= 3"),
            format!("  · would delete 50 rows from {t} on main: DELETE FROM {t}"),
            format!("  · would run on main: VACUUM ANALYZE {t}"),
            format!("  · would run on main: CREATE INDEX CONCURRENTLY {t}_i ON {t} (id)"),
        ]
    );
    assert_eq!(printed(&out), ["49", "53", "0", "0"]);
    assert_eq!(psql(&format!("SELECT count(*), max(id) FROM {t}")), "50|50");
    assert_eq!(psql(&format!("SELECT count(*) FROM pg_indexes WHERE indexname = '{t}_i'")), "0");
    psql(&format!("DROP TABLE {t}"));
}

/// Found in review: what the parser cannot see into. `standard_conforming_strings
/// = off` made `'a\'` end a string for the server and not for the parser,
/// hiding a DELETE; functions defined in the database, `dblink` and `COPY …
/// PROGRAM` passed as merely mutating; `pg_try_advisory_lock` passed as a read.
#[test]
fn what_the_parser_cannot_see_into_counts_as_data_losing() {
    let sb = Sandbox::with_services("");
    let t = format!("rb_blind_{}", std::process::id());
    let _cleanup = Cleanup(format!("DROP FUNCTION IF EXISTS {t}_purge(); DROP TABLE IF EXISTS {t}"));
    psql(&format!(
        "CREATE TABLE {t} (id int); INSERT INTO {t} VALUES (1), (2);
         CREATE FUNCTION {t}_purge() RETURNS bigint LANGUAGE sql AS $$ WITH d AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM d $$;"
    ));
    let body = format!(
        r#"let db = pg::connect("main");
db.execute("SET standard_conforming_strings = off");
for sql in [
    "SELECT 'a\\' , '; DELETE FROM {t}; --'",
    "SELECT {t}_purge()",
    "SELECT dblink_exec('dbname=civicq', 'DROP TABLE {t}')",
    "COPY (SELECT 1) TO PROGRAM 'true'",
] {{
    try {{ print(db.execute(sql)); }} catch (e) {{ print(e); }}
}}
try {{ db.query("SELECT pg_try_advisory_lock(1)"); }} catch (e) {{ print(e); }}
print(db.scalar("SELECT count(*) FROM {t}"));"#
    );
    let out = sb.script(&body, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert_eq!(p.len(), 6, "{p:?}");
    // The first statement ran as what it is: one SELECT of two strings.
    assert_eq!(p[0], "1");
    for (line, why) in [
        (&p[1], "calls a function defined in the database, which runbook cannot see into"),
        (&p[2], "calls a function with effects outside the data"),
        (&p[3], "runs a program on the database server"),
    ] {
        assert!(
            line.starts_with("pg (main): refusing to execute on main: ")
                && line.contains(&format!("({why}) without --yes")),
            "{line}"
        );
    }
    assert!(p[4].starts_with("pg (main): pg_try_advisory_lock() has effects outside the data"), "{}", p[4]);
    assert_eq!(p[5], "2", "nothing was deleted");
}
