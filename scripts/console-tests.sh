#!/usr/bin/env bash
# The web console in a real browser: headless Chromium from Debian's packages (installed here
# when missing, as root) driven by Selenium (pinned in tests/console/requirements.txt), against
# `bulwark serve` on SQLite and then on PostgreSQL (BULWARK_TEST_POSTGRES, from scripts/postgres.sh).
# Screenshots go to $BULWARK_SCREENSHOTS (default: a temporary folder; docs/console/ holds the committed ones).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
  echo "console-tests: installing chromium and chromium-driver from Debian's packages"
  (apt-get install -y chromium chromium-driver > /dev/null 2>&1 || (apt-get update > /dev/null && apt-get install -y chromium chromium-driver > /dev/null))
fi
python3 -m pip install -q --disable-pip-version-check -r tests/console/requirements.txt 2>&1 | grep -v "Running pip as the 'root' user" || true
swift build -c release --product bulwark > /dev/null 2>&1
bin="$(swift build -c release --show-bin-path)/bulwark"
shots="${BULWARK_SCREENSHOTS:-$(mktemp -d)}"

echo "console-tests: SQLite"
BULWARK_BIN="$bin" BULWARK_SCREENSHOTS="$shots" BULWARK_CONSOLE_PORT=18560 python3 tests/console/test_console.py

if [[ -n "${BULWARK_TEST_POSTGRES:-}" ]]; then
  # A database of its own, so the suite starts from the example workspace.
  psql "$BULWARK_TEST_POSTGRES" -q -c "DROP DATABASE IF EXISTS bulwark_console" -c "CREATE DATABASE bulwark_console" > /dev/null
  store="${BULWARK_TEST_POSTGRES%/*}/bulwark_console"
  echo "console-tests: PostgreSQL"
  BULWARK_BIN="$bin" BULWARK_SCREENSHOTS="$shots/postgres" BULWARK_CONSOLE_STORE="$store" BULWARK_CONSOLE_PORT=18561 python3 tests/console/test_console.py
elif [[ "${BULWARK_REQUIRE_POSTGRES:-}" == 1 ]]; then
  echo "console-tests: BULWARK_REQUIRE_POSTGRES=1 but BULWARK_TEST_POSTGRES is not set" >&2
  exit 1
else
  echo "console-tests: no PostgreSQL (set BULWARK_TEST_POSTGRES); the PostgreSQL run is left out"
fi
echo "console-tests: screenshots in $shots"
