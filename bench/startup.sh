#!/usr/bin/env bash
# Whole-process start-up: `runbook run` of a script that only prints,
# against `bash -c true` and `python3 -c pass`, in one hyperfine run.
# Figures go to docs/BENCHMARKS.md. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
hyperfine --warmup 20 --runs 300 -N \
  --export-markdown /tmp/runbook-startup.md \
  'bash -c true' \
  './target/release/runbook run bench/print.rhai' \
  'python3 -c pass'
cat /tmp/runbook-startup.md
