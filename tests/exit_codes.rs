//! Every exit code of docs/ARCHITECTURE.md ("Exit codes"), produced by the real binary.
//! Those that need a second process are proved beside their feature: 75 in
//! tests/cron.rs (a lock held) and tests/schedule.rs (a missed slot), 130 and
//! 143 in tests/reliability.rs. 70 (the scheduler could not start a run) has
//! no test: a spawn of runbook's own binary cannot be made to fail from outside.

mod common;
use common::Sandbox;

fn code_of(script: &str, extra: &[&str]) -> (i32, String) {
    let sb = Sandbox::new();
    sb.write("s.rhai", script);
    let mut args = vec!["run", "s.rhai"];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    (out.code, out.stderr)
}

#[test]
fn ok_is_0() {
    assert_eq!(code_of("// S.\nok(\"fine\");\n", &[]).0, 0);
}

#[test]
fn warning_is_1() {
    assert_eq!(code_of("// S.\nmetric(\"m\", 5, #{warn: 5, crit: 10});\n", &[]).0, 1);
}

#[test]
fn critical_is_2_and_the_script_goes_on_after_a_failed_check() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\ncheck(\"db\", || throw \"connection refused\");\nok(\"still running\");\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("✗ db: connection refused"), "{}", out.stdout);
    assert!(out.stdout.contains("✓ still running"), "{}", out.stdout);
}

#[test]
fn unknown_is_3_for_a_runtime_error() {
    let (code, stderr) = code_of("// S.\nlet x = 1;\nlet y = x / 0;\n", &[]);
    assert_eq!(code, 3);
    assert!(stderr.contains("s.rhai:3:"), "{stderr}");
}

#[test]
fn unknown_is_3_even_after_a_critical_check() {
    assert_eq!(code_of("// S.\ncrit(\"bad\");\nthrow \"then the script fails\";\n", &[]).0, 3);
}

#[test]
fn usage_is_64() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["run", "no-such-script"]).code, 64);
    assert_eq!(sb.run(&["frobnicate"]).code, 64);
    assert_eq!(sb.run(&["run", "system-resources", "--timeout", "soon"]).code, 64);
    assert_eq!(sb.run(&["run", "system-resources", "--arg", "nope=1"]).code, 64);
}

#[test]
fn compile_error_is_65() {
    assert_eq!(code_of("// S.\nlet = ;\n", &[]).0, 65);
}

#[test]
fn header_error_is_65() {
    assert_eq!(code_of("// S.\n// param n: integer = 3\n", &[]).0, 65);
}

#[test]
fn config_error_is_78() {
    let sb = Sandbox::new();
    sb.config("[postgres.main]\nhots = \"db\"\n");
    sb.write("s.rhai", "// S.\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert_eq!(out.code, 78, "{}", out.stderr);
}
