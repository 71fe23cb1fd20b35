//! Every secret is masked on stdout, stderr, JSON and --output files.

mod common;
use common::Sandbox;

const PASSWORD: &str = "s3cr3t-Pa55word";
const TOKEN: &str = "tok-ABCDEF-123456";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.config(
        "[vars]\nleak = \"${RB_TEST_PASSWORD}\"\napi_token_copy = \"${RB_TEST_TOKEN}\"\nmarked = { secret = \"hidden-by-mark\" }\n\n\
         [postgres.main]\nurl = \"postgres://civicq:urlpass-999@db:5432/civicq\"\npassword = \"${RB_TEST_PASSWORD}\"\n\n\
         [http.api]\nurl = \"https://api.example.com\"\nbearer = \"${RB_TEST_TOKEN}\"\n",
    );
    sb.write(
        "s.rhai",
        "// S.\nlet pw = config::get(\"leak\");\nprint(`password is ${pw}`);\ncheck(\"driver\", || throw `auth failed for ${pw} with token ${config::get(\"api_token_copy\")}`);\nprint(`url postgres://civicq:urlpass-999@db and ${config::get(\"marked\")}`);\nthrow `fatal: ${pw}`;\n",
    );
    sb
}

fn assert_clean(what: &str, text: &str) {
    for s in [PASSWORD, TOKEN, "urlpass-999", "hidden-by-mark"] {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[test]
fn secrets_never_reach_stdout_stderr_json_or_files() {
    let sb = sandbox();
    let mut cmd = sb.cmd();
    cmd.env("RB_TEST_PASSWORD", PASSWORD).env("RB_TEST_TOKEN", TOKEN);
    let out = sb.run_cmd(cmd.args(["run", "s.rhai"]));
    assert_eq!(out.code, 3);
    assert_clean("stdout", &out.stdout);
    assert_clean("stderr", &out.stderr);
    assert!(out.stdout.contains("password is ***"), "{}", out.stdout);
    assert!(out.stdout.contains("✗ driver: auth failed for *** with token ***"), "{}", out.stdout);
    assert!(out.stdout.contains("url postgres://civicq:***@db and ***"), "{}", out.stdout);
    assert!(out.stderr.contains("error: fatal: ***"), "{}", out.stderr);

    let mut cmd = sb.cmd();
    cmd.env("RB_TEST_PASSWORD", PASSWORD).env("RB_TEST_TOKEN", TOKEN);
    let out = sb.run_cmd(cmd.args(["run", "s.rhai", "--json"]));
    assert_clean("json", &out.stdout);
    assert!(out.stdout.contains("password is ***"));

    let file = sb.path().join("report.json");
    let mut cmd = sb.cmd();
    cmd.env("RB_TEST_PASSWORD", PASSWORD).env("RB_TEST_TOKEN", TOKEN);
    sb.run_cmd(cmd.args(["run", "s.rhai", "--json", "--output", file.to_str().unwrap()]));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_clean("--output file", &written);
    assert!(written.contains("password is ***"));
}

#[test]
fn an_unset_variable_is_a_config_error_naming_it() {
    let sb = sandbox();
    let mut cmd = sb.cmd();
    cmd.env_remove("RB_TEST_PASSWORD").env("RB_TEST_TOKEN", TOKEN);
    let out = sb.run_cmd(cmd.args(["run", "s.rhai"]));
    assert_eq!(out.code, 78);
    assert_eq!(
        out.stderr,
        "error: runbook.toml: key `vars.leak`: environment variable RB_TEST_PASSWORD is not set: export it, or write ${RB_TEST_PASSWORD:-default} to give a default\n"
    );
}

/// A secret with `"`, `\`, a tab, a newline and non-ASCII characters:
/// renderers escaped or indented it before the redactor saw it, so it left
/// in JSON, Prometheus, Nagios, the text report's continuation lines and
/// the history.
const AWKWARD: &str = "Qu\"ote\\back\tslash\nnext-ünï";

fn awkward_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.config("[vars]\nawkward = { secret = \"${RB_TEST_AWKWARD}\" }\n");
    sb.write(
        "s.rhai",
        "// S.\nimport \"format\" as fmt;\nlet s = config::get(\"awkward\");\nprint(`is ${s}`);\ncheck(`name ${s}`, || throw `failed: ${s}`);\n\
         metric(\"m\", 1, #{note: s});\ncheck(\"clipped\", || fmt::clip(`Authorization: ${s} and more`, 30));\n\
         table([#{cell: `x ${s}`}]);\nprint(s.to_upper());\n",
    );
    sb
}

fn leaks(text: &str) -> Vec<String> {
    let mut forms = vec![AWKWARD.to_string(), AWKWARD.to_uppercase()];
    let json = serde_json_escape(AWKWARD);
    forms.push(json);
    forms.push("ote\\back".into());
    forms.push("next-ünï".into());
    forms.push("Qu\"ote".into());
    forms.into_iter().filter(|f| text.contains(f.as_str())).collect()
}

fn serde_json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\t', "\\t").replace('\n', "\\n")
}

#[test]
fn secrets_with_awkward_characters_leave_in_no_format() {
    let sb = awkward_sandbox();
    for format in ["text", "json", "prometheus", "nagios"] {
        let mut cmd = sb.cmd();
        cmd.env("RB_TEST_AWKWARD", AWKWARD);
        let out = sb.run_cmd(cmd.args(["run", "s.rhai", "--format", format]));
        assert_eq!(out.code, 2, "{format}: {}", out.stderr);
        assert_eq!(leaks(&out.stdout), Vec::<String>::new(), "{format}:\n{}", out.stdout);
        assert_eq!(leaks(&out.stderr), Vec::<String>::new(), "{format}:\n{}", out.stderr);
    }
    let mut cmd = sb.cmd();
    cmd.env("RB_TEST_AWKWARD", AWKWARD);
    let out = sb.run_cmd(cmd.args(["run", "s.rhai"]));
    assert!(out.stdout.contains("  is ***\n"), "{}", out.stdout);
    assert!(out.stdout.contains("✓ clipped: Authorization: *** and more"), "{}", out.stdout);
    assert_eq!(leaks(&stored_history(&sb)), Vec::<String>::new());
}

/// Every byte of the history's SQLite files, after `runbook history` has
/// taken in the spooled runs.
fn stored_history(sb: &Sandbox) -> String {
    let mut cmd = sb.cmd();
    cmd.env("RB_TEST_AWKWARD", AWKWARD).args(["history", "--dry-runs"]);
    let out = sb.run_cmd(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = sb.path().join(".local/state/runbook");
    let mut all = Vec::new();
    for f in ["history.sqlite", "history.sqlite-wal"] {
        all.extend(std::fs::read(dir.join(f)).unwrap_or_default());
    }
    assert!(all.len() > 1000, "the history has runs");
    String::from_utf8_lossy(&all).into_owned()
}

/// Params that carry credentials were printed in JSON and kept in the
/// history.
#[test]
fn credential_params_are_masked() {
    let sb = Sandbox::new();
    sb.write(
        "p.rhai",
        "// P.\n// param db_password: string = \"\"\n// param blob: secret = \"\"\n// param target: string = \"\"\nprint(db_password.len());\n",
    );
    let out = sb.run(&[
        "run",
        "p.rhai",
        "--json",
        "--arg",
        "db_password=hunter2-pass",
        "--arg",
        "blob=opaque-blob-99",
        "--arg",
        "target=postgres://ops:url-pass-77@db/civicq",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for s in ["hunter2-pass", "opaque-blob-99", "url-pass-77"] {
        assert!(!out.stdout.contains(s), "json leaks {s}:\n{}", out.stdout);
    }
    assert!(out.stdout.contains(r#""db_password": "***""#), "{}", out.stdout);
    assert!(out.stdout.contains(r#""target": "postgres://ops:***@db/civicq""#), "{}", out.stdout);
    let history = stored_history(&sb);
    for s in ["hunter2-pass", "opaque-blob-99", "url-pass-77"] {
        assert!(!history.contains(s), "history leaks {s}");
    }
}
