#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: formatting, lints, unit and property tests,
# the black-box HTTP suite against real `vpcep` processes on SQLite and again on PostgreSQL, the
# official Python SDK suite on both, and API fuzzing with schemathesis.
#
# The Rust test binaries: tests/api runs once per backend (VPCEP_TEST_BACKEND); tests/sqlite.rs
# holds the SQLite-only tests and runs in the SQLite phase; tests/postgres.rs holds the
# PostgreSQL-only tests and runs in the PostgreSQL phase only (it fails without PostgreSQL).
#
# PostgreSQL: the suite creates and drops its own uniquely named databases on
# VPCEP_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432). When no PostgreSQL answers
# there, the run fails, unless VPCEP_SKIP_POSTGRES=1 is set (for machines without PostgreSQL).
# Set TEST_LOG=1 to see the servers' logs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prometheus's linter checks the /metrics output (tests/api/observability.rs); Debian's
# prometheus package carries it. Installed once; where it cannot be, the check is skipped loudly.
if ! command -v promtool >/dev/null 2>&1; then
  echo "== installing promtool (Debian's prometheus package)"
  { apt-get install -y -q --no-install-recommends prometheus \
      || { apt-get update -q && apt-get install -y -q --no-install-recommends prometheus; }; } \
    >/dev/null 2>&1 || true
fi
if command -v promtool >/dev/null 2>&1; then
  export VPCEP_REQUIRE_PROMTOOL=1
else
  echo "!! promtool could not be installed: the /metrics output is not checked by it" >&2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Every target of the workspace (what --all-targets selects) but the binaries that need
# PostgreSQL, which run in the PostgreSQL phase below: tests/postgres.rs (PostgreSQL only) and
# tests/store_rules.rs (both backends against the domain's rules, side by side).
pg_tests=(--test postgres --test store_rules)
sqlite_tests=()
for target in tests/*.rs tests/*/main.rs; do
  [ -e "$target" ] || continue
  name=$(basename "${target%/main.rs}" .rs)
  if [ "$name" != postgres ] && [ "$name" != store_rules ]; then
    sqlite_tests+=(--test "$name")
  fi
done
echo "== cargo test (SQLite): unit tests and ${sqlite_tests[*]}"
VPCEP_TEST_BACKEND=sqlite cargo test --workspace --locked --lib --bins --examples --benches \
  "${sqlite_tests[@]}"

pg="${VPCEP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
if [ "${VPCEP_SKIP_POSTGRES:-}" = "1" ]; then
  use_postgres=0
elif ! psql "$pg/postgres" -Atc 'SELECT 1' >/dev/null 2>&1; then
  echo "!! No PostgreSQL answers at $pg: the suite must also run on PostgreSQL." >&2
  echo "!! Start one there, point VPCEP_TEST_POSTGRES at one, or set VPCEP_SKIP_POSTGRES=1." >&2
  exit 1
else
  use_postgres=1
fi

if [ "$use_postgres" = 1 ]; then
  echo "== cargo test --test api ${pg_tests[*]} (PostgreSQL at $pg)"
  VPCEP_TEST_BACKEND=postgres VPCEP_TEST_POSTGRES="$pg" cargo test --locked --test api \
    "${pg_tests[@]}"
else
  echo "== PostgreSQL suite SKIPPED (VPCEP_SKIP_POSTGRES=1): tests/postgres.rs," \
    "tests/store_rules.rs, the api tests and the SDK suite on PostgreSQL do not run"
fi

if [ -f scripts/schemathesis.sh ]; then
  echo "== scripts/schemathesis.sh"
  bash scripts/schemathesis.sh
fi

bash scripts/browser-tests.sh

# The SDK suite runs last: its pytest summary (on PostgreSQL, or on SQLite when PostgreSQL is
# skipped) is the run's closing line.
echo "== scripts/sdk-tests.sh (SQLite)"
VPCEP_SDK_BACKEND=sqlite bash scripts/sdk-tests.sh
if [ "$use_postgres" = 1 ]; then
  echo "== scripts/sdk-tests.sh (PostgreSQL at $pg)"
  VPCEP_SDK_BACKEND=postgres VPCEP_TEST_POSTGRES="$pg" bash scripts/sdk-tests.sh
fi
