#!/usr/bin/env bash
# The gateway tested with Huawei Cloud's official Python SDK: installs the pinned SDK
# packages, starts `bulwark gateway` on examples/gateway with the emulator as IMS and SWR,
# runs tests/sdk/test_gateway.py against it, and stops it. Then IAM's authorization-schema
# API of `bulwark emulator` with the SDK's IAM v5 client and `catalog pull` (tests/sdk/test_schemas.py),
# Access Analyzer's policy checks on `bulwark serve` with the SDK's client (tests/sdk/test_access_analyzer.py),
# the trace commands on trace files made with the CTS SDK's models (tests/sdk/test_traces.py), and
# pull, plan and the re-signing gateway against the emulated cloud built with the IAM v5,
# Organizations, CTS and IMS clients (tests/sdk/test_cloud.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m pip install -q --disable-pip-version-check -r tests/sdk/requirements.txt 2>&1 | grep -v "Running pip as the 'root' user" || true
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
port=18500
# Git does not keep file modes: the credentials file must be private before the gateway reads it.
cp examples/gateway/credentials.yaml "$work/credentials.yaml"
chmod 600 "$work/credentials.yaml"
"$bin" gateway --workspace examples/gateway/workspace --credentials "$work/credentials.yaml" \
  --listen "127.0.0.1:$port" --upstream ims=emulator --upstream swr=emulator \
  --emulator-data "$work/emulator.sqlite" --decision-log "$work/decisions.jsonl" --log-level warning 2> "$work/gateway.log" &
gateway=$!
# The same gateway with TLS (a throwaway self-signed certificate), for g:SecureTransport.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=127.0.0.1 2> /dev/null
"$bin" gateway --workspace examples/gateway/workspace --credentials "$work/credentials.yaml" \
  --listen "127.0.0.1:$((port + 1))" --upstream ims=emulator --upstream swr=emulator --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
  --decision-log none --log-level warning 2> "$work/gateway-tls.log" &
gateway_tls=$!
trap 'kill $gateway $gateway_tls 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/healthz" > /dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sfk "https://127.0.0.1:$((port + 1))/-/healthz" > /dev/null && break; sleep 0.1; done
BULWARK_GATEWAY="http://127.0.0.1:$port" BULWARK_GATEWAY_TLS="https://127.0.0.1:$((port + 1))" python3 tests/sdk/test_gateway.py
# Stop the gateway (SIGTERM flushes its decision log), then count what it logged.
kill -TERM "$gateway"; wait "$gateway" || true
echo "sdk-tests: $(wc -l < "$work/decisions.jsonl") decisions logged"

# IAM's authorization schemas: the emulator serves examples/catalogs and SWR's export to signed calls.
mkdir -p "$work/schemas"
cp examples/catalogs/*.json "$work/schemas/"
"$bin" catalog export --format huawei-schema --service swr > "$work/schemas/swr.json"
printf 'credentials:\n  - accessKey: PULLACCESSKEY0000001\n    secretKey: pull-secret-for-the-sdk-tests-only\n    principal: iam::0a1b2c:user:alice\n' > "$work/iam-keys.yaml"
chmod 600 "$work/iam-keys.yaml"
"$bin" emulator --listen "127.0.0.1:$((port + 10))" --schemas "$work/schemas" --credentials "$work/iam-keys.yaml" 2> "$work/emulator.log" &
emulator=$!
trap 'kill $gateway $gateway_tls $emulator 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$((port + 10))/" > /dev/null && break; sleep 0.1; done
BULWARK_EMULATOR="http://127.0.0.1:$((port + 10))" BULWARK_BIN="$bin" BULWARK_SCHEMAS="$work/schemas" python3 tests/sdk/test_schemas.py

# Huawei IAM Access Analyzer's policy checks on `bulwark serve`, with the SDK's Access Analyzer client.
echo "sdk-tests" > "$work/admin-token"
BULWARK_DATA_DIR="$work/serve" "$bin" serve --port "$((port + 20))" --admin-token-file "$work/admin-token" \
  --decision-log none --log-level warning 2> "$work/serve.log" &
server=$!
trap 'kill $gateway $gateway_tls $emulator $server 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((port + 20))/readyz" > /dev/null && break; sleep 0.1; done
BULWARK_SERVER="http://127.0.0.1:$((port + 20))" python3 tests/sdk/test_access_analyzer.py

# replay, unused and generate --traces on trace files made with the CTS SDK's models.
BULWARK_BIN="$bin" python3 tests/sdk/test_traces.py

# pull, plan and the gateway in front of a strict upstream (it starts its own emulators and gateways).
BULWARK_BIN="$bin" python3 tests/sdk/test_cloud.py
