//! runbook.toml: discovery, interpolation, and errors naming file and key.

mod common;
use common::Sandbox;

#[test]
fn unknown_key_names_file_key_and_suggests() {
    let sb = Sandbox::new();
    sb.config("[postgres.main]\nhost = \"db\"\npasword = \"x\"\n");
    let out = sb.run(&["run", "system-resources"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr
            .starts_with("error: runbook.toml: key `postgres.main.pasword`: unknown field `pasword`, expected one of"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.ends_with("  = help: did you mean `password`?\n"), "{}", out.stderr);
}

#[test]
fn wrong_type_names_the_key() {
    let sb = Sandbox::new();
    sb.config("[redis.cache]\nport = \"six\"\n");
    let out = sb.run(&["list"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr
            .starts_with("error: runbook.toml: key `redis.cache.port`: invalid type: string \"six\", expected u16"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_duration_names_the_key() {
    let sb = Sandbox::new();
    sb.config("[run]\ntimeout = \"forever\"\n");
    let out = sb.run(&["list"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.starts_with("error: runbook.toml: key `run.timeout`: invalid duration `forever`"),
        "{}",
        out.stderr
    );
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let sb = Sandbox::new();
    sb.config("[run]\ntimeout = \n");
    let out = sb.run(&["list"]);
    assert_eq!(out.code, 78);
    assert!(out.stderr.starts_with("error: runbook.toml: TOML parse error at line 2, column 11"), "{}", out.stderr);
}

#[test]
fn found_through_flag_env_and_xdg() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\nprint(config::path());\nprint(config::get(\"who\"));\n");
    sb.write("elsewhere.toml", "[vars]\nwho = \"flag\"\n");
    sb.write("env.toml", "[vars]\nwho = \"env\"\n");
    sb.write(".config/runbook/runbook.toml", "[vars]\nwho = \"xdg\"\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert!(out.stdout.contains("xdg\n"), "{}{}", out.stdout, out.stderr);
    let mut cmd = sb.cmd();
    cmd.env("RUNBOOK_CONFIG", "env.toml").args(["run", "s.rhai"]);
    assert!(sb.run_cmd(&mut cmd).stdout.contains("env\n"));
    let out = sb.run(&["--config", "elsewhere.toml", "run", "s.rhai"]);
    assert!(out.stdout.contains("elsewhere.toml\nflag\n"), "{}", out.stdout);
    let out = sb.run(&["--config", "missing.toml", "run", "s.rhai"]);
    assert_eq!(out.code, 78);
    assert!(out.stderr.starts_with("error: cannot read config missing.toml:"), "{}", out.stderr);
}

#[test]
fn env_defaults_apply() {
    let sb = Sandbox::new();
    sb.config("[vars]\nhost = \"${RB_SURELY_UNSET:-fallback}\"\n");
    sb.write("s.rhai", "// S.\nprint(config::get(\"host\"));\nprint(config::get(\"nope\", 5));\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert!(out.stdout.contains("fallback\n5\n"), "{}", out.stdout);
}

#[test]
fn the_shipped_example_config_is_valid() {
    let sb = Sandbox::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/runbook.example.toml");
    let out = sb.run(&["--config", example, "list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Every kind of target is missing in the same words: the nearest name,
/// the known names, or why there are none.
#[test]
fn a_missing_target_is_named_the_same_way_for_every_kind() {
    let sb = Sandbox::new();
    sb.write(
        "lookups.rhai",
        r#"// Looks up one target of every kind.
for lookup in [|| pg::connect("main"), || redis::connect("cache"), || s3::bucket("media"),
               || http::get("api/health"), || mail::send(#{to: "a@example.com", subject: "s", body: "b"})] {
    try { lookup.call(); } catch (e) { print(e); }
}
"#,
    );
    let lines = |out: &common::Out| -> Vec<String> {
        common::printed(out).into_iter().take(5).map(|l| format!("  {l}")).collect()
    };

    let none = sb.run(&["run", "lookups.rhai"]);
    assert_eq!(
        lines(&none),
        [
            "  pg::connect: no [postgres.main] target (no config file was found); a postgres:// URL works too",
            "  redis::connect: no [redis.cache] target (no config file was found); a redis:// URL works too",
            "  s3::bucket: no [s3.media] target (no config file was found)",
            "  http::get: `api/health`: no [http.api] target (no config file was found); or give a full URL (https://…)",
            "  mail::send: nothing to send mail through: no [smtp.default] target (no config file was found)",
        ],
        "{}",
        none.stdout
    );

    sb.config(
        "[postgres.mian]\nurl = \"postgres://x@127.0.0.1:1/x\"\n[redis.sessions]\nurl = \"redis://127.0.0.1:1\"\n\
         [s3.medi]\nbucket = \"m\"\n[http.apu]\nurl = \"http://127.0.0.1:1\"\n",
    );
    let typos = sb.run(&["run", "lookups.rhai"]);
    assert_eq!(
        lines(&typos),
        [
            "  pg::connect: no [postgres.main] target (did you mean `mian`?); a postgres:// URL works too",
            "  redis::connect: no [redis.cache] target (known: sessions); a redis:// URL works too",
            "  s3::bucket: no [s3.media] target (did you mean `medi`?)",
            "  http::get: `api/health`: no [http.api] target (did you mean `apu`?); or give a full URL (https://…)",
            "  mail::send: nothing to send mail through: no [smtp.default] target (runbook.toml has no [smtp.NAME] section)",
        ],
        "{}",
        typos.stdout
    );
}

/// Values that loaded fine and failed later, or silently did something
/// else: each is refused at load, naming the file and the key.
#[test]
fn bad_values_are_refused_at_load_naming_the_key() {
    let cases = [
        (
            "[history]\nurl = \"postgress://runbook:hunter2@db/runbook\"\n",
            "error: runbook.toml: key `history.url`: `postgress://runbook:***@db/runbook` is neither a postgres:// URL nor a file path: did you mean `postgres://`? (a SQLite file is a plain path or sqlite://PATH)\n",
        ),
        (
            "[postgres.main]\nurl = \"postgres://u@localhost/db\"\nsslmode = \"sometimes\"\n",
            "error: runbook.toml: key `postgres.main.sslmode`: `sometimes` is not one of disable, allow, prefer, require, verify-ca, verify-full\n",
        ),
        (
            "[postgres.main]\nurl = \"postgres://u@localhost/db\"\nsslmode = \"requre\"\n",
            "error: runbook.toml: key `postgres.main.sslmode`: `requre` is not one of disable, allow, prefer, require, verify-ca, verify-full (did you mean `require`?)\n",
        ),
        (
            "[docker]\nhost = \"ftp://nope\"\n",
            "error: runbook.toml: key `docker.host`: `ftp://nope` is not an engine address: use unix:///var/run/docker.sock, tcp://HOST:2376, http://, https:// or ssh://USER@HOST\n",
        ),
        (
            "[docker]\nproject = \"civicq\"\n\n[docker.web1]\nhost = \"ftp://web1\"\n",
            "error: runbook.toml: key `docker.web1.host`: `ftp://web1` is not an engine address: use unix:///var/run/docker.sock, tcp://HOST:2376, http://, https:// or ssh://USER@HOST\n",
        ),
        (
            "[docker]\ngroup = \"web\"\n",
            "error: runbook.toml: key `docker.group`: the default engine is in no group; name an engine ([docker.web1] host = \"ssh://ops@web1\", group = \"web\") to put it in one\n",
        ),
        ("[http.api]\nurl = \"not a url\"\n", "error: runbook.toml: key `http.api.url`: `not a url` is not an http:// or https:// URL\n"),
        (
            "[smtp.default]\nhost = \"localhost\"\ntimeout = \"soon\"\n",
            "error: runbook.toml: key `smtp.default.timeout`: invalid duration `soon`: write a number and a unit (ms, s, m, h, d, w), e.g. \"90s\", \"15m\", \"7d\", \"1h30m\"\n",
        ),
        (
            "[limits]\nmax_call_depth = 1000000\n",
            "error: runbook.toml: key `limits.max_call_depth`: 1000000 is out of range: between 1 and 5000 (what the script thread's stack holds)\n",
        ),
    ];
    for (toml, expected) in cases {
        let sb = Sandbox::new();
        sb.config(toml);
        let out = sb.run(&["list"]);
        assert_eq!(out.code, 78, "{toml}");
        assert_eq!(out.stderr, expected, "{toml}");
        let files: Vec<_> = std::fs::read_dir(sb.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(
            files.iter().all(|f| !f.to_string_lossy().contains("postgress")),
            "no file named like the URL: {files:?}"
        );
    }
}

/// Durations, mail-on modes and SMTP security are parsed once, as the
/// config is read: each bad value is refused there, naming its key, before
/// any script runs; a bare number of seconds is a duration too.
#[test]
fn typed_values_are_refused_where_they_enter_naming_the_key() {
    use common::harness::Test;
    let script = "// S.\nprint(\"ran\");\n";
    let cases = [
        (
            "[postgres.main]\nhost = \"db\"\nconnect_timeout = \"5 parsecs\"\n",
            "error: runbook.toml: key `postgres.main.connect_timeout`: invalid duration `5 parsecs`: write a number and a unit (ms, s, m, h, d, w), e.g. \"90s\", \"15m\", \"7d\", \"1h30m\"\n",
        ),
        (
            "[run]\ntimeout = true\n",
            "error: runbook.toml: key `run.timeout`: expected a duration such as \"90s\", \"15m\", \"7d\" (or a number of seconds)\n",
        ),
        (
            "[schedule.x]\nscript = \"s.rhai\"\nmail_to = \"ops@example.com\"\nmail_on = \"sometimes\"\n",
            "error: runbook.toml: key `schedule.x.mail_on`: unknown variant `sometimes`, expected one of `failure`, `always`, `change`\n",
        ),
        (
            "[smtp.default]\nhost = \"localhost\"\nsecurity = \"ssl\"\n",
            "error: runbook.toml: key `smtp.default.security`: unknown variant `ssl`, expected one of `starttls`, `tls`, `none`\n",
        ),
    ];
    for (toml, stderr) in cases {
        Test::new().config(toml).write("s.rhai", script).args(&["run", "s.rhai"]).code(78).stderr(stderr).run();
    }
    Test::new()
        .config("[run]\ntimeout = 30\n")
        .write("s.rhai", "// S.\nprint(`ran`);\n")
        .args(&["run", "s.rhai", "--format", "nagios"])
        .stdout("S OK - 0 checks, 0 metrics OK\n")
        .run();
}
