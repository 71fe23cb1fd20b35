//! Target groups and `runbook targets`: the inventory of runbook.toml with
//! each target's groups and address, connected to at once (the real
//! PostgreSQL and Redis of the tests answer; a closed port does not), and
//! `config::targets(kind, group)` in a script.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{service, Sandbox};

/// host:port of a URL.
fn address(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let auth = rest.split('/').next().unwrap();
    auth.rsplit_once('@').map_or(auth, |(_, h)| h).to_string()
}

fn inventory() -> (Sandbox, String) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sb = Sandbox::new();
    sb.config(&format!(
        "[postgres.main]\nurl = \"{}\"\ngroup = \"primary\"\n\n[postgres.replica-1]\nhost = \"127.0.0.1\"\nport = {closed}\n\n\
         [redis.cache]\nurl = \"{}\"\ngroup = [\"caches\", \"eu\"]\n\n[http.api]\nurl = \"http://api.local\"\nservice = \"backend\"\n\n\
         [groups]\nreplicas = [\"postgres.replica-1\"]\n",
        service("RUNBOOK_TEST_PG_URL"),
        service("RUNBOOK_TEST_REDIS_URL")
    ));
    (sb, format!("127.0.0.1:{closed}"))
}

/// Columns as ` | `, connect times as `[ms]`.
fn columns(s: &str) -> String {
    let s = regex::Regex::new(r"✓ \d+\.\d ms").unwrap().replace_all(s, "✓ [ms]").into_owned();
    regex::Regex::new(r" {2,}").unwrap().replace_all(&s, " | ").into_owned()
}

#[test]
fn the_inventory_shows_groups_addresses_and_who_answers() {
    let (sb, closed) = inventory();
    let out = sb.run(&["targets"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        columns(&out.stdout),
        format!(
            "KIND | NAME | GROUPS | ADDRESS | REACHABLE\n\
             postgres | main | primary | {pg} | ✓ [ms]\n\
             postgres | replica-1 | replicas | {closed} | ✗ Connection refused (os error 111)\n\
             redis | cache | caches,eu | {redis} | ✓ [ms]\n\
             http | api | - | compose service backend | - not checked: a compose service's container is found when a run connects\n\
             \n1 target(s) unreachable\n",
            pg = address(&service("RUNBOOK_TEST_PG_URL")),
            redis = address(&service("RUNBOOK_TEST_REDIS_URL")),
        )
    );
    let group = sb.run(&["targets", "--group", "replicas", "--format", "json"]);
    assert_eq!(group.code, 2);
    let v: serde_json::Value = serde_json::from_str(&group.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!((v[0]["name"].clone(), v[0]["reachable"].clone()), ("replica-1".into(), false.into()));
    let up = sb.run(&["targets", "--group", "eu"]);
    assert_eq!(up.code, 0, "{}", up.stdout);
    let listed = sb.run(&["targets", "--kind", "postgres", "--no-check"]);
    assert_eq!(listed.code, 0);
    assert_eq!(
        columns(&listed.stdout),
        format!(
            "KIND | NAME | GROUPS | ADDRESS | REACHABLE\npostgres | main | primary | {}\npostgres | replica-1 | replicas | {closed}\n",
            address(&service("RUNBOOK_TEST_PG_URL"))
        )
    );
    for (args, said) in [
        (
            &["targets", "--group", "replica"][..],
            "  = help: did you mean `replicas`? groups: caches, eu, primary, replicas\n",
        ),
        (
            &["targets", "--kind", "postgress"][..],
            "  = help: did you mean `postgres`? kinds: postgres, redis, s3, smtp, http, docker\n",
        ),
    ] {
        let out = sb.run(args);
        assert_eq!(out.code, 64, "{args:?}");
        assert!(out.stderr.ends_with(said), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn scripts_read_a_group_and_a_bad_member_is_refused_at_load() {
    let (sb, _) = inventory();
    sb.write(
        "scripts/each.rhai",
        "// Each replica.\nprint(config::targets(\"postgres\", \"replicas\"));\nprint(config::targets(\"redis\", \"eu\"));\nprint(config::targets(\"postgres\", \"replcas\"));\n",
    );
    let out = sb.run(&["run", "each"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("[\"replica-1\"]\n") && out.stdout.contains("[\"cache\"]\n"), "{}", out.stdout);
    assert!(out.stderr.contains("config::targets: no group `replcas` in "), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `replicas`?"), "{}", out.stderr);

    let bad = Sandbox::new();
    bad.config("[postgres.main]\nurl = \"postgres://x/y\"\n\n[groups]\ndbs = [\"postgres.mian\"]\n");
    let out = bad.run(&["targets"]);
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("key `groups.dbs`: `postgres.mian` is no target (did you mean `postgres.main`?); members are written KIND.NAME"),
        "{}",
        out.stderr
    );
}
