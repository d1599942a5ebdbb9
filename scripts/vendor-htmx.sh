#!/usr/bin/env bash
# Re-vendor htmx from the npm registry. htmx is pinned to the 2.x line: npm's `latest` tag is 4.x.
set -euo pipefail
version=2.0.11
dest="$(cd "$(dirname "$0")/.." && pwd)/static/vendor"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@${version}" >/dev/null && tar xzf "htmx.org-${version}.tgz")
cp "$work/package/dist/htmx.min.js" "$dest/htmx-${version}.min.js"
cp "$work/package/LICENSE" "$dest/htmx-LICENSE"
sha256sum "$dest/htmx-${version}.min.js"
