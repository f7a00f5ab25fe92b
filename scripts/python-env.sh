#!/usr/bin/env bash
# Creates (or reuses) the test suite's Python virtual environment in target/py-venv with the
# packages pinned in tests/requirements.txt, and prints its python. Idempotent: it reinstalls only
# when the requirements change. Needs nothing but python3 and the package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-venv
req=tests/requirements.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing $req into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
