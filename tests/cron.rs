//! What cron needs of `runbook run`: `--lock` (one run at a time),
//! `--mail-to` with `--mail-on failure|always|change` through the SMTP test
//! server, and mail failures that do not change the exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::web::closed_port;
use common::{service, smtp_config, Sandbox};

const SLOW: &str = "// Sleeps, holding its lock.\n// param secs: string = 3s\ntime::sleep(secs);\nok(\"slept\");\n";

fn sandbox_with(name: &str, script: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write(&format!("scripts/{name}.rhai"), script);
    sb
}

fn wait_for_lock_file(sb: &Sandbox, name: &str) {
    let path = sb.path().join(format!(".local/state/runbook/locks/{name}.lock"));
    for _ in 0..100 {
        if std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with("pid ")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no lock file at {}", path.display());
}

#[test]
fn a_second_run_with_lock_exits_75_naming_the_holder_and_lock_wait_waits() {
    let sb = sandbox_with("slow", SLOW);
    let mut first = sb.cmd().args(["run", "slow", "--lock"]).stdout(Stdio::null()).spawn().unwrap();
    wait_for_lock_file(&sb, "slow");

    let second = sb.run(&["run", "slow", "--lock", "--arg", "secs=0s"]);
    assert_eq!(second.code, 75, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains(&format!("`slow` is already running (pid {}, started ", first.id())),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("--lock-wait 10m waits for it"), "{}", second.stderr);
    assert!(second.stdout.is_empty(), "the script did not run: {}", second.stdout);

    // Another lock name does not wait; --lock-wait does, until the first ends.
    let other = sb.run(&["run", "slow", "--lock", "nightly", "--arg", "secs=0s"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    let started = Instant::now();
    let third = sb.run(&["run", "slow", "--lock", "--lock-wait", "20s", "--arg", "secs=0s"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(first.wait().unwrap().success());
    assert!(started.elapsed() > Duration::from_millis(500), "did not wait");
}

#[test]
fn a_killed_holder_leaves_no_stale_lock() {
    let sb = sandbox_with("slow", SLOW);
    let mut first =
        sb.cmd().args(["run", "slow", "--lock", "--arg", "secs=60s"]).stdout(Stdio::null()).spawn().unwrap();
    wait_for_lock_file(&sb, "slow");
    first.kill().unwrap();
    let _ = first.wait();
    let next = sb.run(&["run", "slow", "--lock", "--arg", "secs=0s"]);
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
}

const LEVEL: &str = "// Reports the level it is given.\n// param level: string = ok\nif level == \"crit\" { crit(\"the service is down\"); } else { ok(\"all fine\"); }\n";

fn mail_sandbox(name: &str, port: &str) -> Sandbox {
    let sb = sandbox_with(name, LEVEL);
    sb.config(&smtp_config(port));
    sb
}

/// A quoted-printable body as text.
fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn subject(mail: &str) -> String {
    mail.lines().find(|l| l.starts_with("Subject: ")).unwrap().trim_end().to_string()
}

#[test]
fn mail_on_failure_sends_the_report_of_a_failed_run_only() {
    let name = format!("mailfail{}", std::process::id());
    let sb = mail_sandbox(&name, &service("RUNBOOK_TEST_SMTP_PORT"));
    let ok = sb.run(&["run", &name, "--mail-to", "admin@example.com", "--quiet"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.is_empty(), "--quiet printed {}", ok.stdout);
    let bad = sb.run(&["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let mails = common::received(&name, 1);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    assert_eq!(subject(&mails[0]), format!("Subject: [CRITICAL] {name} on {host}"));
    assert!(decoded(&mails[0]).replace("\r\n", "\n").contains("  ✗ the service is down\n"), "{}", decoded(&mails[0]));
    assert!(mails[0].contains("To: admin@example.com"), "{}", mails[0]);
}

#[test]
fn mail_on_change_sends_only_when_the_status_differs_from_the_last_run() {
    let name = format!("mailchange{}", std::process::id());
    let sb = mail_sandbox(&name, &service("RUNBOOK_TEST_SMTP_PORT"));
    let run = |level: &str| {
        let arg = format!("level={level}");
        sb.run(&["run", &name, "--arg", &arg, "--mail-to", "admin@example.com", "--mail-on", "change"]).code
    };
    assert_eq!(run("ok"), 0); // first run, OK: nothing to say
    assert_eq!(run("crit"), 2); // changed: mailed
    assert_eq!(run("crit"), 2); // the same: not mailed
    assert_eq!(run("ok"), 0); // recovered: mailed
    let mails = common::received(&name, 2);
    std::thread::sleep(Duration::from_millis(300));
    let mails = if mails.len() == 2 { common::received(&name, 3) } else { mails };
    let subjects: Vec<String> = mails.iter().map(|m| subject(m)).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("Subject: [CRITICAL] ") && subjects[1].starts_with("Subject: [OK] "),
        "{subjects:?}"
    );
}

#[test]
fn a_mail_that_cannot_be_sent_is_said_on_stderr_and_keeps_the_exit_code() {
    let name = format!("mailnone{}", std::process::id());
    let sb = mail_sandbox(&name, &closed_port().to_string());
    let out = sb.run(&["run", &name, "--arg", "level=crit", "--mail-to", "admin@example.com", "--mail-on", "always"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("runbook: --mail-to admin@example.com: the report was not mailed: ")
            && out.stderr.contains("refused"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("smtp-test-pw"), "{}", out.stderr);
}
