//! `sys` against the system's own tools, and the shipped system-resources
//! script with its thresholds.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{printed, Sandbox};

fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn disk_matches_df() {
    let out = Sandbox::new().script(
        r#"let d = sys::disk("/");
print(d.mount);
print(d.total);
print(d.used_pct);
print(sys::disks().len() >= 1);"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    assert_eq!(p[0], "/");
    let df_total: u64 = sh("df -B1 --output=size / | tail -1").parse().unwrap();
    assert_eq!(p[1].parse::<u64>().unwrap(), df_total);
    let df_pct: f64 = sh("df --output=pcent / | tail -1 | tr -d ' %'").parse().unwrap();
    let ours: f64 = p[2].parse().unwrap();
    assert!((ours - df_pct).abs() <= 1.0, "ours {ours}% vs df {df_pct}%");
    assert_eq!(p[3], "true");
}

#[test]
fn memory_load_uptime_hostname_match_the_kernel() {
    let out = Sandbox::new().script(
        r#"let m = sys::memory();
print(m.total);
print(m.used + m.available == m.total);
let c = sys::cpu("100ms");
print(c.used_pct >= 0.0 && c.used_pct <= 100.0);
print(c.cores);
print(sys::load().cores == c.cores);
print(sys::uptime().seconds > 0.0);
print(sys::hostname());"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = printed(&out);
    let kb: u64 = sh("awk '/^MemTotal:/ {print $2}' /proc/meminfo").parse().unwrap();
    assert_eq!(p[0], (kb * 1024).to_string());
    assert_eq!(p[1], "true");
    assert_eq!(p[2], "true");
    assert_eq!(p[3], sh("nproc"));
    assert_eq!(p[4], "true");
    assert_eq!(p[5], "true");
    assert_eq!(p[6], sh("cat /proc/sys/kernel/hostname"));
}

#[test]
fn a_cpu_sample_of_no_length_is_refused() {
    let out = Sandbox::new().script(r#"try { sys::cpu("0s"); } catch (e) { print(e); }"#, &[]);
    assert_eq!(printed(&out), ["sys::cpu: a sample of \"0s\" measures nothing: give a length, e.g. \"25ms\""]);
}

#[test]
fn system_resources_reports_the_three_figures_against_the_manuals_thresholds() {
    let sb = Sandbox::new();
    let out = sb.run(&["run", "system-resources", "--arg", "cpu_sample=100ms"]);
    // Exit code is whatever the machine's state is; the figures are there.
    assert!(out.code <= 2, "{}", out.stderr);
    for line in ["cpu_used_pct:", "memory_used_pct:", "disk_used_pct:"] {
        assert!(out.stdout.contains(line), "{line}: {}", out.stdout);
    }
    assert!(
        out.stdout.contains("(warn 70, crit 80)")
            && out.stdout.contains("(warn 80, crit 90)")
            && out.stdout.contains("(warn 85, crit 90)"),
        "{}",
        out.stdout
    );
    // The disk line says what its percentage is made of, as df counts it:
    // used / (used + free), the blocks reserved for root in neither.
    let disk =
        regex::Regex::new(r"disk_used_pct: ([\d.]+)% — ([\d.]+) (\w+) used, ([\d.]+) (\w+) free on /  ").unwrap();
    let c = disk.captures(&out.stdout).unwrap_or_else(|| panic!("no disk line: {}", out.stdout));
    let bytes = |n: &str, unit: &str| {
        let scale = ["B", "KiB", "MiB", "GiB", "TiB"].iter().position(|u| *u == unit).expect("a unit");
        n.parse::<f64>().unwrap() * 1024f64.powi(scale as i32)
    };
    let (pct, used, free) = (c[1].parse::<f64>().unwrap(), bytes(&c[2], &c[3]), bytes(&c[4], &c[5]));
    let df_pct: f64 = sh("df --output=pcent / | tail -1 | tr -d ' %'").parse().unwrap();
    assert!((pct - df_pct).abs() <= 1.0, "ours {pct}% vs df {df_pct}%");
    assert!((pct - 100.0 * used / (used + free)).abs() <= 1.0, "{pct}% is not used/(used+free): {}", &c[0]);
    // A disk threshold every disk crosses makes the run CRITICAL.
    let out = sb.run(&[
        "run",
        "system-resources",
        "--arg",
        "cpu_sample=100ms",
        "--arg",
        "disk_warn=0",
        "--arg",
        "disk_crit=0.01",
    ]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("✗ disk_used_pct:"), "{}", out.stdout);
    // A missing mount is one UNKNOWN line; the other checks still ran.
    let out = sb.run(&["run", "system-resources", "--arg", "cpu_sample=100ms", "--arg", "mounts=/,/no/such/mount"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stdout.contains("? disk /no/such/mount: sys::disk: /no/such/mount: No such file or directory"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("disk_used_pct:"), "{}", out.stdout);
    // As a Nagios plugin.
    let out =
        sb.run(&["run", "system-resources", "--arg", "cpu_sample=100ms", "--format", "nagios", "--arg", "mem_warn=0"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.starts_with("SYSTEM-RESOURCES WARNING - memory_used_pct is "), "{}", out.stdout);
    assert!(out.stdout.contains("'memory_used_pct'="), "{}", out.stdout);
}
