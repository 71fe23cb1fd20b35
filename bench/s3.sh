#!/usr/bin/env bash
# s3::put_file of a 1 GiB file (docs/BENCHMARKS.md): wall time against the
# AWS CLI (`aws s3 cp`, from PyPI) uploading the same file to the same
# s3s-fs server, in one hyperfine run; peak RSS of both.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source dev/services.sh
RB_SERVICES_DIR=$(mktemp -d /tmp/runbook-bench-s3.XXXXXX)
trap 'services_stop' EXIT
s3_start
command -v aws >/dev/null || python3 -m pip install -q awscli
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine
cargo build --release --quiet
DIR=$RB_SERVICES_DIR/work
mkdir -p "$DIR" "$RUNBOOK_TEST_S3_ROOT/bench"
head -c 1073741824 /dev/urandom > "$DIR/1g.bin"
cat > "$DIR/runbook.toml" <<TOML
[s3.bench]
bucket = "bench"
endpoint = "$RUNBOOK_TEST_S3_ENDPOINT"
access_key_id = "runbook-test-key"
secret_access_key = "runbook-test-secret"
[fs]
roots = ["$DIR"]
TOML
printf '// Upload 1 GiB.\ns3::bucket("bench").put_file("%s/1g.bin", "1g-runbook.bin");\n' "$DIR" > "$DIR/put.rhai"
export AWS_ACCESS_KEY_ID=runbook-test-key AWS_SECRET_ACCESS_KEY=runbook-test-secret AWS_DEFAULT_REGION=us-east-1
RB=$PWD/target/release/runbook
hyperfine --runs 5 --warmup 1 \
  -n 'aws s3 cp (AWS CLI)' "aws --endpoint-url $RUNBOOK_TEST_S3_ENDPOINT s3 cp --quiet $DIR/1g.bin s3://bench/1g-aws.bin" \
  -n 'runbook s3 put_file' "$RB --config $DIR/runbook.toml run $DIR/put.rhai"
/usr/bin/time -f "aws s3 cp peak RSS: %M KiB" aws --endpoint-url "$RUNBOOK_TEST_S3_ENDPOINT" s3 cp --quiet "$DIR/1g.bin" s3://bench/1g-aws.bin
/usr/bin/time -f "runbook put_file peak RSS: %M KiB" "$RB" --config "$DIR/runbook.toml" run "$DIR/put.rhai" >/dev/null
