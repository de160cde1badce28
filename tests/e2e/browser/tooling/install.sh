#!/usr/bin/env bash
# Idempotent setup for the console's browser tests; `make test` runs it before pytest.
# - Debian's chromium (Playwright drives /usr/bin/chromium; `playwright install` is never used).
# - axe-core pinned by package-lock.json, installed with `npm ci` only when missing or stale.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
  sudo_cmd=()
  if [[ "$(id -u)" != "0" ]]; then sudo_cmd=(sudo); fi
  echo "browser tests: installing Debian chromium" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null
fi

stamp="$here/node_modules/.aion-lock"
if [[ ! -f "$here/node_modules/axe-core/axe.min.js" || ! -f "$stamp" \
      || "$here/package-lock.json" -nt "$stamp" ]]; then
  if command -v npm >/dev/null 2>&1; then
    echo "browser tests: npm ci (axe-core)" >&2
    (cd "$here" && npm ci --no-audit --no-fund --silent)
    touch "$stamp"
  else
    echo "browser tests: npm not found; axe checks will be skipped" >&2
  fi
fi
