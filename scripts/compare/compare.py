#!/usr/bin/env python3
"""Bulwark vs Cedar (cedarpy) vs Rego (regopy) on one workload, in one run.

Generates the workload per size, translates it faithfully (see workload.py),
checks that all engines give the same decision on every request, and times:
- Bulwark in-process decisions (bulwark-bench replay): `authorize`, which lists every
  determining statement as Cedar's diagnostics do, on one core and on all cores, and
  `decide`, which stops at the first determining statement, on one core,
- Bulwark CLI end to end (`bulwark authorize`: read, decide, write JSON),
- cedarpy's batch API (decision time only; policies and entities pre-parsed),
- regopy, one query per request (decision time only).

Usage: python3 scripts/compare/compare.py [--sizes 10,100,1000] [--requests 20000] [--rego-requests 2000]
Build first: swift build -c release --product bulwark && swift build -c release --package-path Benchmarks
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import cedarpy
import regopy

sys.path.insert(0, os.path.dirname(__file__))
import workload as wl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BULWARK = os.path.join(ROOT, ".build", "release", "bulwark")
BENCH = os.path.join(ROOT, "Benchmarks", ".build", "release", "bulwark-bench")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--rego-requests", type=int, default=2000, help="regopy is slow: it decides a prefix of the requests")
    ap.add_argument("--million", action="store_true", help="also: bulwark CLI vs cedarpy on 1,000,000 requests (10 policies)")
    args = ap.parse_args()
    if args.million:
        million()
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"cedarpy {cedarpy.__version__ if hasattr(cedarpy, '__version__') else '4.12.2'}, regopy {regopy.__version__}")
    rows = []
    mismatches = 0
    for size in [int(s) for s in args.sizes.split(",")]:
        w = wl.generate(size, args.requests)
        n = len(w["requests"])
        bulwark, cli_seconds, replay = run_bulwark(w, replay=True)
        # Cedar.
        # Parsed once, outside the timing, as a long-running service would.
        policies = cedarpy.PolicySet.from_str(wl.cedar_policies(w))
        entities = cedarpy.Entities.from_json_str("[]")
        requests = [wl.cedar_request(r) for r in w["requests"]]
        t = time.perf_counter()
        results = cedarpy.is_authorized_batch(requests, policies, entities)
        cedar_seconds = time.perf_counter() - t
        cedar = [r.decision == cedarpy.Decision.Allow for r in results]
        # Rego.
        rego = regopy.Interpreter()
        rego.add_module("bulwark", wl.REGO_MODULE)
        rego.add_data_json(json.dumps(wl.rego_data(w)))
        # regopy needs about a second per request at 1,000 policies: decide a prefix, sized to the policy count.
        k = min(args.rego_requests, n, max(20, 200_000 // size))
        rego_decisions = []
        t = time.perf_counter()
        for r in w["requests"][:k]:
            rego.set_input_term(json.dumps(wl.rego_input(r)))
            out = rego.query("x = data.bulwark.allow")
            rego_decisions.append(json.loads(str(out))["bindings"]["x"] is True)
        rego_seconds = time.perf_counter() - t
        bad = sum(1 for a, b in zip(bulwark, cedar) if a != b) + sum(1 for a, b in zip(bulwark, rego_decisions) if a != b)
        mismatches += bad
        allowed = sum(bulwark)
        rows.append((size, n, k, allowed, bad, replay, cli_seconds, cedar_seconds, rego_seconds))
    print()
    print("| policies | requests | allowed | disagreements | Bulwark authorize, 1 core | Bulwark authorize, all cores | Bulwark decide, 1 core | bulwark CLI (read+decide+write) | cedarpy batch (1 core) | regopy | authorize 1 core vs cedarpy | decide 1 core vs cedarpy | authorize 1 core vs regopy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, n, k, allowed, bad, replay, cli, cedar, rego in rows:
        single = n / replay["singleSeconds"]
        batch = n / replay["batchSeconds"]
        decide = n / replay["decideSeconds"]
        cedar_rate = n / cedar
        rego_rate = k / rego
        print(f"| {size} | {n} | {allowed} | {bad} | {single:,.0f}/s | {batch:,.0f}/s | {decide:,.0f}/s | {cli:.2f} s ({n / cli:,.0f}/s) | "
              f"{cedar_rate:,.0f}/s | {rego_rate:,.1f}/s | {single / cedar_rate:,.1f}× | {decide / cedar_rate:,.1f}× | {single / rego_rate:,.0f}× |")
    print()
    print("decisions identical across engines" if mismatches == 0 else f"{mismatches} DISAGREEMENTS")
    sys.exit(1 if mismatches else 0)


def run_bulwark(w, replay):
    """Decisions and end-to-end seconds of `bulwark authorize`; with replay, also in-process timings."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input.json")
        with open(path, "w") as f:
            json.dump(w, f)
        t = time.perf_counter()
        out = subprocess.run([BULWARK, "authorize", "--input", path, "--format", "json"], capture_output=True, check=True)
        seconds = time.perf_counter() - t
        decisions = [r["decision"] == "allow" for r in json.loads(out.stdout)["results"]]
        timings = None
        if replay:
            timings = json.loads(subprocess.run([BENCH, "replay", path], capture_output=True, check=True, text=True).stdout)
    return decisions, seconds, timings


def million():
    """`bulwark authorize` end to end (read, decide, write) against cedarpy's decision time alone."""
    w = wl.generate(10, 1_000_000)
    bulwark, cli, _ = run_bulwark(w, replay=False)
    policies = cedarpy.PolicySet.from_str(wl.cedar_policies(w))
    entities = cedarpy.Entities.from_json_str("[]")
    requests = [wl.cedar_request(r) for r in w["requests"]]
    t = time.perf_counter()
    results = cedarpy.is_authorized_batch(requests, policies, entities)
    cedar = time.perf_counter() - t
    bad = sum(1 for a, r in zip(bulwark, results) if a != (r.decision == cedarpy.Decision.Allow))
    print(f"1,000,000 requests, 10 policies + 3 SCP levels: bulwark authorize (read+decide+write) {cli:.1f} s; "
          f"cedarpy batch decisions alone {cedar:.1f} s; ratio {cedar / cli:.1f}×; disagreements {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
