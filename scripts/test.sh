#!/usr/bin/env bash
# README command 2: set up, lint, then run the test suite inside its own network namespace, so that
# Ray's cloud-metadata probes and any stray connection stay on loopback (ENVIRONMENT.md).
# Where a namespace cannot be made, the proxy variables send any HTTP(S) to a dead loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian's chromium renders report.html in tests/test_report_html.py; without it that one test skips.
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || echo "could not install chromium" >&2
fi
.venv/bin/ruff check .
export RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_AUTH_MODE=disabled
export AWS_EC2_METADATA_DISABLED=true
if command -v ip >/dev/null && unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' bash "$@"
fi
echo "unshare -n is not available here: falling back to loopback proxy variables" >&2
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost,::1
exec .venv/bin/python -m pytest "$@"
