//! A script's steps are its `if section("…") { … }` blocks: `[scripts.NAME]
//! skip` and `--skip` leave some out without editing the script; a skipped
//! step is shown as skipped, never as passed, and nothing of it runs. A
//! plain `section(…)` is no step: its calls would run unseen.

mod common;
use common::harness::Test;

const STEPS: &str = r#"// Three steps.
if section("1. First") { check("one", || "ran"); }
if section("2. Second (slow)") {
    check("two", || "ran");
    print("printed in two");
}
if section("3. Third") { check("three", || "ran"); }
section("4. Plain");
print("plain, always");
"#;

#[test]
fn steps_skipped_from_config_are_shown_as_skipped_and_run_nothing() {
    Test::new()
        .script("steps", STEPS)
        .config("[scripts.steps]\nskip = [\"second\"]\n")
        .args(&["run", "steps"])
        .stdout(
            "steps — Three steps.

1. First
  ✓ one: ran

2. Second (slow)
  - skipped ([scripts.steps] skip)

3. Third
  ✓ three: ran

4. Plain
  plain, always

OK · 2 checks · 0 metrics · 1 step skipped · [TIME]
",
        )
        .run();
}

#[test]
fn steps_skipped_on_the_command_line_say_so() {
    Test::new()
        .script("steps", STEPS)
        .args(&["run", "steps", "--skip", "first,third"])
        .stdout(
            "steps — Three steps.

1. First
  - skipped (--skip)

2. Second (slow)
  ✓ two: ran
  printed in two

3. Third
  - skipped (--skip)

4. Plain
  plain, always

OK · 1 check · 0 metrics · 2 steps skipped · [TIME]
",
        )
        .run();
}

#[test]
fn a_skip_that_names_no_step_is_refused_before_anything_runs() {
    Test::new()
        .script("steps", STEPS)
        .args(&["run", "steps", "--skip", "secnd"])
        .code(64)
        .stderr("error: --skip: `secnd` is not a step of steps\n  = help: did you mean `second`? its steps: first, second, third\n")
        .run();
    // A plain section is no step: its calls would run, unseen.
    Test::new()
        .script("steps", STEPS)
        .config("[scripts.steps]\nskip = [\"plain\"]\n")
        .args(&["run", "steps"])
        .code(78)
        .stderr("error: runbook.toml: key `scripts.steps.skip`: `plain` is not a step of steps\n  = help: its steps: first, second, third\n")
        .run();
}

#[test]
fn a_scripts_section_that_names_no_script_is_warned_of() {
    Test::new()
        .script("steps", STEPS)
        .config("[scripts.step]\nskip = [\"second\"]\n")
        .args(&["run", "steps", "--skip", "first,second,third"])
        .stdout(
            "steps — Three steps.

1. First
  - skipped (--skip)

2. Second (slow)
  - skipped (--skip)

3. Third
  - skipped (--skip)

4. Plain
  plain, always

OK · 0 checks · 0 metrics · 3 steps skipped · [TIME]
",
        )
        .stderr("warning: runbook.toml has [scripts.step], which names no script: did you mean [scripts.steps]? (its settings are not used)\n")
        .run();
}

#[test]
fn help_lists_the_steps_by_the_names_skip_takes() {
    let sb = common::Sandbox::new();
    sb.write("scripts/steps.rhai", STEPS);
    let out = sb.run(&["run", "steps", "--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "\nSteps (--skip STEP, or [scripts.steps] skip = [\"STEP\", …] in runbook.toml):\n  first   1. First\n  second  2. Second (slow)\n  third   3. Third\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn check_refuses_a_skip_that_names_no_step() {
    Test::new()
        .script("steps", STEPS)
        .config("[scripts.steps]\nskip = [\"thrid\"]\n")
        .args(&["check", "steps"])
        .code(65)
        .stderr("runbook.toml: key `scripts.steps.skip`: `thrid` is not a step of steps\n  = help: did you mean `third`? its steps: first, second, third\n")
        .run();
}

const GREET: &str = "// Greets.\n// param who: string = world   whom to greet\n// param n: int = 1            how often\nprint(`hello ${who} x${n}`);\n";

#[test]
fn parameters_from_config_are_defaults_the_command_line_overrides() {
    Test::new()
        .script("greet", GREET)
        .config("[scripts.greet]\nargs = { who = \"ops\", n = 2 }\n")
        .args(&["run", "greet"])
        .stdout("hello ops x2\n")
        .run();
    Test::new()
        .script("greet", GREET)
        .config("[scripts.greet]\nargs = { who = \"ops\", n = 2 }\n")
        .args(&["run", "greet", "--arg", "who=cli"])
        .stdout("hello cli x2\n")
        .run();
    Test::new()
        .script("greet", GREET)
        .config("[scripts.greet]\nargs = { wh = \"ops\" }\n")
        .args(&["run", "greet"])
        .code(78)
        .stderr("error: runbook.toml: key `scripts.greet.args.wh`: greet has no parameter `wh`\n  = help: did you mean `who`? its parameters: who, n\n")
        .run();
}

#[test]
fn help_needs_no_secret_of_the_config_and_marks_the_configured_skips() {
    let sb = common::Sandbox::new();
    sb.write("scripts/steps.rhai", STEPS);
    sb.config("[postgres.main]\nhost = \"db\"\npassword = \"${RUNBOOK_TEST_UNSET_PASSWORD}\"\n\n[scripts.steps]\nskip = [\"second\"]\n");
    let out = sb.run(&["run", "steps", "--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("  second  2. Second (slow)  (skipped: runbook.toml)\n"), "{}", out.stdout);
    let run = sb.run(&["run", "steps"]);
    assert_eq!(run.code, 78);
    assert!(
        run.stderr.contains("environment variable RUNBOOK_TEST_UNSET_PASSWORD is not set: export it, or write ${RUNBOOK_TEST_UNSET_PASSWORD:-default} to give a default"),
        "{}",
        run.stderr
    );
}
