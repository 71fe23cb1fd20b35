//! REPL latency through a real pty: launch → prompt ready, and Tab →
//! completion shown. 20 launches; medians. (`cargo bench --bench repl_latency`)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench prints its figures; a failed unwrap is the report"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::{ControlCode, Regex, Session};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ready, mut complete) = (vec![], vec![]);
    for _ in 0..20 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
        cmd.current_dir(dir.path()).arg("repl").env("HOME", dir.path()).env("TERM", "xterm").env("NO_COLOR", "1");
        let started = Instant::now();
        let mut p = Session::spawn(cmd).unwrap();
        p.set_expect_timeout(Some(Duration::from_secs(10)));
        p.expect(Regex(r"\n(?:\x1b\[[0-9;?]*[A-Za-z]|\r)*runbook> ")).unwrap();
        ready.push(started.elapsed());
        // The function list is built in the background at launch; an
        // operator's first Tab comes later than this pause.
        p.send("sys::upt").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        p.send(ControlCode::HorizontalTabulation).unwrap();
        p.expect("uptime").unwrap();
        complete.push(t.elapsed());
        p.send(ControlCode::EndOfTransmission).unwrap();
        p.send(ControlCode::EndOfTransmission).unwrap();
    }
    println!("prompt ready after launch (median of 20): {:.1} ms", median(ready).as_secs_f64() * 1e3);
    println!("Tab to completion shown (median of 20):   {:.2} ms", median(complete).as_secs_f64() * 1e3);
}
