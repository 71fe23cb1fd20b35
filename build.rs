//! Compiles the shipped scripts and stdlib modules into the binary, so that
//! `runbook` works from any folder and operators can still override any of
//! them with a file of the same name.

#![allow(clippy::unwrap_used, reason = "a build script reports failure by panicking")]

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for (konst, dir) in [("SHIPPED_SCRIPTS", "scripts"), ("SHIPPED_STDLIB", "stdlib")] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        collect(&root.join(dir), &root.join(dir), &mut files);
        files.sort();
        writeln!(out, "pub static {konst}: &[(&str, &str)] = &[").unwrap();
        for (name, path) in files {
            writeln!(out, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("shipped.rs");
    std::fs::write(dest, out).unwrap();

    // The binary is linked position-dependent (no PIE). As a PIE it carried
    // 44,000 relative relocations (vtables, the serde field tables of the
    // Docker API, the host functions' docs) that the dynamic linker applied
    // on every start, copying 180 pages of .data.rel.ro: 1.8 ms of a 5.4 ms
    // run (docs/BENCHMARKS.md). The cost is ASLR of the executable's own
    // image; the stack, heap and shared libraries are still randomised.
    // Delete these lines to link a PIE again.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(base, &p, files);
        } else if p.extension().is_some_and(|x| x == "rhai") {
            let rel = p.strip_prefix(base).unwrap().with_extension("");
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.push((name, p));
        }
    }
}
