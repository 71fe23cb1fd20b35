#!/usr/bin/env bash
# Whole-process start-up: `runbook run` of a script that only prints, with
# the run history on (the default: the run's record left in the spool) and
# off, against `bash -c true` and `python3 -c pass`, in one hyperfine run.
# The goal is a median, so the table ends with each command's median.
# Figures go to docs/BENCHMARKS.md. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
printf '' > "$home/history-on.toml"
printf '[history]\nenabled = false\n' > "$home/history-off.toml"
HOME=$home hyperfine --warmup 20 --runs 300 -N \
  --export-markdown /tmp/runbook-startup.md --export-json /tmp/runbook-startup.json \
  'bash -c true' \
  "./target/release/runbook --config $home/history-off.toml run bench/print.rhai" \
  "./target/release/runbook --config $home/history-on.toml run bench/print.rhai" \
  'python3 -c pass'
sed "s|$home|\$HOME|g" /tmp/runbook-startup.md
python3 - "$home" <<'PY'
import json, sys
for r in json.load(open('/tmp/runbook-startup.json'))['results']:
    print(f"median {r['median'] * 1000:6.2f} ms  {r['command'].replace(sys.argv[1], '$HOME')}")
PY
