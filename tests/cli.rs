//! Subcommands around `run`: list, show, eject, check, doc, completions.

mod common;
use common::Sandbox;

#[test]
fn version_and_help() {
    let sb = Sandbox::new();
    let out = sb.run(&["--version"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, concat!("runbook ", env!("CARGO_PKG_VERSION"), "\n")));
    let out = sb.run(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"));
    let out = sb.run(&["run", "--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--dry-run"), "{}", out.stdout);
}

#[test]
fn a_local_script_overrides_the_shipped_one() {
    let sb = Sandbox::new();
    sb.write("scripts/system-resources.rhai", "// My own resources check.\nok(\"local copy ran\");\n");
    let out = sb.run(&["run", "system-resources"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("✓ local copy ran"), "{}", out.stdout);
    let list = sb.run(&["list"]);
    let line = list.stdout.lines().find(|l| l.starts_with("system-resources ")).expect("listed");
    assert!(line.ends_with(" My own resources check."), "{}", list.stdout);
    assert!(list.stdout.contains("└ local scripts/system-resources.rhai (overrides shipped)"), "{}", list.stdout);
}

#[test]
fn names_with_folders_resolve_and_can_be_overridden_by_scripts_dir() {
    let sb = Sandbox::new();
    sb.write("mine/weekly/review.rhai", "// Weekly thing.\nprint(\"weekly ran\");\n");
    let out = sb.run(&["--scripts-dir", "mine", "run", "weekly/review"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("  weekly ran\n"));
    let mut cmd = sb.cmd();
    cmd.env("RUNBOOK_SCRIPTS", sb.path().join("mine")).args(["run", "weekly/review"]);
    assert_eq!(sb.run_cmd(&mut cmd).code, 0);
}

#[test]
fn unknown_script_suggests_the_nearest() {
    let out = Sandbox::new().run(&["run", "system-resource"]);
    assert_eq!(out.code, 64);
    assert_eq!(out.stderr, "error: no script named `system-resource`\n  help: did you mean `system-resources`? (`runbook list` shows them all)\n");
}

#[test]
fn list_json_is_machine_readable() {
    let out = Sandbox::new().run(&["list", "--json"]);
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let sr = v.as_array().unwrap().iter().find(|s| s["name"] == "system-resources").expect("shipped script listed");
    assert_eq!(sr["origin"], "shipped");
    assert_eq!(sr["schedule"], "*/15 * * * *");
}

#[test]
fn show_prints_the_source() {
    let out = Sandbox::new().run(&["show", "system-resources"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, include_str!("../scripts/system-resources.rhai"));
    assert_eq!(out.stderr, "# <shipped>/system-resources.rhai\n");
}

#[test]
fn eject_copies_and_never_overwrites_without_force() {
    let sb = Sandbox::new();
    let out = sb.run(&["eject", "system-resources"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let copy = sb.path().join("scripts/system-resources.rhai");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), include_str!("../scripts/system-resources.rhai"));
    std::fs::write(&copy, "// Edited.\nok(\"mine\");\n").unwrap();
    let again = sb.run(&["eject", "system-resources"]);
    assert_eq!(again.code, 64);
    assert!(again.stderr.contains("already exists") && again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "// Edited.\nok(\"mine\");\n");
    assert_eq!(sb.run(&["eject", "system-resources", "--force"]).code, 0);
    assert!(std::fs::read_to_string(&copy).unwrap().starts_with("// CPU, memory and disk"));
    let list = sb.run(&["list"]);
    assert!(list.stdout.contains("(same as shipped)"), "{}", list.stdout);
}

#[test]
fn check_validates_shipped_scripts() {
    let out = Sandbox::new().run(&["check", "system-resources"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "✓ system-resources (<shipped>/system-resources.rhai)\n");
}

#[test]
fn completions_for_each_shell() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.run(&["completions", shell]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("runbook") && out.stdout.contains("dry-run"), "{shell}");
    }
}
