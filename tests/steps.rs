//! A script's steps are its sections: `[scripts.NAME] skip` and `--skip`
//! leave some out without editing the script; a skipped step is shown as
//! skipped, never as passed, runs no check and records nothing.

mod common;
use common::harness::Test;

const STEPS: &str = r#"// Three steps.
if section("1. First") { check("one", || "ran"); }
section("2. Second (slow)");
check("two", || "ran");
print("printed in two");
section("3. Third");
check("three", || "ran");
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
    Test::new()
        .script("steps", STEPS)
        .config("[scripts.steps]\nskip = [\"fourth\"]\n")
        .args(&["run", "steps"])
        .code(78)
        .stderr("error: runbook.toml: key `scripts.steps.skip`: `fourth` is not a step of steps\n  = help: its steps: first, second, third\n")
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
