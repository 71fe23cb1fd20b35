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
# The interpreter itself: `python3` on PATH may be a pyenv shim, a bash
# script that takes 140-235 ms before Python starts.
py=$(python3 -c 'import sys; print(sys.executable)')
# BEFORE=/path/to/an/older/runbook adds it beside this one, for a ratio.
before=()
if [ -n "${BEFORE:-}" ]; then
  before=("$BEFORE --config $home/history-off.toml run bench/print.rhai")
fi
HOME=$home hyperfine --warmup 20 --runs 300 -N \
  --export-markdown /tmp/runbook-startup.md --export-json /tmp/runbook-startup.json \
  'bash -c true' \
  "./target/release/runbook --version" \
  "${before[@]}" \
  "./target/release/runbook --config $home/history-off.toml run bench/print.rhai" \
  "./target/release/runbook --config $home/history-on.toml run bench/print.rhai" \
  "$py -c pass"
sed "s|$home|\$HOME|g" /tmp/runbook-startup.md
python3 - "$home" <<'PY'
import json, sys
for r in json.load(open('/tmp/runbook-startup.json'))['results']:
    print(f"median {r['median'] * 1000:6.2f} ms  {r['command'].replace(sys.argv[1], '$HOME')}")
PY

# hyperfine runs each command's 300 runs one after another, so a drift of
# the machine lands on one command: the history's own cost is measured
# interleaved (on, off, on, off, …), each run timed from Python.
echo "== history on and off, interleaved, 400 runs each"
HOME=$home python3 - "$home" <<'PY'
import statistics, subprocess, sys, time
home = sys.argv[1]
cmds = {f"history {k}": ["./target/release/runbook", "--config", f"{home}/history-{k}.toml", "run", "bench/print.rhai"]
        for k in ("off", "on")}
times = {k: [] for k in cmds}
for _ in range(400):
    for k, c in cmds.items():
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, check=True)
        times[k].append(time.perf_counter() - t)
for k, v in times.items():
    v = sorted(v)
    print(f"{k}: median {statistics.median(v) * 1000:.2f} ms (p25 {v[len(v) // 4] * 1000:.2f}, p75 {v[3 * len(v) // 4] * 1000:.2f}), Python's fork and exec included")
PY
