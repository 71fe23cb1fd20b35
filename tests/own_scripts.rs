//! A script of one's own, with no ceremony (issue 21): no header needed,
//! `-e` and stdin, a shebang, output a pipe can use, and a history that
//! keeps a throw-away file apart from a shipped script of the same name.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::harness::Test;

#[test]
fn a_script_without_a_header_runs_and_piped_prints_exactly_its_lines() {
    Test::new()
        .write("newest.rhai", "print(\"ada@example.com\");\nprint(\"bo@example.com\\t2026-12-01\");\n")
        .args(&["run", "newest.rhai"])
        .stdout("ada@example.com\nbo@example.com\t2026-12-01\n")
        .run();
}

#[test]
fn code_on_the_command_line_or_on_stdin_runs_as_a_script() {
    Test::new().args(&["run", "-e", "print(40 + 2)"]).stdout("42\n").run();
    Test::new().args(&["run", "-"]).stdin("let x = 6 * 7;\nprint(`x is ${x}`);\n").stdout("x is 42\n").run();
    Test::new()
        .args(&["run", "-e", "let x = 1;\nx.nope()"])
        .code(3)
        .stderr("error: unknown function `nope(int)`\n  --> <-e>:2:3\n  |\n2 | x.nope()\n  |   ^\n  = help: `runbook doc` lists every host function\n")
        .stdout("-e\n\n  ? error: unknown function `nope(int)`\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n")
        .run();
}

#[test]
fn a_script_that_reports_keeps_the_whole_report_when_piped() {
    Test::new()
        .write("mixed.rhai", "print(\"looking\");\ncheck(\"disk\", || \"fine\");\n")
        .args(&["run", "mixed.rhai"])
        .stdout("mixed\n\n  looking\n  ✓ disk: fine\n\nOK · 1 check · 0 metrics · [TIME]\n")
        .run();
}

#[test]
fn a_printing_script_written_to_a_file_is_its_lines() {
    let sb = Test::new()
        .write("p.rhai", "// Lines.\nprint(\"one\");\nprint(\"two\");\n")
        .args(&["run", "p.rhai", "-o", "out.txt"])
        .run();
    assert_eq!(std::fs::read_to_string(sb.path().join("out.txt")).unwrap(), "one\ntwo\n");
}

#[test]
fn a_script_with_a_shebang_runs_by_its_path() {
    let sb = common::Sandbox::new();
    let path = sb.write(
        "disk-now",
        "#!/usr/bin/env -S runbook run\n// Disk use of /, now.\nprint(`${sys::disk(\"/\").used_pct > 0}`);\n",
    );
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin_dir = std::path::Path::new(common::bin()).parent().unwrap();
    let mut cmd = std::process::Command::new(&path);
    cmd.current_dir(sb.path()).env("HOME", sb.path()).env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()));
    let out = sb.run_cmd(&mut cmd);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "true\n", ""));
}

/// `./daily-check.rhai` is not the shipped `daily-check`: the history keeps
/// it under its absolute path, and `runbook history` finds it by that path.
#[test]
fn a_throw_away_script_is_recorded_under_its_path() {
    let sb = Test::new()
        .write("daily-check.rhai", "print(\"mine\");\n")
        .args(&["run", "daily-check.rhai"])
        .stdout("mine\n")
        .run();
    let abs = std::fs::canonicalize(sb.path().join("daily-check.rhai")).unwrap().display().to_string();
    let by_path = sb.run(&["history", "daily-check.rhai", "--format", "json"]);
    assert!(by_path.stdout.contains(&format!("\"script\": \"{abs}\"")), "{}", by_path.stdout);
    let shipped = sb.run(&["history", "daily-check"]);
    assert!(shipped.stdout.starts_with("no runs recorded of `daily-check` ("), "{}", shipped.stdout);
}

#[test]
fn list_shows_a_headerless_script_with_no_summary() {
    let sb = common::Sandbox::new();
    sb.write("scripts/quick.rhai", "print(1);\n");
    let out = sb.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let quick = v.as_array().unwrap().iter().find(|s| s["name"] == "quick").unwrap();
    assert_eq!(quick["summary"], "");
}

/// What runs but not as written is said on stderr before the run, which
/// goes on: stdout is what the script printed.
#[test]
fn a_run_warns_of_a_line_that_does_not_do_what_it_says() {
    Test::new()
        .args(&["run", "-e", "let x = 3;\nprint(\"x is ${x}\");\nlet s = \" a \";\nlet t = s.trim();\nprint(t);"])
        .stdout("x is ${x}\n\n")
        .stderr(concat!(
            "warning: `${x}` is inside double quotes, so it is printed as it is\n  --> <-e>:2:7\n  |\n2 | print(\"x is ${x}\");\n  |       ^\n  = help: `${…}` fills in a value only between backticks: `disk ${d.used_pct}%`\n",
            "warning: `s.trim(…)` changes `s` in place and returns (), so its value here is ()\n  --> <-e>:4:11\n  |\n4 | let t = s.trim();\n  |           ^\n  = help: call `s.trim(…);` on its own line, then use `s`\n",
        ))
        .run();
}

/// `runbook check` connects to nothing, so a config whose variables are
/// not set (a scripts repository's CI) does not fail it; `run` still does.
#[test]
fn check_needs_none_of_the_configs_variables() {
    let sb = common::Sandbox::new();
    sb.config("[postgres.main]\nurl = \"${RB_TEST_SURELY_UNSET_URL}\"\n");
    sb.write("a.rhai", "let db = pg::connect(\"main\");\n");
    let out = sb.run(&["check", "a.rhai"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "✓ a (a.rhai)\n"), "{}", out.stderr);
    let out = sb.run(&["run", "a.rhai"]);
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("environment variable RB_TEST_SURELY_UNSET_URL is not set"), "{}", out.stderr);
}

/// The help of a file given by path says to run it by that path.
#[test]
fn the_help_of_a_file_says_to_run_it_by_its_path() {
    let sb = common::Sandbox::new();
    sb.write("g.rhai", "// Growth.\n// param n: int\nprint(n);\n");
    let out = sb.run(&["run", "g.rhai", "--help"]);
    assert!(out.stdout.ends_with("\nRun it:    runbook run g.rhai --arg n=<int>\n"), "{}", out.stdout);
}

const TYPED: &str = "// Typed params.
// param wait: duration = 90s     how long
// param mode: choice(soft|hard) = soft
// param n: int = 3
// param ratio: float = 0.5
// param loud: bool = false
// param tags: list = [a, b]
let later = time::now() + wait;
print(`${wait} ${type_of(wait)} later:${later > time::now()} minutes:${wait.minutes}`);
print(`${mode} ${type_of(mode)}`);
print(`${type_of(n)} ${type_of(ratio)} ${type_of(loud)} ${type_of(tags)} ${n + 1} ${ratio * 2.0} ${!loud} ${tags.len()}`);
";

/// A `duration` param is a Duration (`time::now() + wait` is a later
/// time), a `choice` is one of its words, and int, float, bool and list
/// params arrive as those types.
#[test]
fn params_arrive_typed_and_a_choice_refuses_other_words() {
    Test::new()
        .script("typed", TYPED)
        .args(&["run", "typed", "--arg", "wait=2h"])
        .stdout("2h Duration later:true minutes:120.0\nsoft string\ni64 f64 bool array 4 1.0 true 2\n")
        .run();
    Test::new()
        .script("typed", TYPED)
        .args(&["run", "typed", "--arg", "mode=hrad"])
        .code(64)
        .stderr(
            "error: --arg mode: `hrad` is not one of soft, hard (did you mean `hard`?)
  = help: parameters of typed:
            wait   duration           = 90s    how long
            mode   choice(soft|hard)  = soft
            n      int                = 3
            ratio  float              = 0.5
            loud   bool               = false
            tags   list               = [a,b]
",
        )
        .run();
    Test::new()
        .write("bad.rhai", "// Bad default.\n// param mode: choice(soft|hard) = medium\n")
        .args(&["run", "bad.rhai"])
        .code(65)
        .stderr("header error: default of `mode`: `medium` is not one of soft, hard\n  --> bad.rhai:2:36\n  |\n2 | // param mode: choice(soft|hard) = medium\n  |                                    ^\n")
        .run();
}

/// `warn(…)` inside a check's function makes that check a warning; the
/// script needs no `if … { warn() } else { ok() }` around it.
#[test]
fn a_check_can_end_in_a_warning() {
    Test::new()
        .write(
            "growth.rhai",
            "// Growth.\nlet signups = 3;\ncheck(\"Signups\", || if signups < 10 { warn(`only ${signups} today`) } else { `${signups} today` });\ncheck(\"Disk\", || \"fine\");\n",
        )
        .args(&["run", "growth.rhai"])
        .code(1)
        .stdout("growth — Growth.\n\n  ! Signups: only 3 today\n  ✓ Disk: fine\n\nWARNING · 1 warning · 2 checks · 0 metrics · [TIME]\n")
        .run();
}

/// Where Rhai would silently concatenate or answer `false`, mixing a
/// Timestamp, a Duration or a number with text is an error naming both
/// types and the conversion to use.
#[test]
fn mixing_types_is_an_error_that_names_the_conversion() {
    let cases = [
        ("time::now() + \"1h\"", "cannot add the string \"1h\" to a Timestamp: add a Duration: t + time::duration(\"1h\"); for text, write `${t} …` or t.to_string() + \"…\""),
        ("time::now() < \"2020-01-01\"", "cannot compare a Timestamp with the string \"2020-01-01\": parse the text first: time::parse(\"2026-01-31\") (or compare t.to_string())"),
        ("time::duration(\"1h\") + \"5m\"", "cannot add the string \"5m\" to a Duration: make the text a Duration: time::duration(\"1h\")"),
        ("5 > \"3\"", "cannot compare the int 5 with the string \"3\": convert one side: parse_int(s) / parse_float(s), or n.to_string()"),
        ("\"200\" == 200", "cannot compare the string \"200\" with the int 200: convert one side: parse_int(s) / parse_float(s), or n.to_string()"),
    ];
    for (expr, message) in cases {
        let code = format!("let x = {expr};");
        let caret = " ".repeat("let x = ".len() + expr.find([' ']).map(|i| i + 1).unwrap_or(0));
        Test::new()
            .args(&["run", "-e", &code])
            .code(3)
            .stdout(&format!("-e\n\n  ? error: {message}\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n"))
            .stderr(&format!("error: {message}\n  --> <-e>:1:{}\n  |\n1 | {code}\n  | {caret}^\n", caret.len() + 1))
            .run();
    }
    // What stays allowed: text built from values, and a Duration against its text.
    Test::new()
        .args(&[
            "run",
            "-e",
            "print(\"n=\" + 5); print(time::duration(\"1h\") > \"30m\"); print(`${time::duration(\"90m\")}`);",
        ])
        .stdout("n=5\ntrue\n1h30m\n")
        .run();
}

/// `runbook check` finds, without running anything, what a run would only
/// find on the line: a method a handle lacks, a global function that does
/// not exist, a host call with the wrong number of arguments.
#[test]
fn check_finds_unknown_methods_functions_and_argument_counts() {
    let cases = [
        (
            "let db = pg::connect(\"main\");\nlet n = db.scaler(\"SELECT 1\");\n",
            "error: a PgConnection has no method `scaler` (`db` is a PgConnection)\n  --> s.rhai:2:12\n  |\n2 | let n = db.scaler(\"SELECT 1\");\n  |            ^\n  = help: did you mean `scalar`?\n",
        ),
        (
            "let n = 3;\nif n > 5 { warning(\"busy\"); }\n",
            "error: unknown function `warning`\n  --> s.rhai:2:12\n  |\n2 | if n > 5 { warning(\"busy\"); }\n  |            ^\n  = help: did you mean `warn`?\n",
        ),
        (
            "let d = sys::disk(\"/\", \"/var\");\n",
            "error: `sys::disk` takes 1 argument(s), not 2\n  --> s.rhai:1:14\n  |\n1 | let d = sys::disk(\"/\", \"/var\");\n  |              ^\n  = help: `runbook doc sys::disk` shows its signatures\n",
        ),
        (
            "let n = pg::connect(\"main\").scaler(\"SELECT 1\");\n",
            "error: a PgConnection has no method `scaler` (`pg::connect` returns a PgConnection)\n  --> s.rhai:1:29\n  |\n1 | let n = pg::connect(\"main\").scaler(\"SELECT 1\");\n  |                             ^\n  = help: did you mean `scalar`?\n",
        ),
        (
            "if false { sys::dsk(\"/\"); }\nif false { docker::restrat(\"web\"); }\n",
            "error: unknown function `sys::dsk`\n  --> s.rhai:1:17\n  |\n1 | if false { sys::dsk(\"/\"); }\n  |                 ^\n  = help: did you mean `sys::disk`?\n\nerror: unknown function `docker::restrat`\n  --> s.rhai:2:20\n  |\n2 | if false { docker::restrat(\"web\"); }\n  |                    ^\n  = help: did you mean `docker::restart`?\n",
        ),
        (
            "let name = \" web \";\nname.trim();\nlet clean = name.trim();\n",
            "error: `name.trim(…)` changes `name` in place and returns (), so its value here is ()\n  --> s.rhai:3:18\n  |\n3 | let clean = name.trim();\n  |                  ^\n  = help: call `name.trim(…);` on its own line, then use `name`\n",
        ),
    ];
    for (script, stderr) in cases {
        Test::new().write("s.rhai", script).args(&["check", "s.rhai"]).code(65).stderr(stderr).run();
    }
    // What is fine stays fine: closures called by name, script functions,
    // string methods, a handle's real methods.
    Test::new()
        .write(
            "ok.rhai",
            "let f = |x| x + 1;\nfn g(a) { a }\nlet db = pg::connect(\"main\");\nprint(f(g(1)) + db.scalar(\"SELECT 1\"));\nprint(\"a b\".split(\" \").len());\n",
        )
        .args(&["check", "ok.rhai"])
        .stdout("✓ ok (ok.rhai)\n")
        .run();
    // A `switch` arm that pushes is a statement; a script's own `metric`
    // takes what options it likes: neither is flagged, by check or run.
    let fine = "let a = [];\nlet kind = \"web\";\nswitch kind { \"web\" => a.push(\"w\"), \"db\" => { a.push(\"d\"); } }\nfn metric(n, v, o) { o.label }\nprint(`${a} ${metric(\"x\", 1, #{label: \"mine\"})}`);\n";
    Test::new().write("fine.rhai", fine).args(&["check", "fine.rhai"]).stdout("✓ fine (fine.rhai)\n").run();
    Test::new().write("fine.rhai", fine).args(&["run", "fine.rhai"]).stdout("[\"w\"] mine\n").run();
}

/// A key a host call's option map does not take is found by `check` at
/// the key itself, for functions and handle methods alike, every problem
/// of the script in one run; a run stops on the same words.
#[test]
fn check_finds_unknown_option_keys_and_lists_every_problem() {
    let script = "let x = 85;\nmetric(\"disk\", x, #{warn: 80, crti: 90});\nlet db = pg::connect(\"main\");\nlet rows = db.query(\"SELECT 1\", [], #{timout: \"5s\"});\nlet out = proc::run([\"true\"], #{timeout: \"5s\", cdw: \"/tmp\"});\n";
    Test::new()
        .write("o.rhai", script)
        .args(&["check", "o.rhai"])
        .code(65)
        .stderr(concat!(
            "error: metric: unknown option `crti` (did you mean `crit`?)\n  --> o.rhai:2:31\n  |\n2 | metric(\"disk\", x, #{warn: 80, crti: 90});\n  |                               ^\n  = help: `runbook doc metric` describes its options\n",
            "\n",
            "error: pg query: unknown option `timout` (did you mean `timeout`?)\n  --> o.rhai:4:39\n  |\n4 | let rows = db.query(\"SELECT 1\", [], #{timout: \"5s\"});\n  |                                       ^\n  = help: `runbook doc PgConnection` describes its options\n",
            "\n",
            "error: proc::run: unknown option `cdw` (it takes timeout, cwd, env, stdin)\n  --> o.rhai:5:48\n  |\n5 | let out = proc::run([\"true\"], #{timeout: \"5s\", cdw: \"/tmp\"});\n  |                                                ^\n  = help: `runbook doc proc::run` describes its options\n",
        ))
        .run();
    Test::new()
        .args(&["run", "-e", "metric(\"disk\", 85, #{warn: 80, crti: 90});"])
        .code(3)
        .stdout("-e\n\n  ? error: metric: unknown option `crti` (did you mean `crit`?)\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n")
        .stderr("error: metric: unknown option `crti` (did you mean `crit`?)\n  --> <-e>:1:1\n  |\n1 | metric(\"disk\", 85, #{warn: 80, crti: 90});\n  | ^\n")
        .run();
}

/// The stdlib is documented and shown from the binary itself, by its name
/// or by the name the scripts import it as: after `cargo install` its
/// files are not on disk.
#[test]
fn the_stdlib_is_documented_and_shown_from_the_binary() {
    Test::new()
        .args(&["doc", "tally"])
        .stdout("Counting things and ranking them, like `sort | uniq -c | sort -rn | head`: `import \"tally\" as tally;`\n\ntally::top(values, n)\n    The `n` most frequent values of an array of strings, as rows for `table()`: `[#{count, value}]`, most frequent first, ties in order of value.\n\n")
        .run();
    Test::new()
        .args(&["doc", "fmt::pct"])
        .stdout("fmt::pct(x)  (stdlib `format`)\n\n  A percentage with one decimal: 42.345 → \"42.3%\".\n\n  `runbook show format` prints the module's source.\n")
        .run();
    let overview = common::Sandbox::new().run(&["doc"]);
    assert!(
        overview
            .stdout
            .contains("\n  format as fmt               10 functions  Formatting helpers the shipped scripts share\n"),
        "{}",
        overview.stdout
    );
    Test::new()
        .args(&["doc", "fmt::pcnt"])
        .code(64)
        .stderr("error: no host function or module named `fmt::pcnt`\n  = help: did you mean `fmt::pct`?\n")
        .run();
    Test::new()
        .args(&["show", "th"])
        // The file's own "500ms" is filtered as the output is.
        .stdout(&common::harness::filtered(include_str!("../stdlib/thresholds.rhai")))
        .stderr("# <stdlib>/thresholds.rhai (stdlib: `import \"thresholds\"`)\n")
        .run();
    // A local stdlib file is what `import` loads, so it is what `show` prints.
    Test::new()
        .write("stdlib/tally.rhai", "// Mine.\nfn top(values, n) { values }\n")
        .args(&["show", "tally"])
        .stdout("// Mine.\nfn top(values, n) { values }\n")
        .stderr("# stdlib/tally.rhai (stdlib: `import \"tally\"`)\n")
        .run();
}

/// A time reads the same in `print`, a table and the REPL (RFC 3339, UTC,
/// to the millisecond), and JSON keeps its every digit; a duration keeps
/// its microseconds for `.seconds` and prints to the millisecond;
/// `table()` in JSON is rows.
#[test]
fn one_display_of_times_and_durations_and_tables_in_json_are_rows() {
    let sb = common::Sandbox::new();
    let code = "let t = time::parse(\"2026-11-28T09:00:00.123456Z\");\nlet d = time::duration(\"0.25ms\");\nprint(t);\nprint(`${t} ${d} ${d.seconds} ${time::duration(\"1.5ms\")}`);\ntable([#{at: t, took: d, n: 3}], [\"at\", \"took\", \"n\"]);\n";
    let out = sb.run(&["run", "-e", code]);
    assert_eq!(
        out.stdout,
        "2026-11-28T09:00:00.123Z\n2026-11-28T09:00:00.123Z 0.25ms 0.00025 1.5ms\nat                        took    n\n────────────────────────  ──────  ─\n2026-11-28T09:00:00.123Z  0.25ms  3\n"
    );
    let json = sb.run(&["run", "-e", code, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["sections"][0]["tables"],
        serde_json::json!([{"columns": ["at", "took", "n"], "rows": [{"at": "2026-11-28T09:00:00.123456Z", "took": "0.25ms", "n": 3}]}])
    );
    assert_eq!(v["sections"][0]["lines"][0]["text"], "2026-11-28T09:00:00.123Z");
    // A row printed whole shows its time too, not a Rust type name.
    Test::new()
        .args(&[
            "run",
            "-e",
            "print(#{at: time::parse(\"2026-11-28\"), took: time::duration(\"90s\"), n: (), s: \"x\"});",
        ])
        .stdout("#{\"at\": [DATE], \"n\": (), \"s\": \"x\", \"took\": 1m30s}\n")
        .run();
}

/// Review fixes: what a pipe holds back comes before the error about it; a
/// dry run keeps its frame; a duration param is seen inside a `fn`; a long
/// print-only run is its lines, all of them.
#[test]
fn piped_output_keeps_its_order_its_dry_run_banner_and_all_its_lines() {
    let sb = common::Sandbox::new();
    sb.write("fails.rhai", "print(\"before\");\nthrow \"broken\";\n");
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(sb.path())
        .env("HOME", sb.path())
        .args(["-c", &format!("exec {} run fails.rhai 2>&1", common::bin())]);
    let both = sb.run_cmd(&mut cmd);
    assert_eq!(
        common::harness::filtered(&both.stdout),
        "fails\n\n  before\nerror: broken\n  --> fails.rhai:2:1\n  |\n2 | throw \"broken\";\n  | ^\n\n  ? error: broken\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n"
    );

    Test::new()
        .write("d.rhai", "print(\"would look\");\n")
        .args(&["run", "d.rhai", "--dry-run"])
        .stdout("d  [dry run: nothing is changed]\n\n  would look\n\nOK · 0 checks · 0 metrics · [TIME]\n")
        .run();

    Test::new()
        .write("f.rhai", "// F.\n// param keep: duration = 2h\nfn older(age) { age > keep }\nprint(older(time::duration(\"3h\")));\nprint(`${keep}`);\n")
        .args(&["run", "f.rhai"])
        .stdout("true\n2h\n")
        .run();

    let many: String = (0..1500).map(|i| format!("{i}\n")).collect();
    Test::new().write("many.rhai", "for i in 0..1500 { print(i); }\n").args(&["run", "many.rhai"]).stdout(&many).run();
}

#[test]
fn a_warning_said_in_a_check_wins_over_its_return_value_and_check_knows_scopes() {
    Test::new()
        .write("w.rhai", "check(\"c\", || { warn(\"slow\"); false });\n")
        .args(&["run", "w.rhai"])
        .code(1)
        .stdout("w\n\n  ! c: slow\n\nWARNING · 1 warning · 1 check · 0 metrics · [TIME]\n")
        .run();
    // `db` is a PgConnection at the top, anything as a parameter or after
    // a reassignment: no false "no method".
    Test::new()
        .write(
            "scopes.rhai",
            "let db = pg::connect(\"main\");\nfn flush(db) { db.keys(\"x\") }\nlet r = redis::connect(\"cache\");\nlet c = pg::connect(\"main\");\nc = r;\nc.ping();\n",
        )
        .args(&["check", "scopes.rhai"])
        .stdout("✓ scopes (scopes.rhai)\n")
        .run();
}

const UNIT_HELP: &str = "a value is () when a method changed it in place and returned nothing (s.trim(), s.replace(…), a.push(…), a.sort(): use the variable itself after the call), when a map has no such field, or when a query found no row";

/// The traps every newcomer hits get a line that explains them where they
/// strike; a caught error reads as its message; arrays join.
#[test]
fn rhai_traps_are_explained_where_they_strike() {
    Test::new()
        .args(&["run", "-e", "let t = \" a \".trim();\nprint(t.len());"])
        .code(3)
        .stdout("-e\n\n  ? error: unknown function `len(())`\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n")
        .stderr(&format!("error: unknown function `len(())`\n  --> <-e>:2:9\n  |\n2 | print(t.len());\n  |         ^\n  = help: {UNIT_HELP}\n"))
        .run();
    Test::new()
        .args(&["run", "-e", "let m = ();\nprint(m.name);"])
        .code(3)
        .stdout("-e\n\n  ? error: `m` is (), so it has no property `name`\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n")
        .stderr(&format!("error: `m` is (), so it has no property `name`\n  --> <-e>:2:9\n  |\n2 | print(m.name);\n  |         ^\n  = help: {UNIT_HELP}\n"))
        .run();
    // An answer that is not JSON: its `json` is (), and the error says why.
    let port = common::web::serve_http();
    let code = format!("let r = http::get(\"http://127.0.0.1:{port}/\");\nprint(r.json.version);");
    Test::new()
        .args(&["run", "-e", &code])
        .code(3)
        .stderr("error: `r.json` is (), so it has no property `version`\n  --> <-e>:2:14\n  |\n2 | print(r.json.version);\n  |              ^\n  = help: `json` is () when the answer is not JSON (its Content-Type is not application/json, or the body does not parse): look at `r.status` and `r.content_type`\n")
        .stdout("-e\n\n  ? error: `r.json` is (), so it has no property `version`\n\nUNKNOWN · stopped by an error (exit 3) · 0 checks · 0 metrics · [TIME]\n")
        .run();
    Test::new()
        .args(&["run", "-e", "print('hello');"])
        .code(65)
        .stderr("compile error: Invalid character: 'hello'\n  --> <-e>:1:7\n  |\n1 | print('hello');\n  |       ^\n  = help: strings take double quotes (\"text\") or backticks (`text ${x}`); single quotes hold one character\n")
        .run();
    Test::new()
        .args(&["run", "-e", "try { let x = 1 / 0; } catch (e) { print(e); print(`caught: ${e}`); }\nprint([\"a\", \"b\", 3].join(\", \"));\nprint(#{a: 1});"])
        .stdout("Division by zero: 1 / 0\ncaught: Division by zero: 1 / 0\na, b, 3\n#{\"a\": 1}\n")
        .run();
    Test::new()
        .write("q.rhai", "let x = 1;\nprint(\"x is ${x}\");\n")
        .args(&["check", "q.rhai"])
        .code(65)
        .stderr("error: `${x}` is inside double quotes, so it is printed as it is\n  --> q.rhai:2:7\n  |\n2 | print(\"x is ${x}\");\n  |       ^\n  = help: `${…}` fills in a value only between backticks: `disk ${d.used_pct}%`\n")
        .run();
}

/// The three scripts a newcomer writes in week one, as getting-started
/// shows them, against the real PostgreSQL and Docker Engine: a growth
/// check that ends in a WARNING, a 30-second query piped into a pipeline,
/// and a parameterised restart tried with `--dry-run` first.
#[test]
fn a_newcomers_three_week_one_scripts_run_first_time() {
    let c = common::Compose::new("week-one");
    let web = c.run("web", 1, common::IDLE_SH);
    let worker = c.run("worker", 1, common::IDLE_SH);
    let sb = common::Sandbox::with_services(&format!("\n[docker]\nproject = \"{}\"\n", c.project));

    sb.write(
        "growth.rhai",
        "// Warn when fewer users signed up than expected.\n// param since: duration = 7d\n// param min_signups: int = 100000000\n\
         let n = pg::connect(\"main\").scalar(\"SELECT count(*) FROM users WHERE created_at > now() - $1\", [since]);\n\
         check(`Signups in the last ${since}`, || if n < min_signups { warn(`only ${n}`) } else { `${n}` });\n",
    );
    let out = sb.run(&["run", "growth.rhai"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("\n  ! Signups in the last 7d: only "), "{}", out.stdout);
    assert!(out.stdout.contains("\nWARNING · 1 warning · 1 check · 0 metrics · "), "{}", out.stdout);

    let query =
        "table(pg::connect(\"main\").query(\"SELECT role, count(*) AS n FROM users GROUP BY role ORDER BY n DESC\"));";
    let out = sb.run(&["run", "-e", query]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "role       n\n─────────  ─────\nuser       19600\nmoderator    360\nadmin         40\n"),
        "{}",
        out.stderr
    );

    sb.write(
        "restart.rhai",
        "// Restart a compose service's containers.\n// param service: choice(web|worker|all) = web\n\
         let targets = if service == \"all\" { [\"web\", \"worker\"] } else { [service] };\n\
         for s in targets { check(`restart ${s}`, || done(docker::restart(s, #{timeout: \"5s\"}).join(\", \"))); }\n",
    );
    let started = |name: &str| c.inspect(name, "{{.State.StartedAt}}");
    let (web_before, worker_before) = (started(&web), started(&worker));
    let dry = sb.run(&["run", "restart.rhai", "--arg", "service=worker", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains(&format!("would restart {worker}")), "{}", dry.stdout);
    assert_eq!(started(&worker), worker_before, "a dry run restarted the container");
    let real = sb.run(&["run", "restart.rhai", "--arg", "service=worker"]);
    assert_eq!(real.code, 0, "{}{}", real.stdout, real.stderr);
    assert!(real.stdout.contains(&format!("  ✓ restart worker: {worker}\n")), "{}", real.stdout);
    assert_ne!(started(&worker), worker_before, "the worker was not restarted");
    assert_eq!(started(&web), web_before, "the web container was restarted too");
    let wrong = sb.run(&["run", "restart.rhai", "--arg", "service=db"]);
    assert_eq!(wrong.code, 64, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("`db` is not one of web, worker, all"), "{}", wrong.stderr);
}
