#!/usr/bin/env bash
# Drops databases left by earlier test runs (pulse_test_*, pulse_mig_*). Each test creates its own.
set -euo pipefail
base=${PULSE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}
psql "$base/postgres" -Atqc "select datname from pg_database where datname like 'pulse\_test\_%' or datname like 'pulse\_mig\_%'" |
  while read -r db; do
    [ -n "$db" ] && psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
