#!/usr/bin/env bash
# Release-mode checks too heavy for `swift test`: the module graph, the CLI contracts of SPEC.md and
# one `bulwark authorize` run over 1,000,000 requests (count, validity, peak memory).
set -euo pipefail
cd "$(dirname "$0")/.."

# The module graph: every import declared, no cycles (an incremental build can hide a missing one).
python3 scripts/module-graph.py > /dev/null
# The code is formatted (.swift-format: 4 spaces, lines up to 150).
swift format lint --strict --recursive --parallel Sources Tests Benchmarks/Sources Fuzz/Sources

swift build -c release --product bulwark
bin="$(swift build -c release --show-bin-path)/bulwark"

if [ -x ../shared/contract-check ]; then
  ../shared/contract-check "$bin"
else
  echo "skipping contract-check: ../shared/contract-check not found"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
n="${MILLION_REQUESTS:-1000000}"
python3 scripts/make-requests.py "$n" > "$work/input.json"
start=$(date +%s.%N)
/usr/bin/env time -f "%M" -o "$work/rss" "$bin" authorize --input "$work/input.json" --format json > "$work/out.json" 2> /dev/null \
  || "$bin" authorize --input "$work/input.json" --format json > "$work/out.json"
end=$(date +%s.%N)
python3 - "$work/out.json" "$n" "$work/rss" "$start" "$end" <<'PY'
import json, os, sys
out, n, rss_file, start, end = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
results = json.load(open(out))["results"]
assert len(results) == n, f"expected {n} results, got {len(results)}"
reasons = {}
for r in results:
    reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
rss = int(open(rss_file).read().split()[-1]) // 1024 if os.path.exists(rss_file) and open(rss_file).read().strip() else None
print(f"million-requests: {n} results in {end - start:.1f}s, peak RSS {rss} MiB, reasons {reasons}")
assert set(reasons) == {"allowed", "no_identity_allow", "explicit_deny"}, reasons
if rss is not None:
    assert rss < 4096, f"peak RSS {rss} MiB"
PY
echo "release checks passed"
