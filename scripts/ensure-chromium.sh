#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (no browser downloads: the network only reaches registries).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "Installing chromium from Debian's packages…" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
