//! Files cannot be redirected: temporary files are created exclusively
//! under unpredictable names, a symlink at a destination is replaced and
//! never written through, and what runbook writes has a deliberate mode.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::{Duration, Instant};

use common::Sandbox;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Another user plants a symlink at the temporary name runbook will use
/// (`.NAME.PID.tmp` was predictable once the PID was known) while a run
/// waits: the write must not go through it.
#[test]
fn a_symlink_planted_at_the_temporary_name_receives_nothing() {
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let victim = sb.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", data.display()));
    sb.write(
        "s.rhai",
        &format!(
            "// S.\ntime::sleep(\"1500ms\");\nfs::write_text(\"{}/note.txt\", \"written\");\nok(\"done\");\n",
            data.display()
        ),
    );
    let mut child =
        sb.cmd().args(["run", "s.rhai", "--format", "prometheus", "-o"]).arg(data.join("out.prom")).spawn().unwrap();
    let pid = child.id();
    // Every name the old scheme could use, planted before the writes.
    for name in ["note.txt", "out.prom"] {
        symlink(&victim, data.join(format!(".{name}.{pid}.tmp"))).unwrap();
    }
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "runbook did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "nothing went through the planted links");
    assert_eq!(std::fs::read_to_string(data.join("note.txt")).unwrap(), "written");
    assert!(std::fs::read_to_string(data.join("out.prom")).unwrap().contains("runbook_status{script=\"s\"} 0"));
    assert_eq!(mode(&data.join("note.txt")), 0o640);
    assert_eq!(mode(&data.join("out.prom")), 0o644, "a textfile is for its collector too");
}

/// `-o` onto a symlink that points out of the folder replaces the link; the
/// file it pointed at is untouched.
#[test]
fn output_onto_a_symlink_replaces_the_link() {
    let sb = Sandbox::new();
    let victim = sb.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    symlink(&victim, sb.path().join("out.prom")).unwrap();
    sb.write("s.rhai", "// S.\nok(\"fine\");\n");
    let out = sb.run(&["run", "s.rhai", "--format", "prometheus", "-o", "out.prom"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let meta = std::fs::symlink_metadata(sb.path().join("out.prom")).unwrap();
    assert!(meta.file_type().is_file(), "the link was replaced by the report");
}

/// The history keeps every report: it is the owner's alone, and so is what
/// a run keeps about itself.
#[test]
fn the_history_and_state_are_private() {
    let sb = Sandbox::new();
    sb.write("s.rhai", "// S.\nstate::save(\"seen\", #{n: 1});\nok(\"fine\");\n");
    let out = sb.run(&["run", "s.rhai"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sb.run(&["history"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let state = sb.path().join(".local/state/runbook");
    assert_eq!(mode(&state.join("history.sqlite")), 0o600);
    assert_eq!(mode(&state.join("seen.json")), 0o600);
}

/// Another user's `daily-check` planted in a shared folder ran as root.
/// What is found implicitly in the current folder is refused when another
/// user owns it or everyone can write it; naming it is the override.
#[test]
fn files_found_implicitly_must_be_the_operators() {
    use std::os::unix::fs::chown;
    let sb = Sandbox::new();
    let planted = sb.write("scripts/daily-check.rhai", "// Planted.\nprint(\"planted ran\");\n");
    chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = sb.run(&["run", "daily-check"]);
    assert_eq!(out.code, 78, "{}", out.stdout);
    assert!(!out.stdout.contains("planted ran"));
    assert_eq!(
        out.stderr,
        format!(
            "error: ./scripts/daily-check.rhai is owned by another user (uid 65534), not you (uid {}): runbook does not take scripts from the current folder that someone else could have planted\n  = help: if you trust it, name it explicitly: --scripts-dir ./scripts (or RUNBOOK_SCRIPTS)\n",
            unsafe_uid()
        )
    );
    let named = sb.run(&["run", "daily-check", "--scripts-dir", "./scripts"]);
    assert!(named.stdout.contains("planted ran"), "the explicit folder is the override: {}", named.stderr);

    let sb = Sandbox::new();
    let conf = sb.config("[vars]\nx = \"1\"\n");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = sb.run(&["list"]);
    assert_eq!(out.code, 78, "{}", out.stdout);
    assert!(
        out.stderr.starts_with(
            "error: ./runbook.toml can be changed by every user (it is world-writable): runbook does not take a config"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: if you trust it, name it explicitly: --config ./runbook.toml (or RUNBOOK_CONFIG)"),
        "{}",
        out.stderr
    );

    let sb = Sandbox::new();
    sb.write("stdlib/format.rhai", "fn clip(t, n) { \"planted\" }\n");
    std::fs::set_permissions(sb.path().join("stdlib"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = sb.run(&["run", "daily-check"]);
    assert_eq!(out.code, 78, "{}", out.stdout);
    assert!(
        out.stderr.starts_with("error: ./stdlib can be changed by every user (it is world-writable)"),
        "{}",
        out.stderr
    );

    // Each module counts, not only the folder; naming the folder is the override.
    std::fs::set_permissions(sb.path().join("stdlib"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(sb.path().join("stdlib/format.rhai"), std::fs::Permissions::from_mode(0o666)).unwrap();
    sb.write("t.rhai", "// T.\nimport \"format\" as fmt;\nprint(fmt::clip(\"abc\", 2));\n");
    let out = sb.run(&["run", "t.rhai"]);
    assert_eq!(out.code, 78, "{}", out.stdout);
    assert!(out.stderr.starts_with("error: ./stdlib/format.rhai can be changed by every user"), "{}", out.stderr);
    let mut cmd = sb.cmd();
    let named = sb.run_cmd(cmd.env("RUNBOOK_STDLIB", "./stdlib").args(["run", "t.rhai"]));
    assert!(named.stdout.contains("planted\n"), "{}{}", named.stdout, named.stderr);
}

fn unsafe_uid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap()
}

/// Confinement was check-then-use: a folder swapped for a symlink while the
/// confirmation prompt waited let `fs::remove_older_than` delete a file
/// outside the roots. The removal now goes through the opened root.
#[test]
fn a_folder_swapped_during_the_prompt_cannot_move_a_removal_out() {
    use expectrl::{Eof, Session};
    let sb = Sandbox::new();
    let root = sb.path().join("data");
    let old = root.join("old");
    let outside = sb.path().join("outside");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let past = std::time::SystemTime::now() - Duration::from_secs(40 * 86400);
    for p in [old.join("a.gz"), outside.join("a.gz")] {
        std::fs::write(&p, "x").unwrap();
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(past).unwrap();
    }
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", root.display()));
    sb.write("s.rhai", &format!("// S.\nprint(fs::remove_older_than(\"{}/*.gz\", \"30d\"));\n", old.display()));
    let mut cmd = std::process::Command::new(common::bin());
    cmd.current_dir(sb.path()).args(["run", "s.rhai"]).env("HOME", sb.path()).env_remove("RUNBOOK_CONFIG");
    let mut p = Session::spawn(cmd).expect("a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p.expect("Go ahead? [y/N]").expect("the confirmation prompt");
    // While the operator reads the prompt, the folder becomes a link out.
    std::fs::rename(&old, root.join("old.orig")).unwrap();
    symlink(&outside, &old).unwrap();
    p.send_line("y").unwrap();
    let rest = p.expect(Eof).expect("runbook ends");
    let text = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    assert!(outside.join("a.gz").exists(), "the file outside the roots is still there:\n{text}");
    assert!(text.contains("did a folder on the way change into a link out of [fs] roots?"), "{text:?}");
    assert!(root.join("old.orig/a.gz").exists(), "nothing was removed");
}

/// Confinement was check-then-use: a folder flipping between itself and a
/// link out of the roots let reads through (1,517 of 200,000 in the
/// attack). Every reader now resolves the path beneath the opened root, so
/// a call either sees what is inside or fails; nothing from outside.
#[test]
fn a_folder_flipping_to_a_link_lets_no_call_out() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sb = Sandbox::new();
    let root = sb.path().join("data");
    let sub = root.join("sub");
    let outside = sb.path().join("outside");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(sub.join("f.txt"), "inside\n").unwrap();
    std::fs::write(outside.join("f.txt"), "OUTSIDE secret of another size\n").unwrap();
    std::fs::write(outside.join("only-outside.txt"), "x").unwrap();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", root.display()));
    let d = sub.display();
    let r = root.display();
    sb.write(
        "s.rhai",
        &format!(
            r#"// Reads and folder creation, again and again, while the folder flips.
let leaks = [];
let seen = 0;
for i in 0..4000 {{
    try {{ let t = fs::read_text("{d}/f.txt"); if t.contains("OUTSIDE") {{ leaks.push("read_text"); }} else {{ seen += 1; }} }} catch {{}}
    try {{ if fs::stat("{d}/f.txt").size != 7 {{ leaks.push("stat"); }} }} catch {{}}
    try {{ if fs::exists("{d}/only-outside.txt") {{ leaks.push("exists"); }} }} catch {{}}
    try {{ if logs::tail("{d}/f.txt", 1)[0].contains("OUTSIDE") {{ leaks.push("logs::tail"); }} }} catch {{}}
    try {{ if logs::count("{d}/f.txt", "OUTSIDE") > 0 {{ leaks.push("logs::count"); }} }} catch {{}}
    try {{ fs::mkdir(`{d}/made-${{i}}`); }} catch {{}}
}}
print(`leaks: ${{leaks.len()}} ${{leaks.extract(0, 5)}}`);
print(`inside seen: ${{seen > 0}}`);
print(`the root itself: ${{fs::exists("{r}")}} ${{fs::stat("{r}").is_dir}}`);
"#
        ),
    );
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, sub, real) = (stop.clone(), sub.clone(), root.join("sub.real"));
        let outside = outside.clone();
        std::thread::spawn(move || {
            let mut flips = 0u64;
            // fs::mkdir creates its parents: while `sub` is away, the
            // script may make a new, empty `sub` inside the root; it goes.
            let clear = |p: &std::path::Path| {
                let _ = std::fs::remove_dir_all(p);
            };
            while !stop.load(Ordering::Relaxed) {
                // The script's mkdir can race a flip and leave no `sub`
                // (the folder still at `real`): put it back and go on.
                if std::fs::rename(&sub, &real).is_err() {
                    let _ = std::fs::rename(&real, &sub);
                    continue;
                }
                if symlink(&outside, &sub).is_err() {
                    clear(&sub);
                    let _ = symlink(&outside, &sub);
                }
                let _ = std::fs::remove_file(&sub);
                if std::fs::rename(&real, &sub).is_err() {
                    clear(&sub);
                    let _ = std::fs::rename(&real, &sub);
                }
                flips += 1;
                // A moment with the real folder in place, so that calls also
                // land between flips (on a loaded machine they otherwise
                // might only ever see the link or nothing).
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            flips
        })
    };
    let out = sb.run(&["run", "s.rhai"]);
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert!(flips > 100, "the folder flipped {flips} times");
    assert!(out.stdout.contains("leaks: 0 []\n"), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("inside seen: true\n"), "the calls do work between flips: {}", out.stdout);
    assert!(out.stdout.contains("the root itself: true true\n"), "{}", out.stdout);
    let made_outside: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(made_outside.len(), 2, "no folder was created outside the roots: {made_outside:?}");
}
