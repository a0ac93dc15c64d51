"""Shows that the limits of SPEC §7 and §9 hold under load (run by scripts/limits-check.sh).

1. Gateway: 16 concurrent unsigned 60 MB POSTs, then 16 concurrent 60 MB POSTs with a known
   access key and a fresh date (past the header checks, so their bodies are read up to the
   per-call and in-flight caps). Reports the gateway's peak RSS (VmHWM) against its RSS before.
2. Server: /healthz latency while 2,000 idle connections are open.
3. Server: a batch of 10,001 requests is refused (413) quickly, with a small answer.
Prints one line per figure and exits non-zero when a bound does not hold.
"""
import json
import os
import socket
import statistics
import sys
import threading
import time
from datetime import datetime, timezone

GATEWAY_PORT, GATEWAY_PID, SERVER_PORT = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
failures = []


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def post_big(port, headers, size, results, chunked=False):
    body = b" " * size
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = f"POST /v2/cloudimages/action HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
        s.sendall(head.encode())
        try:
            if chunked:
                step = 1 << 20
                for i in range(0, size, step):
                    part = body[i:i + step]
                    s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            else:
                s.sendall(body)
        except OSError:
            pass  # the gateway answered and closed before the whole body was sent
        answer = s.recv(200).decode("latin-1")
        results.append(answer.split(" ", 2)[1] if answer.startswith("HTTP/1.1") else "closed")
        s.close()
    except OSError as e:
        results.append(f"error {e.__class__.__name__}")


def flood(port, headers, chunked):
    results, threads = [], []
    start = time.time()
    for _ in range(16):
        t = threading.Thread(target=post_big, args=(port, headers, 60 << 20, results, chunked))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return sorted(results), time.time() - start


before = rss_kib(GATEWAY_PID, "VmRSS")
statuses, took = flood(GATEWAY_PORT, {}, chunked=False)
after_unsigned = rss_kib(GATEWAY_PID, "VmHWM")
print(f"gateway: 16 unsigned 60 MB POSTs → {statuses} in {took:.1f}s; RSS before {before // 1024} MiB, peak {after_unsigned // 1024} MiB")
if any(s not in ("401", "closed") for s in statuses):
    failures.append(f"unsigned flood answered {statuses}")

stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
keyed = {"X-Sdk-Date": stamp,
         "Authorization": "SDK-HMAC-SHA256 Access=ALICEACCESSKEY000001, SignedHeaders=content-type;host;x-sdk-date, Signature=" + "0" * 64}
statuses, took = flood(GATEWAY_PORT, keyed, chunked=False)
print(f"gateway: 16 keyed 60 MB POSTs with Content-Length → {statuses} in {took:.1f}s")
statuses, took = flood(GATEWAY_PORT, keyed, chunked=True)
peak = rss_kib(GATEWAY_PID, "VmHWM")
print(f"gateway: 16 keyed 60 MB chunked POSTs → {statuses} in {took:.1f}s; peak RSS {peak // 1024} MiB (before the floods {before // 1024} MiB)")
if peak - before > 200 * 1024:
    failures.append(f"gateway peak RSS grew by {(peak - before) // 1024} MiB")

# 2. /healthz while 2,000 idle connections are open.
idle = []
for _ in range(2000):
    idle.append(socket.create_connection(("127.0.0.1", SERVER_PORT)))
latencies = []
for _ in range(200):
    start = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", SERVER_PORT), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = s.recv(100)
    s.close()
    latencies.append((time.perf_counter() - start) * 1000)
    if not answer.startswith(b"HTTP/1.1 200"):
        failures.append(f"/healthz answered {answer[:40]!r} with idle connections open")
        break
latencies.sort()
p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
print(f"server: /healthz with 2,000 idle connections open: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(latencies)} requests")
for s in idle:
    s.close()
if p99 > 1000:
    failures.append(f"/healthz p99 {p99:.0f} ms with idle connections open")

# 3. An oversized batch.
requests_ = ",".join(['{"action":"ims:images:get"}'] * 10_001)
body = ('{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]}]}],"requests":[' + requests_ + "]}").encode()
start = time.perf_counter()
s = socket.create_connection(("127.0.0.1", SERVER_PORT), timeout=30)
s.sendall(f"POST /v1/authorize/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
answer = b""
while chunk := s.recv(65536):
    answer += chunk
took = (time.perf_counter() - start) * 1000
status = answer.split(b" ", 2)[1].decode()
print(f"server: a batch of 10,001 requests ({len(body)} bytes) → {status} in {took:.0f} ms, {len(answer)} bytes answered")
if status != "413" or len(answer) > 2000:
    failures.append(f"oversized batch answered {status} with {len(answer)} bytes")

if failures:
    print("limits check FAILED: " + "; ".join(failures))
    sys.exit(1)
print("limits check passed")
