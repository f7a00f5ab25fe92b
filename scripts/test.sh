#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: formatting, lints, unit tests and the
# black-box tests that drive real `vpcep` processes over HTTP on fresh SQLite files.
# Set TEST_LOG=1 to see the servers' logs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --locked --all-targets
