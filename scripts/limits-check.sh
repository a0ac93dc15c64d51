#!/usr/bin/env bash
# Shows the limits of SPEC §7/§9 holding under load, briefly (about 30 s): a gateway flooded with
# 60 MB bodies (unsigned, and with a known access key), /healthz on the server while 2,000
# connections idle, and an oversized batch. See scripts/limits/check.py for the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
gateway_port=18700
server_port=18701
cp examples/gateway/credentials.yaml "$work/credentials.yaml"
chmod 600 "$work/credentials.yaml"
"$bin" gateway --workspace examples/gateway/workspace --credentials "$work/credentials.yaml" \
  --listen "127.0.0.1:$gateway_port" --upstream ims=emulator --upstream swr=emulator \
  --emulator-data "$work/emulator.sqlite" --decision-log none --log-level warning 2> "$work/gateway.log" &
gateway=$!
"$bin" serve --data-dir "$work/server" --port "$server_port" --decision-log none --log-level warning 2> "$work/server.log" &
server=$!
trap 'kill $gateway $server 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gateway_port/-/healthz" > /dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$server_port/readyz" > /dev/null && break; sleep 0.1; done
python3 scripts/limits/check.py "$gateway_port" "$gateway" "$server_port"
