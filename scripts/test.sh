#!/usr/bin/env bash
# The test command (README, .ci/run): PostgreSQL for the replica tests, then `swift test` in
# release mode. Release, because the server's dependencies (NIO, Hummingbird, postgres-nio,
# BoringSSL) take many minutes to build: CI builds them once, for the CLI checks and the tests
# alike (the tests use no testable imports, so both share one build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
swift test -c release --disable-testable-imports "$@"
