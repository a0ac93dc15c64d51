#!/usr/bin/env python3
"""Writes an authorize input with N requests (default 1,000,000) to stdout, deterministically."""
import json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(20261123)
actions = ["ims:images:get", "ims:images:share", "ims:quotas:get", "ims:images:list", "swr:repo:upload", "swr:repo:download"]
policies = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {
    "identityPolicies": [{"id": "team", "document": {"Version": "5.0", "Statement": [
        {"Sid": "Images", "Effect": "Allow", "Action": ["ims:images:*"], "Resource": ["ims:*:0a1b2c:image:*"]},
        {"Sid": "Quotas", "Effect": "Allow", "Action": ["ims:quotas:get", "ims:images:list"]},
        {"Sid": "Pull", "Effect": "Allow", "Action": "swr:repo:download", "Resource": "swr:*:0a1b2c:repo:team/*",
         "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}]}}],
    "scpLevels": [[{"id": "FullAccess", "document": {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]}}],
                  [{"id": "FullAccess", "document": {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]}},
                   {"id": "no-share", "document": {"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["ims:images:share"],
                    "Condition": {"ForAnyValue:StringNotMatch": {"ims:TargetOrgPaths": ["o-1/r-1/*"]}}}]}}]]}
out = sys.stdout
out.write(json.dumps(policies)[:-1] + ',"requests":[\n')
for i in range(n):
    a = rng.choice(actions)
    if a.startswith("ims:images:") and a != "ims:images:list":
        res = f"ims:cn-north-4:{rng.choice(['0a1b2c', '9z9z9z'])}:image:img-{i}"
    elif a.startswith("swr:"):
        res = f"swr:cn-north-4:0a1b2c:repo:{rng.choice(['team', 'ops'])}/app-{i % 97}"
    else:
        res = "*"
    ctx = {"g:SourceIp": f"10.{i % 256}.{(i >> 8) % 256}.{(i >> 16) % 256}" if i % 3 else "192.168.1.1"}
    if a == "ims:images:share":
        ctx["ims:TargetOrgPaths"] = ["o-1/r-1/ou-2/x" if i % 2 else "o-2/r-9/y"]
    out.write(("," if i else "") + json.dumps({"action": a, "resource": res, "context": ctx}, separators=(",", ":")) + "\n")
out.write("]}\n")
