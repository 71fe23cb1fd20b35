//! Fuzz targets, as property tests: the parsers that read what operators
//! and servers write (a script's header, the config, durations, nginx
//! lines) never panic, whatever they are given. Inputs are arbitrary text
//! and valid samples with bytes replaced, inserted and deleted, where the
//! interesting failures live. `cargo test` tries `FUZZ_CASES` inputs per
//! target (default 256); `.ci/run` sets it higher for a bounded run.

use proptest::prelude::*;

/// The run's size: `FUZZ_CASES`, else 256; no failure files are kept.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// One of `samples` with up to 12 byte edits.
pub fn mutated(samples: &'static [&'static str]) -> impl Strategy<Value = String> {
    (0..samples.len(), prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..12)).prop_map(
        move |(i, edits)| {
            let mut b = samples[i].as_bytes().to_vec();
            for (at, byte, op) in edits {
                if b.is_empty() {
                    b.push(byte);
                    continue;
                }
                let at = at % b.len();
                match op {
                    0 => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        },
    )
}

const DURATIONS: &[&str] = &["90s", "1h30m", "1.5h", "7d", "500ms", "30", "2w", "1e3", "99999999999d"];

const HEADERS: &[&str] = &[
    "// Check the disk.\n//\n// manual: Daily › Morning\n// schedule: 0 9 * * *\n// param mount: string = \"/\"  the mount point\n// param warn: float = 85 — warn at\n// param tags: list = [a, b]\n// param d: duration = 7d\n// param pw: secret\nlet x = 1;\n",
    "// One line.\nprint(1);\n",
    "// schedule: */15 * * * * *\n// param n: int = 3\n",
];

const CONFIGS: &[&str] = &[
    "[postgres.main]\nurl = \"postgres://u:p@localhost/db\"\nsslmode = \"require\"\nstatement_timeout = \"30s\"\n\n[fs]\nroots = [\"/tmp\"]\n",
    "[limits]\nmax_call_depth = 96\nmax_memory = 1000000\n\n[history]\nurl = \"postgres://h/db\"\n\n[schedule.x]\ncron = \"0 9 * * *\"\n",
    "[smtp.default]\nhost = \"localhost\"\nport = 25\nsecurity = \"none\"\ntimeout = \"5s\"\n\n[http.api]\nurl = \"https://api.example.com/v1\"\nbearer = \"t\"\n\n[docker]\nhost = \"unix:///var/run/docker.sock\"\n",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn durations_never_panic(text in prop_oneof![mutated(DURATIONS), any::<String>()]) {
        let _ = crate::duration::parse(&text);
    }

    #[test]
    fn headers_never_panic(src in prop_oneof![mutated(HEADERS), any::<String>()]) {
        if let Ok(h) = crate::script::header::parse(&src) {
            for p in &h.params {
                let _ = crate::script::params::resolve(&h, "fuzz", &[format!("{}=1", p.name)]);
            }
        }
    }

    #[test]
    fn configs_never_panic(text in prop_oneof![mutated(CONFIGS), any::<String>()]) {
        let _ = crate::config::Config::parse(&text, "fuzz.toml");
    }
}
