#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address) of what reads
# untrusted bytes: the JSON reader, the policy parser, the `bulwark authorize` input decoder and
# the gateway's call handling up to the decision, catalogs and CTS trace files (Fuzz/Sources/*).
#
#   scripts/fuzz.sh                 every target for FUZZ_SECONDS (default 20) each: the CI run
#   scripts/fuzz.sh --runs N [T…]   N inputs per target (the long run: --runs 10000000)
#
# FUZZ_SANITIZE=fuzzer builds without AddressSanitizer (Swift's own bounds, overflow and
# unwrap checks still trap), about ten times faster, in .build-fuzz-plain.
# Seeds: the policies and inputs of examples/ and Tests/BulwarkTests/Fixtures, plus
# Fuzz/seeds/TARGET. Crashes are written to SCRATCH/crashes/TARGET/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=""
if [ "${1:-}" = "--runs" ]; then runs="$2"; shift 2; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-json fuzz-policy fuzz-authorize-input fuzz-gateway-call fuzz-workspace fuzz-catalog fuzz-traces)

sanitize="${FUZZ_SANITIZE:-fuzzer,address}"
scratch=.build-fuzz
[ "$sanitize" = "fuzzer,address" ] || scratch=.build-fuzz-plain
build=(swift build -c release --package-path Fuzz --scratch-path "$scratch" -Xswiftc -sanitize="$sanitize" -Xswiftc -use-ld=lld)
echo "fuzz: building with -sanitize=$sanitize (first build: several minutes)" >&2
mkdir -p "$scratch"
"${build[@]}" > "$scratch/build.log" 2>&1 || { tail -30 "$scratch/build.log"; exit 1; }
bin="$("${build[@]}" --show-bin-path)"

for target in "${targets[@]}"; do
  corpus="$scratch/corpus/$target"
  crashes="$scratch/crashes/$target"
  seeds="$(mktemp -d)"
  mkdir -p "$corpus" "$crashes"
  case "$target" in
    fuzz-json|fuzz-policy) sources=(examples/policies/*.json Tests/BulwarkTests/Fixtures/*.json) ;;
    fuzz-authorize-input) sources=(examples/share-outside-org.json Tests/BulwarkTests/Fixtures/authorize-*.json) ;;
    fuzz-gateway-call) sources=(Fuzz/seeds/fuzz-gateway-call/*) ;;
    fuzz-workspace) sources=(Fuzz/seeds/fuzz-workspace/*) ;;
    fuzz-catalog) sources=(examples/catalogs/*.json Fuzz/seeds/fuzz-catalog/*) ;;
  esac
  for file in "${sources[@]}"; do cp "$file" "$seeds/$(echo "$file" | tr / _)"; done
  if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="${FUZZ_SECONDS:-20}"); fi
  echo "fuzz: $target ${limit[*]}" >&2
  # -rss_limit_mb bounds memory per input; -timeout flags an input that takes over 10 s (a hang).
  # AddressSanitizer stays on; leak detection is off: Swift keeps pointers with tag bits in
  # enum payloads, which LeakSanitizer cannot see, so it reports reachable objects as leaks.
  if ! ASAN_OPTIONS=detect_leaks=0:malloc_context_size=${FUZZ_MALLOC_CONTEXT:-0} "$bin/$target" "$corpus" "$seeds" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -detect_leaks=0 \
       -artifact_prefix="$crashes/" -print_final_stats=1 2> "$scratch/$target.log"; then
    tail -40 "$scratch/$target.log"
    echo "fuzz: $target FAILED; the input is in $crashes/" >&2
    rm -rf "$seeds"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$scratch/$target.log" | tail -2 | sed "s/^/fuzz: $target: /" >&2
  rm -rf "$seeds"
done
echo "fuzz: no crashes"
