#!/usr/bin/env bash
# http::bench against ab (Debian's apache2-utils), 10,000 requests at
# concurrency 10 against a local nginx serving a small page
# (docs/BENCHMARKS.md). Both without keep-alive (ab's default) and both
# with it (ab -k): requests per second from each tool's own report.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null || apt-get install -y -qq nginx-light
command -v ab >/dev/null || apt-get install -y -qq apache2-utils
cargo build --release --quiet
DIR=$(mktemp -d /tmp/runbook-bench-http.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$DIR/www"
echo '<h1>CivicQ</h1>' > "$DIR/www/index.html"
cat > "$DIR/nginx.conf" <<CONF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$PORT; root $DIR/www; }
}
CONF
nginx -c "$DIR/nginx.conf"
trap 'kill $(cat $DIR/nginx.pid); rm -rf $DIR' EXIT
sleep 0.3
URL="http://127.0.0.1:$PORT/index.html"
RB=$PWD/target/release/runbook
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Rounds alternate the two tools so that machine noise hits both alike;
# the medians are compared.
for ka in false true; do
  printf '// http::bench like ab.\nlet b = http::bench("%s", #{requests: 10000, concurrency: 10, keep_alive: %s});\nprint(b.rps);\n' "$URL" "$ka" > "$DIR/b.rhai"
  flag=""; [ "$ka" = true ] && flag="-k"
  : > "$DIR/ab.txt"; : > "$DIR/rb.txt"
  for _ in $(seq "${ROUNDS:-7}"); do
    ab $flag -q -n 10000 -c 10 "$URL" 2>/dev/null | awk '/Requests per second/ {print $4}' >> "$DIR/ab.txt"
    "$RB" run "$DIR/b.rhai" | awk 'NR==2 {print $1}' >> "$DIR/rb.txt"
  done
  ab_m=$(median < "$DIR/ab.txt"); rb_m=$(median < "$DIR/rb.txt")
  echo "keep-alive=$ka: ab median $ab_m rps, runbook http::bench median $rb_m rps, ratio $(awk "BEGIN {printf \"%.2f\", $rb_m / $ab_m}")"
  echo "  ab:      $(tr '\n' ' ' < "$DIR/ab.txt")"
  echo "  runbook: $(tr '\n' ' ' < "$DIR/rb.txt")"
done
