#!/usr/bin/env bash
# The alert rules are checked with promtool, from Debian's prometheus package (the server itself is
# not started: the package's service is left alone).
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
echo "Installing promtool (Debian's prometheus package)…" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
