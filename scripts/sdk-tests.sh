#!/usr/bin/env bash
# The official-SDK tests: the Huawei Cloud Python SDK (huaweicloudsdkvpcep) against real `vpcep`
# processes on 127.0.0.1, one per test on a fresh database (tests/sdk/): a SQLite file, or with
# VPCEP_SDK_BACKEND=postgres a PostgreSQL database of its own on VPCEP_TEST_POSTGRES (default
# postgres://postgres@127.0.0.1:5432), created and dropped by the harness. Uses the pinned
# packages of tests/requirements.txt in target/py-venv (scripts/python-env.sh) and the binary at
# $VPCEP_BIN (default target/debug/vpcep, built by `cargo build` or `cargo test`).
# Extra arguments go to pytest, e.g. `bash scripts/sdk-tests.sh -k terraform -v`.
set -euo pipefail
cd "$(dirname "$0")/.."

export VPCEP_BIN="${VPCEP_BIN:-target/debug/vpcep}"
# No __pycache__ folders in the tree (pytest honours this for its rewritten modules too).
export PYTHONDONTWRITEBYTECODE=1
if [ ! -x "$VPCEP_BIN" ]; then
  echo "sdk-tests: no vpcep binary at $VPCEP_BIN (run \`cargo build\` or set VPCEP_BIN)" >&2
  exit 1
fi

backend="${VPCEP_SDK_BACKEND:-sqlite}"
case "$backend" in
  sqlite)
    on="SQLite"
    ;;
  postgres)
    pg="${VPCEP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
    if ! psql "${pg%/}/postgres" -Atc 'SELECT 1' >/dev/null 2>&1; then
      echo "sdk-tests: no PostgreSQL answers at $pg (VPCEP_TEST_POSTGRES), which VPCEP_SDK_BACKEND=postgres needs" >&2
      exit 1
    fi
    on="PostgreSQL at $pg"
    ;;
  *)
    echo "sdk-tests: VPCEP_SDK_BACKEND=$backend: expected sqlite or postgres" >&2
    exit 1
    ;;
esac

python=$(bash scripts/python-env.sh)

echo "== SDK tests (tests/sdk) against $VPCEP_BIN on $on"
exec "$python" -m pytest tests/sdk -q "$@"
