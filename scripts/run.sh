#!/usr/bin/env bash
# README command 1: set up, then run the default recipe (stages.yaml) on the bundled fixtures
# with an embedded local Ray. Output: out/ (kept docs, dropped samples, report.json, report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0
exec .venv/bin/python -m pipeline run stages.yaml "$@"
