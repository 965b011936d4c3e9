#!/usr/bin/env bash
# Runs every test: the Rust suite (unit, integration over stdio, CLI), the benchmark
# smoke run, and each editor integration's tests (which install their own tools).
# Usage: scripts/test-all.sh        (CI=true makes a missing editor tool a failure)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test"
mkdir -p target && cargo test --all-targets --locked 2>&1 | tee target/switchboard-cargo-test.log
cargo build --locked --bin switchboard-ls --example fake_provider

echo "== benchmark smoke run (reports figures, asserts no timings)"
SWITCHBOARD_BENCH_QUICK=1 cargo bench --locked --bench e2e
SWITCHBOARD_BENCH_QUICK=1 cargo bench --locked --bench outages

status=0
for runner in editors/*/test/run.sh; do
  [ -f "$runner" ] || continue
  echo "== $runner"
  if ! SWITCHBOARD_LS_PATH="$PWD/target/debug/switchboard-ls" \
       SWITCHBOARD_FAKE_PROVIDER="$PWD/target/debug/examples/fake_provider" \
       bash "$runner"; then
    echo "FAILED: $runner"
    status=1
  fi
done
exit $status
