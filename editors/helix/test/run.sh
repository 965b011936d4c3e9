#!/usr/bin/env bash
# Runs the Helix tests: languages.toml checks and a replay of Helix's LSP traffic against the
# real switchboard-ls and the fake provider. Prints "helix: N passed, M failed".
#
#   editors/helix/test/run.sh
#
# Env: SWITCHBOARD_LS_PATH (default target/debug/switchboard-ls), SWITCHBOARD_FAKE_PROVIDER
# (default target/debug/examples/fake_provider), SWITCHBOARD_E2E_OUTAGE=0 to skip the outage
# diagnostics checks, CI=true to install what is missing (apt, as root) and to fail instead of skipping.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
editor_dir="$(dirname "$here")"
repo="$(cd "$editor_dir/../.." && pwd)"
ci="${CI:-}"

cannot_run() {
  if [ "$ci" = "true" ]; then
    echo "helix: FAILED (CI=true): $1" >&2
    echo "helix: 0 passed, 1 failed"
    exit 1
  fi
  cat >&2 <<MSG

############################################################################
##  SKIPPED: helix integration tests did not run
##  $1
##  (with CI=true this is a failure)
############################################################################

MSG
  exit 0
}

abs() {
  local path
  case "$1" in /*) path="$1" ;; *) path="$editor_dir/$1" ;; esac
  realpath -m "$path" 2>/dev/null || echo "$path"
}
ls_path="$(abs "${SWITCHBOARD_LS_PATH:-../../target/debug/switchboard-ls}")"
fake_path="$(abs "${SWITCHBOARD_FAKE_PROVIDER:-../../target/debug/examples/fake_provider}")"

# --- Python 3.11+ (tomllib), stdlib only ---------------------------------------------------------
has_python() { python3 -c 'import sys, tomllib; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if ! has_python && [ "$ci" = "true" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "helix: installing python3 with apt-get" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3; } >&2
fi
has_python || cannot_run "no python3 >= 3.11 (needed for tomllib)"

# --- the server and the fake provider ------------------------------------------------------------
if [ ! -x "$ls_path" ] || [ ! -x "$fake_path" ]; then
  if [ "$ci" = "true" ] && [ -z "${SWITCHBOARD_LS_PATH:-}${SWITCHBOARD_FAKE_PROVIDER:-}" ] \
    && command -v cargo >/dev/null; then
    echo "helix: building switchboard-ls and the fake provider" >&2
    (cd "$repo" && cargo build --quiet --bin switchboard-ls --example fake_provider) >&2
  fi
  if [ ! -x "$ls_path" ] || [ ! -x "$fake_path" ]; then
    # languages.toml can still be checked; the protocol replay cannot.
    python3 "$here/run_tests.py" test_languages_toml
    cannot_run "no switchboard-ls at $ls_path or no fake provider at $fake_path (cargo build --bin switchboard-ls --example fake_provider)"
  fi
fi

# --- run -----------------------------------------------------------------------------------------
echo "helix: server $ls_path, fake provider $fake_path, outage checks ${SWITCHBOARD_E2E_OUTAGE:-1}" >&2
export SWITCHBOARD_LS_PATH="$ls_path" SWITCHBOARD_FAKE_PROVIDER="$fake_path"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
timeout 300 python3 "$here/run_tests.py" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
if ! grep -q '^helix: [0-9]* passed, [0-9]* failed' "$out"; then
  echo "helix: the test runner stopped early (exit $status)" >&2
  echo "helix: 0 passed, 1 failed"
  exit 1
fi
exit "$status"
