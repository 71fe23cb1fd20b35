#!/usr/bin/env bash
# The morning check's Docker steps (docs/BENCHMARKS.md): `docker-compose
# ps`, the count of ERROR lines in the last hour of backend logs, and one
# exec — through runbook (one process, the engine's API) against the same
# through `docker` CLI processes, timed in one hyperfine run.
# The backend has written 100,000 log lines (1 in 10 an ERROR).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source dev/services.sh
RB_SERVICES_DIR=$(mktemp -d)
trap 'docker rm -f rbbench-backend-1 rbbench-worker-1 >/dev/null 2>&1; rm -rf "$RB_SERVICES_DIR"' EXIT
docker_test_image
cargo build --release --quiet
DIR=/tmp/runbook-bench
mkdir -p "$DIR"
RB=$PWD/target/release/runbook
labels() { echo "--label com.docker.compose.project=rbbench --label com.docker.compose.service=$1"; }
docker rm -f rbbench-backend-1 rbbench-worker-1 >/dev/null 2>&1 || true
# shellcheck disable=SC2046
docker run -d --name rbbench-backend-1 $(labels backend) "$RUNBOOK_TEST_DOCKER_IMAGE" sh -c \
  'i=0; while [ $i -lt 100000 ]; do if [ $((i % 10)) = 0 ]; then echo "ERROR request $i failed" >&2; else echo "INFO request $i ok"; fi; i=$((i+1)); done; trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done' >/dev/null
# shellcheck disable=SC2046
docker run -d --name rbbench-worker-1 $(labels worker) "$RUNBOOK_TEST_DOCKER_IMAGE" sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done' >/dev/null
until [ "$(docker logs rbbench-backend-1 2>&1 | wc -l)" -ge 100000 ]; do sleep 0.5; done
printf '[docker]\nproject = "rbbench"\n' > "$DIR/docker.toml"
cp bench/docker-morning.rhai "$DIR/"
echo "errors counted by runbook: $("$RB" --config "$DIR/docker.toml" run "$DIR/docker-morning.rhai" --format json | grep -o '"value": *[0-9]*' | sed -n 2p)"
echo "errors counted by grep:    $(docker logs --since 1h rbbench-backend-1 2>&1 | grep -c ERROR)"
hyperfine -N --warmup 2 --runs 20 \
  -n 'docker CLI (ps, logs | grep -c, exec)' "bash -c 'docker ps -a --filter label=com.docker.compose.project=rbbench >/dev/null; docker logs --since 1h rbbench-backend-1 2>&1 | grep -c ERROR >/dev/null; docker exec rbbench-backend-1 true'" \
  -n 'runbook run docker-morning' "$RB --config $DIR/docker.toml run $DIR/docker-morning.rhai"
