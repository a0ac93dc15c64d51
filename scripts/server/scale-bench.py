#!/usr/bin/env python3
"""The server at scale (issue 18): builds an organization of N users, then measures single
writes, a root SCP change, memory per user and restart to ready. Half the users share their
group's policy, half have a policy of their own. Up to 2,000 users the organization is built
through individual management API calls with 8 concurrent clients (and the write rate is
reported); above that it is seeded with one PUT /v1/organization/import (and its time reported).

Usage: scripts/server/scale-bench.py BULWARK_BINARY [USERS ...]   (e.g. 100 2000 20000)
Prints one JSON object per size on stdout; progress on stderr. Needs only Python 3.
"""
import http.client, json, os, queue, shutil, statistics, subprocess, sys, tempfile, threading, time

ACCOUNTS = 20
CLIENTS = 8


class Server:
    def __init__(self, binary, data, port):
        self.binary, self.data, self.port = binary, data, port
        self.process = None

    def start(self):
        began = time.monotonic()
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), "--data-dir", self.data, "--decision-log", "none", "--log-level", "warning"],
            stderr=open(os.path.join(self.data, "server.log"), "a"))
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return time.monotonic() - began
            except OSError:
                pass
            if self.process.poll() is not None:
                sys.exit("scale-bench: the server exited; see " + os.path.join(self.data, "server.log"))
            time.sleep(0.02)

    def stop(self):
        self.process.terminate()
        self.process.wait()

    def rss_kb(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


class Client:
    def __init__(self, port, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        began = time.monotonic()
        self.connection.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        response = self.connection.getresponse()
        text = response.read()
        if response.status >= 300:
            sys.exit(f"scale-bench: {method} {path} answered {response.status}: {text[:300]!r}")
        return time.monotonic() - began


def policy(i):
    return {"Version": "5.0", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"], "Resource": [f"ims:*:*:image:img-{i}-*"]},
        {"Effect": "Allow", "Action": ["swr:repo:download"], "Resource": [f"swr:*:*:repo:team-{i % 50}/*"],
         "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}]}


def run_parallel(port, token, calls, label):
    """Runs (method, path, body) calls on CLIENTS connections; returns writes per second."""
    work = queue.Queue()
    for c in calls:
        work.put(c)
    total = len(calls)
    done = [0]
    lock = threading.Lock()

    def worker():
        client = Client(port, token)
        while True:
            try:
                method, path, body = work.get_nowait()
            except queue.Empty:
                return
            client.call(method, path, body)
            with lock:
                done[0] += 1
                if done[0] % 2000 == 0:
                    print(f"  {label}: {done[0]}/{total}", file=sys.stderr)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total / (time.monotonic() - began)


def workspace_files(users):
    """The same organization as the API build, as the files of an import body."""
    accounts = "\n".join(f"  - {{name: acct{a}, id: \"{a:06x}\", parent: ou{a}}}" for a in range(ACCOUNTS))
    ous = "\n".join(f"  - {{name: ou{a}, id: ou-{a}, parent: root}}" for a in range(ACCOUNTS))
    files = {
        "organization.yaml": f"organization: {{id: o-1, rootId: r-1, scpsEnabled: true}}\nous:\n{ous}\naccounts:\n{accounts}\n"
                             "scpAttachments:\n  - {scp: guard, targets: [root]}\n",
        "scps/guard.json": json.dumps({"Version": "5.0", "Statement": [
            {"Effect": "Allow", "Action": ["*"]}, {"Effect": "Deny", "Action": ["ims:images:share"]}]}),
    }
    for a in range(ACCOUNTS):
        lines = [f"groups: [{{name: staff, policies: [shared-{a}]}}]", "users:"]
        files[f"accounts/acct{a}/policies/shared-{a}.json"] = json.dumps(policy(a))
        for u in range(a, users, ACCOUNTS):
            if u % 2 == 0:
                lines.append(f"  - {{name: u{u}, groups: [staff]}}")
            else:
                lines.append(f"  - {{name: u{u}, policies: [own-{u}]}}")
                files[f"accounts/acct{a}/policies/own-{u}.json"] = json.dumps(policy(u))
        files[f"accounts/acct{a}/account.yaml"] = "\n".join(lines) + "\n"
    return files


def build_through_api(port, token, admin, users):
    admin.call("PUT", "/v1/organization", {"id": "o-1", "rootId": "r-1"})
    admin.call("POST", "/v1/scps", {"id": "guard", "document": {"Version": "5.0", "Statement": [
        {"Effect": "Allow", "Action": ["*"]}, {"Effect": "Deny", "Action": ["ims:images:share"]}]}})
    admin.call("POST", "/v1/attachments", {"policy": "guard", "target": "root"})
    for a in range(ACCOUNTS):
        admin.call("POST", "/v1/organization/nodes", {"kind": "ou", "name": f"ou{a}", "id": f"ou-{a}"})
        admin.call("POST", "/v1/organization/nodes", {"kind": "account", "name": f"acct{a}", "id": f"{a:06x}", "parent": f"ou{a}"})
        admin.call("POST", "/v1/principals", {"kind": "group", "account": f"{a:06x}", "name": "staff"})
        admin.call("POST", "/v1/policies", {"id": f"shared-{a}", "account": f"{a:06x}", "document": policy(a)})
        admin.call("POST", "/v1/attachments", {"policy": f"shared-{a}", "target": f"iam::{a:06x}:group:staff"})
    print(f"users {users}: building through the API with {CLIENTS} clients", file=sys.stderr)
    calls = []
    for u in range(users):
        account = f"{u % ACCOUNTS:06x}"
        if u % 2 == 0:
            calls.append(("POST", "/v1/principals", {"kind": "user", "account": account, "name": f"u{u}", "groups": ["staff"]}))
        else:
            calls.append(("POST", "/v1/principals", {"kind": "user", "account": account, "name": f"u{u}"}))
    build_users = run_parallel(port, token, calls, "users")
    calls = [("POST", "/v1/policies", {"id": f"own-{u}", "account": f"{u % ACCOUNTS:06x}", "document": policy(u)}) for u in range(1, users, 2)]
    build_policies = run_parallel(port, token, calls, "policies")
    calls = [("POST", "/v1/attachments", {"policy": f"own-{u}", "target": f"iam::{u % ACCOUNTS:06x}:user:u{u}"}) for u in range(1, users, 2)]
    build_attach = run_parallel(port, token, calls, "attachments")
    return {"buildWritesPerSecond": {"users": round(build_users), "policies": round(build_policies), "attachments": round(build_attach)}}


def seed_through_import(admin, users):
    print(f"users {users}: seeding with one import", file=sys.stderr)
    files = workspace_files(users)
    body = {"files": files}
    seconds = admin.call("PUT", "/v1/organization/import", body)
    return {"importSeconds": round(seconds, 2), "importBodyMB": round(len(json.dumps(body)) / 1e6, 1)}


def measure(binary, users, port):
    data = tempfile.mkdtemp(prefix="bulwark-scale-")
    server = Server(binary, data, port)
    server.start()
    for _ in range(100):
        if os.path.exists(os.path.join(data, "admin-token")):
            break
        time.sleep(0.05)
    token = open(os.path.join(data, "admin-token")).read().strip()
    admin = Client(port, token)
    seeded = build_through_api(port, token, admin, users) if users <= 2000 else seed_through_import(admin, users)
    rss_seeded = server.rss_kb()

    rounds = 50
    admin = Client(port, token)  # the first one idled through the build and was closed
    one = [admin.call("PUT", f"/v1/principals/iam::{(u % ACCOUNTS):06x}:user:u{u}/groups", {"groups": [] if r % 2 else ["staff"]})
           for r, u in enumerate(range(0, 2 * rounds, 2))]
    scp = [admin.call("PUT", "/v1/scps/guard", {"document": {"Version": "5.0", "Statement": [
        {"Effect": "Allow", "Action": ["*"]}, {"Effect": "Deny", "Action": ["ims:images:share" if r % 2 else "ims:images:export"]}]}})
        for r in range(10)]
    rss_after_writes = server.rss_kb()
    more = [admin.call("PUT", f"/v1/principals/iam::{(u % ACCOUNTS):06x}:user:u{u}/groups", {"groups": ["staff"]})
            for u in range(0, min(users, 2000), 2)]
    rss_after_more = server.rss_kb()
    server.stop()
    restart = server.start()
    rss_restart = server.rss_kb()
    server.stop()
    shutil.rmtree(data)
    ms = lambda xs: round(statistics.median(xs) * 1000, 2)
    return {
        "users": users, **seeded, "rssKBAfterSeeding": rss_seeded,
        "onePrincipalWriteP50ms": ms(one), "rootSCPChangeP50ms": ms(scp),
        "rssKBPerUserAfterRestart": round(rss_restart / users, 1),
        "rssKBAfterWrites": rss_after_writes, "rssKBAfter1000MoreWrites": rss_after_more, "extraWrites": len(more),
        "restartSeconds": round(restart, 2),
    }


if __name__ == "__main__":
    binary = sys.argv[1]
    for users in [int(n) for n in sys.argv[2:]] or [100, 2000]:
        print(json.dumps(measure(binary, users, 18190)), flush=True)
