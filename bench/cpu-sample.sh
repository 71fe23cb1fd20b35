#!/usr/bin/env bash
# How well a CPU reading tells a known load: one process busy 5 ms, idle
# 5 ms, over and over (a quarter of a 2-core machine), read twenty times by
# the manual's `top -bn1` and by runbook's `sys::cpu("25ms")` (the
# daily-check default). The load's true share comes from its own CPU time.
# docs/BENCHMARKS.md, "The CPU reading".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
RB=$PWD/target/release/runbook
TMP=$(mktemp -d); trap 'kill "${LOAD:-}" 2>/dev/null; rm -rf "$TMP"' EXIT

python3 - <<'PY' & LOAD=$!
import time
end = time.time() + 120
while time.time() < end:
    t = time.perf_counter()
    while time.perf_counter() - t < 0.005:
        pass
    time.sleep(0.005)
PY
sleep 1
ticks0=$(awk '{print $14+$15}' /proc/$LOAD/stat); t0=$(date +%s.%N)

top_readings=$(for _ in $(seq 20); do
  top -bn1 | grep 'Cpu(s)' | sed 's/.*ni, *\([0-9.]*\) id.*/\1/' | awk '{printf "%.1f ", 100-$1}'
done)
printf '// twenty CPU readings\nlet v = [];\nfor i in 0..20 { v.push(sys::cpu("25ms").used_pct); }\nprint(v.map(|x| x.to_string()).reduce(|a, b| a + " " + b));\n' > "$TMP/cpu.rhai"
rb_readings=$("$RB" run "$TMP/cpu.rhai" | sed -n 2p)

ticks1=$(awk '{print $14+$15}' /proc/$LOAD/stat); t1=$(date +%s.%N)
python3 - "$top_readings" "$rb_readings" "$ticks0" "$ticks1" "$t0" "$t1" "$(nproc)" <<'PY'
import statistics as st, sys
top, rb = ([float(x) for x in a.split()] for a in sys.argv[1:3])
ticks0, ticks1, t0, t1, cores = (float(x) for x in sys.argv[3:8])
true = (ticks1 - ticks0) / 100 / (t1 - t0) / cores * 100
print(f"the load's own share of the machine: {true:.1f} %")
for name, v in (("top -bn1", top), ('sys::cpu("25ms")', rb)):
    print(f"{name:18} mean {st.mean(v):5.1f} %  stdev {st.stdev(v):5.1f}  range {min(v):.1f} … {max(v):.1f}  distinct {len(set(v))}")
    print(f"{'':18} {' '.join(f'{x:g}' for x in v)}")
PY
