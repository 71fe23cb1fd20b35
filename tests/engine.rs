//! The engine facts of docs/ARCHITECTURE.md ("Rhai facts that shape the engine"), each proved against the real binary.

mod common;
use std::time::Duration;

use common::Sandbox;

#[test]
fn compile_error_shows_file_line_col_and_caret() {
    let sb = Sandbox::new();
    sb.write("b.rhai", "// S.\nlet x = 1;\nlet y = x +* 2;\n");
    let out = sb.run(&["run", "b.rhai"]);
    assert_eq!(out.code, 65);
    assert_eq!(out.stdout, "", "a script that does not compile reports nothing");
    assert_eq!(
        out.stderr,
        "compile error: Unexpected '*'
  --> b.rhai:3:12
  |
3 | let y = x +* 2;
  |            ^
"
    );
}

#[test]
fn unknown_function_gets_did_you_mean() {
    let sb = Sandbox::new();
    sb.write("a.rhai", "// S.\nlet d = sys::dsk(\"/\");\n");
    let out = sb.run(&["run", "a.rhai"]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr,
        "error: unknown function `sys::dsk(string)`
  --> a.rhai:2:14
  |
2 | let d = sys::dsk(\"/\");
  |              ^
  = help: did you mean `sys::disk`?
"
    );
}

#[test]
fn unknown_variable_is_a_compile_error_with_did_you_mean() {
    let sb = Sandbox::new();
    sb.write("v.rhai", "// S.\nlet count = 1;\nprint(cuont);\n");
    let out = sb.run(&["check", "v.rhai"]);
    assert_eq!(out.code, 65);
    assert!(out.stderr.starts_with("compile error: unknown variable `cuont`\n  --> v.rhai:3:7\n"), "{}", out.stderr);
    assert!(out.stderr.ends_with("  = help: did you mean `count`?\n"), "{}", out.stderr);
}

#[test]
fn errors_inside_functions_show_where_and_the_call_site() {
    let sb = Sandbox::new();
    sb.write("f.rhai", "// S.\nfn inner() {\n    throw \"deep trouble\";\n}\ninner();\n");
    let out = sb.run(&["run", "f.rhai"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.starts_with("error: deep trouble\n  --> f.rhai:3:5\n"), "{}", out.stderr);
    assert!(out.stderr.contains("  = note: in function `inner`, called at f.rhai:5\n"), "{}", out.stderr);
}

/// Rhai looks a function up only when its call runs; `runbook check` finds
/// a mistyped host function in a branch that has never run.
#[test]
fn check_finds_a_mistyped_host_function_before_it_runs() {
    let sb = Sandbox::new();
    sb.write(
        "lint.rhai",
        "// S.\nimport \"format\" as fmt;\nif sys::disk(\"/\").used_pct > 101.0 {\n    fs::lst(\"/tmp\");\n}\nprint(fmt::bytes(1));\n",
    );
    let ran = sb.run(&["run", "lint.rhai"]);
    assert_eq!(ran.code, 0, "the branch never runs, so the run cannot see it: {}", ran.stderr);
    let out = sb.run(&["check", "lint.rhai"]);
    assert_eq!(out.code, 65);
    assert_eq!(
        out.stderr,
        "error: unknown function `fs::lst`
  --> lint.rhai:4:9
  |
4 |     fs::lst(\"/tmp\");
  |         ^
  = help: did you mean `fs::list`?
"
    );
}

/// Rhai gives an error from `module::function(…)` no position; runbook
/// finds the call in the script, or says where the candidates are.
#[test]
fn a_host_function_error_points_at_its_call() {
    let sb = Sandbox::new();
    sb.write("h.rhai", "// S.\nlet disk = sys::disk(\"/\");\nlet db = pg::connect(\"main\");\n");
    let out = sb.run(&["run", "h.rhai"]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr,
        "error: pg::connect: no [postgres.main] target (no config file was found); a postgres:// URL works too
  --> h.rhai:3:14
  |
3 | let db = pg::connect(\"main\");
  |              ^
"
    );

    sb.write("in_fn.rhai", "// S.\nfn open() {\n    redis::connect(\"cache\")\n}\nopen();\n");
    let out = sb.run(&["run", "in_fn.rhai"]);
    assert!(out.stderr.contains("  --> in_fn.rhai:3:12\n"), "{}", out.stderr);
    assert!(out.stderr.contains("  = note: in function `open`, called at in_fn.rhai:5\n"), "{}", out.stderr);

    sb.write("twice.rhai", "// S.\nlet a = pg::connect(\"main\");\nlet b = pg::connect(\"main\");\n");
    let out = sb.run(&["run", "twice.rhai"]);
    assert!(
        out.stderr.contains("  --> twice.rhai\n  = note: `pg::connect` is called on lines 2, 3\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn timeout_stops_an_endless_loop_within_about_a_second() {
    let sb = Sandbox::new();
    sb.write("c.rhai", "// S.\nloop {}\n");
    let out = sb.run(&["run", "c.rhai", "--timeout", "1s"]);
    assert_eq!(out.code, 3);
    assert!(out.elapsed < Duration::from_millis(2500), "took {:?}", out.elapsed);
    assert!(
        out.stderr.starts_with("timeout: the run exceeded its time limit of 1s\n  --> c.rhai:2:"),
        "{}",
        out.stderr
    );
}

#[test]
fn try_catch_cannot_swallow_the_timeout() {
    let sb = Sandbox::new();
    sb.write("c.rhai", "// S.\ntry { loop {} } catch (e) { print(\"caught\"); }\nprint(\"after\");\n");
    let out = sb.run(&["run", "c.rhai", "--timeout", "500ms"]);
    assert_eq!(out.code, 3);
    assert!(!out.stdout.contains("caught") && !out.stdout.contains("after"), "{}", out.stdout);
}

#[test]
fn a_blocked_host_call_is_bounded_by_the_time_left() {
    let sb = Sandbox::new();
    sb.config("[proc]\nallow = [\"sleep\"]\n");
    sb.write("p.rhai", "// S.\ntry { proc::run([\"sleep\", \"30\"]); } catch (e) { print(`caught ${e}`); }\n");
    let out = sb.run(&["run", "p.rhai", "--timeout", "1s"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.elapsed < Duration::from_millis(3000), "took {:?}", out.elapsed);
    assert!(!out.stdout.contains("caught"), "ErrorTerminated is not catchable: {}", out.stdout);
    assert!(out.stderr.starts_with("timeout: the run exceeded its time limit of 1s"), "{}", out.stderr);
}

#[test]
fn a_check_does_not_swallow_the_timeout_either() {
    let sb = Sandbox::new();
    sb.write("c.rhai", "// S.\ncheck(\"spins\", || { loop {} });\nok(\"after\");\n");
    let out = sb.run(&["run", "c.rhai", "--timeout", "500ms"]);
    assert_eq!(out.code, 3);
    assert!(!out.stdout.contains("after"), "{}", out.stdout);
}

#[test]
fn operations_limit_ends_the_run_with_3() {
    let sb = Sandbox::new();
    sb.write("e.rhai", "// S.\nlet n = 0;\nloop { n += 1; }\n");
    let out = sb.run(&["run", "e.rhai", "--limit", "max_operations=10000"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with("limit: the script exceeded its operations limit (max_operations = 10000)\n"),
        "{}",
        out.stderr
    );
    sb.config("[limits]\nmax_operations = 5000\n");
    let out = sb.run(&["run", "e.rhai"]);
    assert!(out.stderr.contains("(max_operations = 5000)"), "config sets the default: {}", out.stderr);
}

#[test]
fn runaway_recursion_is_a_clean_error_not_a_crash() {
    let sb = Sandbox::new();
    sb.write("d.rhai", "// S.\nfn f(n) { f(n + 1) }\nf(0);\n");
    let out = sb.run(&["run", "d.rhai"]);
    assert_eq!(out.code, 3, "no stack overflow abort: {}", out.stderr);
    assert!(
        out.stderr.starts_with("limit: the script exceeded its call depth limit (max_call_depth = 96)\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn limits_are_the_same_in_debug_and_release() {
    // Rhai's own debug default call depth is 8; ours is explicit.
    let sb = Sandbox::new();
    sb.write("r.rhai", "// S.\nfn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } }\nprint(f(60));\n");
    let out = sb.run(&["run", "r.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("60\n"));
}

#[test]
fn string_size_limit() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\nlet s = \"x\";\nloop { s += s; }\n");
    let out = sb.run(&["run", "s.rhai", "--limit", "max_string_size=1000"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.starts_with("limit: "), "{}", out.stderr);
}

#[test]
fn imports_resolve_local_stdlib_then_shipped() {
    let sb = Sandbox::new();
    sb.write("i.rhai", "// S.\nimport \"format\" as fmt;\nprint(fmt::bytes(1536));\nprint(fmt::count(1234567));\n");
    let out = sb.run(&["run", "i.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1.5 KiB\n1,234,567\n"), "{}", out.stdout);
    // A local stdlib module of the same name wins.
    sb.write("stdlib/format.rhai", "fn bytes(n) { \"local bytes\" }\nfn count(n) { \"local count\" }\n");
    let out = sb.run(&["run", "i.rhai"]);
    assert!(out.stdout.contains("local bytes\n"), "{}", out.stdout);
}

#[test]
fn imports_cannot_reach_outside_the_stdlib() {
    let sb = Sandbox::new();
    sb.write("secret.rhai", "fn leak() { 42 }\n");
    for path in ["../secret", "/etc/passwd", "stdlib/../../secret"] {
        sb.write("i.rhai", &format!("// S.\nimport \"{path}\" as x;\n"));
        let out = sb.run(&["run", "i.rhai"]);
        assert_eq!(out.code, 3, "{path}: {}", out.stderr);
        assert!(out.stderr.contains("paths are not allowed"), "{path}: {}", out.stderr);
    }
}

#[test]
fn check_never_runs_host_calls_even_with_constant_arguments() {
    // OptimizationLevel::Full would evaluate this call at compile time.
    let sb = Sandbox::new();
    let target = sb.path().join("created-by-check.txt");
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", sb.path().display()));
    sb.write("w.rhai", &format!("// S.\nfs::write_text(\"{}\", \"oops\");\n", target.display()));
    let out = sb.run(&["check", "w.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "✓ w (w.rhai)\n");
    assert!(!target.exists(), "check must not run the script");
}

#[test]
fn scripts_run_on_a_thread_with_a_large_stack() {
    // Deeply nested expressions recurse in the parser and evaluator.
    let sb = Sandbox::new();
    let expr = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    sb.write("n.rhai", &format!("// S.\nprint({expr});\n"));
    let out = sb.run(&["run", "n.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
