# Sourced by make: makes sure a PostgreSQL server answers on 127.0.0.1:5432 and exports
# PULSE_TEST_PG_URL (server part of the URL the tests create their databases on).
# Starts the local cluster if it is down; installs PostgreSQL only if it is missing entirely.
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; installing it (needs root and Debian's packages)…" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_ready; then
  echo "Starting PostgreSQL…" >&2
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1 2>/dev/null || exit 1; }
if [ -z "${PULSE_TEST_PG_URL:-}" ]; then
  if psql -h 127.0.0.1 -U postgres -d postgres -w -c 'select 1' >/dev/null 2>&1; then
    export PULSE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432
  else
    # A fresh Debian cluster wants a password over TCP: give the superuser one for tests.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export PULSE_TEST_PG_URL=postgres://postgres:postgres@127.0.0.1:5432
  fi
fi
