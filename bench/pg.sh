#!/usr/bin/env bash
# PostgreSQL and Redis benchmarks (docs/BENCHMARKS.md):
#  1. 10,000 db.scalar("SELECT 1") against sqlx directly (cargo bench);
#  2. the morning questions (user count, Redis ping) through runbook
#     against psql and redis-cli processes, as daily-check-baseline.sh asks;
#  3. pg::dump of the fixture at scale 50 against `pg_dump | gzip`: wall
#     time in one hyperfine run, and peak RSS.
# Starts throw-away servers (dev/services.sh) unless RUNBOOK_TEST_PG_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${RUNBOOK_TEST_PG_URL:-}" ]; then
  # shellcheck source=/dev/null
  source dev/services.sh
  trap services_stop EXIT
  services_start
fi
cargo build --release --quiet
DIR=/tmp/runbook-bench
mkdir -p "$DIR"
RB=$PWD/target/release/runbook

echo "== 1. 10,000 SELECT 1"
cargo bench --quiet --bench pg_select1

echo "== 2. morning questions"
redis_port=${RUNBOOK_TEST_REDIS_URL##*:}; redis_port=${redis_port%%/*}
cat > "$DIR/runbook.toml" <<TOML
[postgres.main]
url = "$RUNBOOK_TEST_PG_URL"
[redis.cache]
url = "$RUNBOOK_TEST_REDIS_URL"
[postgres.scale50]
url = "${RUNBOOK_TEST_PG_URL%/*}/civicq50"
[fs]
roots = ["$DIR"]
TOML
cp bench/morning.rhai bench/pg-dump.rhai "$DIR/"
hyperfine -N --warmup 3 --runs 30 \
  -n 'psql + redis-cli (the manual)' "bash -c 'psql \"$RUNBOOK_TEST_PG_URL\" -c \"SELECT COUNT(*) as user_count FROM users;\" >/dev/null && redis-cli -p $redis_port -a redis-test-pw --no-auth-warning ping >/dev/null'" \
  -n 'runbook run morning' "$RB --config $DIR/runbook.toml run $DIR/morning.rhai"

echo "== 3. pg_dump at scale 50"
if [ "$(psql "${RUNBOOK_TEST_PG_URL%/*}/postgres" -Atc "SELECT count(*) FROM pg_database WHERE datname = 'civicq50'")" = 0 ]; then
  psql -q "${RUNBOOK_TEST_PG_URL%/*}/postgres" -c "CREATE DATABASE civicq50"
  PGOPTIONS="-c client_min_messages=error" psql -q -v ON_ERROR_STOP=1 -v scale=50 "${RUNBOOK_TEST_PG_URL%/*}/civicq50" -f ../shared/fixtures/civicq.sql
fi
hyperfine --runs 3 \
  -n 'pg_dump | gzip' "pg_dump '${RUNBOOK_TEST_PG_URL%/*}/civicq50' | gzip > $DIR/civicq50-shell.sql.gz" \
  -n 'runbook pg::dump' "$RB --config $DIR/runbook.toml run $DIR/pg-dump.rhai"
/usr/bin/time -f "runbook pg::dump peak RSS: %M KiB" "$RB" --config "$DIR/runbook.toml" run "$DIR/pg-dump.rhai" >/dev/null
ls -l "$DIR"/civicq50-*.sql.gz
