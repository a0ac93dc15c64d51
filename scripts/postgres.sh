# Sourced by scripts/test.sh and .ci/run: makes a PostgreSQL server available for the replica
# tests and exports BULWARK_TEST_POSTGRES (and BULWARK_REQUIRE_POSTGRES=1, so they cannot be
# skipped). Uses BULWARK_TEST_POSTGRES as given if set; as root it installs PostgreSQL from
# Debian's packages and starts it; otherwise the PostgreSQL tests are left out, with a note.
if [[ -z "${BULWARK_TEST_POSTGRES:-}" ]]; then
  if ! command -v pg_lsclusters > /dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "postgres: installing PostgreSQL from Debian's packages"
    (apt-get install -y postgresql > /dev/null 2>&1 || (apt-get update > /dev/null && apt-get install -y postgresql > /dev/null))
  fi
  if command -v pg_lsclusters > /dev/null && [[ "$(id -u)" == 0 ]]; then
    read -r pg_version pg_cluster _ < <(pg_lsclusters -h | head -1)
    pg_ctlcluster "$pg_version" "$pg_cluster" start 2> /dev/null || true
    for _ in $(seq 50); do su postgres -c "psql -qc 'SELECT 1'" > /dev/null 2>&1 && break; sleep 0.2; done
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'bulwark'\"" > /dev/null
    export BULWARK_TEST_POSTGRES="postgres://postgres:bulwark@127.0.0.1:5432/postgres"
    export BULWARK_REQUIRE_POSTGRES=1
    echo "postgres: PostgreSQL $pg_version running; replica tests use $BULWARK_TEST_POSTGRES"
  else
    echo "postgres: no PostgreSQL (set BULWARK_TEST_POSTGRES, or run as root to install one); replica tests are left out"
  fi
else
  export BULWARK_REQUIRE_POSTGRES=1
fi
