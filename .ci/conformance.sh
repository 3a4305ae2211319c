#!/usr/bin/env bash
# The third-party MCP conformance suite (server mode, Streamable HTTP) against our HTTP server, offline on
# 127.0.0.1, judged by .ci/conformance-baseline.json (expected failures need the suite's fixture server;
# the scenarios we pass are checked in checks.json, not only by exit code). Needs dist/ (npm ci builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Only what this run sets: no developer's key, token or host reaches the server.
unset BFL_API_KEY FLUX_FILL_HTTP_TOKEN FLUX_FILL_HTTP_HOST FLUX_FILL_HTTP_PORT FLUX_FILL_HTTP_ALLOWED_HOSTS FLUX_FILL_HTTP_ALLOWED_ORIGINS
export FLUX_FILL_PROVIDER=local FLUX_FILL_OUTPUT_DIR="$work/out"

# One saved result, so resources-list lists something real.
node dist/cli.js fill --image examples/scene.jpg --mask examples/scene-mask.png --provider local >/dev/null 2>"$work/fill.log" \
  || { cat "$work/fill.log"; exit 1; }

node dist/cli.js --http --host 127.0.0.1 --port 0 2>"$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/mcp' "$work/server.log" | head -1 || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "conformance: the HTTP server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

timeout 120 node node_modules/@modelcontextprotocol/conformance/dist/index.js server --url "$url" --suite active -o "$work/results" \
  --expected-failures .ci/conformance-baseline.json >"$work/suite.log" 2>&1 \
  || { cat "$work/suite.log"; exit 1; }
sed -n '/=== SUMMARY ===/,$p' "$work/suite.log"
node .ci/conformance-check.mjs .ci/conformance-baseline.json "$work/results"

# The 2026-07-28 server scenarios (conformance 0.2.0-alpha, installed as @modelcontextprotocol/conformance-2026),
# against the same server; that line needs Node >= 22 (fs.globSync), so it runs on the cached Node 24.
node24="$(bash .ci/node.sh 24)"
PATH="$(dirname "$node24"):$PATH" timeout 240 "$node24" node_modules/@modelcontextprotocol/conformance-2026/dist/index.js server --url "$url" \
  --requirements 2026-07-28 -o "$work/results-2026" --expected-failures .ci/conformance-2026-baseline.json \
  >"$work/suite-2026.log" 2>&1 || { cat "$work/suite-2026.log"; exit 1; }
sed -n '/=== SUMMARY ===/,$p' "$work/suite-2026.log" | tail -3
node .ci/conformance-check.mjs .ci/conformance-2026-baseline.json "$work/results-2026"

# A graceful stop: SIGTERM ends the server with exit code 0.
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || { echo "conformance: the server exited with $status on SIGTERM" >&2; cat "$work/server.log" >&2; exit 1; }
echo "conformance: server stopped cleanly on SIGTERM"
