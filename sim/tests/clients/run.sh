#!/usr/bin/env bash
# Python's `jira` and PyGithub (pinned in requirements.txt) against `pulse-etl sim`: projects,
# fields, search, issues, myself on Jira Cloud and Data Center; the organisation, its members and
# repositories, a repository, pull requests and users on github.com and GitHub Enterprise; a group,
# its projects (subgroups, keyset paging), merge requests, notes, commits, approvals, deployments
# and pipelines with python-gitlab.
#
# Usage: sim/tests/clients/run.sh [--record]   (from the repository root; `make test-clients`)
#   PULSE_BIN     the binary (default target/debug/pulse-etl, built with the `demo` feature)
#   CLIENTS_ENV   where the clients are installed (default target/clients-env)
# --record rewrites recorded.json, the requests the replay test (main.rs) sends.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PULSE_BIN:-target/debug/pulse-etl}"
source "$here/../../../scripts/python-env.sh" "$here/requirements.txt"

out="$(mktemp)"
"$bin" sim --bind 127.0.0.1:0 --seed 1 >"$out" 2>"$out.err" &
sim=$!
trap 'kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; rm -f "$out" "$out.err"' EXIT
for _ in $(seq 100); do
  [ -s "$out" ] && break
  kill -0 "$sim" 2>/dev/null || { cat "$out.err" >&2; exit 1; }
  sleep 0.1
done
urls="$(head -n 1 "$out")"
[ -n "$urls" ] || { echo "run.sh: the simulator printed no URLs" >&2; exit 1; }

args=()
[ "${1:-}" = "--record" ] && args=(--record "$here/recorded.json")
"$py" "$here/clients.py" "$urls" "${args[@]}"
