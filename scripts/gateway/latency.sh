#!/usr/bin/env bash
# What the gateway adds: the same IMS call (GET /v2/cloudimages) straight to the emulator and
# through `bulwark gateway` (signed by Huawei's Python SDK signer, checked, decided, forwarded
# over HTTP to the emulator). One connection, so latencies are not queueing. Needs wrk.
# Usage: scripts/gateway/latency.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-5}"
command -v wrk > /dev/null || { echo "latency: install wrk (apt-get install -y wrk)" >&2; exit 2; }
python3 -m pip install -q --disable-pip-version-check -r tests/sdk/requirements.txt 2>&1 | grep -v "Running pip as the 'root' user" || true
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
cp examples/gateway/credentials.yaml "$work/credentials.yaml"; chmod 600 "$work/credentials.yaml"
"$bin" emulator --listen 127.0.0.1:18600 --data "$work/emulator.sqlite" 2> /dev/null &
emulator=$!
"$bin" gateway --workspace examples/gateway/workspace --credentials "$work/credentials.yaml" --listen 127.0.0.1:18601 \
  --upstream ims=http://127.0.0.1:18600 --upstream swr=http://127.0.0.1:18600 --decision-log none --log-level warning 2> /dev/null &
gateway=$!
trap 'kill $emulator $gateway 2> /dev/null || true; rm -rf "$work"' EXIT
for port in 18600 18601; do
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/" > /dev/null && break; sleep 0.1; done
done
python3 - "$work/signed.lua" <<'PY'
import sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
request = SdkRequest(method="GET", schema="http", host="127.0.0.1:18601", resource_path="/v2/cloudimages", uri="/v2/cloudimages",
                     query_params=[], header_params={"Content-Type": "application/json", "X-Project-Id": "p"}, body=b"")
Signer(BasicCredentials("ALICEACCESSKEY000001", "alice-secret-key-for-the-example-only", "p")).sign(request)
lines = ['wrk.method = "GET"'] + [f'wrk.headers["{k}"] = "{v}"' for k, v in request.header_params.items() if k != "Host"]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
measure() {
  wrk -t1 -c1 -d"${seconds}s" --latency "$@" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(p):
    v, unit = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, text).groups()
    return float(v) / 1000 if unit == "us" else float(v) * 1000 if unit == "s" else float(v)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if non2xx: sys.exit("non-2xx answers: " + non2xx.group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{ms(50):.3f} {ms(99):.3f} {rps:.0f}")'
}
read -r d50 d99 drps < <(measure "http://127.0.0.1:18600/v2/cloudimages")
read -r g50 g99 grps < <(measure -s "$work/signed.lua" "http://127.0.0.1:18601/v2/cloudimages")
inside=$(curl -s http://127.0.0.1:18601/-/metrics | python3 -c '
import re, sys
t = sys.stdin.read()
total = float(re.search(r"bulwark_gateway_added_latency_seconds_sum (\S+)", t).group(1))
n = float(re.search(r"bulwark_gateway_added_latency_seconds_count (\S+)", t).group(1))
buckets = [(float(le), float(c)) for le, c in re.findall(r"bulwark_gateway_added_latency_seconds_bucket\{le=\"([\d.e+-]+)\"\} (\S+)", t)]
def quantile(q):
    return next((f"<= {le * 1e6:.0f} µs" for le, c in buckets if c >= q * n), "> 25 ms")
print(f"mean {total / n * 1e6:.0f} µs, p50 {quantile(0.5)}, p99 {quantile(0.99)} over {n:.0f} calls")')
echo "GET /v2/cloudimages, 1 connection, ${seconds}s each, $(nproc) cores:"
echo "  straight to the emulator:  p50 ${d50} ms  p99 ${d99} ms  (${drps}/s)"
echo "  through the gateway:       p50 ${g50} ms  p99 ${g99} ms  (${grps}/s)"
python3 -c "print(f'  added by the gateway:      p50 {float(\"$g50\") - float(\"$d50\"):.3f} ms  p99 {float(\"$g99\") - float(\"$d99\"):.3f} ms')"
echo "  authentication + authorization inside the gateway: $inside"
