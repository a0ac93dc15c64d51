#!/usr/bin/env bash
# Durability: kill -9 `bulwark serve` in the middle of a stream of writes, restart it on the
# same store, and check that every acknowledged write is there and the store is consistent.
# Usage: scripts/server/durability-check.sh [sqlite | postgres://USER:PASSWORD@HOST:PORT/DB]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${1:-sqlite}"
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
work="$(mktemp -d)"
port=18281
if [[ "$target" == sqlite ]]; then
  store="sqlite:$work/store.sqlite"
else
  db="bulwark_durability_$$"
  psql "$target" -qc "CREATE DATABASE $db" > /dev/null
  store="${target%/*}/$db"
fi
echo "durability-token" > "$work/token"
start() {
  # Started from a subshell so this shell does not report the kill -9 as a job event.
  (BULWARK_DATA_DIR="$work" "$bin" serve --port "$port" --store "$store" --admin-token-file "$work/token" \
    --decision-log none --log-level warning 2>> "$work/server.log" & echo $! > "$work/pid")
  server=$(cat "$work/pid")
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return; sleep 0.05; done
  echo "durability: the server did not become ready" >&2; cat "$work/server.log" >&2; exit 1
}
trap 'kill -9 $server 2> /dev/null || true; rm -rf "$work"' EXIT
start
scripts/server/setup-org.sh "http://127.0.0.1:$port" durability-token
python3 - "$port" "$server" "$work/acknowledged.json" <<'PY'
import json, os, signal, sys, threading, time, urllib.request, urllib.error
port, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
acknowledged, lock, stop = [], threading.Lock(), threading.Event()
doc = {"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["ims:images:share"]}]}
def call(method, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer durability-token", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status
def writer(n):
    i = 0
    while not stop.is_set():
        scp = f"d-{n}-{i}"
        try:
            if call("POST", "/v1/scps", {"id": scp, "document": doc}) == 201:
                with lock: acknowledged.append(["scp", scp])
            # A second write per SCP (a node holds at most 5 SCPs, so not an attachment): its update.
            if call("PUT", f"/v1/scps/{scp}", {"description": "updated"}) == 200:
                with lock: acknowledged.append(["update", scp])
        except urllib.error.HTTPError as e:
            print(f"durability: unexpected answer {e.code}: {e.read()[:300]}", file=sys.stderr)
            os._exit(1)
        except Exception:
            return  # the server is gone
        i += 1
threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
for t in threads: t.start()
time.sleep(2.5)
os.kill(pid, signal.SIGKILL)  # mid-stream: writes are in flight on every thread
stop.set()
for t in threads: t.join()
json.dump(acknowledged, open(out, "w"))
print(f"durability: killed the server with {len(acknowledged)} writes acknowledged")
PY
while kill -0 "$server" 2> /dev/null; do sleep 0.05; done
start
python3 - "$port" "$work/acknowledged.json" <<'PY'
import json, sys, urllib.request
port, acknowledged = int(sys.argv[1]), json.load(open(sys.argv[2]))
def get(path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer durability-token"})
    return json.load(urllib.request.urlopen(req, timeout=5))
scps = {s["id"]: s for s in get("/v1/scps")["scps"]}
updated = {k for k, s in scps.items() if s["description"] == "updated"}
missing = [k for kind, k in acknowledged if (kind == "scp" and k not in scps) or (kind == "update" and k not in updated)]
assert not missing, f"acknowledged writes lost: {missing[:10]}"
ours = [k for k in scps if k.startswith("d-")]
extra = len(ours) + len([k for k in updated if k.startswith("d-")]) - len(acknowledged)
assert 0 <= extra <= 4, f"{extra} unacknowledged writes present; at most one in flight per writer"
# Consistency: each committed write is one revision.
org = get("/v1/organization")
setup_writes = 9
committed = setup_writes + len(ours) + len([k for k in updated if k.startswith("d-")])
assert org["revision"] == committed, f"revision {org['revision']} but {committed} committed writes"
for k in ours[:50]:
    assert get(f"/v1/scps/{k}")["document"]["Statement"][0]["Effect"] == "Deny"
print(f"durability: after restart all {len(acknowledged)} acknowledged writes are present "
      f"({extra} more were committed but not acknowledged before the kill); revision {org['revision']} = committed writes")
PY
if [[ "$target" != sqlite ]]; then kill "$server"; while kill -0 "$server" 2> /dev/null; do sleep 0.05; done; psql "$target" -qc "DROP DATABASE $db" > /dev/null; fi
