#!/usr/bin/env bash
# Instructions a command's start executes, with and without catalogs (callgrind: exact and
# repeatable, where wall-clock times on a shared machine drift by ±15%).
#
#   scripts/bench/startup-instructions.sh CATALOG_DIR [path/to/bulwark]
#
# Valgrind cannot read the release binary's debug information, so a stripped copy runs
# (with the bundled catalog next to it, where the binary looks for it).
set -euo pipefail
catalogs=${1:?usage: startup-instructions.sh CATALOG_DIR [bulwark]}
bulwark=${2:-.build/release/bulwark}
command -v valgrind > /dev/null || { echo "startup-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$bulwark" "$work/bulwark"
strip -g "$work/bulwark"
cp -r "$(dirname "$bulwark")"/*.resources "$work/"
count() {
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$work/bulwark" catalog list-actions --service ims "$@" \
        > /dev/null 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/err"
}
echo "startup-instructions: counting (about ten seconds)" >&2
base=$(count)
with=$(count --catalog "$catalogs")
echo "instructions, built-in catalogs: $base"
echo "instructions, with $catalogs: $with (+$((with - base)))"
