//! `sys::cpu` with every core kept busy. A test binary of its own: cargo
//! runs the tests of one binary side by side, and the spinning cores would
//! be read by every other CPU figure a test asserts.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{printed, Sandbox};

fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A short sample is exact where the root cpuacct cgroup can be read (this
/// project's machines), and is lengthened to 250 ms where only /proc/stat's
/// 10 ms ticks are. With every core kept busy, a 25 ms sample reads the
/// machine as full: ticks could only have said 0, 50 or 100 %.
#[test]
fn a_short_cpu_sample_is_exact_and_sees_every_core_busy() {
    let cores: usize = sh("nproc").parse().unwrap();
    let mut spinners: Vec<std::process::Child> = (0..cores)
        .map(|_| std::process::Command::new("sh").arg("-c").arg("while :; do :; done").spawn().unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = Sandbox::new().script(
        r#"let c = sys::cpu("25ms");
print(c.exact);
print(c.sample_ms);
print(c.used_pct);"#,
        &[],
    );
    for s in &mut spinners {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    let exact = std::path::Path::new("/sys/fs/cgroup/cpuacct/cpuacct.usage").exists();
    assert_eq!(p[0], exact.to_string(), "the exact source is used wherever it exists");
    assert_eq!(p[1], if exact { "25" } else { "250" });
    let used: f64 = p[2].parse().unwrap();
    assert!(used >= 90.0, "{cores} spinning cores read as {used}%");
}
