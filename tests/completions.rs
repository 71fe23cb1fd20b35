//! Shell completions in the real shells: what `runbook completions SHELL`
//! prints is sourced into bash, zsh and fish, which then ask this binary
//! for script names, a script's `--arg` names and words, and doc topics.
#![allow(clippy::unwrap_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::Sandbox;

const RESTART: &str = "// Restart a service.
// param service: choice(web|worker|all) = web   which service
// param force: bool = false
// param wait: duration
print(service);
";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("scripts/restart.rhai", RESTART);
    sb
}

/// Run `code` in `shell` in the sandbox, with the completions of `shell`
/// written to ./completions first.
fn in_shell(sb: &Sandbox, shell: &str, args: &[&str], code: &str) -> String {
    let out = sb.run(&["completions", shell]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    sb.write("completions", &out.stdout);
    let mut cmd = std::process::Command::new(shell);
    cmd.current_dir(sb.path())
        .args(args)
        .arg(code)
        .env_remove("RUNBOOK_CONFIG")
        .env_remove("RUNBOOK_SCRIPTS")
        .env("HOME", sb.path())
        .env("XDG_CONFIG_HOME", sb.path().join(".config"));
    let o = cmd.output().unwrap_or_else(|e| panic!("{shell} runs (dev/services.sh installs it): {e}"));
    assert!(o.status.success(), "{shell}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bash_completes_scripts_their_params_and_doc_topics() {
    let sb = sandbox();
    let code = r#"source ./completions
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_TYPE=9; COMPREPLY=()
  _clap_complete_runbook runbook "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}"; echo ---; }
comp runbook run rest
comp runbook run restart --arg ""
comp runbook run restart --arg service=w
comp runbook run restart -n --arg force=
comp runbook doc PgC
comp runbook show form
comp runbook run weekly/backup-v"#;
    assert_eq!(
        in_shell(&sb, "bash", &["--norc", "--noprofile", "-c"], code),
        "restart\n---\nservice=\nforce=\nwait=\n---\nservice=web\nservice=worker\n---\nforce=true\nforce=false\n---\nPgConnection\n---\nformat\n---\nweekly/backup-verify\n---\n"
    );
}

#[test]
fn zsh_completes_with_descriptions() {
    let sb = sandbox();
    // `_describe` is zsh's completion widget; outside a completion it is
    // replaced by one that prints what it was given.
    let code = r#"source ./completions 2>/dev/null
_describe() { shift 2; print -rl -- "${(@P)1}"; }
comp() { words=("$@"); CURRENT=$#; _clap_dynamic_completer_runbook; print -- ---; }
comp runbook run rest
comp runbook run restart --arg ""
comp runbook doc fmt::by"#;
    assert_eq!(
        in_shell(&sb, "zsh", &["-f", "-c"], code),
        "restart:Restart a service.\n---\nservice=:choice(web|worker|all) (default web) which service\nforce=:bool (default false)\nwait=:duration (required)\n---\nfmt\\:\\:bytes\n---\n"
    );
}

#[test]
fn fish_completes_with_descriptions() {
    let sb = sandbox();
    let code = "source ./completions
complete -C 'runbook run rest'; echo ---
complete -C 'runbook run restart --arg '; echo ---
complete -C 'runbook run restart --arg service='; echo ---
complete -C 'runbook doc th::cpu'";
    assert_eq!(
        in_shell(&sb, "fish", &["--no-config", "-c"], code),
        "restart\tRestart a service.\n---\nservice=\tchoice(web|worker|all) (default web) which service\nforce=\tbool (default false)\nwait=\tduration (required)\n---\nservice=web\nservice=worker\nservice=all\n---\nth::cpu_pct\n"
    );
}

/// Installed on PATH, the shell calls `runbook` back by name (an upgrade in
/// place keeps working, and the file fits every machine); a build that is
/// not installed is called by its full path.
#[test]
fn the_shell_calls_runbook_by_name_once_it_is_on_path() {
    let sb = Sandbox::new();
    let out = sb.run(&["completions", "bash"]);
    let full = std::fs::canonicalize(common::bin()).unwrap();
    assert!(out.stdout.contains(&format!("\"{}\" -- ", full.display())), "{}", out.stdout);
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(common::bin(), bin.join("runbook")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = sb.run_cmd(sb.cmd().env("PATH", path).args(["completions", "bash"]));
    assert!(out.stdout.contains("\"runbook\" -- \"${words[@]}\""), "{}", out.stdout);
}
