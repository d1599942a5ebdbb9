#!/usr/bin/env bash
# Drops databases left by earlier test runs (pulse_test_*, pulse_mig_*). Each test creates its own.
# Only databases nobody is connected to: a test run going on beside this one keeps its own.
set -euo pipefail
base=${PULSE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}
psql "$base/postgres" -Atqc "select d.datname from pg_database d
    where (d.datname like 'pulse\_test\_%' or d.datname like 'pulse\_mig\_%')
      and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)" |
  while read -r db; do
    [ -n "$db" ] && psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
  done
