#!/usr/bin/env bash
# rhai's fast operators off (engine::build), which lets host/mixing.rs turn
# `5 > "3"` into an error: the shipped binary against one built with the
# line removed, on a pure-Rhai arithmetic loop and on start-up, in one
# hyperfine run each. Figures go to docs/BENCHMARKS.md. Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git worktree add --quiet --detach "$work/fast" HEAD
trap 'git worktree remove --force "$work/fast"; rm -rf "$work"' EXIT
sed -i 's/^    engine.set_fast_operators(false);$//' "$work/fast/src/engine/mod.rs"
(cd "$work/fast" && cargo build --release --quiet --target-dir "$work/target")
printf '[history]\nenabled = false\n' > "$work/ab.toml"
fast="$work/target/release/runbook --config $work/ab.toml"
shipped="target/release/runbook --config $work/ab.toml"
hyperfine -N --warmup 1 --runs 10 "$fast run bench/arith.rhai" "$shipped run bench/arith.rhai"
hyperfine -N --warmup 5 --runs 50 "$fast run bench/print.rhai" "$shipped run bench/print.rhai"
