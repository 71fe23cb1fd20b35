//! Subcommands around `run`: list, show, eject, check, doc (completions:
//! tests/completions.rs).

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
    assert!(out.stdout.contains("weekly ran\n"));
    let mut cmd = sb.cmd();
    cmd.env("RUNBOOK_SCRIPTS", sb.path().join("mine")).args(["run", "weekly/review"]);
    assert_eq!(sb.run_cmd(&mut cmd).code, 0);
}

#[test]
fn unknown_script_suggests_the_nearest() {
    let out = Sandbox::new().run(&["run", "system-resource"]);
    assert_eq!(out.code, 64);
    assert_eq!(out.stderr, "error: no script named `system-resource`\n  = help: did you mean `system-resources`? (`runbook list` shows them all)\n");
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
fn check_without_names_checks_every_script_and_reports_each_failure() {
    let sb = Sandbox::new();
    let listed = sb.run(&["list", "--json"]);
    let scripts = serde_json::from_str::<serde_json::Value>(&listed.stdout).unwrap().as_array().unwrap().len();
    let all = sb.run(&["check"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(all.stdout.lines().filter(|l| l.starts_with("✓ ")).count(), scripts, "{}", all.stdout);
    assert!(all.stdout.contains("✓ daily-check (<shipped>/daily-check.rhai)\n"), "{}", all.stdout);

    sb.write("scripts/bad.rhai", "// Bad.\nlet x = 1;\nprint(y);\n");
    sb.write("scripts/worse.rhai", "// Worse.\n// param n: integer = 3\n");
    let out = sb.run(&["check"]);
    assert_eq!(out.code, 65, "{}", out.stderr);
    assert_eq!(out.stdout.lines().filter(|l| l.starts_with("✓ ")).count(), scripts, "{}", out.stdout);
    assert!(out.stderr.contains("compile error: unknown variable `y`\n  --> scripts/bad.rhai:3:7\n"), "{}", out.stderr);
    assert!(out.stderr.contains("header error: unknown parameter type `integer`"), "{}", out.stderr);
    assert!(out.stderr.contains("  --> scripts/worse.rhai:2:13\n"), "{}", out.stderr);
    assert!(out.stderr.ends_with(&format!("error: 2 of {} scripts failed the check\n", scripts + 2)), "{}", out.stderr);
}

/// Every `runbook run SCRIPT --arg NAME=…` that the help and the docs show
/// names a script that exists and parameters it has: an operator copies
/// these lines.
#[test]
fn every_run_example_in_the_help_and_the_docs_names_a_real_script_and_its_parameters() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![
        ("runbook --help".to_string(), sb.run(&["--help"]).stdout),
        ("runbook schedule --help".to_string(), sb.run(&["schedule", "--help"]).stdout),
    ];
    let mut files: Vec<std::path::PathBuf> = [
        "README.md",
        "docs/getting-started.md",
        "docs/manual-coverage.md",
        "docs/reference.md",
        "runbook.example.toml",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    let mut dirs = vec![root.join("scripts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for file in files {
        let origin = file.strip_prefix(root).unwrap().display().to_string();
        texts.push((origin, std::fs::read_to_string(&file).unwrap()));
    }
    let mut checked = 0;
    for (origin, text) in &texts {
        for line in text.lines() {
            for (_, rest) in line.match_indices("runbook run ").map(|(i, _)| line.split_at(i + "runbook run ".len())) {
                let command: Vec<&str> =
                    rest.split(['`', '|', '#', '\'', '"']).next().unwrap().split_whitespace().collect();
                let Some(script) = command.first() else { continue };
                // `-e CODE` and `-` (stdin) are code, not a script's name.
                if script.starts_with('-') {
                    continue;
                }
                // Placeholders (NAME, PATH, …) and files given by path are not scripts to look up.
                if !script.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '/'))
                {
                    continue;
                }
                let help = sb.run(&["run", script, "--help"]);
                assert_eq!(help.code, 0, "{origin}: `{line}`: no script `{script}`: {}", help.stderr);
                let params: Vec<&str> = help
                    .stdout
                    .lines()
                    .skip_while(|l| !l.starts_with("Parameters"))
                    .filter_map(|l| l.strip_prefix("  ")?.split_whitespace().next())
                    .collect();
                for pair in command.windows(2).filter(|w| w[0] == "--arg") {
                    let name = pair[1].split('=').next().unwrap();
                    assert!(
                        params.contains(&name),
                        "{origin}: `{line}`: {script} has no parameter `{name}`: {params:?}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples found");
}
