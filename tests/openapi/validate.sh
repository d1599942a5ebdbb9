#!/usr/bin/env bash
# GET /api/v1/openapi.json from the demo, checked against the OpenAPI 3.1 schema by
# openapi-spec-validator (pinned in requirements.txt) — the validator integrators' tools use.
#
# Usage: tests/openapi/validate.sh   (from the repository root; part of `make test-clients`)
#   PULSE_BIN     the binary (default target/debug/pulse-etl, built with the `demo` feature)
#   CLIENTS_ENV   where the validator is installed (default target/clients-env, shared with
#                 sim/tests/clients/run.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PULSE_BIN:-target/debug/pulse-etl}"
source "$here/../../scripts/python-env.sh" "$here/requirements.txt"

data="$(mktemp -d)"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" demo --bind "127.0.0.1:$port" --data-dir "$data" >"$data/out.log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null; wait "$demo" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$demo" 2>/dev/null || { cat "$data/out.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/api/v1/openapi.json" -o "$data/openapi.json"
"$py" - "$data/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), doc["openapi"]
validate(doc)  # picks the 3.1 schema from the `openapi` field; raises on the first fault
paths = doc["paths"]
ops = sum(1 for item in paths.values() for m in item if m in ("get", "post", "put", "delete", "patch"))
print(f"openapi.json: valid OpenAPI {doc['openapi']}, {len(paths)} paths, {ops} operations")
PY
