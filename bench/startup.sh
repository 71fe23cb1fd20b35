#!/usr/bin/env bash
# Whole-process start-up: `runbook run` of a script that only prints, with
# the run history on (the default: one SQLite insert per run) and off, against
# `bash -c true` and `python3 -c pass`, in one hyperfine run.
# Figures go to docs/BENCHMARKS.md. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
printf '' > "$home/history-on.toml"
printf '[history]\nenabled = false\n' > "$home/history-off.toml"
HOME=$home hyperfine --warmup 20 --runs 300 -N \
  --export-markdown /tmp/runbook-startup.md \
  'bash -c true' \
  "./target/release/runbook --config $home/history-off.toml run bench/print.rhai" \
  "./target/release/runbook --config $home/history-on.toml run bench/print.rhai" \
  'python3 -c pass'
sed "s|$home|\$HOME|g" /tmp/runbook-startup.md
