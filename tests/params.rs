//! Script headers, parameters, `--arg` and `run NAME --help`.

mod common;
use common::Sandbox;

const SCRIPT: &str = r#"// Greets someone a number of times.
//
// manual: Nowhere › Testing
// schedule: 0 9 * * *
// param who: string            the person to greet
// param times: int = 2         how many greetings
// param loud: bool = false     shout it
// param ratio: float = 0.5     a fraction
// param since: duration = 1h   a window
// param tags: list = [a, b]    labels
//
// Free text about the script.
print(`${who} ${times} ${loud} ${ratio} ${since} ${tags}`);
print(`${type_of(times)} ${type_of(loud)} ${type_of(ratio)} ${type_of(tags)}`);
"#;

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("scripts/greet.rhai", SCRIPT);
    sb
}

#[test]
fn params_are_typed_constants_with_defaults() {
    let out = sandbox().run(&["run", "greet", "--arg", "who=Ada"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Ada 2 false 0.5 1h [\"a\", \"b\"]\n"), "{}", out.stdout);
    assert!(out.stdout.contains("i64 bool f64 array\n"), "{}", out.stdout);
}

#[test]
fn args_override_defaults() {
    let out = sandbox().run(&[
        "run",
        "greet",
        "-a",
        "who=Bo",
        "--arg",
        "times=5",
        "--arg",
        "loud=yes",
        "--arg",
        "tags=x,y,z",
        "--arg",
        "since=7d",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Bo 5 true 0.5 7d [\"x\", \"y\", \"z\"]\n"), "{}", out.stdout);
}

#[test]
fn params_cannot_be_reassigned() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\n// param n: int = 1\nn = 2;\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("constant"), "{}", out.stderr);
}

#[test]
fn unknown_param_is_64_with_did_you_mean_and_the_list() {
    let out = sandbox().run(&["run", "greet", "--arg", "who=A", "--arg", "tims=3"]);
    assert_eq!(out.code, 64);
    assert_eq!(
        out.stderr,
        "error: greet has no parameter `tims`
  = help: did you mean `times`?
          parameters of greet:
            who    string    (required)  the person to greet
            times  int       = 2         how many greetings
            loud   bool      = false     shout it
            ratio  float     = 0.5       a fraction
            since  duration  = 1h        a window
            tags   list      = [a,b]     labels
"
    );
}

#[test]
fn wrong_type_is_64() {
    let out = sandbox().run(&["run", "greet", "--arg", "who=A", "--arg", "times=many"]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.starts_with("error: --arg times: expected an int, found `many`\n"), "{}", out.stderr);
    let out = sandbox().run(&["run", "greet", "--arg", "who=A", "--arg", "since=soon"]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.contains("invalid duration `soon`"), "{}", out.stderr);
}

#[test]
fn missing_required_param_is_64() {
    let out = sandbox().run(&["run", "greet"]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.starts_with("error: greet needs --arg who=<string>\n"), "{}", out.stderr);
}

#[test]
fn run_name_help_prints_the_header() {
    let sb = sandbox();
    let out = sb.run(&["run", "greet", "--help"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        "greet — Greets someone a number of times.

Manual:    Nowhere › Testing
Schedule:  0 9 * * *
Source:    scripts/greet.rhai

Free text about the script.

Parameters (--arg NAME=VALUE):
  who    string    (required)  the person to greet
  times  int       = 2         how many greetings
  loud   bool      = false     shout it
  ratio  float     = 0.5       a fraction
  since  duration  = 1h        a window
  tags   list      = [a,b]     labels

Run it:    runbook run greet --arg who=<string>
"
    );
}

#[test]
fn shipped_script_help() {
    let out = Sandbox::new().run(&["run", "system-resources", "--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with(
        "system-resources — CPU, memory and disk against the manual's Infrastructure Health thresholds.\n"
    ));
    assert!(out.stdout.contains("Source:    <shipped>/system-resources.rhai\n"));
    assert!(out.stdout.contains("  disk_warn   float     = 85   disk % at which to warn\n"), "{}", out.stdout);
}

#[test]
fn header_errors_point_at_line_and_column() {
    let sb = Sandbox::new();
    sb.write("h.rhai", "// Summary.\n// param n: integer = 3\nprint(n);\n");
    let out = sb.run(&["check", "h.rhai"]);
    assert_eq!(out.code, 65);
    assert_eq!(
        out.stderr,
        "header error: unknown parameter type `integer`: expected one of int, float, bool, string, secret, duration, list, choice
  --> h.rhai:2:13
  |
2 | // param n: integer = 3
  |             ^
  = help: did you mean `int`?
"
    );
}

#[test]
fn a_script_without_a_header_passes_the_check() {
    let sb = Sandbox::new();
    sb.write("h.rhai", "print(1);\n");
    let out = sb.run(&["check", "h.rhai"]);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "✓ h (h.rhai)\n", ""));
}
