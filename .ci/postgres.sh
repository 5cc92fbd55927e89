#!/usr/bin/env bash
# Start the installed PostgreSQL 15 cluster if it is down, and create the test role and
# databases over 127.0.0.1 (password auth; no trust needed). Idempotent.
set -euo pipefail
PG_VERSION=${PG_VERSION:-15}
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed (pg_ctlcluster missing)" >&2
  exit 1
fi
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  pg_ctlcluster "$PG_VERSION" main start
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -q && break
  sleep 0.5
done
pg_isready -h 127.0.0.1
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal') THEN
    CREATE ROLE portal LOGIN CREATEDB PASSWORD 'portal';
  END IF;
END $$;
SQL
for db in portal_test portal_browser; do
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"" | grep -q 1 \
    || su postgres -c "createdb -O portal $db"
done
