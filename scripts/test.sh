#!/usr/bin/env bash
# The test command (README, .ci/run): PostgreSQL for the replica tests, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
swift test "$@"
