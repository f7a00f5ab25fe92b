#!/usr/bin/env bash
# The browser tests (tests/browser/): the console at /console/ driven in Debian's Chromium by
# playwright-core (which downloads no browser), and console/sign.js against the official SDK's
# signing vectors. Idempotent: installs Chromium with apt-get when /usr/bin/chromium is missing
# (apt-get update only if the install fails), runs `npm ci` when tests/browser/node_modules is
# missing or older than package-lock.json, builds vpcep, then runs `node --test`.
# Where no browser can be installed, it says why ("SKIPPED: ...") and exits 0.
# VPCEP_BIN overrides the binary (default: the debug build in CARGO_TARGET_DIR, else target/).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== scripts/browser-tests.sh: the console in Chromium (tests/browser)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

skip() {
  echo "SKIPPED: no browser can be installed: $1"
  # The signer's vectors need no browser (nor npm packages): they still run where node does.
  if command -v node >/dev/null 2>&1; then
    echo "-- console/sign.js against the SDK's vectors only"
    (cd tests/browser && node --test ./sign.test.mjs) || exit 1
  fi
  exit 0
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 126
  fi
}

apt_install() {
  # Waits for another apt/dpkg run to release its lock instead of failing at once.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o DPkg::Lock::Timeout=900 "$@"
}

if [ ! -x "$CHROMIUM" ]; then
  command -v apt-get >/dev/null 2>&1 || skip "$CHROMIUM is missing and there is no apt-get"
  as_root true || skip "$CHROMIUM is missing and installing needs root (no root, no sudo)"
  log=$(mktemp)
  echo "-- installing chromium with apt-get"
  if ! apt_install chromium >"$log" 2>&1; then
    echo "-- apt-get install failed; apt-get update, then once more"
    if ! { as_root apt-get update -o DPkg::Lock::Timeout=900 && apt_install chromium; } >"$log" 2>&1; then
      skip "apt-get install chromium failed: $(tail -n 1 "$log")"
    fi
  fi
  rm -f "$log"
  [ -x "$CHROMIUM" ] || skip "apt-get installed chromium but $CHROMIUM is not there"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "-- installing nodejs and npm with apt-get"
  apt_install nodejs npm >/dev/null || { as_root apt-get update >/dev/null && apt_install nodejs npm >/dev/null; }
fi

(
  cd tests/browser
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
    || [ package.json -nt node_modules/.package-lock.json ]; then
    echo "-- npm ci (tests/browser)"
    npm ci --no-audit --no-fund
  fi
)

cargo build --locked
target_dir=$(realpath "${CARGO_TARGET_DIR:-target}")
export VPCEP_BIN="${VPCEP_BIN:-$target_dir/debug/vpcep}"

cd tests/browser
node --test ./*.test.mjs
