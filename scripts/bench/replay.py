#!/usr/bin/env python3
"""Replay at scale (SPEC §14): one million CTS traces against a workspace of 100 principals.

    python3 scripts/bench/replay.py [path/to/bulwark] [traces (default 1000000)]

Writes a workspace (one account, 100 users in 10 groups, 10 identity policies, an SCP) and
trace files built with the official SDK's models (`huaweicloudsdkcts` `Traces` and `UserInfo`,
plus `http_method`, Bulwark's convention), 100,000 traces per file, then times:
- `bulwark replay --format json` (every trace decided and printed),
- `bulwark replay --against` a workspace whose SCP denies one more action,
and reports each as seconds, traces per second and the peak memory (max RSS).
Progress goes to standard error; the figures to standard output.
"""
import json, os, random, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BULWARK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/bulwark")
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
PER_FILE = 100_000
ACCOUNT = "0a1b2c3d"

# (method, path, action) of IMS and SWR calls, as the built-in catalogs route them.
CALLS = [
    ("GET", "/v2/cloudimages", "ims:images:list"),
    ("GET", "/v2/images/img-{n}", "ims:images:get"),
    ("POST", "/v2/images", "ims:images:create"),
    ("POST", "/v2/images/img-{n}/members", "ims:images:share"),
    ("GET", "/v2/manage/namespaces", "swr:namespace:listNamespaces"),
    ("GET", "/v2/manage/namespaces/team{g}/repos/app{n}", "swr:repo:getRepo"),
]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def workspace(root, deny_extra):
    write(os.path.join(root, "organization.yaml"), f"""organization:
  id: o-bench
  rootId: r-1
  managementAccount: management
  scpsEnabled: true
accounts:
  - name: management
    id: "9m9m9m9m"
    parent: root
  - name: bench
    id: "{ACCOUNT}"
    parent: root
scpAttachments:
  - scp: guardrail
    targets: [bench]
""")
    denied = ["ims:images:share"] + (["ims:images:create"] if deny_extra else [])
    write(os.path.join(root, "scps/guardrail.json"), json.dumps(
        {"Version": "5.0", "Statement": [{"Sid": "Guardrail", "Effect": "Deny", "Action": denied, "Resource": ["*"],
                                          "Condition": {"StringNotEquals": {"g:PrincipalTag/role": ["admin"]}}}]}, indent=2))
    groups, users = [], []
    for g in range(10):
        actions = ["ims:images:list", "ims:images:get", "swr:namespace:listNamespaces", "swr:repo:getRepo"]
        if g % 2 == 0:
            actions += ["ims:images:create", "ims:images:share"]
        write(os.path.join(root, f"accounts/bench/policies/team{g}.json"), json.dumps(
            {"Version": "5.0", "Statement": [
                {"Sid": "Team", "Effect": "Allow", "Action": actions, "Resource": ["*"],
                 "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}]}, indent=2))
        groups.append(f"  - name: team{g}\n    policies: [team{g}]\n")
    for u in range(100):
        tags = "\n    tags: {role: admin}" if u % 25 == 0 else ""
        users.append(f"  - name: user{u}\n    groups: [team{u % 10}]{tags}\n")
    write(os.path.join(root, "accounts/management/account.yaml"), "users: []\n")
    write(os.path.join(root, "accounts/bench/account.yaml"), "groups:\n" + "".join(groups) + "users:\n" + "".join(users))


def traces(directory):
    from huaweicloudsdkcts.v3 import Traces, UserInfo
    rng = random.Random(20261130)
    # Templates made by the SDK's own models (its field names and types), then varied per trace.
    templates = []
    for u in range(100):
        for c, (method, path, _) in enumerate(CALLS):
            user = UserInfo(principal_urn=f"iam::{ACCOUNT}:user:user{u}", account_id=ACCOUNT, type="User", name=f"user{u}",
                            id=f"uid-{u}", access_key_id=f"AK{u:06d}")
            trace = Traces(trace_id="", trace_name=path.split("/")[-1], trace_type="ApiCall", service_type="",
                           resource_type="image" if "images" in path else "repository", code="200", time=0,
                           source_ip="10.1.2.3" if u % 7 else "192.0.2.9",
                           endpoint=("ims" if "images" in path else "swr-api") + ".cn-north-4.myhuaweicloud.com",
                           resource_url="", user=user, read_only=method == "GET")
            body = trace.to_dict()
            body["http_method"] = method
            body["service_type"] = "IMS" if "images" in path else "SWR"
            templates.append((body, path, u))
    files = []
    start = 1764460800000
    for f in range(0, TOTAL, PER_FILE):
        name = os.path.join(directory, f"traces-{f // PER_FILE:03d}.json")
        with open(name, "w") as out:
            out.write("[")
            for i in range(f, min(f + PER_FILE, TOTAL)):
                body, path, u = templates[rng.randrange(len(templates))]
                body = dict(body)
                body["trace_id"] = f"t-{i:07d}"
                body["time"] = start + i * 600
                body["resource_url"] = "https://" + body["endpoint"] + path.format(n=rng.randrange(50), g=u % 10)
                out.write(("," if i > f else "") + json.dumps(body))
            out.write("]")
        files.append(name)
        print(f"replay: {min(f + PER_FILE, TOTAL):,} traces written", file=sys.stderr)
    return files


def run(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode not in (0, 1):
        sys.exit(f"replay: {' '.join(args[:2])} exited {result.returncode}: {result.stderr.decode()[-500:]}")
    return elapsed, max(peak, before), result.returncode


def main():
    with tempfile.TemporaryDirectory() as work:
        workspace(os.path.join(work, "ws"), False)
        workspace(os.path.join(work, "proposed"), True)
        files = traces(work)
        size = sum(os.path.getsize(f) for f in files)
        print(f"replay: deciding {TOTAL:,} traces ({size / 1e6:.0f} MB)", file=sys.stderr)
        plain, rss, _ = run([BULWARK, "replay", "--traces", *files, "--workspace", os.path.join(work, "ws"), "--format", "json"])
        against, rss2, code = run([BULWARK, "replay", "--traces", *files, "--workspace", os.path.join(work, "ws"),
                                   "--against", os.path.join(work, "proposed"), "--format", "json"])
    print(f"replay, {TOTAL:,} traces, 100 principals: {plain:.1f} s ({TOTAL / plain:,.0f}/s), peak memory {rss / 1024:.0f} MiB")
    print(f"replay --against:                 {against:.1f} s ({TOTAL / against:,.0f}/s), exit {code} (decisions change)")
    print(f"target: under 30 s for 1,000,000 traces on the 2-core CI machine")


if __name__ == "__main__":
    main()
