//! Tests in the style of just's: a builder that runs the real binary in a
//! sandbox and compares whole streams. A stream the test does not state
//! must be empty, and the exit code must be the one stated (0 if none).
//! Figures that change from run to run pass through one list of filters,
//! [`FILTERS`], so that a test spells out everything else.
//!
//! ```ignore
//! Test::new()
//!     .script("hello", "// Greets.\nprint(\"hi\");\n")
//!     .args(&["run", "hello"])
//!     .stdout("hi\n")
//!     .run();
//! ```

use super::Sandbox;

/// What varies between runs, and what each becomes. Applied in order to
/// stdout, stderr and the files a test reads with [`filtered`].
pub const FILTERS: &[(&str, &str)] = &[
    // Timestamps: 2026-12-03T07:21:03.123Z, 2026-12-03 07:21:03, 2026-12-03 07:21.
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", "[DATE]"),
    // Wall times: "12 ms", "0.004 s", "1.5s"; and JSON's "duration_ms": 12.
    (r"\b\d+(\.\d+)? ?ms\b", "[TIME]"),
    (r"\b\d+\.\d+ ?s\b", "[TIME]"),
    (r#""duration_ms": ?\d+"#, r#""duration_ms": [TIME]"#),
    (r"(runbook_duration_seconds\{[^}]*\}) [0-9.e-]+", "$1 [TIME]"),
    (r"(runbook_last_run_timestamp_seconds\{[^}]*\}) \d+", "$1 [DATE]"),
    // Sizes: "4.2 MiB", "512 B".
    (r"\b\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b", "[SIZE]"),
    // Process ids.
    (r"\bpid \d+", "pid [PID]"),
];

/// `text` with [`FILTERS`] applied, and this machine's host name as `[HOST]`.
pub fn filtered(text: &str) -> String {
    let mut out = text.to_string();
    for (pattern, with) in FILTERS {
        out = regex::Regex::new(pattern).unwrap().replace_all(&out, *with).into_owned();
    }
    if let Some(host) = hostname() {
        out = out.replace(&format!("\"{host}\""), "\"[HOST]\"");
    }
    out
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

pub struct Test {
    sandbox: Sandbox,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
    stdout: String,
    stderr: String,
    code: i32,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Test {
        Test::in_sandbox(Sandbox::new())
    }

    /// Start from a sandbox a test has prepared (services, fixtures).
    pub fn in_sandbox(sandbox: Sandbox) -> Test {
        Test { sandbox, args: vec![], env: vec![], stdin: None, stdout: String::new(), stderr: String::new(), code: 0 }
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn write(self, rel: &str, contents: &str) -> Test {
        self.sandbox.write(rel, contents);
        self
    }

    /// `./scripts/NAME.rhai`, found by `runbook run NAME`.
    pub fn script(self, name: &str, text: &str) -> Test {
        self.write(&format!("scripts/{name}.rhai"), text)
    }

    /// `./runbook.toml`.
    pub fn config(self, toml: &str) -> Test {
        self.sandbox.config(toml);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// What runbook reads on stdin (else nothing: stdin is /dev/null).
    pub fn stdin(mut self, text: &str) -> Test {
        self.stdin = Some(text.into());
        self
    }

    /// The whole of stdout, after [`FILTERS`].
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = text.into();
        self
    }

    /// The whole of stderr, after [`FILTERS`].
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = text.into();
        self
    }

    pub fn code(mut self, code: i32) -> Test {
        self.code = code;
        self
    }

    /// Run, compare, and hand back the sandbox for what else the test checks
    /// (files written, the history).
    pub fn run(self) -> Sandbox {
        let mut cmd = self.sandbox.cmd();
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = match &self.stdin {
            None => self.sandbox.run_cmd(&mut cmd),
            Some(input) => {
                use std::io::Write;
                cmd.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().unwrap();
                child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
                let o = child.wait_with_output().unwrap();
                super::Out {
                    code: o.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                    elapsed: std::time::Duration::ZERO,
                }
            }
        };
        let (stdout, stderr) = (filtered(&out.stdout), filtered(&out.stderr));
        let (want_out, want_err) = (self.stdout.clone(), self.stderr.clone());
        let mut wrong = vec![];
        if out.code != self.code {
            wrong.push(format!("exit code: expected {}, got {}", self.code, out.code));
        }
        if stdout != want_out {
            wrong.push(format!("stdout differs:\n{}", diff(&want_out, &stdout)));
        }
        if stderr != want_err {
            wrong.push(format!("stderr differs:\n{}", diff(&want_err, &stderr)));
        }
        assert!(
            wrong.is_empty(),
            "runbook {}\n{}\n--- stdout (filtered) ---\n{stdout}--- stderr (filtered) ---\n{stderr}",
            self.args.join(" "),
            wrong.join("\n")
        );
        self.sandbox
    }
}

/// Line by line: `-` expected, `+` got, ` ` the same.
fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) =
        (expected.split_inclusive('\n').collect(), got.split_inclusive('\n').collect());
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        match (e.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => out.push_str(&format!("  {a}")),
            (a, b) => {
                if let Some(a) = a {
                    out.push_str(&format!("- {a:?}\n"));
                }
                if let Some(b) = b {
                    out.push_str(&format!("+ {b:?}\n"));
                }
            }
        }
    }
    out
}
