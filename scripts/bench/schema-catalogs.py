#!/usr/bin/env python3
"""Catalog loading cost (SPEC §12): 50 generated Huawei schema documents of 200 actions each.

    python3 scripts/bench/schema-catalogs.py [path/to/bulwark] [runs (default 25)]

Reports, from the same run on the same machine:
- a command's start with and without the 50 schemas (`bulwark catalog list-actions --service ims`,
  the median of RUNS runs each, the two alternating), and the difference;
- deciding 1,000,000 requests (`bulwark authorize --input`, batch) with the built-in catalogs and
  with the 50 schemas loaded too (the better of two alternating runs each), as requests per second and
  their ratio.
Progress goes to standard error; the figures to standard output.
"""
import json, os, random, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BULWARK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/bulwark")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 25
LEVELS = ["list", "read", "write", "permission_management", "tagging"]


def schema(n, rng):
    code = f"svc{n:02d}"
    types = [{"type_name": f"thing{t}", "urn_template": f"{code}:<region>:<account-id>:thing{t}:<thing{t}-id>"} for t in range(5)]
    keys = [{"key": f"{code}:Key{k}", "value_type": rng.choice(["string", "numeric", "boolean"]), "multi_valued": k % 4 == 0} for k in range(10)]
    actions, operations = [], []
    for a in range(200):
        name = f"{code}:things{a % 7}:act{a}"
        resources = [{"urn_template": types[(a + r) % 5]["urn_template"], "required": r == 0,
                      "condition_keys": [keys[(a + r) % 10]["key"]]} for r in range(a % 3)]
        actions.append({"name": name, "access_level": LEVELS[a % 5], "permission_only": a % 50 == 0,
                        "description": {"en_us": f"Grants permission to act {a}."},
                        "aliases": [f"{code}:things{a % 7}:old{a}"] if a % 20 == 0 else [],
                        "resources": resources, "condition_keys": ["g:RequestTag/<tag-key>"] if a % 5 == 4 else []})
        operations.append({"operation_id": f"Act{a}", "operation_action": name, "dependent_actions": []})
    return {"version": "2026-01-01", "actions": actions, "resources": types, "conditions": keys, "operations": operations}


def start_times(base, with_schemas):
    """Medians of RUNS starts each, alternating the two commands so that a drift of the machine
    affects both alike."""
    times = ([], [])
    for _ in range(RUNS):
        for args, out in ((base, times[0]), (with_schemas, times[1])):
            start = time.perf_counter()
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def decide_rate(input_file, extra):
    start = time.perf_counter()
    subprocess.run([BULWARK, "authorize", "--input", input_file, "--format", "json"] + extra, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    rng = random.Random(20261130)
    with tempfile.TemporaryDirectory() as work:
        catalogs = os.path.join(work, "catalogs")
        os.makedirs(catalogs)
        for n in range(50):
            with open(os.path.join(catalogs, f"svc{n:02d}.json"), "w") as f:
                json.dump(schema(n, rng), f)
        size = sum(os.path.getsize(os.path.join(catalogs, name)) for name in os.listdir(catalogs))
        print(f"schema-catalogs: 50 schemas x 200 actions written ({size / 1e6:.1f} MB); timing {RUNS} starts each", file=sys.stderr)
        base = [BULWARK, "catalog", "list-actions", "--service", "ims"]
        without, with_schemas = start_times(base, base + ["--catalog", catalogs])
        requests = os.path.join(work, "requests.json")
        with open(requests, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/make-requests.py"), "1000000"], check=True, stdout=f)
        print("schema-catalogs: deciding 1,000,000 requests with and without the schemas (about a minute)", file=sys.stderr)
        runs = [(decide_rate(requests, []), decide_rate(requests, ["--catalog", catalogs])) for _ in range(2)]
        plain = min(r[0] for r in runs)
        loaded = min(r[1] for r in runs)
    print(f"command start, built-in catalogs:        {without * 1000:.1f} ms (median of {RUNS})")
    print(f"command start, + 50 schemas (10,000 actions): {with_schemas * 1000:.1f} ms")
    print(f"added by the schemas:                   {(with_schemas - without) * 1000:.1f} ms (target: under 50 ms)")
    print(f"1,000,000 decisions, built-in catalogs: {plain:.2f} s ({1000000 / plain:,.0f}/s, start included)")
    print(f"1,000,000 decisions, + 50 schemas:      {loaded:.2f} s ({1000000 / loaded:,.0f}/s); ratio {plain / loaded:.2f}")


if __name__ == "__main__":
    main()
