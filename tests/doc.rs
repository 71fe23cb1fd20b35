//! The reference comes from the doc comments, is committed, and its
//! examples run.

mod common;
use common::Sandbox;

#[test]
fn committed_reference_is_current() {
    let out = Sandbox::new().run(&["doc", "--markdown"]);
    assert_eq!(out.code, 0);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md")).unwrap_or_default();
    assert!(
        committed == out.stdout,
        "docs/reference.md is stale: run `cargo run -- doc --markdown > docs/reference.md`"
    );
}

#[test]
fn every_function_says_whether_it_changes_anything() {
    let out = Sandbox::new().run(&["doc", "--markdown"]);
    let missing: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("*?*")).collect();
    assert!(missing.is_empty(), "functions without *read-only*/*mutating*/*data-losing*: {missing:?}");
    assert!(out.stdout.contains("### `fs::remove(path: string) -> ()`\n\n*data-losing*"), "fs::remove is data-losing");
    assert!(out.stdout.contains("### `fs::write_text(path: string, text: string) -> ()`\n\n*mutating*"));
}

#[test]
fn doc_of_one_function_and_did_you_mean() {
    let sb = Sandbox::new();
    let out = sb.run(&["doc", "sys::disk"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("sys::disk(path: string) -> map\n  [read-only]\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  Example:\n    let d = sys::disk(\"/\");"), "{}", out.stdout);
    let out = sb.run(&["doc", "sys::dsk"]);
    assert_eq!(out.code, 64);
    assert!(out.stderr.contains("did you mean `sys::disk`?"), "{}", out.stderr);
    let out = sb.run(&["doc", "check"]);
    assert!(out.stdout.starts_with("check(name: string, f: Fn) -> ()"), "{}", out.stdout);
}

#[test]
fn every_example_in_the_reference_runs() {
    let sb = Sandbox::new();
    let ex = sb.path().join("examples");
    let out = sb.run(&["doc", "--examples", ex.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A group for config::targets' example; its one member is never connected to.
    sb.config("[fs]\nroots = [\"/tmp\"]\n\n[proc]\nallow = [\"echo\", \"cat\"]\n\n[redis.spare]\nurl = \"redis://127.0.0.1:1\"\ngroup = \"replicas\"\n");
    let mut files: Vec<_> = std::fs::read_dir(&ex).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 15, "only {} examples", files.len());
    for f in files {
        let out = sb.run(&["run", f.to_str().unwrap(), "--yes"]);
        assert!(out.code <= 1, "{} failed ({}):\n{}{}", f.display(), out.code, out.stdout, out.stderr);
    }
}

/// The Rhai in the README and the guides passes `runbook check` (it
/// compiles, and every host function it calls exists), so a renamed
/// function cannot leave an example behind.
#[test]
fn every_rhai_block_in_the_guides_passes_check() {
    let sb = Sandbox::new();
    let mut checked = 0;
    for doc in ["README.md", "docs/getting-started.md", "docs/bad-day.md", "docs/manual-coverage.md"] {
        let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
        for (i, block) in text.split("```rhai\n").skip(1).enumerate() {
            let code = block.split("```").next().unwrap();
            // A fragment gets the header a script needs.
            let script = if code.starts_with("//") { code.to_string() } else { format!("// From {doc}.\n{code}") };
            let file = sb.write(&format!("examples/{}-{i}.rhai", doc.replace(['/', '.'], "-")), &script);
            let out = sb.run(&["check", file.to_str().unwrap()]);
            assert_eq!(out.code, 0, "block {} of {doc} fails `runbook check`:\n{script}\n{}", i + 1, out.stderr);
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} blocks");
}

#[test]
fn definitions_are_written_for_editors() {
    let sb = Sandbox::new();
    let dir = sb.path().join("defs");
    let out = sb.run(&["doc", "--definitions", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all: String = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(all.contains("fn disk(path: string) -> Map;"), "{}", &all[..all.len().min(2000)]);
}
