#!/usr/bin/env bash
# logs::nginx over the 5,000,000-line access log (about 760 MB), warm page
# cache, against `wc -l` and the manual's six awk pipelines, in one
# hyperfine run; then peak RSS. Figures go to docs/BENCHMARKS.md.
#   LINES=1000000 ./bench/logs.sh     a smaller log
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-5000000}
DIR=/tmp/runbook-bench
LOG=$DIR/access-$LINES.log
mkdir -p "$DIR"
[ -f "$LOG" ] || python3 ../shared/bench/gen_access_log.py "$LINES" "$LOG"
cargo build --release --quiet
cat "$LOG" > /dev/null   # warm the page cache
RB="./target/release/runbook --config bench/runbook.toml run bench/logs-nginx.rhai --arg log=$LOG"
export LC_ALL=C
hyperfine --warmup 1 --runs 3 --export-markdown /tmp/runbook-logs.md \
  -n 'wc -l' "wc -l $LOG" \
  -n 'runbook logs::nginx (all reports)' "$RB" \
  -n 'awk: status codes' "awk '{print \$9}' $LOG | sort | uniq -c | sort -rn" \
  -n 'awk: top IPs' "awk '{print \$1}' $LOG | sort | uniq -c | sort -rn | head -20" \
  -n 'awk: top paths' "awk '{print \$7}' $LOG | sort | uniq -c | sort -rn | head -10" \
  -n 'awk: slow requests' "awk '{if (\$NF > 1000) print \$0}' $LOG | wc -l" \
  -n 'awk: average time' "awk '{print \$NF}' $LOG | awk '{sum+=\$1; count++} END {print sum/count}'" \
  -n 'awk: top error paths' "awk '{if (\$9 >= 500) print \$7}' $LOG | sort | uniq -c | sort -rn | head -10"
cat /tmp/runbook-logs.md
/usr/bin/time -f "peak RSS: %M KiB, wall %e s" $RB > /dev/null
