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
        "error: runbook.toml: key `vars.leak`: environment variable RB_TEST_PASSWORD is not set (write ${RB_TEST_PASSWORD:-default} to give a default)\n"
    );
}
