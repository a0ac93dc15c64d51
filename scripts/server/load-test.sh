#!/usr/bin/env bash
# Load test of `bulwark serve` on loopback with wrk: single and batch authorize for a stored
# principal. Prints decisions per second and latency percentiles. Needs wrk (Debian package).
# Usage: scripts/server/load-test.sh [SECONDS]  (release build; the decision log is off)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
command -v wrk > /dev/null || { echo "load-test: install wrk (apt-get install -y wrk)" >&2; exit 2; }
swift build -c release --product bulwark > /dev/null
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
port=18181
BULWARK_DATA_DIR="$work" "$bin" serve --port "$port" --decision-log none --log-level warning 2> "$work/server.log" &
server=$!
trap 'kill $server 2> /dev/null; wait $server 2> /dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
scripts/server/setup-org.sh "http://127.0.0.1:$port" "$(cat "$work/admin-token")"

cat > "$work/single.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1","context":{"g:SourceIp":"10.1.2.3"}}}'
LUA
python3 - "$work/batch.lua" <<'PY'
import json, sys
requests = []
for i in range(100):
    action = ["ims:images:get", "ims:images:share", "swr:repo:upload", "ims:images:delete"][i % 4]
    resource = "swr:cn-north-4:0a1b2c:repo:team-a/app%d" % i if action.startswith("swr") else "ims:cn-north-4:0a1b2c:image:img-%d" % i
    requests.append({"action": action, "resource": resource, "context": {"g:SourceIp": "10.1.2.%d" % (i % 250)}})
body = json.dumps({"principal": "iam::0a1b2c:user:alice", "requests": requests}, separators=(",", ":"))
open(sys.argv[1], "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' % body)
PY

run() {
  local name="$1" script="$2" per="$3"
  wrk -t1 -c"${CONNECTIONS:-8}" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:$port/v1/authorize" > "$work/$name.txt"
  python3 - "$work/$name.txt" "$name" "$per" <<'PY'
import re, sys
text, name, per = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def pct(p):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{name:7s} {rps:10.0f} HTTP requests/s  {rps * per:11.0f} decisions/s  p50 {pct(50):.2f} ms  p99 {pct(99):.2f} ms"
      + (f"  NON-2XX {errors.group(1)}" if errors else ""))
sys.exit(1 if errors else 0)
PY
}
echo "bulwark serve on $(nproc) cores, wrk 1 thread ${CONNECTIONS:-8} connections, ${seconds}s each:"
# The HTTP stack's own ceiling on this machine, for comparison: a route that does nothing.
wrk -t1 -c"${CONNECTIONS:-8}" -d"${seconds}s" "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/ {printf "healthz %10.0f HTTP requests/s  (no decision: the HTTP stack alone)\n", $2}'
run single "$work/single.lua" 1
run batch "$work/batch.lua" 100
