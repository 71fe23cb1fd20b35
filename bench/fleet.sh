#!/usr/bin/env bash
# Fleets (docs/BENCHMARKS.md, "Fleets"): fan-out and the shared history.
#
# 1. `runbook run --on GROUP --forks N`: 24 targets, each run waiting 1 s
#    on PostgreSQL (pg_sleep), at --forks 8, 12 and 24, beside one target
#    alone: the wall time should be ceil(24 / forks) × one target's.
# 2. A fleet's history on PostgreSQL: 1,000 hosts × 30 scripts × a year of
#    daily runs (10.95 million rows, made by generate_series, then one real
#    run so the table of last runs is as runbook keeps it), and
#    `runbook history --hosts` and `runbook history SCRIPT` against it.
#
#   ./bench/fleet.sh            both
#   ./bench/fleet.sh forks      only the first
#   ./bench/fleet.sh each       fleet::each in one script, and a loop
#   ./bench/fleet.sh history    only the second (about 4 minutes to fill)
set -euo pipefail
cd "$(dirname "$0")/.."
# Starts throw-away servers (dev/services.sh) unless RUNBOOK_TEST_PG_URL is set.
if [ -z "${RUNBOOK_TEST_PG_URL:-}" ]; then
  # shellcheck source=/dev/null
  source dev/services.sh
  trap services_stop EXIT
  services_start
fi
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine
cargo build --release --quiet
RB=$PWD/target/release/runbook
DIR=$(mktemp -d /tmp/runbook-bench-fleet.XXXXXX)
what=${1:-all}

if [ "$what" = all ] || [ "$what" = forks ]; then
  {
    for i in $(seq -w 1 24); do
      printf '[postgres.app-%s]\nurl = "%s"\ngroup = "app"\n\n' "$i" "$RUNBOOK_TEST_PG_URL"
    done
    printf '[postgres.one]\nurl = "%s"\ngroup = "one"\n\n[history]\nenabled = false\n' "$RUNBOOK_TEST_PG_URL"
  } > "$DIR/runbook.toml"
  cat > "$DIR/wait.rhai" <<'RHAI'
// One second on the database.
// param database: string = main  [postgres.NAME] target
check("waited", || pg::connect(database).query("SELECT pg_sleep(1)").len() == 1);
RHAI
  cd "$DIR"
  hyperfine --warmup 1 --runs 3 \
    -n "1 target" "$RB run ./wait.rhai --on one" \
    -n "24 targets, --forks 8" "$RB run ./wait.rhai --on app --forks 8" \
    -n "24 targets, --forks 12" "$RB run ./wait.rhai --on app --forks 12" \
    -n "24 targets, --forks 24" "$RB run ./wait.rhai --on app --forks 24"
  cd - >/dev/null
fi

# 1b. The same inside one script: fleet::each, a closure per target on
#     threads of one process, against the loop a script writes without it.
if [ "$what" = all ] || [ "$what" = each ]; then
  [ -f "$DIR/runbook.toml" ] || {
    for i in $(seq -w 1 24); do
      printf '[postgres.app-%s]\nurl = "%s"\ngroup = "app"\n\n' "$i" "$RUNBOOK_TEST_PG_URL"
    done
    printf '[history]\nenabled = false\n'
  } > "$DIR/runbook.toml"
  for forks in 8 24; do
    cat > "$DIR/each-$forks.rhai" <<RHAI
// 24 targets, one second each, $forks at once.
fleet::each("app", #{forks: $forks}, |name| check("waited", || pg::connect(name).query("SELECT pg_sleep(1)").len() == 1));
RHAI
  done
  cat > "$DIR/loop-3.rhai" <<'RHAI'
// Three targets one after the other, as a loop does.
for name in config::targets("postgres", "app").extract(0, 3) {
    check(name, || pg::connect(name).query("SELECT pg_sleep(1)").len() == 1);
}
RHAI
  cat > "$DIR/each-3.rhai" <<'RHAI'
// The same three, fleet::each.
fleet::each(config::targets("postgres", "app").extract(0, 3), |name| check("waited", || pg::connect(name).query("SELECT pg_sleep(1)").len() == 1));
RHAI
  cd "$DIR"
  hyperfine --warmup 1 --runs 3 \
    -n "3 targets, a for loop" "$RB run ./loop-3.rhai" \
    -n "3 targets, fleet::each" "$RB run ./each-3.rhai" \
    -n "24 targets, fleet::each forks 8" "$RB run ./each-8.rhai" \
    -n "24 targets, fleet::each forks 24" "$RB run ./each-24.rhai"
  cd - >/dev/null
fi

if [ "$what" = all ] || [ "$what" = history ]; then
  DB=rb_fleet_bench
  psql -q "$RUNBOOK_TEST_PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB OWNER civicq"
  URL="${RUNBOOK_TEST_PG_URL%/*}/$DB"
  printf '[history]\nurl = "%s"\n' "$URL" > "$DIR/history.toml"
  printf '// One run, to make the tables.\nok("made");\n' > "$DIR/made.rhai"
  "$RB" --config "$DIR/history.toml" run "$DIR/made.rhai" > /dev/null
  echo "== filling: 1,000 hosts × 30 scripts × 365 days"
  time psql -q "$URL" <<'SQL'
INSERT INTO runbook_runs (script, params, host, started_at, duration_ms, status, exit_code, dry_run, report_json, report_text)
SELECT 'script-' || s, '{}', 'web' || h, now() - make_interval(days => d, secs => h + s * 60),
       200 + (h * s) % 900, CASE WHEN (h + s + d) % 97 = 0 THEN 'CRITICAL' ELSE 'OK' END,
       CASE WHEN (h + s + d) % 97 = 0 THEN 2 ELSE 0 END, false,
       '{"sections":[{"title":null,"checks":[{"name":"fine","level":"ok","message":"","duration_ms":1}],"metrics":[],"lines":[]}]}',
       '✓ fine'
FROM generate_series(1, 1000) h, generate_series(1, 30) s, generate_series(0, 364) d;
DELETE FROM runbook_latest;
INSERT INTO runbook_latest (host, target, script, run_id, started_at, status, exit_code)
SELECT DISTINCT ON (host, target, script) host, target, script, id, started_at, status, exit_code
FROM runbook_runs WHERE NOT dry_run ORDER BY host, target, script, started_at DESC, id DESC;
VACUUM ANALYZE runbook_runs;
VACUUM ANALYZE runbook_latest;
SQL
  psql -Atq "$URL" -c "SELECT count(*) || ' runs, ' || pg_size_pretty(pg_total_relation_size('runbook_runs')) FROM runbook_runs"
  # A real run's write: the insert, its last-run row and the retention.
  hyperfine --warmup 2 --runs 20 \
    -n "history --hosts (30,001 cells)" "$RB --config $DIR/history.toml history --hosts" \
    -n "history script-7 (50 newest of 365,000)" "$RB --config $DIR/history.toml history script-7" \
    -n "history --host web500" "$RB --config $DIR/history.toml history --host web500" \
    -n "a run recorded (made.rhai)" "$RB --config $DIR/history.toml run $DIR/made.rhai"
  [ -n "${KEEP:-}" ] || psql -q "$RUNBOOK_TEST_PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB"
fi
