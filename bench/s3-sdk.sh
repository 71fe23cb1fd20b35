#!/usr/bin/env bash
# The AWS SDK's cost and what it must not lose (docs/BENCHMARKS.md, "S3
# through the AWS SDK"): start-up of a script without S3, the first S3 call
# (a listing: the client made, credentials found, one request), and a
# 200 MB upload's wall time against `aws s3 cp` and boto3's upload_file,
# with every command's peak RSS. All against one s3s-fs server on loopback,
# in one hyperfine run per figure.
#
#   ./bench/s3-sdk.sh                 this checkout's release build
#   BEFORE=/path/to/runbook ./bench/s3-sdk.sh
#                                     and another build of runbook beside it
#                                     (the one before a change), same runs
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source dev/services.sh
RB_SERVICES_DIR=$(mktemp -d /tmp/runbook-bench-s3sdk.XXXXXX)
trap 'services_stop' EXIT
s3_start
command -v aws >/dev/null || python3 -m pip install -q awscli
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine
cargo build --release --quiet
# The interpreter itself, not pyenv's shim (a bash script, 140-235 ms).
PY=$(python3 -c 'import sys; print(sys.executable)')
"$PY" -c 'import boto3' 2>/dev/null || "$PY" -m pip install -q boto3
AWS=$(dirname "$PY")/aws
[ -x "$AWS" ] || AWS=$(command -v aws)
DIR=$RB_SERVICES_DIR/work
mkdir -p "$DIR" "$RUNBOOK_TEST_S3_ROOT/bench"
head -c 200000000 /dev/urandom > "$DIR/200m.bin"
cat > "$DIR/runbook.toml" <<TOML
[s3.bench]
bucket = "bench"
endpoint = "$RUNBOOK_TEST_S3_ENDPOINT"
access_key_id = "runbook-test-key"
secret_access_key = "runbook-test-secret"
[fs]
roots = ["$DIR"]
[history]
enabled = false
TOML
printf '// Upload 200 MB.\ns3::bucket("bench").put_file("%s/200m.bin", "200m-runbook.bin");\n' "$DIR" > "$DIR/put.rhai"
printf '// One listing.\nprint(s3::bucket("bench").list(#{prefix: "none/"}).len());\n' > "$DIR/list.rhai"
cat > "$DIR/boto.py" <<PY
import boto3
s3 = boto3.client("s3", endpoint_url="$RUNBOOK_TEST_S3_ENDPOINT", region_name="us-east-1")
s3.upload_file("$DIR/200m.bin", "bench", "200m-boto3.bin")
PY
export AWS_ACCESS_KEY_ID=runbook-test-key AWS_SECRET_ACCESS_KEY=runbook-test-secret AWS_DEFAULT_REGION=us-east-1
RB=$PWD/target/release/runbook
declare -a builds=("runbook=$RB")
[ -n "${BEFORE:-}" ] && builds=("before=$BEFORE" "${builds[@]}")

echo "== binary size"
for b in "${builds[@]}"; do printf '%-8s %s bytes\n' "${b%%=*}" "$(stat -c %s "${b#*=}")"; done

run_each() { # name-suffix script
  local args=()
  for b in "${builds[@]}"; do args+=(-n "${b%%=*} $1" "${b#*=} --config $DIR/runbook.toml run $2"); done
  printf '%s\n' "${args[@]}"
}
echo "== start-up: a script without S3"
mapfile -t a < <(run_each "print" bench/print.rhai)
hyperfine -N --warmup 20 --runs 200 "${a[@]}"
echo "== first S3 call: one listing"
mapfile -t a < <(run_each "list" "$DIR/list.rhai")
hyperfine -N --warmup 5 --runs 50 "${a[@]}"
echo "== 200 MB upload"
mapfile -t a < <(run_each "put_file" "$DIR/put.rhai")
hyperfine --warmup 1 --runs 5 \
  -n 'aws s3 cp' "$AWS --endpoint-url $RUNBOOK_TEST_S3_ENDPOINT s3 cp --quiet $DIR/200m.bin s3://bench/200m-aws.bin" \
  -n 'boto3 upload_file' "$PY $DIR/boto.py" \
  "${a[@]}"
echo "== peak RSS of the upload"
/usr/bin/time -f "aws s3 cp: %M KiB" "$AWS" --endpoint-url "$RUNBOOK_TEST_S3_ENDPOINT" s3 cp --quiet "$DIR/200m.bin" s3://bench/200m-aws.bin
/usr/bin/time -f "boto3 upload_file: %M KiB" "$PY" "$DIR/boto.py"
for b in "${builds[@]}"; do
  /usr/bin/time -f "${b%%=*} put_file: %M KiB" "${b#*=}" --config "$DIR/runbook.toml" run "$DIR/put.rhai" >/dev/null
done
