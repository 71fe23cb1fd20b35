#!/usr/bin/env bash
# `runbook run daily-check` against the manual's Morning Checklist in bash
# (../shared/bench/daily-check-baseline.sh), on the same local services,
# timed in one hyperfine run (docs/BENCHMARKS.md).
#
# Services: PostgreSQL with the fixture, Redis and S3 from dev/services.sh;
# a compose-labelled backend container whose logs hold 1,000 lines (100
# ERROR) and whose `celery` answers; a stand-in API (bench/health_server.py).
# The bash script greps the same 1,000 lines from a file, and has no Celery
# or S3 step: runbook does more work in this comparison, not less. So the
# run also times runbook without its Celery step (`--arg celery=`), the same
# checks as the bash's plus S3, and the Celery `docker exec` on its own.
#
# CPU: runbook's default sample is 25 ms, exact from the scheduler's clock
# (bench/cpu-sample.sh compares its readings with `top -bn1`'s); one line
# times it with a sample as long as `top`'s 150 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source dev/services.sh
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine
cleanup() { docker rm -f rbdaily-backend-1 >/dev/null 2>&1 || true; [ -n "${API_PID:-}" ] && kill "$API_PID" 2>/dev/null; services_stop; }
trap cleanup EXIT
services_start
cargo build --release --quiet
DIR=/tmp/runbook-bench-daily
rm -rf "$DIR"; mkdir -p "$DIR"
RB=$PWD/target/release/runbook

# The backend: 1,000 log lines, one in ten an ERROR; a `celery` that answers.
docker rm -f rbdaily-backend-1 >/dev/null 2>&1 || true
docker run -d --name rbdaily-backend-1 --label com.docker.compose.project=rbdaily \
  --label com.docker.compose.service=backend "$RUNBOOK_TEST_DOCKER_IMAGE" sh -c \
  'printf "#!/bin/sh\necho {\\\"worker1@civicq\\\": []}\n" > /bin/celery; chmod +x /bin/celery
   i=0; while [ $i -lt 1000 ]; do if [ $((i % 10)) = 0 ]; then echo "ERROR request $i failed" >&2; else echo "INFO request $i ok"; fi; i=$((i+1)); done
   trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done' >/dev/null
until [ "$(docker logs rbdaily-backend-1 2>&1 | wc -l)" -ge 1000 ]; do sleep 0.2; done
docker logs rbdaily-backend-1 > "$DIR/app.log" 2>&1

# Media storage: a bucket with 100 objects.
mkdir -p "$RUNBOOK_TEST_S3_ROOT/civicq-media/uploads"
for i in $(seq 1 100); do head -c 4096 /dev/zero > "$RUNBOOK_TEST_S3_ROOT/civicq-media/uploads/$i.jpg"; done

API_PORT=$(free_port)
python3 bench/health_server.py "$API_PORT" & API_PID=$!
until curl -sf "http://127.0.0.1:$API_PORT/health" >/dev/null; do sleep 0.1; done

cat > "$DIR/runbook.toml" <<TOML
[docker]
project = "rbdaily"
[postgres.main]
url = "$RUNBOOK_TEST_PG_URL"
[redis.cache]
url = "$RUNBOOK_TEST_REDIS_URL"
[http.api]
url = "http://127.0.0.1:$API_PORT"
[http.frontend]
url = "http://127.0.0.1:$API_PORT/"
[s3.media]
bucket = "civicq-media"
endpoint = "$RUNBOOK_TEST_S3_ENDPOINT"
access_key_id = "runbook-test-key"
secret_access_key = "runbook-test-secret"
TOML

redis_port=${RUNBOOK_TEST_REDIS_URL##*:}; redis_port=${redis_port%%/*}
export PGURL=$RUNBOOK_TEST_PG_URL REDIS_PORT=$redis_port REDIS_PASSWORD=redis-test-pw \
  API="http://127.0.0.1:$API_PORT/health" LOGDIR=$DIR
echo "== the two reports"
bash ../shared/bench/daily-check-baseline.sh
"$RB" --config "$DIR/runbook.toml" run daily-check || true

echo "== timing"
hyperfine -N -i --warmup 2 --runs 20 \
  -n 'daily-check-baseline.sh (bash)' "bash ../shared/bench/daily-check-baseline.sh" \
  -n 'runbook run daily-check' "$RB --config $DIR/runbook.toml run daily-check" \
  -n 'runbook run daily-check --arg celery= (the steps the bash has, and S3)' "$RB --config $DIR/runbook.toml run daily-check --arg celery=" \
  -n 'runbook run daily-check --arg cpu_sample=150ms' "$RB --config $DIR/runbook.toml run daily-check --arg cpu_sample=150ms" \
  -n 'docker exec … celery (the Celery step alone, through the CLI)' "docker exec rbdaily-backend-1 celery -A app.worker inspect active -j"
