#!/usr/bin/env bash
# API fuzzing: runs Schemathesis (pinned in tests/requirements.txt) against a fresh `vpcep serve`
# on 127.0.0.1, with the server's own OpenAPI document (GET /openapi.json) as the contract.
#
# Checks: no server errors, every status, content type, header and body as documented,
# schema-invalid requests rejected, authentication enforced, undocumented methods answered 405
# with a correct `Allow`, and the stateful checks along the document's links.
# `positive_data_acceptance` is off: valid-looking data still fails the rules JSON Schema cannot
# say (a service that does not exist, a connection of another service, a port mapped twice).
#
# Environment:
#   VPCEP_BIN                    the vpcep binary (default target/debug/vpcep; build it first)
#   VPCEP_SERVE_ARGS             extra `vpcep serve` flags, e.g. "--transition-delay 200ms"
#   SCHEMATHESIS_MAX_EXAMPLES    test cases per operation and phase (default 50)
#   SCHEMATHESIS_SEED            a seed, to replay a run (default: random, printed)
#   SCHEMATHESIS_WORKERS         concurrent workers (default 1: with more, Python 3.11's `ast`
#                                module, which Hypothesis calls from every worker thread, fails at
#                                random with "AST constructor recursion depth mismatch",
#                                CPython gh-106905)
#   SCHEMATHESIS_REPORT_DIR      when set, JUnit and HAR reports are written there
# Extra arguments are passed to `schemathesis run` (e.g. --include-operation-id CreateEndpoint).
# Exits non-zero when Schemathesis finds a failure. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

python=$(bash scripts/python-env.sh)
bin=${VPCEP_BIN:-target/debug/vpcep}
if [ ! -x "$bin" ]; then
  echo "schemathesis.sh: no vpcep binary at $bin (run \`cargo build\` or set VPCEP_BIN)" >&2
  exit 2
fi

# Whether a child process still runs (an exited child stays a zombie until waited for, and
# `kill -0` succeeds on a zombie).
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vpcep-schemathesis.XXXXXX")
server_pid=""
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "schemathesis.sh: vpcep did not stop within 20 s of SIGTERM; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
      status=1
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

db="sqlite://$tmp/vpcep.db"
json_field() { "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
credential=$(env -u VPCEP_DATABASE "$bin" credentials create --database "$db" --name schemathesis \
  2>"$tmp/credentials.err") || {
  echo "schemathesis.sh: vpcep credentials create failed:" >&2
  cat "$tmp/credentials.err" >&2
  exit 1
}
token=$(printf '%s' "$credential" | json_field token)
project_id=$(printf '%s' "$credential" | json_field project_id)

# The server's stdout goes to a file, so it can never block on a full pipe.
# shellcheck disable=SC2086 # VPCEP_SERVE_ARGS is a list of flags
env -u VPCEP_LISTEN -u VPCEP_DATABASE "$bin" serve --listen 127.0.0.1:0 --database "$db" \
  ${VPCEP_SERVE_ARGS:-} >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's|^vpcep listening on \(http://127\.0\.0\.1:[0-9][0-9]*\)$|\1|p' "$tmp/serve.out")
  [ -n "$base" ] && break
  if ! alive "$server_pid"; then
    echo "schemathesis.sh: vpcep serve exited before listening:" >&2
    cat "$tmp/serve.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "schemathesis.sh: vpcep serve printed no 'vpcep listening on http://127.0.0.1:PORT' in 30 s" >&2
  exit 1
fi
echo "== $("$bin" --version 2>/dev/null || echo vpcep) listening on $base (pid $server_pid)"

# The credential's project is fixed for every `project_id` path parameter: any other project is
# 403 before anything else is looked at, which would leave the operations untested. The token
# comes from the environment, so it is never written to disk.
cat >"$tmp/schemathesis.toml" <<EOF
base-url = "$base"
max-redirects = 0
request-timeout = 30

# Every run starts from a fresh database, so nothing is kept between runs (and nothing is written
# into the working tree).
[cache]
enabled = false

[auth.openapi.token]
api_key = "\${VPCEP_SCHEMATHESIS_TOKEN}"

[parameters]
"path.project_id" = "$project_id"

# Stateful scenarios follow the document's own links (create a service, then read, update,
# connect to and delete it). Links inferred from responses only dilute them: with inference on, a
# run covered 2 of 33 links; without, 14 of the 19 the document declares.
[phases.stateful]
max-steps = 20
inference.algorithms = []

[generation]
max-examples = ${SCHEMATHESIS_MAX_EXAMPLES:-50}
with-security-parameters = false
database = "none"

EOF

args=(
  --config-file "$tmp/schemathesis.toml"
  run "$base/openapi.json"
  --checks all
  --exclude-checks positive_data_acceptance
  --workers "${SCHEMATHESIS_WORKERS:-1}"
)
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then
  args+=(--seed "$SCHEMATHESIS_SEED")
fi
if [ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]; then
  mkdir -p "$SCHEMATHESIS_REPORT_DIR"
  args+=(--report junit,har --report-dir "$SCHEMATHESIS_REPORT_DIR")
fi

started=$(date +%s)
set +e
env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy \
  NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 VPCEP_SCHEMATHESIS_TOKEN="$token" \
  "$python" -m schemathesis.cli "${args[@]}" "$@"
status=$?
set -e
echo "== schemathesis finished in $(($(date +%s) - started)) s with exit status $status"
if ! alive "$server_pid"; then
  echo "schemathesis.sh: vpcep exited during the run" >&2
  status=1
elif grep -q "stopping: waiting for requests in flight" "$tmp/serve.err"; then
  echo "schemathesis.sh: vpcep received a stop signal during the run (not from this script)" >&2
  status=1
fi
if [ "$status" -ne 0 ] && [ -s "$tmp/serve.err" ]; then
  echo "== last lines of the server's log" >&2
  tail -n 20 "$tmp/serve.err" >&2
fi
exit "$status"
