//! `fs` confined to its roots, `proc` confined to its allow list, and the
//! safety model: --dry-run changes nothing, data-losing calls need --yes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::Sandbox;

/// A sandbox whose config allows only `<sandbox>/data`.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("data")).unwrap();
    sb.config(&format!(
        "[fs]\nroots = [\"{}/data\"]\n\n[proc]\nallow = [\"echo\", \"sh\", \"touch\"]\nread_only = [\"echo ...\"]\n",
        sb.path().display()
    ));
    sb
}

fn run_script(sb: &Sandbox, body: &str, extra: &[&str]) -> common::Out {
    sb.write("s.rhai", &format!("// S.\n{body}\n"));
    let mut args = vec!["run", "s.rhai"];
    args.extend_from_slice(extra);
    sb.run(&args)
}

#[test]
fn fs_reads_and_writes_inside_the_roots() {
    let sb = sandbox();
    let d = sb.path().join("data");
    let out = run_script(
        &sb,
        &format!(
            "fs::write_text(\"{d}/a.txt\", \"one\\ntwo\\n\");\nprint(fs::lines(\"{d}/a.txt\"));\nlet s = fs::stat(\"{d}/a.txt\");\nprint(`${{s.size}} ${{s.is_file}} ${{s.age < \"1m\"}}`);\nprint(fs::list(\"{d}/*.txt\"));",
            d = d.display()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("[\"one\", \"two\"]\n8 true true\n"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("[\"{}/a.txt\"]", d.canonicalize().unwrap().display())), "{}", out.stdout);
}

#[test]
fn fs_refuses_paths_outside_the_roots() {
    let sb = sandbox();
    let d = sb.path().join("data");
    std::fs::write(sb.path().join("outside.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(sb.path().join("outside.txt"), d.join("link.txt")).unwrap();
    for path in
        [format!("{}/../outside.txt", d.display()), "/etc/passwd".to_string(), format!("{}/link.txt", d.display())]
    {
        let out = run_script(&sb, &format!("print(fs::read_text(\"{path}\"));"), &[]);
        assert_eq!(out.code, 3, "{path} must be refused");
        assert!(out.stderr.contains("is outside the allowed roots"), "{path}: {}", out.stderr);
        assert!(!out.stdout.contains("secret") && !out.stdout.contains("root:"), "{}", out.stdout);
    }
    // Writing through `..` is refused too, and nothing is created.
    let out = run_script(&sb, &format!("fs::write_text(\"{}/../new.txt\", \"x\");", d.display()), &[]);
    assert_eq!(out.code, 3);
    assert!(!sb.path().join("new.txt").exists());
}

#[test]
fn fs_with_no_roots_allows_nothing() {
    let sb = Sandbox::new();
    let out = run_script(&sb, "fs::exists(\"/tmp\");", &[]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("no file access is allowed (add the folder to [fs] roots in runbook.toml)"),
        "{}",
        out.stderr
    );
}

#[test]
fn dry_run_leaves_the_filesystem_untouched() {
    let sb = sandbox();
    let d = sb.path().join("data");
    std::fs::write(d.join("keep.txt"), "original").unwrap();
    let out = run_script(
        &sb,
        &format!(
            "fs::write_text(\"{d}/keep.txt\", \"changed\");\nfs::write_text(\"{d}/new.txt\", \"x\");\nfs::mkdir(\"{d}/sub\");\nfs::remove(\"{d}/keep.txt\");\nprint(DRY_RUN);",
            d = d.display()
        ),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(d.join("keep.txt")).unwrap(), "original");
    assert!(!d.join("new.txt").exists() && !d.join("sub").exists());
    assert!(out.stdout.contains("· would write 7 bytes to"), "{}", out.stdout);
    assert!(out.stdout.contains("· would remove "), "{}", out.stdout);
    assert!(out.stdout.contains("  true\n"), "DRY_RUN is visible to scripts");
    assert!(out.stdout.contains("[dry run: nothing is changed]"));
}

#[test]
fn remove_needs_yes_without_a_terminal() {
    let sb = sandbox();
    let f = sb.path().join("data/old.log");
    std::fs::write(&f, "x").unwrap();
    let out = run_script(&sb, &format!("fs::remove(\"{}\");", f.display()), &[]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("refusing to remove"), "{}", out.stderr);
    assert!(out.stderr.contains("without --yes"), "{}", out.stderr);
    assert!(f.exists(), "nothing removed without --yes");
    let out = run_script(&sb, &format!("fs::remove(\"{}\");", f.display()), &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!f.exists());
}

#[test]
fn remove_older_than_removes_only_old_files() {
    let sb = sandbox();
    let d = sb.path().join("data");
    for (name, age_days) in [("old1.gz", 40), ("old2.gz", 31), ("new.gz", 1)] {
        let p = d.join(name);
        std::fs::write(&p, "x").unwrap();
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(age_days * 86400);
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(t).unwrap();
    }
    let script = format!("let gone = fs::remove_older_than(\"{}/*.gz\", \"30d\");\nprint(gone.len());", d.display());
    let dry = run_script(&sb, &script, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("· would remove 2 file(s) older than 30d"), "{}", dry.stdout);
    assert!(d.join("old1.gz").exists() && d.join("old2.gz").exists());
    let out = run_script(&sb, &script, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2\n"));
    assert!(!d.join("old1.gz").exists() && !d.join("old2.gz").exists() && d.join("new.gz").exists());
}

#[test]
fn proc_runs_allowed_programs_from_an_argv() {
    let sb = sandbox();
    let out = run_script(
        &sb,
        "let r = proc::run([\"sh\", \"-c\", \"echo out; echo err >&2; exit 3\"]);\nprint(`${r.code} ${r.stdout == \"out\\n\"} ${r.stderr == \"err\\n\"}`);\nlet e = proc::run([\"echo\", \"a; rm -rf /\"]);\nprint(e.stdout);",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("3 true true\n"), "non-zero exit is returned: {}", out.stdout);
    assert!(out.stdout.contains("a; rm -rf /\n"), "arguments are never a shell: {}", out.stdout);
}

#[test]
fn proc_refuses_programs_not_allowed() {
    let sb = sandbox();
    let out = run_script(&sb, "proc::run([\"rm\", \"-rf\", \"/tmp/nothing\"]);", &[]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("proc::run: `rm` is not allowed; add it to [proc] allow in runbook.toml"),
        "{}",
        out.stderr
    );
    let out = run_script(&sb, "proc::run([\"/bin/rm\", \"x\"]);", &[]);
    assert_eq!(out.code, 3, "a path does not sneak past a name: {}", out.stderr);
}

#[test]
fn proc_timeout_kills_and_throws() {
    let sb = sandbox();
    let out = run_script(
        &sb,
        "try { proc::run([\"sh\", \"-c\", \"sleep 5\"], #{timeout: \"200ms\"}); } catch (e) { print(e); }",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("did not finish within 200ms and was killed"), "{}", out.stdout);
    assert!(out.elapsed < std::time::Duration::from_secs(3));
}

#[test]
fn proc_under_dry_run_runs_only_read_only_programs() {
    let sb = sandbox();
    let marker = sb.path().join("data/touched");
    let out = run_script(
        &sb,
        &format!("let t = proc::run([\"touch\", \"{}\"]);\nprint(t.dry_run);\nprint(proc::run([\"echo\", \"reads\"]).stdout);", marker.display()),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!marker.exists(), "a mutating program does not run under --dry-run");
    assert!(out.stdout.contains("· would run `touch "), "{}", out.stdout);
    assert!(out.stdout.contains("  true\n  reads\n"), "{}", out.stdout);
}

#[test]
fn unknown_option_keys_are_errors_not_ignored() {
    let sb = sandbox();
    let out = run_script(&sb, "proc::run([\"echo\"], #{timout: \"1s\"});", &[]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("proc::run: unknown option `timout` (did you mean `timeout`?)"), "{}", out.stderr);
}

/// `read_only` was a program's name, so `logrotate -f evil.conf` ran
/// under --dry-run; and the script's env chose which `df` ran. Read-only is
/// an argv pattern now, and PATH and the loader's variables are refused.
#[test]
fn read_only_is_an_argv_pattern_and_scripts_cannot_choose_the_program() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("data")).unwrap();
    let fake = sb.path().join("data/bin");
    std::fs::create_dir_all(&fake).unwrap();
    let marker = sb.path().join("data/ran-fake");
    sb.write("data/bin/echo", &format!("#!/bin/sh\ntouch {}\n", marker.display()));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(fake.join("echo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.config(&format!(
        "[fs]\nroots = [\"{}/data\"]\n\n[proc]\nallow = [\"echo\", \"touch\"]\nread_only = [\"echo -n *\"]\n",
        sb.path().display()
    ));
    let touched = sb.path().join("data/touched");
    let out = run_script(
        &sb,
        &format!(
            r#"print(proc::run(["echo", "-n", "reads"]).stdout);
print(proc::run(["echo", "-e", "x"]).dry_run);
print(proc::run(["touch", "{}"]).dry_run);
for env in [#{{PATH: "{}"}}, #{{LD_PRELOAD: "/tmp/x.so"}}] {{
    try {{ proc::run(["echo", "-n", "x"], #{{env: env}}); }} catch (e) {{ print(e); }}
}}"#,
            touched.display(),
            fake.display()
        ),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        common::printed(&out),
        [
            "reads",
            "true",
            "true",
            "proc::run: env `PATH` cannot be set by a script: it chooses which code runs (programs are found on runbook's own PATH)",
            "proc::run: env `LD_PRELOAD` cannot be set by a script: it chooses which code runs (programs are found on runbook's own PATH)",
        ]
    );
    assert!(!touched.exists() && !marker.exists());
}

/// One symlink pointing out of a root made a whole listing and the backup
/// expiry fail: a planted link could stop backups from being expired.
#[test]
fn a_link_out_of_the_roots_is_skipped_with_a_note() {
    let sb = sandbox();
    let d = sb.path().join("data");
    let outside = sb.path().join("outside.gz");
    std::fs::write(&outside, "not ours").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86400);
    for p in [d.join("old.gz"), outside.clone()] {
        std::fs::write(&p, "x").unwrap();
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
    }
    std::os::unix::fs::symlink(&outside, d.join("planted.gz")).unwrap();
    let script = format!(
        "print(fs::list(\"{0}/*.gz\").len());\nprint(fs::remove_older_than(\"{0}/*.gz\", \"30d\"));",
        d.display()
    );
    let out = run_script(&sb, &script, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let note = |f: &str| format!("note: {f} skipped {}/planted.gz: it leads outside [fs] roots", d.display());
    assert_eq!(
        common::printed(&out),
        [note("fs::list"), "1".to_string(), note("fs::remove_older_than"), format!("[\"{}/old.gz\"]", d.display())]
    );
    assert!(outside.exists() && !d.join("old.gz").exists());
}

/// runbook.example.toml allowed `certbot` and `docker-compose` by name,
/// which a script turns into a shell (`--deploy-hook`, `exec … sh`). Its
/// allow list is argv patterns now, and they allow only those argvs.
#[test]
fn the_example_config_allows_no_shell() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/runbook.example.toml")).unwrap();
    let start = example.find("\n[proc]").unwrap() + 1;
    let end = start + example[start..].find("\n[history]").unwrap();
    let sb = Sandbox::new();
    sb.config(&example[start..end]);
    let out = run_script(
        &sb,
        r#"for argv in [
    ["certbot", "renew", "--non-interactive", "--deploy-hook", "sh -c id"],
    ["docker-compose", "-f", "/opt/civicq/docker-compose.production.yml", "exec", "backend", "sh"],
    ["logrotate", "-f", "/tmp/evil.conf"],
    ["sh", "-c", "id"],
] {
    try { proc::run(argv); print("ran"); } catch (e) { print(e); }
}"#,
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        common::printed(&out),
        [
            "proc::run: `certbot renew --non-interactive --deploy-hook sh -c id` matches none of the [proc] allow patterns for `certbot` in runbook.toml",
            "proc::run: `docker-compose -f /opt/civicq/docker-compose.production.yml exec backend sh` matches none of the [proc] allow patterns for `docker-compose` in runbook.toml",
            "proc::run: `logrotate -f /tmp/evil.conf` matches none of the [proc] allow patterns for `logrotate` in runbook.toml",
            "proc::run: `sh` is not allowed; add it to [proc] allow in runbook.toml to let scripts run it",
        ]
    );
}
