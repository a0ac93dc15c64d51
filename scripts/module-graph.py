#!/usr/bin/env python3
"""Checks the module graph of Package.swift: every `import Bulwark…` in a target's sources is
a declared dependency (a stale build can hide a missing one), and the graph is acyclic.
Prints the targets bottom-up, each after everything it depends on. Run from the project root;
exits 1 on a problem."""
import json, os, re, subprocess, sys

package = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
targets = {}
for t in package["targets"]:
    deps = set()
    for d in t["dependencies"]:
        kind, value = next(iter(d.items()))
        if kind in ("byName", "target"):
            deps.add(value[0])
    targets[t["name"]] = (deps, t.get("path") or ("Tests/" if t["type"] == "test" else "Sources/") + t["name"])
problems = []
for name, (deps, folder) in targets.items():
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith(".swift"):
                for imp in re.findall(r"^(?:@\w+(?:\(\w+\))? )?import (Bulwark\w+)", open(os.path.join(root, f)).read(), re.M):
                    if imp not in deps and imp != name:
                        problems.append(f"{os.path.join(root, f)}: imports {imp}, which {name} does not declare")
order, state = [], {}
def visit(n, path):
    if state.get(n) == 1:
        problems.append("cycle: " + " -> ".join(path + [n]))
        return
    if state.get(n) == 2 or n not in targets:
        return
    state[n] = 1
    for d in sorted(targets[n][0]):
        visit(d, path + [n])
    state[n] = 2
    order.append(n)
for n in targets:
    visit(n, [])
for n in order:
    print(f"{n:20} <- {', '.join(sorted(targets[n][0])) or '-'}")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
