"""One workload, three encodings: Bulwark's authorize input, Cedar policies, and Rego data.

Every construct used has an exact counterpart in all three engines:
- action and resource patterns use only `*` (Cedar's `like` has no `?`), and the
  globbed strings contain no `.` (OPA's glob.match default delimiter);
- actions are matched case-insensitively by Bulwark; the other engines get the
  patterns and request actions case-folded, which is the same relation;
- conditions: IpAddress on g:SourceIp, ForAnyValue:StringEquals on g:TagKeys,
  DateLessThan on g:CurrentTime (epoch seconds for Cedar and Rego), and an SCP
  Deny with StringNotMatch on the single-valued swr:TargetOrgPath (missing = holds).
"""
import ipaddress
import json
import random
from datetime import datetime, timezone

ACTIONS = ["ims:images:get", "ims:images:list", "ims:images:share", "ims:images:updateImage", "ims:images:export",
           "swr:repo:download", "swr:repo:upload", "swr:repo:getRepo", "swr:repo:createRepoShare", "ims:quotas:get"]
ACTION_PATTERNS = ACTIONS + ["ims:images:*", "swr:repo:*", "ims:*", "*:get"]
CIDRS = [["10.0.0.0/8"], ["192.168.0.0/16", "172.16.0.0/12"], ["10.20.0.0/16"]]
TAGS = [["env"], ["env", "team"], ["owner"]]
DATES = ["2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026-12-01T12:30:00Z"]


def epoch(iso):
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def generate(n_policies, n_requests, seed=20261123):
    rng = random.Random(seed + n_policies)
    policies = []
    for p in range(n_policies):
        statements = []
        for s in range(rng.randint(2, 4)):
            effect = "Deny" if rng.random() < 0.15 else "Allow"
            # Denies name actions and resources precisely, as real guard rails do; allows use wildcards too.
            pool = ACTIONS if effect == "Deny" else ACTION_PATTERNS
            st = {"Sid": f"S{s}", "Effect": effect, "Action": rng.sample(pool, rng.randint(1, 2))}
            r = rng.random() * (0.85 if effect == "Deny" else 1.0)
            if r < 0.45:
                st["Resource"] = [f"ims:*:0a1b2c:image:img-{rng.randrange(n_policies * 2)}-*"]
            elif r < 0.85:
                st["Resource"] = [f"swr:*:0a1b2c:repo:team-{rng.randrange(max(7, n_policies // 3))}/*"]
            if rng.random() < 0.5:
                kind = rng.randrange(3)
                if kind == 0:
                    st["Condition"] = {"IpAddress": {"g:SourceIp": rng.choice(CIDRS)}}
                elif kind == 1:
                    st["Condition"] = {"ForAnyValue:StringEquals": {"g:TagKeys": rng.choice(TAGS)}}
                else:
                    st["Condition"] = {"DateLessThan": {"g:CurrentTime": [rng.choice(DATES)]}}
            statements.append(st)
        policies.append({"id": f"p{p}", "document": {"Version": "5.0", "Statement": statements}})
    full = {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]}
    no_share = {"Version": "5.0", "Statement": [{"Sid": "NoShareOutsideOrg", "Effect": "Deny",
        "Action": ["swr:repo:createRepoShare"], "Condition": {"StringNotMatch": {"swr:TargetOrgPath": ["o-1/r-1/*"]}}}]}
    levels = [[{"id": "FullAccess", "document": full}],
              [{"id": "FullAccess", "document": full}, {"id": "no-share", "document": no_share}],
              [{"id": "FullAccess", "document": full}]]
    requests = []
    for i in range(n_requests):
        action = rng.choice(ACTIONS)
        if action.startswith("swr:"):
            resource = f"swr:cn-north-4:0a1b2c:repo:team-{rng.randrange(max(7, n_policies // 3))}/app{i % 50}"
        elif action in ("ims:images:list", "ims:quotas:get"):
            resource = "*"
        else:
            resource = f"ims:cn-north-4:{rng.choice(['0a1b2c', '0a1b2c', '9z9z9z'])}:image:img-{rng.randrange(n_policies * 2)}-{i}"
        context = {"g:SourceIp": rng.choice(["10.1.2.3", "10.20.3.4", "192.168.7.7", "8.8.8.8"]),
                   "g:TagKeys": rng.choice([["env"], ["team", "cost"], [], ["owner", "env"]]),
                   "g:CurrentTime": rng.choice(["2026-03-01T00:00:00Z", "2026-11-30T00:00:00Z", "2027-02-01T00:00:00Z"])}
        if action == "swr:repo:createRepoShare" and rng.random() < 0.7:
            context["swr:TargetOrgPath"] = rng.choice(["o-1/r-1/ou-2/1a2b3c", "o-9/r-3/7z7z7z"])
        requests.append({"action": action, "resource": resource, "context": context})
    return {"identityPolicies": policies, "scpLevels": levels, "requests": requests}


# ---------------------------------------------------------------- Cedar

def _cedar_str(s):
    return json.dumps(s)


def _cedar_statement(st):
    parts = ["(" + " || ".join(f"context.action like {_cedar_str(a.lower())}" for a in st["Action"]) + ")"]
    if "Resource" in st:
        parts.append("(" + " || ".join(f"context.resource like {_cedar_str(r)}" for r in st["Resource"]) + ")")
    for op, keys in st.get("Condition", {}).items():
        for key, values in keys.items():
            if op == "IpAddress":
                parts.append("(context has sourceIp && (" + " || ".join(
                    f'context.sourceIp.isInRange(ip({_cedar_str(v)}))' for v in values) + "))")
            elif op == "ForAnyValue:StringEquals":
                parts.append(f"(context has tagKeys && context.tagKeys.containsAny([{', '.join(_cedar_str(v) for v in values)}]))")
            elif op == "DateLessThan":
                parts.append("(context has currentTime && (" + " || ".join(f"context.currentTime < {epoch(v)}" for v in values) + "))")
            elif op == "StringNotMatch":
                parts.append("(!(context has targetOrgPath) || !(" + " || ".join(
                    f"context.targetOrgPath like {_cedar_str(v)}" for v in values) + "))")
            else:
                raise ValueError(op)
    return " && ".join(parts)


def cedar_policies(workload):
    out = []
    for p in workload["identityPolicies"]:
        for st in p["document"]["Statement"]:
            kind = "permit" if st["Effect"] == "Allow" else "forbid"
            out.append(f"{kind}(principal, action, resource) when {{ {_cedar_statement(st)} }};")
    # Each SCP level needs a matching Allow: forbid when none of the level's Allows matches.
    for level in workload["scpLevels"]:
        allows = [_cedar_statement(st) for p in level for st in p["document"]["Statement"] if st["Effect"] == "Allow"]
        denies = [_cedar_statement(st) for p in level for st in p["document"]["Statement"] if st["Effect"] == "Deny"]
        out.append("forbid(principal, action, resource) when { !(" + (" || ".join(f"({a})" for a in allows) or "false") + ") };")
        out.extend(f"forbid(principal, action, resource) when {{ {d} }};" for d in denies)
    return "\n".join(out)


def cedar_request(req):
    c = req["context"]
    ctx = {"action": req["action"].lower(), "resource": req["resource"],
           "sourceIp": {"__extn": {"fn": "ip", "arg": c["g:SourceIp"]}}, "tagKeys": c["g:TagKeys"],
           "currentTime": epoch(c["g:CurrentTime"])}
    if "swr:TargetOrgPath" in c:
        ctx["targetOrgPath"] = c["swr:TargetOrgPath"]
    return {"principal": 'User::"caller"', "action": 'Action::"call"', "resource": 'Resource::"target"', "context": ctx}


# ---------------------------------------------------------------- Rego

REGO_MODULE = """package bulwark
import rego.v1

default allow := false

stmt_matches(s) if {
    some a in s.actions
    glob.match(a, [], input.action)
    some r in s.resources
    glob.match(r, [], input.resource)
    every c in s.conds { cond_holds(c) }
}

cond_holds(c) if { c.op == "ip"; some rg in c.ranges; input.sourceIp >= rg[0]; input.sourceIp <= rg[1] }
cond_holds(c) if { c.op == "anytag"; some t in input.tagKeys; t in c.values }
cond_holds(c) if { c.op == "before"; some v in c.values; input.currentTime < v }
cond_holds(c) if { c.op == "notmatch"; not input.targetOrgPath }
cond_holds(c) if { c.op == "notmatch"; p := input.targetOrgPath; not any_glob(c.values, p) }

any_glob(patterns, value) if { some v in patterns; glob.match(v, [], value) }

denied if { some s in data.policies.denies; stmt_matches(s) }
level_ok(level) if { some s in level; stmt_matches(s) }
scp_ok if { every level in data.policies.scp_allows { level_ok(level) } }
allowed if { some s in data.policies.allows; stmt_matches(s) }
allow if { not denied; scp_ok; allowed }
"""


def _ip_int(text):
    return int(ipaddress.ip_address(text))


def _rego_statement(st):
    conds = []
    for op, keys in st.get("Condition", {}).items():
        for key, values in keys.items():
            if op == "IpAddress":
                conds.append({"op": "ip", "ranges": [[int(n.network_address), int(n.broadcast_address)]
                                                      for n in (ipaddress.ip_network(v, strict=False) for v in values)]})
            elif op == "ForAnyValue:StringEquals":
                conds.append({"op": "anytag", "values": values})
            elif op == "DateLessThan":
                conds.append({"op": "before", "values": [epoch(v) for v in values]})
            elif op == "StringNotMatch":
                conds.append({"op": "notmatch", "values": values})
    return {"actions": [a.lower() for a in st["Action"]], "resources": st.get("Resource", ["*"]), "conds": conds}


def rego_data(workload):
    ident = [st for p in workload["identityPolicies"] for st in p["document"]["Statement"]]
    scp = [[st for p in level for st in p["document"]["Statement"]] for level in workload["scpLevels"]]
    return {"policies": {
        "denies": [_rego_statement(st) for st in ident if st["Effect"] == "Deny"]
                  + [_rego_statement(st) for level in scp for st in level if st["Effect"] == "Deny"],
        "allows": [_rego_statement(st) for st in ident if st["Effect"] == "Allow"],
        "scp_allows": [[_rego_statement(st) for st in level if st["Effect"] == "Allow"] for level in scp]}}


def rego_input(req):
    c = req["context"]
    out = {"action": req["action"].lower(), "resource": req["resource"], "sourceIp": _ip_int(c["g:SourceIp"]),
           "tagKeys": c["g:TagKeys"], "currentTime": epoch(c["g:CurrentTime"])}
    if "swr:TargetOrgPath" in c:
        out["targetOrgPath"] = c["swr:TargetOrgPath"]
    return out
