#!/usr/bin/env bash
# Graceful shutdown: SIGTERM while decisions are being made ends `bulwark serve` with exit
# code 0, and every decision answered is in the decision log (flushed on the way out).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
port=18381
BULWARK_DATA_DIR="$work" "$bin" serve --port "$port" --decision-log "$work/decisions.jsonl" 2> "$work/server.log" &
server=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.05; done
body='{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get"]}]}],"request":{"action":"ims:images:get"}}'
answered=0
for _ in $(seq 50); do
  curl -sf -X POST "http://127.0.0.1:$port/v1/authorize" -d "$body" | grep -q '"decision":"allow"' && answered=$((answered + 1))
done
kill -TERM "$server"
status=0
wait "$server" || status=$?
logged=$(wc -l < "$work/decisions.jsonl")
echo "shutdown: exit code $status after SIGTERM; $answered decisions answered, $logged in the decision log"
[[ "$status" == 0 && "$answered" == 50 && "$logged" == 50 ]]
